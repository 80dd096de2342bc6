//! Conversions of Python arguments the core's types do not cover.

use crate::errors::raise;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::time::Duration;

pub(crate) fn port_arg(py: Python<'_>, port: i64, what: &str) -> PyResult<u16> {
    match u16::try_from(port) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(raise(py, "InvalidPortError", format!("invalid port: {what} must be 1..=65535, got {port}"))),
    }
}

pub(crate) fn seconds(py: Python<'_>, s: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        raise(
            py,
            "InvalidArgumentError",
            format!("invalid argument: {what} must be a finite number of seconds >= 0, got {s}"),
        )
    })
}

/// A sequence of strings, refusing a lone `str` (which would iterate as characters).
pub(crate) fn strings(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("{what} must be an iterable of str, not a single str")));
    }
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(|_| PyTypeError::new_err(format!("{what} must be an iterable of str")))? {
        let item = item?;
        let s: String = item.extract().map_err(|_| {
            let t = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            PyTypeError::new_err(format!("{what} must hold str, not {t}"))
        })?;
        out.push(s);
    }
    Ok(out)
}

pub(crate) fn split_host_port(py: Python<'_>, s: &str) -> PyResult<(String, i64)> {
    let bad = || raise(py, "InvalidAddressError", format!("invalid address {s:?}: expected HOST:PORT (or give port=)"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(bad());
    }
    let port: i64 = port.parse().map_err(|_| bad())?;
    Ok((host.to_string(), port))
}
