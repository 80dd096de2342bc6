//! The raw-libzmq baseline: plain libzmq sockets from the same build as emyzelium, used
//! the way a careful application would use them directly (PUB as CURVE server with a ZAP
//! handler thread checking the same whitelist, SUB as CURVE client, the same multipart
//! format `[title\0, t_out i64 LE, part]`, zero-copy receives into reused messages).

use crate::roles::{Pub, Sub, Visit, HOST};
use emyzelium::raw::{self, Context, Msg, Poller, Socket};
use emyzelium::{now_us, z85_decode, z85_encode};
use std::collections::HashSet;
use std::time::Duration;

pub const ZMQ_IO_THREADS: i32 = 1;

/// The raw-libzmq publisher: PUB, CURVE server, ZAP handler on its own thread.
pub struct RawPub {
    _ctx: Context,
    sock: Socket,
    port: u16,
}

pub fn spawn_zap(ctx: &Context, wl: &[String]) {
    let rep = ctx.socket(raw::ZMQ_REP).unwrap();
    rep.bind("inproc://zeromq.zap.01").unwrap();
    let wl: HashSet<String> = wl.iter().cloned().collect();
    std::thread::spawn(move || {
        let mut poller = Poller::new(4).unwrap();
        poller.add(rep.fd().unwrap(), 0).unwrap();
        let mut ready = Vec::new();
        loop {
            let mut frames: Vec<Msg> = Vec::new();
            loop {
                let mut m = Msg::new();
                if !rep.recv(&mut m).unwrap() {
                    break;
                }
                let more = m.more();
                frames.push(m);
                if !more {
                    break;
                }
            }
            if frames.is_empty() {
                if !rep.readable().unwrap() {
                    ready.clear();
                    poller.wait(1000, &mut ready).unwrap();
                }
                continue;
            }
            // [version, request id, domain, address, identity, mechanism, client key]
            let key = match frames.get(6) {
                Some(k) if k.len() == 32 => z85_encode(&k[..].try_into().unwrap()),
                _ => String::new(),
            };
            let ok = !key.is_empty() && (wl.is_empty() || wl.contains(&key));
            rep.send(b"1.0", true).unwrap();
            rep.send(&frames[1], true).unwrap();
            rep.send(if ok { b"200" } else { b"400" }, true).unwrap();
            rep.send(if ok { b"OK".as_slice() } else { b"denied".as_slice() }, true).unwrap();
            rep.send(key.as_bytes(), true).unwrap();
            rep.send(b"", false).unwrap();
        }
    });
}

pub fn raw_pub_socket(ctx: &Context, secret: &str) -> (Socket, u16) {
    let s = ctx.socket(raw::ZMQ_PUB).unwrap();
    s.set_i32(raw::ZMQ_CURVE_SERVER, 1).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(secret).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_ZAP_DOMAIN, b"emyz").unwrap();
    s.bind(&format!("tcp://{HOST}:0")).unwrap();
    let ep = s.last_endpoint().unwrap();
    let port = ep.rsplit(':').next().unwrap().parse().unwrap();
    (s, port)
}

pub fn raw_send(s: &Socket, title: &str, t_out: i64, part: &[u8]) -> bool {
    let mut t = Vec::with_capacity(title.len() + 1);
    t.extend_from_slice(title.as_bytes());
    t.push(0);
    s.send(&t, true).unwrap() && s.send(&t_out.to_le_bytes(), true).unwrap() && s.send(part, false).unwrap()
}

impl RawPub {
    pub fn new(secret: &str, wl: &[String], io_threads: i32) -> Self {
        let ctx = Context::new().unwrap();
        ctx.set(ZMQ_IO_THREADS, io_threads).unwrap();
        spawn_zap(&ctx, wl);
        let (sock, port) = raw_pub_socket(&ctx, secret);
        RawPub { _ctx: ctx, sock, port }
    }
}

impl Pub for RawPub {
    fn emit(&mut self, title: &str, part: &[u8]) -> bool {
        // PUB never blocks: at the HWM the message is dropped silently.
        raw_send(&self.sock, title, now_us(), part)
    }
    fn tick(&mut self, wait_ms: u64) {
        if wait_ms > 0 {
            std::thread::sleep(Duration::from_millis(wait_ms));
        }
    }
    fn port(&self) -> u16 {
        self.port
    }
}

pub struct RawSub {
    _ctx: Context,
    sock: Socket,
    poller: Poller,
    frames: Vec<Msg>,
    extra: Msg,
    nb: u64,
    ready: Vec<u64>,
}

pub fn raw_sub_socket(ctx: &Context, secret: &str, pubkey: &str, titles: &[&str]) -> Socket {
    let s = ctx.socket(raw::ZMQ_SUB).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SERVERKEY, &z85_decode(pubkey).unwrap()).unwrap();
    let public = emyzelium::public_key(secret).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_PUBLICKEY, &z85_decode(&public).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(secret).unwrap()).unwrap();
    for t in titles {
        let mut b = t.as_bytes().to_vec();
        b.push(0);
        s.set_bytes(raw::ZMQ_SUBSCRIBE, &b).unwrap();
    }
    s
}

/// Receives one whole message into `frames` (+ `extra` for frames past the third)
/// without blocking; false when none waits.
pub fn raw_recv(s: &Socket, frames: &mut [Msg], extra: &mut Msg) -> Option<usize> {
    if !s.recv(&mut frames[0]).unwrap() {
        return None;
    }
    let mut n = 1;
    let mut more = frames[0].more();
    while more {
        if n < frames.len() {
            s.recv(&mut frames[n]).unwrap();
            more = frames[n].more();
        } else {
            s.recv(extra).unwrap();
            more = extra.more();
        }
        n += 1;
    }
    Some(n)
}

impl RawSub {
    pub fn new(secret: &str, pubkey: &str, port: u16, titles: &[&str], io_threads: i32) -> Self {
        let ctx = Context::new().unwrap();
        ctx.set(ZMQ_IO_THREADS, io_threads).unwrap();
        let sock = raw_sub_socket(&ctx, secret, pubkey, titles);
        sock.connect(&format!("tcp://{HOST}:{port}")).unwrap();
        let poller = Poller::new(4).unwrap();
        poller.add(sock.fd().unwrap(), 0).unwrap();
        RawSub {
            _ctx: ctx,
            sock,
            poller,
            frames: vec![Msg::new(), Msg::new(), Msg::new()],
            extra: Msg::new(),
            nb: 0,
            ready: Vec::new(),
        }
    }

    fn drain(&mut self, f: &mut Visit) -> bool {
        let mut got = false;
        while let Some(n) = raw_recv(&self.sock, &mut self.frames, &mut self.extra) {
            if n < 3 || self.frames[1].len() != 8 {
                continue;
            }
            let t = &self.frames[0][..];
            let title = &t[..t.len().saturating_sub(1)];
            if title == b"b" {
                self.nb += 1;
            }
            let t_out = i64::from_le_bytes(self.frames[1][..8].try_into().unwrap());
            f(title, t_out, &self.frames[2]);
            got = true;
        }
        got
    }
}

impl Sub for RawSub {
    fn poll(&mut self, block_ms: i32, f: &mut Visit) {
        if self.drain(f) || block_ms == 0 {
            return;
        }
        if !self.sock.readable().unwrap() {
            self.ready.clear();
            self.poller.wait(block_ms, &mut self.ready).unwrap();
        }
        self.drain(f);
    }
    fn received_b(&self) -> u64 {
        self.nb
    }
}
