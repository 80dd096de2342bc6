//! The publish side: an XPUB socket that behaves as the family's PUB on the wire, plus
//! the latest value of every title.
//!
//! Two things plain PUB cannot do:
//! - a subscriber that joins late gets the current value of its title at once, and only
//!   it gets it (XPUB in manual mode: the subscription reaches us, we add it to that
//!   subscriber's pipe and send the cached value to that pipe alone);
//! - the last etale of a burst is never lost to a full queue (NODROP makes a send to a
//!   full subscriber fail instead of vanishing; the newest unsent value per title is
//!   retried on every update until it goes out).

use crate::error::{Error, Result};
use crate::sys::{self, Msg, Socket};
use crate::wire;
use std::collections::HashMap;

pub(crate) struct Publisher {
    pub(crate) sock: Socket,
    /// Frames of the latest etale emitted under each title (shared with libzmq's
    /// queues, not copied), and whether it still has to go out.
    latest: HashMap<String, Latest>,
    /// Titles whose latest value has not been sent yet, oldest first.
    unsent: Vec<String>,
    keep_latest: bool,
    retry_unsent: bool,
    /// (Un)subscriptions ignored: not a title frame (see `serve`).
    bad_subscriptions: u64,
    /// Set by every send: libzmq may have taken in, while sending, the command that
    /// would have signalled a subscription, so look at the socket in the next update.
    pub(crate) touched: bool,
}

struct Latest {
    frames: Vec<Msg>,
    unsent: bool,
}

fn zerr(op: &'static str) -> impl FnOnce(sys::ZmqError) -> Error {
    move |e| Error::zmq(op, e)
}

impl Publisher {
    /// `retry_unsent`: hold back (and retry) rather than drop for a subscriber whose
    /// queue is full.
    pub(crate) fn new(sock: Socket, keep_latest: bool, retry_unsent: bool) -> Result<Self> {
        Self::configure(&sock, retry_unsent)?;
        Ok(Publisher {
            sock,
            latest: HashMap::new(),
            unsent: Vec::new(),
            keep_latest,
            retry_unsent,
            bad_subscriptions: 0,
            touched: true,
        })
    }

    fn configure(sock: &Socket, retry_unsent: bool) -> Result<()> {
        // Manual mode: subscriptions come to us first (see `serve`).
        sock.set_i32(sys::ZMQ_XPUB_MANUAL, 1).map_err(zerr("ZMQ_XPUB_MANUAL"))?;
        sock.set_i32(sys::ZMQ_XPUB_NODROP, i32::from(retry_unsent)).map_err(zerr("ZMQ_XPUB_NODROP"))?;
        Ok(())
    }

    /// Puts `sock` (not bound yet) in place of the socket, which is returned; the latest
    /// etales stay, for the subscribers of the new socket.
    pub(crate) fn replace_socket(&mut self, sock: Socket) -> Result<Socket> {
        Self::configure(&sock, self.retry_unsent)?;
        self.touched = true;
        Ok(std::mem::replace(&mut self.sock, sock))
    }

    pub(crate) fn bad_subscriptions(&self) -> u64 {
        self.bad_subscriptions
    }

    /// Titles whose latest etale waits for room in some subscriber's queue.
    pub(crate) fn unsent(&self) -> usize {
        self.unsent.len()
    }

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

    /// `Ok(false)`: some subscriber of the title has a full queue; nothing was sent.
    fn send(&mut self, frames: &[Msg]) -> Result<bool> {
        self.touched = true;
        send_frames(&self.sock, frames)
    }

    /// Sends what is still unsent, oldest first, until a subscriber is full again.
    pub(crate) fn retry_unsent(&mut self) -> Result<()> {
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
            let Some((&op, topic)) = m.split_first() else { continue };
            // Only `title + NUL` is applied: a prefix (the empty one above all) would
            // match many titles, and is never what an emyzelium subscriber sends.
            if op > 1 || !wire::is_title_frame(topic) {
                self.bad_subscriptions += 1;
                continue;
            }
            // In manual mode the subscription takes effect only when set here, on the
            // pipe it came from (libzmq remembers that pipe until the next send).
            let opt = if op == 1 { sys::ZMQ_SUBSCRIBE } else { sys::ZMQ_UNSUBSCRIBE };
            self.sock.set_bytes(opt, topic).map_err(zerr("XPUB subscribe"))?;
            if op != 1 {
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
        if !sent? {
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
