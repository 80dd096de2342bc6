//! Only whitelisted keys may subscribe; the counters show who tried.
mod common;
use common::*;
use emyzelium::{Efunguz, EhyphaState, ErrorKind};
use std::time::{Duration, Instant};

fn run(a: &mut Efunguz, b: &mut Efunguz, for_: Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < for_ {
        a.emit_etale("t", &[b"data".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn received(b: &Efunguz, from: &str) -> u64 {
    b.get_ehypha(from).unwrap().get_etale("t").unwrap().received()
}

#[test]
fn whitelisted_subscriber_receives() {
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).whitelist([&kb.public]).build().unwrap();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    assert!(until(T, || {
        run(&mut a, &mut b, Duration::from_millis(5));
        received(&b, &ka.public) > 0 && a.in_permitted() == 1
    }));
    let c = a.counters();
    assert_eq!((c.in_attempted, c.in_permitted, c.in_absorbing), (1, 1, 1));
}

#[test]
fn other_keys_are_denied_and_counted() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut a = builder(&ka).whitelist([&kc.public]).build().unwrap();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    run(&mut a, &mut b, Duration::from_millis(1500));
    assert_eq!(received(&b, &ka.public), 0, "a non-whitelisted subscriber got data");
    let c = a.counters();
    assert!(c.in_attempted >= 1, "{c:?}");
    assert_eq!(c.in_permitted, 0, "{c:?}");

    // libzmq 4.3.5 never retries a connection its publisher denied; the ehypha does
    // (after the reconnect-interval cap), so allowing the key later lets it in.
    assert_eq!(b.get_ehypha(&ka.public).unwrap().state(), EhyphaState::Rejected);
    a.add_whitelist_key(&kb.public).unwrap();
    assert!(until(T, || {
        run(&mut a, &mut b, Duration::from_millis(5));
        received(&b, &ka.public) > 0
    }));
    // The handshake event reaches `a` through its monitor, maybe an update later.
    assert!(until(T, || {
        run(&mut a, &mut b, Duration::from_millis(5));
        a.in_permitted() >= 1
    }));
    assert_eq!(a.in_permitted(), 1);

    // Removing it cuts the live connection, and a restarted subscriber is denied.
    a.del_whitelist_key(&kb.public).unwrap();
    drop(b);
    let mut b2 = efunguz(&kb);
    b2.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    run(&mut a, &mut b2, Duration::from_millis(1000));
    assert_eq!(received(&b2, &ka.public), 0);
    assert_eq!(a.in_permitted(), 1);
    assert!(a.in_attempted() >= 3, "{:?}", a.counters());
}

#[test]
fn allowing_everyone_after_clearing_opens() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut a = builder(&ka).whitelist([&kc.public]).build().unwrap();
    a.clear_whitelist();
    assert_eq!(a.whitelist().count(), 0);
    assert!(!a.is_open(), "clearing the whitelist leaves nobody allowed");
    a.allow_everyone();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    assert!(until(T, || {
        run(&mut a, &mut b, Duration::from_millis(5));
        received(&b, &ka.public) > 0
    }));
}

#[test]
fn disconnects_lower_in_absorbing() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    assert!(until(T, || {
        run(&mut a, &mut b, Duration::from_millis(5));
        a.in_absorbing() == 1 && a.in_permitted() == 1
    }));
    b.del_ehypha(&ka.public).unwrap();
    assert!(until(T, || {
        a.update().unwrap();
        a.in_absorbing() == 0
    }));
    assert_eq!((a.in_attempted(), a.in_permitted()), (1, 1));
}

#[test]
fn whitelist_edits_and_file() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut a = efunguz(&ka);
    a.add_whitelist_key(&kb.public).unwrap();
    assert_eq!(a.add_whitelist_key(&kb.public).unwrap_err().kind(), ErrorKind::AlreadyPresent);
    assert_eq!(a.add_whitelist_key("not a key").unwrap_err().kind(), ErrorKind::InvalidKey);
    assert_eq!(a.del_whitelist_key(&kc.public).unwrap_err().kind(), ErrorKind::AlreadyAbsent);
    assert_eq!(a.add_whitelist_keys([&kc.public, "bad"]).unwrap_err().kind(), ErrorKind::InvalidKey);
    assert_eq!(a.whitelist().count(), 1, "a failed batch adds nothing");

    let dir = std::env::temp_dir().join(format!("emz-wl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.txt");
    std::fs::write(&good, format!("# peers\n  {}  \n\n\t{}\r\n", kc.public, ka.public)).unwrap();
    assert_eq!(a.read_whitelist_file(&good).unwrap(), 2);
    let mut wl: Vec<&str> = a.whitelist().collect();
    wl.sort();
    let mut want = vec![ka.public.as_str(), kb.public.as_str(), kc.public.as_str()];
    want.sort();
    assert_eq!(wl, want);

    let bad = dir.join("bad.txt");
    std::fs::write(&bad, format!("{}\n{}x\n", kc.public, kb.public)).unwrap();
    a.clear_whitelist();
    let e = a.read_whitelist_file(&bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().contains(":2:"), "{e}");
    assert_eq!(a.whitelist().count(), 0, "nothing added from a bad file");
    let e = a.read_whitelist_file(dir.join("missing.txt")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    std::fs::remove_dir_all(&dir).unwrap();
}
