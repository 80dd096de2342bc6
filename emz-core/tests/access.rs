//! Who may subscribe: the builder admits nobody unless told, removing keys never
//! widens access, and narrowing access cuts live sessions within one update.
mod common;
use common::*;
use emyzelium::{Efunguz, EfunguzBuilder, EhyphaState};
use std::time::{Duration, Instant};

/// A publisher `a` emitting a numbered etale "t" (its t_out is the number).
struct Bench {
    a: Efunguz,
    subs: Vec<(Efunguz, String)>,
    seq: i64,
}

impl Bench {
    fn new(a: Efunguz) -> Self {
        Bench { a, subs: Vec::new(), seq: 0 }
    }

    fn subscribe(&mut self, k: &Keys) {
        let mut b = efunguz(k);
        b.add_ehypha_direct(self.a.public_key(), "127.0.0.1", self.a.port()).unwrap().add_etale("t").unwrap();
        self.subs.push((b, self.a.public_key().to_string()));
    }

    fn step(&mut self) {
        self.seq += 1;
        self.a.emit_etale_at("t", &[b"x".as_slice()], self.seq).unwrap();
        self.a.update().unwrap();
        for (b, _) in &mut self.subs {
            b.update().unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    }

    /// The t_out of the last etale subscriber `i` received (0: none).
    fn last(&self, i: usize) -> i64 {
        let (b, from) = &self.subs[i];
        let e = b.get_ehypha(from).unwrap().get_etale("t").unwrap();
        if e.received() == 0 {
            0
        } else {
            e.t_out()
        }
    }

    fn run(&mut self, for_: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < for_ {
            self.step();
        }
    }

    fn until(&mut self, mut ok: impl FnMut(&Self) -> bool) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < T {
            self.step();
            if ok(self) {
                return true;
            }
        }
        false
    }
}

fn plain_builder(k: &Keys) -> EfunguzBuilder {
    Efunguz::builder(&k.secret).bind_host("127.0.0.1").any_port()
}

#[test]
fn builder_default_admits_nobody() {
    let (ka, kb) = (keys(), keys());
    let a = plain_builder(&ka).build().unwrap();
    assert!(!a.is_open());
    assert_eq!(a.whitelist().count(), 0);
    let mut w = Bench::new(a);
    w.subscribe(&kb);
    w.run(Duration::from_millis(1000));
    assert_eq!(w.last(0), 0, "the default builder let a subscriber in");
    assert!(w.a.in_attempted() >= 1);
    assert_eq!(w.a.in_permitted(), 0);
}

#[test]
fn builder_empty_whitelist_admits_nobody() {
    let (ka, kb) = (keys(), keys());
    let a = plain_builder(&ka).whitelist(Vec::<String>::new()).build().unwrap();
    assert!(!a.is_open());
    let mut w = Bench::new(a);
    w.subscribe(&kb);
    w.run(Duration::from_millis(1000));
    assert_eq!(w.last(0), 0, "an empty whitelist let a subscriber in");
    assert_eq!(w.subs[0].0.get_ehypha(&ka.public).unwrap().state(), EhyphaState::Rejected);
}

#[test]
fn builder_later_call_wins() {
    let (ka, kb) = (keys(), keys());
    let a = plain_builder(&ka).whitelist([&kb.public]).allow_everyone().build().unwrap();
    assert!(a.is_open());
    assert_eq!(a.whitelist().count(), 0);
    drop(a);
    let a = plain_builder(&ka).allow_everyone().whitelist([&kb.public]).build().unwrap();
    assert!(!a.is_open());
    assert_eq!(a.whitelist().collect::<Vec<_>>(), vec![kb.public.as_str()]);
}

#[test]
fn constructor_empty_list_is_everyone() {
    let (ka, kb) = (keys(), keys());
    let a = Efunguz::new(&ka.secret, Vec::<&str>::new(), closed_port(), "127.0.0.1", 9050).unwrap();
    assert!(a.is_open());
    let mut w = Bench::new(a);
    w.subscribe(&kb);
    assert!(w.until(|w| w.last(0) > 0), "the constructor's empty whitelist did not admit everyone");

    let (kc, kd) = (keys(), keys());
    let a = Efunguz::new(&kc.secret, [&kd.public], closed_port(), "127.0.0.1", 9050).unwrap();
    assert!(!a.is_open());
    assert_eq!(a.whitelist().count(), 1);
}

#[test]
fn allow_everyone_opens() {
    let (ka, kb) = (keys(), keys());
    let mut w = Bench::new(plain_builder(&ka).build().unwrap());
    w.subscribe(&kb);
    w.run(Duration::from_millis(500));
    assert_eq!(w.last(0), 0);
    w.a.allow_everyone();
    assert!(w.a.is_open());
    // The refused ehypha asks again after its reconnect-interval cap (200 ms here).
    assert!(w.until(|w| w.last(0) > 0), "allow_everyone did not let the subscriber in");
}

/// Deleting the last key cuts the session within one update and leaves nobody allowed:
/// neither the revoked key nor a stranger gets anything after it.
#[test]
fn last_key_deletion_leaves_nobody() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut w = Bench::new(plain_builder(&ka).whitelist([&kb.public]).build().unwrap());
    w.subscribe(&kb);
    w.subscribe(&kc);
    assert!(w.until(|w| w.last(0) > 0));
    w.a.del_whitelist_key(&kb.public).unwrap();
    assert!(!w.a.is_open());
    assert_eq!(w.a.whitelist().count(), 0);
    w.a.update().unwrap();
    let cut = w.seq;
    w.run(Duration::from_millis(1500));
    assert!(w.last(0) <= cut, "the revoked key got etale {} emitted after the cut at {cut}", w.last(0));
    assert_eq!(w.last(1), 0, "a stranger got in after the last key was deleted");
}

#[test]
fn clear_whitelist_leaves_nobody() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut w = Bench::new(plain_builder(&ka).whitelist([&kb.public, &kc.public]).build().unwrap());
    w.subscribe(&kb);
    w.subscribe(&kc);
    assert!(w.until(|w| w.last(0) > 0 && w.last(1) > 0));
    w.a.clear_whitelist();
    assert!(!w.a.is_open());
    w.a.update().unwrap();
    let cut = w.seq;
    w.run(Duration::from_millis(1500));
    assert!(w.last(0) <= cut && w.last(1) <= cut, "got {} and {} after the cut at {cut}", w.last(0), w.last(1));

    // Clearing an open efunguz closes it too.
    let kd = keys();
    let mut w = Bench::new(builder(&kd).build().unwrap());
    w.subscribe(&kb);
    assert!(w.until(|w| w.last(0) > 0));
    w.a.clear_whitelist();
    w.a.update().unwrap();
    let cut = w.seq;
    w.run(Duration::from_millis(1000));
    assert!(w.last(0) <= cut, "an open efunguz still sent after clear_whitelist");
}

/// Revoking one key cuts it within one update; the key still allowed reconnects by
/// itself and gets the current value at once (the latest-value welcome).
#[test]
fn revocation_cuts_within_one_update() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut w = Bench::new(plain_builder(&ka).whitelist([&kb.public, &kc.public]).build().unwrap());
    w.subscribe(&kb);
    w.subscribe(&kc);
    assert!(w.until(|w| w.last(0) > 0 && w.last(1) > 0));
    // No emit from here on until the allowed key is back: let the current etale reach
    // it first, so that a later delivery of the same etale can only be the welcome.
    let cut = w.seq;
    let rx = |w: &Bench| w.subs[0].0.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().received();
    assert!(until(T, || {
        w.a.update().unwrap();
        w.subs[0].0.update().unwrap();
        w.last(0) == cut
    }));
    let r0 = rx(&w);
    w.a.del_whitelist_key(&kc.public).unwrap();
    w.a.update().unwrap();
    let t0 = Instant::now();
    let mut back = None;
    while t0.elapsed() < T && back.is_none() {
        w.a.update().unwrap();
        for (b, _) in &mut w.subs {
            b.update().unwrap();
        }
        if rx(&w) > r0 {
            assert_eq!(w.last(0), cut);
            back = Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let back = back.expect("the allowed subscriber did not get the current value back");
    eprintln!("allowed subscriber got the current value back {back:?} after the cut");
    w.run(Duration::from_millis(500));
    assert!(w.last(0) > cut, "the allowed subscriber stopped receiving");
    assert!(w.last(1) <= cut, "the revoked key got etale {} emitted after the cut at {cut}", w.last(1));
}

/// An open efunguz that gets its first whitelist key narrows to it: others are cut.
#[test]
fn adding_a_key_to_an_open_efunguz_narrows() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut w = Bench::new(builder(&ka).build().unwrap());
    w.subscribe(&kb);
    w.subscribe(&kc);
    assert!(w.until(|w| w.last(0) > 0 && w.last(1) > 0));
    w.a.add_whitelist_key(&kb.public).unwrap();
    assert!(!w.a.is_open());
    w.a.update().unwrap();
    let cut = w.seq;
    assert!(w.until(|w| w.last(0) > cut), "the listed key did not come back");
    w.run(Duration::from_millis(500));
    assert!(w.last(1) <= cut, "an unlisted key kept receiving after narrowing");
}

/// Widening (adding a key to a whitelist) cuts nobody.
#[test]
fn widening_cuts_nobody() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut w = Bench::new(plain_builder(&ka).whitelist([&kb.public]).build().unwrap());
    w.subscribe(&kb);
    assert!(w.until(|w| w.last(0) > 0 && w.a.in_permitted() == 1));
    w.a.add_whitelist_key(&kc.public).unwrap();
    w.run(Duration::from_millis(500));
    assert_eq!(w.a.in_attempted(), 1, "widening reconnected the subscriber: {:?}", w.a.counters());
}

/// Reading a whitelist file into an open efunguz narrows it to the file's keys.
#[test]
fn reading_a_whitelist_file_narrows_an_open_efunguz() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut w = Bench::new(builder(&ka).build().unwrap());
    w.subscribe(&kb);
    w.subscribe(&kc);
    assert!(w.until(|w| w.last(0) > 0 && w.last(1) > 0));
    let f = std::env::temp_dir().join(format!("emz-access-{}.txt", std::process::id()));
    std::fs::write(&f, format!("{}\n", kb.public)).unwrap();
    assert_eq!(w.a.read_whitelist_file(&f).unwrap(), 1);
    std::fs::remove_file(&f).unwrap();
    assert!(!w.a.is_open());
    w.a.update().unwrap();
    let cut = w.seq;
    assert!(w.until(|w| w.last(0) > cut), "the listed key did not come back");
    w.run(Duration::from_millis(500));
    assert!(w.last(1) <= cut, "a key not in the file kept receiving");
}
