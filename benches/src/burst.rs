//! Bursts against a fast and a slow subscriber (`emz-bench burst-sub`): does each get the
//! last etale of every burst?

use crate::cli::Args;
use crate::output::{die, out};
use crate::roles::{await_ready, make_sub, seq_of};
use emyzelium::new_key_pair;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn role_burst_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let bursts: u64 = a.n("bursts", 5);
    let burst: u64 = a.n("burst", 20_000);
    let slow_ms: Vec<u64> = a.s("slow-ms", "0,5").split(',').map(|v| v.parse().unwrap()).collect();
    let ready = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = slow_ms
        .iter()
        .map(|&slow| {
            let (imp, pubkey, ready) = (imp.clone(), pubkey.clone(), ready.clone());
            std::thread::spawn(move || {
                let (_, secret) = new_key_pair().unwrap();
                let mut s = make_sub(&imp, &secret, &pubkey, port, &["w", "b"], Some(1));
                if !await_ready(s.as_mut(), Duration::from_secs(30)) {
                    die("burst subscriber not ready within 30 s");
                }
                ready.fetch_add(1, Ordering::SeqCst);
                let mut got_last = vec![false; bursts as usize];
                let mut last_burst = None;
                let mut quiet = Instant::now();
                let t0 = Instant::now();
                let limit = Duration::from_secs(30 + bursts * 2);
                loop {
                    let mut any = false;
                    s.poll(if slow == 0 { 0 } else { 1 }, &mut |t, _, p| {
                        if t == b"b" {
                            let q = seq_of(p);
                            let (r, i) = ((q >> 32) as usize, q & 0xffff_ffff);
                            if r < got_last.len() {
                                got_last[r] |= i == burst - 1;
                                last_burst = Some(r);
                            }
                            any = true;
                        }
                    });
                    if any {
                        quiet = Instant::now();
                    }
                    let done = last_burst == Some(bursts as usize - 1) && quiet.elapsed() > Duration::from_millis(1000);
                    if done || t0.elapsed() > limit {
                        break;
                    }
                    if slow > 0 {
                        std::thread::sleep(Duration::from_millis(slow));
                    }
                }
                got_last.iter().filter(|&&g| g).count()
            })
        })
        .collect();
    let t0 = Instant::now();
    while ready.load(Ordering::SeqCst) < slow_ms.len() {
        if t0.elapsed() > Duration::from_secs(40) {
            die("burst subscribers not ready");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    out("{\"ready\":true}");
    let per: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok: usize = per.iter().sum();
    out(&format!("{{\"ok\":{ok},\"total\":{},\"per_sub\":{:?}}}", bursts as usize * per.len(), per));
    std::process::exit(0);
}
