//! Resident memory per online ehypha (`emz-bench rss-pubs` and `rss-sub`).

use crate::baseline::{raw_pub_socket, raw_recv, raw_send, raw_sub_socket, spawn_zap, ZMQ_IO_THREADS};
use crate::cli::{cores, watch_stdin, Args, QUIT};
use crate::output::out;
use crate::roles::{payload, HOST};
use emyzelium::raw::{self, Context, Msg, Socket};
use emyzelium::{new_key_pair, now_us, Efunguz};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub fn rss_kb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn role_rss_pubs(a: &Args) {
    let n: usize = a.n("n", 1000);
    let path = a.req("out");
    let ctx = Context::new().unwrap();
    ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 64).unwrap();
    spawn_zap(&ctx, &[]);
    let mut socks = Vec::with_capacity(n);
    let mut list = String::new();
    for _ in 0..n {
        let (public, secret) = new_key_pair().unwrap();
        let (s, port) = raw_pub_socket(&ctx, &secret);
        list.push_str(&format!("{public} {port}\n"));
        socks.push(s);
    }
    std::fs::write(&path, list).unwrap();
    out("{\"ready\":true}");
    watch_stdin();
    let v = payload(64);
    while !QUIT.load(Ordering::SeqCst) {
        for s in &socks {
            raw_send(s, "v", now_us(), &v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::exit(0);
}

pub fn role_rss_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let list: Vec<(String, u16)> = std::fs::read_to_string(a.req("list"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect();
    let n = list.len();
    let (_, secret) = new_key_pair().unwrap();
    let timeout = Duration::from_secs(60);
    let (rss0, rss1, online, secs) = if imp == "emz" {
        let mut ef = Efunguz::builder(&secret).bind_host(HOST).any_port().build().unwrap();
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(200) {
            ef.update().unwrap();
        }
        let rss0 = rss_kb();
        let t0 = Instant::now();
        for (k, port) in &list {
            ef.add_ehypha_direct(k, HOST, *port).unwrap().add_etale("v").unwrap();
        }
        let count = |ef: &Efunguz| ef.ehyphae().filter(|e| e.get_etale("v").unwrap().received() > 0).count();
        let mut online = 0;
        while t0.elapsed() < timeout {
            ef.wait(Some(Duration::from_millis(20))).unwrap();
            online = count(&ef);
            if online == n {
                break;
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(300) {
            ef.wait(Some(Duration::from_millis(20))).unwrap();
        }
        (rss0, rss_kb(), online, secs)
    } else {
        let ctx = Context::new().unwrap();
        ctx.set(ZMQ_IO_THREADS, cores().clamp(1, 4)).unwrap();
        ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 64).unwrap();
        let _keep = ctx.socket(raw::ZMQ_SUB).unwrap(); // starts the context's threads
        std::thread::sleep(Duration::from_millis(200));
        let rss0 = rss_kb();
        let t0 = Instant::now();
        let mut subs: Vec<(Socket, bool)> = list
            .iter()
            .map(|(k, port)| {
                let s = raw_sub_socket(&ctx, &secret, k, &["v"]);
                s.connect(&format!("tcp://{HOST}:{port}")).unwrap();
                (s, false)
            })
            .collect();
        let mut frames = vec![Msg::new(), Msg::new(), Msg::new()];
        // Each socket keeps the latest message, as an etale would.
        let mut kept: Vec<Option<Msg>> = (0..n).map(|_| None).collect();
        let mut extra = Msg::new();
        let mut online = 0;
        while t0.elapsed() < timeout && online < n {
            for (i, (s, on)) in subs.iter_mut().enumerate() {
                while raw_recv(s, &mut frames, &mut extra).is_some() {
                    kept[i] = Some(frames[2].clone());
                    if !*on {
                        *on = true;
                        online += 1;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let secs = t0.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(300));
        for (s, _) in &subs {
            while raw_recv(s, &mut frames, &mut extra).is_some() {}
        }
        (rss0, rss_kb(), online, secs)
    };
    out(&format!(
        "{{\"n\":{n},\"online\":{online},\"secs\":{secs:.2},\"rss0_kb\":{rss0},\"rss1_kb\":{rss1},\"per_ehypha_kb\":{:.2}}}",
        (rss1 - rss0) / online.max(1) as f64
    ));
    std::process::exit(0);
}
