//! One update takes a bounded amount from each ehypha, whatever the peer sends, and an
//! ehypha holds only the latest etale (plus the one still arriving).
mod common;
use common::raw_peer::{raw_publisher, send};
use common::*;
use emyzelium::raw::{Context, Socket};
use emyzelium::Efunguz;
use std::time::{Duration, Instant};

fn t_out(b: &Efunguz, key: &str) -> i64 {
    b.get_ehypha(key).unwrap().get_etale("t").unwrap().t_out()
}

/// A raw publisher whose subscriber `b` already receives "t".
fn subscribed(b: &mut Efunguz, kp: &Keys) -> (Context, Socket) {
    let (ctx, publ, port) = raw_publisher(&kp.secret);
    b.add_ehypha_direct(&kp.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    assert!(until(T, || {
        send(&publ, &[b"t\0", &1i64.to_le_bytes(), b"warm"]);
        b.update().unwrap();
        t_out(b, &kp.public) == 1
    }));
    // Every warm-up sent before this marker is taken in once the marker is.
    send(&publ, &[b"t\0", &100i64.to_le_bytes(), b"sync"]);
    assert!(until(T, || {
        b.update().unwrap();
        t_out(b, &kp.public) == 100
    }));
    (ctx, publ)
}

#[test]
fn a_million_parts_are_dropped_over_many_short_updates() {
    let (kp, kb) = (keys(), keys());
    let mut b = efunguz(&kb);
    let (_ctx, publ) = subscribed(&mut b, &kp);
    let budget = b.options().drain_frame_budget;
    let base = b.stats();
    // One message of 1,000,000 frames: title, t_out and 999,998 empty parts.
    assert!(publ.send(b"t\0", true).unwrap());
    assert!(publ.send(&2i64.to_le_bytes(), true).unwrap());
    for _ in 0..999_997 {
        assert!(publ.send(b"", true).unwrap());
    }
    assert!(publ.send(b"", false).unwrap());
    send(&publ, &[b"t\0", &3i64.to_le_bytes(), b"after"]);
    // Let most of it reach the subscriber's queue first: the case where a message budget
    // alone let one update take it all.
    std::thread::sleep(Duration::from_secs(1));
    let (mut frames, mut updates, mut longest) = (0usize, 0usize, Duration::ZERO);
    assert!(until(Duration::from_secs(60), || {
        let t0 = Instant::now();
        b.update().unwrap();
        longest = longest.max(t0.elapsed());
        let d = b.get_ehypha(&kp.public).unwrap().last_drain();
        assert!(d.frames <= budget, "{} frames in one update, budget {budget}", d.frames);
        frames += d.frames;
        updates += usize::from(d.frames > 0);
        t_out(&b, &kp.public) == 3
    }));
    eprintln!("1,000,000 parts: {updates} updates, longest {longest:?}");
    assert!(frames >= 1_000_003, "{frames} frames");
    assert!(updates >= 1_000_000 / budget, "{updates} updates");
    let s = b.stats();
    assert_eq!(s.too_many_parts - base.too_many_parts, 1, "{s:?}");
    assert_eq!(s.received - base.received, 1, "{s:?}");
    let e = b.get_ehypha(&kp.public).unwrap().get_etale("t").unwrap();
    assert_eq!(&e.parts()[0][..], b"after");
}

#[test]
fn max_parts_drops_longer_etales_only() {
    let (kp, kb) = (keys(), keys());
    let mut b = builder(&kb).max_parts(3).build().unwrap();
    let (_ctx, publ) = subscribed(&mut b, &kp);
    let base = b.stats();
    let two = 2i64.to_le_bytes();
    send(&publ, &[b"t\0", &two, b"1", b"2", b"3"]);
    send(&publ, &[b"t\0", &3i64.to_le_bytes(), b"1", b"2", b"3", b"4"]);
    send(&publ, &[b"t\0", &4i64.to_le_bytes(), b"marker"]);
    let mut seen = Vec::new();
    assert!(until(T, || {
        b.update().unwrap();
        seen.push(t_out(&b, &kp.public));
        t_out(&b, &kp.public) == 4
    }));
    let s = b.stats();
    assert_eq!(s.too_many_parts - base.too_many_parts, 1, "{s:?}");
    assert_eq!(s.received - base.received, 2, "{s:?}");
    assert!(!seen.contains(&3), "the etale of 4 parts was taken: {seen:?}");
}

#[test]
fn a_message_cut_by_the_frame_budget_is_finished_in_the_next_update() {
    let (kp, kb) = (keys(), keys());
    let mut b = builder(&kb).drain_frame_budget(2).build().unwrap();
    let (_ctx, publ) = subscribed(&mut b, &kp);
    let chunk = vec![9u8; 1000];
    send(&publ, &[b"t\0", &2i64.to_le_bytes(), &chunk, &chunk, &chunk]);
    let mut partial = Vec::new();
    assert!(until(T, || {
        b.update().unwrap();
        let e = b.get_ehypha(&kp.public).unwrap();
        assert!(e.last_drain().frames <= 2);
        partial.push(e.partial_bytes());
        t_out(&b, &kp.public) == 2
    }));
    // Held while it arrives, released (into the etale) once whole.
    assert!(partial.iter().any(|&n| n > 0), "{partial:?}");
    let e = b.get_ehypha(&kp.public).unwrap();
    assert_eq!(e.partial_bytes(), 0);
    let parts = e.get_etale("t").unwrap().parts();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p[..] == chunk[..]));
}

#[test]
fn an_ehypha_holds_the_latest_etale_only() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let big = vec![1u8; 8 << 20];
    for (t, data) in [(1, big.as_slice()), (2, big.as_slice()), (3, b"x".as_slice())] {
        assert!(until(T, || {
            a.emit_etale_at("t", &[data], t).unwrap();
            a.update().unwrap();
            b.update().unwrap();
            t_out(&b, &ka.public) == t
        }));
        let e = b.get_ehypha(&ka.public).unwrap();
        // Between messages nothing but the etales' own parts is held.
        assert_eq!(e.partial_bytes(), 0, "after etale {t}");
        let held: usize = e.etales().flat_map(|e| e.parts()).map(|p| p.len()).sum();
        assert_eq!(held, data.len(), "after etale {t}");
    }
}
