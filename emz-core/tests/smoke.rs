use emyzelium::*;
use std::time::Duration;
#[test]
fn smoke() {
    assert!(has_curve());
    let (pa, sa) = new_key_pair().unwrap();
    let (_pb, sb) = new_key_pair().unwrap();
    let mut a = Efunguz::builder(&sa).bind_host("127.0.0.1").any_port().build().unwrap();
    let mut b = Efunguz::builder(&sb).any_port().build().unwrap();
    b.add_ehypha_direct(&pa, "127.0.0.1", a.port()).unwrap().add_etale("zone").unwrap();
    let t0 = std::time::Instant::now();
    loop {
        a.emit_etale("zone", &[b"hello".as_slice(), b"world"]).unwrap();
        a.update().unwrap();
        if b.wait(Some(Duration::from_millis(20))).unwrap() > 0 { break; }
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
    let e = b.get_ehypha(&pa).unwrap().get_etale("zone").unwrap();
    assert_eq!(e.parts().len(), 2);
    assert_eq!(&e.parts()[0][..], b"hello");
    println!("{:?} {:?} {:?}", e, a.counters(), t0.elapsed());
}
