//! The publish side: an XPUB socket that behaves as the family's PUB on the wire, plus
//! the latest value of every title.
//!
//! Two things plain PUB cannot do:
//! - a subscriber that joins late gets the current value of its title at once, and only
//!   it gets it (XPUB in manual mode: the subscription reaches us, we add it to that
//!   subscriber's pipe and send the cached value to that pipe alone);
//! - a subscriber whose queue is full neither delays the others nor loses the last
//!   etale of a burst: it gets the latest etale of each title it missed as soon as it
//!   has room again.
//!
//! The second needs libzmq's help, as libzmq decides per subscriber queue and tells
//! nobody: stock XPUB either fails the send for every subscriber when any one queue is
//! full (NODROP; one reader that stops, by accident or on purpose, stalls everyone until
//! heartbeats drop it, or forever if its io thread still answers them) or drops the
//! message for the full one (lossy; the last etale of a burst can be lost for it). The
//! vendored libzmq is patched (build.rs) with a private socket option,
//! `ZMQ_EMZ_XPUB_LATEST`, under which the XPUB is lossy for the others and, for each
//! subscriber that could not take a message, remembers "topic T is pending" and keeps the
//! newest message of T (its frames shared by reference counting, never copied). When
//! that subscriber's queue has room again (libzmq activates its pipe as the reader
//! drains it) the XPUB writes the newest message of each pending topic to it, whole,
//! before anything newer. A newer message of T that does reach it supersedes the pending
//! one; its pending topics go when it unsubscribes them or disconnects. So a stuck
//! subscriber costs the others nothing and costs the publisher at most one message per
//! title, however long it stays stuck; it is not disconnected for being slow.
//!
//! The activation arrives as a command on the XPUB's mailbox, so the pending etales go
//! out during the next [`crate::Efunguz::update`] (the socket's fd wakes the poller).
//!
//! What was already queued to a subscriber when it stopped reading is skipped where it
//! went stale (the patch's "supersede", [`crate::Options::supersede_after_ms`], 50 ms):
//! each libzmq queue (pipe) between the XPUB and a connection, and between a connection
//! and an ehypha's SUB, numbers its messages in a small ring both ends share. The writer,
//! queuing a message whose first frame (the title) it queued before, marks the older one
//! superseded (one compare-and-swap, no lock: the ends run on different threads); the
//! reader, about to hand on a marked message that has waited at least
//! `supersede_after_ms`, drops it whole and counts it
//! ([`crate::Counters::superseded`], [`crate::Stats::superseded`]). A reader that keeps
//! up never holds a message that long, so it still gets every etale; one that resumes
//! after a pause reads the latest etale of each title and little else. What no queue of
//! ours can skip are the kernel buffers of the connection; so they are bounded too.
//! What may still sit between a publisher and a resumed subscriber, each part an option:
//! - P's queue for it: full at `send_hwm` etales *or* at
//!   [`crate::Options::publish_queue_bytes`] (1 MiB) not yet taken by its connection's
//!   I/O thread, whichever comes first (the patch counts the bytes per pipe; the reader
//!   reports what it took after every half of the bound, so a full pipe always hears
//!   back). Counting bytes matters: 1000 etales of 8 KiB are 8 MiB, of 1 MiB a GiB;
//! - P's kernel send buffer, [`crate::Options::publish_send_buffer`] (64 KiB, doubled by
//!   Linux), instead of the kernel's autotuning up to 4 MiB;
//! - on the subscriber's side, its own receive queue (`recv_hwm`, superseded as above
//!   when it is an efunguz) and kernel receive buffer ([`crate::Options::recv_buffer`],
//!   the kernel's by default): the subscriber's choices, which P cannot bound.
//!
//! Measured (`benches/results/stuck.md`): a raw SUB that resumes after being stuck read
//! 46–50 stale etales of 8 KiB before the current values (the kernel buffers' worth),
//! against 147 without superseding; a paused efunguz reads what its kernel buffer holds
//! (autotuned: from tens to over a thousand etales) before it is current.
//!
//! Lower bounds make a resumed subscriber current sooner; higher ones let one that lags
//! only briefly have fewer intermediate etales superseded, and keep more data in flight
//! for a fast one. An etale larger than the byte bound still goes, alone.
//!
//! Without the patch (feature `system-zmq`) the publisher falls back to holding back:
//! NODROP, and the newest unsent etale of each title is retried on every update, which
//! keeps the last etale of a burst but lets one full subscriber delay the others.
//! With [`crate::Options::retry_unsent`] off the XPUB is simply lossy. Superseding needs
//! the patch as well: a system libzmq refuses the option, which is then left unset (every
//! queued etale is delivered, the counters stay 0).
//!
//! `emit` returns `false` when the etale could not be queued for at least one
//! subscriber (it is then pending as that subscriber's latest of its title, or held back
//! for all without the patch); `unsent` counts titles whose latest etale is still
//! pending for some subscriber.

use crate::error::{zerr, Result};
use crate::sys::{self, Msg, Socket};
use crate::wire;
use std::collections::HashMap;

pub(crate) struct Publisher {
    pub(crate) sock: Socket,
    /// Frames of the latest etale emitted under each title (shared with libzmq's
    /// queues, not copied), and whether it still has to go out (hold-back only).
    latest: HashMap<String, Latest>,
    /// Hold-back only: titles whose latest value has not been sent yet, oldest first.
    unsent: Vec<String>,
    keep_latest: bool,
    retry_unsent: bool,
    /// Byte bound of each subscriber's queue (`Options::publish_queue_bytes`).
    queue_bytes: i32,
    /// `Options::supersede_after_ms`.
    supersede_ms: i32,
    /// Etales superseded on the publish sockets replaced so far.
    superseded_before: u64,
    delivery: Delivery,
    /// (Un)subscriptions ignored: not a title frame (see `serve`).
    bad_subscriptions: u64,
    /// Set by every send: libzmq may have taken in, while sending, the command that
    /// would have signalled a subscription, so look at the socket in the next update.
    pub(crate) touched: bool,
}

/// What happens to an etale a subscriber's full queue cannot take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Delivery {
    /// Kept as that subscriber's latest of its title and sent when it has room (the
    /// patched libzmq does it; others are not held back).
    PerSubscriber,
    /// Nothing is sent to anyone; we retry the newest of the title on each update
    /// (libzmq without the patch).
    HoldBack,
    /// Dropped for that subscriber.
    Lossy,
}

struct Latest {
    frames: Vec<Msg>,
    unsent: bool,
}

impl Publisher {
    /// Uses `keep_latest`, `retry_unsent` (a subscriber whose queue is full gets the
    /// latest etale of each title later rather than losing it), `publish_queue_bytes` and
    /// `supersede_after_ms` of `o`.
    pub(crate) fn new(sock: Socket, o: &crate::Options) -> Result<Self> {
        let delivery = Self::configure(&sock, o.retry_unsent, o.publish_queue_bytes, o.supersede_after_ms)?;
        Ok(Publisher {
            sock,
            latest: HashMap::new(),
            unsent: Vec::new(),
            keep_latest: o.keep_latest,
            retry_unsent: o.retry_unsent,
            queue_bytes: o.publish_queue_bytes,
            supersede_ms: o.supersede_after_ms,
            superseded_before: 0,
            delivery,
            bad_subscriptions: 0,
            touched: true,
        })
    }

    /// Sets the options of a publish socket; returns how it delivers to a full queue.
    fn configure(sock: &Socket, retry_unsent: bool, queue_bytes: i32, supersede_ms: i32) -> Result<Delivery> {
        // Manual mode: subscriptions come to us first (see `serve`).
        sock.set_i32(sys::ZMQ_XPUB_MANUAL, 1).map_err(zerr("ZMQ_XPUB_MANUAL"))?;
        // A libzmq without our patches bounds queues by `send_hwm` alone, delivers every
        // queued etale and does not know the per-subscriber latest value.
        sock.set_patched_i32(sys::ZMQ_EMZ_XPUB_QUEUE_BYTES, queue_bytes).map_err(zerr("ZMQ_EMZ_XPUB_QUEUE_BYTES"))?;
        sock.set_patched_i32(sys::ZMQ_EMZ_SUPERSEDE_MS, supersede_ms).map_err(zerr("ZMQ_EMZ_SUPERSEDE_MS"))?;
        let delivery = if !retry_unsent {
            Delivery::Lossy
        } else if sock.set_patched_i32(sys::ZMQ_EMZ_XPUB_LATEST, 1).map_err(zerr("ZMQ_EMZ_XPUB_LATEST"))? {
            Delivery::PerSubscriber
        } else {
            Delivery::HoldBack
        };
        let nodrop = i32::from(delivery == Delivery::HoldBack);
        sock.set_i32(sys::ZMQ_XPUB_NODROP, nodrop).map_err(zerr("ZMQ_XPUB_NODROP"))?;
        Ok(delivery)
    }

    /// Puts `sock` (not bound yet) in place of the socket, which is returned; the latest
    /// etales stay, for the subscribers of the new socket.
    pub(crate) fn replace_socket(&mut self, sock: Socket) -> Result<Socket> {
        self.delivery = Self::configure(&sock, self.retry_unsent, self.queue_bytes, self.supersede_ms)?;
        self.touched = true;
        self.superseded_before = self.superseded();
        Ok(std::mem::replace(&mut self.sock, sock))
    }

    /// Etales dropped unread from subscribers' queues (see `Counters::superseded`).
    pub(crate) fn superseded(&self) -> u64 {
        // 0 from a libzmq without our patch, which supersedes nothing.
        self.superseded_before + self.sock.get_u64(sys::ZMQ_EMZ_SUPERSEDED).unwrap_or(0)
    }

    pub(crate) fn bad_subscriptions(&self) -> u64 {
        self.bad_subscriptions
    }

    /// Titles whose latest etale still waits for room in some subscriber's queue.
    pub(crate) fn unsent(&self) -> usize {
        match self.delivery {
            // The count lives in libzmq; reading it cannot fail on a live XPUB.
            Delivery::PerSubscriber => self.sock.get_i32(sys::ZMQ_EMZ_XPUB_PENDING).map_or(0, |n| n.max(0) as usize),
            Delivery::HoldBack | Delivery::Lossy => self.unsent.len(),
        }
    }

    /// `Ok(false)`: some subscriber could not take the etale now (see the module doc
    /// for what becomes of it).
    pub(crate) fn emit(&mut self, title: &str, parts: &[&[u8]], t_out: i64) -> Result<bool> {
        let mut frames = Vec::with_capacity(parts.len() + 2);
        let mk = |d: &[u8]| Msg::from_slice(d).map_err(zerr("zmq_msg_init_size"));
        // The title frame is title + NUL (wire::title_frame), built in place.
        frames.push(Msg::from_slices(&[title.as_bytes(), &[0]]).map_err(zerr("zmq_msg_init_size"))?);
        frames.push(mk(&t_out.to_le_bytes())?);
        for p in parts {
            frames.push(mk(p)?);
        }
        let sent = self.send(&frames)?;
        if self.delivery != Delivery::HoldBack {
            if self.keep_latest {
                self.latest.insert(title.to_string(), Latest { frames, unsent: false });
            }
            return Ok(sent);
        }
        if !self.keep_latest && sent {
            self.latest.remove(title);
            return Ok(true);
        }
        match self.latest.get_mut(title) {
            Some(l) => {
                l.frames = frames;
                if !sent && !l.unsent {
                    self.unsent.push(title.to_string());
                }
                l.unsent = !sent;
            }
            None => {
                if !sent {
                    self.unsent.push(title.to_string());
                }
                self.latest.insert(title.to_string(), Latest { frames, unsent: !sent });
            }
        }
        Ok(sent)
    }

    /// `Ok(false)`: some matching subscriber could not take the etale (hold-back: nothing
    /// was sent to anyone; lossy: it was dropped for that one; per subscriber: it is
    /// pending for that one).
    fn send(&mut self, frames: &[Msg]) -> Result<bool> {
        self.touched = true;
        if !send_frames(&self.sock, frames)? {
            return Ok(false);
        }
        if self.delivery != Delivery::PerSubscriber {
            return Ok(true);
        }
        let deferred = self.sock.get_i32(sys::ZMQ_EMZ_XPUB_DEFERRED).map_err(zerr("ZMQ_EMZ_XPUB_DEFERRED"))?;
        Ok(deferred == 0)
    }

    /// Hold-back: sends what is still unsent, oldest first, until a subscriber is full
    /// again. Per subscriber, libzmq does it by itself.
    pub(crate) fn retry_unsent(&mut self) -> Result<()> {
        if self.delivery != Delivery::HoldBack {
            return Ok(());
        }
        self.touched = true;
        let mut done = 0;
        for title in &self.unsent {
            let Some(l) = self.latest.get_mut(title) else {
                done += 1;
                continue;
            };
            if !l.unsent {
                done += 1;
                continue;
            }
            if !send_frames(&self.sock, &l.frames)? {
                break;
            }
            l.unsent = false;
            done += 1;
        }
        self.unsent.drain(..done);
        if !self.keep_latest {
            self.latest.retain(|_, l| l.unsent);
        }
        Ok(())
    }

    /// Applies every (un)subscription waiting on the socket; a new subscriber gets the
    /// latest value of each title it subscribed to, alone.
    pub(crate) fn serve(&mut self) -> Result<()> {
        loop {
            let mut m = Msg::new();
            if !self.sock.recv(&mut m).map_err(zerr("XPUB recv"))? {
                // Found empty after every send above: its fd is armed again.
                self.touched = false;
                return Ok(());
            }
            // Only `title + NUL` is applied: a prefix (the empty one above all) would
            // match many titles, and is never what an emyzelium subscriber sends.
            let (op, topic) = match wire::parse_subscription(&m) {
                Some(wire::Subscription::Subscribe(t)) if wire::is_title_frame(t) => (sys::ZMQ_SUBSCRIBE, t),
                Some(wire::Subscription::Unsubscribe(t)) if wire::is_title_frame(t) => (sys::ZMQ_UNSUBSCRIBE, t),
                _ => {
                    self.bad_subscriptions += 1;
                    continue;
                }
            };
            // In manual mode the subscription takes effect only when set here, on the
            // pipe it came from (libzmq remembers that pipe until the next send).
            self.sock.set_bytes(op, topic).map_err(zerr("XPUB subscribe"))?;
            if op != sys::ZMQ_SUBSCRIBE {
                continue;
            }
            self.welcome(topic)?;
        }
    }

    /// Sends the latest etale of the title `topic` (a checked title frame) to the
    /// subscriber that just subscribed, and to it alone.
    fn welcome(&mut self, topic: &[u8]) -> Result<()> {
        let Ok(title) = wire::parse_title(topic) else { return Ok(()) };
        let Some(l) = self.latest.get(title) else { return Ok(()) };
        let frames = l.frames.clone();
        self.sock.set_i32(sys::ZMQ_XPUB_MANUAL_LAST_VALUE, 1).map_err(zerr("ZMQ_XPUB_MANUAL_LAST_VALUE"))?;
        let sent = self.send(&frames);
        // Back to plain manual mode: sends go to every matching subscriber.
        self.sock.set_i32(sys::ZMQ_XPUB_MANUAL_LAST_VALUE, 0).map_err(zerr("ZMQ_XPUB_MANUAL_LAST_VALUE"))?;
        self.sock.set_i32(sys::ZMQ_XPUB_MANUAL, 1).map_err(zerr("ZMQ_XPUB_MANUAL"))?;
        if !sent? && self.delivery == Delivery::HoldBack {
            if let Some(l) = self.latest.get_mut(title) {
                if !l.unsent {
                    l.unsent = true;
                    self.unsent.push(title.to_string());
                }
            }
        }
        Ok(())
    }
}

/// Sends one etale's frames, sharing their buffers. `Ok(false)`: a subscriber's queue is
/// full and nothing was sent (libzmq checks room on the first frame only: HWM counts
/// whole messages, so a multipart message never goes out in part).
fn send_frames(sock: &Socket, frames: &[Msg]) -> Result<bool> {
    for (i, f) in frames.iter().enumerate() {
        if !sock.send_shared(f, i + 1 < frames.len()).map_err(zerr("zmq_msg_send"))? {
            debug_assert_eq!(i, 0);
            return Ok(false);
        }
    }
    Ok(true)
}
