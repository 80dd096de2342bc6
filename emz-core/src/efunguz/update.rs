//! The per-frame work: answer ZAP, read the monitor, take in etales.
//!
//! Cost is O(sockets with activity): every socket's signalling fd sits in one epoll
//! set, so idle ehyphae are never touched. libzmq signals that fd whenever it queues a
//! command for the socket (a message arriving into an empty pipe, a peer gone, …), so a
//! socket that stays idle for hours still gets its commands processed when they come.

use super::token::Token;
use super::Efunguz;
use crate::ehypha::Change;
use crate::error::{Error, Result};
use crate::keys::z85_encode;
use crate::state::EhyphaState;
use crate::sys::{self, Msg};
use std::time::{Duration, Instant};

impl Efunguz {
    /// Does all pending work without blocking and returns how many etales got new data;
    /// [`Efunguz::changes`] lists them until the next update. After a whitelist change
    /// that narrowed access, it first cuts every subscriber's session (see
    /// [`Efunguz::del_whitelist_key`]).
    pub fn update(&mut self) -> Result<usize> {
        self.changes.clear();
        self.stamp += 1;
        self.apply_narrowing()?;
        self.poll(0)?;
        Ok(self.changes.len())
    }

    /// The (public key, title) of each etale that got new data in the last update or
    /// wait, once each.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Blocks until some etale gets new data or `timeout` passes (`None`: no limit),
    /// doing the work of [`Efunguz::update`] meanwhile. Returns how many etales changed
    /// (0 on timeout).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<usize> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.changes.clear();
        self.stamp += 1;
        self.apply_narrowing()?;
        self.poll(0)?;
        while self.changes.is_empty() {
            let ms = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    // Round up: a 0 ms epoll_wait would spin until the deadline.
                    i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
                }
            };
            self.poll(ms)?;
        }
        Ok(self.changes.len())
    }

    /// Cuts live sessions when access narrowed since the last update; when that fails
    /// (the port could not be bound again), the next update tries again.
    fn apply_narrowing(&mut self) -> Result<()> {
        if !self.cut_sessions {
            return Ok(());
        }
        self.recreate_publish_socket()?;
        self.cut_sessions = false;
        Ok(())
    }

    /// One round: waits up to `timeout_ms` for readiness (not at all when some socket is
    /// already known to need a look), then serves every socket that is ready. The event
    /// buffer holds one slot per registered fd, so one epoll_wait reports them all.
    fn poll(&mut self, timeout_ms: i32) -> Result<()> {
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        let timeout_ms = if self.queue.is_empty() { timeout_ms } else { 0 };
        self.poller.wait(timeout_ms, &mut ready).map_err(io_limit)?;
        let result = self.serve(&ready);
        self.ready = ready;
        result
    }

    fn serve(&mut self, ready: &[u64]) -> Result<()> {
        let mut queue = std::mem::take(&mut self.queue);
        let mut result = Ok(());
        // Keep serving the rest after a failure; report the first one.
        let mut note = |r: Result<()>| {
            if let (Err(e), true) = (r, result.is_ok()) {
                result = Err(e);
            }
        };
        let mut publisher_served = false;
        for &tag in ready {
            match Token::from_u64(tag) {
                Token::Zap => note(self.serve_zap()),
                Token::Monitor => note(self.serve_monitor()),
                Token::Publisher => {
                    publisher_served = true;
                    note(self.publisher.serve());
                }
                Token::EhyphaMonitor(slot) => {
                    let Some(Some(e)) = self.ehyphae.get_mut(slot) else { continue };
                    match e.serve_monitor() {
                        Ok(true) if e.state == EhyphaState::Rejected => {
                            if !self.rejected.contains(&slot) {
                                self.rejected.push(slot);
                            }
                        }
                        Ok(_) => {}
                        Err(err) => note(Err(err)),
                    }
                }
                Token::Ehypha(slot) => {
                    let Some(Some(e)) = self.ehyphae.get_mut(slot) else { continue };
                    if !e.queued {
                        e.queued = true;
                        queue.push(slot);
                    }
                }
            }
        }
        if !self.rejected.is_empty() {
            note(self.retry_rejected());
        }
        if self.publisher.touched && !publisher_served {
            note(self.publisher.serve());
        }
        if self.publisher.unsent() > 0 {
            note(self.publisher.retry_unsent());
        }
        let budget = self.options.drain_budget;
        let mut again = Vec::new();
        for slot in queue.drain(..) {
            let Some(Some(e)) = self.ehyphae.get_mut(slot) else { continue };
            e.queued = false;
            match e.drain(budget, self.stamp, &mut self.changes, &mut self.stats) {
                Ok(true) => {
                    e.queued = true;
                    again.push(slot);
                }
                Ok(false) => {}
                Err(err) => note(Err(err)),
            }
        }
        queue.extend(again);
        self.queue = queue;
        result
    }

    /// A peer that refused our key may have whitelisted it since: libzmq never asks
    /// again by itself, so reconnect after the reconnect-interval cap.
    fn retry_rejected(&mut self) -> Result<()> {
        let o = &self.options;
        let wait = o.reconnect_interval_max.max(o.reconnect_interval).max(Duration::from_millis(100));
        let wait_us = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
        let now = crate::wire::now_us();
        let mut result = Ok(());
        let ehyphae = &mut self.ehyphae;
        self.rejected.retain(|&slot| {
            let Some(Some(e)) = ehyphae.get_mut(slot) else { return false };
            if e.state != EhyphaState::Rejected {
                return false;
            }
            if now - e.state_since < wait_us {
                return true;
            }
            if let Err(err) = e.reconnect() {
                result = Err(err);
            }
            false
        });
        result
    }

    /// Answers every waiting ZAP request (RFC 27): CURVE only, whitelisted keys only
    /// (when the whitelist is not empty), user-id = the client's Z85 public key.
    pub(super) fn serve_zap(&mut self) -> Result<()> {
        loop {
            let mut frames: Vec<Msg> = Vec::with_capacity(7);
            loop {
                let mut m = Msg::new();
                if !self.zap.recv(&mut m).map_err(|e| Error::zmq("ZAP recv", e))? {
                    break;
                }
                let more = m.more();
                frames.push(m);
                if !more {
                    break;
                }
            }
            if frames.is_empty() {
                return Ok(());
            }
            let (status, text, user) = self.zap_verdict(&frames);
            let request_id: &[u8] = frames.get(1).map(|m| &m[..]).unwrap_or(b"");
            let reply: [&[u8]; 6] = [b"1.0", request_id, status.as_bytes(), text.as_bytes(), user.as_bytes(), b""];
            for (i, part) in reply.iter().enumerate() {
                self.zap.send(part, i + 1 < reply.len()).map_err(|e| Error::zmq("ZAP send", e))?;
            }
        }
    }

    fn zap_verdict(&self, frames: &[Msg]) -> (&'static str, &'static str, String) {
        // version, request id, domain, address, routing id, mechanism, credentials…
        if frames.len() < 6 || &frames[0][..] != b"1.0" {
            return ("500", "Malformed ZAP request", String::new());
        }
        if &frames[2][..] != crate::ZAP_DOMAIN.as_bytes() || &frames[5][..] != b"CURVE" {
            return ("400", "Unknown domain or mechanism", String::new());
        }
        let Some(key) = frames.get(6).and_then(|k| <[u8; 32]>::try_from(&k[..]).ok()) else {
            return ("400", "No CURVE key", String::new());
        };
        let key = z85_encode(&key);
        if self.admits(&key) {
            ("200", "OK", key)
        } else {
            ("400", "Not in whitelist", String::new())
        }
    }

    pub(super) fn serve_monitor(&mut self) -> Result<()> {
        let c = &mut self.counters;
        crate::state::read_events(&self.monitor, |event| match event {
            sys::ZMQ_EVENT_ACCEPTED => {
                c.in_attempted += 1;
                c.in_absorbing += 1;
            }
            sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => c.in_permitted += 1,
            sys::ZMQ_EVENT_DISCONNECTED => c.in_absorbing = c.in_absorbing.saturating_sub(1),
            _ => {}
        })
        .map_err(|e| Error::zmq("monitor recv", e))
    }
}

fn io_limit(e: std::io::Error) -> Error {
    Error::Zmq { op: "epoll_wait", code: e.raw_os_error().unwrap_or(0), message: e.to_string() }
}
