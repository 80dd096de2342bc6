//! `Stats`: counts of what was received and dropped.

use emyzelium as emz;
use pyo3::prelude::*;

/// Counts of what was received and dropped.
#[pyclass(module = "emyzelium._emyzelium", name = "Stats", frozen, eq, get_all)]
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct PyStats {
    /// Well-formed etales taken into a subscribed title.
    received: u64,
    /// Dropped: not in the wire format.
    malformed: u64,
    /// Dropped: for a title not subscribed (any more).
    unknown_title: u64,
    /// Dropped: for a paused etale.
    paused: u64,
    /// Dropped: more data parts than ``max_parts``.
    too_many_parts: u64,
    /// Dropped unread in the receive queue: a newer etale of its title was queued behind it
    /// and it had waited ``supersede_after_ms``.
    superseded: u64,
}

impl From<emz::Stats> for PyStats {
    fn from(s: emz::Stats) -> Self {
        PyStats {
            received: s.received,
            malformed: s.malformed,
            unknown_title: s.unknown_title,
            paused: s.paused,
            too_many_parts: s.too_many_parts,
            superseded: s.superseded,
        }
    }
}

#[pymethods]
impl PyStats {
    fn __repr__(&self) -> String {
        format!(
            "Stats(received={}, malformed={}, unknown_title={}, paused={}, too_many_parts={}, superseded={})",
            self.received, self.malformed, self.unknown_title, self.paused, self.too_many_parts, self.superseded
        )
    }
}
