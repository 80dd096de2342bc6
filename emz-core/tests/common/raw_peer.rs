//! A raw CURVE publisher (plain libzmq PUB, not an efunguz) for tests that must send
//! what an efunguz never would.
use emyzelium::raw::{self, Context, Socket};
use emyzelium::z85_decode;

/// Binds a CURVE server PUB on 127.0.0.1 with `secret`; returns it with its context and port.
pub fn raw_publisher(secret: &str) -> (Context, Socket, u16) {
    let ctx = Context::new().unwrap();
    let s = ctx.socket(raw::ZMQ_PUB).unwrap();
    s.set_i32(raw::ZMQ_CURVE_SERVER, 1).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(secret).unwrap()).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let port = s.last_endpoint().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    (ctx, s, port)
}

/// Sends `frames` as one multipart message; the PUB never blocks, so every send succeeds.
pub fn send(s: &Socket, frames: &[&[u8]]) {
    for (i, f) in frames.iter().enumerate() {
        assert!(s.send(f, i + 1 < frames.len()).unwrap());
    }
}
