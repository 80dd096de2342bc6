//! The receive path through real sockets: a raw CURVE publisher sends pseudo-random
//! multipart messages to an efunguz, whose ehypha must drop or take each one exactly as
//! `parse_etale` (the function the fuzz target `etale_frames` exercises) predicts.
mod common;
use common::*;
use emyzelium::fuzzing::parse_etale;
use emyzelium::raw::{self, Context};
use emyzelium::z85_decode;

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }

    /// Bytes drawn mostly from those the parser cares about (NUL, invalid UTF-8).
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| [0u8, b'a', 0xFF, 0xC3, 0xA9, b'z'][self.below(6)]).collect()
    }
}

#[test]
fn random_messages_are_taken_or_dropped_as_parse_etale_says() {
    let (kp, kb) = (keys(), keys());
    let ctx = Context::new().unwrap();
    let publ = ctx.socket(raw::ZMQ_PUB).unwrap();
    publ.set_i32(raw::ZMQ_CURVE_SERVER, 1).unwrap();
    publ.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(&kp.secret).unwrap()).unwrap();
    publ.set_i32(raw::ZMQ_SNDHWM, 0).unwrap();
    publ.bind("tcp://127.0.0.1:*").unwrap();
    let port: u16 = publ.last_endpoint().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    let send = |frames: &[&[u8]]| {
        for (i, f) in frames.iter().enumerate() {
            assert!(publ.send(f, i + 1 < frames.len()).unwrap());
        }
    };
    let mut b = builder(&kb).recv_hwm(0).build().unwrap();
    b.add_ehypha_direct(&kp.public, "127.0.0.1", port).unwrap().add_etale("zone").unwrap();
    let marker =
        |b: &emyzelium::Efunguz, t: i64| b.get_ehypha(&kp.public).unwrap().get_etale("zone").unwrap().t_out() == t;
    // Wait for the subscription to reach the raw publisher.
    let warm = i64::MIN;
    assert!(until(T, || {
        send(&[b"zone\0", &warm.to_le_bytes()]);
        b.update().unwrap();
        marker(&b, warm)
    }));
    // Warm-ups still in flight arrive before this one.
    let sync = i64::MIN + 2;
    send(&[b"zone\0", &sync.to_le_bytes()]);
    assert!(until(T, || {
        b.update().unwrap();
        marker(&b, sync)
    }));
    let base = b.stats();

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut received, mut malformed, mut unknown) = (0, 0, 0);
    for _ in 0..2000 {
        // Every message passes the "zone\0" subscription filter.
        let mut first = b"zone\0".to_vec();
        let tail = rng.below(4);
        first.extend(rng.bytes(tail));
        let mut frames = vec![first];
        for _ in 0..rng.below(4) {
            let len = [0, 3, 8, 8, 9][rng.below(5)];
            frames.push(rng.bytes(len));
        }
        let frames: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        match parse_etale(&frames) {
            Ok(("zone", t_out)) if t_out <= sync => unreachable!("the marker's t_out"),
            Ok(("zone", _)) => received += 1,
            Ok(_) => unknown += 1,
            Err(_) => malformed += 1,
        }
        send(&frames);
    }
    let done = i64::MIN + 1;
    send(&[b"zone\0", &done.to_le_bytes()]);
    assert!(until(T, || {
        b.update().unwrap();
        marker(&b, done)
    }));
    let s = b.stats();
    assert!(received > 0 && malformed > 0 && unknown > 0, "the mix covers every outcome");
    assert_eq!(s.received - base.received, received + 1, "{s:?}");
    assert_eq!(s.malformed - base.malformed, malformed, "{s:?}");
    assert_eq!(s.unknown_title - base.unknown_title, unknown, "{s:?}");
}
