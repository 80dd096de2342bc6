//! A raw CURVE publisher (not an efunguz) injects malformed messages: each is dropped
//! and counted, nothing panics, good etales around them still arrive.
mod common;
use common::raw_peer::{raw_publisher, send};
use common::*;

#[test]
fn malformed_messages_are_dropped_and_counted() {
    let (kp, kb) = (keys(), keys());
    let (_ctx, publ, port) = raw_publisher(&kp.secret);
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&kp.public, "127.0.0.1", port).unwrap().add_etale("zone").unwrap();
    let t = 5i64.to_le_bytes();
    // Wait for the subscription to reach the raw publisher.
    assert!(until(T, || {
        send(&publ, &[b"zone\0", &t, b"warm"]);
        b.update().unwrap();
        b.get_ehypha(&kp.public).unwrap().get_etale("zone").unwrap().received() > 0
    }));
    // Everything sent before this marker is taken in once the marker is.
    send(&publ, &[b"zone\0", &6i64.to_le_bytes(), b"sync"]);
    assert!(until(T, || {
        b.update().unwrap();
        b.get_ehypha(&kp.public).unwrap().get_etale("zone").unwrap().t_out() == 6
    }));
    let base = b.stats();

    // All of these pass the "zone\0" subscription filter.
    send(&publ, &[b"zone\0"]); // no t_out
    send(&publ, &[b"zone\0", &[1, 2, 3], b"p"]); // t_out not 8 bytes
    send(&publ, &[b"zone\0", &[0u8; 9]]); // t_out not 8 bytes
    send(&publ, &[b"zone\0x", &t, b"p"]); // title frame without the final NUL
    send(&publ, &[b"zone\0\xff\0", &t]); // title not UTF-8
    send(&publ, &[b"zone\0other\0", &t, b"p"]); // well-formed, unknown title
    send(&publ, &[b"zone\0", &7i64.to_le_bytes(), b"marker"]);
    assert!(until(T, || {
        b.update().unwrap();
        b.get_ehypha(&kp.public).unwrap().get_etale("zone").unwrap().t_out() == 7
    }));
    let s = b.stats();
    assert_eq!(s.malformed - base.malformed, 5, "{s:?}");
    assert_eq!(s.unknown_title - base.unknown_title, 1, "{s:?}");
    assert_eq!(s.received - base.received, 1, "{s:?}");
    assert_eq!(b.get_ehypha(&kp.public).unwrap().stats(), s);
    let e = b.get_ehypha(&kp.public).unwrap().get_etale("zone").unwrap();
    assert_eq!(&e.parts()[0][..], b"marker", "a malformed message overwrote good data");
}
