//! `Efunguz`: one peer, owned by the thread that created it.

use crate::args::{port_arg, seconds, split_host_port, strings};
use crate::buffer;
use crate::ehypha::PyEhypha;
use crate::errors::{err, raise};
use crate::stats::PyStats;
use emyzelium as emz;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

type ChangeList = Vec<(Arc<str>, Arc<str>)>;

/// The field names of the core's `Options`, the table the keyword arguments of
/// `Efunguz()` are checked against. `Options` is `#[non_exhaustive]`, so no pattern here
/// can name every field; its derived `Debug` does (`Options { io_threads: 2, ... }`, no
/// field value holds a comma or a brace).
#[pyfunction(name = "_option_fields")]
pub(crate) fn option_fields() -> Vec<String> {
    let debug = format!("{:?}", emz::Options::default());
    let body = debug.split_once('{').and_then(|(_, rest)| rest.rsplit_once('}')).map_or("", |(body, _)| body);
    body.split(", ").filter_map(|field| field.split_once(':')).map(|(name, _)| name.trim().to_string()).collect()
}

/// One emyzelium peer (see the package documentation).
///
/// Who may subscribe: with ``everyone=None`` (the default) the original rule holds, an
/// empty whitelist lets everyone: ``whitelist=None`` and ``whitelist=[]`` both mean
/// everyone, a non-empty list means those keys only. ``everyone=True`` opens explicitly
/// (the whitelist must then be empty). ``everyone=False`` takes the whitelist as it is:
/// ``None`` or ``[]`` admits nobody until keys are added or :meth:`allow_everyone` is
/// called. Removing keys never widens access, and removed keys lose their live sessions
/// by the next :meth:`update`.
///
/// The keyword options are the core's ``Options``, durations in seconds; among them,
/// limits against hostile peers: ``publish_handshake_interval`` (longest handshake at the
/// publish socket, 10 s), ``publish_max_message_size`` (largest message a subscriber may
/// send, bytes; -1 = none; default the largest subscription), ``min_fd_limit`` (the soft
/// open-files limit is raised to at least this; 0 leaves it), ``drain_frame_budget`` and
/// ``drain_byte_budget`` (most frames and bytes taken from one ehypha per update) and
/// ``max_parts`` (more data parts drop the etale, counted in ``Stats.too_many_parts``).
/// Against slow peers: ``supersede_after_ms`` (an etale queued, at the publisher or in an
/// ehypha, behind a newer one of its title is dropped unread after that many ms, so a
/// subscriber that stopped reading reaches the current values at once; 50; -1 = never;
/// counted in :attr:`superseded` and ``Stats.superseded``).
///
/// Threads: an efunguz, its ehyphae and etales are used from the thread that created
/// the efunguz; any other thread gets ``WrongThreadError``. :meth:`wait` releases the
/// GIL, so other threads run meanwhile. asyncio is fine, as its loop runs on one
/// thread: call :meth:`update` from a task between ``await asyncio.sleep(...)``; not
/// :meth:`wait`, which blocks the loop, nor ``run_in_executor``, whose threads are
/// others.
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
    pub(crate) fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&mut emz::Efunguz) -> emz::Result<R>) -> PyResult<R> {
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

pub(crate) fn closed(py: Python<'_>) -> PyErr {
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
    // The text signature spells DEFAULT_PORT out, which pyo3 cannot render; a test
    // (emz-py/tests/test_docs.py) checks that it matches the module's DEFAULT_PORT.
    #[pyo3(signature = (
        secret_key, whitelist = None, port = Some(emz::DEFAULT_PORT as i64),
        tor_proxy = None, *, bind_host = "*", io_threads = None, max_sockets = None,
        send_hwm = None, recv_hwm = None, max_message_size = None, reconnect_interval = None,
        reconnect_interval_max = None, heartbeat_interval = None, heartbeat_timeout = None,
        heartbeat_ttl = None, handshake_interval = None, ipv6 = false, drain_budget = None,
        retry_unsent = None, keep_latest = None, ehypha_monitor = None, everyone = None,
        publish_handshake_interval = None, publish_max_message_size = None, min_fd_limit = None,
        drain_frame_budget = None, drain_byte_budget = None, max_parts = None,
        publish_queue_bytes = None, publish_send_buffer = None, recv_buffer = None,
        supersede_after_ms = None
    ), text_signature = "(secret_key, whitelist=None, port=60847, tor_proxy=None, *, bind_host='*', \
        io_threads=None, max_sockets=None, send_hwm=None, recv_hwm=None, max_message_size=None, \
        reconnect_interval=None, reconnect_interval_max=None, heartbeat_interval=None, \
        heartbeat_timeout=None, heartbeat_ttl=None, handshake_interval=None, ipv6=False, \
        drain_budget=None, retry_unsent=None, keep_latest=None, ehypha_monitor=None, everyone=None, \
        publish_handshake_interval=None, publish_max_message_size=None, min_fd_limit=None, \
        drain_frame_budget=None, drain_byte_budget=None, max_parts=None, publish_queue_bytes=None, \
        publish_send_buffer=None, recv_buffer=None, supersede_after_ms=None)")]
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
        everyone: Option<bool>,
        publish_handshake_interval: Option<f64>,
        publish_max_message_size: Option<i64>,
        min_fd_limit: Option<u64>,
        drain_frame_budget: Option<usize>,
        drain_byte_budget: Option<usize>,
        max_parts: Option<usize>,
        publish_queue_bytes: Option<i32>,
        publish_send_buffer: Option<i32>,
        recv_buffer: Option<i32>,
        supersede_after_ms: Option<i32>,
    ) -> PyResult<Self> {
        let mut b = emz::Efunguz::builder(secret_key).bind_host(bind_host).ipv6(ipv6);
        let keys = whitelist.map(|w| strings(w, "whitelist")).transpose()?.unwrap_or_default();
        b = match everyone {
            // The original constructor's rule, kept for compatibility: no keys, everyone.
            None if keys.is_empty() => b.allow_everyone(),
            None | Some(false) => b.whitelist(keys),
            Some(true) if keys.is_empty() => b.allow_everyone(),
            Some(true) => {
                let msg = "invalid argument: everyone=True and a non-empty whitelist contradict each other".into();
                return Err(raise(py, "InvalidArgumentError", msg));
            }
        };
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
        o.publish_max_message_size = publish_max_message_size.unwrap_or(d.publish_max_message_size);
        o.min_fd_limit = min_fd_limit.unwrap_or(d.min_fd_limit);
        o.drain_frame_budget = drain_frame_budget.unwrap_or(d.drain_frame_budget);
        o.drain_byte_budget = drain_byte_budget.unwrap_or(d.drain_byte_budget);
        o.max_parts = max_parts.unwrap_or(d.max_parts);
        o.publish_queue_bytes = publish_queue_bytes.unwrap_or(d.publish_queue_bytes);
        o.publish_send_buffer = publish_send_buffer.unwrap_or(d.publish_send_buffer);
        o.recv_buffer = recv_buffer.unwrap_or(d.recv_buffer);
        o.supersede_after_ms = supersede_after_ms.unwrap_or(d.supersede_after_ms);
        let dur = |v: Option<f64>, dflt: Duration, what: &str| v.map_or(Ok(dflt), |s| seconds(py, s, what));
        o.reconnect_interval = dur(reconnect_interval, d.reconnect_interval, "reconnect_interval")?;
        o.reconnect_interval_max = dur(reconnect_interval_max, d.reconnect_interval_max, "reconnect_interval_max")?;
        o.heartbeat_interval = dur(heartbeat_interval, d.heartbeat_interval, "heartbeat_interval")?;
        o.heartbeat_timeout = dur(heartbeat_timeout, d.heartbeat_timeout, "heartbeat_timeout")?;
        o.heartbeat_ttl = dur(heartbeat_ttl, d.heartbeat_ttl, "heartbeat_ttl")?;
        o.handshake_interval = dur(handshake_interval, d.handshake_interval, "handshake_interval")?;
        o.publish_handshake_interval =
            dur(publish_handshake_interval, d.publish_handshake_interval, "publish_handshake_interval")?;
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
        let fd = self.lock(py)?.as_ref().map(|ef| ef.as_raw_fd());
        if let Some(fd) = fd {
            // A pending wait_async stops watching the fd before it closes, and raises.
            let modules = py.import("sys")?.getattr("modules")?;
            if let Ok(aio) = modules.get_item("emyzelium._aio") {
                aio.call_method1("closing", (fd,))?;
            }
        }
        let ef = self.lock(py)?.take();
        py.detach(move || drop(ef));
        Ok(())
    }

    /// Returns the efunguz itself, for ``with Efunguz(...) as ef:``.
    fn __enter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        slf.get().with(py, |_| Ok(()))?;
        Ok(slf)
    }

    /// Closes the efunguz (see :meth:`close`); exceptions go on.
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

    /// The public keys allowed to subscribe, sorted. Empty either when the efunguz is open
    /// (:attr:`is_open`) or when it admits nobody.
    #[getter]
    fn whitelist(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let mut v = self.with(py, |ef| Ok(ef.whitelist().map(str::to_string).collect::<Vec<_>>()))?;
        v.sort();
        Ok(v)
    }

    /// Whether everyone may subscribe (open mode, no whitelist).
    #[getter]
    fn is_open(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |ef| Ok(ef.is_open()))
    }

    /// Lets everyone subscribe and forgets the whitelist. Widens access: no live session
    /// is cut.
    fn allow_everyone(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |ef| {
            ef.allow_everyone();
            Ok(())
        })
    }

    /// Allows ``key`` to subscribe (from its next handshake on). On an open efunguz this
    /// switches to whitelist mode with ``key`` alone: every other subscriber's session is
    /// cut by the next :meth:`update` (honest subscribers of listed keys reconnect by
    /// themselves).
    fn add_whitelist_key(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        self.with(py, |ef| ef.add_whitelist_key(key))
    }

    /// As :meth:`add_whitelist_key` for several keys; nothing changes when one is bad.
    fn add_whitelist_keys(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<()> {
        let keys = strings(keys, "keys")?;
        self.with(py, |ef| ef.add_whitelist_keys(keys))
    }

    /// Stops allowing ``key``: its live sessions are cut by the next :meth:`update`.
    /// Deleting the last key leaves nobody allowed (never everyone).
    fn del_whitelist_key(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        self.with(py, |ef| ef.del_whitelist_key(key))
    }

    /// Empties the whitelist and leaves open mode: nobody may subscribe, and every live
    /// session is cut by the next :meth:`update`. :meth:`allow_everyone` opens again.
    fn clear_whitelist(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |ef| {
            ef.clear_whitelist();
            Ok(())
        })
    }

    /// Adds the keys of a file (one a line); returns how many. Nothing is added when a line
    /// is bad. On an open efunguz this narrows access to the file's keys (as
    /// :meth:`add_whitelist_keys`).
    fn read_whitelist_file(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<usize> {
        self.with(py, |ef| ef.read_whitelist_file(path))
    }

    // ---- ehyphae ----

    /// Subscribes to the efunguz with ``public_key`` behind a v3 ``onion``, through Tor.
    #[pyo3(
        signature = (public_key, onion, port = emz::DEFAULT_PORT as i64),
        text_signature = "($self, public_key, onion, port=60847)"
    )]
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

    /// Subscribes to the efunguz with ``public_key`` at ``address``: ``"host:port"``,
    /// ``"[ipv6]:port"`` or ``"<onion>.onion:port"``. An onion is reached through Tor (as
    /// :meth:`add_ehypha`), anything else by plain TCP (as :meth:`add_ehypha_direct`).
    fn add_ehypha_at(slf: Py<Self>, py: Python<'_>, public_key: &str, address: &str) -> PyResult<PyEhypha> {
        slf.get().with(py, |ef| ef.add_ehypha_at(public_key, emz::Address::parse(address)?).map(drop))?;
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
    /// current time or with ``t_out`` (µs since the Unix epoch). Never blocks. Returns
    /// ``False`` when the etale could not be queued for at least one subscriber (its
    /// queue is full): it is then pending as that subscriber's latest of the title and
    /// goes out, during a later update, as soon as that subscriber has room, unless a
    /// newer etale of the title supersedes it first. The others got it now: a full
    /// subscriber delays nobody (see ``retry_unsent``).
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

    /// Titles whose latest etale is still pending for some subscriber, waiting for room
    /// in its queue (0 when every subscriber has the latest of every title).
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
        let cookie = match cookie.as_deref().map(|c| c.to_str()) {
            None => None,
            Some(Some(c)) => Some(c),
            Some(None) => {
                let msg = format!("invalid argument: the cookie path {cookie:?} is not UTF-8");
                return Err(raise(py, "InvalidArgumentError", msg));
            }
        };
        let auth = emz::TorAuth::from_choice(cookie, password.as_deref()).map_err(err)?;
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

    /// The readiness file descriptor, for ``select``/``selectors``/an event loop:
    /// readable exactly when :meth:`update` has work. Watched level-triggered (asyncio's
    /// ``add_reader``, ``select``), it stops being readable once an update did the work;
    /// edge-triggered watchers call :meth:`update` until it returns nothing. It belongs to
    /// the efunguz: never read or close it, and stop watching it before :meth:`close`.
    fn fileno(&self, py: Python<'_>) -> PyResult<i32> {
        self.with(py, |ef| Ok(ef.as_raw_fd()))
    }

    /// ``await``-able :meth:`wait` for asyncio: returns the changes once some etale got
    /// new data, or an empty list after ``timeout`` seconds (``None``: no limit). The
    /// loop runs meanwhile (it watches :meth:`fileno` with ``add_reader``); cancelling
    /// the wait removes the reader and leaves the efunguz usable; :meth:`close` meanwhile
    /// raises ``ClosedError`` in it. One wait at a time per efunguz; efungi of one loop
    /// wait side by side.
    #[pyo3(signature = (timeout = None))]
    fn wait_async<'py>(slf: &Bound<'py, Self>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if let Some(t) = timeout {
            seconds(py, t, "timeout")?;
        }
        slf.get().with(py, |_| Ok(()))?;
        py.import("emyzelium._aio")?.call_method1("wait_async", (slf, timeout))
    }

    /// An async iterator over the changes as they come, for ``async for changes in
    /// ef.changes_async():`` (each item as :meth:`wait_async` returns it, never empty); it
    /// ends when the efunguz is closed between items.
    fn changes_async<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        slf.get().with(py, |_| Ok(()))?;
        py.import("emyzelium._aio")?.call_method1("changes_async", (slf,))
    }

    /// Blocks until some etale gets new data or ``timeout`` seconds pass (``None``: no
    /// limit), doing the work of :meth:`update` meanwhile; returns the changes (empty on
    /// timeout). Other threads run meanwhile, and Ctrl-C (any signal handler that raises)
    /// interrupts it within 50 ms.
    #[pyo3(signature = (timeout = None))]
    fn wait<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyList>> {
        const SLICE: Duration = Duration::from_millis(50);
        let timeout = timeout.map(|t| seconds(py, t, "timeout")).transpose()?;
        // A timeout beyond what the clock can count is refused rather than overflowing it.
        let deadline = match timeout {
            None => None,
            Some(t) => Some(Instant::now().checked_add(t).ok_or_else(|| {
                let msg = format!(
                    "invalid argument: timeout {} s is too far in the future (use None: no limit)",
                    t.as_secs_f64()
                );
                raise(py, "InvalidArgumentError", msg)
            })?),
        };
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

    /// Handshakes at the publish socket that failed: key refused, protocol error (a frame
    /// above ``publish_max_message_size`` included), or not done within
    /// ``publish_handshake_interval``.
    #[getter]
    fn in_failed(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ef| Ok(ef.counters().in_failed))
    }

    /// Subscriptions (and unsubscriptions) the publish socket ignored because they are
    /// not a title and its NUL terminator.
    #[getter]
    fn bad_subscriptions(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ef| Ok(ef.counters().bad_subscriptions))
    }

    /// Etales dropped unread from a subscriber's queue at the publisher: a newer one of
    /// the same title was queued behind it and it had waited ``supersede_after_ms``.
    #[getter]
    fn superseded(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ef| Ok(ef.counters().superseded))
    }

    /// What all ehyphae received and dropped so far (deleted ones included).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<PyStats> {
        self.with(py, |ef| Ok(ef.stats().into()))
    }
}
