//! Bad input gets a typed error, never a panic, a pad or a truncation.
mod common;
use common::*;
use emyzelium::{onion_from_ed25519, Address, Efunguz, ErrorKind};
use std::time::Duration;

fn kind<T: std::fmt::Debug>(r: emyzelium::Result<T>) -> ErrorKind {
    r.expect_err("expected an error").kind()
}

#[test]
fn bad_keys() {
    for bad in ["", "short", &"0".repeat(39), &"0".repeat(41), &format!("{}\"", "0".repeat(39)), &"é".repeat(20)] {
        assert_eq!(kind(Efunguz::builder(bad).any_port().build()), ErrorKind::InvalidKey, "{bad:?}");
        assert_eq!(kind(emyzelium::public_key(bad)), ErrorKind::InvalidKey);
    }
    let k = keys();
    assert_eq!(kind(builder(&k).whitelist(["nope"]).build()), ErrorKind::InvalidKey);
    // The message never shows a whole secret key.
    let e = Efunguz::builder(&format!("{}~", &k.secret[..39])).build().unwrap_err();
    assert!(!e.to_string().contains(&k.secret[..39]), "{e}");
}

#[test]
fn bad_ports_and_hosts() {
    let k = keys();
    assert_eq!(kind(builder(&k).port(0).build()), ErrorKind::InvalidPort);
    assert_eq!(kind(builder(&k).tor_proxy("127.0.0.1", 0).build()), ErrorKind::InvalidPort);
    assert_eq!(kind(builder(&k).tor_proxy("", 9050).build()), ErrorKind::InvalidAddress);
    assert_eq!(kind(builder(&k).bind_host("").build()), ErrorKind::InvalidAddress);
    assert_eq!(kind(builder(&k).bind_host("no such if").build()), ErrorKind::InvalidAddress);
    assert_eq!(kind(builder(&k).bind_host("nosuchif0").build()), ErrorKind::InvalidAddress);
}

#[test]
fn port_in_use() {
    let (k1, k2) = (keys(), keys());
    let a = efunguz(&k1);
    let e = builder(&k2).port(a.port()).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddressInUse);
    assert!(e.to_string().contains(&a.port().to_string()));
    // A port taken by something that is not an efunguz, too.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    assert_eq!(kind(builder(&k2).port(p).build()), ErrorKind::AddressInUse);
}

#[test]
fn bad_options() {
    let k = keys();
    assert_eq!(kind(builder(&k).io_threads(0).build()), ErrorKind::InvalidArgument);
    assert_eq!(kind(builder(&k).send_hwm(-1).build()), ErrorKind::InvalidArgument);
    assert_eq!(kind(builder(&k).max_message_size(-2).build()), ErrorKind::InvalidArgument);
    assert_eq!(kind(builder(&k).drain_budget(0).build()), ErrorKind::InvalidArgument);
    let huge = Duration::from_secs(100 * 24 * 3600);
    assert_eq!(kind(builder(&k).reconnect_interval(huge, huge).build()), ErrorKind::InvalidArgument);
    assert_eq!(
        kind(builder(&k).heartbeat(Duration::from_secs(1), Duration::from_secs(1), huge).build()),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn bad_ehyphae() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let onion = onion_from_ed25519(&[9u8; 32]);
    assert_eq!(kind(a.add_ehypha("bad key", &onion, 1)), ErrorKind::InvalidKey);
    assert_eq!(kind(a.add_ehypha(&kb.public, "abcdefghijklmnop.onion", 1)), ErrorKind::InvalidAddress);
    assert_eq!(kind(a.add_ehypha(&kb.public, &onion[..55], 1)), ErrorKind::InvalidAddress);
    let mut typo = onion.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    assert_eq!(kind(a.add_ehypha(&kb.public, std::str::from_utf8(&typo).unwrap(), 1)), ErrorKind::InvalidAddress);
    assert_eq!(kind(a.add_ehypha(&kb.public, &onion, 0)), ErrorKind::InvalidPort);
    assert_eq!(kind(a.add_ehypha_direct(&kb.public, "bad host!", 1)), ErrorKind::InvalidAddress);
    assert_eq!(kind(a.add_ehypha_direct(&kb.public, &format!("{onion}.onion"), 1)), ErrorKind::InvalidAddress);
    assert_eq!(kind(a.add_ehypha_direct(&kb.public, "127.0.0.1", 0)), ErrorKind::InvalidPort);
    assert_eq!(a.ehyphae_count(), 0, "failed adds leave nothing behind");

    let eh = a.add_ehypha(&kb.public, &format!("{}.onion", onion.to_uppercase()), 60847).unwrap();
    assert_eq!(eh.address(), &Address::Onion { onion: onion.clone(), port: 60847 });
    assert_eq!(kind(a.add_ehypha_direct(&kb.public, "127.0.0.1", 5)), ErrorKind::AlreadyPresent);
    assert_eq!(kind(a.get_ehypha(&ka.public)), ErrorKind::Absent);
    assert_eq!(kind(a.get_ehypha_mut(&ka.public)), ErrorKind::Absent);
    assert_eq!(kind(a.del_ehypha(&ka.public)), ErrorKind::AlreadyAbsent);
    a.del_ehypha(&kb.public).unwrap();
    assert_eq!(kind(a.del_ehypha(&kb.public)), ErrorKind::AlreadyAbsent);
    a.update().unwrap();
}

#[test]
fn bad_etales() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let eh = a.add_ehypha_direct(&kb.public, "127.0.0.1", closed_port()).unwrap();
    assert_eq!(kind(eh.add_etale("a\0b")), ErrorKind::InvalidTitle);
    eh.add_etale("t").unwrap();
    assert_eq!(kind(eh.add_etale("t")), ErrorKind::AlreadyPresent);
    assert_eq!(kind(eh.get_etale("u")), ErrorKind::Absent);
    assert_eq!(kind(eh.resume_etale("t")), ErrorKind::AlreadyResumed);
    eh.pause_etale("t").unwrap();
    assert_eq!(kind(eh.pause_etale("t")), ErrorKind::AlreadyPaused);
    assert_eq!(kind(eh.pause_etale("u")), ErrorKind::Absent);
    assert_eq!(kind(eh.resume_etale("u")), ErrorKind::Absent);
    eh.del_etale("t").unwrap();
    assert_eq!(kind(eh.del_etale("t")), ErrorKind::AlreadyAbsent);
    assert_eq!(kind(a.emit_etale("x\0", &[b"".as_slice()])), ErrorKind::InvalidTitle);
    a.emit_etale("ok", &[] as &[&[u8]]).unwrap();
}

#[test]
fn errors_display_clearly() {
    let k = keys();
    let e = builder(&k).port(0).build().unwrap_err();
    assert_eq!(e.to_string(), "invalid port: publish port must be 1..=65535");
    let mut a = efunguz(&k);
    let e = a.get_ehypha(&k.public).unwrap_err();
    assert!(e.to_string().contains("is absent"), "{e}");
    let e = a.add_ehypha(&k.public, "x.onion", 1).unwrap_err();
    assert!(e.to_string().contains("v3 onion has 56 base32 characters"), "{e}");
}
