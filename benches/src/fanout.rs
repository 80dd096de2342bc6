//! One large etale to many subscribers (`emz-bench fanout-sub`): time to the slowest.

use crate::cli::Args;
use crate::output::{die, out, percentile};
use crate::roles::{await_ready, make_sub, seq_of};
use emyzelium::{new_key_pair, now_us};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

pub fn role_fanout_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let k: usize = a.n("k", 10);
    let rounds: usize = a.n("rounds", 8);
    let timeout = Duration::from_secs_f64(a.n("timeout", 60.0));
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, u64, f64)>();
    for i in 0..k {
        let (imp, pubkey, ready, tx) = (imp.clone(), pubkey.clone(), ready.clone(), tx.clone());
        std::thread::spawn(move || {
            let (_, secret) = new_key_pair().unwrap();
            let mut s = make_sub(&imp, &secret, &pubkey, port, &["w", "b"], Some(1));
            if !await_ready(s.as_mut(), Duration::from_secs(30)) {
                die("fan-out subscriber not ready within 30 s");
            }
            ready.fetch_add(1, Ordering::SeqCst);
            let mut seen = 0;
            let t0 = Instant::now();
            while seen < rounds && t0.elapsed() < timeout {
                s.poll(50, &mut |t, t_out, p| {
                    if t == b"b" {
                        let _ = tx.send((i, seq_of(p), (now_us() - t_out) as f64 / 1000.0));
                        seen += 1;
                    }
                });
            }
        });
    }
    drop(tx);
    let t0 = Instant::now();
    while ready.load(Ordering::SeqCst) < k {
        if t0.elapsed() > Duration::from_secs(40) {
            die("fan-out subscribers not ready");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    out("{\"ready\":true}");
    let mut per_round: HashMap<u64, Vec<f64>> = HashMap::new();
    for (_, seq, ms) in rx {
        per_round.entry(seq).or_default().push(ms);
    }
    // A round counts when every subscriber got it: its time is the slowest one's.
    let mut complete: Vec<f64> =
        per_round.values().filter(|v| v.len() == k).map(|v| v.iter().cloned().fold(f64::MIN, f64::max)).collect();
    complete.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out(&format!(
        "{{\"k\":{k},\"rounds\":{},\"incomplete\":{},\"ms\":{:.3},\"ms_min\":{:.3},\"ms_max\":{:.3}}}",
        complete.len(),
        rounds - complete.len().min(rounds),
        percentile(&complete, 50.0),
        complete.first().copied().unwrap_or(f64::NAN),
        complete.last().copied().unwrap_or(f64::NAN)
    ));
    std::process::exit(0);
}
