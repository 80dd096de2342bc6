//! Superseding (`Options::supersede_after_ms`): an etale that waited that long in a queue
//! with a newer etale of its title behind it is dropped by the queue's reader, at the
//! publisher (its queue for one subscriber) and at the subscriber (an ehypha's receive
//! queue). A reader that keeps up loses nothing; one that stopped reading skips what
//! went stale.
mod common;
use common::raw_sub::RawSub;
use common::*;
use emyzelium::Efunguz;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TITLES: [&str; 4] = ["t0", "t1", "t2", "t3"];
/// The kernel buffers at both ends of P's connection to B, and the etale size.
const BUFFER: i32 = 64 << 10;
const ETALE: usize = 8 << 10;

/// What a stuck raw subscriber B read before P's current values, and P's superseded count,
/// with P superseding after `supersede_ms`.
fn stale_before_current(supersede_ms: i32) -> (u64, u64) {
    let kp = keys();
    let mut p = builder(&kp).publish_send_buffer(BUFFER).supersede_after_ms(supersede_ms).build().unwrap();
    let mut b = RawSub::with_rcvbuf(&kp.public, p.port(), 1, None, BUFFER, &TITLES);
    let mut seq = 0i64;
    assert!(until(T, || {
        for t in TITLES {
            seq += 1;
            p.emit_etale_at(t, &[b"warm".as_slice()], seq).unwrap();
        }
        p.update().unwrap();
        b.drain();
        b.seen.len() == TITLES.len()
    }));
    // B stops reading; P emits until every title stays pending for B through three rounds.
    let payload = vec![1u8; ETALE];
    let mut full_rounds = 0;
    let t0 = Instant::now();
    while full_rounds < 3 {
        assert!(t0.elapsed() < T, "B's queues never filled");
        for _ in 0..8 {
            for t in TITLES {
                seq += 1;
                p.emit_etale_at(t, &[&payload[..]], seq).unwrap();
            }
        }
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_millis(50) {
            p.update().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        full_rounds = if p.unsent_etales() == TITLES.len() { full_rounds + 1 } else { 0 };
    }
    let mut want = HashMap::new();
    for t in TITLES {
        seq += 1;
        p.emit_etale_at(t, &[&payload[..]], seq).unwrap();
        want.insert(t, seq);
    }
    let before = b.received;
    assert!(until(T, || {
        p.update().unwrap();
        b.drain();
        want.iter().all(|(t, v)| b.seen.get(*t) == Some(v))
    }));
    (b.received - before - TITLES.len() as u64, p.counters().superseded)
}

#[test]
fn a_resumed_subscriber_skips_what_went_stale_in_the_publishers_queue() {
    let (stale, superseded) = stale_before_current(50);
    let (stale_all, superseded_none) = stale_before_current(-1);
    eprintln!("stale etales read first: {stale} superseding ({superseded} superseded), {stale_all} not");
    // What no superseding at P can skip: both kernel buffers (Linux doubles them, 32
    // etales), the last etale of each title queued before P held the rest back (nothing
    // newer followed it into the queue), B's one-message queue, the etales in the two
    // I/O threads' batches. 46 to 50 here; the bound leaves room for a loaded machine.
    let kernel = (2 * 2 * BUFFER as usize) / ETALE;
    assert!(
        stale as usize <= 2 * kernel,
        "{stale} stale etales read first, more than twice the {kernel} the kernel holds"
    );
    assert!(superseded > 0);
    // Without it, P's queue for B (1 MiB, 128 etales) comes on top: 147 here.
    assert!(stale_all >= 2 * stale && stale_all as usize > 2 * kernel, "{stale_all} stale etales without superseding");
    assert_eq!(superseded_none, 0);
}

/// P emits `n` etales of one title at once while B does not update, waits `pause`, then
/// B updates: what it received and superseded.
fn burst_while_paused(b: &mut Efunguz, p: &mut Efunguz, seq: &mut i64, n: usize, pause: Duration) -> (u64, u64) {
    let key = p.public_key().to_string();
    let before = (b.get_ehypha(&key).unwrap().get_etale("s").unwrap().received(), b.stats().superseded);
    for _ in 0..n {
        *seq += 1;
        assert!(p.emit_etale_at("s", &[b"value".as_slice()], *seq).unwrap());
    }
    let t0 = Instant::now();
    while t0.elapsed() < pause {
        p.update().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(until(T, || {
        p.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(&key).unwrap().get_etale("s").unwrap().t_out() == *seq
    }));
    let after = (b.get_ehypha(&key).unwrap().get_etale("s").unwrap().received(), b.stats().superseded);
    (after.0 - before.0, after.1 - before.1)
}

#[test]
fn an_ehypha_drops_only_what_waited_supersede_after_ms_behind_a_newer_etale() {
    let (kp, kb) = (keys(), keys());
    // P never supersedes: everything reaches B's receive queue, which is the one tested.
    let mut p = builder(&kp).supersede_after_ms(-1).build().unwrap();
    let mut b = builder(&kb).supersede_after_ms(1000).build().unwrap();
    b.add_ehypha_direct(p.public_key(), "127.0.0.1", p.port()).unwrap().add_etale("s").unwrap();
    let mut seq = 0i64;
    assert!(until(T, || {
        seq += 1;
        p.emit_etale_at("s", &[b"warm".as_slice()], seq).unwrap();
        p.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(p.public_key()).unwrap().get_etale("s").unwrap().t_out() > 0
    }));
    let key = p.public_key().to_string();
    // Caught up: the warm-up etales in flight arrive, none superseded.
    let mut settled = 0;
    assert!(until(T, || {
        p.update().unwrap();
        b.update().unwrap();
        settled = if b.get_ehypha(&key).unwrap().get_etale("s").unwrap().t_out() == seq { settled + 1 } else { 0 };
        settled > 50
    }));

    // Shorter than the threshold: all 200 arrive.
    let (got, superseded) = burst_while_paused(&mut b, &mut p, &mut seq, 200, Duration::from_millis(200));
    assert_eq!((got, superseded), (200, 0), "a reader back within supersede_after_ms lost etales");
    // Longer: B reads the latest, and the older ones went unread.
    let (got, superseded) = burst_while_paused(&mut b, &mut p, &mut seq, 200, Duration::from_millis(1300));
    eprintln!("after 1.3 s: {got} read, {superseded} superseded");
    assert_eq!(got + superseded, 200, "etales were lost, not superseded");
    assert!(got <= 2, "{got} read: the older etales were not superseded");
    assert_eq!(b.get_ehypha(&key).unwrap().stats().superseded, b.stats().superseded);
    assert_eq!(p.counters().superseded, 0);
}

#[test]
fn superseding_is_per_title() {
    let (kp, kb) = (keys(), keys());
    let mut p = builder(&kp).supersede_after_ms(-1).build().unwrap();
    let mut b = builder(&kb).supersede_after_ms(0).build().unwrap();
    let e = b.add_ehypha_direct(p.public_key(), "127.0.0.1", p.port()).unwrap();
    e.add_etale("lone").unwrap();
    e.add_etale("s").unwrap();
    let key = p.public_key().to_string();
    assert!(until(T, || {
        p.emit_etale_at("lone", &[b"warm".as_slice()], 1).unwrap();
        p.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(&key).unwrap().get_etale("lone").unwrap().t_out() == 1
    }));
    // One etale of "lone" between many of "s": nothing newer of its title follows it.
    p.emit_etale_at("lone", &[b"kept".as_slice()], 2).unwrap();
    for i in 0..100 {
        p.emit_etale_at("s", &[b"value".as_slice()], 10 + i).unwrap();
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(200) {
        p.update().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(until(T, || {
        p.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(&key).unwrap().get_etale("s").unwrap().t_out() == 109
    }));
    let lone = b.get_ehypha(&key).unwrap().get_etale("lone").unwrap();
    assert_eq!((lone.t_out(), &lone.parts()[0][..]), (2, b"kept".as_slice()));
    assert!(b.stats().superseded > 0);
}
