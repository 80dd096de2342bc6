//! A program that only emits, never calling update() or wait(), is reachable: its
//! handshakes and subscriptions are served from emit_etale.
mod common;
use common::*;

#[test]
fn a_publisher_that_only_emits_is_received() {
    let (ka, kb) = (keys(), keys());
    // A whitelist, so that every handshake needs an answer from the ZAP handler.
    let mut a = builder(&ka).whitelist([&kb.public]).build().unwrap();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let mut n = 0i64;
    assert!(until(T, || {
        n += 1;
        a.emit_etale_at("t", &[b"only".as_slice()], n).unwrap();
        b.update().unwrap();
        b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().received() > 0
    }));
    // The stream goes on, still without a.update().
    let got = b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().t_out();
    assert!(until(T, || {
        n += 1;
        a.emit_etale_at("t", &[b"only".as_slice()], n).unwrap();
        b.update().unwrap();
        b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().t_out() > got
    }));
    assert_eq!(&b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().parts()[0][..], b"only");
}
