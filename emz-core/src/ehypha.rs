//! An ehypha: the subscription to one remote efunguz, with the etales taken from it.

use crate::address::Address;
use crate::error::{Error, Result};
use crate::etale::{Etale, Part};
use crate::state::{self, EhyphaState};
use crate::sys::{self, Msg, Socket};
use crate::wire::{self, Malformed};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::Arc;

/// Counts of what an ehypha received, malformed messages included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Well-formed etales taken into a subscribed title.
    pub received: u64,
    /// Dropped: title frame not NUL-terminated or not UTF-8, `t_out` missing or not 8 bytes.
    pub malformed: u64,
    /// Dropped: well-formed but for a title this ehypha does not hold (any more).
    pub unknown_title: u64,
    /// Dropped: arrived for a paused etale (sent before the pause reached the peer).
    pub paused: u64,
    /// Dropped: more data parts than [`crate::Options::max_parts`].
    pub too_many_parts: u64,
    /// Dropped unread in the receive queue: a newer etale of the same title was queued
    /// behind it and it had waited [`crate::Options::supersede_after_ms`].
    pub superseded: u64,
}

impl Stats {
    pub(crate) fn add(&mut self, o: &Stats) {
        self.received += o.received;
        self.malformed += o.malformed;
        self.unknown_title += o.unknown_title;
        self.paused += o.paused;
        self.too_many_parts += o.too_many_parts;
        self.superseded += o.superseded;
    }

    fn since(&self, before: &Stats) -> Stats {
        Stats {
            received: self.received - before.received,
            malformed: self.malformed - before.malformed,
            unknown_title: self.unknown_title - before.unknown_title,
            paused: self.paused - before.paused,
            too_many_parts: self.too_many_parts - before.too_many_parts,
            superseded: self.superseded - before.superseded,
        }
    }
}

/// How much one update may take from one ehypha, so that no peer stalls the loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) messages: usize,
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
    /// Most data parts of one etale; a longer message is dropped.
    pub(crate) max_parts: usize,
}

/// What one drain took from its socket.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Messages completed (taken in or dropped).
    pub messages: usize,
    /// Frames received, those of partial messages included.
    pub frames: usize,
    /// Bytes of those frames.
    pub bytes: usize,
}

/// (publisher's public key, title) of an etale that got new data in an update.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// Public key of the efunguz that emitted the etale.
    pub public_key: Arc<str>,
    /// Title of the etale.
    pub title: Arc<str>,
}

/// Subscription to one remote efunguz (one SUB socket, CURVE client of its key).
/// Borrowed from its [`crate::Efunguz`] ([`crate::Efunguz::get_ehypha`], or the
/// `&mut Ehypha` that `add_ehypha*` returns), so used by the thread that uses the efunguz.
pub struct Ehypha {
    pub(crate) public_key: Arc<str>,
    pub(crate) address: Address,
    pub(crate) sub: Socket,
    pub(crate) fd: RawFd,
    pub(crate) etales: HashMap<String, Etale>,
    pub(crate) stats: Stats,
    /// The message being received, kept across updates when a budget runs out in its
    /// middle. Emptied as soon as the message ends: between messages it holds nothing.
    partial: Partial,
    /// What the last drain took, for tests of the budget.
    drained: Drained,
    /// Queued for a look at its socket in the next update, whatever epoll says.
    pub(crate) queued: bool,
    /// The monitor of the SUB socket and its fd, when states are watched.
    pub(crate) monitor: Option<(Socket, RawFd)>,
    pub(crate) state: EhyphaState,
    pub(crate) state_since: i64,
}

impl Ehypha {
    pub(crate) fn new(public_key: &str, address: Address, sub: Socket, fd: RawFd) -> Self {
        Ehypha {
            public_key: public_key.into(),
            address,
            sub,
            fd,
            etales: HashMap::new(),
            stats: Stats::default(),
            partial: Partial::default(),
            drained: Drained::default(),
            queued: false,
            monitor: None,
            state: EhyphaState::Unknown,
            state_since: wire::now_us(),
        }
    }

    /// Where the connection to the peer stands (from a monitor on the socket).
    pub fn state(&self) -> EhyphaState {
        self.state
    }

    /// When the state last changed, µs since the Unix epoch.
    pub fn state_since(&self) -> i64 {
        self.state_since
    }

    /// Takes in the monitor's events; returns whether the state changed.
    pub(crate) fn serve_monitor(&mut self) -> Result<bool> {
        let Some((mon, _)) = &self.monitor else { return Ok(false) };
        let before = self.state;
        let mut st = self.state;
        state::read_events(mon, |event| st = state::next(st, event)).map_err(|e| Error::zmq("monitor recv", e))?;
        if st != before {
            self.state = st;
            self.state_since = wire::now_us();
        }
        Ok(st != before)
    }

    /// Connects anew (libzmq does not retry a connection the peer refused).
    pub(crate) fn reconnect(&mut self) -> Result<()> {
        let endpoint = self.address.endpoint();
        // Already gone is fine: the point is a fresh attempt.
        let _ = self.sub.disconnect(&endpoint);
        self.sub.connect(&endpoint).map_err(|e| Error::zmq("zmq_connect", e))?;
        self.state = EhyphaState::Connecting;
        self.state_since = wire::now_us();
        Ok(())
    }

    /// The public key of the peer this ehypha subscribes to.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Where the peer is reached.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// What this ehypha received and dropped so far.
    pub fn stats(&self) -> Stats {
        Stats { superseded: self.superseded(), ..self.stats }
    }

    /// Counted by libzmq, which drops them; 0 from a libzmq without our patch.
    pub(crate) fn superseded(&self) -> u64 {
        self.sub.get_u64(sys::ZMQ_EMZ_SUPERSEDED).unwrap_or(0)
    }

    fn subscribe(&self, title: &str, on: bool) -> Result<()> {
        let opt = if on { sys::ZMQ_SUBSCRIBE } else { sys::ZMQ_UNSUBSCRIBE };
        self.sub.set_bytes(opt, &wire::title_frame(title)).map_err(|e| Error::zmq("subscribe", e))
    }

    /// Subscribes to `title`. Its etale stays empty (`t_in == -1`) until the first arrival.
    pub fn add_etale(&mut self, title: &str) -> Result<&Etale> {
        wire::check_title(title)?;
        if self.etales.contains_key(title) {
            return Err(Error::AlreadyPresent { what: "etale", name: title.to_string() });
        }
        self.subscribe(title, true)?;
        Ok(self.etales.entry(title.to_string()).or_insert_with(|| Etale::new(title)))
    }

    /// The etale of `title`; an [`ErrorKind::Absent`](crate::ErrorKind::Absent) error when it
    /// was not added.
    pub fn get_etale(&self, title: &str) -> Result<&Etale> {
        self.etales.get(title).ok_or_else(|| Error::Absent { what: "etale", name: title.to_string() })
    }

    /// Every etale of this ehypha, in no particular order.
    pub fn etales(&self) -> impl Iterator<Item = &Etale> {
        self.etales.values()
    }

    /// Unsubscribes from `title` and forgets its data.
    pub fn del_etale(&mut self, title: &str) -> Result<()> {
        let etale =
            self.etales.get(title).ok_or_else(|| Error::AlreadyAbsent { what: "etale", name: title.to_string() })?;
        if !etale.paused {
            self.subscribe(title, false)?;
        }
        self.etales.remove(title);
        Ok(())
    }

    /// Stops receiving `title` (unsubscribes) but keeps its latest data.
    pub fn pause_etale(&mut self, title: &str) -> Result<()> {
        let paused = self.get_etale(title)?.paused;
        if paused {
            return Err(Error::AlreadyPaused { title: title.to_string() });
        }
        self.subscribe(title, false)?;
        if let Some(e) = self.etales.get_mut(title) {
            e.paused = true;
        }
        Ok(())
    }

    /// Subscribes to `title` again after [`Ehypha::pause_etale`]; its etale keeps what it
    /// held until new data arrives.
    pub fn resume_etale(&mut self, title: &str) -> Result<()> {
        let paused = self.get_etale(title)?.paused;
        if !paused {
            return Err(Error::AlreadyResumed { title: title.to_string() });
        }
        self.subscribe(title, true)?;
        if let Some(e) = self.etales.get_mut(title) {
            e.paused = false;
        }
        Ok(())
    }

    /// Pauses every etale not paused yet.
    pub fn pause_etales(&mut self) -> Result<()> {
        self.set_all_paused(true)
    }

    /// Resumes every paused etale.
    pub fn resume_etales(&mut self) -> Result<()> {
        self.set_all_paused(false)
    }

    fn set_all_paused(&mut self, paused: bool) -> Result<()> {
        for (title, etale) in self.etales.iter_mut() {
            if etale.paused != paused {
                let opt = if paused { sys::ZMQ_UNSUBSCRIBE } else { sys::ZMQ_SUBSCRIBE };
                self.sub.set_bytes(opt, &wire::title_frame(title)).map_err(|e| Error::zmq("subscribe", e))?;
                etale.paused = paused;
            }
        }
        Ok(())
    }

    /// Receives within `budget`. Returns whether more may be waiting.
    pub(crate) fn drain(
        &mut self,
        budget: &Budget,
        stamp: u64,
        changes: &mut Vec<Change>,
        totals: &mut Stats,
    ) -> Result<bool> {
        let before = self.stats;
        let more = self.drain_inner(budget, stamp, changes);
        totals.add(&self.stats.since(&before));
        more
    }

    /// What the last update took from this ehypha's socket.
    #[doc(hidden)]
    pub fn last_drain(&self) -> Drained {
        self.drained
    }

    /// Bytes held for a message not received whole yet (0 between messages).
    #[doc(hidden)]
    pub fn partial_bytes(&self) -> usize {
        self.partial.bytes()
    }

    fn drain_inner(&mut self, budget: &Budget, stamp: u64, changes: &mut Vec<Change>) -> Result<bool> {
        let mut d = Drained::default();
        // Frame by frame, so that a budget can end an update in the middle of a message
        // of any length; the rest of it is taken in the next update.
        loop {
            if d.messages >= budget.messages || d.frames >= budget.frames || d.bytes >= budget.bytes {
                self.drained = d;
                return Ok(true);
            }
            let mut m = Msg::new();
            // A non-blocking recv that finds nothing processes the socket's pending
            // commands, which is also what re-arms its fd for epoll.
            let got = self.sub.recv(&mut m);
            if !matches!(got, Ok(true)) {
                self.drained = d;
                return got.map_err(|e| Error::zmq("zmq_msg_recv", e));
            }
            d.frames += 1;
            d.bytes += m.len();
            let last = !m.more();
            let p = &mut self.partial;
            if p.skipping {
                // The rest of a message over max_parts: already counted, dropped unread.
            } else if p.title.is_none() {
                p.title = Some(m);
            } else if p.t_out.is_none() {
                p.t_out = Some(m);
            } else if p.parts.len() < budget.max_parts {
                p.parts.push(m);
            } else {
                *p = Partial { skipping: true, ..Partial::default() };
                self.stats.too_many_parts += 1;
            }
            if last {
                d.messages += 1;
                let p = std::mem::take(&mut self.partial);
                if !p.skipping {
                    self.take_in(p, stamp, changes);
                }
            }
        }
    }

    /// Files one whole message under its etale, or counts why it is dropped.
    fn take_in(&mut self, p: Partial, stamp: u64, changes: &mut Vec<Change>) {
        let t_in = wire::now_us();
        let parsed = wire::parse_title(p.title.as_deref().unwrap_or_default()).and_then(|title| {
            let t_out = p.t_out.as_deref().ok_or(Malformed::NoTimestamp).and_then(wire::parse_t_out)?;
            Ok((title, t_out))
        });
        let Ok((title, t_out)) = parsed else {
            self.stats.malformed += 1;
            return;
        };
        let Some(etale) = self.etales.get_mut(title) else {
            self.stats.unknown_title += 1;
            return;
        };
        if etale.paused {
            self.stats.paused += 1;
            return;
        }
        // The previous parts go now, not with the next message: one etale's memory.
        etale.parts = p.parts;
        etale.t_out = t_out;
        etale.t_in = t_in;
        etale.received += 1;
        self.stats.received += 1;
        if etale.stamp != stamp {
            etale.stamp = stamp;
            changes.push(Change { public_key: self.public_key.clone(), title: etale.title.clone() });
        }
    }
}

/// A message whose frames are still arriving.
#[derive(Default)]
struct Partial {
    title: Option<Msg>,
    t_out: Option<Msg>,
    parts: Vec<Part>,
    /// Over max_parts: the rest of its frames are dropped as they come.
    skipping: bool,
}

impl Partial {
    fn bytes(&self) -> usize {
        let one = |m: &Option<Msg>| m.as_ref().map_or(0, |m| m.len());
        one(&self.title) + one(&self.t_out) + self.parts.iter().map(|m| m.len()).sum::<usize>()
    }
}

impl Drop for Ehypha {
    fn drop(&mut self) {
        if self.monitor.is_some() {
            self.sub.stop_monitor();
        }
    }
}

impl std::fmt::Debug for Ehypha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ehypha")
            .field("public_key", &self.public_key)
            .field("address", &self.address)
            .field("etales", &self.etales.keys().collect::<Vec<_>>())
            .field("state", &self.state)
            .field("stats", &self.stats)
            .finish()
    }
}
