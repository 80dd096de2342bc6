//! `emyzelium._emyzelium`: the compiled core of the Python package `emyzelium`.
//!
//! Thin and safe over the Rust crate: every object checks that it is used from the thread
//! that created its efunguz (others get `WrongThreadError`), every efunguz sits behind a
//! lock taken with `try_lock` (a re-entrant call from a finalizer gets an exception, never a
//! deadlock), and Python objects are built only after the lock is released.

mod args;
mod buffer;
mod efunguz;
mod ehypha;
mod errors;
mod etale;
mod stats;

use efunguz::PyEfunguz;
use ehypha::PyEhypha;
use emyzelium as emz;
use errors::err;
use etale::PyEtale;
use pyo3::prelude::*;
use stats::PyStats;

/// A new CURVE key pair as ``(public, secret)``, both 40-character Z85 strings.
#[pyfunction]
fn keypair() -> PyResult<(String, String)> {
    emz::new_key_pair().map_err(err)
}

/// The Z85 public key of a Z85 secret key.
#[pyfunction]
fn public_key(secret_key: &str) -> PyResult<String> {
    emz::public_key(secret_key).map_err(err)
}

/// Whether ``key`` is a valid Z85-encoded CURVE key (public or secret).
#[pyfunction]
fn is_valid_key(key: &str) -> bool {
    emz::is_valid_key(key)
}

/// Microseconds since the Unix epoch, the clock of ``t_out`` and ``t_in``.
#[pyfunction]
fn now_us() -> i64 {
    emz::now_us()
}

/// Version of the libzmq inside this module, as ``(major, minor, patch)``.
#[pyfunction]
fn libzmq_version() -> (i32, i32, i32) {
    emz::libzmq_version()
}

/// Public keys of a file, one a line (blank lines and ``#`` comments allowed).
#[pyfunction]
fn read_keys_file(path: std::path::PathBuf) -> PyResult<Vec<String>> {
    emz::read_keys_file(path).map_err(err)
}

#[pymodule]
fn _emyzelium(m: &Bound<'_, PyModule>) -> PyResult<()> {
    buffer::init_part_type(m.py())?;
    m.add_class::<PyEfunguz>()?;
    m.add_class::<PyEhypha>()?;
    m.add_class::<PyEtale>()?;
    m.add_class::<PyStats>()?;
    m.add_function(wrap_pyfunction!(keypair, m)?)?;
    m.add_function(wrap_pyfunction!(public_key, m)?)?;
    m.add_function(wrap_pyfunction!(is_valid_key, m)?)?;
    m.add_function(wrap_pyfunction!(now_us, m)?)?;
    m.add_function(wrap_pyfunction!(libzmq_version, m)?)?;
    m.add_function(wrap_pyfunction!(read_keys_file, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(ehypha::ehypha_states, m)?)?;
    m.add_function(wrap_pyfunction!(efunguz::option_fields, m)?)?;
    m.add("DEFAULT_PORT", emz::DEFAULT_PORT)?;
    m.add("DEFAULT_TOR_PROXY_HOST", emz::DEFAULT_TOR_PROXY_HOST)?;
    m.add("DEFAULT_TOR_PROXY_PORT", emz::DEFAULT_TOR_PROXY_PORT)?;
    m.add("CORE_VERSION", emz::VERSION)?;
    Ok(())
}
