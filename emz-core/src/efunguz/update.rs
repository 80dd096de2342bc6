//! The per-frame work: answer ZAP, read the monitor, take in etales.
//!
//! Cost is O(sockets with activity): every socket's signalling fd sits in one epoll
//! set, so idle ehyphae are never touched. libzmq signals that fd whenever it queues a
//! command for the socket (a message arriving into an empty pipe, a peer gone, …), so a
//! socket that stays idle for hours still gets its commands processed when they come.

use super::token::Token;
use super::{Counters, Efunguz};
use crate::builder::Options;
use crate::ehypha::{Budget, Change};
use crate::error::{Error, Result};
use crate::state::EhyphaState;
use crate::sys::{self, Msg};
use std::time::{Duration, Instant};

impl Efunguz {
    /// Does all pending work without blocking and returns how many etales got new data;
    /// [`Efunguz::changes`] lists them until the next update. After a whitelist change
    /// that narrowed access, it first cuts every subscriber's session (see
    /// [`Efunguz::del_whitelist_key`]).
    ///
    /// ```
    /// # fn main() -> emyzelium::Result<()> {
    /// let (_, secret) = emyzelium::new_key_pair()?;
    /// let mut ef = emyzelium::Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build()?;
    /// // In a main loop, once a frame:
    /// let changed = ef.update()?;
    /// assert_eq!(changed, ef.changes().len());
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// use emyzelium::{new_key_pair, Efunguz};
    /// use std::time::{Duration, Instant};
    /// # fn main() -> emyzelium::Result<()> {
    /// let (publisher, secret) = new_key_pair()?;
    /// let mut a = Efunguz::builder(&secret).allow_everyone().bind_host("127.0.0.1").any_port().build()?;
    /// let (_, secret) = new_key_pair()?;
    /// let mut b = Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build()?;
    ///
    /// // Nothing subscribed yet: wait() returns 0 once the timeout passes.
    /// let start = Instant::now();
    /// assert_eq!(b.wait(Some(Duration::from_millis(20)))?, 0);
    /// assert!(start.elapsed() >= Duration::from_millis(20));
    ///
    /// b.add_ehypha_direct(&publisher, "127.0.0.1", a.port())?.add_etale("tick")?;
    /// a.emit_etale("tick", &[b"1"])?;
    /// let mut changed = 0;
    /// while changed == 0 {
    ///     assert!(start.elapsed() < Duration::from_secs(5));
    ///     a.update()?; // the publisher answers the handshake and the subscription
    ///     changed = b.wait(Some(Duration::from_millis(10)))?;
    /// }
    /// assert_eq!(&*b.changes()[0].title, "tick");
    /// # Ok(()) }
    /// ```
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<usize> {
        // A timeout beyond what an Instant can hold is no limit (`+` would panic).
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
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
        // A blocking wait still wakes to heal ehyphae that libzmq leaves alone.
        let timeout_ms = match self.next_heal_due().map(ms_until) {
            Some(heal) if timeout_ms < 0 || heal < timeout_ms => heal,
            _ => timeout_ms,
        };
        if let Err(e) = self.poller.wait(timeout_ms, &mut ready) {
            self.ready = ready;
            return Err(io_limit(e));
        }
        let result = self.serve(&ready);
        self.ready = ready;
        self.sync_readiness();
        result
    }

    /// Makes the readiness fd tell the truth about what epoll alone does not see: the
    /// wake flag is up while slots wait in the queue or sessions wait to be cut, and
    /// the timer is armed for the next heal. Costs no syscall when nothing changed.
    fn sync_readiness(&mut self) {
        let work_left = !self.queue.is_empty() || self.cut_sessions;
        self.poller.set_woken(work_left);
        let due = self.next_heal_due();
        self.poller.arm_timer(due);
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
                        Ok(true) if heal_after(&self.options, e.state).is_some() => {
                            if !self.healing.contains(&slot) {
                                self.healing.push(slot);
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
        if !self.healing.is_empty() {
            note(self.heal());
        }
        if self.publisher.touched && !publisher_served {
            note(self.publisher.serve());
        }
        if self.publisher.unsent() > 0 {
            note(self.publisher.retry_unsent());
        }
        let o = &self.options;
        let budget = Budget {
            messages: o.drain_budget,
            frames: o.drain_frame_budget,
            bytes: o.drain_byte_budget,
            max_parts: o.max_parts,
        };
        let mut again = Vec::new();
        for slot in queue.drain(..) {
            let Some(Some(e)) = self.ehyphae.get_mut(slot) else { continue };
            e.queued = false;
            match e.drain(&budget, self.stamp, &mut self.changes, &mut self.stats) {
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

    /// Reconnects every watched ehypha whose state lasted its [`heal_after`]: a
    /// peer that refused our key may have whitelisted it since, and libzmq never
    /// reconnects after a failed handshake or a protocol error (an oversize message, a
    /// stranger on the port).
    fn heal(&mut self) -> Result<()> {
        let now = crate::wire::now_us();
        let mut result = Ok(());
        let mut healing = std::mem::take(&mut self.healing);
        healing.retain(|&slot| {
            let Some(Some(e)) = self.ehyphae.get(slot) else { return false };
            let Some(wait_us) = heal_after(&self.options, e.state) else { return false };
            if now - e.state_since < wait_us {
                return true;
            }
            if let Some(Some(e)) = self.ehyphae.get_mut(slot) {
                if let Err(err) = e.reconnect() {
                    result = Err(err);
                }
            }
            false
        });
        self.healing = healing;
        result
    }

    /// When the next ehypha is due for healing, µs since the Unix epoch.
    fn next_heal_due(&self) -> Option<i64> {
        self.healing
            .iter()
            .filter_map(|&slot| self.ehyphae.get(slot)?.as_ref())
            .filter_map(|e| Some(e.state_since.saturating_add(heal_after(&self.options, e.state)?)))
            .min()
    }

    /// What a new subscriber needs of us, done from `emit_etale` too: its handshake
    /// answered (ZAP), then its subscriptions applied (manual XPUB). Each is one
    /// non-blocking recv when nothing waits.
    pub(super) fn serve_subscribers(&mut self) -> Result<()> {
        self.serve_zap()?;
        self.publisher.serve()
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
            let crate::zap::ZapVerdict { status, text, user_id: user } =
                crate::zap::zap_verdict(&frames, |k| self.admits(k));
            let request_id: &[u8] = frames.get(1).map(|m| &m[..]).unwrap_or(b"");
            let reply: [&[u8]; 6] = [b"1.0", request_id, status.as_bytes(), text.as_bytes(), user.as_bytes(), b""];
            for (i, part) in reply.iter().enumerate() {
                self.zap.send(part, i + 1 < reply.len()).map_err(|e| Error::zmq("ZAP send", e))?;
            }
        }
    }

    pub(super) fn serve_monitor(&mut self) -> Result<()> {
        let (c, open) = (&mut self.counters, &mut self.in_open);
        crate::state::read_events(&self.monitor, |event| count_event(c, open, event))
            .map_err(|e| Error::zmq("monitor recv", e))
    }
}

/// Counts one monitor event of the publish socket. `open` is signed because
/// DISCONNECTED may arrive before its ACCEPTED; a floor at zero would lose it and
/// leave `in_absorbing` one too high for good.
fn count_event(c: &mut Counters, open: &mut i64, event: u16) {
    match event {
        sys::ZMQ_EVENT_ACCEPTED => {
            c.in_attempted += 1;
            *open += 1;
        }
        sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => c.in_permitted += 1,
        sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        | sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH => c.in_failed += 1,
        sys::ZMQ_EVENT_DISCONNECTED => *open -= 1,
        _ => {}
    }
    c.in_absorbing = (*open).max(0).unsigned_abs();
}

/// Milliseconds from now until `due` (µs since the Unix epoch), for epoll's timeout.
/// Rounded up, as a wait that ends early would spin.
fn ms_until(due: i64) -> i32 {
    let left_us = due.saturating_sub(crate::wire::now_us());
    i32::try_from(left_us.max(0).unsigned_abs().div_ceil(1000)).unwrap_or(i32::MAX)
}

fn io_limit(e: std::io::Error) -> Error {
    Error::Zmq { op: "epoll_wait", code: e.raw_os_error().unwrap_or(0), message: e.to_string() }
}

/// How long `state` may last before the ehypha is reconnected, µs; `None`: as long
/// as it likes. A state libzmq leaves alone gets the backoff cap, by when libzmq
/// would have retried anything it retries. A handshake gets libzmq's own timeout
/// plus the cap: should libzmq's word that it ended be missed, the ehypha still heals.
fn heal_after(o: &Options, state: EhyphaState) -> Option<i64> {
    let cap = o.reconnect_interval_max.max(o.reconnect_interval).max(Duration::from_millis(100));
    let wait = match state {
        s if s.needs_healing() => cap,
        EhyphaState::Handshaking if !o.handshake_interval.is_zero() => o.handshake_interval + cap,
        _ => return None,
    };
    Some(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_before_its_accept_still_closes_the_connection() {
        let (mut c, mut open) = (Counters::default(), 0);
        count_event(&mut c, &mut open, sys::ZMQ_EVENT_DISCONNECTED);
        assert_eq!(c.in_absorbing, 0);
        count_event(&mut c, &mut open, sys::ZMQ_EVENT_ACCEPTED);
        assert_eq!((c.in_attempted, c.in_absorbing), (1, 0), "the late accept of a closed connection");
        count_event(&mut c, &mut open, sys::ZMQ_EVENT_ACCEPTED);
        count_event(&mut c, &mut open, sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        assert_eq!((c.in_attempted, c.in_permitted, c.in_absorbing), (2, 1, 1));
        count_event(&mut c, &mut open, sys::ZMQ_EVENT_DISCONNECTED);
        assert_eq!(c.in_absorbing, 0);
    }
}
