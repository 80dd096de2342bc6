//! The latest value of a title: a late joiner gets it at once, alone; the last etale of
//! a burst always arrives even when intermediate ones overflow a queue.
mod common;
use common::*;
use emyzelium::Efunguz;
use std::time::{Duration, Instant};

fn etale_t_out(ef: &Efunguz, key: &str, title: &str) -> i64 {
    ef.get_ehypha(key).unwrap().get_etale(title).unwrap().t_out()
}

#[test]
fn a_late_joiner_gets_the_current_value_without_a_new_emit() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("state").unwrap();
    // b is connected and has the value.
    assert!(until(T, || {
        a.emit_etale_at("state", &[b"v1".as_slice()], 1).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        etale_t_out(&b, &ka.public, "state") == 1
    }));
    while b.wait(Some(Duration::from_millis(100))).unwrap() > 0 {}
    let b_before = b.get_ehypha(&ka.public).unwrap().get_etale("state").unwrap().received();

    // c joins later; nobody emits again.
    let mut c = efunguz(&kc);
    c.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("state").unwrap();
    c.get_ehypha_mut(&ka.public).unwrap().add_etale("never").unwrap();
    let t0 = Instant::now();
    assert!(until(T, || {
        a.update().unwrap();
        c.update().unwrap();
        etale_t_out(&c, &ka.public, "state") == 1
    }));
    eprintln!("late joiner got the current value {:?} after joining", t0.elapsed());
    let e = c.get_ehypha(&ka.public).unwrap().get_etale("state").unwrap();
    assert_eq!(&e.parts()[0][..], b"v1");
    assert_eq!(e.received(), 1);
    assert_eq!(etale_t_out(&c, &ka.public, "never"), -1);

    // The welcome went to c alone: b got no duplicate.
    for _ in 0..100 {
        a.update().unwrap();
        b.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(b.get_ehypha(&ka.public).unwrap().get_etale("state").unwrap().received(), b_before);

    // And ordinary emits still reach both.
    assert!(until(T, || {
        a.emit_etale_at("state", &[b"v2".as_slice()], 2).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        c.update().unwrap();
        etale_t_out(&b, &ka.public, "state") == 2 && etale_t_out(&c, &ka.public, "state") == 2
    }));
}

#[test]
fn resubscribing_after_pause_gets_the_current_value() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("s").unwrap();
    assert!(until(T, || {
        a.emit_etale_at("s", &[b"1".as_slice()], 1).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        etale_t_out(&b, &ka.public, "s") == 1
    }));
    b.get_ehypha_mut(&ka.public).unwrap().pause_etale("s").unwrap();
    // Let the unsubscription reach a, then emit while paused.
    for _ in 0..50 {
        a.update().unwrap();
        b.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    a.emit_etale_at("s", &[b"2".as_slice()], 2).unwrap();
    b.get_ehypha_mut(&ka.public).unwrap().resume_etale("s").unwrap();
    assert!(until(T, || {
        a.update().unwrap();
        b.update().unwrap();
        etale_t_out(&b, &ka.public, "s") == 2
    }));
}

#[test]
fn the_last_etale_of_a_burst_always_arrives() {
    let (ka, kb) = (keys(), keys());
    // Tiny queues so the burst overflows them.
    let mut a = builder(&ka).send_hwm(4).build().unwrap();
    let mut b = builder(&kb).recv_hwm(4).build().unwrap();
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("burst").unwrap();
    assert!(until(T, || {
        a.emit_etale_at("burst", &[b"warm".as_slice()], 0).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        etale_t_out(&b, &ka.public, "burst") == 0
    }));
    const N: i64 = 20_000;
    let payload = vec![0u8; 4096];
    let mut held_back = 0;
    for i in 1..=N {
        if !a.emit_etale_at("burst", &[&payload[..]], i).unwrap() {
            held_back += 1;
        }
    }
    assert!(held_back > 0, "the burst never filled a queue: test proves nothing");
    assert!(until(T, || {
        a.update().unwrap();
        b.update().unwrap();
        etale_t_out(&b, &ka.public, "burst") == N
    }));
    assert_eq!(a.unsent_etales(), 0);
    let got = b.get_ehypha(&ka.public).unwrap().get_etale("burst").unwrap().received();
    eprintln!("burst of {N}: {held_back} held back at the publisher, {got} arrived, the last one included");
}

#[test]
fn without_keep_latest_a_late_joiner_waits_for_the_next_emit() {
    let (ka, kc) = (keys(), keys());
    let mut a = builder(&ka).keep_latest(false).build().unwrap();
    a.emit_etale_at("s", &[b"old".as_slice()], 1).unwrap();
    let mut c = efunguz(&kc);
    c.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("s").unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(500) {
        a.update().unwrap();
        c.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(etale_t_out(&c, &ka.public, "s"), -1);
    assert!(until(T, || {
        a.emit_etale_at("s", &[b"new".as_slice()], 2).unwrap();
        a.update().unwrap();
        c.update().unwrap();
        etale_t_out(&c, &ka.public, "s") == 2
    }));
}
