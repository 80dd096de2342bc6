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

fn class_of(kind: emz::ErrorKind) -> &'static str {
    use emz::ErrorKind as K;
    match kind {
        K::InvalidKey => "InvalidKeyError",
        K::InvalidAddress => "InvalidAddressError",
        K::InvalidPort => "InvalidPortError",
        K::InvalidTitle => "InvalidTitleError",
        K::InvalidArgument => "InvalidArgumentError",
        K::AlreadyPresent => "AlreadyPresentError",
        K::Absent => "AbsentError",
        K::AlreadyAbsent => "AlreadyAbsentError",
        K::AlreadyPaused => "AlreadyPausedError",
        K::AlreadyResumed => "AlreadyResumedError",
        K::AddressInUse => "AddressInUseError",
        K::Limit => "LimitError",
        K::Io => "IoError",
        K::CurveUnavailable => "CurveUnavailableError",
        K::Zmq => "ZmqError",
        K::Tor => "TorError",
        // A kind newer than this module: still an EmyzeliumError.
        #[allow(unreachable_patterns)]
        _ => "EmyzeliumError",
    }
}

pub(crate) fn err(e: emz::Error) -> PyErr {
    Python::attach(|py| raise(py, class_of(e.kind()), e.to_string()))
}
