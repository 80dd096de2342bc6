//! The C ABI of emyzelium: `libemyzelium.so` / `libemyzelium.a` and the header
//! `include/emyzelium.h`, generated from this file by cbindgen (`make header`).
//!
//! Only translation lives here: every call goes to the Rust core (`emz-core`), so C,
//! C++, Rust and Python programs run the very same implementation.
//!
//! Memory model of the handles:
//! - `emz_efunguz_t` is a `Box` owned by the caller (`emz_efunguz_new*` …
//!   `emz_efunguz_free`).
//! - Each ehypha and each etale added through this API gets one *view* object
//!   (`emz_ehypha_t`, `emz_etale_t`), allocated separately and owned by the efunguz
//!   handle through raw pointers, so that a `&mut` to the handle never overlaps a view.
//!   A view names its ehypha by public key and its etale by title and resolves them in
//!   the core on each call; it is freed when its ehypha or etale is deleted, or with
//!   the efunguz.
//! - No Rust panic crosses the boundary: every entry point runs under `catch_unwind`.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use emyzelium::{Efunguz, EhyphaState, Error, ErrorKind, OnionKey, Options, TorAuth};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::Duration;

// ---- constants --------------------------------------------------------------------------

/// Length of a Z85-encoded CURVE key (public or secret), without the terminating NUL.
pub const EMZ_KEY_Z85_LEN: usize = 40;
/// Size of a buffer that receives a key: 40 characters and the terminating NUL.
pub const EMZ_KEY_BUF_LEN: usize = 41;
/// Default publish port of an efunguz.
pub const EMZ_DEFAULT_PORT: u16 = 60847;
/// Default port of Tor's SOCKS proxy (its host is 127.0.0.1).
pub const EMZ_DEFAULT_TOR_PROXY_PORT: u16 = 9050;

// ---- result codes -----------------------------------------------------------------------

/// Result of every fallible function. `EMZ_OK` is 0; codes from 1 up to 98 are
/// one-to-one with the Rust core's `ErrorKind` (new kinds take the next numbers), and a
/// kind newer than the header you compiled against comes as `EMZ_ERR_OTHER` (99); 100
/// and up belong to the C boundary. Turn a code into text
/// with `emz_result_str`, and get the detailed message of the last failure with
/// `emz_efunguz_last_error` (per handle) or `emz_last_error` (per thread).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emz_result_t {
    /// Success.
    EMZ_OK = 0,
    /// A CURVE key that is not 40 characters of Z85 encoding 32 bytes (also: longer
    /// than 40 characters or not NUL-terminated within 41 bytes, or not UTF-8).
    EMZ_ERR_INVALID_KEY = 1,
    /// An onion that is not a valid v3 address (checksum verified), or a bad host.
    EMZ_ERR_INVALID_ADDRESS = 2,
    /// Port 0 where a real port is needed.
    EMZ_ERR_INVALID_PORT = 3,
    /// A title that cannot be sent (contains a NUL byte: impossible from C strings).
    EMZ_ERR_INVALID_TITLE = 4,
    /// An argument out of its domain (an option's value, say).
    EMZ_ERR_INVALID_ARGUMENT = 5,
    /// Adding what is already there: an ehypha's key, an etale's title, a whitelist key.
    EMZ_ERR_ALREADY_PRESENT = 6,
    /// Looking up what is not there.
    EMZ_ERR_ABSENT = 7,
    /// Deleting what is not there.
    EMZ_ERR_ALREADY_ABSENT = 8,
    /// Pausing an etale that is paused.
    EMZ_ERR_ALREADY_PAUSED = 9,
    /// Resuming an etale that is not paused.
    EMZ_ERR_ALREADY_RESUMED = 10,
    /// The publish endpoint is taken by another socket.
    EMZ_ERR_ADDRESS_IN_USE = 11,
    /// Out of sockets or file descriptors.
    EMZ_ERR_LIMIT = 12,
    /// Reading a whitelist file failed, or a line of it is not a key.
    EMZ_ERR_IO = 13,
    /// The linked libzmq has no CURVE (never with the bundled libzmq).
    EMZ_ERR_CURVE_UNAVAILABLE = 14,
    /// libzmq refused an operation.
    EMZ_ERR_ZMQ = 15,
    /// Tor's control port is missing, refused us, or refused a command.
    EMZ_ERR_TOR = 16,
    /// A kind of failure this header predates (the core added it later): see the
    /// message from `emz_last_error`.
    EMZ_ERR_OTHER = 99,
    /// A required pointer argument was NULL.
    EMZ_ERR_NULL_ARGUMENT = 100,
    /// A string argument is not valid UTF-8.
    EMZ_ERR_INVALID_UTF8 = 101,
    /// A bug: the library panicked. The handle is still safe to free.
    EMZ_ERR_PANIC = 102,
}

use emz_result_t::*;

/// Where an ehypha's connection to its peer stands (`emz_ehypha_state`), from a monitor
/// on its socket (see `emz_options_t.ehypha_monitor`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emz_ehypha_state_t {
    /// Not monitored (`ehypha_monitor` off), or a state this header predates.
    EMZ_EHYPHA_UNKNOWN = 0,
    /// Connecting (TCP, or through Tor's SOCKS proxy).
    EMZ_EHYPHA_CONNECTING = 1,
    /// The last attempt failed; another comes after the reconnect interval.
    EMZ_EHYPHA_RETRYING = 2,
    /// Connected; the CURVE handshake is under way.
    EMZ_EHYPHA_HANDSHAKING = 3,
    /// Handshake done: etales flow.
    EMZ_EHYPHA_UP = 4,
    /// The peer's whitelist refused our key. Retried after the reconnect backoff cap
    /// (`reconnect_interval_max_ms`), so a whitelist change over there takes effect.
    EMZ_EHYPHA_REJECTED = 5,
    /// The handshake failed otherwise (wrong server key, protocol error).
    EMZ_EHYPHA_FAILED = 6,
    /// The connection went down; libzmq reconnects.
    EMZ_EHYPHA_DISCONNECTED = 7,
}

fn state_of(s: EhyphaState) -> emz_ehypha_state_t {
    use emz_ehypha_state_t::*;
    match s {
        EhyphaState::Unknown => EMZ_EHYPHA_UNKNOWN,
        EhyphaState::Connecting => EMZ_EHYPHA_CONNECTING,
        EhyphaState::Retrying => EMZ_EHYPHA_RETRYING,
        EhyphaState::Handshaking => EMZ_EHYPHA_HANDSHAKING,
        EhyphaState::Up => EMZ_EHYPHA_UP,
        EhyphaState::Rejected => EMZ_EHYPHA_REJECTED,
        EhyphaState::Failed => EMZ_EHYPHA_FAILED,
        EhyphaState::Disconnected => EMZ_EHYPHA_DISCONNECTED,
        // A state added to the core after this header.
        #[allow(unreachable_patterns)]
        _ => EMZ_EHYPHA_UNKNOWN,
    }
}

/// How `emz_publish_onion` proves to Tor that it may control it (`auth_kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emz_tor_auth_t {
    /// Ask Tor (PROTOCOLINFO) and use what it offers: no auth, or its cookie file.
    /// `auth_value` is ignored (NULL is fine).
    EMZ_TOR_AUTH_AUTO = 0,
    /// `auth_value` is the path of Tor's cookie file (`control_auth_cookie`).
    EMZ_TOR_AUTH_COOKIE = 1,
    /// `auth_value` is the password of Tor's `HashedControlPassword`.
    EMZ_TOR_AUTH_PASSWORD = 2,
}

/// Which key the onion service of `emz_publish_onion` gets (`key_kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emz_onion_key_t {
    /// A new key, forgotten when the service goes: a new address each time.
    /// `key_value` is ignored (NULL is fine).
    EMZ_ONION_KEY_NEW = 0,
    /// `key_value` is a key from an earlier service, "ED25519-V3:..." as Tor returned it.
    EMZ_ONION_KEY_ED25519_V3 = 1,
    /// `key_value` is the path of a file keeping the key: created (mode 0600) with a new
    /// key when missing, so the address stays the same across restarts.
    EMZ_ONION_KEY_FILE = 2,
}

fn code_of(kind: ErrorKind) -> emz_result_t {
    match kind {
        ErrorKind::InvalidKey => EMZ_ERR_INVALID_KEY,
        ErrorKind::InvalidAddress => EMZ_ERR_INVALID_ADDRESS,
        ErrorKind::InvalidPort => EMZ_ERR_INVALID_PORT,
        ErrorKind::InvalidTitle => EMZ_ERR_INVALID_TITLE,
        ErrorKind::InvalidArgument => EMZ_ERR_INVALID_ARGUMENT,
        ErrorKind::AlreadyPresent => EMZ_ERR_ALREADY_PRESENT,
        ErrorKind::Absent => EMZ_ERR_ABSENT,
        ErrorKind::AlreadyAbsent => EMZ_ERR_ALREADY_ABSENT,
        ErrorKind::AlreadyPaused => EMZ_ERR_ALREADY_PAUSED,
        ErrorKind::AlreadyResumed => EMZ_ERR_ALREADY_RESUMED,
        ErrorKind::AddressInUse => EMZ_ERR_ADDRESS_IN_USE,
        ErrorKind::Limit => EMZ_ERR_LIMIT,
        ErrorKind::Io => EMZ_ERR_IO,
        ErrorKind::CurveUnavailable => EMZ_ERR_CURVE_UNAVAILABLE,
        ErrorKind::Zmq => EMZ_ERR_ZMQ,
        ErrorKind::Tor => EMZ_ERR_TOR,
        // A kind added to the core after this header.
        _ => EMZ_ERR_OTHER,
    }
}

/// Why a call failed, before it becomes a code and a message.
enum Fail {
    Core(Error),
    Code(emz_result_t, String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

fn null(what: &str) -> Fail {
    Fail::Code(EMZ_ERR_NULL_ARGUMENT, format!("{what} is NULL"))
}

type Res<T = ()> = Result<T, Fail>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn to_cstring(s: String) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// Records a failure in the thread's last error (and the handle's, when there is one)
/// and returns its code.
fn record(ef: *mut emz_efunguz_t, fail: Fail) -> emz_result_t {
    let (code, msg) = match fail {
        Fail::Core(e) => (code_of(e.kind()), e.to_string()),
        Fail::Code(c, m) => (c, m),
    };
    let msg = to_cstring(msg);
    if !ef.is_null() {
        // SAFETY: a non-NULL handle passed in is live (caller's contract).
        unsafe { (*ef).last_error = msg.clone() };
    }
    LAST_ERROR.with(|l| *l.borrow_mut() = msg);
    code
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (panic): {text}")
}

/// Runs `f` with no panic escaping; failures are recorded against `ef` (may be NULL).
fn run(ef: *mut emz_efunguz_t, f: impl FnOnce() -> Res) -> emz_result_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => EMZ_OK,
        Ok(Err(fail)) => record(ef, fail),
        Err(p) => record(ef, Fail::Code(EMZ_ERR_PANIC, panic_message(p))),
    }
}

/// For infallible getters: the value, or `default` on a panic.
fn quiet<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

// ---- argument helpers -------------------------------------------------------------------

/// A NUL-terminated UTF-8 string argument.
unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(null(what));
    }
    CStr::from_ptr(p).to_str().map_err(|_| Fail::Code(EMZ_ERR_INVALID_UTF8, format!("{what} is not valid UTF-8")))
}

/// A key argument: read at most 41 bytes, so that a key buffer without its NUL is
/// reported instead of read beyond.
unsafe fn key_arg<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(null(what));
    }
    let bytes = p as *const u8;
    let mut len = 0;
    while len <= EMZ_KEY_Z85_LEN && *bytes.add(len) != 0 {
        len += 1;
    }
    let bad = |reason: &str| Fail::Code(EMZ_ERR_INVALID_KEY, format!("invalid key ({what}): {reason}"));
    if len > EMZ_KEY_Z85_LEN {
        return Err(bad("longer than 40 characters or not NUL-terminated"));
    }
    std::str::from_utf8(std::slice::from_raw_parts(bytes, len)).map_err(|_| bad("not UTF-8, so not Z85"))
}

/// An optional string: NULL gives `default`.
unsafe fn opt_str_arg<'a>(p: *const c_char, what: &str, default: &'a str) -> Res<&'a str> {
    if p.is_null() {
        Ok(default)
    } else {
        str_arg(p, what)
    }
}

unsafe fn out_arg<'a, T>(p: *mut T, what: &str) -> Res<&'a mut T> {
    p.as_mut().ok_or_else(|| null(what))
}

/// An array of `n` key strings (NULL allowed when `n` is 0).
unsafe fn keys_arg(keys: *const *const c_char, n: usize, what: &str) -> Res<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if keys.is_null() {
        return Err(null(what));
    }
    (0..n).map(|i| key_arg(*keys.add(i), what).map(str::to_string)).collect()
}

fn write_key(out: *mut c_char, key: &str) {
    debug_assert_eq!(key.len(), EMZ_KEY_Z85_LEN);
    // SAFETY: the caller provides EMZ_KEY_BUF_LEN bytes (documented).
    unsafe {
        ptr::copy_nonoverlapping(key.as_ptr(), out as *mut u8, key.len());
        *out.add(key.len()) = 0;
    }
}

// ---- plain data types -------------------------------------------------------------------

/// A read-only view of bytes: `len` bytes at `ptr`. `ptr` may be NULL when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emz_part_t {
    /// First byte.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// Connections to an efunguz's publish socket, from its monitor.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct emz_counters_t {
    /// TCP connections accepted.
    pub in_attempted: u64,
    /// CURVE handshakes that succeeded (key allowed by the whitelist).
    pub in_permitted: u64,
    /// Connections open now.
    pub in_absorbing: u64,
}

/// What ehyphae received and dropped.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct emz_stats_t {
    /// Well-formed etales taken into a subscribed title.
    pub received: u64,
    /// Dropped: malformed (title without NUL, t_out not 8 bytes).
    pub malformed: u64,
    /// Dropped: for a title the ehypha does not hold.
    pub unknown_title: u64,
    /// Dropped: arrived for a paused etale.
    pub paused: u64,
}

impl From<emyzelium::Stats> for emz_stats_t {
    fn from(s: emyzelium::Stats) -> Self {
        emz_stats_t { received: s.received, malformed: s.malformed, unknown_title: s.unknown_title, paused: s.paused }
    }
}

/// libzmq socket options of an efunguz; fill with `emz_options_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emz_options_t {
    /// libzmq I/O threads, 1..=256 (default: min(cores, 4)).
    pub io_threads: i32,
    /// Sockets the context may hold, at least 16; each ehypha takes one (default 65535).
    pub max_sockets: i32,
    /// Messages queued per subscriber at the publisher before dropping; 0 = no limit (default 1000).
    pub send_hwm: i32,
    /// Messages queued per ehypha before dropping; 0 = no limit (default 1000).
    pub recv_hwm: i32,
    /// Largest message an ehypha accepts, bytes; -1 = no limit (default).
    pub max_message_size: i64,
    /// First reconnect delay of an ehypha, ms (default 100).
    pub reconnect_interval_ms: u64,
    /// Reconnect backoff cap, ms; 0 = no backoff (default 2000).
    pub reconnect_interval_max_ms: u64,
    /// ZMTP heartbeat period, ms; 0 = off (default 10000).
    pub heartbeat_interval_ms: u64,
    /// Silence after which a peer is dropped, ms (default 30000).
    pub heartbeat_timeout_ms: u64,
    /// Time-to-live a subscriber asks of its publisher, ms, at most 6553500 (default 30000).
    pub heartbeat_ttl_ms: u64,
    /// Longest CURVE handshake, ms (default 30000).
    pub handshake_interval_ms: u64,
    /// IPv6 on every socket.
    pub ipv6: bool,
    /// Most messages taken from one ehypha in one update, at least 1 (default 100000).
    pub drain_budget: usize,
    /// Keep the latest etale of each title and send it to each new subscriber of the
    /// title as soon as it subscribes (default true).
    pub keep_latest: bool,
    /// When a subscriber's queue is full, hold the etale back and retry the newest of its
    /// title on each update instead of dropping it (default true).
    pub retry_unsent: bool,
    /// Watch each ehypha's connection with a monitor, for `emz_ehypha_state`, and
    /// reconnect ehyphae their peer refused (default true). Costs two more sockets and
    /// fds per ehypha: turn off for tens of thousands of ehyphae under a low fd limit.
    pub ehypha_monitor: bool,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&Options> for emz_options_t {
    fn from(o: &Options) -> Self {
        emz_options_t {
            io_threads: o.io_threads,
            max_sockets: o.max_sockets,
            send_hwm: o.send_hwm,
            recv_hwm: o.recv_hwm,
            max_message_size: o.max_message_size,
            reconnect_interval_ms: ms(o.reconnect_interval),
            reconnect_interval_max_ms: ms(o.reconnect_interval_max),
            heartbeat_interval_ms: ms(o.heartbeat_interval),
            heartbeat_timeout_ms: ms(o.heartbeat_timeout),
            heartbeat_ttl_ms: ms(o.heartbeat_ttl),
            handshake_interval_ms: ms(o.handshake_interval),
            ipv6: o.ipv6,
            drain_budget: o.drain_budget,
            keep_latest: o.keep_latest,
            retry_unsent: o.retry_unsent,
            ehypha_monitor: o.ehypha_monitor,
        }
    }
}

impl From<&emz_options_t> for Options {
    fn from(o: &emz_options_t) -> Self {
        // Options is non-exhaustive: start from the defaults, so options the C face
        // does not know yet keep them.
        let mut r = Options::default();
        r.io_threads = o.io_threads;
        r.max_sockets = o.max_sockets;
        r.send_hwm = o.send_hwm;
        r.recv_hwm = o.recv_hwm;
        r.max_message_size = o.max_message_size;
        r.reconnect_interval = Duration::from_millis(o.reconnect_interval_ms);
        r.reconnect_interval_max = Duration::from_millis(o.reconnect_interval_max_ms);
        r.heartbeat_interval = Duration::from_millis(o.heartbeat_interval_ms);
        r.heartbeat_timeout = Duration::from_millis(o.heartbeat_timeout_ms);
        r.heartbeat_ttl = Duration::from_millis(o.heartbeat_ttl_ms);
        r.handshake_interval = Duration::from_millis(o.handshake_interval_ms);
        r.ipv6 = o.ipv6;
        r.drain_budget = o.drain_budget;
        r.keep_latest = o.keep_latest;
        r.retry_unsent = o.retry_unsent;
        r.ehypha_monitor = o.ehypha_monitor;
        r
    }
}

/// Everything `emz_efunguz_new_with` needs; fill with `emz_config_init`, then change
/// what you need. Strings are only read during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emz_config_t {
    /// Own secret key, Z85 (required).
    pub secret_key: *const c_char,
    /// Public keys allowed to subscribe; `whitelist_len` of them (NULL when 0). Empty = everyone.
    pub whitelist: *const *const c_char,
    /// Number of keys in `whitelist`.
    pub whitelist_len: usize,
    /// Publish port (default 60847); ignored when `any_port` is true.
    pub port: u16,
    /// Publish on a free port chosen by the system; read it with `emz_efunguz_port`.
    pub any_port: bool,
    /// Interface to publish on: an IP address, an interface name or "*"; NULL = "*".
    pub bind_host: *const c_char,
    /// Host of Tor's SOCKS proxy for onion ehyphae; NULL = "127.0.0.1".
    pub tor_proxy_host: *const c_char,
    /// Port of Tor's SOCKS proxy (default 9050).
    pub tor_proxy_port: u16,
    /// Socket options.
    pub options: emz_options_t,
}

// ---- handles ----------------------------------------------------------------------------

/// An efunguz: one peer with its publish socket and ehyphae. Owned by the caller:
/// create with `emz_efunguz_new` or `emz_efunguz_new_with`, free with `emz_efunguz_free`.
pub struct emz_efunguz_t {
    ef: Efunguz,
    public_key: CString,
    last_error: CString,
    /// View of each ehypha, by public key (allocated apart, see the crate docs).
    views: HashMap<String, *mut emz_ehypha_t>,
    /// Sorted keys of the ehyphae for `emz_ehypha_at`, made on demand; dropped by every
    /// addition and deletion.
    ehyphae_sorted: Option<Vec<String>>,
    /// Sorted whitelist for `emz_whitelist_key_at`, made on demand; dropped by every change.
    whitelist_sorted: Option<Vec<String>>,
    /// The onion published by `emz_publish_onion`, for C.
    onion_c: Option<CString>,
}

/// A borrowed view of one ehypha (the subscription to one peer). Belongs to its
/// efunguz: valid until `emz_del_ehypha` of its key or `emz_efunguz_free`.
pub struct emz_ehypha_t {
    owner: *mut emz_efunguz_t,
    key: String,
    key_c: CString,
    address_c: CString,
    etales: HashMap<String, *mut emz_etale_t>,
}

/// A borrowed view of one etale (the latest data of one title from one ehypha).
/// Belongs to its ehypha: valid until its deletion (`emz_ehypha_del_etale`), the
/// deletion of its ehypha, or `emz_efunguz_free`.
pub struct emz_etale_t {
    owner: *mut emz_ehypha_t,
    title: String,
    title_c: CString,
    parts: Vec<emz_part_t>,
}

unsafe fn free_ehypha_view(eh: *mut emz_ehypha_t) {
    let view = Box::from_raw(eh);
    for (_, et) in view.etales {
        drop(Box::from_raw(et));
    }
}

impl Drop for emz_efunguz_t {
    fn drop(&mut self) {
        for (_, eh) in self.views.drain() {
            // SAFETY: each view was made by Box::into_raw and is freed only here or on delete.
            unsafe { free_ehypha_view(eh) };
        }
    }
}

/// Resolves an ehypha view into (efunguz handle, view); the two are separate allocations.
unsafe fn ehypha_parts<'a>(eh: *mut emz_ehypha_t) -> Res<(&'a mut emz_efunguz_t, &'a mut emz_ehypha_t)> {
    let view = eh.as_mut().ok_or_else(|| null("ehypha"))?;
    Ok((&mut *view.owner, view))
}

fn owner_of_ehypha(eh: *mut emz_ehypha_t) -> *mut emz_efunguz_t {
    // SAFETY: a non-NULL view passed in is live (caller's contract).
    unsafe { eh.as_ref().map_or(ptr::null_mut(), |v| v.owner) }
}

fn owner_of_etale(et: *mut emz_etale_t) -> *mut emz_efunguz_t {
    // SAFETY: as above.
    unsafe { et.as_ref().map_or(ptr::null_mut(), |v| owner_of_ehypha(v.owner)) }
}

impl emz_efunguz_t {
    fn new(ef: Efunguz) -> *mut emz_efunguz_t {
        let public_key = to_cstring(ef.public_key().to_string());
        Box::into_raw(Box::new(emz_efunguz_t {
            ef,
            public_key,
            last_error: CString::default(),
            views: HashMap::new(),
            ehyphae_sorted: None,
            whitelist_sorted: None,
            onion_c: None,
        }))
    }

    /// The view of the ehypha just added to the core (made once, kept until deletion).
    fn add_view(&mut self, me: *mut emz_efunguz_t, key: &str) -> *mut emz_ehypha_t {
        let address = self.ef.get_ehypha(key).map(|e| e.address().to_string()).unwrap_or_default();
        let view = Box::into_raw(Box::new(emz_ehypha_t {
            owner: me,
            key: key.to_string(),
            key_c: to_cstring(key.to_string()),
            address_c: to_cstring(address),
            etales: HashMap::new(),
        }));
        self.views.insert(key.to_string(), view);
        self.ehyphae_sorted = None;
        view
    }
}

// ---- library ----------------------------------------------------------------------------

/// This library's version, e.g. "0.10.0" (static string).
#[no_mangle]
pub extern "C" fn emz_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Version of the linked libzmq; NULL outputs are skipped.
#[no_mangle]
pub unsafe extern "C" fn emz_libzmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    let (a, b, c) = quiet((0, 0, 0), emyzelium::libzmq_version);
    for (p, v) in [(major, a), (minor, b), (patch, c)] {
        if let Some(p) = p.as_mut() {
            *p = v;
        }
    }
}

/// Whether the linked libzmq supports CURVE (always true with the bundled libzmq).
#[no_mangle]
pub extern "C" fn emz_has_curve() -> bool {
    quiet(false, emyzelium::has_curve)
}

/// Microseconds since the Unix epoch, the clock of `t_out` and `t_in`.
#[no_mangle]
pub extern "C" fn emz_now_us() -> i64 {
    quiet(0, emyzelium::now_us)
}

/// Static text describing `code` (any value; unknown codes get "unknown result code").
#[no_mangle]
pub extern "C" fn emz_result_str(code: c_int) -> *const c_char {
    let s: &'static str = match code {
        0 => "ok\0",
        1 => "invalid key\0",
        2 => "invalid address\0",
        3 => "invalid port\0",
        4 => "invalid title\0",
        5 => "invalid argument\0",
        6 => "already present\0",
        7 => "absent\0",
        8 => "already absent\0",
        9 => "already paused\0",
        10 => "already resumed\0",
        11 => "address in use\0",
        12 => "limit reached\0",
        13 => "I/O error\0",
        14 => "CURVE unavailable\0",
        15 => "libzmq error\0",
        16 => "Tor error\0",
        99 => "other error\0",
        100 => "NULL argument\0",
        101 => "invalid UTF-8\0",
        102 => "internal error (panic)\0",
        _ => "unknown result code\0",
    };
    s.as_ptr() as *const c_char
}

/// Detailed message of the last failed call made by this thread ("" if none). Valid
/// until the next failed call on this thread.
#[no_mangle]
pub extern "C" fn emz_last_error() -> *const c_char {
    quiet(b"\0".as_ptr() as *const c_char, || LAST_ERROR.with(|l| l.borrow().as_ptr()))
}

// ---- keys -------------------------------------------------------------------------------

/// A new CURVE key pair, Z85. `public_key_out` and `secret_key_out` must each have room
/// for `EMZ_KEY_BUF_LEN` (41) bytes; they are written (NUL-terminated) only on success.
#[no_mangle]
pub unsafe extern "C" fn emz_new_key_pair(public_key_out: *mut c_char, secret_key_out: *mut c_char) -> emz_result_t {
    run(ptr::null_mut(), || {
        if public_key_out.is_null() {
            return Err(null("public_key_out"));
        }
        if secret_key_out.is_null() {
            return Err(null("secret_key_out"));
        }
        let (public, secret) = emyzelium::new_key_pair()?;
        write_key(public_key_out, &public);
        write_key(secret_key_out, &secret);
        Ok(())
    })
}

/// The public key that belongs to `secret_key`, into `public_key_out` (room for
/// `EMZ_KEY_BUF_LEN` bytes; written only on success).
#[no_mangle]
pub unsafe extern "C" fn emz_public_key(secret_key: *const c_char, public_key_out: *mut c_char) -> emz_result_t {
    run(ptr::null_mut(), || {
        let secret = key_arg(secret_key, "secret_key")?;
        if public_key_out.is_null() {
            return Err(null("public_key_out"));
        }
        let public = emyzelium::public_key(secret)?;
        write_key(public_key_out, &public);
        Ok(())
    })
}

/// Whether `key` is a valid Z85 CURVE key (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_is_valid_key(key: *const c_char) -> bool {
    quiet(false, || key_arg(key, "key").is_ok_and(emyzelium::is_valid_key))
}

/// Reads the keys of a file, one a line (whitespace, blank lines and `#` comments are
/// fine; a bad line gives EMZ_ERR_IO naming it). `*count_out` gets how many keys the file
/// holds; the first min(count, `capacity`) are written to `keys_out`, an array of
/// `capacity` buffers of `EMZ_KEY_BUF_LEN` bytes (NULL when `capacity` is 0). Call it with
/// 0 to learn the count, then with room for them all.
#[no_mangle]
pub unsafe extern "C" fn emz_read_keys_file(
    path: *const c_char,
    keys_out: *mut [c_char; EMZ_KEY_BUF_LEN],
    capacity: usize,
    count_out: *mut usize,
) -> emz_result_t {
    run(ptr::null_mut(), || {
        let path = str_arg(path, "path")?;
        let count_out = out_arg(count_out, "count_out")?;
        if capacity > 0 && keys_out.is_null() {
            return Err(null("keys_out"));
        }
        let keys = emyzelium::read_keys_file(Path::new(path))?;
        for (i, k) in keys.iter().take(capacity).enumerate() {
            write_key((*keys_out.add(i)).as_mut_ptr(), k);
        }
        *count_out = keys.len();
        Ok(())
    })
}

// ---- construction -----------------------------------------------------------------------

/// Fills `*options` with the defaults (no-op for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_options_default(options: *mut emz_options_t) {
    if options.is_null() {
        return;
    }
    if let Ok(o) = catch_unwind(|| emz_options_t::from(&Options::default())) {
        ptr::write(options, o);
    }
}

fn config_default(secret_key: *const c_char) -> emz_config_t {
    emz_config_t {
        secret_key,
        whitelist: ptr::null(),
        whitelist_len: 0,
        port: EMZ_DEFAULT_PORT,
        any_port: false,
        bind_host: ptr::null(),
        tor_proxy_host: ptr::null(),
        tor_proxy_port: EMZ_DEFAULT_TOR_PROXY_PORT,
        options: emz_options_t::from(&Options::default()),
    }
}

/// Fills `*config` with the defaults and `secret_key` (kept as a pointer: it must stay
/// valid until `emz_efunguz_new_with`). No-op for NULL `config`.
#[no_mangle]
pub unsafe extern "C" fn emz_config_init(config: *mut emz_config_t, secret_key: *const c_char) {
    if config.is_null() {
        return;
    }
    if let Ok(c) = catch_unwind(|| config_default(secret_key)) {
        ptr::write(config, c);
    }
}

/// The original constructor: secret key, whitelist (`whitelist_len` keys; NULL and 0
/// = everyone may subscribe), publish port (all interfaces), Tor SOCKS proxy (NULL host
/// = 127.0.0.1). On success `*out` is the new handle, to free with `emz_efunguz_free`.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_new(
    secret_key: *const c_char,
    whitelist: *const *const c_char,
    whitelist_len: usize,
    port: u16,
    tor_proxy_host: *const c_char,
    tor_proxy_port: u16,
    out: *mut *mut emz_efunguz_t,
) -> emz_result_t {
    let Ok(mut c) = catch_unwind(|| config_default(secret_key)) else {
        return record(ptr::null_mut(), Fail::Code(EMZ_ERR_PANIC, "internal error (panic) in defaults".into()));
    };
    c.whitelist = whitelist;
    c.whitelist_len = whitelist_len;
    c.port = port;
    c.tor_proxy_host = tor_proxy_host;
    c.tor_proxy_port = tor_proxy_port;
    emz_efunguz_new_with(&c, out)
}

/// Creates an efunguz from a full configuration (see `emz_config_t`). On success
/// `*out` is the new handle, to free with `emz_efunguz_free`; else `*out` is untouched.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_new_with(
    config: *const emz_config_t,
    out: *mut *mut emz_efunguz_t,
) -> emz_result_t {
    run(ptr::null_mut(), || {
        let c = config.as_ref().ok_or_else(|| null("config"))?;
        let out = out_arg(out, "out")?;
        let secret = key_arg(c.secret_key, "secret_key")?;
        let whitelist = keys_arg(c.whitelist, c.whitelist_len, "whitelist")?;
        let bind_host = opt_str_arg(c.bind_host, "bind_host", "*")?;
        let tor_host = opt_str_arg(c.tor_proxy_host, "tor_proxy_host", emyzelium::DEFAULT_TOR_PROXY_HOST)?;
        let mut b = Efunguz::builder(secret)
            .whitelist(whitelist)
            .bind_host(bind_host)
            .tor_proxy(tor_host, c.tor_proxy_port)
            .options(Options::from(&c.options));
        b = if c.any_port { b.any_port() } else { b.port(c.port) };
        let ef = b.build()?;
        *out = emz_efunguz_t::new(ef);
        Ok(())
    })
}

/// Closes every socket and frees the efunguz with all its ehypha and etale views.
/// NULL is a no-op. Freeing the same non-NULL handle twice is undefined: use
/// `emz_efunguz_destroy` to have the pointer cleared.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_free(ef: *mut emz_efunguz_t) {
    if !ef.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(ef))));
    }
}

/// Frees `*ef` (as `emz_efunguz_free`) and sets `*ef` to NULL, so calling it again on
/// the same variable is a no-op. NULL `ef` is a no-op too.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_destroy(ef: *mut *mut emz_efunguz_t) {
    if let Some(p) = ef.as_mut() {
        let h = std::mem::replace(p, ptr::null_mut());
        emz_efunguz_free(h);
    }
}

/// Detailed message of the last failed call on this handle or its views ("" if none;
/// NULL for a NULL handle). Valid until the next failed call on it or its free.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_last_error(ef: *const emz_efunguz_t) -> *const c_char {
    ef.as_ref().map_or(ptr::null(), |h| h.last_error.as_ptr())
}

/// Own public key, Z85, NUL-terminated; valid until the handle is freed. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_public_key(ef: *const emz_efunguz_t) -> *const c_char {
    ef.as_ref().map_or(ptr::null(), |h| h.public_key.as_ptr())
}

/// The publish port (the one the system chose with `any_port`); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_port(ef: *const emz_efunguz_t) -> u16 {
    ef.as_ref().map_or(0, |h| h.ef.port())
}

/// The options in force, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_options(ef: *const emz_efunguz_t, out: *mut emz_options_t) -> emz_result_t {
    let ef = ef as *mut emz_efunguz_t;
    run(ef, || {
        let h = ef.as_ref().ok_or_else(|| null("efunguz"))?;
        *out_arg(out, "out")? = emz_options_t::from(h.ef.options());
        Ok(())
    })
}

// ---- whitelist --------------------------------------------------------------------------

/// Runs `f` on a non-NULL handle, recording failures against it.
unsafe fn with_ef(ef: *mut emz_efunguz_t, f: impl FnOnce(&mut emz_efunguz_t) -> Res) -> emz_result_t {
    run(ef, || f(ef.as_mut().ok_or_else(|| null("efunguz"))?))
}

/// Allows `key` to subscribe (from the next handshake on).
#[no_mangle]
pub unsafe extern "C" fn emz_add_whitelist_key(ef: *mut emz_efunguz_t, key: *const c_char) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        Ok(h.ef.add_whitelist_key(key_arg(key, "key")?)?)
    })
}

/// Allows `n` keys at once; nothing is added when any is invalid. Keys already present are fine.
#[no_mangle]
pub unsafe extern "C" fn emz_add_whitelist_keys(
    ef: *mut emz_efunguz_t,
    keys: *const *const c_char,
    n: usize,
) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        Ok(h.ef.add_whitelist_keys(keys_arg(keys, n, "keys")?)?)
    })
}

/// Removes `key` from the whitelist.
#[no_mangle]
pub unsafe extern "C" fn emz_del_whitelist_key(ef: *mut emz_efunguz_t, key: *const c_char) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        Ok(h.ef.del_whitelist_key(key_arg(key, "key")?)?)
    })
}

/// Empties the whitelist: everyone may subscribe again.
#[no_mangle]
pub unsafe extern "C" fn emz_clear_whitelist(ef: *mut emz_efunguz_t) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        h.ef.clear_whitelist();
        Ok(())
    })
}

/// Adds the keys of a file, one a line (whitespace, blank lines and `#` comments are
/// fine); nothing is added when any line is bad (EMZ_ERR_IO naming the line). The
/// number of keys read goes to `*count_out` (NULL: not wanted).
#[no_mangle]
pub unsafe extern "C" fn emz_read_whitelist_file(
    ef: *mut emz_efunguz_t,
    path: *const c_char,
    count_out: *mut usize,
) -> emz_result_t {
    with_ef(ef, |h| {
        let path = str_arg(path, "path")?;
        h.whitelist_sorted = None;
        let n = h.ef.read_whitelist_file(Path::new(path))?;
        if let Some(c) = count_out.as_mut() {
            *c = n;
        }
        Ok(())
    })
}

/// Number of keys in the whitelist (0 = everyone may subscribe; 0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_whitelist_count(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| quiet(0, || h.ef.whitelist().count()))
}

/// Whether `key` is in the whitelist (false for NULL arguments).
#[no_mangle]
pub unsafe extern "C" fn emz_whitelist_contains(ef: *const emz_efunguz_t, key: *const c_char) -> bool {
    let Some(h) = ef.as_ref() else { return false };
    quiet(false, || key_arg(key, "key").is_ok_and(|k| h.ef.whitelist().any(|w| w == k)))
}

/// The `index`-th key of the whitelist in sorted order (0 up to `emz_whitelist_count`
/// − 1), into `key_out` (room for `EMZ_KEY_BUF_LEN` bytes); EMZ_ERR_INVALID_ARGUMENT past
/// the end. Indices hold until the whitelist changes.
#[no_mangle]
pub unsafe extern "C" fn emz_whitelist_key_at(
    ef: *mut emz_efunguz_t,
    index: usize,
    key_out: *mut c_char,
) -> emz_result_t {
    with_ef(ef, |h| {
        if key_out.is_null() {
            return Err(null("key_out"));
        }
        let ef = &h.ef;
        let keys = h.whitelist_sorted.get_or_insert_with(|| {
            let mut v: Vec<String> = ef.whitelist().map(str::to_string).collect();
            v.sort();
            v
        });
        let key = keys.get(index).ok_or_else(|| {
            Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("whitelist index {index} is past its {} keys", keys.len()))
        })?;
        write_key(key_out, key);
        Ok(())
    })
}

// ---- ehyphae ----------------------------------------------------------------------------

unsafe fn add_ehypha(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    address: *const c_char,
    port: u16,
    onion: bool,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    with_ef(ef, |h| {
        let key = key_arg(public_key, "public_key")?;
        let address = str_arg(address, if onion { "onion" } else { "host" })?;
        if onion {
            h.ef.add_ehypha(key, address, port)?;
        } else {
            h.ef.add_ehypha_direct(key, address, port)?;
        }
        let view = h.add_view(ef, key);
        if let Some(o) = out.as_mut() {
            *o = view;
        }
        Ok(())
    })
}

/// Subscribes to the efunguz with `public_key` behind the v3 `onion` (".onion"
/// optional) at `port`, through the Tor proxy. `*out` (NULL: not wanted) gets the view.
#[no_mangle]
pub unsafe extern "C" fn emz_add_ehypha(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    onion: *const c_char,
    port: u16,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    add_ehypha(ef, public_key, onion, port, true, out)
}

/// Subscribes to the efunguz with `public_key` at `host`:`port` (IPv4, IPv6 or DNS
/// name) by plain TCP. `*out` (NULL: not wanted) gets the view.
#[no_mangle]
pub unsafe extern "C" fn emz_add_ehypha_direct(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    host: *const c_char,
    port: u16,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    add_ehypha(ef, public_key, host, port, false, out)
}

/// The view of the ehypha of `public_key` into `*out`; EMZ_ERR_ABSENT if there is none.
#[no_mangle]
pub unsafe extern "C" fn emz_get_ehypha(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    with_ef(ef, |h| {
        let key = key_arg(public_key, "public_key")?;
        let out = out_arg(out, "out")?;
        h.ef.get_ehypha(key)?;
        *out = *h.views.get(key).ok_or_else(|| Fail::Code(EMZ_ERR_ABSENT, format!("ehypha {key:?} has no view")))?;
        Ok(())
    })
}

/// Disconnects from the peer and forgets its etales; its view and its etales' views
/// are freed (pointers to them become invalid).
#[no_mangle]
pub unsafe extern "C" fn emz_del_ehypha(ef: *mut emz_efunguz_t, public_key: *const c_char) -> emz_result_t {
    with_ef(ef, |h| {
        let key = key_arg(public_key, "public_key")?;
        h.ef.del_ehypha(key)?;
        h.ehyphae_sorted = None;
        if let Some(view) = h.views.remove(key) {
            free_ehypha_view(view);
        }
        Ok(())
    })
}

/// Number of ehyphae (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_ehyphae_count(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| h.ef.ehyphae_count())
}

/// The view of the `index`-th ehypha in the order of their public keys (0 up to
/// `emz_ehyphae_count` − 1), into `*out`; EMZ_ERR_INVALID_ARGUMENT past the end. Indices
/// hold until an ehypha is added or deleted.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_at(
    ef: *mut emz_efunguz_t,
    index: usize,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    with_ef(ef, |h| {
        let out = out_arg(out, "out")?;
        let views = &h.views;
        let keys = h.ehyphae_sorted.get_or_insert_with(|| {
            let mut v: Vec<String> = views.keys().cloned().collect();
            v.sort();
            v
        });
        let key = keys.get(index).ok_or_else(|| {
            Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("ehypha index {index} is past the {} ehyphae", keys.len()))
        })?;
        *out = *views.get(key).ok_or_else(|| Fail::Code(EMZ_ERR_ABSENT, format!("ehypha {key:?} has no view")))?;
        Ok(())
    })
}

/// Runs `f` on an ehypha view with its efunguz, recording failures against the efunguz.
unsafe fn with_eh(eh: *mut emz_ehypha_t, f: impl FnOnce(&mut emz_efunguz_t, &mut emz_ehypha_t) -> Res) -> emz_result_t {
    run(owner_of_ehypha(eh), || {
        let (h, view) = ehypha_parts(eh)?;
        f(h, view)
    })
}

/// The peer's public key, Z85, NUL-terminated; valid as long as the view. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_public_key(eh: *const emz_ehypha_t) -> *const c_char {
    eh.as_ref().map_or(ptr::null(), |v| v.key_c.as_ptr())
}

/// Where the ehypha connects, "host:port" or "ONION.onion:port"; valid as long as the
/// view. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_address(eh: *const emz_ehypha_t) -> *const c_char {
    eh.as_ref().map_or(ptr::null(), |v| v.address_c.as_ptr())
}

/// The efunguz an ehypha belongs to (NULL for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_efunguz(eh: *const emz_ehypha_t) -> *mut emz_efunguz_t {
    eh.as_ref().map_or(ptr::null_mut(), |v| v.owner)
}

/// Where the connection to the peer stands, into `*state_out`, and since when (µs since
/// the Unix epoch) into `*since_out`; either may be NULL (not wanted). Updated by
/// `emz_update` / `emz_wait`; always EMZ_EHYPHA_UNKNOWN with `ehypha_monitor` off.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_state(
    eh: *mut emz_ehypha_t,
    state_out: *mut emz_ehypha_state_t,
    since_out: *mut i64,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let e = h.ef.get_ehypha(&view.key)?;
        if let Some(s) = state_out.as_mut() {
            *s = state_of(e.state());
        }
        if let Some(t) = since_out.as_mut() {
            *t = e.state_since();
        }
        Ok(())
    })
}

/// Static lowercase name of a state ("up", "rejected", ...); "invalid state" for values
/// outside `emz_ehypha_state_t`.
#[no_mangle]
pub extern "C" fn emz_ehypha_state_name(state: c_int) -> *const c_char {
    let s: &'static str = match state {
        0 => "unknown\0",
        1 => "connecting\0",
        2 => "retrying\0",
        3 => "handshaking\0",
        4 => "up\0",
        5 => "rejected\0",
        6 => "failed\0",
        7 => "disconnected\0",
        _ => "invalid state\0",
    };
    s.as_ptr() as *const c_char
}

/// Subscribes to `title` ("" is a title too). Its etale stays empty (t_in == -1) until
/// the first arrival. `*out` (NULL: not wanted) gets the etale's view.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_add_etale(
    eh: *mut emz_ehypha_t,
    title: *const c_char,
    out: *mut *mut emz_etale_t,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let title = str_arg(title, "title")?;
        h.ef.get_ehypha_mut(&view.key)?.add_etale(title)?;
        let et = Box::into_raw(Box::new(emz_etale_t {
            owner: eh,
            title: title.to_string(),
            title_c: to_cstring(title.to_string()),
            parts: Vec::new(),
        }));
        if let Some(old) = view.etales.insert(title.to_string(), et) {
            drop(Box::from_raw(old));
        }
        if let Some(o) = out.as_mut() {
            *o = et;
        }
        Ok(())
    })
}

/// The view of the etale `title` into `*out`; EMZ_ERR_ABSENT if not subscribed.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_get_etale(
    eh: *mut emz_ehypha_t,
    title: *const c_char,
    out: *mut *mut emz_etale_t,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let title = str_arg(title, "title")?;
        let out = out_arg(out, "out")?;
        h.ef.get_ehypha(&view.key)?.get_etale(title)?;
        *out = *view
            .etales
            .get(title)
            .ok_or_else(|| Fail::Code(EMZ_ERR_ABSENT, format!("etale {title:?} has no view")))?;
        Ok(())
    })
}

/// Unsubscribes from `title` and forgets its data; its view is freed.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_del_etale(eh: *mut emz_ehypha_t, title: *const c_char) -> emz_result_t {
    with_eh(eh, |h, view| {
        let title = str_arg(title, "title")?;
        h.ef.get_ehypha_mut(&view.key)?.del_etale(title)?;
        if let Some(et) = view.etales.remove(title) {
            drop(Box::from_raw(et));
        }
        Ok(())
    })
}

/// Stops receiving `title` (unsubscribes) but keeps its latest data.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_pause_etale(eh: *mut emz_ehypha_t, title: *const c_char) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.pause_etale(str_arg(title, "title")?)?))
}

/// Resumes receiving a paused `title`.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_resume_etale(eh: *mut emz_ehypha_t, title: *const c_char) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.resume_etale(str_arg(title, "title")?)?))
}

/// Pauses every etale of the ehypha not paused yet.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_pause_etales(eh: *mut emz_ehypha_t) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.pause_etales()?))
}

/// Resumes every paused etale of the ehypha.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_resume_etales(eh: *mut emz_ehypha_t) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.resume_etales()?))
}

/// What this ehypha received and dropped, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_stats(eh: *mut emz_ehypha_t, out: *mut emz_stats_t) -> emz_result_t {
    with_eh(eh, |h, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&view.key)?.stats().into();
        Ok(())
    })
}

/// Number of etales of the ehypha (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_etales_count(eh: *const emz_ehypha_t) -> usize {
    eh.as_ref().map_or(0, |v| v.etales.len())
}

// ---- etales -----------------------------------------------------------------------------

/// Runs `f` on an etale view, recording failures against its efunguz.
unsafe fn with_et(
    et: *mut emz_etale_t,
    f: impl FnOnce(&emz_efunguz_t, &emz_ehypha_t, &mut emz_etale_t) -> Res,
) -> emz_result_t {
    run(owner_of_etale(et), || {
        let view = et.as_mut().ok_or_else(|| null("etale"))?;
        let (h, eh) = ehypha_parts(view.owner)?;
        f(h, eh, view)
    })
}

/// The title, NUL-terminated; valid as long as the view. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_title(et: *const emz_etale_t) -> *const c_char {
    et.as_ref().map_or(ptr::null(), |v| v.title_c.as_ptr())
}

/// The ehypha an etale belongs to (NULL for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_etale_ehypha(et: *const emz_etale_t) -> *mut emz_ehypha_t {
    et.as_ref().map_or(ptr::null_mut(), |v| v.owner)
}

/// Zero-copy views of the latest data: `*parts_out` gets an array of `*count_out`
/// parts (count 0 and a non-NULL array before the first arrival); `*t_out` and `*t_in`
/// (NULL: not wanted) get µs since the Unix epoch at the sender when emitted and here
/// when received, -1 before the first arrival.
///
/// Lifetime: the bytes the parts point to, and the array itself, stay valid until the
/// next `emz_update` or `emz_wait` on the efunguz, the next `emz_etale_parts` on the
/// same etale, the deletion of the etale or its ehypha, or `emz_efunguz_free`,
/// whichever comes first. Copy what you need to keep longer.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_parts(
    et: *mut emz_etale_t,
    parts_out: *mut *const emz_part_t,
    count_out: *mut usize,
    t_out: *mut i64,
    t_in: *mut i64,
) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let parts_out = out_arg(parts_out, "parts_out")?;
        let count_out = out_arg(count_out, "count_out")?;
        let etale = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?;
        view.parts.clear();
        view.parts.extend(etale.parts().iter().map(|p| emz_part_t { ptr: p.as_ptr(), len: p.len() }));
        *parts_out = if view.parts.is_empty() { ptr::NonNull::dangling().as_ptr() } else { view.parts.as_ptr() };
        *count_out = view.parts.len();
        if let Some(t) = t_out.as_mut() {
            *t = etale.t_out();
        }
        if let Some(t) = t_in.as_mut() {
            *t = etale.t_in();
        }
        Ok(())
    })
}

/// How many times the etale has arrived, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_received(et: *mut emz_etale_t, out: *mut u64) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.received();
        Ok(())
    })
}

/// `t_out` of the latest arrival (µs since the Unix epoch at the sender; -1 before the
/// first), into `*out`. Unlike `emz_etale_parts`, leaves part views alone.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_t_out(et: *mut emz_etale_t, out: *mut i64) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.t_out();
        Ok(())
    })
}

/// `t_in` of the latest arrival (µs since the Unix epoch here; -1 before the first),
/// into `*out`. Unlike `emz_etale_parts`, leaves part views alone.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_t_in(et: *mut emz_etale_t, out: *mut i64) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.t_in();
        Ok(())
    })
}

/// Whether the etale is paused, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_is_paused(et: *mut emz_etale_t, out: *mut bool) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.is_paused();
        Ok(())
    })
}

// ---- publishing -------------------------------------------------------------------------

unsafe fn parts_arg<'a>(parts: *const emz_part_t, n: usize) -> Res<Vec<&'a [u8]>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if parts.is_null() {
        return Err(null("parts"));
    }
    (0..n)
        .map(|i| {
            let p = *parts.add(i);
            match (p.ptr.is_null(), p.len) {
                (_, 0) => Ok(&[][..]),
                (true, _) => {
                    Err(Fail::Code(EMZ_ERR_NULL_ARGUMENT, format!("parts[{i}].ptr is NULL with len {}", p.len)))
                }
                (false, len) => Ok(std::slice::from_raw_parts(p.ptr, len)),
            }
        })
        .collect()
}

/// Publishes `n` parts under `title`, stamped with the current time, to every
/// subscriber of the title. The bytes are only read during the call (no copy needed
/// by the caller); `parts` may be NULL when `n` is 0. Never blocks: when a subscriber's
/// queue is full the etale is kept and sent by a later update (unless a newer one of
/// the same title replaces it first; see `emz_options_t.retry_unsent`).
#[no_mangle]
pub unsafe extern "C" fn emz_emit_etale(
    ef: *mut emz_efunguz_t,
    title: *const c_char,
    parts: *const emz_part_t,
    n: usize,
) -> emz_result_t {
    with_ef(ef, |h| {
        h.ef.emit_etale(str_arg(title, "title")?, &parts_arg(parts, n)?)?;
        Ok(())
    })
}

/// As `emz_emit_etale` with a `t_out` (µs since the Unix epoch) of your choosing;
/// `*sent_out` (NULL: not wanted) gets false when some subscriber's queue was full and
/// the etale waits for a later update.
#[no_mangle]
pub unsafe extern "C" fn emz_emit_etale_at(
    ef: *mut emz_efunguz_t,
    title: *const c_char,
    parts: *const emz_part_t,
    n: usize,
    t_out: i64,
    sent_out: *mut bool,
) -> emz_result_t {
    with_ef(ef, |h| {
        let sent = h.ef.emit_etale_at(str_arg(title, "title")?, &parts_arg(parts, n)?, t_out)?;
        if let Some(s) = sent_out.as_mut() {
            *s = sent;
        }
        Ok(())
    })
}

/// Titles whose latest etale still waits for room in a subscriber's queue (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_unsent_etales(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| quiet(0, || h.ef.unsent_etales()))
}

// ---- the loop ---------------------------------------------------------------------------

/// Does all pending work without blocking: answers handshakes, updates counters, takes
/// in etales. `*changed_out` (NULL: not wanted) gets how many etales got new data; list
/// them with `emz_changes_count` / `emz_change`. Invalidates part views (see
/// `emz_etale_parts`).
#[no_mangle]
pub unsafe extern "C" fn emz_update(ef: *mut emz_efunguz_t, changed_out: *mut usize) -> emz_result_t {
    with_ef(ef, |h| {
        let n = h.ef.update()?;
        if let Some(c) = changed_out.as_mut() {
            *c = n;
        }
        Ok(())
    })
}

/// Blocks until some etale gets new data or `timeout_ms` passes (negative: no limit),
/// doing the work of `emz_update` meanwhile. `*changed_out` (NULL: not wanted) gets
/// how many etales changed, 0 on timeout.
#[no_mangle]
pub unsafe extern "C" fn emz_wait(ef: *mut emz_efunguz_t, timeout_ms: i64, changed_out: *mut usize) -> emz_result_t {
    with_ef(ef, |h| {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let n = h.ef.wait(timeout)?;
        if let Some(c) = changed_out.as_mut() {
            *c = n;
        }
        Ok(())
    })
}

/// Number of etales that got new data in the last `emz_update` / `emz_wait` (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_changes_count(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| h.ef.changes().len())
}

/// The view of the `index`-th etale that got new data in the last update, into `*out`
/// (each etale once; EMZ_ERR_INVALID_ARGUMENT past the end).
#[no_mangle]
pub unsafe extern "C" fn emz_change(ef: *mut emz_efunguz_t, index: usize, out: *mut *mut emz_etale_t) -> emz_result_t {
    with_ef(ef, |h| {
        let out = out_arg(out, "out")?;
        let n = h.ef.changes().len();
        let c = h.ef.changes().get(index).ok_or_else(|| {
            Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("change index {index} is past the {n} changes"))
        })?;
        let absent = || Fail::Code(EMZ_ERR_ABSENT, format!("etale {:?} of {:?} has no view", c.title, c.public_key));
        let eh = *h.views.get(&*c.public_key).ok_or_else(absent)?;
        *out = *(*eh).etales.get(&*c.title).ok_or_else(absent)?;
        Ok(())
    })
}

// ---- onion service ----------------------------------------------------------------------

/// Default control port of Tor, for `emz_publish_onion` with a NULL `control`.
const DEFAULT_TOR_CONTROL: &str = "127.0.0.1:9051";

/// Publishes the efunguz behind a v3 onion service made through Tor's control port
/// `control` ("HOST:PORT"; NULL = "127.0.0.1:9051"): onion port = publish port, forwarded
/// to 127.0.0.1 (bind to "127.0.0.1" or "*"). `auth_kind` is an `emz_tor_auth_t` with its
/// `auth_value`, `key_kind` an `emz_onion_key_t` with its `key_value`. `*onion_out` (NULL:
/// not wanted) gets the onion without ".onion", NUL-terminated, valid until
/// `emz_unpublish_onion` or `emz_efunguz_free`. Others reach us with
/// `emz_add_ehypha(their_ef, our_public_key, onion, port, ...)`. Blocks while Tor
/// answers (connect timeout 5 s). EMZ_ERR_TOR when the control port is missing or Tor
/// refuses; EMZ_ERR_IO for an unreadable cookie or key file; EMZ_ERR_INVALID_KEY for a bad
/// onion key; EMZ_ERR_ALREADY_PRESENT when an onion is published already. The service
/// goes with `emz_unpublish_onion` or `emz_efunguz_free`.
#[no_mangle]
pub unsafe extern "C" fn emz_publish_onion(
    ef: *mut emz_efunguz_t,
    control: *const c_char,
    auth_kind: c_int,
    auth_value: *const c_char,
    key_kind: c_int,
    key_value: *const c_char,
    onion_out: *mut *const c_char,
) -> emz_result_t {
    with_ef(ef, |h| {
        let control = opt_str_arg(control, "control", DEFAULT_TOR_CONTROL)?;
        let auth = match auth_kind {
            0 => TorAuth::Auto,
            1 => TorAuth::Cookie(PathBuf::from(str_arg(auth_value, "auth_value (cookie file)")?)),
            2 => TorAuth::Password(str_arg(auth_value, "auth_value (password)")?.to_string()),
            k => return Err(Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("auth_kind {k} is not an emz_tor_auth_t"))),
        };
        let key = match key_kind {
            0 => OnionKey::New,
            1 => OnionKey::Ed25519V3(str_arg(key_value, "key_value (onion key)")?.to_string()),
            2 => OnionKey::File(PathBuf::from(str_arg(key_value, "key_value (key file)")?)),
            k => return Err(Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("key_kind {k} is not an emz_onion_key_t"))),
        };
        let onion = h.ef.publish_onion(control, &auth, &key)?;
        let c = h.onion_c.insert(to_cstring(onion));
        if let Some(o) = onion_out.as_mut() {
            *o = c.as_ptr();
        }
        Ok(())
    })
}

/// The onion published by `emz_publish_onion` (without ".onion"), valid until
/// `emz_unpublish_onion` or `emz_efunguz_free`; NULL when there is none (or for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_onion(ef: *const emz_efunguz_t) -> *const c_char {
    ef.as_ref().and_then(|h| h.onion_c.as_ref()).map_or(ptr::null(), |c| c.as_ptr())
}

/// Removes the onion service now (EMZ_ERR_ALREADY_ABSENT when there is none). The string
/// of `emz_efunguz_onion` is freed, even when Tor fails to answer (EMZ_ERR_TOR).
#[no_mangle]
pub unsafe extern "C" fn emz_unpublish_onion(ef: *mut emz_efunguz_t) -> emz_result_t {
    with_ef(ef, |h| {
        let r = h.ef.unpublish_onion();
        if h.ef.onion().is_none() {
            h.onion_c = None;
        }
        Ok(r?)
    })
}

// ---- counters ---------------------------------------------------------------------------

/// The publish socket's connection counters, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_counters(ef: *const emz_efunguz_t, out: *mut emz_counters_t) -> emz_result_t {
    let ef = ef as *mut emz_efunguz_t;
    with_ef(ef, |h| {
        let c = h.ef.counters();
        *out_arg(out, "out")? =
            emz_counters_t { in_attempted: c.in_attempted, in_permitted: c.in_permitted, in_absorbing: c.in_absorbing };
        Ok(())
    })
}

/// TCP connections accepted by the publish socket (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_attempted(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.in_attempted())
}

/// CURVE handshakes passed (whitelisted keys) at the publish socket (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_permitted(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.in_permitted())
}

/// Connections open now at the publish socket (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_absorbing(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.in_absorbing())
}

/// What all ehyphae of the efunguz received and dropped so far (deleted ones included).
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_stats(ef: *const emz_efunguz_t, out: *mut emz_stats_t) -> emz_result_t {
    let ef = ef as *mut emz_efunguz_t;
    with_ef(ef, |h| {
        *out_arg(out, "out")? = h.ef.stats().into();
        Ok(())
    })
}
