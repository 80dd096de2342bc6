//! The efunguz: one peer, publishing etales and holding ehyphae to other peers.

use crate::address::Address;
use crate::builder::{millis, EfunguzBuilder, Options};
use crate::ehypha::{Change, Ehypha, Stats};
use crate::error::{Error, Result};
use crate::keys::{check_key, read_keys_file, SecretKey};
use crate::publisher::Publisher;
use crate::sys::{self, Context, Poller, Socket};
use crate::tor::{OnionKey, TorAuth, TorControl};
use crate::wire;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub(crate) const TOKEN_ZAP: u64 = 0;
pub(crate) const TOKEN_MONITOR: u64 = 1;
pub(crate) const TOKEN_PUB: u64 = 2;
/// Ehypha in slot s: its SUB socket is token TOKEN_EHYPHA0 + 2s, its monitor + 1.
pub(crate) const TOKEN_EHYPHA0: u64 = 3;

/// Events of the publish socket that feed the counters.
const PUB_MONITOR_EVENTS: u16 =
    sys::ZMQ_EVENT_ACCEPTED | sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED | sys::ZMQ_EVENT_DISCONNECTED;

/// Connections to the publish socket, from its monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// TCP connections accepted.
    pub in_attempted: u64,
    /// CURVE handshakes that succeeded (key allowed by the whitelist).
    pub in_permitted: u64,
    /// Connections open now: accepted − disconnected.
    pub in_absorbing: u64,
}

/// One emyzelium peer: a CURVE key pair, a publish socket guarded by a whitelist, and
/// ehyphae subscribed to other peers. Drive it by calling [`Efunguz::update`] from your
/// loop (never blocks) or [`Efunguz::wait`].
pub struct Efunguz {
    pub(crate) secret_key: SecretKey,
    pub(crate) public_key: String,
    pub(crate) whitelist: HashSet<String>,
    pub(crate) port: u16,
    pub(crate) tor_proxy: String,
    pub(crate) options: Options,

    pub(crate) ehyphae: Vec<Option<Ehypha>>,
    pub(crate) by_key: HashMap<String, usize>,
    pub(crate) free_slots: Vec<usize>,
    /// Slots to look at in the next update regardless of epoll.
    pub(crate) queue: Vec<usize>,

    pub(crate) poller: Poller,
    pub(crate) ready: Vec<u64>,
    pub(crate) changes: Vec<Change>,
    pub(crate) stamp: u64,
    pub(crate) counters: Counters,
    pub(crate) stats: Stats,
    /// The onion service publishing this efunguz, and the control connection that owns it.
    pub(crate) onion: Option<(TorControl, String)>,
    /// Slots of ehyphae refused by their peer, to retry.
    pub(crate) rejected: Vec<usize>,
    monitor_seq: u64,

    // Declared last: dropped after the ehyphae, so the context ends last of all.
    pub(crate) monitor: Socket,
    pub(crate) publisher: Publisher,
    pub(crate) zap: Socket,
    pub(crate) ctx: Context,
}

fn zerr(op: &'static str) -> impl FnOnce(sys::ZmqError) -> Error {
    move |e| Error::zmq(op, e)
}

impl Efunguz {
    /// Starts a builder with all defaults (port 60847, Tor at 127.0.0.1:9050, everyone
    /// may subscribe).
    pub fn builder(secret_key: &str) -> EfunguzBuilder {
        EfunguzBuilder::new(secret_key)
    }

    /// The original constructor: secret key, whitelist (empty = everyone), publish port,
    /// Tor SOCKS proxy.
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
        Self::builder(secret_key).whitelist(whitelist).port(port).tor_proxy(tor_proxy_host, tor_proxy_port).build()
    }

    pub(crate) fn from_builder(b: EfunguzBuilder) -> Result<Self> {
        let secret = b.secret_key.decode()?;
        if !sys::has("curve") {
            return Err(Error::CurveUnavailable);
        }
        let public_key = b.secret_key.public_key()?;
        let mut whitelist = HashSet::new();
        for k in &b.whitelist {
            check_key(k)?;
            whitelist.insert(k.clone());
        }
        let o = &b.options;

        let ctx = Context::new().map_err(zerr("zmq_ctx_new"))?;
        ctx.set(sys::ZMQ_IO_THREADS, o.io_threads).map_err(zerr("zmq_ctx_set(ZMQ_IO_THREADS)"))?;
        let limit = ctx.get(sys::ZMQ_SOCKET_LIMIT).unwrap_or(o.max_sockets);
        ctx.set(sys::ZMQ_MAX_SOCKETS, o.max_sockets.min(limit)).map_err(zerr("zmq_ctx_set(ZMQ_MAX_SOCKETS)"))?;

        // The ZAP handler must be bound before the publisher accepts anyone.
        let zap = ctx.socket(sys::ZMQ_REP).map_err(zerr("zmq_socket(ZAP)"))?;
        zap.bind("inproc://zeromq.zap.01").map_err(zerr("zmq_bind(ZAP)"))?;

        // XPUB is PUB on the wire; see publisher.rs for what it adds.
        let publisher = ctx.socket(sys::ZMQ_XPUB).map_err(zerr("zmq_socket(XPUB)"))?;
        let set = |opt, v: i32, name| publisher.set_i32(opt, v).map_err(zerr(name));
        set(sys::ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")?;
        publisher.set_bytes(sys::ZMQ_CURVE_SECRETKEY, &secret[..]).map_err(zerr("ZMQ_CURVE_SECRETKEY"))?;
        publisher.set_bytes(sys::ZMQ_ZAP_DOMAIN, crate::ZAP_DOMAIN.as_bytes()).map_err(zerr("ZMQ_ZAP_DOMAIN"))?;
        set(sys::ZMQ_SNDHWM, o.send_hwm, "ZMQ_SNDHWM")?;
        set(sys::ZMQ_IPV6, i32::from(o.ipv6), "ZMQ_IPV6")?;
        set(sys::ZMQ_HANDSHAKE_IVL, millis(o.handshake_interval, "")?, "ZMQ_HANDSHAKE_IVL")?;
        apply_heartbeat(&publisher, o)?;

        let monitor_endpoint = "inproc://emyzelium.monitor.pub";
        publisher.monitor(monitor_endpoint, PUB_MONITOR_EVENTS).map_err(zerr("zmq_socket_monitor"))?;
        let monitor = ctx.socket(sys::ZMQ_PAIR).map_err(zerr("zmq_socket(PAIR)"))?;
        monitor.connect(monitor_endpoint).map_err(zerr("zmq_connect(monitor)"))?;

        let host = if b.bind_host.contains(':') && !b.bind_host.starts_with('[') {
            format!("[{}]", b.bind_host)
        } else {
            b.bind_host.clone()
        };
        let endpoint = match b.port {
            Some(p) => format!("tcp://{host}:{p}"),
            None => format!("tcp://{host}:*"),
        };
        if let Err(e) = publisher.bind(&endpoint) {
            publisher.stop_monitor();
            return Err(if e.0 == sys::EADDRINUSE {
                Error::AddressInUse { endpoint }
            } else if e.0 == libc::ENODEV || e.0 == libc::EADDRNOTAVAIL || e.0 == libc::EINVAL {
                Error::InvalidAddress { address: b.bind_host.clone(), reason: e.message() }
            } else {
                Error::zmq("zmq_bind(PUB)", e)
            });
        }
        let port = match b.port {
            Some(p) => p,
            None => {
                let last = publisher.last_endpoint().map_err(zerr("ZMQ_LAST_ENDPOINT"))?;
                last.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or_else(|| Error::Zmq {
                    op: "ZMQ_LAST_ENDPOINT",
                    code: 0,
                    message: format!("cannot read the port of {last:?}"),
                })?
            }
        };

        let publisher = Publisher::new(publisher, o.keep_latest, o.retry_unsent)?;
        let poller = Poller::new(64).map_err(|e| Error::Limit { what: format!("epoll_create1: {e}") })?;
        for (sock, token) in [(&zap, TOKEN_ZAP), (&monitor, TOKEN_MONITOR), (&publisher.sock, TOKEN_PUB)] {
            let fd = sock.fd().map_err(zerr("ZMQ_FD"))?;
            poller.add(fd, token).map_err(|e| Error::Limit { what: format!("epoll_ctl: {e}") })?;
        }

        let mut ef = Efunguz {
            secret_key: b.secret_key,
            public_key,
            whitelist,
            port,
            tor_proxy: format!("{}:{}", b.tor_proxy_host, b.tor_proxy_port),
            options: b.options,
            ehyphae: Vec::new(),
            by_key: HashMap::new(),
            free_slots: Vec::new(),
            queue: Vec::new(),
            poller,
            ready: Vec::new(),
            changes: Vec::new(),
            stamp: 0,
            counters: Counters::default(),
            stats: Stats::default(),
            onion: None,
            rejected: Vec::new(),
            monitor_seq: 0,
            monitor,
            publisher,
            zap,
            ctx,
        };
        // libzmq signals a socket's fd for a new message only after a read found its
        // pipe empty. The monitor's pipe was attached inside connect(), with no command
        // and so no signal: read it empty once so that its first event wakes epoll.
        ef.serve_monitor()?;
        ef.serve_zap()?;
        Ok(ef)
    }

    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The publish port (the one chosen by the system after [`EfunguzBuilder::any_port`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    // ---- whitelist ---------------------------------------------------------------------

    /// Public keys allowed to subscribe; empty = everyone.
    pub fn whitelist(&self) -> impl Iterator<Item = &str> {
        self.whitelist.iter().map(String::as_str)
    }

    /// Allows `key` to subscribe (from the next handshake on).
    pub fn add_whitelist_key(&mut self, key: &str) -> Result<()> {
        check_key(key)?;
        if !self.whitelist.insert(key.to_string()) {
            return Err(Error::AlreadyPresent { what: "whitelist key", name: key.to_string() });
        }
        Ok(())
    }

    pub fn add_whitelist_keys<I, S>(&mut self, keys: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        for k in &keys {
            check_key(k)?;
        }
        self.whitelist.extend(keys);
        Ok(())
    }

    pub fn del_whitelist_key(&mut self, key: &str) -> Result<()> {
        if !self.whitelist.remove(key) {
            return Err(Error::AlreadyAbsent { what: "whitelist key", name: key.to_string() });
        }
        Ok(())
    }

    /// Empties the whitelist: everyone may subscribe again.
    pub fn clear_whitelist(&mut self) {
        self.whitelist.clear();
    }

    /// Adds the keys of a file (one a line, see [`crate::read_keys_file`]); returns how
    /// many were read. Nothing is added when any line is bad.
    pub fn read_whitelist_file(&mut self, path: impl AsRef<Path>) -> Result<usize> {
        let keys = read_keys_file(path)?;
        let n = keys.len();
        self.whitelist.extend(keys);
        Ok(n)
    }

    // ---- ehyphae -----------------------------------------------------------------------

    /// Subscribes to the efunguz with `public_key` behind `onion`:`port`, through Tor.
    pub fn add_ehypha(&mut self, public_key: &str, onion: &str, port: u16) -> Result<&mut Ehypha> {
        check_key(public_key)?;
        let address = Address::onion(onion, port)?;
        self.add_ehypha_at(public_key, address)
    }

    /// Subscribes to the efunguz with `public_key` at `host`:`port`, by plain TCP.
    pub fn add_ehypha_direct(&mut self, public_key: &str, host: &str, port: u16) -> Result<&mut Ehypha> {
        check_key(public_key)?;
        let address = Address::direct(host, port)?;
        self.add_ehypha_at(public_key, address)
    }

    pub fn add_ehypha_at(&mut self, public_key: &str, address: Address) -> Result<&mut Ehypha> {
        let server_key = check_key(public_key)?;
        if self.by_key.contains_key(public_key) {
            return Err(Error::AlreadyPresent { what: "ehypha", name: public_key.to_string() });
        }
        self.ensure_fd_room();
        let slot = self.free_slots.last().copied().unwrap_or(self.ehyphae.len());
        let mut e = self.new_ehypha(public_key, &server_key, address).map_err(|e| self.limit_error(e))?;
        let token = TOKEN_EHYPHA0 + 2 * slot as u64;
        let mut fds = vec![(e.fd, token)];
        if let Some((_, mfd)) = &e.monitor {
            fds.push((*mfd, token + 1));
        }
        for (i, &(fd, t)) in fds.iter().enumerate() {
            if let Err(err) = self.poller.add(fd, t) {
                for &(added, _) in &fds[..i] {
                    self.poller.remove(added);
                }
                return Err(Error::Limit { what: format!("epoll_ctl: {err}") });
            }
        }
        if slot == self.ehyphae.len() {
            self.ehyphae.push(None);
        } else {
            self.free_slots.pop();
        }
        self.poller.reserve(2 * self.ehyphae.len() + TOKEN_EHYPHA0 as usize);
        self.by_key.insert(public_key.to_string(), slot);
        // Read the monitor once: its pipe was attached inside connect(), without the
        // command that would have armed its fd (see from_builder).
        e.serve_monitor()?;
        e.queued = true;
        self.queue.push(slot);
        Ok(self.ehyphae[slot].insert(e))
    }

    fn new_ehypha(&mut self, public_key: &str, server_key: &[u8; 32], address: Address) -> Result<Ehypha> {
        let o = &self.options;
        let sub = self.ctx.socket(sys::ZMQ_SUB).map_err(zerr("zmq_socket(SUB)"))?;
        let secret = self.secret_key.decode()?;
        let public = check_key(&self.public_key)?;
        sub.set_bytes(sys::ZMQ_CURVE_SERVERKEY, server_key).map_err(zerr("ZMQ_CURVE_SERVERKEY"))?;
        sub.set_bytes(sys::ZMQ_CURVE_PUBLICKEY, &public).map_err(zerr("ZMQ_CURVE_PUBLICKEY"))?;
        sub.set_bytes(sys::ZMQ_CURVE_SECRETKEY, &secret[..]).map_err(zerr("ZMQ_CURVE_SECRETKEY"))?;
        let set = |opt, v: i32, name| sub.set_i32(opt, v).map_err(zerr(name));
        set(sys::ZMQ_RCVHWM, o.recv_hwm, "ZMQ_RCVHWM")?;
        set(sys::ZMQ_IPV6, i32::from(o.ipv6), "ZMQ_IPV6")?;
        set(sys::ZMQ_RECONNECT_IVL, millis(o.reconnect_interval, "")?, "ZMQ_RECONNECT_IVL")?;
        set(sys::ZMQ_RECONNECT_IVL_MAX, millis(o.reconnect_interval_max, "")?, "ZMQ_RECONNECT_IVL_MAX")?;
        set(sys::ZMQ_HANDSHAKE_IVL, millis(o.handshake_interval, "")?, "ZMQ_HANDSHAKE_IVL")?;
        sub.set_i64(sys::ZMQ_MAXMSGSIZE, o.max_message_size).map_err(zerr("ZMQ_MAXMSGSIZE"))?;
        apply_heartbeat(&sub, o)?;
        if address.is_onion() {
            sub.set_bytes(sys::ZMQ_SOCKS_PROXY, self.tor_proxy.as_bytes()).map_err(zerr("ZMQ_SOCKS_PROXY"))?;
        }
        // The monitor goes first, so that it sees the first connection attempt.
        let monitor = if o.ehypha_monitor {
            self.monitor_seq += 1;
            let endpoint = format!("inproc://emyzelium.monitor.sub.{}", self.monitor_seq);
            sub.monitor(&endpoint, crate::state::EVENTS).map_err(zerr("zmq_socket_monitor"))?;
            let pair = self.ctx.socket(sys::ZMQ_PAIR).map_err(|e| {
                sub.stop_monitor();
                Error::zmq("zmq_socket(PAIR)", e)
            })?;
            pair.connect(&endpoint).map_err(zerr("zmq_connect(monitor)"))?;
            let fd = pair.fd().map_err(zerr("ZMQ_FD"))?;
            Some((pair, fd))
        } else {
            None
        };
        let fd = sub.fd().map_err(zerr("ZMQ_FD"))?;
        let watched = monitor.is_some();
        let mut e = Ehypha::new(public_key, address, sub, fd);
        e.monitor = monitor;
        if watched {
            e.state = crate::state::EhyphaState::Connecting;
        }
        let endpoint = e.address.endpoint();
        e.sub.connect(&endpoint).map_err(|err| {
            if err.0 == libc::EINVAL {
                Error::InvalidAddress { address: e.address.to_string(), reason: err.message() }
            } else {
                Error::zmq("zmq_connect", err)
            }
        })?;
        Ok(e)
    }

    /// Raises the soft fd limit when the ehyphae may need more than it allows (one fd
    /// for each socket's mailbox, one for its connection, some spare). Best effort: if
    /// the limit cannot be raised, socket creation fails later with a `Limit` error.
    fn ensure_fd_room(&self) {
        let per = if self.options.ehypha_monitor { 4 } else { 2 };
        let needed = per * (self.by_key.len() as u64 + 1) + 64;
        let (soft, hard) = sys::fd_limit();
        if needed <= soft {
            return;
        }
        let want = (needed * 2).max(soft);
        // Privileged processes may raise the hard limit too; others go up to it.
        if !sys::set_fd_limit(want, want.max(hard)) && soft < hard {
            sys::set_fd_limit(want.min(hard), hard);
        }
    }

    fn limit_error(&self, e: Error) -> Error {
        match e {
            Error::Limit { what } => {
                let (soft, _) = sys::fd_limit();
                Error::Limit {
                    what: format!(
                        "{what}; {} ehyphae, max_sockets {}, open files limit {soft} (raise with ulimit -n or Options::max_sockets; each ehypha takes 1 socket and 1-2 fds, 2 more with Options::ehypha_monitor)",
                        self.by_key.len(),
                        self.options.max_sockets
                    ),
                }
            }
            e => e,
        }
    }

    fn slot(&self, public_key: &str) -> Option<usize> {
        self.by_key.get(public_key).copied()
    }

    pub fn get_ehypha(&self, public_key: &str) -> Result<&Ehypha> {
        self.slot(public_key)
            .and_then(|s| self.ehyphae[s].as_ref())
            .ok_or_else(|| Error::Absent { what: "ehypha", name: public_key.to_string() })
    }

    /// The ehypha, to add, pause or delete its etales.
    pub fn get_ehypha_mut(&mut self, public_key: &str) -> Result<&mut Ehypha> {
        let slot =
            self.slot(public_key).ok_or_else(|| Error::Absent { what: "ehypha", name: public_key.to_string() })?;
        let e = self.ehyphae[slot]
            .as_mut()
            .ok_or_else(|| Error::Absent { what: "ehypha", name: public_key.to_string() })?;
        // Changing subscriptions may let libzmq consume the signal that data is
        // waiting; look at the socket in the next update whatever epoll says.
        if !e.queued {
            e.queued = true;
            self.queue.push(slot);
        }
        Ok(e)
    }

    pub fn ehyphae(&self) -> impl Iterator<Item = &Ehypha> {
        self.ehyphae.iter().flatten()
    }

    pub fn ehyphae_count(&self) -> usize {
        self.by_key.len()
    }

    /// Disconnects from the peer and forgets its etales.
    pub fn del_ehypha(&mut self, public_key: &str) -> Result<()> {
        let slot = self
            .by_key
            .remove(public_key)
            .ok_or_else(|| Error::AlreadyAbsent { what: "ehypha", name: public_key.to_string() })?;
        if let Some(e) = self.ehyphae[slot].take() {
            self.poller.remove(e.fd);
            if let Some((_, mfd)) = &e.monitor {
                self.poller.remove(*mfd);
            }
            drop(e);
        }
        self.queue.retain(|&s| s != slot);
        self.rejected.retain(|&s| s != slot);
        self.free_slots.push(slot);
        Ok(())
    }

    // ---- publishing --------------------------------------------------------------------

    /// Publishes `parts` under `title`, stamped with the current time, to every
    /// subscriber of the title. Never blocks. Returns `false` when a subscriber's queue
    /// is full (HWM): the etale is then kept and sent by a later update, unless a newer
    /// one of the same title replaces it first (see [`Options::retry_unsent`]).
    pub fn emit_etale<P: AsRef<[u8]>>(&mut self, title: &str, parts: &[P]) -> Result<bool> {
        self.emit_etale_at(title, parts, wire::now_us())
    }

    /// As [`Efunguz::emit_etale`] with a `t_out` of your choosing.
    pub fn emit_etale_at<P: AsRef<[u8]>>(&mut self, title: &str, parts: &[P], t_out: i64) -> Result<bool> {
        wire::check_title(title)?;
        let parts: Vec<&[u8]> = parts.iter().map(AsRef::as_ref).collect();
        self.publisher.emit(title, &parts, t_out)
    }

    /// Titles whose latest etale still waits for room in a subscriber's queue.
    pub fn unsent_etales(&self) -> usize {
        self.publisher.unsent()
    }

    // ---- onion service ------------------------------------------------------------------

    /// Publishes this efunguz behind a v3 onion service created through Tor's control
    /// port (`control`, e.g. `127.0.0.1:9051`): onion port = publish port, forwarded to
    /// 127.0.0.1 (bind to `127.0.0.1` or `*`). Returns the onion without `.onion`; others
    /// reach us with `add_ehypha(our_public_key, onion, port)`. With [`OnionKey::File`]
    /// the address survives restarts. The service goes when the efunguz is dropped.
    pub fn publish_onion(&mut self, control: &str, auth: &TorAuth, key: &OnionKey) -> Result<String> {
        if let Some((_, id)) = &self.onion {
            return Err(Error::AlreadyPresent { what: "onion service", name: id.clone() });
        }
        let mut tc = TorControl::connect(control)?;
        tc.authenticate(auth)?;
        let service = tc.add_onion(self.port, self.port, key)?;
        self.onion = Some((tc, service.service_id.clone()));
        Ok(service.service_id)
    }

    /// The onion this efunguz publishes behind, if [`Efunguz::publish_onion`] made one.
    pub fn onion(&self) -> Option<&str> {
        self.onion.as_ref().map(|(_, id)| id.as_str())
    }

    /// Removes the onion service now (it also goes when the efunguz is dropped).
    pub fn unpublish_onion(&mut self) -> Result<()> {
        let (mut tc, id) =
            self.onion.take().ok_or(Error::AlreadyAbsent { what: "onion service", name: "(none published)".into() })?;
        // Dropping `tc` on failure closes the control connection, and Tor removes the
        // service with it: forgetting it here is right either way.
        tc.del_onion(&id)
    }

    // ---- counters ----------------------------------------------------------------------

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn in_attempted(&self) -> u64 {
        self.counters.in_attempted
    }

    pub fn in_permitted(&self) -> u64 {
        self.counters.in_permitted
    }

    pub fn in_absorbing(&self) -> u64 {
        self.counters.in_absorbing
    }

    /// What all ehyphae received and dropped so far (deleted ones included).
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

fn apply_heartbeat(s: &Socket, o: &Options) -> Result<()> {
    let ivl = millis(o.heartbeat_interval, "heartbeat_interval")?;
    if ivl == 0 {
        return Ok(());
    }
    s.set_i32(sys::ZMQ_HEARTBEAT_IVL, ivl).map_err(zerr("ZMQ_HEARTBEAT_IVL"))?;
    s.set_i32(sys::ZMQ_HEARTBEAT_TIMEOUT, millis(o.heartbeat_timeout, "")?).map_err(zerr("ZMQ_HEARTBEAT_TIMEOUT"))?;
    s.set_i32(sys::ZMQ_HEARTBEAT_TTL, millis(o.heartbeat_ttl, "")?).map_err(zerr("ZMQ_HEARTBEAT_TTL"))?;
    Ok(())
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

impl std::fmt::Debug for Efunguz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Efunguz")
            .field("public_key", &self.public_key)
            .field("port", &self.port)
            .field("whitelist", &self.whitelist.len())
            .field("ehyphae", &self.by_key.len())
            .field("counters", &self.counters)
            .finish()
    }
}
