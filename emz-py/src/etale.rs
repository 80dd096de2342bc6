//! `Etale`: the latest value of one title from one peer, resolved on each use.

use crate::buffer;
use crate::efunguz::PyEfunguz;
use emyzelium as emz;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// The latest value of one title from one peer. Resolved on each use: after its deletion
/// (or its ehypha's) reading it raises ``AbsentError``.
#[pyclass(module = "emyzelium._emyzelium", name = "Etale", frozen)]
pub struct PyEtale {
    pub(crate) ef: Py<PyEfunguz>,
    pub(crate) key: String,
    pub(crate) title: String,
}

impl PyEtale {
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&emz::Etale) -> R) -> PyResult<R> {
        let (key, title) = (&self.key, &self.title);
        self.ef.get().with(py, |ef| Ok(f(ef.get_ehypha(key)?.get_etale(title)?)))
    }
}

#[pymethods]
impl PyEtale {
    /// The title subscribed to.
    #[getter]
    fn title(&self) -> &str {
        &self.title
    }

    /// The public key of the peer it comes from.
    #[getter]
    fn public_key(&self) -> &str {
        &self.key
    }

    /// The parts of the latest arrival as ``bytes`` (copies; empty list before the first).
    #[getter]
    fn parts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let parts: Vec<emz::Part> = self.with(py, |e| e.parts().to_vec())?;
        PyList::new(py, parts.iter().map(|p| PyBytes::new(py, p)))
    }

    /// The parts of the latest arrival as read-only ``memoryview`` objects over the
    /// received buffers, without copying. Each view owns its buffer: it stays valid (and
    /// unchanged) after later updates, for as long as the view is alive.
    #[getter]
    fn views<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let parts: Vec<emz::Part> = self.with(py, |e| e.parts().to_vec())?;
        let list = PyList::empty(py);
        for p in parts {
            list.append(buffer::part_view(py, p)?)?;
        }
        Ok(list)
    }

    /// µs since the Unix epoch at the sender when emitted; -1 before the first arrival.
    #[getter]
    fn t_out(&self, py: Python<'_>) -> PyResult<i64> {
        self.with(py, |e| e.t_out())
    }

    /// µs since the Unix epoch here when received; -1 before the first arrival.
    #[getter]
    fn t_in(&self, py: Python<'_>) -> PyResult<i64> {
        self.with(py, |e| e.t_in())
    }

    /// How many times this etale has arrived.
    #[getter]
    fn received(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |e| e.received())
    }

    /// Whether it is paused (unsubscribed, keeping its latest data).
    #[getter]
    fn paused(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |e| e.is_paused())
    }

    fn __repr__(&self) -> String {
        format!("<emyzelium.Etale {:?} from {}>", self.title, self.key)
    }
}
