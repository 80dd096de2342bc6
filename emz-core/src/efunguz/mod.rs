//! The efunguz: one peer, publishing etales and holding ehyphae to other peers.
//!
//! Its state is private to this module; the submodules split the work by concept:
//! [`setup`] builds one, [`whitelist`] and [`ehyphae`] manage who it talks to,
//! [`update`] does the per-frame work, [`onion`] publishes it through Tor.

mod ehyphae;
mod onion;
mod setup;
mod token;
mod update;
mod whitelist;

use crate::builder::{EfunguzBuilder, Options};
use crate::ehypha::{Change, Ehypha, Stats};
use crate::error::Result;
use crate::publisher::Publisher;
use crate::sys::{Context, Poller, Socket};
use crate::tor::TorControl;
use crate::wire;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// Connections to the publish socket, from its monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// TCP connections accepted.
    pub in_attempted: u64,
    /// CURVE handshakes that succeeded (key allowed by the whitelist).
    pub in_permitted: u64,
    /// Connections open now: accepted − disconnected.
    pub in_absorbing: u64,
    /// Handshakes on the publish socket that failed: key refused, protocol error (a
    /// frame above [`crate::Options::publish_max_message_size`] included), or not done
    /// within [`crate::Options::publish_handshake_interval`].
    pub in_failed: u64,
    /// Subscriptions (and unsubscriptions) ignored because they are not a title and its
    /// NUL terminator (a prefix, the empty subscription, bad UTF-8, too long).
    pub bad_subscriptions: u64,
    /// Etales dropped unread from a subscriber's queue at the publisher: a newer etale of
    /// the same title was queued behind it and it had waited
    /// [`crate::Options::supersede_after_ms`] (that subscriber was not reading).
    pub superseded: u64,
}

/// One emyzelium peer: a CURVE key pair, a publish socket guarded by a whitelist, and
/// ehyphae subscribed to other peers. Drive it by calling [`Efunguz::update`] from your
/// loop (never blocks) or [`Efunguz::wait`].
///
/// `Send`, not `Sync`: it may move to another thread, and one thread at a time uses it
/// (see the crate's *Threads* section). Dropping it closes its sockets at once, unsent
/// etales included, and removes its onion service.
///
/// # Event loops
///
/// An efunguz is also a readiness file descriptor ([`AsFd`], [`AsRawFd`]) for poll(2),
/// epoll, mio or tokio's `AsyncFd`: it is readable exactly when [`Efunguz::update`] has
/// work (an etale or a connection event arrived, a handshake or subscription waits, an
/// ehypha is due for healing, access narrowed, work was left by the per-update budgets).
/// Watched level-triggered (poll(2), plain epoll), it stops being readable once an
/// update did the work. Watched edge-triggered (tokio, `EPOLLET`, like `ZMQ_FD`): after
/// it fires, call `update()` until it returns 0, then wait again; work an update leaves
/// behind fires it anew. The fd belongs to the efunguz: never read, write or close it,
/// and stop watching it before the efunguz drops. `wait()` and `update()` keep working
/// beside it.
///
/// ```no_run
/// # fn main() -> emyzelium::Result<()> {
/// use std::os::fd::AsRawFd;
/// let (_, secret) = emyzelium::new_key_pair()?;
/// let mut ef = emyzelium::Efunguz::builder(&secret).any_port().build()?;
/// let mut pfd = libc::pollfd { fd: ef.as_raw_fd(), events: libc::POLLIN, revents: 0 };
/// loop {
///     // SAFETY: one valid pollfd, borrowed for the call.
///     unsafe { libc::poll(&mut pfd, 1, -1) };
///     ef.update()?;
///     for change in ef.changes() {
///         println!("{} got new data", change.title);
///     }
/// }
/// # }
/// ```
pub struct Efunguz {
    /// Our key pair, decoded once: every new ehypha's socket needs the bytes.
    /// Wiped when the efunguz drops.
    secret: zeroize::Zeroizing<[u8; 32]>,
    public: [u8; 32],
    public_key: String,
    whitelist: HashSet<String>,
    /// Everyone may subscribe; the whitelist is then empty and unused.
    open: bool,
    /// Access narrowed since the last update: the next update re-creates the publish
    /// socket, which cuts every session (allowed subscribers reconnect by themselves).
    cut_sessions: bool,
    port: u16,
    /// The interface the publish socket binds, kept to bind a re-created one.
    bind_host: String,
    tor_proxy: String,
    options: Options,

    ehyphae: Vec<Option<Ehypha>>,
    by_key: HashMap<String, usize>,
    free_slots: Vec<usize>,
    /// Slots to look at in the next update regardless of epoll.
    queue: Vec<usize>,

    poller: Poller,
    ready: Vec<u64>,
    changes: Vec<Change>,
    stamp: u64,
    counters: Counters,
    /// Accepted minus disconnected connections, signed: libzmq may report a
    /// connection's end before its accept (the session runs on another I/O thread),
    /// so the count can dip below zero for a moment; `in_absorbing` shows it floored.
    in_open: i64,
    stats: Stats,
    /// The onion service publishing this efunguz, and the control connection that owns it.
    onion: Option<(TorControl, String)>,
    /// Slots of ehyphae in a state libzmq may not leave by itself, to reconnect.
    healing: Vec<usize>,
    monitor_seq: u64,

    // Declared last: dropped after the ehyphae, so the context ends last of all.
    monitor: Socket,
    publisher: Publisher,
    zap: Socket,
    ctx: Context,
}

impl Efunguz {
    /// Starts a builder with all defaults (port 60847, Tor at 127.0.0.1:9050, nobody may
    /// subscribe until [`EfunguzBuilder::whitelist`] or [`EfunguzBuilder::allow_everyone`]
    /// says who).
    ///
    /// ```
    /// use emyzelium::{new_key_pair, Efunguz};
    /// # fn main() -> emyzelium::Result<()> {
    /// let (_, secret) = new_key_pair()?;
    /// let (friend, _) = new_key_pair()?;
    /// let ef = Efunguz::builder(&secret)
    ///     .whitelist([&friend]) // or .allow_everyone()
    ///     .bind_host("127.0.0.1") // default: all interfaces
    ///     .any_port() // default: 60847
    ///     .recv_hwm(100)
    ///     .build()?;
    /// assert!(ef.port() > 0);
    /// assert!(!ef.is_open() && ef.whitelist().eq([friend.as_str()]));
    /// # Ok(()) }
    /// ```
    pub fn builder(secret_key: &str) -> EfunguzBuilder {
        EfunguzBuilder::new(secret_key)
    }

    /// The original constructor: secret key, whitelist, publish port, Tor SOCKS proxy.
    /// Unlike the builder, an empty whitelist here means everyone may subscribe (open
    /// mode, as [`EfunguzBuilder::allow_everyone`]), as it always has. It binds all
    /// interfaces; the builder can bind one and pick a free port.
    ///
    /// ```
    /// use emyzelium::{new_key_pair, Efunguz, ErrorKind, DEFAULT_TOR_PROXY_HOST, DEFAULT_TOR_PROXY_PORT};
    /// # fn main() -> emyzelium::Result<()> {
    /// let (_, secret) = new_key_pair()?;
    /// let (friend, _) = new_key_pair()?;
    /// // Efunguz::new(&secret, [&friend], 60847, "127.0.0.1", 9050)? publishes to `friend`
    /// // on port 60847; arguments are checked before anything is bound:
    /// let err = Efunguz::new(&secret, [&friend], 0, DEFAULT_TOR_PROXY_HOST, DEFAULT_TOR_PROXY_PORT).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidPort);
    /// let err = Efunguz::new(&secret, ["not a key"], 60847, "127.0.0.1", 9050).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidKey);
    /// # Ok(()) }
    /// ```
    pub fn new<I, S>(
        secret_key: &str,
        whitelist: I,
        port: u16,
        tor_proxy_host: &str,
        tor_proxy_port: u16,
    ) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys: Vec<String> = whitelist.into_iter().map(|k| k.as_ref().to_string()).collect();
        let b = if keys.is_empty() {
            Self::builder(secret_key).allow_everyone()
        } else {
            Self::builder(secret_key).whitelist(keys)
        };
        b.port(port).tor_proxy(tor_proxy_host, tor_proxy_port).build()
    }

    /// Our public key (Z85, 40 characters): what peers whitelist and pass to `add_ehypha`.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The publish port (the one chosen by the system after [`EfunguzBuilder::any_port`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The options the efunguz was built with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    // ---- publishing --------------------------------------------------------------------

    /// Publishes `parts` under `title`, stamped with the current time, to every
    /// subscriber of the title. Never blocks. Returns `false` when the etale could not
    /// be queued for at least one subscriber (its queue is full, HWM): it is then
    /// pending as that subscriber's latest of the title and goes out, during a later
    /// update, as soon as that subscriber has room, unless a newer etale of the title
    /// supersedes it first; the others got it now (see [`Options::retry_unsent`]). Also
    /// answers waiting handshakes and subscriptions, so that a program that only emits
    /// is reachable without `update()`.
    ///
    /// Each part is anything that is `AsRef<[u8]>`; the bytes are copied during the call.
    /// A title may be empty, and is at most [`crate::MAX_TITLE_LEN`] bytes without NUL.
    ///
    /// ```
    /// use emyzelium::{new_key_pair, Efunguz, ErrorKind};
    /// # fn main() -> emyzelium::Result<()> {
    /// let (_, secret) = new_key_pair()?;
    /// let mut ef = Efunguz::builder(&secret).allow_everyone().bind_host("127.0.0.1").any_port().build()?;
    /// let (w, h, cells) = (4u16, 2u16, [0u8; 8]);
    /// assert!(ef.emit_etale("zone", &[&w.to_le_bytes()[..], &h.to_le_bytes(), &cells])?);
    /// ef.emit_etale("", &[b"the empty title is a title too"])?;
    /// ef.emit_etale_at("replay", &[vec![1, 2, 3]], 1_700_000_000_000_000)?; // t_out of your choosing
    /// assert_eq!(ef.unsent_etales(), 0); // nobody subscribed, nobody waits
    /// assert_eq!(ef.emit_etale("a\0b", &[b""]).unwrap_err().kind(), ErrorKind::InvalidTitle);
    /// # Ok(()) }
    /// ```
    pub fn emit_etale<P: AsRef<[u8]>>(&mut self, title: &str, parts: &[P]) -> Result<bool> {
        self.emit_etale_at(title, parts, wire::now_us())
    }

    /// As [`Efunguz::emit_etale`] with a `t_out` of your choosing.
    pub fn emit_etale_at<P: AsRef<[u8]>>(&mut self, title: &str, parts: &[P], t_out: i64) -> Result<bool> {
        wire::check_title(title)?;
        let parts: Vec<&[u8]> = parts.iter().map(AsRef::as_ref).collect();
        self.serve_subscribers()?;
        let sent = self.publisher.emit(title, &parts, t_out);
        // Sending may take in the command that would have signalled a subscription:
        // the next update looks at the publish socket, so the readiness fd says so.
        if self.publisher.touched {
            self.poller.wake();
        }
        sent
    }

    /// Access narrowed: the next update cuts every session, and the readiness fd says so.
    fn narrow(&mut self) {
        self.cut_sessions = true;
        self.poller.wake();
    }

    /// Titles whose latest etale is still pending for some subscriber, waiting for
    /// room in its queue (0 when every subscriber has the latest of every title).
    pub fn unsent_etales(&self) -> usize {
        self.publisher.unsent()
    }

    // ---- counters ----------------------------------------------------------------------

    /// All connection counters of the publish socket at once.
    pub fn counters(&self) -> Counters {
        Counters {
            bad_subscriptions: self.publisher.bad_subscriptions(),
            superseded: self.publisher.superseded(),
            ..self.counters
        }
    }

    /// TCP connections the publish socket accepted (see [`Counters::in_attempted`]).
    pub fn in_attempted(&self) -> u64 {
        self.counters.in_attempted
    }

    /// Handshakes the publish socket let through (see [`Counters::in_permitted`]).
    pub fn in_permitted(&self) -> u64 {
        self.counters.in_permitted
    }

    /// Connections to the publish socket open now (see [`Counters::in_absorbing`]).
    pub fn in_absorbing(&self) -> u64 {
        self.counters.in_absorbing
    }

    /// What all ehyphae received and dropped so far (deleted ones included).
    pub fn stats(&self) -> Stats {
        let live: u64 = self.ehyphae.iter().flatten().map(|e| e.superseded()).sum();
        Stats { superseded: self.stats.superseded + live, ..self.stats }
    }
}

impl Drop for Efunguz {
    fn drop(&mut self) {
        // epoll entries go first: libzmq closes socket fds asynchronously.
        for e in self.ehyphae.iter().flatten() {
            self.poller.remove(e.fd);
            if let Some((_, mfd)) = &e.monitor {
                self.poller.remove(*mfd);
            }
        }
        self.ehyphae.clear();
        self.publisher.sock.stop_monitor();
        if let Some((mut tc, id)) = self.onion.take() {
            // Best effort: Tor also drops it when the control connection closes.
            let _ = tc.del_onion(&id);
        }
        // The remaining sockets close in field order, then the context terminates.
    }
}

/// The readiness fd (see "Event loops" on [`Efunguz`]): the efunguz's epoll set.
impl AsFd for Efunguz {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.poller.as_fd()
    }
}

/// The readiness fd (see "Event loops" on [`Efunguz`]), as a raw number.
impl AsRawFd for Efunguz {
    fn as_raw_fd(&self) -> RawFd {
        self.poller.as_fd().as_raw_fd()
    }
}

impl std::fmt::Debug for Efunguz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Efunguz")
            .field("public_key", &self.public_key)
            .field("port", &self.port)
            .field("open", &self.open)
            .field("whitelist", &self.whitelist.len())
            .field("ehyphae", &self.by_key.len())
            .field("counters", &self.counters())
            .finish()
    }
}
