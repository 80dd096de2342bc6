//! Building an efunguz, one named step at a time: keys, context, ZAP handler, publish
//! socket, its monitor, the bind, and the poller over them.

use super::token::Token;
use super::{Counters, Efunguz};
use crate::builder::{millis, EfunguzBuilder, Options};
use crate::ehypha::Stats;
use crate::error::{zerr, Error, Result};
use crate::keys::check_key;
use crate::publisher::Publisher;
use crate::sys::{self, Context, Poller, Socket};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Events of the publish socket that feed the counters.
const PUB_MONITOR_EVENTS: u16 = sys::ZMQ_EVENT_ACCEPTED
    | sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
    | sys::ZMQ_EVENT_DISCONNECTED;

/// Where the publish socket's monitor sends its events; each re-created publish socket
/// gets its own (numbered), since the old one is released asynchronously.
const PUB_MONITOR_ENDPOINT: &str = "inproc://emyzelium.monitor.pub";

/// How long a re-created publish socket keeps trying to bind the port the old one held,
/// while libzmq's I/O thread closes the old listener.
const REBIND_WAIT: Duration = Duration::from_secs(2);

impl Efunguz {
    pub(crate) fn from_builder(b: EfunguzBuilder) -> Result<Self> {
        let secret = b.secret_key.decode()?;
        if !sys::has("curve") {
            return Err(Error::CurveUnavailable);
        }
        let public_key = b.secret_key.public_key()?;
        let public = check_key(&public_key)?;
        let whitelist = checked_whitelist(&b.whitelist)?;
        let o = &b.options;

        raise_fd_limit(o.min_fd_limit);
        let ctx = new_context(o)?;
        // The ZAP handler must be bound before the publisher accepts anyone.
        let zap = bind_zap(&ctx)?;
        let publisher = new_publish_socket(&ctx, &secret, o)?;
        let monitor = monitor_publish_socket(&ctx, &publisher, PUB_MONITOR_ENDPOINT)?;
        let port = bind_publish_socket(&publisher, &b.bind_host, b.port).inspect_err(|_| publisher.stop_monitor())?;
        let publisher = Publisher::new(publisher, o)?;
        let poller = new_poller(&zap, &monitor, &publisher.sock)?;

        let mut ef = Efunguz {
            secret,
            public,
            public_key,
            whitelist,
            bind_host: b.bind_host.clone(),
            open: b.open,
            cut_sessions: false,
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
            in_open: 0,
            stats: Stats::default(),
            onion: None,
            healing: Vec::new(),
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

    /// Cuts every session of the publish socket by replacing it with a new one on the
    /// same port, keeping the latest etales. Subscribers still allowed reconnect by
    /// themselves (after their reconnect interval) and get the latest values again on
    /// subscribing; the others fail the new handshake. libzmq cannot drop one peer of
    /// a socket, so this is how a narrowed whitelist takes effect on live sessions.
    pub(super) fn recreate_publish_socket(&mut self) -> Result<()> {
        let sock = new_publish_socket(&self.ctx, &self.secret, &self.options)?;
        self.monitor_seq += 1;
        let endpoint = format!("{PUB_MONITOR_ENDPOINT}.{}", self.monitor_seq);
        let monitor = monitor_publish_socket(&self.ctx, &sock, &endpoint)?;
        for s in [&self.publisher.sock, &self.monitor] {
            if let Ok(fd) = s.fd() {
                self.poller.remove(fd);
            }
        }
        self.publisher.sock.stop_monitor();
        // Closing the old socket (linger 0) releases the port once libzmq's I/O thread
        // has closed the listener, usually within a millisecond.
        drop(self.publisher.replace_socket(sock)?);
        self.monitor = monitor;
        self.counters.in_absorbing = 0;
        self.in_open = 0;
        let t0 = Instant::now();
        loop {
            match bind_publish_socket(&self.publisher.sock, &self.bind_host, Some(self.port)) {
                Ok(_) => break,
                Err(Error::AddressInUse { .. }) if t0.elapsed() < REBIND_WAIT => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
        for (sock, token) in [(&self.monitor, Token::Monitor), (&self.publisher.sock, Token::Publisher)] {
            let fd = sock.fd().map_err(zerr("ZMQ_FD"))?;
            self.poller.add(fd, token.into()).map_err(|e| Error::Limit { what: format!("epoll_ctl: {e}") })?;
        }
        // As at creation: read the new monitor empty once so its first event wakes epoll.
        self.serve_monitor()
    }
}

fn checked_whitelist(keys: &[String]) -> Result<HashSet<String>> {
    let mut whitelist = HashSet::new();
    for k in keys {
        check_key(k)?;
        whitelist.insert(k.clone());
    }
    Ok(whitelist)
}

/// Raises the soft open-files limit to `min` (or the hard limit, if lower), so that
/// connections to the publish socket cannot exhaust it before any ehypha is added.
/// Best effort: a limit that cannot be raised stays as it is.
fn raise_fd_limit(min: u64) {
    let (soft, hard) = sys::fd_limit();
    if soft < min {
        sys::set_fd_limit(min.min(hard), hard);
    }
}

fn new_context(o: &Options) -> Result<Context> {
    let ctx = Context::new().map_err(zerr("zmq_ctx_new"))?;
    ctx.set(sys::ZMQ_IO_THREADS, o.io_threads).map_err(zerr("zmq_ctx_set(ZMQ_IO_THREADS)"))?;
    let limit = ctx.get(sys::ZMQ_SOCKET_LIMIT).unwrap_or(o.max_sockets);
    ctx.set(sys::ZMQ_MAX_SOCKETS, o.max_sockets.min(limit)).map_err(zerr("zmq_ctx_set(ZMQ_MAX_SOCKETS)"))?;
    Ok(ctx)
}

fn bind_zap(ctx: &Context) -> Result<Socket> {
    let zap = ctx.socket(sys::ZMQ_REP).map_err(zerr("zmq_socket(ZAP)"))?;
    zap.bind("inproc://zeromq.zap.01").map_err(zerr("zmq_bind(ZAP)"))?;
    Ok(zap)
}

/// The CURVE server socket, configured but not bound yet.
fn new_publish_socket(ctx: &Context, secret: &[u8; 32], o: &Options) -> Result<Socket> {
    // XPUB is PUB on the wire; see publisher.rs for what it adds.
    let publisher = ctx.socket(sys::ZMQ_XPUB).map_err(zerr("zmq_socket(XPUB)"))?;
    let set = |opt, v: i32, name| publisher.set_i32(opt, v).map_err(zerr(name));
    set(sys::ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")?;
    publisher.set_bytes(sys::ZMQ_CURVE_SECRETKEY, secret).map_err(zerr("ZMQ_CURVE_SECRETKEY"))?;
    publisher.set_bytes(sys::ZMQ_ZAP_DOMAIN, crate::ZAP_DOMAIN.as_bytes()).map_err(zerr("ZMQ_ZAP_DOMAIN"))?;
    set(sys::ZMQ_SNDHWM, o.send_hwm, "ZMQ_SNDHWM")?;
    set(sys::ZMQ_SNDBUF, o.publish_send_buffer, "ZMQ_SNDBUF")?;
    set(sys::ZMQ_IPV6, i32::from(o.ipv6), "ZMQ_IPV6")?;
    set(sys::ZMQ_HANDSHAKE_IVL, millis(o.publish_handshake_interval, "")?, "ZMQ_HANDSHAKE_IVL")?;
    publisher.set_i64(sys::ZMQ_MAXMSGSIZE, o.publish_max_message_size).map_err(zerr("ZMQ_MAXMSGSIZE"))?;
    apply_heartbeat(&publisher, o)?;
    Ok(publisher)
}

/// The PAIR socket receiving the publish socket's connection events. Made before the
/// bind, so that it sees the first connection.
fn monitor_publish_socket(ctx: &Context, publisher: &Socket, endpoint: &str) -> Result<Socket> {
    publisher.monitor(endpoint, PUB_MONITOR_EVENTS).map_err(zerr("zmq_socket_monitor"))?;
    let monitor = ctx.socket(sys::ZMQ_PAIR).map_err(zerr("zmq_socket(PAIR)"))?;
    // No high-water mark on the event pipe: libzmq's I/O thread sends monitor events
    // blocking, holding the monitor lock, so a flood of connections between two updates
    // would otherwise stall it on a full pipe, and stopping the monitor (in drop, or when
    // re-creating the socket) would wait on that lock for ever. Events are read every
    // update, and each connection makes at most three.
    monitor.set_i32(sys::ZMQ_RCVHWM, 0).map_err(zerr("ZMQ_RCVHWM(monitor)"))?;
    monitor.connect(endpoint).map_err(zerr("zmq_connect(monitor)"))?;
    Ok(monitor)
}

/// Binds to `host`:`port` (any free port when `None`) and returns the port bound.
fn bind_publish_socket(publisher: &Socket, host: &str, port: Option<u16>) -> Result<u16> {
    let bracketed = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
    let endpoint = match port {
        Some(p) => format!("tcp://{bracketed}:{p}"),
        None => format!("tcp://{bracketed}:*"),
    };
    // The monitor stays on when the bind fails: a re-created socket retries the bind
    // while the old listener closes, and its counters need the monitor afterwards.
    if let Err(e) = publisher.bind(&endpoint) {
        return Err(if e.0 == sys::EADDRINUSE {
            Error::AddressInUse { endpoint }
        } else if e.0 == libc::ENODEV || e.0 == libc::EADDRNOTAVAIL || e.0 == libc::EINVAL {
            Error::InvalidAddress { address: host.to_string(), reason: e.message() }
        } else {
            Error::zmq("zmq_bind(PUB)", e)
        });
    }
    match port {
        Some(p) => Ok(p),
        None => {
            let last = publisher.last_endpoint().map_err(zerr("ZMQ_LAST_ENDPOINT"))?;
            last.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or_else(|| Error::Zmq {
                op: "ZMQ_LAST_ENDPOINT",
                code: 0,
                message: format!("cannot read the port of {last:?}"),
            })
        }
    }
}

/// The epoll set, watching the efunguz's own three sockets.
fn new_poller(zap: &Socket, monitor: &Socket, publisher: &Socket) -> Result<Poller> {
    let poller = Poller::new(64).map_err(|e| Error::Limit { what: format!("epoll_create1: {e}") })?;
    for (sock, token) in [(zap, Token::Zap), (monitor, Token::Monitor), (publisher, Token::Publisher)] {
        let fd = sock.fd().map_err(zerr("ZMQ_FD"))?;
        poller.add(fd, token.into()).map_err(|e| Error::Limit { what: format!("epoll_ctl: {e}") })?;
    }
    Ok(poller)
}

/// ZMTP heartbeats on `s`, unless turned off (zero interval).
pub(super) fn apply_heartbeat(s: &Socket, o: &Options) -> Result<()> {
    let ivl = millis(o.heartbeat_interval, "heartbeat_interval")?;
    if ivl == 0 {
        return Ok(());
    }
    s.set_i32(sys::ZMQ_HEARTBEAT_IVL, ivl).map_err(zerr("ZMQ_HEARTBEAT_IVL"))?;
    s.set_i32(sys::ZMQ_HEARTBEAT_TIMEOUT, millis(o.heartbeat_timeout, "")?).map_err(zerr("ZMQ_HEARTBEAT_TIMEOUT"))?;
    s.set_i32(sys::ZMQ_HEARTBEAT_TTL, millis(o.heartbeat_ttl, "")?).map_err(zerr("ZMQ_HEARTBEAT_TTL"))?;
    Ok(())
}
