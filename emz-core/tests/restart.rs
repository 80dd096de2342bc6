//! A publisher that goes away and comes back on the same key and port: data resumes.
mod common;
use common::*;
use emyzelium::{Efunguz, ErrorKind};
use std::time::Duration;

fn start(k: &Keys, port: u16) -> Efunguz {
    // The old listener may linger a moment after drop.
    let mut last = None;
    for _ in 0..200 {
        match builder(k).port(port).build() {
            Ok(ef) => return ef,
            Err(e) if e.kind() == ErrorKind::AddressInUse => last = Some(e),
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("port {port} never freed: {last:?}");
}

#[test]
fn publisher_restart_resumes_data() {
    let (ka, kb) = (keys(), keys());
    let mut a = builder(&ka).build().unwrap();
    let port = a.port();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", port).unwrap().add_etale("t").unwrap();
    let get = |b: &Efunguz| b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap().t_out();
    assert!(until(T, || {
        a.emit_etale_at("t", &[b"before".as_slice()], 1).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        get(&b) == 1
    }));
    drop(a);
    for _ in 0..50 {
        b.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut a = start(&ka, port);
    assert!(until(T, || {
        a.emit_etale_at("t", &[b"after".as_slice()], 2).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        get(&b) == 2
    }));
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("t").unwrap();
    assert_eq!(&e.parts()[0][..], b"after");
}
