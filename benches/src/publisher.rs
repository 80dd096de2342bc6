//! The publisher of every figure (`emz-bench pub`): its `--mode` is the figure's traffic.

use crate::baseline::RawPub;
use crate::cli::{watch_stdin, Args, GO, QUIT};
use crate::output::{die, out};
use crate::roles::{payload, EmzPub, Pub};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub fn role_pub(a: &Args) {
    let imp = a.s("impl", "emz");
    let secret = a.req("secret");
    let wl: Vec<String> = a.s("wl", "").split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    let mode = a.s("mode", "flood");
    let size: usize = a.n("size", 64);
    let secs: f64 = a.n("secs", 3.0);
    let io: i32 = a.n("io-threads", 0);
    let mut p: Box<dyn Pub> = if imp == "raw" {
        // libzmq's default is 1 I/O thread: the baseline is what plain libzmq gives.
        Box::new(RawPub::new(&secret, &wl, if io > 0 { io } else { 1 }))
    } else {
        Box::new(EmzPub::new(&secret, &wl, (io > 0).then_some(io)))
    };
    out(&format!("{{\"port\":{}}}", p.port()));
    watch_stdin();
    let quit = || QUIT.load(Ordering::SeqCst);
    let mut buf = payload(size);

    if mode == "hold" {
        // The publisher already holds a value when subscribers join.
        if imp == "raw" {
            // Plain PUB keeps nothing: a joiner gets the next emit (here, 1000/s).
            let mut next = Instant::now();
            while !quit() {
                p.emit("v", &buf);
                next += Duration::from_millis(1);
                if let Some(d) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(d);
                }
            }
        } else {
            p.emit("v", &buf);
            // A second title, so a joiner can time one subscription round trip alone.
            p.emit("r", &buf);
            while !quit() {
                p.tick(20);
            }
        }
        std::process::exit(0);
    }

    // Until `go`: a small etale "w" every 20 ms tells subscribers they are connected.
    while !GO.load(Ordering::SeqCst) {
        if quit() {
            std::process::exit(0);
        }
        p.emit("w", &[0u8; 8]);
        p.tick(20);
    }
    let (mut sent, mut held) = (0u64, 0u64);
    let mut emit = |p: &mut Box<dyn Pub>, buf: &mut Vec<u8>, seq: u64| {
        buf[..8].copy_from_slice(&seq.to_le_bytes());
        let ok = p.emit("b", buf);
        if ok {
            sent += 1;
        } else {
            held += 1;
        }
        ok
    };
    match mode.as_str() {
        "flood" => {
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut seq = 0;
            // emit_etale's `false` means a subscriber's queue is full (the etale is held
            // and goes out with a later update): a producer that listens to it waits
            // 1 ms instead of burning the core the I/O threads need. Raw PUB cannot tell
            // (it drops silently), so for it this never happens.
            let backoff = a.n("backoff", 1) == 1;
            while Instant::now() < end && !quit() {
                let mut full = false;
                for _ in 0..32 {
                    full = !emit(&mut p, &mut buf, seq);
                    seq += 1;
                    if full && backoff {
                        break;
                    }
                }
                p.tick(if full && backoff { 1 } else { 0 });
            }
        }
        "rate" => {
            let rate: f64 = a.n("rate", 1000.0);
            let period = Duration::from_secs_f64(1.0 / rate);
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut next = Instant::now();
            let mut seq = 0;
            while Instant::now() < end && !quit() {
                // A frame of a game loop: update() (take in what came), then emit, then
                // sleep. An update() right after the emit would hold the core the I/O
                // thread needs to send it (2 cores, a spinning subscriber on the other).
                p.tick(0);
                emit(&mut p, &mut buf, seq);
                seq += 1;
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        }
        "fanout" => {
            let rounds: u64 = a.n("rounds", 8);
            let period = Duration::from_millis(a.n("period-ms", 300));
            for r in 0..rounds {
                let t = Instant::now();
                emit(&mut p, &mut buf, r);
                while t.elapsed() < period && !quit() {
                    p.tick(5);
                }
            }
        }
        "burst" => {
            let bursts: u64 = a.n("bursts", 5);
            let burst: u64 = a.n("burst", 20_000);
            for r in 0..bursts {
                for i in 0..burst {
                    emit(&mut p, &mut buf, (r << 32) | i);
                    if i % 64 == 63 {
                        p.tick(0);
                    }
                }
                let t = Instant::now();
                while t.elapsed() < Duration::from_millis(300) {
                    p.tick(2);
                }
            }
        }
        m => die(&format!("unknown mode {m}")),
    }
    out(&format!("{{\"sent\":{sent},\"held\":{held}}}"));
    while !quit() {
        p.tick(10);
    }
    std::process::exit(0);
}
