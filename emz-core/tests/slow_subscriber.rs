//! A subscriber whose queue is full (it stopped reading) delays nobody: the others keep
//! their rate, and it gets the latest etale of each title it missed once it reads again.
mod common;
use common::raw_sub::RawSub;
use common::*;
use emyzelium::Efunguz;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TITLES: [&str; 4] = ["t0", "t1", "t2", "t3"];
/// Emits etales of `size` bytes of `titles` until `pending` titles stay pending through
/// three rounds of emits and pauses in which `others` keeps running: a subscriber that
/// does not read then has its queues (libzmq's and the kernel's) full.
fn fill(p: &mut Efunguz, titles: &[&str], seq: &mut i64, pending: usize, others: impl FnMut()) {
    fill_with(p, titles, 64 * 1024, seq, pending, others)
}

fn fill_with(p: &mut Efunguz, titles: &[&str], size: usize, seq: &mut i64, pending: usize, mut others: impl FnMut()) {
    let payload = vec![1u8; size];
    let t0 = Instant::now();
    let mut full_rounds = 0;
    loop {
        assert!(t0.elapsed() < T, "the stuck subscriber's queue never filled");
        for _ in 0..8 {
            for t in titles {
                *seq += 1;
                p.emit_etale_at(t, &[&payload[..]], *seq).unwrap();
            }
        }
        p.update().unwrap();
        others();
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_millis(50) {
            p.update().unwrap();
            others();
            std::thread::sleep(Duration::from_millis(1));
        }
        // Once is not enough on a loaded machine: a starved I/O thread (the subscriber's or
        // the publisher's) looks full for a pause, then takes in megabytes.
        full_rounds = if p.unsent_etales() == pending { full_rounds + 1 } else { 0 };
        if full_rounds == 3 {
            return;
        }
    }
}

fn t_out(ef: &Efunguz, key: &str, title: &str) -> i64 {
    ef.get_ehypha(key).unwrap().get_etale(title).unwrap().t_out()
}

fn received(ef: &Efunguz, key: &str) -> u64 {
    ef.get_ehypha(key).unwrap().etales().map(|e| e.received()).sum()
}

enum Stuck {
    /// Raw CURVE SUB, RCVHWM 1, never reads.
    RawTiny,
    /// Raw SUB that never reads but pings the publisher, whose heartbeat timeout is
    /// short: its io thread keeps the connection alive.
    RawHeartbeating,
    /// An efunguz that stops calling update().
    Efunguz,
}

enum B {
    Raw(RawSub),
    Ef(Box<Efunguz>),
}

impl B {
    /// Takes in what is there; true when it has `want` for every title.
    fn read(&mut self, kp: &str, want: &HashMap<&str, i64>) -> bool {
        match self {
            B::Raw(r) => {
                r.drain();
                want.iter().all(|(t, v)| r.seen.get(*t) == Some(v))
            }
            B::Ef(e) => {
                e.update().unwrap();
                want.iter().all(|(t, v)| t_out(e, kp, t) == *v)
            }
        }
    }
}

fn stuck_subscriber_delays_nobody(kind: Stuck) {
    let (kp, ka, kb) = (keys(), keys(), keys());
    let mut p = builder(&kp).send_hwm(50);
    if let Stuck::RawHeartbeating = kind {
        let ms = Duration::from_millis;
        p = p.heartbeat(ms(100), ms(500), ms(500));
    }
    let mut p = p.build().unwrap();
    let mut a = efunguz(&ka);
    let e = a.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap();
    for t in TITLES {
        e.add_etale(t).unwrap();
    }
    e.add_etale("rt").unwrap();
    let mut b = match kind {
        Stuck::RawTiny => B::Raw(RawSub::new(&kp.public, p.port(), 1, None, &TITLES)),
        Stuck::RawHeartbeating => B::Raw(RawSub::new(&kp.public, p.port(), 100, Some(100), &TITLES)),
        Stuck::Efunguz => {
            let mut b = builder(&kb).recv_hwm(16).build().unwrap();
            let e = b.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap();
            for t in TITLES {
                e.add_etale(t).unwrap();
            }
            B::Ef(Box::new(b))
        }
    };

    // Everyone subscribed and has a first value.
    let mut seq = 0i64;
    let mut want = HashMap::new();
    assert!(until(T, || {
        for t in TITLES {
            seq += 1;
            p.emit_etale_at(t, &[b"warm".as_slice()], seq).unwrap();
            want.insert(t, seq);
        }
        p.update().unwrap();
        a.update().unwrap();
        b.read(&kp.public, &HashMap::new());
        let b_has = match &b {
            B::Raw(r) => r.seen.len() == TITLES.len(),
            B::Ef(e) => TITLES.iter().all(|t| t_out(e, &kp.public, t) > 0),
        };
        b_has && TITLES.iter().all(|t| t_out(&a, &kp.public, t) > 0)
    }));
    // B stops reading until its queues are full.
    fill(&mut p, &TITLES, &mut seq, TITLES.len(), || {
        a.update().unwrap();
    });
    for t in TITLES {
        want.insert(t, seq - (TITLES.len() - 1 - TITLES.iter().position(|x| *x == t).unwrap()) as i64);
    }
    let a_before = received(&a, &kp.public);
    let connections = p.counters().in_permitted;

    // Now P emits 200 etales/s of 8 KiB, round-robin over the titles, for 2 s.
    let payload = vec![7u8; 8 * 1024];
    let (mut emitted, mut deferred) = (0u64, 0u64);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(2000) {
        let due = (t0.elapsed().as_millis() as u64 * 200) / 1000;
        while emitted < due {
            seq += 1;
            let t = TITLES[emitted as usize % TITLES.len()];
            if !p.emit_etale_at(t, &[&payload[..]], seq).unwrap() {
                deferred += 1;
            }
            want.insert(t, seq);
            emitted += 1;
        }
        p.update().unwrap();
        a.update().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_millis(300) {
        p.update().unwrap();
        a.update().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let a_got = received(&a, &kp.public) - a_before;
    let pending = p.unsent_etales();
    eprintln!("{emitted} emitted, {deferred} could not be queued for B, A received {a_got}, {pending} titles pending");
    // B's queues may still take a few; most etales are deferred for it.
    assert!(deferred * 2 > emitted, "B has room: the test proves nothing");
    // A paused efunguz's I/O thread still moves etales into its receive queue, so on a
    // loaded machine one title may have gone out just before the end: at least one waits.
    assert!((1..=TITLES.len()).contains(&pending), "{pending} titles pending for B");
    assert!(a_got * 100 >= emitted * 95, "A received {a_got} of {emitted}");
    assert!(TITLES.iter().all(|t| t_out(&a, &kp.public, t) == want[t]), "A misses the last etale of a title");

    // B reads again: it gets the latest etale of every title.
    let t1 = Instant::now();
    assert!(until(T, || {
        p.update().unwrap();
        b.read(&kp.public, &want)
    }));
    let resume = t1.elapsed();
    assert_eq!(p.counters().in_permitted, connections, "B was disconnected and came back");
    assert!(until(T, || {
        p.update().unwrap();
        b.read(&kp.public, &want);
        p.unsent_etales() == 0
    }));

    // For scale: one subscription round trip (A subscribes, P answers with the value).
    p.emit_etale_at("rt", &[b"x".as_slice()], 1).unwrap();
    a.get_ehypha_mut(&kp.public).unwrap().pause_etale("rt").unwrap();
    for _ in 0..20 {
        p.update().unwrap();
        a.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    a.get_ehypha_mut(&kp.public).unwrap().resume_etale("rt").unwrap();
    let t2 = Instant::now();
    assert!(until(T, || {
        p.update().unwrap();
        a.update().unwrap();
        t_out(&a, &kp.public, "rt") == 1
    }));
    let round_trip = t2.elapsed();
    let b_got = match &b {
        B::Raw(r) => r.received,
        B::Ef(e) => received(e, &kp.public),
    };
    eprintln!("B resumed: latest of every title after {resume:?} ({b_got} etales read in all); subscription round trip {round_trip:?}");
}

#[test]
fn a_raw_sub_with_rcvhwm_1_that_never_reads_delays_nobody() {
    stuck_subscriber_delays_nobody(Stuck::RawTiny);
}

#[test]
fn a_raw_sub_that_never_reads_but_heartbeats_delays_nobody() {
    stuck_subscriber_delays_nobody(Stuck::RawHeartbeating);
}

#[test]
fn an_efunguz_that_stops_updating_delays_nobody() {
    stuck_subscriber_delays_nobody(Stuck::Efunguz);
}

/// P with a subscriber B that is stuck with titles pending, and an efunguz A reading.
fn with_a_stuck_subscriber() -> (Keys, Efunguz, RawSub, Keys, Efunguz) {
    let (kp, ka) = (keys(), keys());
    let mut p = builder(&kp).send_hwm(4).build().unwrap();
    let mut b = RawSub::new(&kp.public, p.port(), 1, None, &["s"]);
    let mut a = efunguz(&ka);
    a.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap().add_etale("s").unwrap();
    assert!(until(T, || {
        p.emit_etale_at("s", &[b"warm".as_slice()], 0).unwrap();
        p.update().unwrap();
        a.update().unwrap();
        b.drain();
        t_out(&a, &kp.public, "s") == 0 && b.seen.contains_key("s")
    }));
    fill(&mut p, &["s"], &mut 0, 1, || {
        a.update().unwrap();
    });
    p.emit_etale_at("s", &[b"current".as_slice()], 1_000_000).unwrap();
    assert!(until(T, || {
        p.update().unwrap();
        a.update().unwrap();
        t_out(&a, &kp.public, "s") == 1_000_000
    }));
    (kp, p, b, ka, a)
}

/// The kernel buffers on both sides in the test below (P's is its default), and the size
/// of its etales.
const BUFFER: i32 = 64 << 10;
const ETALE: usize = 8 << 10;

/// B stops reading until every title is pending for it; P emits each title's current
/// value; B reads again. The stale etales B reads before it holds every current value
/// are what fits in the bounded queues between P and B (P's `publish_queue_bytes`, the
/// kernel buffers of both ends, B's own receive queue), counted in etales — not
/// `send_hwm` (1000) of them, as with queues bounded in messages only.
fn a_resumed_subscriber_reads_little_before_the_current_values(efunguz_b: bool) {
    let (kp, kb) = (keys(), keys());
    let mut p = builder(&kp).publish_send_buffer(BUFFER).build().unwrap();
    // The defaults: P's queue for B is full at 1000 etales (8 MiB) or 1 MiB.
    let queue_bytes = p.options().publish_queue_bytes as usize;
    assert_eq!((p.options().send_hwm, queue_bytes), (1000, 1 << 20));
    let b_recv_hwm = if efunguz_b { 16 } else { 1 };
    let mut b = if efunguz_b {
        let mut b = builder(&kb).recv_hwm(b_recv_hwm).recv_buffer(BUFFER).build().unwrap();
        let e = b.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap();
        for t in TITLES {
            e.add_etale(t).unwrap();
        }
        B::Ef(Box::new(b))
    } else {
        B::Raw(RawSub::with_rcvbuf(&kp.public, p.port(), b_recv_hwm, None, BUFFER, &TITLES))
    };
    let mut seq = 0i64;
    assert!(until(T, || {
        for t in TITLES {
            seq += 1;
            p.emit_etale_at(t, &[b"warm".as_slice()], seq).unwrap();
        }
        p.update().unwrap();
        b.read(&kp.public, &HashMap::new());
        match &b {
            B::Raw(r) => r.seen.len() == TITLES.len(),
            B::Ef(e) => TITLES.iter().all(|t| t_out(e, &kp.public, t) > 0),
        }
    }));
    let connections = p.counters().in_permitted;
    fill_with(&mut p, &TITLES, ETALE, &mut seq, TITLES.len(), || {});
    let mut want = HashMap::new();
    for t in TITLES {
        seq += 1;
        p.emit_etale_at(t, &[&vec![2u8; ETALE][..]], seq).unwrap();
        want.insert(t, seq);
    }
    let b_received = |b: &B| match b {
        B::Raw(r) => r.received,
        B::Ef(e) => received(e, &kp.public),
    };
    let before = b_received(&b);
    let t1 = Instant::now();
    assert!(until(T, || {
        p.update().unwrap();
        b.read(&kp.public, &want)
    }));
    let resume = t1.elapsed();
    let stale = b_received(&b) - before - TITLES.len() as u64;
    // Bytes that can sit between P and B: P's queue for B (one etale may start below the
    // bound and end above it), both kernel buffers (Linux doubles what is asked), B's
    // receive queue; a few more etales in flight in the two I/O threads' batches.
    let bound = (queue_bytes + 2 * 2 * BUFFER as usize) / ETALE + 1 + b_recv_hwm as usize + 4;
    eprintln!("B resumed: {stale} stale etales before the current values (bound {bound}), {resume:?}");
    assert!(stale as usize <= bound, "B read {stale} stale etales first, more than the {bound} the queues hold");
    assert_eq!(p.counters().in_permitted, connections, "B was disconnected and came back");
}

#[test]
fn a_resumed_raw_sub_reads_at_most_the_bounded_queues_before_the_current_values() {
    a_resumed_subscriber_reads_little_before_the_current_values(false);
}

#[test]
fn a_resumed_efunguz_reads_at_most_the_bounded_queues_before_the_current_values() {
    a_resumed_subscriber_reads_little_before_the_current_values(true);
}

#[test]
fn queue_and_buffer_options_are_checked() {
    let k = keys();
    for b in [builder(&k).publish_queue_bytes(-1), builder(&k).publish_send_buffer(-2), builder(&k).recv_buffer(-2)] {
        let Err(e) = b.build() else { panic!("a negative bound was accepted") };
        assert_eq!(e.kind(), emyzelium::ErrorKind::InvalidArgument, "{e}");
    }
    // -1: the kernel's buffers; 0: no byte bound.
    builder(&k).publish_queue_bytes(0).publish_send_buffer(-1).recv_buffer(-1).build().unwrap();
}

#[test]
fn a_late_joiner_gets_the_current_value_alone() {
    let (kp, mut p, _b, _ka, mut a) = with_a_stuck_subscriber();
    let a_before = received(&a, &kp.public);
    let kc = keys();
    let mut c = efunguz(&kc);
    c.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap().add_etale("s").unwrap();
    assert!(until(T, || {
        p.update().unwrap();
        a.update().unwrap();
        c.update().unwrap();
        t_out(&c, &kp.public, "s") == 1_000_000
    }));
    assert_eq!(&c.get_ehypha(&kp.public).unwrap().get_etale("s").unwrap().parts()[0][..], b"current");
    for _ in 0..100 {
        p.update().unwrap();
        a.update().unwrap();
        c.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(received(&a, &kp.public), a_before, "A got the welcome meant for C");
    assert_eq!(received(&c, &kp.public), 1);
}

#[test]
fn the_last_etale_of_a_burst_reaches_every_subscriber() {
    let (kp, ka, kc) = (keys(), keys(), keys());
    let mut p = builder(&kp).send_hwm(4).build().unwrap();
    let mut a = builder(&ka).recv_hwm(4).build().unwrap();
    let mut c = builder(&kc).recv_hwm(4).build().unwrap();
    for s in [&mut a, &mut c] {
        s.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap().add_etale("burst").unwrap();
    }
    assert!(until(T, || {
        p.emit_etale_at("burst", &[b"warm".as_slice()], 0).unwrap();
        p.update().unwrap();
        a.update().unwrap();
        c.update().unwrap();
        t_out(&a, &kp.public, "burst") == 0 && t_out(&c, &kp.public, "burst") == 0
    }));
    const N: i64 = 20_000;
    let payload = vec![0u8; 4096];
    let mut deferred = 0;
    for i in 1..=N {
        if !p.emit_etale_at("burst", &[&payload[..]], i).unwrap() {
            deferred += 1;
        }
    }
    assert!(deferred > 0, "the burst never filled a queue: the test proves nothing");
    assert!(until(T, || {
        p.update().unwrap();
        a.update().unwrap();
        c.update().unwrap();
        t_out(&a, &kp.public, "burst") == N && t_out(&c, &kp.public, "burst") == N
    }));
    assert!(until(T, || {
        p.update().unwrap();
        p.unsent_etales() == 0
    }));
}

#[test]
fn an_unsubscribed_pending_title_is_forgotten() {
    let (kp, kb) = (keys(), keys());
    let mut p = builder(&kp).send_hwm(4).build().unwrap();
    let mut b = builder(&kb).recv_hwm(4).build().unwrap();
    let e = b.add_ehypha_direct(&kp.public, "127.0.0.1", p.port()).unwrap();
    e.add_etale("x").unwrap();
    e.add_etale("y").unwrap();
    assert!(until(T, || {
        p.emit_etale_at("x", &[b"warm".as_slice()], 0).unwrap();
        p.emit_etale_at("y", &[b"warm".as_slice()], 0).unwrap();
        p.update().unwrap();
        b.update().unwrap();
        t_out(&b, &kp.public, "x") == 0 && t_out(&b, &kp.public, "y") == 0
    }));
    // B stops updating; both titles end up pending for it.
    let mut i = 0;
    fill(&mut p, &["x", "y"], &mut i, 2, || {});
    // B unsubscribes x without reading: P forgets x for it, although B has no room.
    b.get_ehypha_mut(&kp.public).unwrap().pause_etale("x").unwrap();
    assert!(until(T, || {
        p.update().unwrap();
        p.unsent_etales() == 1
    }));
    // Once B reads, it gets the latest y; P has nothing left for it.
    assert!(until(T, || {
        p.update().unwrap();
        b.update().unwrap();
        t_out(&b, &kp.public, "y") == i && p.unsent_etales() == 0
    }));
    // The latest x (i - 1) stayed unsent.
    assert!(t_out(&b, &kp.public, "x") < i - 1);
}

/// Etales larger than `publish_queue_bytes`, ending with a small part: each finds the
/// subscriber's queue "full" until its reader reports what it took, and that report must
/// count every part (a report counting only the last one never came, and the subscriber
/// got the first etale only).
#[test]
fn etales_beyond_the_queue_bound_keep_flowing() {
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).publish_queue_bytes(64 << 10).build().unwrap();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let big = vec![7u8; 100_000];
    for seq in 1..=10i64 {
        a.emit_etale_at("t", &[big.as_slice(), b"tail"], seq).unwrap();
        assert!(
            until(T, || {
                a.update().unwrap();
                b.update().unwrap();
                t_out(&b, &ka.public, "t") == seq
            }),
            "etale {seq} never arrived (last: {})",
            t_out(&b, &ka.public, "t")
        );
    }
}
