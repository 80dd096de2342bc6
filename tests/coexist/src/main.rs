//! emyzelium in one program with the `zmq` crate and sodiumoxide, each with its own copy
//! of libzmq or libsodium: every copy answers its own callers, side by side.
//!
//! Prints one line per check and `N passed, N failed`; exits non-zero on a failure. All
//! traffic stays on 127.0.0.1 and every wait is bounded.

use emyzelium::{new_key_pair, z85_decode, Efunguz};
use sodiumoxide::crypto::box_;
use sodiumoxide::crypto::scalarmult::curve25519;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

type Check = Result<(), String>;

/// Named checks, run in order.
type Checks = Vec<(&'static str, fn() -> Check)>;

fn main() {
    let mut checks: Checks = vec![
        ("each libzmq answers its own callers", libzmq_copies),
        ("sodiumoxide's libsodium agrees with emyzelium's keys", sodium_agrees),
        ("CURVE round trip through emyzelium beside zmq sockets", side_by_side),
        ("a stranger is refused by emyzelium's whitelist", stranger_refused),
    ];
    if !cfg!(feature = "vendored") && !emyzelium::has_curve() {
        // Feature system-zmq: emyzelium calls libzmq by its common names, and the zmq
        // crate links its own static libzmq (without CURVE) under the same names, which
        // win over the system's shared one: this program has one libzmq, the zmq
        // crate's. emyzelium must then say so, not crash.
        println!("        system-zmq: the zmq crate's static libzmq (no CURVE) serves both");
        checks = vec![("without CURVE emyzelium refuses with a clear error", refuses_without_curve)];
    }
    let mut failed = 0;
    for &(name, check) in &checks {
        match check() {
            Ok(()) => println!("ok      {name}"),
            Err(why) => {
                failed += 1;
                println!("FAILED  {name}: {why}");
            }
        }
    }
    println!("{} passed, {failed} failed", checks.len() - failed);
    std::process::exit(i32::from(failed > 0));
}

/// The zmq crate's libzmq (4.3.4, built by zmq-sys without libsodium, so without CURVE)
/// and emyzelium's (4.3.5 with CURVE) are told apart by what each reports: had one
/// program-wide name won, both would report the same.
fn libzmq_copies() -> Check {
    let ours = emyzelium::libzmq_version();
    let (a, b, c) = zmq::version();
    let theirs = (a, b, c);
    println!("        emyzelium: libzmq {ours:?}, CURVE {}", emyzelium::has_curve());
    println!("        zmq crate: libzmq {theirs:?}, CURVE {:?}", zmq::has("curve"));
    if !emyzelium::has_curve() {
        return Err("emyzelium's libzmq has no CURVE".into());
    }
    if cfg!(feature = "vendored") {
        if ours != (4, 3, 5) {
            return Err(format!("emyzelium reports libzmq {ours:?}, not its vendored 4.3.5"));
        }
        if theirs == ours || zmq::has("curve") != Some(false) {
            return Err("the zmq crate reached emyzelium's libzmq instead of its own".into());
        }
    }
    Ok(())
}

/// An efunguz cannot be made on a libzmq without CURVE: the error says why.
fn refuses_without_curve() -> Check {
    sodiumoxide::init().map_err(|()| "sodiumoxide::init failed")?;
    let (_, secret) = box_::gen_keypair();
    let secret = emyzelium::z85_encode(&secret.0);
    match Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build() {
        Ok(_) => Err("an efunguz was made on a libzmq without CURVE".into()),
        Err(e) if e.to_string().contains("CURVE") => Ok(()),
        Err(e) => Err(format!("the error does not name CURVE: {e}")),
    }
}

/// Keys made by emyzelium's libzmq/libsodium are ordinary Curve25519 keys for sodiumoxide's
/// libsodium, and sodiumoxide's box works with them.
fn sodium_agrees() -> Check {
    sodiumoxide::init().map_err(|()| "sodiumoxide::init failed")?;
    println!("        sodiumoxide: libsodium {}", sodiumoxide::version::version_string());
    let (a_pub, a_sec) = new_key_pair().map_err(|e| e.to_string())?;
    let (b_pub, b_sec) = new_key_pair().map_err(|e| e.to_string())?;
    let [a_pub, a_sec, b_pub, b_sec] = [a_pub, a_sec, b_pub, b_sec].map(|k| z85_decode(&k).expect("Z85 key"));
    let derived = curve25519::scalarmult_base(&curve25519::Scalar(a_sec));
    if derived.0 != a_pub {
        return Err("sodiumoxide derives another public key from emyzelium's secret key".into());
    }
    let nonce = box_::gen_nonce();
    let sealed = box_::seal(b"coexist", &nonce, &box_::PublicKey(b_pub), &box_::SecretKey(a_sec));
    let opened = box_::open(&sealed, &nonce, &box_::PublicKey(a_pub), &box_::SecretKey(b_sec));
    if opened.as_deref() != Ok(b"coexist".as_slice()) {
        return Err("crypto_box between emyzelium's key pairs does not open".into());
    }
    Ok(())
}

/// A zmq crate PAIR ping-pong on 127.0.0.1 in the same loop as an emyzelium publisher
/// and subscriber exchanging an etale over CURVE.
fn side_by_side() -> Check {
    let err = |e: zmq::Error| e.to_string();
    let ctx = zmq::Context::new();
    let server = ctx.socket(zmq::PAIR).map_err(err)?;
    server.bind("tcp://127.0.0.1:*").map_err(err)?;
    let endpoint = server.get_last_endpoint().map_err(err)?.map_err(|_| "endpoint not UTF-8")?;
    let client = ctx.socket(zmq::PAIR).map_err(err)?;
    client.connect(&endpoint).map_err(err)?;
    for s in [&server, &client] {
        s.set_rcvtimeo(TIMEOUT.as_millis() as i32).map_err(err)?;
        s.set_linger(0).map_err(err)?;
    }

    let (a_pub, a_sec) = new_key_pair().map_err(|e| e.to_string())?;
    let (b_pub, b_sec) = new_key_pair().map_err(|e| e.to_string())?;
    let mut a = publisher(&a_sec, &b_pub)?;
    let mut b = subscriber(&b_sec, &a_pub, a.port())?;

    let t0 = Instant::now();
    let mut round: u32 = 0;
    loop {
        round += 1;
        let ping = round.to_le_bytes();
        client.send(&ping[..], 0).map_err(err)?;
        let got = server.recv_bytes(0).map_err(err)?;
        if got != ping {
            return Err(format!("zmq PAIR delivered {got:?}, not {ping:?}"));
        }
        a.emit_etale("zone", &[b"cells".as_slice(), &ping]).map_err(|e| e.to_string())?;
        a.update().map_err(|e| e.to_string())?;
        b.update().map_err(|e| e.to_string())?;
        let etale = b.get_ehypha(&a_pub).and_then(|h| h.get_etale("zone")).map_err(|e| e.to_string())?;
        if let [cells, stamp] = etale.parts() {
            if &cells[..] != b"cells" || stamp.len() != 4 {
                return Err("the etale arrived altered".into());
            }
            println!("        etale after {round} rounds, {:?}", t0.elapsed());
            return Ok(());
        }
        if t0.elapsed() > TIMEOUT {
            return Err(format!("no etale within {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// emyzelium's CURVE still authenticates: a key outside the whitelist gets nothing.
fn stranger_refused() -> Check {
    let (a_pub, a_sec) = new_key_pair().map_err(|e| e.to_string())?;
    let (friend_pub, _) = new_key_pair().map_err(|e| e.to_string())?;
    let (_, stranger_sec) = new_key_pair().map_err(|e| e.to_string())?;
    let mut a = publisher(&a_sec, &friend_pub)?;
    let mut s = subscriber(&stranger_sec, &a_pub, a.port())?;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(1) {
        a.emit_etale("zone", &[b"secret".as_slice()]).map_err(|e| e.to_string())?;
        a.update().map_err(|e| e.to_string())?;
        s.update().map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(5));
    }
    let etale = s.get_ehypha(&a_pub).and_then(|h| h.get_etale("zone")).map_err(|e| e.to_string())?;
    if etale.received() != 0 {
        return Err("a key outside the whitelist received an etale".into());
    }
    // Otherwise nothing was refused: the stranger never got there.
    if a.counters().in_attempted == 0 {
        return Err("the stranger never reached the publisher".into());
    }
    if a.counters().in_permitted != 0 {
        return Err("the publisher let the stranger's handshake pass".into());
    }
    Ok(())
}

/// An efunguz on 127.0.0.1 that lets only `allowed` subscribe.
fn publisher(secret: &str, allowed: &str) -> Result<Efunguz, String> {
    Efunguz::builder(secret).whitelist([allowed]).bind_host("127.0.0.1").any_port().build().map_err(|e| e.to_string())
}

/// An efunguz on 127.0.0.1 subscribed to the title `zone` of the publisher `key` at `port`.
fn subscriber(secret: &str, key: &str, port: u16) -> Result<Efunguz, String> {
    let mut ef = Efunguz::builder(secret).bind_host("127.0.0.1").any_port().build().map_err(|e| e.to_string())?;
    ef.add_ehypha_direct(key, "127.0.0.1", port)
        .and_then(|h| h.add_etale("zone").map(drop))
        .map_err(|e| e.to_string())?;
    Ok(ef)
}
