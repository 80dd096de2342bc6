//! Limits that hold before a peer is trusted: oversize frames, subscriptions that are
//! not titles, prefix storms, and floods of idle connections.
mod common;
use common::*;
use emyzelium::raw::{self, Context, Msg, Socket};
use emyzelium::{z85_decode, Efunguz};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn vm_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// User + system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// A ZMTP 3.0 greeting from a CURVE client.
fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[12..17].copy_from_slice(b"CURVE");
    g
}

/// A raw CURVE subscriber (not an efunguz) of `a`.
fn raw_sub(ctx: &Context, a: &Efunguz) -> Socket {
    let k = keys();
    let s = ctx.socket(raw::ZMQ_SUB).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SERVERKEY, &z85_decode(a.public_key()).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_PUBLICKEY, &z85_decode(&k.public).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(&k.secret).unwrap()).unwrap();
    s.connect(&format!("tcp://127.0.0.1:{}", a.port())).unwrap();
    s
}

fn count_received(s: &Socket) -> usize {
    let mut n = 0;
    loop {
        let mut m = Msg::new();
        if !s.recv(&mut m).unwrap() {
            return n;
        }
        if !m.more() {
            n += 1;
        }
    }
}

fn pump(a: &mut Efunguz, for_: Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < for_ {
        a.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Two connections announce a 1 GiB frame before any handshake and stream 32 MiB of
/// it each: the publish socket drops them at the header, allocating nothing.
#[test]
fn oversize_frame_before_handshake_is_dropped() {
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).whitelist([&kb.public]).build().unwrap();
    pump(&mut a, Duration::from_millis(100));
    let rss0 = vm_rss_kib();
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(("127.0.0.1", a.port())).unwrap();
        s.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
        s.write_all(&greeting()).unwrap();
        // A long command frame of 1 GiB.
        let mut head = vec![0x06u8];
        head.extend_from_slice(&(1u64 << 30).to_be_bytes());
        s.write_all(&head).unwrap();
        streams.push(s);
    }
    let chunk = vec![0x55u8; 1 << 20];
    let mut sent = 0usize;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        for s in &mut streams {
            if s.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
        a.update().unwrap();
        if sent >= 64 << 20 {
            break;
        }
    }
    pump(&mut a, Duration::from_millis(300));
    let grown = vm_rss_kib().saturating_sub(rss0);
    eprintln!("sent {} MiB of oversize frames; publisher RSS grew by {grown} KiB", sent >> 20);
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB");
    assert!(sent < 16 << 20, "the publish socket kept taking an oversize frame ({} MiB)", sent >> 20);
    // Each drop reaches the counters through the monitor, later on a loaded machine.
    until(T, || {
        a.update().unwrap();
        a.counters().in_absorbing == 0
    });
    let c = a.counters();
    assert_eq!(c.in_permitted, 0, "{c:?}");
    assert_eq!(c.in_absorbing, 0, "the connections were not dropped: {c:?}");
}

/// Subscriptions that are not `title + NUL` are counted and never applied.
#[test]
fn bad_subscriptions_are_counted_and_ignored() {
    let ka = keys();
    let mut a = builder(&ka).build().unwrap();
    let ctx = Context::new().unwrap();
    let s = raw_sub(&ctx, &a);
    for topic in [&b""[..], b"t", b"t\0x", b"\xff\0", &vec![b'x'; 5000]] {
        s.set_bytes(raw::ZMQ_SUBSCRIBE, topic).unwrap();
    }
    assert!(until(T, || {
        a.emit_etale("t", &[b"x".as_slice()]).unwrap();
        a.update().unwrap();
        a.counters().bad_subscriptions >= 4
    }));
    pump(&mut a, Duration::from_millis(200));
    // The 5000-byte one is over publish_max_message_size: the connection goes instead.
    let bad = a.counters().bad_subscriptions;
    assert!(bad >= 4, "{:?}", a.counters());
    for _ in 0..100 {
        a.emit_etale("t", &[b"x".as_slice()]).unwrap();
        a.update().unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(count_received(&s), 0, "a prefix subscription received etales");

    // A proper title frame works on a fresh connection.
    let s2 = raw_sub(&ctx, &a);
    s2.set_bytes(raw::ZMQ_SUBSCRIBE, b"t\0").unwrap();
    assert!(until(T, || {
        a.emit_etale("t", &[b"x".as_slice()]).unwrap();
        a.update().unwrap();
        count_received(&s2) > 0
    }));
}

/// A peer subscribing and unsubscribing the empty prefix over and over makes the
/// publisher send nothing to the others (each honest subscriber got each title once).
#[test]
fn prefix_storm_sends_nothing_to_others() {
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).build().unwrap();
    for t in ["t1", "t2", "t3"] {
        a.emit_etale(t, &[b"x".as_slice()]).unwrap();
    }
    let mut b = efunguz(&kb);
    let e = b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap();
    for t in ["t1", "t2", "t3"] {
        e.add_etale(t).unwrap();
    }
    let got = |b: &Efunguz| -> Vec<u64> {
        let e = b.get_ehypha(&ka.public).unwrap();
        ["t1", "t2", "t3"].iter().map(|t| e.get_etale(t).unwrap().received()).collect()
    };
    assert!(until(T, || {
        a.update().unwrap();
        b.update().unwrap();
        got(&b) == vec![1, 1, 1]
    }));
    let ctx = Context::new().unwrap();
    let s = raw_sub(&ctx, &a);
    let t0 = Instant::now();
    for i in 0..1000 {
        s.set_bytes(if i % 2 == 0 { raw::ZMQ_SUBSCRIBE } else { raw::ZMQ_UNSUBSCRIBE }, b"").unwrap();
        if i % 50 == 0 {
            a.update().unwrap();
            b.update().unwrap();
        }
    }
    let ticks0 = cpu_ticks();
    assert!(until(T, || {
        a.update().unwrap();
        b.update().unwrap();
        a.counters().bad_subscriptions >= 1000
    }));
    pump(&mut a, Duration::from_millis(300));
    b.update().unwrap();
    eprintln!("storm served in {:?}, {} CPU ticks after sending", t0.elapsed(), cpu_ticks() - ticks0);
    assert_eq!(got(&b), vec![1, 1, 1], "the storm made the publisher send to another subscriber");
    assert_eq!(count_received(&s), 0);
}

/// In a child process with a 1024 fd soft limit: 2,000 idle TCP connections do not
/// keep a whitelisted subscriber out, and the publisher stays calm.
#[test]
fn fd_flood_does_not_lock_out_a_whitelisted_peer() {
    if std::env::var_os("EMZ_FD_FLOOD_CHILD").is_some() {
        return fd_flood_child();
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "fd_flood_does_not_lock_out_a_whitelisted_peer", "--nocapture"])
        .env("EMZ_FD_FLOOD_CHILD", "1")
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the flood child did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the flood child failed: {status}");
}

fn fd_limit() -> (u64, u64) {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills in the live local `r`.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    (r.rlim_cur, r.rlim_max)
}

fn fd_flood_child() {
    let (_, hard) = fd_limit();
    let r = libc::rlimit { rlim_cur: 1024.min(hard) as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: setrlimit only reads the live local `r`.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).whitelist([&kb.public]).build().unwrap();
    let (soft, _) = fd_limit();
    eprintln!("fd soft limit 1024 raised to {soft} at creation (hard {hard})");
    let mut flood = Vec::new();
    for _ in 0..2000 {
        match TcpStream::connect(("127.0.0.1", a.port())) {
            Ok(s) => flood.push(s),
            Err(e) => {
                eprintln!("attacker stopped at {} connections: {e}", flood.len());
                break;
            }
        }
        if flood.len() % 100 == 0 {
            a.update().unwrap();
        }
    }
    pump(&mut a, Duration::from_millis(500));
    let (rss0, ticks0, t0) = (vm_rss_kib(), cpu_ticks(), Instant::now());
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let got_in = until(T, || {
        a.emit_etale("t", &[b"x".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().received() > 0
    });
    let took = t0.elapsed();
    pump(&mut a, Duration::from_secs(2));
    let secs = t0.elapsed().as_secs_f64();
    let ticks = cpu_ticks() - ticks0;
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    eprintln!(
        "{} idle connections: whitelisted peer in after {took:?}; RSS {} KiB (was {rss0} before it); CPU {:.0} % over {secs:.1} s; {:?}",
        flood.len(),
        vm_rss_kib(),
        ticks as f64 / hz / secs * 100.0,
        a.counters()
    );
    assert!(got_in, "the whitelisted peer could not get in during the flood");
    assert!(flood.len() >= 1500, "the flood opened only {} connections", flood.len());
    assert!((ticks as f64 / hz / secs) < 0.5, "the publisher spun during the flood");
}

/// An allowed peer subscribing to 16 topics of 1 MiB each is dropped at the first one:
/// the publisher neither grows nor stalls. The attacker runs in a child process, since
/// its own SUB socket's subscription trie takes hundreds of MB.
#[test]
fn huge_subscriptions_are_refused() {
    if let Some(target) = std::env::var_os("EMZ_HUGE_SUB_CHILD") {
        return huge_subscriber(target.to_str().unwrap());
    }
    let ka = keys();
    let mut a = builder(&ka).build().unwrap();
    a.emit_etale("t", &[b"x".as_slice()]).unwrap();
    pump(&mut a, Duration::from_millis(100));
    let rss0 = vm_rss_kib();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "huge_subscriptions_are_refused", "--nocapture"])
        .env("EMZ_HUGE_SUB_CHILD", format!("{} {}", ka.public, a.port()))
        .spawn()
        .unwrap();
    let (t0, ticks0) = (Instant::now(), cpu_ticks());
    let mut slowest = Duration::ZERO;
    while t0.elapsed() < Duration::from_secs(3) {
        let u = Instant::now();
        a.update().unwrap();
        slowest = slowest.max(u.elapsed());
        std::thread::sleep(Duration::from_millis(2));
    }
    let ticks = cpu_ticks() - ticks0;
    let _ = child.kill();
    let _ = child.wait();
    let grown = vm_rss_kib().saturating_sub(rss0);
    eprintln!(
        "16 × 1 MiB subscriptions: publisher RSS grew by {grown} KiB, slowest update {slowest:?}, {ticks} CPU ticks in 3 s, {:?}",
        a.counters()
    );
    assert!(a.in_permitted() >= 1, "the attacker never got in: the test proves nothing");
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB");
    assert!(slowest < Duration::from_millis(500), "an update took {slowest:?}");
}

fn huge_subscriber(target: &str) {
    let (key, port) = target.split_once(' ').unwrap();
    let k = keys();
    let ctx = Context::new().unwrap();
    let s = ctx.socket(raw::ZMQ_SUB).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SERVERKEY, &z85_decode(key).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_PUBLICKEY, &z85_decode(&k.public).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(&k.secret).unwrap()).unwrap();
    s.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    for i in 0..16u8 {
        let mut topic = vec![b'a' + i; 1 << 20];
        topic.push(0);
        s.set_bytes(raw::ZMQ_SUBSCRIBE, &topic).unwrap();
    }
    std::thread::sleep(Duration::from_secs(5));
}
