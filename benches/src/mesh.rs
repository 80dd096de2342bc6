//! A mesh (`emz-bench mesh`): N peers on loopback, each subscribed to all the others and
//! emitting one title at `rate` Hz. Delivered etales/s and process CPU time per delivered
//! etale, ours against raw libzmq doing the same work (a CURVE PUB with a ZAP handler and
//! N-1 CURVE SUBs per peer, the same message format).
//!
//! The peers are threads of one process, each with its own context of 1 I/O thread (raw
//! libzmq's default; ours is given the same), so both pay for the same threads and the
//! process's CPU time covers all of the work, theirs and libzmq's.

use crate::baseline::{raw_pub_socket, raw_recv, raw_send, raw_sub_socket, spawn_zap, ZMQ_IO_THREADS};
use crate::cli::Args;
use crate::output::{die, out};
use crate::roles::HOST;
use emyzelium::raw::{Context, Msg, Poller};
use emyzelium::{new_key_pair, Efunguz};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// Phases every peer follows: warm-up, measuring, done.
const WARM: u8 = 0;
const MEASURE: u8 = 1;
const DONE: u8 = 2;

struct Shared {
    phase: AtomicU8,
    /// Etales received by all peers while measuring.
    delivered: AtomicU64,
    /// Peers that hold at least one etale of every other peer.
    ready: AtomicU64,
    ports: Mutex<Vec<u16>>,
    publics: Vec<String>,
}

/// Process CPU time (user + system, all threads), µs. /proc counts in USER_HZ ticks,
/// which Linux fixes at 100 per second for user space.
fn cpu_us() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (tick(11) + tick(12)) * 10_000.0
}

/// Counts what a peer receives: toward `delivered` while measuring; marks it ready once it
/// has heard from every other peer.
struct Tally<'a> {
    sh: &'a Shared,
    heard: Vec<bool>,
    ready: bool,
    counting: bool,
    n: u64,
}

impl Tally<'_> {
    fn got(&mut self, from: usize) {
        if !self.ready {
            self.heard[from] = true;
            if self.heard.iter().filter(|h| **h).count() == self.heard.len() - 1 {
                self.ready = true;
                self.sh.ready.fetch_add(1, Ordering::SeqCst);
            }
        }
        if self.counting {
            self.n += 1;
        }
    }
    /// Follows the phase; false once done.
    fn phase(&mut self) -> bool {
        match self.sh.phase.load(Ordering::SeqCst) {
            WARM => true,
            MEASURE => {
                self.counting = true;
                true
            }
            _ => {
                self.sh.delivered.fetch_add(self.n, Ordering::SeqCst);
                false
            }
        }
    }
}

/// The next emit: one period on, so that wake-up jitter does not lower the rate; but a
/// peer that fell far behind (the threads starting, a busy machine) starts afresh rather
/// than catching up with a burst.
fn later(next: Instant, period: Duration) -> Instant {
    let now = Instant::now();
    if next + period * 10 < now {
        now
    } else {
        next + period
    }
}

fn peer(imp: &str, i: usize, secret: String, sh: Arc<Shared>, start: Arc<Barrier>, rate: f64) {
    let n = sh.publics.len();
    let period = Duration::from_secs_f64(1.0 / rate);
    let title = format!("m{i}");
    let part = [0x5au8; 64];
    let mut tally = Tally { sh: &sh, heard: vec![false; n], ready: false, counting: false, n: 0 };
    tally.heard[i] = true;
    if imp == "raw" {
        let ctx = Context::new().unwrap();
        ctx.set(ZMQ_IO_THREADS, 1).unwrap();
        spawn_zap(&ctx, &sh.publics);
        let (pub_sock, port) = raw_pub_socket(&ctx, &secret);
        sh.ports.lock().unwrap()[i] = port;
        start.wait();
        let ports = sh.ports.lock().unwrap().clone();
        let mut subs = Vec::new();
        let mut poller = Poller::new(n).unwrap();
        for j in (0..n).filter(|j| *j != i) {
            let t = format!("m{j}");
            let s = raw_sub_socket(&ctx, &secret, &sh.publics[j], &[&t]);
            s.connect(&format!("tcp://{HOST}:{}", ports[j])).unwrap();
            poller.add(s.fd().unwrap(), j as u64).unwrap();
            subs.push((j, s));
        }
        let (mut frames, mut extra) = (vec![Msg::new(), Msg::new(), Msg::new()], Msg::new());
        let mut ready = Vec::new();
        let mut next = Instant::now();
        let mut seq = 0i64;
        while tally.phase() {
            if Instant::now() >= next {
                seq += 1;
                raw_send(&pub_sock, &title, seq, &part);
                next = later(next, period);
            }
            for (j, s) in &subs {
                while raw_recv(s, &mut frames, &mut extra).is_some() {
                    // The first part is read, as a program reads what it receives.
                    std::hint::black_box(frames[2].first());
                    tally.got(*j);
                }
            }
            // ZMQ_FD is edge-triggered: sleep only when no socket has anything left.
            if !subs.iter().any(|(_, s)| s.readable().unwrap()) {
                let ms = next.saturating_duration_since(Instant::now()).as_millis() as i32;
                ready.clear();
                poller.wait(ms.max(0), &mut ready).unwrap();
            }
        }
    } else {
        let mut ef = Efunguz::builder(&secret)
            .whitelist(&sh.publics)
            .bind_host(HOST)
            .any_port()
            .io_threads(1)
            .build()
            .unwrap_or_else(|e| die(&e.to_string()));
        sh.ports.lock().unwrap()[i] = ef.port();
        start.wait();
        let ports = sh.ports.lock().unwrap().clone();
        for j in (0..n).filter(|j| *j != i) {
            ef.add_ehypha_direct(&sh.publics[j], HOST, ports[j]).unwrap().add_etale(&format!("m{j}")).unwrap();
        }
        let index: std::collections::HashMap<&str, usize> =
            sh.publics.iter().enumerate().map(|(j, k)| (k.as_str(), j)).collect();
        let mut received = vec![0u64; n];
        let mut next = Instant::now();
        let mut seq = 0i64;
        while tally.phase() {
            if Instant::now() >= next {
                seq += 1;
                ef.emit_etale_at(&title, &[&part[..]], seq).unwrap();
                next = later(next, period);
            }
            ef.wait(Some(next.saturating_duration_since(Instant::now()))).unwrap();
            // Etale::received counts every arrival, those overwritten within one update too.
            for c in ef.changes() {
                let j = index[&*c.public_key];
                let e = ef.get_ehypha(&c.public_key).unwrap().get_etale(&c.title).unwrap();
                std::hint::black_box(e.parts().first());
                for _ in received[j]..e.received() {
                    tally.got(j);
                }
                received[j] = e.received();
            }
        }
    }
}

pub fn role_mesh(a: &Args) {
    let imp = a.s("impl", "emz");
    let n: usize = a.n("n", 16);
    let rate: f64 = a.n("rate", 100.0);
    let secs: f64 = a.n("secs", 3.0);
    let warm: f64 = a.n("warm", 1.0);
    if n < 2 {
        die("--n must be at least 2");
    }
    let keys: Vec<(String, String)> = (0..n).map(|_| new_key_pair().unwrap()).collect();
    let sh = Arc::new(Shared {
        phase: AtomicU8::new(WARM),
        delivered: AtomicU64::new(0),
        ready: AtomicU64::new(0),
        ports: Mutex::new(vec![0; n]),
        publics: keys.iter().map(|k| k.0.clone()).collect(),
    });
    let start = Arc::new(Barrier::new(n));
    let threads: Vec<_> = keys
        .into_iter()
        .enumerate()
        .map(|(i, (_, secret))| {
            let (sh, start, imp) = (sh.clone(), start.clone(), imp.clone());
            std::thread::spawn(move || peer(&imp, i, secret, sh, start, rate))
        })
        .collect();
    // Every peer connected and heard from all the others, then `warm` more seconds.
    let t0 = Instant::now();
    while sh.ready.load(Ordering::SeqCst) < n as u64 {
        if t0.elapsed() > Duration::from_secs(60) {
            die(&format!("only {} of {n} peers heard from all others", sh.ready.load(Ordering::SeqCst)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs_f64(warm));
    let (c0, t1) = (cpu_us(), Instant::now());
    sh.phase.store(MEASURE, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs_f64(secs));
    sh.phase.store(DONE, Ordering::SeqCst);
    let (c1, span) = (cpu_us(), t1.elapsed().as_secs_f64());
    for t in threads {
        t.join().unwrap();
    }
    let delivered = sh.delivered.load(Ordering::SeqCst) as f64;
    out(&format!(
        "{{\"delivered_per_s\":{:.1},\"expected_per_s\":{:.1},\"cpu_us_per_etale\":{:.2},\"cpu_cores\":{:.3}}}",
        delivered / span,
        (n * (n - 1)) as f64 * rate,
        (c1 - c0) / delivered.max(1.0),
        (c1 - c0) / 1e6 / span
    ));
    std::process::exit(0);
}
