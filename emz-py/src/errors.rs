//! The exception classes and how the core's errors map to them.

use emyzelium as emz;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The exception classes live in `emyzelium._errors` (pure Python, so they can inherit
/// from both `EmyzeliumError` and the matching builtin, e.g. `ValueError`).
static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let m = ERRORS.get_or_try_init(py, || py.import("emyzelium._errors").map(Bound::unbind))?;
    Ok(m.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

pub(crate) fn raise(py: Python<'_>, class: &str, msg: String) -> PyErr {
    match error_class(py, class) {
        Ok(cls) => PyErr::from_type(cls, msg),
        Err(e) => e,
    }
}

/// The class of a kind: the core's name + `Error` (`InvalidKey` -> `InvalidKeyError`), so the
/// core's table is the only list; `tests/test_tables.py` checks every kind has its class.
fn class_of(kind: emz::ErrorKind) -> String {
    format!("{}Error", kind.name())
}

pub(crate) fn err(e: emz::Error) -> PyErr {
    Python::attach(|py| {
        let class = class_of(e.kind());
        match error_class(py, &class) {
            Ok(cls) => PyErr::from_type(cls, e.to_string()),
            // A kind newer than the Python classes: still an EmyzeliumError.
            Err(_) => raise(py, "EmyzeliumError", e.to_string()),
        }
    })
}

/// The core's error kinds as ``[(name, code)]``, the table the exception classes of
/// ``emyzelium._errors`` are checked against.
#[pyfunction(name = "_error_kinds")]
pub(crate) fn error_kinds() -> Vec<(&'static str, u32)> {
    emz::ErrorKind::ALL.iter().map(|k| (k.name(), k.code())).collect()
}
