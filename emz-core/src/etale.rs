//! An etale: the latest value received under one title from one peer.

use crate::sys::Msg;
use std::sync::Arc;

/// One data part of an etale, kept in libzmq's receive buffer (no copy). Dereferences
/// to `[u8]`; stays valid for as long as you hold it, even after newer data arrives.
pub type Part = Msg;

/// The latest value of one title from one ehypha: borrowed from its efunguz with
/// [`crate::Efunguz::get_ehypha`] and [`crate::Ehypha::get_etale`] (or
/// [`crate::Ehypha::etales`]), read between updates.
///
/// ```
/// # use emyzelium::{new_key_pair, Efunguz};
/// # use std::time::{Duration, Instant};
/// # fn main() -> emyzelium::Result<()> {
/// # let (peer, secret) = new_key_pair()?;
/// # let mut publisher = Efunguz::builder(&secret).allow_everyone().bind_host("127.0.0.1").any_port().build()?;
/// # let (_, secret) = new_key_pair()?;
/// # let mut ef = Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build()?;
/// let etale = ef.add_ehypha_direct(&peer, "127.0.0.1", publisher.port())?.add_etale("zone")?;
/// assert_eq!((etale.t_out(), etale.t_in(), etale.parts().len()), (-1, -1, 0)); // nothing yet
/// # publisher.emit_etale("zone", &[&b"cells"[..], &[2, 3]])?;
/// # let start = Instant::now();
/// # while ef.wait(Some(Duration::from_millis(10)))? == 0 {
/// #     assert!(start.elapsed() < Duration::from_secs(5));
/// #     publisher.update()?;
/// # }
///
/// // After an update that brought it (the publisher emitted "cells" and [2, 3]):
/// let etale = ef.get_ehypha(&peer)?.get_etale("zone")?;
/// let parts = etale.parts(); // libzmq's buffers, no copy
/// assert_eq!(parts.len(), 2);
/// assert_eq!(&parts[0][..], b"cells");
/// assert_eq!(parts[1].to_vec(), [2, 3]);
/// assert!(etale.t_out() > 0 && etale.t_in() >= etale.t_out() && etale.received() == 1);
/// let kept = parts[0].clone(); // shares the buffer, stays valid after later updates
/// ef.update()?;
/// assert_eq!(&kept[..], b"cells");
/// # Ok(()) }
/// ```
pub struct Etale {
    pub(crate) title: Arc<str>,
    pub(crate) parts: Vec<Part>,
    pub(crate) t_out: i64,
    pub(crate) t_in: i64,
    pub(crate) paused: bool,
    pub(crate) received: u64,
    /// Number of the update that last changed it, so one update reports it once.
    pub(crate) stamp: u64,
}

impl Etale {
    pub(crate) fn new(title: &str) -> Self {
        Etale { title: title.into(), parts: Vec::new(), t_out: -1, t_in: -1, paused: false, received: 0, stamp: 0 }
    }

    /// The title this etale subscribes to.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The data parts of the latest arrival (empty before the first).
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// µs since the Unix epoch at the sender when emitted; −1 before the first arrival.
    pub fn t_out(&self) -> i64 {
        self.t_out
    }

    /// µs since the Unix epoch here when received; −1 before the first arrival.
    pub fn t_in(&self) -> i64 {
        self.t_in
    }

    /// Whether the etale is paused (unsubscribed, keeping its latest data).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// How many times this etale has arrived.
    pub fn received(&self) -> u64 {
        self.received
    }
}

impl std::fmt::Debug for Etale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Etale")
            .field("title", &self.title)
            .field("parts", &self.parts.iter().map(|p| p.len()).collect::<Vec<_>>())
            .field("t_out", &self.t_out)
            .field("t_in", &self.t_in)
            .field("paused", &self.paused)
            .field("received", &self.received)
            .finish()
    }
}
