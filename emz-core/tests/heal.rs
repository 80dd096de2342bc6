//! An ehypha heals after any disconnect: each cause below ends the connection in a
//! different way, and etales flow again afterwards without anything being re-added.
mod common;
use common::*;
use emyzelium::{Efunguz, EhyphaState, ErrorKind};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// An efunguz publishing on `port`, once the port is free again.
fn start(k: &Keys, port: u16) -> Efunguz {
    let mut last = None;
    for _ in 0..300 {
        match builder(k).port(port).build() {
            Ok(ef) => return ef,
            Err(e) if e.kind() == ErrorKind::AddressInUse => last = Some(e),
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("port {port} never freed: {last:?}");
}

fn t_out(b: &Efunguz, key: &str) -> i64 {
    b.get_ehypha(key).unwrap().get_etale("t").unwrap().t_out()
}

fn state(b: &Efunguz, key: &str) -> EhyphaState {
    b.get_ehypha(key).unwrap().state()
}

/// Emits `t_out` from `a` and updates both until `b` holds it; records `b`'s states.
fn deliver(a: &mut Efunguz, b: &mut Efunguz, key: &str, t: i64, seen: &mut Vec<EhyphaState>) -> bool {
    until(T, || {
        a.emit_etale_at("t", &[b"small".as_slice()], t).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        note(seen, state(b, key));
        t_out(b, key) == t
    })
}

fn note(seen: &mut Vec<EhyphaState>, s: EhyphaState) {
    if seen.last() != Some(&s) {
        seen.push(s);
    }
}

/// A TCP server on `listener` that is not ZMTP: each connection gets `reply`, then is
/// closed. Runs until the flag is set.
fn stranger(listener: TcpListener, reply: &'static [u8]) -> (Arc<AtomicBool>, JoinHandle<usize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let mut served = 0;
        let t0 = Instant::now();
        while !flag.load(Ordering::Relaxed) && t0.elapsed() < T {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
                    let _ = s.write_all(reply);
                    // Read what the client says, so that it sees our bytes before the close.
                    let mut buf = [0u8; 256];
                    let _ = s.read(&mut buf);
                    served += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        served
    });
    (stop, handle)
}

/// Updates `b` for `span`, recording the states its ehypha to `key` goes through.
fn watch(b: &mut Efunguz, key: &str, span: Duration, seen: &mut Vec<EhyphaState>) {
    let t0 = Instant::now();
    while t0.elapsed() < span {
        b.update().unwrap();
        note(seen, state(b, key));
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A stranger holds the peer's port, then the real publisher binds it.
fn stranger_then_publisher(reply: &'static [u8]) -> Vec<EhyphaState> {
    let (ka, kb) = (keys(), keys());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A short handshake timeout: a connection the stranger left hanging heals soon too.
    let mut b = builder(&kb).handshake_interval(Duration::from_secs(1)).build().unwrap();
    b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    let (stop, handle) = stranger(listener, reply);
    let mut seen = Vec::new();
    // Long enough for several backoff caps (200 ms here).
    watch(&mut b, &ka.public, Duration::from_millis(800), &mut seen);
    stop.store(true, Ordering::Relaxed);
    let served = handle.join().unwrap();
    assert!(served >= 1, "the stranger was never reached: {seen:?}");
    let mut a = start(&ka, port);
    assert!(deliver(&mut a, &mut b, &ka.public, 7, &mut seen), "{seen:?}");
    seen
}

#[test]
fn heals_after_a_message_over_max_message_size() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = builder(&kb).max_message_size(1 << 20).build().unwrap();
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let mut seen = Vec::new();
    assert!(deliver(&mut a, &mut b, &ka.public, 1, &mut seen), "{seen:?}");
    let big = vec![7u8; 2 << 20];
    a.emit_etale_at("t", &[big.as_slice()], 2).unwrap();
    // The oversize message ends the connection (a protocol error for libzmq).
    assert!(
        until(T, || {
            a.update().unwrap();
            b.update().unwrap();
            note(&mut seen, state(&b, &ka.public));
            state(&b, &ka.public) != EhyphaState::Up
        }),
        "{seen:?}"
    );
    for t in 3..6 {
        assert!(deliver(&mut a, &mut b, &ka.public, t, &mut seen), "etale {t} never arrived: {seen:?}");
    }
    assert_ne!(t_out(&b, &ka.public), 2, "the oversize etale got through");
    assert_eq!(state(&b, &ka.public), EhyphaState::Up);
}

#[test]
fn heals_after_a_stranger_writing_garbage_on_the_port() {
    let seen = stranger_then_publisher(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    assert!(seen.iter().any(|s| matches!(s, EhyphaState::Failed | EhyphaState::Disconnected)), "{seen:?}");
}

#[test]
fn heals_after_a_stranger_closing_at_once() {
    stranger_then_publisher(b"");
}

/// A ZMTP 3.0 greeting offering the NULL mechanism: a CURVE client fails its handshake
/// with a protocol error, after which libzmq never reconnects by itself.
const NULL_GREETING: &[u8; 64] = &null_greeting();

const fn null_greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    // Signature (0xFF, 8 bytes of padding, 0x7F), version 3.0, mechanism "NULL", as-server.
    g[0] = 0xff;
    g[8] = 1;
    g[9] = 0x7f;
    g[10] = 3;
    g[12] = b'N';
    g[13] = b'U';
    g[14] = b'L';
    g[15] = b'L';
    g[32] = 1;
    g
}

#[test]
fn heals_after_a_failed_handshake() {
    let seen = stranger_then_publisher(NULL_GREETING);
    assert!(seen.contains(&EhyphaState::Failed), "{seen:?}");
    // Failed is retried after the cap, not left for good.
    let failed = seen.iter().position(|s| *s == EhyphaState::Failed).unwrap();
    assert!(seen[failed..].contains(&EhyphaState::Up), "{seen:?}");
}

#[test]
fn heals_after_the_peer_restarts() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let port = a.port();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    let mut seen = Vec::new();
    assert!(deliver(&mut a, &mut b, &ka.public, 1, &mut seen), "{seen:?}");
    drop(a);
    let mut a = start(&ka, port);
    assert!(deliver(&mut a, &mut b, &ka.public, 2, &mut seen), "{seen:?}");
}

#[test]
fn heals_after_the_peer_vanishes_for_a_while() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let port = a.port();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    let mut seen = Vec::new();
    assert!(deliver(&mut a, &mut b, &ka.public, 1, &mut seen), "{seen:?}");
    drop(a);
    // Gone for several backoff caps (200 ms here): libzmq keeps retrying meanwhile.
    watch(&mut b, &ka.public, Duration::from_millis(1000), &mut seen);
    assert!(seen.contains(&EhyphaState::Retrying), "{seen:?}");
    let mut a = start(&ka, port);
    assert!(deliver(&mut a, &mut b, &ka.public, 2, &mut seen), "{seen:?}");
}

#[test]
fn wait_wakes_up_to_heal() {
    // With nothing else to do, a blocking wait still reconnects a failed ehypha.
    let (ka, kb) = (keys(), keys());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    let (stop, handle) = stranger(listener, NULL_GREETING);
    assert!(until(T, || {
        b.update().unwrap();
        state(&b, &ka.public) == EhyphaState::Failed
    }));
    let since = b.get_ehypha(&ka.public).unwrap().state_since();
    // One wait of 2 s spans the cap (200 ms) many times over: only a wait that wakes up
    // to heal reconnects more than once during it.
    b.wait(Some(Duration::from_secs(2))).unwrap();
    let e = b.get_ehypha(&ka.public).unwrap();
    assert!(e.state_since() > since, "still {} since the failure", e.state());
    stop.store(true, Ordering::Relaxed);
    let served = handle.join().unwrap();
    assert!(served >= 4, "reconnected to the stranger only {} times", served - 1);
}
