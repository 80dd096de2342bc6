//! `Ehypha`: the subscription to one peer, resolved by key on each use.

use crate::efunguz::PyEfunguz;
use crate::etale::PyEtale;
use crate::stats::PyStats;
use emyzelium as emz;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `emyzelium._state.EhyphaState`, an `enum.IntEnum` defined in Python.
static STATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn state_of(py: Python<'_>, s: emz::EhyphaState) -> PyResult<Py<PyAny>> {
    let cls = STATE.get_or_try_init(py, || py.import("emyzelium._state")?.getattr("EhyphaState").map(Bound::unbind))?;
    Ok(cls.bind(py).call1((s.code(),))?.unbind())
}

/// The core's ehypha states as ``[(name, code)]``, the table ``emyzelium.EhyphaState`` is
/// checked against.
#[pyfunction(name = "_ehypha_states")]
pub(crate) fn ehypha_states() -> Vec<(&'static str, u32)> {
    emz::EhyphaState::ALL.iter().map(|s| (s.name(), s.code())).collect()
}

/// The subscription to one peer. Resolved on each use: after ``del_ehypha`` its methods
/// raise ``AbsentError``.
#[pyclass(module = "emyzelium._emyzelium", name = "Ehypha", frozen)]
pub struct PyEhypha {
    pub(crate) ef: Py<PyEfunguz>,
    pub(crate) key: String,
}

impl PyEhypha {
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&mut emz::Ehypha) -> emz::Result<R>) -> PyResult<R> {
        let key = &self.key;
        self.ef.get().with(py, |ef| f(ef.get_ehypha_mut(key)?))
    }

    fn with_ref<R>(&self, py: Python<'_>, f: impl FnOnce(&emz::Ehypha) -> emz::Result<R>) -> PyResult<R> {
        let key = &self.key;
        self.ef.get().with(py, |ef| f(ef.get_ehypha(key)?))
    }

    fn etale(&self, py: Python<'_>, title: &str) -> PyEtale {
        PyEtale { ef: self.ef.clone_ref(py), key: self.key.clone(), title: title.to_string() }
    }
}

#[pymethods]
impl PyEhypha {
    /// The peer's public key.
    #[getter]
    fn public_key(&self) -> &str {
        &self.key
    }

    /// Where it connects: ``"host:port"`` or ``"<onion>.onion:port"``.
    #[getter]
    fn address(&self, py: Python<'_>) -> PyResult<String> {
        self.with_ref(py, |e| Ok(e.address().to_string()))
    }

    /// Where the connection to the peer stands (an :class:`EhyphaState`), as of the last
    /// update; always ``UNKNOWN`` with ``ehypha_monitor=False``.
    #[getter]
    fn state(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let s = self.with_ref(py, |e| Ok(e.state()))?;
        state_of(py, s)
    }

    /// When :attr:`state` last changed, µs since the Unix epoch.
    #[getter]
    fn state_since(&self, py: Python<'_>) -> PyResult<i64> {
        self.with_ref(py, |e| Ok(e.state_since()))
    }

    /// The efunguz it belongs to.
    #[getter]
    fn efunguz(&self, py: Python<'_>) -> Py<PyEfunguz> {
        self.ef.clone_ref(py)
    }

    /// Subscribes to ``title`` (any str without NUL; ``""`` is a title too).
    fn add_etale(&self, py: Python<'_>, title: &str) -> PyResult<PyEtale> {
        self.with(py, |e| e.add_etale(title).map(drop))?;
        Ok(self.etale(py, title))
    }

    /// The etale of ``title`` (``AbsentError`` if it was not added).
    fn get_etale(&self, py: Python<'_>, title: &str) -> PyResult<PyEtale> {
        self.with_ref(py, |e| e.get_etale(title).map(drop))?;
        Ok(self.etale(py, title))
    }

    /// Unsubscribes from ``title`` and forgets its data.
    fn del_etale(&self, py: Python<'_>, title: &str) -> PyResult<()> {
        self.with(py, |e| e.del_etale(title))
    }

    /// Stops receiving ``title`` but keeps its latest data.
    fn pause_etale(&self, py: Python<'_>, title: &str) -> PyResult<()> {
        self.with(py, |e| e.pause_etale(title))
    }

    /// Subscribes to ``title`` again after :meth:`pause_etale`; it keeps its data until
    /// new data arrives (``AlreadyResumedError`` when it is not paused).
    fn resume_etale(&self, py: Python<'_>, title: &str) -> PyResult<()> {
        self.with(py, |e| e.resume_etale(title))
    }

    /// Pauses every etale not paused yet.
    fn pause_etales(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |e| e.pause_etales())
    }

    /// Resumes every paused etale.
    fn resume_etales(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |e| e.resume_etales())
    }

    /// Every etale, in no particular order.
    #[getter]
    fn etales(&self, py: Python<'_>) -> PyResult<Vec<PyEtale>> {
        let titles = self.with_ref(py, |e| Ok(e.etales().map(|t| t.title().to_string()).collect::<Vec<_>>()))?;
        Ok(titles.iter().map(|t| self.etale(py, t)).collect())
    }

    /// What this ehypha received and dropped.
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<PyStats> {
        self.with_ref(py, |e| Ok(e.stats().into()))
    }

    fn __repr__(&self) -> String {
        format!("<emyzelium.Ehypha {}>", self.key)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyEhypha>().is_ok_and(|o| {
            let o = o.get();
            o.ef.is(&self.ef) && o.key == self.key
        })
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.ef.as_ptr() as usize, &self.key).hash(&mut h);
        h.finish()
    }
}
