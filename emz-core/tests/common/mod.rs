//! Helpers shared by the integration tests.
#![allow(dead_code)]

use emyzelium::{new_key_pair, Efunguz, EfunguzBuilder};
use std::time::{Duration, Instant};

pub struct Keys {
    pub public: String,
    pub secret: String,
}

pub fn keys() -> Keys {
    let (public, secret) = new_key_pair().expect("key pair");
    Keys { public, secret }
}

/// Loopback-only efunguz on a free port, reconnecting fast, open to everyone (a later
/// `.whitelist(…)` replaces that).
pub fn builder(k: &Keys) -> EfunguzBuilder {
    Efunguz::builder(&k.secret)
        .allow_everyone()
        .bind_host("127.0.0.1")
        .any_port()
        .reconnect_interval(Duration::from_millis(50), Duration::from_millis(200))
}

pub fn efunguz(k: &Keys) -> Efunguz {
    builder(k).build().expect("efunguz")
}

/// Calls `step` every millisecond until it returns true; false after `timeout`.
pub fn until(timeout: Duration, mut step: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if step() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub const T: Duration = Duration::from_secs(10);
pub mod raw_peer;
pub mod raw_sub;
