//! Cost of `update()` with idle ehyphae, side by side with the original emyzelium's way
//! (getsockopt(ZMQ_EVENTS) on every SUB socket every frame), same libzmq, same run.
//!
//! cargo run --release --example update_cost [-- 10 1000 10000]

use emyzelium::raw::{self, Context};
use emyzelium::{new_key_pair, z85_decode, Efunguz};
use std::time::{Duration, Instant};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median µs of `f` over `rounds` rounds of `calls` calls each.
fn time(rounds: usize, calls: usize, mut f: impl FnMut()) -> f64 {
    let samples = (0..rounds)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..calls {
                f();
            }
            t0.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .collect();
    median(samples)
}

fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("sizes")).collect();
    let sizes = if sizes.is_empty() { vec![10, 1000, 10_000] } else { sizes };
    println!("| idle ehyphae | emyzelium update() µs | per-socket ZMQ_EVENTS loop µs | loop ÷ ours |");
    println!("|---:|---:|---:|---:|");
    for &n in &sizes {
        let (public, secret) = new_key_pair().unwrap();
        let dead = dead_port();
        let mut ef = Efunguz::builder(&secret)
            .bind_host("127.0.0.1")
            .any_port()
            .reconnect_interval(Duration::from_secs(60), Duration::from_secs(60))
            // Monitored as by default, except at 10,000: three fds per monitored ehypha
            // would not fit a 20,000 fd limit.
            .ehypha_monitor(n <= 1000)
            .build()
            .unwrap();
        for _ in 0..n {
            let k = new_key_pair().unwrap().0;
            ef.add_ehypha_direct(&k, "127.0.0.1", dead).unwrap().add_etale("t").unwrap();
        }

        let settle = |f: &mut dyn FnMut()| {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(500) {
                f();
            }
        };
        let calls = (200_000 / n.max(1)).clamp(20, 20_000);
        settle(&mut || {
            ef.update().unwrap();
        });
        let ours = time(15, calls, || {
            ef.update().unwrap();
        });
        // One set of sockets at a time: 2 × 10,000 may not fit the fd limit.
        drop(ef);

        // The baseline: the same SUB sockets, polled one by one.
        let ctx = Context::new().unwrap();
        ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 16).unwrap();
        let sk = z85_decode(&secret).unwrap();
        let pk = z85_decode(&public).unwrap();
        let subs: Vec<_> = (0..n)
            .map(|_| {
                let s = ctx.socket(raw::ZMQ_SUB).unwrap();
                s.set_bytes(raw::ZMQ_CURVE_SERVERKEY, &z85_decode(&new_key_pair().unwrap().0).unwrap()).unwrap();
                s.set_bytes(raw::ZMQ_CURVE_PUBLICKEY, &pk).unwrap();
                s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &sk).unwrap();
                s.set_bytes(raw::ZMQ_SUBSCRIBE, b"t\0").unwrap();
                s.connect(&format!("tcp://127.0.0.1:{dead}")).unwrap();
                s
            })
            .collect();
        let poll_all = || {
            for s in &subs {
                let _ = s.readable();
            }
        };
        settle(&mut || poll_all());
        let theirs = time(15, calls, poll_all);
        println!("| {n} | {ours:.2} | {theirs:.2} | {:.0}× |", theirs / ours);
    }
}
