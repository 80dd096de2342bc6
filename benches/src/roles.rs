//! The two sides every figure is made of, over either implementation: a publisher (`Pub`)
//! and a subscriber (`Sub`), on the Rust API here and on plain libzmq in `baseline`.

use crate::baseline::RawSub;
use crate::output::die;
use emyzelium::Efunguz;
use std::time::{Duration, Instant};

pub const HOST: &str = "127.0.0.1";

pub fn seq_of(part: &[u8]) -> u64 {
    part.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).unwrap_or(u64::MAX)
}

pub trait Pub {
    /// Emits one etale; false when it was not sent now (emyzelium: held for a retry).
    fn emit(&mut self, title: &str, part: &[u8]) -> bool;
    /// Serves the socket: `wait_ms` 0 = an update(); else up to that long.
    fn tick(&mut self, wait_ms: u64);
    fn port(&self) -> u16;
}

pub struct EmzPub(Efunguz);

impl EmzPub {
    pub fn new(secret: &str, wl: &[String], io_threads: Option<i32>) -> Self {
        // No key given: open to everyone, as raw's ZAP handler with an empty list is.
        let b = Efunguz::builder(secret);
        let b = if wl.is_empty() { b.allow_everyone() } else { b.whitelist(wl) };
        let mut b = b.bind_host(HOST).any_port();
        if let Some(n) = io_threads {
            b = b.io_threads(n);
        }
        EmzPub(b.build().unwrap_or_else(|e| die(&e.to_string())))
    }
}

impl Pub for EmzPub {
    fn emit(&mut self, title: &str, part: &[u8]) -> bool {
        self.0.emit_etale(title, &[part]).unwrap()
    }
    fn tick(&mut self, wait_ms: u64) {
        if wait_ms == 0 {
            self.0.update().unwrap();
        } else {
            self.0.wait(Some(Duration::from_millis(wait_ms))).unwrap();
        }
    }
    fn port(&self) -> u16 {
        self.0.port()
    }
}

pub fn payload(size: usize) -> Vec<u8> {
    let mut v = vec![0x5au8; size.max(8)];
    v[..8].copy_from_slice(&0u64.to_le_bytes());
    v
}

/// `f(title, t_out, first part)` for what became visible.
pub type Visit<'a> = dyn FnMut(&[u8], i64, &[u8]) + 'a;

pub trait Sub {
    /// emyzelium: one update() (or wait up to `block_ms`), then each changed etale;
    /// raw: every message waiting (after waiting up to `block_ms` when none is).
    fn poll(&mut self, block_ms: i32, f: &mut Visit);
    /// Etales of title "b" that arrived so far (all of them, seen or overwritten).
    fn received_b(&self) -> u64;
}

pub struct EmzSub {
    ef: Efunguz,
    key: String,
}

impl Sub for EmzSub {
    fn poll(&mut self, block_ms: i32, f: &mut Visit) {
        if block_ms == 0 {
            self.ef.update().unwrap();
        } else {
            self.ef.wait(Some(Duration::from_millis(block_ms as u64))).unwrap();
        }
        for c in self.ef.changes() {
            let e = self.ef.get_ehypha(&c.public_key).unwrap().get_etale(&c.title).unwrap();
            f(c.title.as_bytes(), e.t_out(), e.parts().first().map(|p| &p[..]).unwrap_or(&[]));
        }
    }
    fn received_b(&self) -> u64 {
        self.ef.get_ehypha(&self.key).unwrap().get_etale("b").unwrap().received()
    }
}

pub fn make_sub(
    imp: &str,
    secret: &str,
    pubkey: &str,
    port: u16,
    titles: &[&str],
    io_threads: Option<i32>,
) -> Box<dyn Sub> {
    if imp == "raw" {
        Box::new(RawSub::new(secret, pubkey, port, titles, io_threads.unwrap_or(1)))
    } else {
        let mut b = Efunguz::builder(secret).bind_host(HOST).any_port();
        if let Some(n) = io_threads {
            b = b.io_threads(n);
        }
        let mut ef = b.build().unwrap_or_else(|e| die(&e.to_string()));
        let eh = ef.add_ehypha_direct(pubkey, HOST, port).unwrap();
        for t in titles {
            eh.add_etale(t).unwrap();
        }
        Box::new(EmzSub { ef, key: pubkey.to_string() })
    }
}

/// Polls (blocking, 50 ms at a time) until the warm-up etale "w" (or "b") arrives.
pub fn await_ready(s: &mut dyn Sub, timeout: Duration) -> bool {
    let t0 = Instant::now();
    let mut ready = false;
    while !ready {
        if t0.elapsed() > timeout {
            return false;
        }
        s.poll(50, &mut |t, _, _| ready |= t == b"w" || t == b"b");
    }
    true
}
