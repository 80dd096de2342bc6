//! `emyzelium._emyzelium`: the compiled core of the Python package `emyzelium`.
//!
//! Thin and safe over the Rust crate: every object checks that it is used from the thread
//! that created its efunguz (others get `WrongThreadError`), every efunguz sits behind a
//! lock taken with `try_lock` (a re-entrant call from a finalizer gets an exception, never a
//! deadlock), and Python objects are built only after the lock is released.

use emyzelium as emz;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple, PyType};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

mod buffer;

// ---- errors ---------------------------------------------------------------------------------

/// The exception classes live in `emyzelium._errors` (pure Python, so they can inherit
/// from both `EmyzeliumError` and the matching builtin, e.g. `ValueError`).
static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let m = ERRORS.get_or_try_init(py, || py.import("emyzelium._errors").map(Bound::unbind))?;
    Ok(m.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

fn raise(py: Python<'_>, class: &str, msg: String) -> PyErr {
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

/// `emyzelium._state.EhyphaState`, an `enum.IntEnum` defined in Python.
static STATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn state_of(py: Python<'_>, s: emz::EhyphaState) -> PyResult<Py<PyAny>> {
    let cls = STATE.get_or_try_init(py, || py.import("emyzelium._state")?.getattr("EhyphaState").map(Bound::unbind))?;
    Ok(cls.bind(py).call1((s as u32,))?.unbind())
}

fn err(e: emz::Error) -> PyErr {
    Python::attach(|py| raise(py, class_of(e.kind()), e.to_string()))
}

// ---- argument helpers -----------------------------------------------------------------------

fn port_arg(py: Python<'_>, port: i64, what: &str) -> PyResult<u16> {
    match u16::try_from(port) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(raise(py, "InvalidPortError", format!("invalid port: {what} must be 1..=65535, got {port}"))),
    }
}

fn seconds(py: Python<'_>, s: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        raise(
            py,
            "InvalidArgumentError",
            format!("invalid argument: {what} must be a finite number of seconds >= 0, got {s}"),
        )
    })
}

/// A sequence of strings, refusing a lone `str` (which would iterate as characters).
fn strings(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
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

// ---- module-level functions -----------------------------------------------------------------

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

// ---- Efunguz --------------------------------------------------------------------------------

type ChangeList = Vec<(Arc<str>, Arc<str>)>;

/// One emyzelium peer (see the package documentation).
#[pyclass(module = "emyzelium._emyzelium", name = "Efunguz", frozen, weakref)]
pub struct PyEfunguz {
    owner: ThreadId,
    public_key: String,
    port: u16,
    inner: Mutex<Option<emz::Efunguz>>,
}

thread_local! {
    static THIS_THREAD: ThreadId = std::thread::current().id();
}

/// The calling thread's id, without the reference count `thread::current()` takes on
/// every call (each method of an efunguz checks it).
fn this_thread() -> ThreadId {
    THIS_THREAD.try_with(|t| *t).unwrap_or_else(|_| std::thread::current().id())
}

impl PyEfunguz {
    fn check_thread(&self, py: Python<'_>) -> PyResult<()> {
        if this_thread() != self.owner {
            return Err(raise(
                py,
                "WrongThreadError",
                "this efunguz belongs to the thread that created it; use it (and its ehyphae and etales) from that thread only".into(),
            ));
        }
        Ok(())
    }

    fn lock(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, Option<emz::Efunguz>>> {
        self.check_thread(py)?;
        match self.inner.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            // Only the owner thread gets here, so the holder is this very thread further up
            // the stack (a finalizer or signal handler calling back in).
            Err(TryLockError::WouldBlock) => {
                Err(PyRuntimeError::new_err("efunguz is busy: re-entrant call (from a finalizer or signal handler?)"))
            }
        }
    }

    /// Runs `f` on the open efunguz; errors of the core become exceptions.
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&mut emz::Efunguz) -> emz::Result<R>) -> PyResult<R> {
        let mut g = self.lock(py)?;
        let ef = g.as_mut().ok_or_else(|| closed(py))?;
        f(ef).map_err(err)
    }
}

/// A buffer view of each part, in order; errors name the part's index.
fn take_parts<'py>(
    inputs: &mut Vec<buffer::Input>,
    parts: impl Iterator<Item = PyResult<Bound<'py, PyAny>>>,
) -> PyResult<()> {
    inputs.reserve(parts.size_hint().0);
    for (i, p) in parts.enumerate() {
        inputs.push(buffer::Input::new(&p?, || format!("part {i}"))?);
    }
    Ok(())
}

fn closed(py: Python<'_>) -> PyErr {
    raise(py, "ClosedError", "efunguz is closed".into())
}

fn changes_of(ef: &emz::Efunguz) -> ChangeList {
    ef.changes().iter().map(|c| (c.public_key.clone(), c.title.clone())).collect()
}

fn change_list<'py>(py: Python<'py>, changes: ChangeList) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (k, t) in changes {
        list.append(PyTuple::new(py, [PyString::new(py, &k), PyString::new(py, &t)])?)?;
    }
    Ok(list)
}

#[pymethods]
impl PyEfunguz {
    #[new]
    #[pyo3(signature = (
        secret_key, whitelist = None, port = Some(emz::DEFAULT_PORT as i64),
        tor_proxy = None, *, bind_host = "*", io_threads = None, max_sockets = None,
        send_hwm = None, recv_hwm = None, max_message_size = None, reconnect_interval = None,
        reconnect_interval_max = None, heartbeat_interval = None, heartbeat_timeout = None,
        heartbeat_ttl = None, handshake_interval = None, ipv6 = false, drain_budget = None,
        retry_unsent = None, keep_latest = None, ehypha_monitor = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        secret_key: &str,
        whitelist: Option<&Bound<'_, PyAny>>,
        port: Option<i64>,
        tor_proxy: Option<(String, i64)>,
        bind_host: &str,
        io_threads: Option<i32>,
        max_sockets: Option<i32>,
        send_hwm: Option<i32>,
        recv_hwm: Option<i32>,
        max_message_size: Option<i64>,
        reconnect_interval: Option<f64>,
        reconnect_interval_max: Option<f64>,
        heartbeat_interval: Option<f64>,
        heartbeat_timeout: Option<f64>,
        heartbeat_ttl: Option<f64>,
        handshake_interval: Option<f64>,
        ipv6: bool,
        drain_budget: Option<usize>,
        retry_unsent: Option<bool>,
        keep_latest: Option<bool>,
        ehypha_monitor: Option<bool>,
    ) -> PyResult<Self> {
        let mut b = emz::Efunguz::builder(secret_key).bind_host(bind_host).ipv6(ipv6);
        if let Some(w) = whitelist {
            b = b.whitelist(strings(w, "whitelist")?);
        }
        b = match port {
            None | Some(0) => b.any_port(),
            Some(p) => b.port(port_arg(py, p, "publish port")?),
        };
        if let Some((host, p)) = tor_proxy {
            b = b.tor_proxy(&host, port_arg(py, p, "Tor proxy port")?);
        }
        let d = emz::Options::default();
        let mut o = d.clone();
        o.io_threads = io_threads.unwrap_or(d.io_threads);
        o.max_sockets = max_sockets.unwrap_or(d.max_sockets);
        o.send_hwm = send_hwm.unwrap_or(d.send_hwm);
        o.recv_hwm = recv_hwm.unwrap_or(d.recv_hwm);
        o.max_message_size = max_message_size.unwrap_or(d.max_message_size);
        o.drain_budget = drain_budget.unwrap_or(d.drain_budget);
        let dur = |v: Option<f64>, dflt: Duration, what: &str| v.map_or(Ok(dflt), |s| seconds(py, s, what));
        o.reconnect_interval = dur(reconnect_interval, d.reconnect_interval, "reconnect_interval")?;
        o.reconnect_interval_max = dur(reconnect_interval_max, d.reconnect_interval_max, "reconnect_interval_max")?;
        o.heartbeat_interval = dur(heartbeat_interval, d.heartbeat_interval, "heartbeat_interval")?;
        o.heartbeat_timeout = dur(heartbeat_timeout, d.heartbeat_timeout, "heartbeat_timeout")?;
        o.heartbeat_ttl = dur(heartbeat_ttl, d.heartbeat_ttl, "heartbeat_ttl")?;
        o.handshake_interval = dur(handshake_interval, d.handshake_interval, "handshake_interval")?;
        o.ipv6 = ipv6;
        o.retry_unsent = retry_unsent.unwrap_or(d.retry_unsent);
        o.keep_latest = keep_latest.unwrap_or(d.keep_latest);
        o.ehypha_monitor = ehypha_monitor.unwrap_or(d.ehypha_monitor);
        b = b.options(o);
        // Binding and starting libzmq may take a moment: let other threads run.
        let ef = py.detach(|| b.build()).map_err(err)?;
        Ok(PyEfunguz {
            owner: this_thread(),
            public_key: ef.public_key().to_string(),
            port: ef.port(),
            inner: Mutex::new(Some(ef)),
        })
    }

    /// This efunguz's public key (Z85).
    #[getter]
    fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The publish port (the one chosen by the system when ``port=0``).
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Whether :meth:`close` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.lock(py)?.is_none())
    }

    /// Closes every socket now (also done by ``with`` and when garbage-collected).
    /// Closing twice is fine; any other use afterwards raises ``ClosedError``.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let ef = self.lock(py)?.take();
        py.detach(move || drop(ef));
        Ok(())
    }

    fn __enter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        slf.get().with(py, |_| Ok(()))?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = match self.inner.try_lock() {
            Ok(g) if g.is_none() => " closed",
            _ => "",
        };
        format!("<emyzelium.Efunguz {} port {}{state}>", self.public_key, self.port)
    }

    // ---- whitelist ----

    /// The public keys allowed to subscribe (empty: everyone), sorted.
    #[getter]
    fn whitelist(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let mut v = self.with(py, |ef| Ok(ef.whitelist().map(str::to_string).collect::<Vec<_>>()))?;
        v.sort();
        Ok(v)
    }

    fn add_whitelist_key(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        self.with(py, |ef| ef.add_whitelist_key(key))
    }

    fn add_whitelist_keys(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<()> {
        let keys = strings(keys, "keys")?;
        self.with(py, |ef| ef.add_whitelist_keys(keys))
    }

    fn del_whitelist_key(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        self.with(py, |ef| ef.del_whitelist_key(key))
    }

    fn clear_whitelist(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |ef| {
            ef.clear_whitelist();
            Ok(())
        })
    }

    /// Adds the keys of a file (one a line); returns how many. Nothing is added when a line is bad.
    fn read_whitelist_file(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<usize> {
        self.with(py, |ef| ef.read_whitelist_file(path))
    }

    // ---- ehyphae ----

    /// Subscribes to the efunguz with ``public_key`` behind a v3 ``onion``, through Tor.
    #[pyo3(signature = (public_key, onion, port = emz::DEFAULT_PORT as i64))]
    fn add_ehypha(slf: Py<Self>, py: Python<'_>, public_key: &str, onion: &str, port: i64) -> PyResult<PyEhypha> {
        let port = port_arg(py, port, "ehypha port")?;
        slf.get().with(py, |ef| ef.add_ehypha(public_key, onion, port).map(drop))?;
        Ok(PyEhypha { ef: slf, key: public_key.to_string() })
    }

    /// Subscribes to the efunguz with ``public_key`` at ``host``:``port`` by plain TCP
    /// (LAN, loopback). ``host`` may also be ``"host:port"`` (``"[::1]:port"`` for IPv6).
    #[pyo3(signature = (public_key, host, port = None))]
    fn add_ehypha_direct(
        slf: Py<Self>,
        py: Python<'_>,
        public_key: &str,
        host: &str,
        port: Option<i64>,
    ) -> PyResult<PyEhypha> {
        let (host, port) = match port {
            Some(p) => (host.to_string(), p),
            None => split_host_port(py, host)?,
        };
        let port = port_arg(py, port, "ehypha port")?;
        slf.get().with(py, |ef| ef.add_ehypha_direct(public_key, &host, port).map(drop))?;
        Ok(PyEhypha { ef: slf, key: public_key.to_string() })
    }

    /// The ehypha of ``public_key`` (``AbsentError`` if there is none).
    fn get_ehypha(slf: Py<Self>, py: Python<'_>, public_key: &str) -> PyResult<PyEhypha> {
        slf.get().with(py, |ef| ef.get_ehypha(public_key).map(drop))?;
        Ok(PyEhypha { ef: slf, key: public_key.to_string() })
    }

    /// Disconnects from the peer and forgets its etales.
    fn del_ehypha(&self, py: Python<'_>, public_key: &str) -> PyResult<()> {
        self.with(py, |ef| ef.del_ehypha(public_key))
    }

    /// Every ehypha, in no particular order.
    #[getter]
    fn ehyphae(slf: Py<Self>, py: Python<'_>) -> PyResult<Vec<PyEhypha>> {
        let keys = slf.get().with(py, |ef| Ok(ef.ehyphae().map(|e| e.public_key().to_string()).collect::<Vec<_>>()))?;
        Ok(keys.into_iter().map(|key| PyEhypha { ef: slf.clone_ref(py), key }).collect())
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |ef| Ok(ef.ehyphae_count()))
    }

    fn __contains__(&self, py: Python<'_>, public_key: &str) -> PyResult<bool> {
        self.with(py, |ef| Ok(ef.get_ehypha(public_key).is_ok()))
    }

    // ---- publishing ----

    /// Publishes ``parts`` (bytes-like objects: bytes, bytearray, memoryview, numpy
    /// arrays…, read in place, never copied here) under ``title``, stamped with the
    /// current time or with ``t_out`` (µs since the Unix epoch). Returns ``False`` when
    /// a subscriber's queue was full (the etale is then retried by later updates unless
    /// ``retry_unsent=False`` or a newer one of the title replaces it).
    #[pyo3(signature = (title, parts = None, t_out = None))]
    fn emit_etale(
        &self,
        py: Python<'_>,
        title: &str,
        parts: Option<&Bound<'_, PyAny>>,
        t_out: Option<i64>,
    ) -> PyResult<bool> {
        // Buffers are taken before the lock: a Python-level __buffer__ may run any code.
        let mut inputs = Vec::new();
        if let Some(parts) = parts {
            if parts.is_instance_of::<PyBytes>()
                || parts.is_instance_of::<PyString>()
                || parts.is_instance_of::<pyo3::types::PyByteArray>()
            {
                let t = parts.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                return Err(PyTypeError::new_err(format!(
                    "parts must be an iterable of bytes-like objects, not {t} (wrap a single part in a list: [data])"
                )));
            }
            // Lists and tuples (the usual case) without an iterator object.
            if let Ok(list) = parts.cast::<PyList>() {
                take_parts(&mut inputs, list.iter().map(Ok))?;
            } else if let Ok(tuple) = parts.cast::<PyTuple>() {
                take_parts(&mut inputs, tuple.iter().map(Ok))?;
            } else {
                let iter = parts.try_iter().map_err(|_| {
                    let t = parts.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                    PyTypeError::new_err(format!("parts must be an iterable of bytes-like objects, not {t}"))
                })?;
                take_parts(&mut inputs, iter)?;
            }
        }
        self.with(py, |ef| match t_out {
            Some(t) => ef.emit_etale_at(title, &inputs, t),
            None => ef.emit_etale(title, &inputs),
        })
    }

    /// Titles whose latest etale still waits for room in a subscriber's queue.
    #[getter]
    fn unsent_etales(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |ef| Ok(ef.unsent_etales()))
    }

    // ---- onion service ----

    /// Publishes this efunguz behind a v3 onion service made through Tor's control port
    /// ``control`` (``"HOST:PORT"``): onion port = publish port, forwarded to 127.0.0.1.
    /// Authentication: Tor's ``cookie`` file, or its control ``password``, or (neither)
    /// whatever Tor offers. Key: ``key`` (``"ED25519-V3:…"`` from an earlier service), or
    /// ``key_file`` (created, mode 0600, with a new key when missing: the address survives
    /// restarts), or (neither) a new key each time. Returns the onion without ``.onion``;
    /// the service goes with :meth:`unpublish_onion` or :meth:`close`. Blocks (without the
    /// GIL) while Tor answers. Tor failures raise ``TorError``.
    #[pyo3(signature = (control = "127.0.0.1:9051", *, cookie = None, password = None, key = None, key_file = None))]
    fn publish_onion(
        &self,
        py: Python<'_>,
        control: &str,
        cookie: Option<std::path::PathBuf>,
        password: Option<String>,
        key: Option<String>,
        key_file: Option<std::path::PathBuf>,
    ) -> PyResult<String> {
        let auth = match (cookie, password) {
            (Some(_), Some(_)) => {
                return Err(raise(
                    py,
                    "InvalidArgumentError",
                    "invalid argument: give cookie or password, not both".into(),
                ))
            }
            (Some(c), None) => emz::TorAuth::Cookie(c),
            (None, Some(p)) => emz::TorAuth::Password(p),
            (None, None) => emz::TorAuth::Auto,
        };
        let key = match (key, key_file) {
            (Some(_), Some(_)) => {
                return Err(raise(
                    py,
                    "InvalidArgumentError",
                    "invalid argument: give key or key_file, not both".into(),
                ))
            }
            (Some(k), None) => emz::OnionKey::Ed25519V3(k),
            (None, Some(f)) => emz::OnionKey::File(f),
            (None, None) => emz::OnionKey::New,
        };
        let mut g = self.lock(py)?;
        let ef = g.as_mut().ok_or_else(|| closed(py))?;
        py.detach(|| ef.publish_onion(control, &auth, &key)).map_err(err)
    }

    /// The onion published by :meth:`publish_onion` (without ``.onion``), or ``None``.
    #[getter]
    fn onion(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.with(py, |ef| Ok(ef.onion().map(str::to_string)))
    }

    /// Removes the onion service now (``AlreadyAbsentError`` when there is none).
    fn unpublish_onion(&self, py: Python<'_>) -> PyResult<()> {
        let mut g = self.lock(py)?;
        let ef = g.as_mut().ok_or_else(|| closed(py))?;
        py.detach(|| ef.unpublish_onion()).map_err(err)
    }

    // ---- the loop ----

    /// Does all pending work without blocking; returns the ``(public_key, title)`` of
    /// each etale that got new data, once each.
    fn update<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let changes = self.with(py, |ef| {
            ef.update()?;
            Ok(changes_of(ef))
        })?;
        change_list(py, changes)
    }

    /// Blocks until some etale gets new data or ``timeout`` seconds pass (``None``: no
    /// limit), doing the work of :meth:`update` meanwhile; returns the changes (empty on
    /// timeout). Other threads run meanwhile, and Ctrl-C (any signal handler that raises)
    /// interrupts it within 50 ms.
    #[pyo3(signature = (timeout = None))]
    fn wait<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyList>> {
        const SLICE: Duration = Duration::from_millis(50);
        let timeout = timeout.map(|t| seconds(py, t, "timeout")).transpose()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = self.lock(py)?;
        let ef = g.as_mut().ok_or_else(|| closed(py))?;
        loop {
            let slice = match deadline {
                None => SLICE,
                Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
            };
            let n = py.detach(|| ef.wait(Some(slice))).map_err(err)?;
            if n > 0 {
                let changes = changes_of(ef);
                drop(g);
                return change_list(py, changes);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(PyList::empty(py));
            }
            // Signal handlers run here; KeyboardInterrupt propagates.
            py.check_signals()?;
        }
    }

    // ---- counters ----

    /// TCP connections accepted by the publish socket.
    #[getter]
    fn in_attempted(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ef| Ok(ef.in_attempted()))
    }

    /// CURVE handshakes that passed (keys allowed by the whitelist).
    #[getter]
    fn in_permitted(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ef| Ok(ef.in_permitted()))
    }

    /// Connections open now.
    #[getter]
    fn in_absorbing(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ef| Ok(ef.in_absorbing()))
    }

    /// What all ehyphae received and dropped so far (deleted ones included).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<PyStats> {
        self.with(py, |ef| Ok(ef.stats().into()))
    }
}

fn split_host_port(py: Python<'_>, s: &str) -> PyResult<(String, i64)> {
    let bad = || raise(py, "InvalidAddressError", format!("invalid address {s:?}: expected HOST:PORT (or give port=)"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(bad());
    }
    let port: i64 = port.parse().map_err(|_| bad())?;
    Ok((host.to_string(), port))
}

// ---- Ehypha ---------------------------------------------------------------------------------

/// The subscription to one peer. Resolved on each use: after ``del_ehypha`` its methods
/// raise ``AbsentError``.
#[pyclass(module = "emyzelium._emyzelium", name = "Ehypha", frozen)]
pub struct PyEhypha {
    ef: Py<PyEfunguz>,
    key: String,
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

// ---- Etale ----------------------------------------------------------------------------------

/// The latest value of one title from one peer. Resolved on each use: after its deletion
/// (or its ehypha's) reading it raises ``AbsentError``.
#[pyclass(module = "emyzelium._emyzelium", name = "Etale", frozen)]
pub struct PyEtale {
    ef: Py<PyEfunguz>,
    key: String,
    title: String,
}

impl PyEtale {
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&emz::Etale) -> R) -> PyResult<R> {
        let (key, title) = (&self.key, &self.title);
        self.ef.get().with(py, |ef| Ok(f(ef.get_ehypha(key)?.get_etale(title)?)))
    }
}

#[pymethods]
impl PyEtale {
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

    #[getter]
    fn paused(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |e| e.is_paused())
    }

    fn __repr__(&self) -> String {
        format!("<emyzelium.Etale {:?} from {}>", self.title, self.key)
    }
}

// ---- Stats ----------------------------------------------------------------------------------

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
}

impl From<emz::Stats> for PyStats {
    fn from(s: emz::Stats) -> Self {
        PyStats { received: s.received, malformed: s.malformed, unknown_title: s.unknown_title, paused: s.paused }
    }
}

#[pymethods]
impl PyStats {
    fn __repr__(&self) -> String {
        format!(
            "Stats(received={}, malformed={}, unknown_title={}, paused={})",
            self.received, self.malformed, self.unknown_title, self.paused
        )
    }
}

// ---- module ---------------------------------------------------------------------------------

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
    m.add("DEFAULT_PORT", emz::DEFAULT_PORT)?;
    m.add("DEFAULT_TOR_PROXY_HOST", emz::DEFAULT_TOR_PROXY_HOST)?;
    m.add("DEFAULT_TOR_PROXY_PORT", emz::DEFAULT_TOR_PROXY_PORT)?;
    m.add("CORE_VERSION", emz::VERSION)?;
    Ok(())
}
