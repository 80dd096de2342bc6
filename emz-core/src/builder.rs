//! Construction of an efunguz with every libzmq knob a user may need.

use crate::address::{check_port, normalize_host};
use crate::efunguz::Efunguz;
use crate::error::{Error, Result};
use crate::keys::SecretKey;
use crate::{DEFAULT_PORT, DEFAULT_TOR_PROXY_HOST, DEFAULT_TOR_PROXY_PORT};
use std::time::Duration;

/// Socket options applied to the efunguz's sockets. Defaults in [`Options::default`].
/// New fields may come in minor releases, so build one from the default and change
/// fields, or use the builder's methods of the same names; [`EfunguzBuilder::build`]
/// checks them all.
///
/// ```
/// use emyzelium::{new_key_pair, Efunguz, ErrorKind, Options};
/// use std::time::Duration;
/// # fn main() -> emyzelium::Result<()> {
/// let (_, secret) = new_key_pair()?;
/// let mut options = Options::default();
/// options.recv_hwm = 10;
/// options.reconnect_interval_max = Duration::from_millis(500);
/// options.ehypha_monitor = false; // two fewer sockets per ehypha
/// let ef = Efunguz::builder(&secret).options(options.clone()).bind_host("127.0.0.1").any_port().build()?;
/// assert_eq!(ef.options(), &options);
///
/// options.io_threads = 0;
/// let err = Efunguz::builder(&secret).options(options).any_port().build().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// libzmq I/O threads (CURVE encryption runs there): default min(cores, 4).
    pub io_threads: i32,
    /// Sockets the context may hold (each ehypha takes one): default 65,535,
    /// libzmq's hard limit with epoll.
    pub max_sockets: i32,
    /// Messages queued per subscriber at the publisher before dropping (default 1000).
    pub send_hwm: i32,
    /// Bytes of etales queued at the publisher for one subscriber and not yet taken by
    /// its connection, beyond which that subscriber counts as full, like at `send_hwm`
    /// (default 1 MiB; 0 = only `send_hwm` counts). With [`Options::retry_unsent`] a
    /// full subscriber then gets each title's latest etale once it has room, so this
    /// bounds what a subscriber that stopped reading has to read through, once it reads
    /// again, before the current values; larger, a subscriber that lags only briefly has
    /// fewer intermediate etales superseded and a fast one keeps its throughput (at
    /// 256 KiB a 4 KiB flood reached 0.7× raw libzmq here, at 1 MiB 1.3×). An etale larger
    /// than this still goes, alone.
    pub publish_queue_bytes: i32,
    /// Kernel send buffer (`SO_SNDBUF`) of each connection to the publish socket, bytes
    /// (Linux doubles it); −1 = the kernel's own, which grows up to `net.ipv4.tcp_wmem`'s
    /// maximum (4 MiB here) and holds that much stale data in front of a stuck
    /// subscriber's latest values (default 64 KiB).
    pub publish_send_buffer: i32,
    /// How long, in ms, an etale may wait in a queue (the publisher's queue for one
    /// subscriber, an ehypha's receive queue) once a newer etale of its title is queued
    /// behind it: after that its reader drops it unread, so a subscriber that stopped
    /// reading skips what went stale and reaches the current values at once. A reader
    /// that keeps up never holds an etale that long, so it still gets every one. 0 = drop
    /// at once, −1 = never (every queued etale is delivered; default 50). Counted in
    /// [`Counters::superseded`](crate::Counters::superseded) and
    /// [`Stats::superseded`](crate::Stats::superseded).
    pub supersede_after_ms: i32,
    /// Messages queued per ehypha before dropping (default 1000).
    pub recv_hwm: i32,
    /// Kernel receive buffer (`SO_RCVBUF`) of each ehypha's connection, bytes (Linux
    /// doubles it); −1 = the kernel's own, which grows with the traffic up to
    /// `net.ipv4.tcp_rmem`'s maximum (default). That backlog is what a paused efunguz
    /// reads first when it updates again, and no superseding can skip it (up to 1,441
    /// stale etales of 8 KiB here). A fixed one bounds it, but mind Linux: with 256 KiB a
    /// connection resumed after a full window stalled 1.4–1.6 s in 3 runs of 8 (64 KiB
    /// and 1 MiB did not in 6 each), so measure your size before relying on it.
    pub recv_buffer: i32,
    /// Largest message accepted by an ehypha, bytes; −1 = no limit (default).
    pub max_message_size: i64,
    /// First reconnect delay of an ehypha (default 100 ms).
    pub reconnect_interval: Duration,
    /// Reconnect backoff cap; zero = no backoff (default 2 s). Also how long an ehypha
    /// stays `Rejected`, `Failed` or `Disconnected` (libzmq not retrying) before the
    /// efunguz reconnects it (at least 100 ms).
    pub reconnect_interval_max: Duration,
    /// ZMTP heartbeat period; zero = off (default 10 s).
    pub heartbeat_interval: Duration,
    /// Silence after which a peer is dropped (default 30 s).
    pub heartbeat_timeout: Duration,
    /// Time-to-live a subscriber asks of its publisher (default 30 s).
    pub heartbeat_ttl: Duration,
    /// Longest CURVE handshake of an ehypha before its connection is dropped and retried
    /// (default 30 s; Tor is slow).
    pub handshake_interval: Duration,
    /// Longest time a connection to the publish socket may take to pass its handshake
    /// before it is dropped, so idle unauthenticated connections cannot hold fds and
    /// memory (default 10 s; a handshake through Tor takes a few seconds). Counted in
    /// [`crate::Counters::in_failed`].
    pub publish_handshake_interval: Duration,
    /// Largest message the publish socket takes from a peer, bytes, checked before
    /// anything is allocated for it, handshake included; −1 = no limit. Subscribers only
    /// send subscriptions, so the default is the largest subscription: 1 + the longest
    /// title ([`crate::MAX_TITLE_LEN`]) + 1. A larger frame drops the connection.
    pub publish_max_message_size: i64,
    /// At creation, the soft open-files limit is raised to at least this (up to the hard
    /// limit), so a flood of connections cannot starve the efunguz of fds (default
    /// 65,536; 0 leaves the limit alone).
    pub min_fd_limit: u64,
    /// Enable IPv6 on every socket (needed for IPv6 hosts and binds).
    pub ipv6: bool,
    /// Most messages taken from one ehypha in one update, so one flooding peer cannot
    /// stall the loop; the rest waits for the next update (default 100,000).
    pub drain_budget: usize,
    /// Most frames taken from one ehypha in one update, parts of unfinished messages
    /// included: a message of a million parts is taken over several updates (default
    /// 100,000, some 20 ms of work at worst).
    pub drain_frame_budget: usize,
    /// Most bytes taken from one ehypha in one update; a frame is never split, so one
    /// larger frame still goes whole (default 64 MiB).
    pub drain_byte_budget: usize,
    /// Most data parts of one etale; a message with more is dropped and counted in
    /// [`crate::Stats::too_many_parts`] (default 4096: far above what etales carry, while
    /// the parts of one etale stay within 256 KiB of bookkeeping).
    pub max_parts: usize,
    /// Keep the latest etale of each title, and send it to each new subscriber of the
    /// title as soon as it subscribes (default true).
    pub keep_latest: bool,
    /// When a subscriber's queue is full, keep the newest etale of each title it missed
    /// and send it to that subscriber as soon as it has room, instead of dropping it:
    /// the last etale of a burst always arrives, and a subscriber that stops reading
    /// delays nobody else (default true). With a libzmq other than the vendored one
    /// (feature `system-zmq`) the etale is held back for everyone and retried on each
    /// update instead, so a stuck subscriber slows the others until heartbeats drop it.
    pub retry_unsent: bool,
    /// Watch each ehypha's connection with a monitor, for [`crate::Ehypha::state`], and
    /// reconnect ehyphae libzmq gives up on (default true). Costs two more sockets and
    /// fds per ehypha: turn off for tens of thousands of ehyphae under a low fd limit.
    pub ehypha_monitor: bool,
}

impl Default for Options {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Options {
            io_threads: cores.clamp(1, 4) as i32,
            max_sockets: 65_535,
            send_hwm: 1000,
            publish_queue_bytes: 1 << 20,
            publish_send_buffer: 64 << 10,
            supersede_after_ms: 50,
            recv_hwm: 1000,
            recv_buffer: -1,
            max_message_size: -1,
            reconnect_interval: Duration::from_millis(100),
            reconnect_interval_max: Duration::from_secs(2),
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(30),
            heartbeat_ttl: Duration::from_secs(30),
            handshake_interval: Duration::from_secs(30),
            publish_handshake_interval: Duration::from_secs(10),
            publish_max_message_size: crate::wire::MAX_TITLE_LEN as i64 + 2,
            min_fd_limit: 65_536,
            ipv6: false,
            drain_budget: 100_000,
            drain_frame_budget: 100_000,
            drain_byte_budget: 64 << 20,
            max_parts: 4096,
            keep_latest: true,
            retry_unsent: true,
            ehypha_monitor: true,
        }
    }
}

pub(crate) fn millis(d: Duration, what: &str) -> Result<i32> {
    i32::try_from(d.as_millis())
        .map_err(|_| Error::InvalidArgument { what: format!("{what} must be under {} ms", i32::MAX) })
}

impl Options {
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidArgument { what: what.to_string() });
        if !(1..=256).contains(&self.io_threads) {
            return bad("io_threads must be 1..=256");
        }
        if self.max_sockets < 16 {
            return bad("max_sockets must be at least 16");
        }
        if self.send_hwm < 0 || self.recv_hwm < 0 {
            return bad("high-water marks must be >= 0 (0 = no limit)");
        }
        if self.publish_queue_bytes < 0 {
            return bad("publish_queue_bytes must be >= 0 (0 = only send_hwm)");
        }
        if self.supersede_after_ms < -1 {
            return bad("supersede_after_ms must be -1 (never), 0 (at once) or a number of ms");
        }
        if self.publish_send_buffer < -1 || self.recv_buffer < -1 {
            return bad("publish_send_buffer and recv_buffer must be -1 (the kernel's) or >= 0");
        }
        if self.max_message_size < -1 || self.publish_max_message_size < -1 {
            return bad("max_message_size and publish_max_message_size must be -1 (no limit) or >= 0");
        }
        if self.drain_budget == 0 {
            return bad("drain_budget must be at least 1");
        }
        if self.drain_frame_budget == 0 || self.drain_byte_budget == 0 {
            return bad("drain_frame_budget and drain_byte_budget must be at least 1");
        }
        millis(self.reconnect_interval, "reconnect_interval")?;
        millis(self.reconnect_interval_max, "reconnect_interval_max")?;
        millis(self.heartbeat_interval, "heartbeat_interval")?;
        millis(self.heartbeat_timeout, "heartbeat_timeout")?;
        // ZMTP carries the TTL in deciseconds in 16 bits.
        if self.heartbeat_ttl > Duration::from_millis(6_553_500) {
            return bad("heartbeat_ttl must be at most 6553.5 s");
        }
        millis(self.handshake_interval, "handshake_interval")?;
        millis(self.publish_handshake_interval, "publish_handshake_interval")?;
        Ok(())
    }
}

/// Builds an [`Efunguz`]; see [`Efunguz::builder`]. Its `Debug` shows only a prefix of
/// the secret key, and the key is wiped from memory when the builder is dropped.
#[derive(Debug, Clone)]
pub struct EfunguzBuilder {
    pub(crate) secret_key: SecretKey,
    pub(crate) whitelist: Vec<String>,
    /// Everyone may subscribe ([`EfunguzBuilder::allow_everyone`]).
    pub(crate) open: bool,
    pub(crate) bind_host: String,
    /// `None`: any free port, chosen by the system.
    pub(crate) port: Option<u16>,
    pub(crate) tor_proxy_host: String,
    pub(crate) tor_proxy_port: u16,
    pub(crate) options: Options,
}

impl EfunguzBuilder {
    pub(crate) fn new(secret_key: &str) -> Self {
        EfunguzBuilder {
            secret_key: SecretKey::unchecked(secret_key),
            whitelist: Vec::new(),
            open: false,
            bind_host: "*".to_string(),
            port: Some(DEFAULT_PORT),
            tor_proxy_host: DEFAULT_TOR_PROXY_HOST.to_string(),
            tor_proxy_port: DEFAULT_TOR_PROXY_PORT,
            options: Options::default(),
        }
    }

    /// Public keys allowed to subscribe. An empty list allows nobody, as does the
    /// default: say who may subscribe with this or [`EfunguzBuilder::allow_everyone`]
    /// (the later call wins).
    pub fn whitelist<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.whitelist = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        self.open = false;
        self
    }

    /// Lets everyone subscribe (open mode): any CURVE key passes. Replaces a whitelist
    /// given before; a later [`EfunguzBuilder::whitelist`] replaces this.
    pub fn allow_everyone(mut self) -> Self {
        self.whitelist.clear();
        self.open = true;
        self
    }

    /// Port to publish on (default 60847).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Publish on any free port; read it back with [`Efunguz::port`].
    pub fn any_port(mut self) -> Self {
        self.port = None;
        self
    }

    /// Interface to publish on: an IP address, an interface name, or `*` (default: all).
    /// For an onion service, `127.0.0.1` keeps the port off the network.
    pub fn bind_host(mut self, host: &str) -> Self {
        self.bind_host = host.to_string();
        self
    }

    /// Tor's SOCKS proxy, for onion ehyphae (default 127.0.0.1:9050).
    pub fn tor_proxy(mut self, host: &str, port: u16) -> Self {
        self.tor_proxy_host = host.to_string();
        self.tor_proxy_port = port;
        self
    }

    /// All socket options at once.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// libzmq I/O threads (see [`Options::io_threads`]).
    pub fn io_threads(mut self, n: i32) -> Self {
        self.options.io_threads = n;
        self
    }

    /// Sockets the context may hold (see [`Options::max_sockets`]).
    pub fn max_sockets(mut self, n: i32) -> Self {
        self.options.max_sockets = n;
        self
    }

    /// Messages queued per subscriber at the publisher (see [`Options::send_hwm`]).
    pub fn send_hwm(mut self, n: i32) -> Self {
        self.options.send_hwm = n;
        self
    }

    /// Bytes queued per subscriber before it counts as full (see
    /// [`Options::publish_queue_bytes`]).
    pub fn publish_queue_bytes(mut self, bytes: i32) -> Self {
        self.options.publish_queue_bytes = bytes;
        self
    }

    /// Kernel send buffer of each subscriber's connection (see
    /// [`Options::publish_send_buffer`]).
    pub fn publish_send_buffer(mut self, bytes: i32) -> Self {
        self.options.publish_send_buffer = bytes;
        self
    }

    /// How long a superseded etale may wait in a queue before its reader drops it (see
    /// [`Options::supersede_after_ms`]).
    pub fn supersede_after_ms(mut self, ms: i32) -> Self {
        self.options.supersede_after_ms = ms;
        self
    }

    /// Messages queued per ehypha (see [`Options::recv_hwm`]).
    pub fn recv_hwm(mut self, n: i32) -> Self {
        self.options.recv_hwm = n;
        self
    }

    /// Kernel receive buffer of each ehypha's connection (see [`Options::recv_buffer`]).
    pub fn recv_buffer(mut self, bytes: i32) -> Self {
        self.options.recv_buffer = bytes;
        self
    }

    /// Largest message an ehypha accepts, bytes; −1 = no limit (see [`Options::max_message_size`]).
    pub fn max_message_size(mut self, bytes: i64) -> Self {
        self.options.max_message_size = bytes;
        self
    }

    /// First reconnect delay and backoff cap of an ehypha (see [`Options::reconnect_interval`]
    /// and [`Options::reconnect_interval_max`]).
    pub fn reconnect_interval(mut self, first: Duration, max: Duration) -> Self {
        self.options.reconnect_interval = first;
        self.options.reconnect_interval_max = max;
        self
    }

    /// Heartbeat period, timeout and TTL; a zero period turns heartbeats off.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration, ttl: Duration) -> Self {
        self.options.heartbeat_interval = interval;
        self.options.heartbeat_timeout = timeout;
        self.options.heartbeat_ttl = ttl;
        self
    }

    /// Longest handshake of an ehypha (see [`Options::handshake_interval`]).
    pub fn handshake_interval(mut self, d: Duration) -> Self {
        self.options.handshake_interval = d;
        self
    }

    /// Longest handshake of a connection to the publish socket (see
    /// [`Options::publish_handshake_interval`]).
    pub fn publish_handshake_interval(mut self, d: Duration) -> Self {
        self.options.publish_handshake_interval = d;
        self
    }

    /// Largest message taken from a subscriber (see [`Options::publish_max_message_size`]).
    pub fn publish_max_message_size(mut self, bytes: i64) -> Self {
        self.options.publish_max_message_size = bytes;
        self
    }

    /// Soft open-files limit to raise to at creation (see [`Options::min_fd_limit`]).
    pub fn min_fd_limit(mut self, n: u64) -> Self {
        self.options.min_fd_limit = n;
        self
    }

    /// Enables IPv6 on every socket (see [`Options::ipv6`]).
    pub fn ipv6(mut self, on: bool) -> Self {
        self.options.ipv6 = on;
        self
    }

    /// Keeps the latest etale of each title for new subscribers (see [`Options::keep_latest`]).
    pub fn keep_latest(mut self, on: bool) -> Self {
        self.options.keep_latest = on;
        self
    }

    /// Holds back and retries etales a full subscriber could not take (see
    /// [`Options::retry_unsent`]).
    pub fn retry_unsent(mut self, on: bool) -> Self {
        self.options.retry_unsent = on;
        self
    }

    /// Watches each ehypha's connection state (see [`Options::ehypha_monitor`]).
    pub fn ehypha_monitor(mut self, on: bool) -> Self {
        self.options.ehypha_monitor = on;
        self
    }

    /// Most messages taken from one ehypha per update (see [`Options::drain_budget`]).
    pub fn drain_budget(mut self, n: usize) -> Self {
        self.options.drain_budget = n;
        self
    }

    /// Most frames taken from one ehypha per update (see [`Options::drain_frame_budget`]).
    pub fn drain_frame_budget(mut self, n: usize) -> Self {
        self.options.drain_frame_budget = n;
        self
    }

    /// Most bytes taken from one ehypha per update (see [`Options::drain_byte_budget`]).
    pub fn drain_byte_budget(mut self, n: usize) -> Self {
        self.options.drain_byte_budget = n;
        self
    }

    /// Most data parts of one etale (0: only etales without data parts).
    pub fn max_parts(mut self, n: usize) -> Self {
        self.options.max_parts = n;
        self
    }

    /// Checks everything, then creates the sockets and binds the publish port.
    pub fn build(self) -> Result<Efunguz> {
        self.options.check()?;
        if let Some(p) = self.port {
            check_port(p, "publish port")?;
        }
        check_port(self.tor_proxy_port, "Tor proxy port")?;
        normalize_host(&self.tor_proxy_host)?;
        if self.bind_host.is_empty() || self.bind_host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(Error::InvalidAddress {
                address: self.bind_host.clone(),
                reason: "bind host must be an address, an interface name or *".into(),
            });
        }
        Efunguz::from_builder(self)
    }
}
