//! Etales travel between efungi over loopback with their parts and timestamps intact.
mod common;
use common::*;
use emyzelium::{now_us, Change, Efunguz};
use std::time::{Duration, Instant};

/// Publisher `a` emits `title` with `parts` (t_out fixed) until `b` has it.
fn deliver(a: &mut Efunguz, b: &mut Efunguz, a_key: &str, title: &str, parts: &[Vec<u8>], t_out: i64) {
    let ok = until(T, || {
        a.emit_etale_at(title, parts, t_out).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(a_key).unwrap().get_etale(title).unwrap().t_out() == t_out
    });
    assert!(ok, "etale {title:?} not delivered");
}

fn pair() -> (Keys, Efunguz, Keys, Efunguz) {
    let (ka, kb) = (keys(), keys());
    let a = efunguz(&ka);
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap();
    (ka, a, kb, b)
}

#[test]
fn parts_t_out_and_t_in_arrive_intact() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("zone").unwrap();
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("zone").unwrap();
    assert_eq!((e.t_out(), e.t_in(), e.parts().len(), e.received()), (-1, -1, 0, 0));

    let parts = vec![vec![1u8, 2, 3], vec![], vec![0u8; 1000], "ünïcode".as_bytes().to_vec()];
    let before = now_us();
    let t_out = before - 12_345;
    deliver(&mut a, &mut b, &ka.public, "zone", &parts, t_out);
    let after = now_us();
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("zone").unwrap();
    let got: Vec<Vec<u8>> = e.parts().iter().map(|p| p.to_vec()).collect();
    assert_eq!(got, parts);
    assert_eq!(e.t_out(), t_out);
    assert!(before <= e.t_in() && e.t_in() <= after, "t_in {} not in [{before}, {after}]", e.t_in());
    assert!(e.received() >= 1);
    assert_eq!(b.stats().malformed, 0);
}

#[test]
fn empty_title_and_zero_parts() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("").unwrap();
    deliver(&mut a, &mut b, &ka.public, "", &[], 42);
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("").unwrap();
    assert!(e.parts().is_empty());
    assert_eq!(e.t_out(), 42);
}

#[test]
fn a_16_mib_part() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("big").unwrap();
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let parts = vec![big.clone(), b"tail".to_vec()];
    deliver(&mut a, &mut b, &ka.public, "big", &parts, 7);
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("big").unwrap();
    assert_eq!(e.parts().len(), 2);
    assert!(e.parts()[0][..] == big[..], "16 MiB part corrupted");
    assert_eq!(&e.parts()[1][..], b"tail");
}

#[test]
fn titles_match_exactly() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("zone").unwrap();
    // "zone2" and "zon" must never land in "zone", nor count as unknown titles:
    // the subscription "zone\0" filters them at the publisher.
    let ok = until(T, || {
        a.emit_etale("zone2", &[b"wrong2".as_slice()]).unwrap();
        a.emit_etale("zon", &[b"wrong".as_slice()]).unwrap();
        a.emit_etale("zone", &[b"right".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        b.get_ehypha(&ka.public).unwrap().get_etale("zone").unwrap().received() >= 20
    });
    assert!(ok);
    let eh = b.get_ehypha(&ka.public).unwrap();
    assert_eq!(&eh.get_etale("zone").unwrap().parts()[0][..], b"right");
    assert_eq!(eh.stats().unknown_title, 0);
    assert_eq!(eh.stats().received, eh.get_etale("zone").unwrap().received());
}

#[test]
fn pause_resume_delete() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("x").unwrap();
    deliver(&mut a, &mut b, &ka.public, "x", &[b"1".to_vec()], 1);

    b.get_ehypha_mut(&ka.public).unwrap().pause_etale("x").unwrap();
    assert!(b.get_ehypha(&ka.public).unwrap().get_etale("x").unwrap().is_paused());
    // While paused the data never changes, however much is emitted.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(500) {
        a.emit_etale_at("x", &[b"2".as_slice()], 2).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("x").unwrap();
    assert_eq!((e.t_out(), &e.parts()[0][..]), (1, &b"1"[..]));

    b.get_ehypha_mut(&ka.public).unwrap().resume_etale("x").unwrap();
    deliver(&mut a, &mut b, &ka.public, "x", &[b"3".to_vec()], 3);

    // all at once
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("y").unwrap();
    b.get_ehypha_mut(&ka.public).unwrap().pause_etales().unwrap();
    let eh = b.get_ehypha(&ka.public).unwrap();
    assert!(eh.etales().all(|e| e.is_paused()));
    b.get_ehypha_mut(&ka.public).unwrap().resume_etales().unwrap();
    assert!(b.get_ehypha(&ka.public).unwrap().etales().all(|e| !e.is_paused()));
    deliver(&mut a, &mut b, &ka.public, "y", &[b"4".to_vec()], 4);

    b.get_ehypha_mut(&ka.public).unwrap().del_etale("x").unwrap();
    assert!(b.get_ehypha(&ka.public).unwrap().get_etale("x").is_err());
    // A deleted etale takes nothing in; its title is no longer subscribed.
    until(Duration::from_millis(300), || {
        a.emit_etale("x", &[b"5".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        false
    });
    assert!(b.get_ehypha(&ka.public).unwrap().get_etale("x").is_err());

    b.del_ehypha(&ka.public).unwrap();
    assert!(b.get_ehypha(&ka.public).is_err());
    assert_eq!(b.ehyphae_count(), 0);
}

#[test]
fn update_reports_each_changed_etale_once() {
    let (ka, mut a, _kb, mut b) = pair();
    let eh = b.get_ehypha_mut(&ka.public).unwrap();
    eh.add_etale("p").unwrap();
    eh.add_etale("q").unwrap();
    eh.add_etale("quiet").unwrap();
    // Warm up until both flow.
    assert!(until(T, || {
        a.emit_etale("p", &[b"".as_slice()]).unwrap();
        a.emit_etale("q", &[b"".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        let eh = b.get_ehypha(&ka.public).unwrap();
        eh.get_etale("p").unwrap().received() > 0 && eh.get_etale("q").unwrap().received() > 0
    }));
    while b.wait(Some(Duration::from_millis(100))).unwrap() > 0 {}
    assert_eq!(b.update().unwrap(), 0);
    assert!(b.changes().is_empty());

    for i in 0..5u8 {
        a.emit_etale("p", &[[i].as_slice()]).unwrap();
    }
    a.emit_etale("q", &[b"q".as_slice()]).unwrap();
    let mut seen: Vec<Change> = Vec::new();
    assert!(until(T, || {
        b.update().unwrap();
        seen.extend(b.changes().iter().cloned());
        let eh = b.get_ehypha(&ka.public).unwrap();
        eh.get_etale("p").unwrap().parts()[0][..] == [4] && &eh.get_etale("q").unwrap().parts()[0][..] == b"q"
    }));
    let mut titles: Vec<&str> = seen.iter().map(|c| &*c.title).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles, ["p", "q"]);
    assert!(seen.iter().all(|c| *c.public_key == ka.public));
    // once per update: the last update that saw anything lists no duplicates
    let n = b.changes().len();
    let mut uniq = b.changes().to_vec();
    uniq.dedup();
    assert_eq!(uniq.len(), n);
}

#[test]
fn wait_times_out_and_wakes_on_data() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("w").unwrap();
    let t0 = Instant::now();
    assert_eq!(b.wait(Some(Duration::from_millis(150))).unwrap(), 0);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(150), "returned early after {waited:?}");

    // A thread-free wake-up: the publisher emits before we block; wait returns with it.
    let got = until(T, || {
        a.emit_etale("w", &[b"hi".as_slice()]).unwrap();
        a.update().unwrap();
        b.wait(Some(Duration::from_millis(50))).unwrap() > 0
    });
    assert!(got);
    assert_eq!(b.changes().len(), 1);
    assert_eq!(&*b.changes()[0].title, "w");
}

#[test]
fn three_efungi_all_to_all() {
    let ks: Vec<Keys> = (0..3).map(|_| keys()).collect();
    let mut efs: Vec<Efunguz> = ks.iter().map(efunguz).collect();
    let ports: Vec<u16> = efs.iter().map(|e| e.port()).collect();
    for (i, ef) in efs.iter_mut().enumerate() {
        for (j, k) in ks.iter().enumerate() {
            if i != j {
                ef.add_ehypha_direct(&k.public, "127.0.0.1", ports[j]).unwrap().add_etale("name").unwrap();
            }
        }
    }
    let ok = until(T, || {
        for (i, ef) in efs.iter_mut().enumerate() {
            ef.emit_etale("name", &[format!("ef{i}").as_bytes()]).unwrap();
            ef.update().unwrap();
        }
        efs.iter()
            .all(|ef| ef.in_permitted() >= 2 && ef.ehyphae().all(|eh| eh.get_etale("name").unwrap().received() > 0))
    });
    assert!(ok, "{:?}", efs.iter().map(|e| (e.counters(), e.stats())).collect::<Vec<_>>());
    for (i, ef) in efs.iter().enumerate() {
        for (j, k) in ks.iter().enumerate() {
            if i != j {
                let e = ef.get_ehypha(&k.public).unwrap().get_etale("name").unwrap();
                assert_eq!(&e.parts()[0][..], format!("ef{j}").as_bytes());
            }
        }
        assert!(ef.in_permitted() >= 2 && ef.in_absorbing() >= 2, "{:?}", ef.counters());
    }
}

#[test]
fn a_long_idle_subscriber_still_gets_the_latest() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("slow").unwrap();
    deliver(&mut a, &mut b, &ka.public, "slow", &[b"0".to_vec()], 0);
    // b is not touched at all for a while; its socket's commands pile up meanwhile.
    for i in 1..=10i64 {
        a.emit_etale_at("slow", &[i.to_string().as_bytes()], i).unwrap();
        a.update().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(until(T, || {
        b.update().unwrap();
        b.get_ehypha(&ka.public).unwrap().get_etale("slow").unwrap().t_out() == 10
    }));
    let e = b.get_ehypha(&ka.public).unwrap().get_etale("slow").unwrap();
    assert_eq!(&e.parts()[0][..], b"10");
}

#[test]
fn a_cloned_part_outlives_newer_data() {
    let (ka, mut a, _kb, mut b) = pair();
    b.get_ehypha_mut(&ka.public).unwrap().add_etale("c").unwrap();
    let big = vec![7u8; 100_000];
    deliver(&mut a, &mut b, &ka.public, "c", &[big.clone(), b"small".to_vec()], 1);
    let kept: Vec<emyzelium::Part> = b.get_ehypha(&ka.public).unwrap().get_etale("c").unwrap().parts().to_vec();
    deliver(&mut a, &mut b, &ka.public, "c", &[b"new".to_vec()], 2);
    assert_eq!(&kept[0][..], &big[..]);
    assert_eq!(&kept[1][..], b"small");
    assert_eq!(&b.get_ehypha(&ka.public).unwrap().get_etale("c").unwrap().parts()[0][..], b"new");
}

#[test]
fn ipv6_loopback() {
    let (ka, kb) = (keys(), keys());
    let mut a = Efunguz::builder(&ka.secret).allow_everyone().bind_host("::1").any_port().ipv6(true).build().unwrap();
    let mut b = builder(&kb).ipv6(true).build().unwrap();
    b.add_ehypha_direct(&ka.public, "[::1]", a.port()).unwrap().add_etale("v6").unwrap();
    assert_eq!(b.get_ehypha(&ka.public).unwrap().address().to_string(), format!("[::1]:{}", a.port()));
    deliver(&mut a, &mut b, &ka.public, "v6", &[b"six".to_vec()], 6);
}
