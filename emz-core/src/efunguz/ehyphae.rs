//! The efunguz's ehyphae: adding, finding and deleting them, each in a slot whose
//! sockets sit in the epoll set under that slot's tokens.

use super::setup::apply_heartbeat;
use super::token::Token;
use super::Efunguz;
use crate::address::Address;
use crate::builder::millis;
use crate::ehypha::Ehypha;
use crate::error::zerr;
use crate::error::{Error, Result};
use crate::keys::check_key;
use crate::state::EhyphaState;
use crate::sys::{self, Socket};

impl Efunguz {
    /// Subscribes to the efunguz with `public_key` behind `onion`:`port`, through Tor
    /// (the SOCKS proxy of [`crate::EfunguzBuilder::tor_proxy`]). The onion is checked
    /// (v3, checksum) before anything connects; add titles with [`Ehypha::add_etale`].
    /// The ehypha connects and reconnects by itself from then on.
    ///
    /// ```
    /// use emyzelium::{new_key_pair, onion_from_ed25519, Efunguz, EhyphaState, ErrorKind};
    /// # fn main() -> emyzelium::Result<()> {
    /// let (_, secret) = new_key_pair()?;
    /// let (peer, _) = new_key_pair()?;
    /// let onion = onion_from_ed25519(&[7; 32]); // the peer's onion, 56 characters
    /// let mut ef = Efunguz::builder(&secret)
    ///     .bind_host("127.0.0.1")
    ///     .any_port()
    ///     .tor_proxy("127.0.0.1", 9050)
    ///     .build()?;
    /// let eh = ef.add_ehypha(&peer, &onion, 60847)?;
    /// eh.add_etale("zone")?;
    /// assert!(eh.address().is_onion());
    /// assert_ne!(ef.get_ehypha(&peer)?.state(), EhyphaState::Up); // no Tor, no peer here
    ///
    /// let (other, _) = new_key_pair()?;
    /// let bad = ef.add_ehypha(&other, "not-an-onion", 60847).unwrap_err();
    /// assert_eq!(bad.kind(), ErrorKind::InvalidAddress);
    /// assert_eq!(ef.add_ehypha(&peer, &onion, 60847).unwrap_err().kind(), ErrorKind::AlreadyPresent);
    /// # Ok(()) }
    /// ```
    pub fn add_ehypha(&mut self, public_key: &str, onion: &str, port: u16) -> Result<&mut Ehypha> {
        check_key(public_key)?;
        let address = Address::onion(onion, port)?;
        self.add_ehypha_at(public_key, address)
    }

    /// Subscribes to the efunguz with `public_key` at `host`:`port`, by plain TCP (an
    /// IPv4 or IPv6 literal, or a DNS name). See the crate example for a whole exchange.
    pub fn add_ehypha_direct(&mut self, public_key: &str, host: &str, port: u16) -> Result<&mut Ehypha> {
        check_key(public_key)?;
        let address = Address::direct(host, port)?;
        self.add_ehypha_at(public_key, address)
    }

    /// Subscribes to the efunguz with `public_key` at `address`, an onion (through Tor) or
    /// a direct host; [`Address::parse`] reads `host:port`, `[v6]:port` or `x.onion:port`.
    pub fn add_ehypha_at(&mut self, public_key: &str, address: Address) -> Result<&mut Ehypha> {
        let server_key = check_key(public_key)?;
        if self.by_key.contains_key(public_key) {
            return Err(Error::AlreadyPresent { what: "ehypha", name: public_key.to_string() });
        }
        self.ensure_fd_room();
        let slot = self.free_slots.last().copied().unwrap_or(self.ehyphae.len());
        let mut e = self.new_ehypha(public_key, &server_key, address).map_err(|e| self.limit_error(e))?;
        let mut fds = vec![(e.fd, Token::Ehypha(slot))];
        if let Some((_, mfd)) = &e.monitor {
            fds.push((*mfd, Token::EhyphaMonitor(slot)));
        }
        for (i, &(fd, token)) in fds.iter().enumerate() {
            if let Err(err) = self.poller.add(fd, token.into()) {
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
        self.poller.reserve(Token::count(self.ehyphae.len()));
        self.by_key.insert(public_key.to_string(), slot);
        // Read the monitor once: its pipe was attached inside connect(), without the
        // command that would have armed its fd (see Efunguz::from_builder).
        e.serve_monitor()?;
        e.queued = true;
        self.queue.push(slot);
        self.poller.wake();
        Ok(self.ehyphae[slot].insert(e))
    }

    /// A connected ehypha, with its monitor when the options ask for one; not yet in
    /// the epoll set nor in a slot.
    fn new_ehypha(&mut self, public_key: &str, server_key: &[u8; 32], address: Address) -> Result<Ehypha> {
        let sub = self.new_sub_socket(server_key, address.is_onion())?;
        // The monitor goes first, so that it sees the first connection attempt.
        let monitor = if self.options.ehypha_monitor { Some(self.monitor_sub_socket(&sub)?) } else { None };
        let fd = sub.fd().map_err(zerr("ZMQ_FD"))?;
        let watched = monitor.is_some();
        let mut e = Ehypha::new(public_key, address, sub, fd);
        e.monitor = monitor;
        if watched {
            e.state = EhyphaState::Connecting;
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

    /// A CURVE client socket to the peer with `server_key`, through Tor when `via_tor`.
    fn new_sub_socket(&self, server_key: &[u8; 32], via_tor: bool) -> Result<Socket> {
        let o = &self.options;
        let sub = self.ctx.socket(sys::ZMQ_SUB).map_err(zerr("zmq_socket(SUB)"))?;
        sub.set_bytes(sys::ZMQ_CURVE_SERVERKEY, server_key).map_err(zerr("ZMQ_CURVE_SERVERKEY"))?;
        sub.set_bytes(sys::ZMQ_CURVE_PUBLICKEY, &self.public).map_err(zerr("ZMQ_CURVE_PUBLICKEY"))?;
        sub.set_bytes(sys::ZMQ_CURVE_SECRETKEY, &self.secret[..]).map_err(zerr("ZMQ_CURVE_SECRETKEY"))?;
        let set = |opt, v: i32, name| sub.set_i32(opt, v).map_err(zerr(name));
        set(sys::ZMQ_RCVHWM, o.recv_hwm, "ZMQ_RCVHWM")?;
        set(sys::ZMQ_RCVBUF, o.recv_buffer, "ZMQ_RCVBUF")?;
        // A libzmq without our patch delivers every queued etale.
        sub.set_patched_i32(sys::ZMQ_EMZ_SUPERSEDE_MS, o.supersede_after_ms).map_err(zerr("ZMQ_EMZ_SUPERSEDE_MS"))?;
        set(sys::ZMQ_IPV6, i32::from(o.ipv6), "ZMQ_IPV6")?;
        set(sys::ZMQ_RECONNECT_IVL, millis(o.reconnect_interval, "")?, "ZMQ_RECONNECT_IVL")?;
        set(sys::ZMQ_RECONNECT_IVL_MAX, millis(o.reconnect_interval_max, "")?, "ZMQ_RECONNECT_IVL_MAX")?;
        set(sys::ZMQ_HANDSHAKE_IVL, millis(o.handshake_interval, "")?, "ZMQ_HANDSHAKE_IVL")?;
        sub.set_i64(sys::ZMQ_MAXMSGSIZE, o.max_message_size).map_err(zerr("ZMQ_MAXMSGSIZE"))?;
        apply_heartbeat(&sub, o)?;
        if via_tor {
            sub.set_bytes(sys::ZMQ_SOCKS_PROXY, self.tor_proxy.as_bytes()).map_err(zerr("ZMQ_SOCKS_PROXY"))?;
        }
        Ok(sub)
    }

    /// The PAIR socket receiving `sub`'s connection events, and its fd.
    fn monitor_sub_socket(&mut self, sub: &Socket) -> Result<(Socket, std::os::fd::RawFd)> {
        self.monitor_seq += 1;
        let endpoint = format!("inproc://emyzelium.monitor.sub.{}", self.monitor_seq);
        sub.monitor(&endpoint, crate::state::EVENTS).map_err(zerr("zmq_socket_monitor"))?;
        let pair = self.ctx.socket(sys::ZMQ_PAIR).map_err(|e| {
            sub.stop_monitor();
            Error::zmq("zmq_socket(PAIR)", e)
        })?;
        pair.connect(&endpoint).map_err(zerr("zmq_connect(monitor)"))?;
        let fd = pair.fd().map_err(zerr("ZMQ_FD"))?;
        Ok((pair, fd))
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

    /// The ehypha subscribed to `public_key`, to read its etales and state; an
    /// [`ErrorKind::Absent`](crate::ErrorKind::Absent) error when there is none.
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
            self.poller.wake();
        }
        Ok(e)
    }

    /// Every ehypha, in no particular order.
    pub fn ehyphae(&self) -> impl Iterator<Item = &Ehypha> {
        self.ehyphae.iter().flatten()
    }

    /// How many ehyphae there are.
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
            // Its count outlives it in the efunguz's totals.
            self.stats.superseded += e.superseded();
            drop(e);
        }
        self.queue.retain(|&s| s != slot);
        self.healing.retain(|&s| s != slot);
        self.free_slots.push(slot);
        Ok(())
    }
}
