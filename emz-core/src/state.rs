//! The connection state of an ehypha, from a monitor on its SUB socket.

use crate::sys::{self, Msg, Socket};

crate::error::stable_enum! {
    /// Where an ehypha's connection to its peer stands, and what comes next. Whatever
    /// ends a connection, the ehypha heals by itself: libzmq retries what it retries,
    /// and the states it leaves alone (`Rejected`, `Failed`, a `Disconnected` that lasts)
    /// are reconnected by the efunguz after the reconnect backoff cap
    /// (`Options::reconnect_interval_max`, at least 100 ms), from `update()` or `wait()`.
    pub enum EhyphaState {
        /// Not monitored (see `Options::ehypha_monitor`): no state, and no healing of
        /// what libzmq leaves alone.
        Unknown = 0 => "unknown",
        /// Connecting (TCP, or through Tor's SOCKS proxy). Next: `Handshaking`, or
        /// `Retrying` when the attempt fails.
        Connecting = 1 => "connecting",
        /// The last attempt failed (refused, unreachable); libzmq tries again after the
        /// reconnect interval, which doubles up to its cap. Next: `Handshaking` once
        /// an attempt connects, else `Retrying` again.
        Retrying = 2 => "retrying",
        /// Connected; the CURVE handshake is under way. Next: `Up`, `Rejected` or
        /// `Failed`; a peer that never answers is dropped after
        /// `Options::handshake_interval` and retried by libzmq (and reconnected by the
        /// efunguz should the state outlast that interval plus the backoff cap).
        Handshaking = 3 => "handshaking",
        /// Handshake done: etales flow. Next: `Disconnected` when the connection ends.
        Up = 4 => "up",
        /// The peer's whitelist refused our key. Reconnected after the backoff cap, so a
        /// whitelist change over there takes effect.
        Rejected = 5 => "rejected",
        /// The handshake failed otherwise: a protocol error (something not speaking
        /// ZMTP/CURVE on the port) or a wrong server key. libzmq gives up; reconnected
        /// after the backoff cap (a wrong key keeps failing until the ehypha is added
        /// anew with the right one).
        Failed = 6 => "failed",
        /// The connection went down. After a plain loss (peer gone, restarted) libzmq
        /// retries at once (`Retrying` follows); after a protocol error (a message over
        /// `Options::max_message_size`, garbage on the wire) it does not, and the
        /// ehypha is reconnected after the backoff cap.
        Disconnected = 7 => "disconnected",
    }
}

impl EhyphaState {
    /// States libzmq may never leave by itself: reconnect once they last.
    pub(crate) fn needs_healing(self) -> bool {
        matches!(self, EhyphaState::Rejected | EhyphaState::Failed | EhyphaState::Disconnected)
    }
}

impl std::fmt::Display for EhyphaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Events that move the state.
pub(crate) const EVENTS: u16 = sys::ZMQ_EVENT_CONNECTED
    | sys::ZMQ_EVENT_CONNECT_DELAYED
    | sys::ZMQ_EVENT_CONNECT_RETRIED
    | sys::ZMQ_EVENT_DISCONNECTED
    | sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
    | sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

/// The state after `event`, from `now`.
pub(crate) fn next(now: EhyphaState, event: u16) -> EhyphaState {
    use EhyphaState::*;
    match event {
        sys::ZMQ_EVENT_CONNECT_DELAYED => Connecting,
        sys::ZMQ_EVENT_CONNECT_RETRIED => Retrying,
        sys::ZMQ_EVENT_CONNECTED => Handshaking,
        sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => Up,
        sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH => Rejected,
        sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL => Failed,
        // A refused or failed handshake ends in a disconnect: keep the reason.
        sys::ZMQ_EVENT_DISCONNECTED if matches!(now, Rejected | Failed) => now,
        sys::ZMQ_EVENT_DISCONNECTED => Disconnected,
        _ => now,
    }
}

/// Reads every waiting event of a monitor socket, calling `f(event)` for each.
pub(crate) fn read_events(monitor: &Socket, mut f: impl FnMut(u16)) -> Result<(), sys::ZmqError> {
    loop {
        let mut head = Msg::new();
        if !monitor.recv(&mut head)? {
            return Ok(());
        }
        // The second frame (the peer's address) is not needed.
        let mut more = head.more();
        while more {
            let mut rest = Msg::new();
            if !monitor.recv(&mut rest)? {
                break;
            }
            more = rest.more();
        }
        if head.len() >= 6 {
            f(u16::from_ne_bytes([head[0], head[1]]));
        }
    }
}
