//! An etale: the latest value received under one title from one peer.

use crate::sys::Msg;
use std::sync::Arc;

/// One data part of an etale, kept in libzmq's receive buffer (no copy). Dereferences
/// to `[u8]`; stays valid for as long as you hold it, even after newer data arrives.
pub type Part = Msg;

/// The latest value of one title from one ehypha.
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
