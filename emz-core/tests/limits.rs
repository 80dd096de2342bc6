//! Every argument value at the Rust API gives Ok or a clear error, never a panic: the
//! extremes of each knob, `wait` with the longest timeout, titles at and past the limit.
mod common;
use common::*;
use emyzelium::{EfunguzBuilder, ErrorKind, Options, MAX_TITLE_LEN};
use std::time::Duration;

/// Builds and reports Ok, or the error's kind after checking that it names `knob`.
fn outcome(b: EfunguzBuilder, knob: &str) -> Result<(), ErrorKind> {
    match b.build() {
        Ok(_) => Ok(()),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{knob}: {e}");
            let text = e.to_string();
            assert!(text.contains(knob) || text.contains("high-water"), "{knob}: the error names it: {text}");
            Err(e.kind())
        }
    }
}

type Knob = Box<dyn Fn(EfunguzBuilder) -> EfunguzBuilder>;

const DURATIONS: [Duration; 7] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_millis(i32::MAX as u64),
    Duration::from_millis(i32::MAX as u64 + 1),
    Duration::from_secs(u64::MAX),
    Duration::MAX,
    Duration::from_millis(6_553_501),
];

#[test]
fn duration_knobs_at_their_extremes() {
    let k = keys();
    let max_ms = Duration::from_millis(i32::MAX as u64);
    for d in DURATIONS {
        let fits = d <= max_ms;
        let cases: [(&str, Knob, bool); 6] = [
            ("reconnect_interval", Box::new(move |b| b.reconnect_interval(d, Duration::ZERO)), fits),
            ("reconnect_interval_max", Box::new(move |b| b.reconnect_interval(Duration::ZERO, d)), fits),
            (
                "heartbeat_interval",
                Box::new(move |b| b.heartbeat(d, Duration::from_secs(1), Duration::from_secs(1))),
                fits,
            ),
            (
                "heartbeat_timeout",
                Box::new(move |b| b.heartbeat(Duration::from_secs(1), d, Duration::from_secs(1))),
                fits,
            ),
            (
                "heartbeat_ttl",
                Box::new(move |b| b.heartbeat(Duration::from_secs(1), Duration::from_secs(1), d)),
                d <= Duration::from_millis(6_553_500),
            ),
            ("handshake_interval", Box::new(move |b| b.handshake_interval(d)), fits),
        ];
        for (knob, set, ok) in cases {
            let got = outcome(set(builder(&k)), knob);
            assert_eq!(got.is_ok(), ok, "{knob} = {d:?}: {got:?}");
        }
    }
}

#[test]
fn integer_knobs_at_their_extremes() {
    let k = keys();
    for n in [i32::MIN, -1, 0, 1, 16, 257, i32::MAX] {
        assert_eq!(outcome(builder(&k).io_threads(n), "io_threads").is_ok(), (1..=256).contains(&n), "io_threads {n}");
        assert_eq!(outcome(builder(&k).max_sockets(n), "max_sockets").is_ok(), n >= 16, "max_sockets {n}");
        assert_eq!(outcome(builder(&k).send_hwm(n), "send_hwm").is_ok(), n >= 0, "send_hwm {n}");
        assert_eq!(outcome(builder(&k).recv_hwm(n), "recv_hwm").is_ok(), n >= 0, "recv_hwm {n}");
    }
    for n in [i64::MIN, -2, -1, 0, 1, i64::MAX] {
        let got = outcome(builder(&k).max_message_size(n), "max_message_size");
        assert_eq!(got.is_ok(), n >= -1, "max_message_size {n}");
    }
    for n in [0, 1, usize::MAX] {
        assert_eq!(outcome(builder(&k).drain_budget(n), "drain_budget").is_ok(), n >= 1, "drain_budget {n}");
    }
    let mut o = Options::default();
    o.io_threads = 0;
    assert!(outcome(builder(&k).options(o), "io_threads").is_err());
}

/// Aborts the test binary if `wait` never returns, so the test stays bounded.
fn watchdog(limit: Duration) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("wait did not return within {limit:?}");
            std::process::exit(1);
        }
    });
    tx
}

#[test]
fn wait_takes_any_timeout_and_extreme_knobs_still_deliver() {
    let k = keys();
    let mut ef = builder(&k)
        .drain_budget(usize::MAX)
        .send_hwm(i32::MAX)
        .recv_hwm(i32::MAX)
        .max_message_size(i64::MAX)
        .max_sockets(i32::MAX)
        .build()
        .unwrap();
    assert_eq!(ef.wait(Some(Duration::ZERO)).unwrap(), 0);
    let port = ef.port();
    let public = k.public.clone();
    ef.add_ehypha_direct(&public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    // Kept as the latest etale: the ehypha gets it as soon as its subscription lands.
    ef.emit_etale("t", &[b"x".as_slice()]).unwrap();
    let done = watchdog(T);
    for timeout in [Duration::MAX, Duration::from_secs(u64::MAX)] {
        assert_eq!(ef.wait(Some(timeout)).unwrap(), 1, "{timeout:?}");
        ef.emit_etale("t", &[b"y".as_slice()]).unwrap();
    }
    done.send(()).unwrap();
    assert_eq!(&ef.get_ehypha(&public).unwrap().get_etale("t").unwrap().parts()[0][..], b"y");
}

#[test]
fn titles_longer_than_the_limit_are_refused_everywhere() {
    let k = keys();
    let mut ef = efunguz(&k);
    let port = ef.port();
    let longest = "t".repeat(MAX_TITLE_LEN);
    let one_more = "t".repeat(MAX_TITLE_LEN + 1);
    let huge = "t".repeat(300_000);
    // Multibyte characters count in bytes.
    let wide = "é".repeat(MAX_TITLE_LEN / 2 + 1);
    let e = ef.add_ehypha_direct(&k.public, "127.0.0.1", port).unwrap();
    e.add_etale(&longest).unwrap();
    for bad in [&one_more, &huge, &wide] {
        let err = e.add_etale(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTitle);
        let text = err.to_string();
        assert!(text.contains(&format!("at most {MAX_TITLE_LEN} bytes")), "{text}");
        assert!(text.len() < 300, "the message does not repeat the title whole: {} bytes", text.len());
        assert!(format!("{err:?}").len() < 300, "nor does Debug");
    }
    ef.emit_etale(&longest, &[b"ok".as_slice()]).unwrap();
    ef.emit_etale_at(&longest, &[b"ok".as_slice()], i64::MIN).unwrap();
    for bad in [&one_more, &huge, &wide] {
        assert_eq!(ef.emit_etale(bad, &[b"".as_slice()]).unwrap_err().kind(), ErrorKind::InvalidTitle);
        assert_eq!(ef.emit_etale_at(bad, &[b"".as_slice()], i64::MAX).unwrap_err().kind(), ErrorKind::InvalidTitle);
    }
    assert!(ef.get_ehypha(&k.public).unwrap().get_etale(&huge).is_err());
    // Dropping with the longest titles subscribed and kept must not crash libzmq.
    drop(ef);
}
