//! Constants, enums and plain data structs shared by the handle types.

use crate::ffi::to_cstring;
use crate::sized::{field_ends, Grows};
use emyzelium::{EhyphaState, Options};
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::OnceLock;
use std::time::Duration;

/// Length of a Z85-encoded CURVE key (public or secret), without the terminating NUL.
pub const EMZ_KEY_Z85_LEN: usize = 40;
/// Size of a buffer that receives a key: 40 characters and the terminating NUL.
pub const EMZ_KEY_BUF_LEN: usize = 41;
/// Default publish port of an efunguz.
pub const EMZ_DEFAULT_PORT: u16 = 60847;
/// Default port of Tor's SOCKS proxy (its host is 127.0.0.1).
pub const EMZ_DEFAULT_TOR_PROXY_PORT: u16 = 9050;

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

/// The C value of each core state, in the order of their numbers (`EhyphaState::ALL`).
const STATES: [emz_ehypha_state_t; 8] = {
    use emz_ehypha_state_t::*;
    [
        EMZ_EHYPHA_UNKNOWN,
        EMZ_EHYPHA_CONNECTING,
        EMZ_EHYPHA_RETRYING,
        EMZ_EHYPHA_HANDSHAKING,
        EMZ_EHYPHA_UP,
        EMZ_EHYPHA_REJECTED,
        EMZ_EHYPHA_FAILED,
        EMZ_EHYPHA_DISCONNECTED,
    ]
};

// The build fails when the core's states and the C enum drift apart (names: see tests).
const _: () = {
    assert!(EhyphaState::ALL.len() == STATES.len(), "the core's EhyphaState and emz_ehypha_state_t differ in length");
    let mut i = 0;
    while i < STATES.len() {
        assert!(EhyphaState::ALL[i].code() == STATES[i] as u32, "emz_ehypha_state_t differs from EhyphaState::code()");
        i += 1;
    }
};

/// The C value of a core state: its stable number.
pub(crate) fn state_of(s: EhyphaState) -> emz_ehypha_state_t {
    // Every state has its value (checked above at build time); UNKNOWN is what the header
    // promises for a state it predates.
    STATES.into_iter().find(|c| *c as u32 == s.code()).unwrap_or(emz_ehypha_state_t::EMZ_EHYPHA_UNKNOWN)
}

/// The core's name of the state numbered `code`, NUL-terminated for C; None outside the enum.
pub(crate) fn state_name(code: c_int) -> Option<&'static CStr> {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| EhyphaState::ALL.iter().map(|s| to_cstring(s.name().to_string())).collect());
    let state = EhyphaState::from_code(u32::try_from(code).ok()?)?;
    let index = EhyphaState::ALL.iter().position(|s| *s == state)?;
    names.get(index).map(CString::as_c_str)
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

impl emz_tor_auth_t {
    /// Every kind, for turning a C int into one.
    pub(crate) const ALL: [emz_tor_auth_t; 3] =
        [emz_tor_auth_t::EMZ_TOR_AUTH_AUTO, emz_tor_auth_t::EMZ_TOR_AUTH_COOKIE, emz_tor_auth_t::EMZ_TOR_AUTH_PASSWORD];
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

impl emz_onion_key_t {
    /// Every kind, for turning a C int into one.
    pub(crate) const ALL: [emz_onion_key_t; 3] = [
        emz_onion_key_t::EMZ_ONION_KEY_NEW,
        emz_onion_key_t::EMZ_ONION_KEY_ED25519_V3,
        emz_onion_key_t::EMZ_ONION_KEY_FILE,
    ];
}

/// A read-only view of bytes: `len` bytes at `ptr`. `ptr` may be NULL when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emz_part_t {
    /// First byte.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// Connections to an efunguz's publish socket, from its monitor. Filled by
/// `emz_counters(ef, &c)`; grows at its end under the `size` rule of `emz_options_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct emz_counters_t {
    /// `sizeof(emz_counters_t)` as the caller knows it; set by the library.
    pub size: usize,
    /// TCP connections accepted.
    pub in_attempted: u64,
    /// CURVE handshakes that succeeded (key allowed by the whitelist).
    pub in_permitted: u64,
    /// Connections open now.
    pub in_absorbing: u64,
    /// Handshakes on the publish socket that failed: key refused, protocol error (a frame
    /// above `publish_max_message_size` included), or not done within
    /// `publish_handshake_interval_ms`.
    pub in_failed: u64,
    /// Subscriptions (and unsubscriptions) ignored: not a title and its NUL terminator.
    pub bad_subscriptions: u64,
    /// Etales dropped unread from a subscriber's queue at the publisher: a newer one of
    /// the same title was queued behind it and it had waited
    /// `emz_options_t.supersede_after_ms` (that subscriber was not reading).
    pub superseded: u64,
}

impl From<emyzelium::Counters> for emz_counters_t {
    fn from(c: emyzelium::Counters) -> Self {
        emz_counters_t {
            size: std::mem::size_of::<emz_counters_t>(),
            in_attempted: c.in_attempted,
            in_permitted: c.in_permitted,
            in_absorbing: c.in_absorbing,
            in_failed: c.in_failed,
            bad_subscriptions: c.bad_subscriptions,
            superseded: c.superseded,
        }
    }
}

/// What ehyphae received and dropped. Filled by `emz_efunguz_stats(ef, &s)` and
/// `emz_ehypha_stats(eh, &s)`; grows at its end under the `size` rule of `emz_options_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct emz_stats_t {
    /// `sizeof(emz_stats_t)` as the caller knows it; set by the library.
    pub size: usize,
    /// Well-formed etales taken into a subscribed title.
    pub received: u64,
    /// Dropped: malformed (title without NUL, t_out not 8 bytes).
    pub malformed: u64,
    /// Dropped: for a title the ehypha does not hold.
    pub unknown_title: u64,
    /// Dropped: arrived for a paused etale.
    pub paused: u64,
    /// Dropped: more data parts than `emz_options_t.max_parts`.
    pub too_many_parts: u64,
    /// Dropped unread in the receive queue: a newer etale of the same title was queued
    /// behind it and it had waited `emz_options_t.supersede_after_ms`.
    pub superseded: u64,
}

impl From<emyzelium::Stats> for emz_stats_t {
    fn from(s: emyzelium::Stats) -> Self {
        emz_stats_t {
            size: std::mem::size_of::<emz_stats_t>(),
            received: s.received,
            malformed: s.malformed,
            unknown_title: s.unknown_title,
            paused: s.paused,
            too_many_parts: s.too_many_parts,
            superseded: s.superseded,
        }
    }
}

/// libzmq socket options of an efunguz. Fill with `emz_options_default(&o)` first (it
/// sets `size`), then change what you need.
///
/// The struct grows at its end in later versions: the library reads and writes only the
/// fields within `size`, so a program built against an older header keeps working (the
/// fields it does not know keep their defaults). A `size` that is no version's size gives
/// EMZ_ERR_INVALID_ARGUMENT.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emz_options_t {
    /// `sizeof(emz_options_t)` as the caller knows it; set by `emz_options_default`.
    pub size: usize,
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
    /// When a subscriber's queue is full, keep the newest etale of each title it missed and
    /// send it to that subscriber alone as soon as it has room, instead of dropping it; the
    /// others are not delayed (default true). With a system libzmq the etale is held back
    /// for everyone and retried on each update instead.
    pub retry_unsent: bool,
    /// Watch each ehypha's connection with a monitor, for `emz_ehypha_state`, and
    /// reconnect ehyphae their peer refused (default true). Costs two more sockets and
    /// fds per ehypha: turn off for tens of thousands of ehyphae under a low fd limit.
    pub ehypha_monitor: bool,
    /// Longest time a connection to the publish socket may take to pass its handshake
    /// before it is dropped, ms (default 10000). Counted in `emz_counters_t.in_failed`.
    pub publish_handshake_interval_ms: u64,
    /// Largest message the publish socket takes from a peer, bytes, handshake included;
    /// -1 = no limit (default: the largest subscription).
    pub publish_max_message_size: i64,
    /// At creation the soft open-files limit is raised to at least this (up to the hard
    /// limit); 0 leaves it alone (default 65536).
    pub min_fd_limit: u64,
    /// Most frames taken from one ehypha in one update (default 100000).
    pub drain_frame_budget: usize,
    /// Most bytes taken from one ehypha in one update; a frame is never split (default 64 MiB).
    pub drain_byte_budget: usize,
    /// Most data parts of one etale; a message with more is dropped and counted in
    /// `emz_stats_t.too_many_parts` (default 4096).
    pub max_parts: usize,
    /// Bytes queued at the publisher for one subscriber, not yet taken by its connection,
    /// beyond which it counts as full and gets each title's latest etale once it has room
    /// (default 1 MiB; 0 = only `send_hwm` counts).
    pub publish_queue_bytes: i32,
    /// Kernel send buffer of each connection to the publish socket, bytes; -1 = the
    /// kernel's, autotuned up to MiBs (default 65536).
    pub publish_send_buffer: i32,
    /// Kernel receive buffer of each ehypha's connection, bytes; -1 = the kernel's,
    /// autotuned up to MiBs (default).
    pub recv_buffer: i32,
    /// How long, in ms, an etale may wait in a queue (the publisher's queue for one
    /// subscriber, an ehypha's receive queue) once a newer etale of its title is queued
    /// behind it; then its reader drops it unread, so a subscriber that stopped reading
    /// skips what went stale. A reader that keeps up still gets every etale. 0 = at once,
    /// -1 = never (default 50). Counted in `emz_counters_t.superseded` and
    /// `emz_stats_t.superseded`.
    pub supersede_after_ms: i32,
}

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The one table of options: each C field beside its core field, plain (same type) or
/// `ms` (a `Duration` in milliseconds). Both conversions come from it, and the tests
/// check that it names every field of the core's `Options`.
macro_rules! options_table {
    ($($kind:ident $c:ident = $core:ident;)*) => {
        impl From<&Options> for emz_options_t {
            fn from(o: &Options) -> Self {
                emz_options_t { size: std::mem::size_of::<emz_options_t>(), $($c: options_table!(@to $kind o.$core),)* }
            }
        }

        impl From<&emz_options_t> for Options {
            fn from(o: &emz_options_t) -> Self {
                // Options is non-exhaustive: start from the defaults, so options the C
                // face does not know yet keep them.
                let mut r = Options::default();
                $(r.$core = options_table!(@from $kind o.$c);)*
                r
            }
        }
    };
    (@to plain $v:expr) => { $v };
    (@to ms $v:expr) => { ms($v) };
    (@from plain $v:expr) => { $v };
    (@from ms $v:expr) => { Duration::from_millis($v) };
}

options_table! {
    plain io_threads = io_threads;
    plain max_sockets = max_sockets;
    plain send_hwm = send_hwm;
    plain recv_hwm = recv_hwm;
    plain max_message_size = max_message_size;
    ms reconnect_interval_ms = reconnect_interval;
    ms reconnect_interval_max_ms = reconnect_interval_max;
    ms heartbeat_interval_ms = heartbeat_interval;
    ms heartbeat_timeout_ms = heartbeat_timeout;
    ms heartbeat_ttl_ms = heartbeat_ttl;
    ms handshake_interval_ms = handshake_interval;
    ms publish_handshake_interval_ms = publish_handshake_interval;
    plain publish_max_message_size = publish_max_message_size;
    plain min_fd_limit = min_fd_limit;
    plain ipv6 = ipv6;
    plain drain_budget = drain_budget;
    plain drain_frame_budget = drain_frame_budget;
    plain drain_byte_budget = drain_byte_budget;
    plain max_parts = max_parts;
    plain keep_latest = keep_latest;
    plain retry_unsent = retry_unsent;
    plain ehypha_monitor = ehypha_monitor;
    plain publish_queue_bytes = publish_queue_bytes;
    plain publish_send_buffer = publish_send_buffer;
    plain recv_buffer = recv_buffer;
    plain supersede_after_ms = supersede_after_ms;
}

impl Grows for emz_counters_t {
    const NAME: &'static str = "emz_counters_t";
    const HOW: &'static str = "call it through the macro emz_counters, which passes sizeof";
    fn field_ends() -> Vec<usize> {
        field_ends!(emz_counters_t; size, in_attempted, in_permitted, in_absorbing, in_failed, bad_subscriptions,
            superseded)
    }
}

impl Grows for emz_stats_t {
    const NAME: &'static str = "emz_stats_t";
    const HOW: &'static str = "call it through the macro emz_efunguz_stats or emz_ehypha_stats, which passes sizeof";
    fn field_ends() -> Vec<usize> {
        field_ends!(emz_stats_t; size, received, malformed, unknown_title, paused, too_many_parts, superseded)
    }
}

impl Grows for emz_options_t {
    const NAME: &'static str = "emz_options_t";
    const HOW: &'static str = "fill the struct with its initialiser (emz_options_default) before setting fields";
    fn field_ends() -> Vec<usize> {
        field_ends!(emz_options_t; size, io_threads, max_sockets, send_hwm, recv_hwm, max_message_size,
            reconnect_interval_ms, reconnect_interval_max_ms, heartbeat_interval_ms, heartbeat_timeout_ms,
            heartbeat_ttl_ms, handshake_interval_ms, ipv6, drain_budget, keep_latest, retry_unsent, ehypha_monitor,
            publish_handshake_interval_ms, publish_max_message_size, min_fd_limit, drain_frame_budget,
            drain_byte_budget, max_parts, publish_queue_bytes, publish_send_buffer, recv_buffer, supersede_after_ms)
    }
}

/// Everything `emz_efunguz_new_with` needs. Fill with `emz_config_init(&c, secret)` first
/// (it sets `size`), then change what you need. Strings and `options` are only read
/// during the call. Grows at its end like `emz_options_t`, under the same `size` rule.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emz_config_t {
    /// `sizeof(emz_config_t)` as the caller knows it; set by `emz_config_init`.
    pub size: usize,
    /// Own secret key, Z85 (required).
    pub secret_key: *const c_char,
    /// Public keys allowed to subscribe; `whitelist_len` of them (NULL when 0). Empty =
    /// NOBODY (unlike `emz_efunguz_new`), unless `everyone` is true.
    pub whitelist: *const *const c_char,
    /// Number of keys in `whitelist`.
    pub whitelist_len: usize,
    /// Let everyone subscribe (open mode); `whitelist_len` must then be 0 (default false).
    pub everyone: bool,
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
    /// Socket options (filled with `emz_options_default`); NULL = the defaults.
    pub options: *const emz_options_t,
}

impl Grows for emz_config_t {
    const NAME: &'static str = "emz_config_t";
    const HOW: &'static str = "fill the struct with its initialiser (emz_config_init) before setting fields";
    fn field_ends() -> Vec<usize> {
        field_ends!(emz_config_t; size, secret_key, whitelist, whitelist_len, everyone, port, any_port, bind_host,
            tor_proxy_host, tor_proxy_port, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_the_c_value_of_its_number_and_name() {
        assert_eq!(EhyphaState::ALL.len(), STATES.len());
        for &state in EhyphaState::ALL {
            let c = state_of(state);
            assert_eq!(c as u32, state.code(), "{state:?}");
            assert_eq!(format!("{c:?}"), format!("EMZ_EHYPHA_{}", state.name().to_ascii_uppercase()), "{state:?}");
            assert_eq!(state_name(c as c_int).map(CStr::to_str), Some(Ok(state.name())));
        }
        assert_eq!(state_name(-1), None);
        assert_eq!(state_name(STATES.len() as c_int), None);
    }

    /// `Name { a: 1, b: 2ms }` (a derived `Debug`) as (name, value) pairs; no value here
    /// holds ", " or ": ".
    fn debug_fields(debug: &str) -> Vec<(String, String)> {
        let inner = debug.split_once(" { ").expect("a struct").1.trim_end_matches(" }");
        inner
            .split(", ")
            .map(|f| {
                let (k, v) = f.split_once(": ").expect("name: value");
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn the_c_defaults_equal_the_core_defaults_field_by_field() {
        let core = Options::default();
        let mut c = std::mem::MaybeUninit::<emz_options_t>::uninit();
        let size = std::mem::size_of::<emz_options_t>();
        let rc = unsafe { crate::efunguz::emz_options_default_sized(c.as_mut_ptr(), size) };
        assert_eq!(rc, crate::result::emz_result_t::EMZ_OK);
        let c = unsafe { c.assume_init() };
        assert_eq!(c.size, size);
        // `size` belongs to the C struct alone.
        let c_fields: Vec<_> = debug_fields(&format!("{c:?}")).into_iter().filter(|(k, _)| k != "size").collect();
        let core_fields = debug_fields(&format!("{core:?}"));
        assert_eq!(c_fields.len(), core_fields.len(), "emz_options_t and Options differ in their fields");
        for (name, value) in &core_fields {
            // A Duration is the C field `<name>_ms`, in milliseconds.
            let (c_name, c_value) = match c_fields.iter().find(|(k, _)| k == name) {
                Some((k, v)) => (k.clone(), v.clone()),
                None => {
                    let k = format!("{name}_ms");
                    let v = c_fields.iter().find(|(n, _)| *n == k).unwrap_or_else(|| panic!("no C field for {name}"));
                    (k, format!("{:?}", Duration::from_millis(v.1.parse().expect("milliseconds"))))
                }
            };
            assert_eq!(&c_value, value, "{c_name} (C) vs {name} (core)");
        }
        assert_eq!(Options::from(&c), core);
    }

    #[test]
    fn every_c_option_reaches_the_core_and_comes_back() {
        let mut c = emz_options_t::from(&Options::default());
        c.io_threads = 3;
        c.max_sockets = 100;
        c.send_hwm = 7;
        c.recv_hwm = 8;
        c.max_message_size = 9;
        c.reconnect_interval_ms = 11;
        c.reconnect_interval_max_ms = 12;
        c.heartbeat_interval_ms = 13;
        c.heartbeat_timeout_ms = 14;
        c.heartbeat_ttl_ms = 15;
        c.handshake_interval_ms = 16;
        c.publish_handshake_interval_ms = 17;
        c.publish_max_message_size = 18;
        c.min_fd_limit = 19;
        c.ipv6 = true;
        c.drain_budget = 20;
        c.drain_frame_budget = 21;
        c.drain_byte_budget = 22;
        c.max_parts = 23;
        c.keep_latest = false;
        c.retry_unsent = false;
        c.ehypha_monitor = false;
        let core = Options::from(&c);
        assert_eq!(core.publish_handshake_interval, Duration::from_millis(17));
        assert_eq!((core.publish_max_message_size, core.min_fd_limit), (18, 19));
        assert_eq!((core.drain_frame_budget, core.drain_byte_budget, core.max_parts), (21, 22, 23));
        // Every field differs from its default, so a field the table misses comes back
        // as its default and the Debug texts differ.
        assert_eq!(format!("{:?}", emz_options_t::from(&core)), format!("{c:?}"));
    }
}
