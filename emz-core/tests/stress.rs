//! Many efungi, many ehyphae, and drops in every state: never an abort or a hang.
mod common;
use common::*;
use emyzelium::{onion_from_ed25519, Efunguz, ErrorKind};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A SOCKS5 proxy that accepts the greeting and then answers every CONNECT with
/// "host unreachable", as Tor does for an onion it cannot reach.
struct FailingSocks {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FailingSocks {
    fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        std::thread::spawn(move || {
                            c.set_nonblocking(false).unwrap();
                            c.set_read_timeout(Some(Duration::from_secs(2))).ok();
                            let mut buf = [0u8; 512];
                            if c.read(&mut buf).is_ok() && c.write_all(&[5, 0]).is_ok() && c.read(&mut buf).is_ok() {
                                let _ = c.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]);
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        FailingSocks { port, stop }
    }
}

impl Drop for FailingSocks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn drops_with_failing_tor_and_unreachable_peers_never_abort() {
    let socks = FailingSocks::start();
    let refused_proxy = closed_port();
    let (kp, kq) = (keys(), keys());
    let mut live = efunguz(&kp);
    let mut rng = 0x2545F4914F6CDD1Du64;
    for i in 0..120u32 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let proxy = if i % 2 == 0 { socks.port } else { refused_proxy };
        let mut ef = builder(&kq)
            .tor_proxy("127.0.0.1", proxy)
            .reconnect_interval(Duration::from_millis(10), Duration::from_millis(40))
            .build()
            .unwrap();
        for j in 0..3u8 {
            let onion = onion_from_ed25519(&[
                i as u8, j, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
            ]);
            ef.add_ehypha(&keys().public, &onion, 60847).unwrap().add_etale("t").unwrap();
        }
        ef.add_ehypha_direct(&keys().public, "127.0.0.1", closed_port()).unwrap().add_etale("t").unwrap();
        ef.add_ehypha_direct(&kp.public, "127.0.0.1", live.port()).unwrap().add_etale("t").unwrap();
        let t0 = Instant::now();
        let life = Duration::from_millis(rng % 60);
        while t0.elapsed() < life {
            live.emit_etale("t", &[vec![0u8; 64 << 10]]).unwrap();
            live.update().unwrap();
            ef.update().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(ef);
    }
}

#[test]
fn hundreds_of_efungi_created_and_dropped() {
    for _round in 0..4 {
        let ks: Vec<Keys> = (0..50).map(|_| keys()).collect();
        let mut efs: Vec<Efunguz> = ks.iter().map(|k| builder(k).io_threads(1).build().unwrap()).collect();
        let n = efs.len();
        for i in 0..n {
            let (next, port) = (&ks[(i + 1) % n].public, efs[(i + 1) % n].port());
            efs[i].add_ehypha_direct(next, "127.0.0.1", port).unwrap().add_etale("ring").unwrap();
        }
        for _ in 0..20 {
            for ef in efs.iter_mut() {
                ef.emit_etale("ring", &[b"x".as_slice()]).unwrap();
                ef.update().unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // Drop in creation order, mid-traffic.
        efs.clear();
    }
}

#[test]
fn ten_thousand_ehyphae() {
    const N: usize = 10_000;
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    // Without state monitors: 3 fds per ehypha would not fit a 20,000 fd limit.
    let mut b = builder(&kb)
        .reconnect_interval(Duration::from_secs(10), Duration::from_secs(30))
        .ehypha_monitor(false)
        .build()
        .unwrap();
    let dead = closed_port();
    let mut idle_keys = Vec::with_capacity(N);
    for _ in 0..N - 1 {
        let k = keys().public;
        b.add_ehypha_direct(&k, "127.0.0.1", dead).unwrap().add_etale("t").unwrap();
        idle_keys.push(k);
    }
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    assert_eq!(b.ehyphae_count(), N);
    assert!(until(Duration::from_secs(60), || {
        a.emit_etale("t", &[b"live".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().received() > 0
    }));
    // Once what was in flight is in, an update finds nothing to do.
    while b.wait(Some(Duration::from_millis(200))).unwrap() > 0 {}
    let t0 = Instant::now();
    for _ in 0..1000 {
        assert_eq!(b.update().unwrap(), 0);
    }
    eprintln!("update() with {N} ehyphae, none active: {:?} each (debug build)", t0.elapsed() / 1000);
    for k in &idle_keys {
        b.del_ehypha(k).unwrap();
    }
    assert_eq!(b.ehyphae_count(), 1);
    assert!(until(T, || {
        a.emit_etale("t", &[b"still".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        &b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().parts()[0][..] == b"still"
    }));
}

#[test]
fn socket_limit_is_a_clear_error() {
    let k = keys();
    let mut a = builder(&k).max_sockets(64).build().unwrap();
    let dead = closed_port();
    let mut added = Vec::new();
    let err = loop {
        let key = keys().public;
        match a.add_ehypha_direct(&key, "127.0.0.1", dead) {
            Ok(_) => added.push(key),
            Err(e) => break e,
        }
        assert!(added.len() < 100, "no limit hit");
    };
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
    assert!(err.to_string().contains("max_sockets 64"), "{err}");
    assert!(added.len() >= 16, "only {} ehyphae fit", added.len());
    assert_eq!(a.ehyphae_count(), added.len());
    a.update().unwrap();
    a.del_ehypha(&added[0]).unwrap();
    // libzmq frees the socket's slot asynchronously, moments after the close.
    let k2 = keys().public;
    assert!(until(T, || a.add_ehypha_direct(&k2, "127.0.0.1", dead).is_ok()));
}
