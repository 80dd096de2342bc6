//! The Rust side of the Python-vs-Rust benchmark (emz-py/bench/bench.py runs it).
//!
//! bench_recv pub SECRET PORT SIZE          flood etales of SIZE bytes on PORT until killed
//! bench_recv recv PUBKEY PORT SECONDS      receive for SECONDS; prints `recv_per_s N`
//! bench_recv idle N_EHYPHAE                prints `update_us X` (median µs of an idle update())
//!
//! The receive loop is what a program does: update(), then read the parts of what changed.

use emyzelium::{new_key_pair, Efunguz};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    match a.first().map(String::as_str) {
        Some("pub") => flood(&a[1], a[2].parse().unwrap(), a[3].parse().unwrap()),
        Some("recv") => recv(&a[1], a[2].parse().unwrap(), a[3].parse().unwrap()),
        Some("idle") => idle(a[1].parse().unwrap()),
        _ => {
            eprintln!("usage: bench_recv pub SECRET PORT SIZE | recv PUBKEY PORT SECONDS | idle N");
            std::process::exit(2);
        }
    }
}

fn flood(secret: &str, port: u16, size: usize) {
    let mut ef = Efunguz::builder(secret).bind_host("127.0.0.1").port(port).retry_unsent(false).build().unwrap();
    println!("ready {}", ef.port());
    let data = vec![7u8; size];
    loop {
        for _ in 0..64 {
            ef.emit_etale("b", &[&data[..]]).unwrap();
        }
        ef.update().unwrap();
    }
}

fn recv(pubkey: &str, port: u16, secs: f64) {
    let (_, secret) = new_key_pair().unwrap();
    let mut ef = Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build().unwrap();
    ef.add_ehypha_direct(pubkey, "127.0.0.1", port).unwrap().add_etale("b").unwrap();
    // Warm up until data flows, then measure.
    while ef.stats().received == 0 {
        ef.wait(Some(Duration::from_millis(100))).unwrap();
    }
    let t0 = Instant::now();
    let r0 = ef.stats().received;
    let mut bytes = 0usize;
    while t0.elapsed().as_secs_f64() < secs {
        ef.update().unwrap();
        for c in ef.changes() {
            let e = ef.get_ehypha(&c.public_key).unwrap().get_etale(&c.title).unwrap();
            bytes += e.parts().iter().map(|p| black_box(p.to_vec()).len()).sum::<usize>();
        }
    }
    let n = ef.stats().received - r0;
    black_box(bytes);
    println!("recv_per_s {:.0}", n as f64 / t0.elapsed().as_secs_f64());
}

fn idle(n: usize) {
    let (_, secret) = new_key_pair().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut ef = Efunguz::builder(&secret)
        .bind_host("127.0.0.1")
        .any_port()
        .reconnect_interval(Duration::from_secs(60), Duration::from_secs(60))
        .build()
        .unwrap();
    for _ in 0..n {
        let k = new_key_pair().unwrap().0;
        ef.add_ehypha_direct(&k, "127.0.0.1", dead).unwrap().add_etale("t").unwrap();
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(300) {
        ef.update().unwrap();
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..20_000 {
                black_box(ef.update().unwrap());
            }
            t.elapsed().as_secs_f64() * 1e6 / 20_000.0
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("update_us {:.3}", samples[samples.len() / 2]);
}
