//! A stuck subscriber (`emz-bench slow`): P emits etales at a steady rate, A reads them,
//! B stops reading. How many A still receives (against the same run with no B), and once
//! B reads again, how long until it holds the value each title had when it resumed.
//! `--rate 0` emits as fast as the loop goes instead (A's rate only).
//!
//! P, A and B live in one process and one loop (each with its own context and I/O
//! threads), so "B stops reading" is exact and P's current values are known without
//! a clock shared between processes; raw and ours run the same loop.

use crate::baseline::{raw_pub_socket, raw_recv, raw_send, raw_sub_socket, spawn_zap, ZMQ_IO_THREADS};
use crate::cli::Args;
use crate::output::{die, median, out};
use crate::roles::HOST;
use emyzelium::raw::{self, Context, Msg, Socket};
use emyzelium::{new_key_pair, Efunguz};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The publisher, on either implementation.
enum P {
    Emz(Box<Efunguz>),
    Raw { _ctx: Context, sock: Socket, port: u16 },
}

impl P {
    /// `queue_bytes`, `send_buffer`, `supersede`: ours only, `None` = the default.
    fn new(
        imp: &str,
        secret: &str,
        send_hwm: i32,
        queue_bytes: Option<i32>,
        send_buffer: Option<i32>,
        supersede: Option<i32>,
    ) -> P {
        if imp == "raw" {
            let ctx = Context::new().unwrap();
            ctx.set(ZMQ_IO_THREADS, 1).unwrap();
            spawn_zap(&ctx, &[]);
            let (s, port) = raw_pub_socket(&ctx, secret);
            if send_hwm > 0 {
                s.set_i32(raw::ZMQ_SNDHWM, send_hwm).unwrap();
            }
            P::Raw { _ctx: ctx, sock: s, port }
        } else {
            let mut b = Efunguz::builder(secret).allow_everyone().bind_host(HOST).any_port();
            if send_hwm > 0 {
                b = b.send_hwm(send_hwm);
            }
            if let Some(n) = queue_bytes {
                b = b.publish_queue_bytes(n);
            }
            if let Some(n) = send_buffer {
                b = b.publish_send_buffer(n);
            }
            if let Some(ms) = supersede {
                b = b.supersede_after_ms(ms);
            }
            P::Emz(Box::new(b.build().unwrap_or_else(|e| die(&e.to_string()))))
        }
    }
    fn port(&self) -> u16 {
        match self {
            P::Emz(e) => e.port(),
            P::Raw { port, .. } => *port,
        }
    }
    /// False when the etale could not be queued for some subscriber (ours only: raw PUB
    /// drops without telling).
    fn emit(&mut self, title: &str, part: &[u8], seq: i64) -> bool {
        match self {
            P::Emz(e) => e.emit_etale_at(title, &[part], seq).unwrap(),
            P::Raw { sock, .. } => raw_send(sock, title, seq, part),
        }
    }
    fn update(&mut self) {
        if let P::Emz(e) = self {
            e.update().unwrap();
        }
    }
    fn pending(&self) -> Option<usize> {
        match self {
            P::Emz(e) => Some(e.unsent_etales()),
            P::Raw { .. } => None,
        }
    }
}

/// A subscriber, on either implementation: an efunguz or a raw CURVE SUB.
enum S {
    Emz(Box<Efunguz>, String),
    Raw { _ctx: Context, sock: Socket, frames: Vec<Msg>, extra: Msg, seen: HashMap<String, i64>, received: u64 },
}

impl S {
    fn emz(pubkey: &str, port: u16, titles: &[String], recv_hwm: i32, supersede: Option<i32>) -> S {
        let (_, secret) = new_key_pair().unwrap();
        let mut b = Efunguz::builder(&secret).bind_host(HOST).any_port();
        if recv_hwm > 0 {
            b = b.recv_hwm(recv_hwm);
        }
        if let Some(ms) = supersede {
            b = b.supersede_after_ms(ms);
        }
        let mut ef = b.build().unwrap_or_else(|e| die(&e.to_string()));
        let eh = ef.add_ehypha_direct(pubkey, HOST, port).unwrap();
        for t in titles {
            eh.add_etale(t).unwrap();
        }
        S::Emz(Box::new(ef), pubkey.to_string())
    }
    fn raw(pubkey: &str, port: u16, titles: &[String], recv_hwm: i32) -> S {
        let (_, secret) = new_key_pair().unwrap();
        let ctx = Context::new().unwrap();
        ctx.set(ZMQ_IO_THREADS, 1).unwrap();
        let t: Vec<&str> = titles.iter().map(|s| s.as_str()).collect();
        let sock = raw_sub_socket(&ctx, &secret, pubkey, &t);
        if recv_hwm > 0 {
            sock.set_i32(raw::ZMQ_RCVHWM, recv_hwm).unwrap();
        }
        sock.set_i32(raw::ZMQ_LINGER, 0).unwrap();
        sock.connect(&format!("tcp://{HOST}:{port}")).unwrap();
        let frames = vec![Msg::new(), Msg::new(), Msg::new()];
        S::Raw { _ctx: ctx, sock, frames, extra: Msg::new(), seen: HashMap::new(), received: 0 }
    }
    /// Takes in what waits (ours: one update()).
    fn read(&mut self) {
        match self {
            S::Emz(e, _) => {
                e.update().unwrap();
            }
            S::Raw { sock, frames, extra, seen, received, .. } => {
                while let Some(n) = raw_recv(sock, frames, extra) {
                    if n < 3 || frames[1].len() != 8 {
                        continue;
                    }
                    let t = &frames[0][..];
                    let title = String::from_utf8_lossy(&t[..t.len().saturating_sub(1)]).into_owned();
                    seen.insert(title, i64::from_le_bytes(frames[1][..8].try_into().unwrap()));
                    *received += 1;
                }
            }
        }
    }
    /// t_out of the latest etale of `title` it holds (0: none).
    fn t_out(&self, title: &str) -> i64 {
        match self {
            S::Emz(e, k) => e.get_ehypha(k).unwrap().get_etale(title).unwrap().t_out(),
            S::Raw { seen, .. } => seen.get(title).copied().unwrap_or(0),
        }
    }
    /// Etales that arrived so far, all titles (ours: overwritten ones too).
    fn received(&self) -> u64 {
        match self {
            S::Emz(e, k) => e.get_ehypha(k).unwrap().etales().map(|e| e.received()).sum(),
            S::Raw { received, .. } => *received,
        }
    }
}

pub fn role_slow(a: &Args) {
    let imp = a.s("impl", "emz");
    // none: no B (the reference); tiny: a raw CURVE SUB with RCVHWM 1 that never reads;
    // stopped: a subscriber of the same implementation that stops reading (ours: an
    // efunguz that stops calling update()).
    let stuck = a.s("stuck", "none");
    let secs: f64 = a.n("secs", 2.0);
    let rate: f64 = a.n("rate", 200.0);
    let size: usize = a.n("size", 8192).max(8);
    let n_titles: usize = a.n("titles", 4);
    let send_hwm: i32 = a.n("send-hwm", 0);
    let b_recv_hwm: i32 = a.n("b-recv-hwm", 0);
    let fill_mib: usize = a.n("fill-mib", 128);
    // Ours: P's publish_queue_bytes and publish_send_buffer (default: the library's).
    let queue_bytes: Option<i32> = (!a.s("queue-bytes", "").is_empty()).then(|| a.n("queue-bytes", 0));
    let send_buffer: Option<i32> = (!a.s("send-buffer", "").is_empty()).then(|| a.n("send-buffer", -1));
    // Ours: supersede_after_ms of P and of an efunguz B (default: the library's).
    let supersede: Option<i32> = (!a.s("supersede", "").is_empty()).then(|| a.n("supersede", 50));
    let titles: Vec<String> = (0..n_titles).map(|i| format!("t{i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let check = |what: &str| {
        if Instant::now() > deadline {
            die(&format!("timeout: {what}"));
        }
    };

    let (pubkey, psecret) = new_key_pair().unwrap();
    let mut p = P::new(&imp, &psecret, send_hwm, queue_bytes, send_buffer, supersede);
    let port = p.port();
    let mut with_rt = titles.clone();
    if imp != "raw" {
        with_rt.push("rt".into());
    }
    let mut sa =
        if imp == "raw" { S::raw(&pubkey, port, &with_rt, 0) } else { S::emz(&pubkey, port, &with_rt, 0, supersede) };
    let mut sb = match (stuck.as_str(), imp.as_str()) {
        ("none", _) => None,
        ("tiny", _) => Some(S::raw(&pubkey, port, &titles, 1)),
        ("stopped", "raw") => Some(S::raw(&pubkey, port, &titles, b_recv_hwm)),
        ("stopped", _) => Some(S::emz(&pubkey, port, &titles, b_recv_hwm, supersede)),
        (s, _) => die(&format!("unknown --stuck {s}")),
    };

    // Everyone subscribed and holding a first value of every title.
    let mut seq = 0i64;
    loop {
        check("warm-up");
        for t in &titles {
            seq += 1;
            p.emit(t, &seq.to_le_bytes(), seq);
        }
        p.update();
        sa.read();
        if let Some(b) = sb.as_mut() {
            b.read();
        }
        let has = |s: &S| titles.iter().all(|t| s.t_out(t) > 0);
        if has(&sa) && sb.as_ref().is_none_or(has) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    // B stops reading. P floods 8 MiB at a time, each followed by a pause in which A reads,
    // until B's queues (libzmq's and the kernel's, which autotunes them up to tens of MiB)
    // are full: ours tells (every title stays pending for B through the pause); raw cannot,
    // so it floods `fill_mib`, as ours does with no B, so that only B differs.
    let mut buf = vec![0x5au8; size];
    let per_title = |seq: i64| &titles[(seq as usize) % n_titles];
    let settle = |p: &mut P, sa: &mut S, ms: u64| {
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(ms) {
            p.update();
            sa.read();
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let mut flooded = 0usize;
    while flooded < fill_mib << 20 {
        check("fill");
        for i in 0..(8 << 20) / size {
            seq += 1;
            buf[..8].copy_from_slice(&seq.to_le_bytes());
            p.emit(per_title(seq), &buf, seq);
            if i % 16 == 15 {
                p.update();
                sa.read();
            }
        }
        flooded += 8 << 20;
        settle(&mut p, &mut sa, 50);
        // Pending through a longer pause too: while the kernel grows its buffers, a queue
        // that was full can take more again.
        if sb.is_some() && p.pending() == Some(n_titles) {
            settle(&mut p, &mut sa, 200);
            if p.pending() == Some(n_titles) {
                break;
            }
        }
    }
    settle(&mut p, &mut sa, 200);
    let b_full = p.pending().map(|n| n == n_titles);

    // The measurement: `rate` etales/s of `size` bytes, round-robin over the titles.
    let a0 = sa.received();
    let (mut emitted, mut deferred) = (0u64, 0u64);
    // --rate 0: as fast as the loop goes, 16 etales between two reads of A.
    let full = rate <= 0.0;
    let period = Duration::from_secs_f64(if full { 0.0 } else { 1.0 / rate });
    let t0 = Instant::now();
    let mut next = t0;
    let emit_due = |p: &mut P, buf: &mut Vec<u8>, seq: &mut i64, next: &mut Instant, emitted: &mut u64| {
        let mut deferred = 0;
        while Instant::now() >= *next {
            *seq += 1;
            buf[..8].copy_from_slice(&seq.to_le_bytes());
            if !p.emit(per_title(*seq), buf, *seq) {
                deferred += 1;
            }
            *emitted += 1;
            *next += period;
        }
        deferred
    };
    while t0.elapsed().as_secs_f64() < secs {
        if full {
            for _ in 0..16 {
                seq += 1;
                buf[..8].copy_from_slice(&seq.to_le_bytes());
                deferred += u64::from(!p.emit(per_title(seq), &buf, seq));
                emitted += 1;
            }
        } else {
            deferred += emit_due(&mut p, &mut buf, &mut seq, &mut next, &mut emitted);
        }
        p.update();
        sa.read();
        if !full {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // The last etales have a few ms to arrive.
    settle(&mut p, &mut sa, 50);
    let a_got = sa.received() - a0;
    let span = t0.elapsed().as_secs_f64() - 0.05;
    let mut res = format!(
        "{{\"a_rate\":{:.1},\"a_frac\":{:.4},\"emitted\":{emitted},\"deferred\":{deferred},\"fill_mib\":{}",
        a_got as f64 / span,
        a_got as f64 / emitted.max(1) as f64,
        flooded >> 20
    );
    if let Some(full) = b_full {
        res += &format!(",\"b_full\":{full}");
    }

    // B reads again while P goes on emitting: time until B holds, for every title, the
    // value P had emitted when B resumed (or a newer one). The loop spins, as the round
    // trip below does. Not at full speed: there "current" changes faster than anyone reads.
    if let Some(b) = sb.as_mut().filter(|_| !full) {
        let want: HashMap<&String, i64> = titles
            .iter()
            .map(|t| (t, (0..n_titles as i64).map(|k| seq - k).find(|s| per_title(*s) == t).unwrap()))
            .collect();
        let b0 = b.received();
        let t1 = Instant::now();
        loop {
            check("B resuming");
            emit_due(&mut p, &mut buf, &mut seq, &mut next, &mut emitted);
            p.update();
            sa.read();
            b.read();
            if titles.iter().all(|t| b.t_out(t) >= want[t]) {
                break;
            }
        }
        res += &format!(
            ",\"stale_us\":{:.1},\"b_read\":{},\"b_read_kib\":{:.0}",
            t1.elapsed().as_secs_f64() * 1e6,
            b.received() - b0,
            (b.received() - b0) as f64 * size as f64 / 1024.0
        );
    }

    // For scale, ours only (raw PUB keeps no value): one subscription round trip on A's
    // live connection, in the same loop: A resubscribes "rt", P answers with its value.
    if let (P::Emz(pe), S::Emz(ae, k)) = (&mut p, &mut sa) {
        let mut rtt = Vec::new();
        for r in 1..=5i64 {
            pe.emit_etale_at("rt", &[b"x".as_slice()], r).unwrap();
            ae.get_ehypha_mut(k).unwrap().pause_etale("rt").unwrap();
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(30) {
                pe.update().unwrap();
                ae.update().unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
            ae.get_ehypha_mut(k).unwrap().resume_etale("rt").unwrap();
            let t2 = Instant::now();
            loop {
                check("round trip");
                pe.update().unwrap();
                ae.update().unwrap();
                if ae.get_ehypha(k).unwrap().get_etale("rt").unwrap().t_out() == r {
                    break;
                }
            }
            rtt.push(t2.elapsed().as_secs_f64() * 1e6);
        }
        res += &format!(",\"rtt_us\":{:.1}", median(rtt));
    }
    out(&(res + "}"));
    std::process::exit(0);
}
