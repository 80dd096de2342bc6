//! Each ehypha knows where its connection stands.
mod common;
use common::*;
use emyzelium::{now_us, Efunguz, EhyphaState};
use std::time::Duration;

fn state(ef: &Efunguz, key: &str) -> EhyphaState {
    ef.get_ehypha(key).unwrap().state()
}

#[test]
fn up_retrying_rejected_disconnected() {
    let (ka, kb, kc) = (keys(), keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = efunguz(&kb);
    let t0 = now_us();
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let nobody = keys().public;
    b.add_ehypha_direct(&nobody, "127.0.0.1", closed_port()).unwrap();
    assert!(matches!(state(&b, &ka.public), EhyphaState::Connecting | EhyphaState::Handshaking));
    assert!(
        until(T, || {
            a.update().unwrap();
            b.update().unwrap();
            state(&b, &ka.public) == EhyphaState::Up && state(&b, &nobody) == EhyphaState::Retrying
        }),
        "{} / {}",
        state(&b, &ka.public),
        state(&b, &nobody)
    );
    let since = b.get_ehypha(&ka.public).unwrap().state_since();
    assert!(since >= t0 && since <= now_us());

    // A publisher whose whitelist lacks us: rejected.
    let mut c = builder(&kc).whitelist([&ka.public]).build().unwrap();
    b.add_ehypha_direct(&kc.public, "127.0.0.1", c.port()).unwrap();
    assert!(until(T, || {
        c.update().unwrap();
        b.update().unwrap();
        state(&b, &kc.public) == EhyphaState::Rejected
    }));

    // The publisher goes away: disconnected (then retrying).
    drop(a);
    assert!(
        until(T, || {
            b.update().unwrap();
            matches!(state(&b, &ka.public), EhyphaState::Disconnected | EhyphaState::Retrying)
        }),
        "{}",
        state(&b, &ka.public)
    );
}

#[test]
fn a_wrong_server_key_is_a_failed_handshake() {
    let (ka, kb) = (keys(), keys());
    let mut a = efunguz(&ka);
    let mut b = efunguz(&kb);
    let impostor = keys().public;
    b.add_ehypha_direct(&impostor, "127.0.0.1", a.port()).unwrap().add_etale("t").unwrap();
    let mut seen = Vec::new();
    until(Duration::from_secs(2), || {
        a.emit_etale("t", &[b"x".as_slice()]).unwrap();
        a.update().unwrap();
        b.update().unwrap();
        let s = state(&b, &impostor);
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        false
    });
    assert!(!seen.contains(&EhyphaState::Up), "{seen:?}");
    assert_eq!(b.get_ehypha(&impostor).unwrap().get_etale("t").unwrap().received(), 0);
    assert!(
        seen.iter().any(|s| matches!(
            s,
            EhyphaState::Handshaking | EhyphaState::Failed | EhyphaState::Disconnected | EhyphaState::Retrying
        )),
        "{seen:?}"
    );
}

#[test]
fn without_monitor_the_state_is_unknown() {
    let (ka, kb) = (keys(), keys());
    let a = efunguz(&ka);
    let mut b = builder(&kb).ehypha_monitor(false).build().unwrap();
    b.add_ehypha_direct(&ka.public, "127.0.0.1", a.port()).unwrap();
    b.update().unwrap();
    assert_eq!(state(&b, &ka.public), EhyphaState::Unknown);
}
