//! The cost of `update()` with idle ehyphae (`emz-bench idle`), against the original
//! emyzelium's way on raw libzmq: `ZMQ_EVENTS` on every SUB socket each frame.

use crate::baseline::raw_sub_socket;
use crate::cli::Args;
use crate::output::{die, median, out};
use crate::roles::HOST;
use emyzelium::raw::{self, Context, Socket};
use emyzelium::{new_key_pair, Efunguz};
use std::time::{Duration, Instant};

pub fn time_us(rounds: usize, calls: usize, mut f: impl FnMut()) -> f64 {
    let v = (0..rounds)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..calls {
                f();
            }
            t0.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .collect();
    median(v)
}

pub fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn role_idle(a: &Args) {
    let imp = a.s("impl", "emz");
    let n: usize = a.n("n", 1000);
    let (public, secret) = new_key_pair().unwrap();
    let dead = dead_port();
    let calls = (200_000 / n.max(1)).clamp(20, 20_000);
    let settle = |f: &mut dyn FnMut()| {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(300) {
            f();
        }
    };
    if imp == "emz" {
        // Each ehypha's monitor costs 2 more fds: off past 5000 (hard fd limit here: 20,000).
        let monitor = n <= 5000;
        let mut ef = Efunguz::builder(&secret)
            .bind_host(HOST)
            .any_port()
            .ehypha_monitor(monitor)
            .reconnect_interval(Duration::from_secs(60), Duration::from_secs(60))
            .build()
            .unwrap();
        for _ in 0..n {
            let k = new_key_pair().unwrap().0;
            if let Err(e) = ef.add_ehypha_direct(&k, HOST, dead).and_then(|eh| eh.add_etale("t").map(drop)) {
                die(&format!("after {} ehyphae: {e}", ef.ehyphae_count()));
            }
        }
        settle(&mut || {
            ef.update().unwrap();
        });
        let us = time_us(15, calls, || {
            ef.update().unwrap();
        });
        out(&format!("{{\"n\":{n},\"update_us\":{us:.3},\"monitor\":{monitor}}}"));
    } else {
        // The original emyzelium's way on raw libzmq: ZMQ_EVENTS on every SUB socket.
        let ctx = Context::new().unwrap();
        ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 16).unwrap();
        let subs: Vec<Socket> = (0..n)
            .map(|_| {
                let s = raw_sub_socket(&ctx, &secret, &new_key_pair().unwrap().0, &["t"]);
                s.connect(&format!("tcp://{HOST}:{dead}")).unwrap();
                s
            })
            .collect();
        let _ = public;
        let poll_all = || {
            for s in &subs {
                let _ = s.readable();
            }
        };
        settle(&mut || poll_all());
        let us = time_us(15, calls.min(2000), poll_all);
        out(&format!("{{\"n\":{n},\"update_us\":{us:.3}}}"));
    }
    std::process::exit(0);
}
