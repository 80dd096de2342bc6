//! A plain CURVE SUB (not an efunguz) that reads only when told to: a subscriber that
//! stops reading, for the slow-subscriber and superseding tests.
use super::keys;
use emyzelium::raw::{self, Context, Msg, Socket};
use emyzelium::z85_decode;
use std::collections::HashMap;

/// zmq.h: not among the raw re-exports, needed for a raw SUB that heartbeats.
pub const ZMQ_HEARTBEAT_IVL: i32 = 75;
pub const ZMQ_HEARTBEAT_TIMEOUT: i32 = 77;
pub const ZMQ_RCVBUF: i32 = 12;

/// A CURVE SUB that is not an efunguz: it reads only when told to.
pub struct RawSub {
    _ctx: Context,
    pub sock: Socket,
    /// Latest t_out seen per title.
    pub seen: HashMap<String, i64>,
    pub received: u64,
}

impl RawSub {
    pub fn new(server_public: &str, port: u16, rcvhwm: i32, heartbeat_ms: Option<i32>, titles: &[&str]) -> RawSub {
        Self::with_rcvbuf(server_public, port, rcvhwm, heartbeat_ms, -1, titles)
    }

    /// `rcvbuf`: its kernel receive buffer (−1: the kernel's, autotuned).
    pub fn with_rcvbuf(
        server_public: &str,
        port: u16,
        rcvhwm: i32,
        heartbeat_ms: Option<i32>,
        rcvbuf: i32,
        titles: &[&str],
    ) -> RawSub {
        let k = keys();
        let ctx = Context::new().unwrap();
        let sock = ctx.socket(raw::ZMQ_SUB).unwrap();
        sock.set_bytes(raw::ZMQ_CURVE_SERVERKEY, &z85_decode(server_public).unwrap()).unwrap();
        sock.set_bytes(raw::ZMQ_CURVE_PUBLICKEY, &z85_decode(&k.public).unwrap()).unwrap();
        sock.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(&k.secret).unwrap()).unwrap();
        sock.set_i32(raw::ZMQ_RCVHWM, rcvhwm).unwrap();
        sock.set_i32(raw::ZMQ_LINGER, 0).unwrap();
        sock.set_i32(ZMQ_RCVBUF, rcvbuf).unwrap();
        if let Some(ms) = heartbeat_ms {
            // It pings; it never gives up on the publisher's answers, which queue
            // behind the data it does not read.
            sock.set_i32(ZMQ_HEARTBEAT_IVL, ms).unwrap();
            sock.set_i32(ZMQ_HEARTBEAT_TIMEOUT, 600_000).unwrap();
        }
        for t in titles {
            sock.set_bytes(raw::ZMQ_SUBSCRIBE, format!("{t}\0").as_bytes()).unwrap();
        }
        sock.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        RawSub { _ctx: ctx, sock, seen: HashMap::new(), received: 0 }
    }

    /// Reads every etale waiting.
    pub fn drain(&mut self) {
        loop {
            let mut frames = Vec::new();
            loop {
                let mut m = Msg::new();
                if !self.sock.recv(&mut m).unwrap() {
                    assert!(frames.is_empty(), "a message arrived in part");
                    return;
                }
                let more = m.more();
                frames.push(m);
                if !more {
                    break;
                }
            }
            let title = std::str::from_utf8(&frames[0][..frames[0].len() - 1]).unwrap().to_string();
            let t_out = i64::from_le_bytes(frames[1][..].try_into().unwrap());
            self.seen.insert(title, t_out);
            self.received += 1;
        }
    }
}
