//! Roles of the emyzelium benchmark suite (issue 6), run as separate processes by
//! `benches/run.py`. Every role prints JSON lines on stdout; publishers take `go` and
//! `quit` lines on stdin.
//!
//! `--impl emz` uses the Rust API (an `Efunguz`); `--impl raw` is the baseline written
//! here on plain libzmq from the SAME build (`emyzelium::raw`): a PUB socket, CURVE
//! server with a ZAP handler thread, SUB sockets as CURVE clients, the same multipart
//! format `[title\0, t_out i64 LE, part]`.
//!
//! ```text
//! emz-bench keys N
//! emz-bench pub       --impl emz|raw --secret S [--wl K1,K2] --mode flood|rate|fanout|burst|hold
//!                     [--size B --secs S --rate R --rounds N --period-ms P --bursts N --burst B --io-threads N
//!                      --backoff 1|0 (flood: wait 1 ms when emit_etale says a queue is full)]
//! emz-bench sub       --impl emz|raw --secret S --pubkey K --port P --mode thr|lat [--secs S --warm S]
//! emz-bench idle      --impl emz|raw --n N          update() cost with N idle ehyphae
//! emz-bench rss-pubs  --n N --out FILE              N raw CURVE publishers (one process)
//! emz-bench rss-sub   --impl emz|raw --list FILE    RSS per online ehypha
//! emz-bench fanout-sub --impl emz|raw --pubkey K --port P --k N --rounds R
//! emz-bench join-sub  --impl emz|raw --pubkey K --port P --rounds R
//! emz-bench burst-sub --impl emz|raw --pubkey K --port P --bursts N --burst B
//! ```

use emyzelium::raw::{self, Context, Msg, Poller, Socket};
use emyzelium::{new_key_pair, now_us, z85_decode, z85_encode, Efunguz, EhyphaState};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const ZMQ_IO_THREADS: i32 = 1;
const ZMQ_PAIR: i32 = 0;
const ZMQ_EVENT_HANDSHAKE_SUCCEEDED: u16 = 0x1000;
const HOST: &str = "127.0.0.1";

// ---- plumbing ------------------------------------------------------------------------

struct Args(HashMap<String, String>);

impl Args {
    fn parse(v: &[String]) -> Args {
        let mut m = HashMap::new();
        let mut i = 0;
        while i < v.len() {
            let k = v[i].trim_start_matches("--").to_string();
            let val = v.get(i + 1).cloned().unwrap_or_default();
            m.insert(k, val);
            i += 2;
        }
        Args(m)
    }
    fn s(&self, k: &str, d: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    fn n<T: std::str::FromStr>(&self, k: &str, d: T) -> T {
        self.0.get(k).map(|v| v.parse().unwrap_or_else(|_| die(&format!("bad --{k}")))).unwrap_or(d)
    }
    fn req(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| die(&format!("--{k} required")))
    }
}

fn die(msg: &str) -> ! {
    out(&format!("{{\"error\":{:?}}}", msg));
    std::process::exit(1)
}

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

static GO: AtomicBool = AtomicBool::new(false);
static QUIT: AtomicBool = AtomicBool::new(false);

/// `go` starts the measurement; `quit` or EOF ends the process.
fn watch_stdin() {
    std::thread::spawn(|| {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "go" => GO.store(true, Ordering::SeqCst),
                Ok(l) if l.trim() == "quit" => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        QUIT.store(true, Ordering::SeqCst);
    });
}

fn seq_of(part: &[u8]) -> u64 {
    part.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).unwrap_or(u64::MAX)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    percentile(&v, 50.0)
}

fn rss_kb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn cores() -> i32 {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i32
}

// ---- publishers ----------------------------------------------------------------------

trait Pub {
    /// Emits one etale; false when it was not sent now (emyzelium: held for a retry).
    fn emit(&mut self, title: &str, part: &[u8]) -> bool;
    /// Serves the socket: `wait_ms` 0 = an update(); else up to that long.
    fn tick(&mut self, wait_ms: u64);
    fn port(&self) -> u16;
}

struct EmzPub(Efunguz);

impl EmzPub {
    fn new(secret: &str, wl: &[String], io_threads: Option<i32>) -> Self {
        let mut b = Efunguz::builder(secret).whitelist(wl).bind_host(HOST).any_port();
        if let Some(n) = io_threads {
            b = b.io_threads(n);
        }
        EmzPub(b.build().unwrap_or_else(|e| die(&e.to_string())))
    }
}

impl Pub for EmzPub {
    fn emit(&mut self, title: &str, part: &[u8]) -> bool {
        self.0.emit_etale(title, &[part]).unwrap()
    }
    fn tick(&mut self, wait_ms: u64) {
        if wait_ms == 0 {
            self.0.update().unwrap();
        } else {
            self.0.wait(Some(Duration::from_millis(wait_ms))).unwrap();
        }
    }
    fn port(&self) -> u16 {
        self.0.port()
    }
}

/// The raw-libzmq publisher: PUB, CURVE server, ZAP handler on its own thread.
struct RawPub {
    _ctx: Context,
    sock: Socket,
    port: u16,
}

fn spawn_zap(ctx: &Context, wl: &[String]) {
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

fn raw_pub_socket(ctx: &Context, secret: &str) -> (Socket, u16) {
    let s = ctx.socket(raw::ZMQ_PUB).unwrap();
    s.set_i32(raw::ZMQ_CURVE_SERVER, 1).unwrap();
    s.set_bytes(raw::ZMQ_CURVE_SECRETKEY, &z85_decode(secret).unwrap()).unwrap();
    s.set_bytes(raw::ZMQ_ZAP_DOMAIN, b"emyz").unwrap();
    s.bind(&format!("tcp://{HOST}:0")).unwrap();
    let ep = s.last_endpoint().unwrap();
    let port = ep.rsplit(':').next().unwrap().parse().unwrap();
    (s, port)
}

fn raw_send(s: &Socket, title: &str, t_out: i64, part: &[u8]) -> bool {
    let mut t = Vec::with_capacity(title.len() + 1);
    t.extend_from_slice(title.as_bytes());
    t.push(0);
    s.send(&t, true).unwrap() && s.send(&t_out.to_le_bytes(), true).unwrap() && s.send(part, false).unwrap()
}

impl RawPub {
    fn new(secret: &str, wl: &[String], io_threads: i32) -> Self {
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

fn payload(size: usize) -> Vec<u8> {
    let mut v = vec![0x5au8; size.max(8)];
    v[..8].copy_from_slice(&0u64.to_le_bytes());
    v
}

fn role_pub(a: &Args) {
    let imp = a.s("impl", "emz");
    let secret = a.req("secret");
    let wl: Vec<String> = a.s("wl", "").split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    let mode = a.s("mode", "flood");
    let size: usize = a.n("size", 64);
    let secs: f64 = a.n("secs", 3.0);
    let io: i32 = a.n("io-threads", 0);
    let mut p: Box<dyn Pub> = if imp == "raw" {
        // libzmq's default is 1 I/O thread: the baseline is what plain libzmq gives.
        Box::new(RawPub::new(&secret, &wl, if io > 0 { io } else { 1 }))
    } else {
        Box::new(EmzPub::new(&secret, &wl, (io > 0).then_some(io)))
    };
    out(&format!("{{\"port\":{}}}", p.port()));
    watch_stdin();
    let quit = || QUIT.load(Ordering::SeqCst);
    let mut buf = payload(size);

    if mode == "hold" {
        // The publisher already holds a value when subscribers join.
        if imp == "raw" {
            // Plain PUB keeps nothing: a joiner gets the next emit (here, 1000/s).
            let mut next = Instant::now();
            while !quit() {
                p.emit("v", &buf);
                next += Duration::from_millis(1);
                if let Some(d) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(d);
                }
            }
        } else {
            p.emit("v", &buf);
            // A second title, so a joiner can time one subscription round trip alone.
            p.emit("r", &buf);
            while !quit() {
                p.tick(20);
            }
        }
        std::process::exit(0);
    }

    // Until `go`: a small etale "w" every 20 ms tells subscribers they are connected.
    while !GO.load(Ordering::SeqCst) {
        if quit() {
            std::process::exit(0);
        }
        p.emit("w", &[0u8; 8]);
        p.tick(20);
    }
    let (mut sent, mut held) = (0u64, 0u64);
    let mut emit = |p: &mut Box<dyn Pub>, buf: &mut Vec<u8>, seq: u64| {
        buf[..8].copy_from_slice(&seq.to_le_bytes());
        let ok = p.emit("b", buf);
        if ok {
            sent += 1;
        } else {
            held += 1;
        }
        ok
    };
    match mode.as_str() {
        "flood" => {
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut seq = 0;
            // emit_etale's `false` means a subscriber's queue is full (the etale is held
            // and goes out with a later update): a producer that listens to it waits
            // 1 ms instead of burning the core the I/O threads need. Raw PUB cannot tell
            // (it drops silently), so for it this never happens.
            let backoff = a.n("backoff", 1) == 1;
            while Instant::now() < end && !quit() {
                let mut full = false;
                for _ in 0..32 {
                    full = !emit(&mut p, &mut buf, seq);
                    seq += 1;
                    if full && backoff {
                        break;
                    }
                }
                p.tick(if full && backoff { 1 } else { 0 });
            }
        }
        "rate" => {
            let rate: f64 = a.n("rate", 1000.0);
            let period = Duration::from_secs_f64(1.0 / rate);
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut next = Instant::now();
            let mut seq = 0;
            while Instant::now() < end && !quit() {
                // A frame of a game loop: update() (take in what came), then emit, then
                // sleep. An update() right after the emit would hold the core the I/O
                // thread needs to send it (2 cores, a spinning subscriber on the other).
                p.tick(0);
                emit(&mut p, &mut buf, seq);
                seq += 1;
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        }
        "fanout" => {
            let rounds: u64 = a.n("rounds", 8);
            let period = Duration::from_millis(a.n("period-ms", 300));
            for r in 0..rounds {
                let t = Instant::now();
                emit(&mut p, &mut buf, r);
                while t.elapsed() < period && !quit() {
                    p.tick(5);
                }
            }
        }
        "burst" => {
            let bursts: u64 = a.n("bursts", 5);
            let burst: u64 = a.n("burst", 20_000);
            for r in 0..bursts {
                for i in 0..burst {
                    emit(&mut p, &mut buf, (r << 32) | i);
                    if i % 64 == 63 {
                        p.tick(0);
                    }
                }
                let t = Instant::now();
                while t.elapsed() < Duration::from_millis(300) {
                    p.tick(2);
                }
            }
        }
        m => die(&format!("unknown mode {m}")),
    }
    out(&format!("{{\"sent\":{sent},\"held\":{held}}}"));
    while !quit() {
        p.tick(10);
    }
    std::process::exit(0);
}

// ---- subscribers ---------------------------------------------------------------------

/// `f(title, t_out, first part)` for what became visible.
type Visit<'a> = dyn FnMut(&[u8], i64, &[u8]) + 'a;

trait Sub {
    /// emyzelium: one update() (or wait up to `block_ms`), then each changed etale;
    /// raw: every message waiting (after waiting up to `block_ms` when none is).
    fn poll(&mut self, block_ms: i32, f: &mut Visit);
    /// Etales of title "b" that arrived so far (all of them, seen or overwritten).
    fn received_b(&self) -> u64;
}

struct EmzSub {
    ef: Efunguz,
    key: String,
}

impl Sub for EmzSub {
    fn poll(&mut self, block_ms: i32, f: &mut Visit) {
        if block_ms == 0 {
            self.ef.update().unwrap();
        } else {
            self.ef.wait(Some(Duration::from_millis(block_ms as u64))).unwrap();
        }
        for c in self.ef.changes() {
            let e = self.ef.get_ehypha(&c.public_key).unwrap().get_etale(&c.title).unwrap();
            f(c.title.as_bytes(), e.t_out(), e.parts().first().map(|p| &p[..]).unwrap_or(&[]));
        }
    }
    fn received_b(&self) -> u64 {
        self.ef.get_ehypha(&self.key).unwrap().get_etale("b").unwrap().received()
    }
}

struct RawSub {
    _ctx: Context,
    sock: Socket,
    poller: Poller,
    frames: Vec<Msg>,
    extra: Msg,
    nb: u64,
    ready: Vec<u64>,
}

fn raw_sub_socket(ctx: &Context, secret: &str, pubkey: &str, titles: &[&str]) -> Socket {
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
fn raw_recv(s: &Socket, frames: &mut [Msg], extra: &mut Msg) -> Option<usize> {
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
    fn new(secret: &str, pubkey: &str, port: u16, titles: &[&str], io_threads: i32) -> Self {
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

fn make_sub(
    imp: &str,
    secret: &str,
    pubkey: &str,
    port: u16,
    titles: &[&str],
    io_threads: Option<i32>,
) -> Box<dyn Sub> {
    if imp == "raw" {
        Box::new(RawSub::new(secret, pubkey, port, titles, io_threads.unwrap_or(1)))
    } else {
        let mut b = Efunguz::builder(secret).bind_host(HOST).any_port();
        if let Some(n) = io_threads {
            b = b.io_threads(n);
        }
        let mut ef = b.build().unwrap_or_else(|e| die(&e.to_string()));
        let eh = ef.add_ehypha_direct(pubkey, HOST, port).unwrap();
        for t in titles {
            eh.add_etale(t).unwrap();
        }
        Box::new(EmzSub { ef, key: pubkey.to_string() })
    }
}

/// Polls (blocking, 50 ms at a time) until the warm-up etale "w" (or "b") arrives.
fn await_ready(s: &mut dyn Sub, timeout: Duration) -> bool {
    let t0 = Instant::now();
    let mut ready = false;
    while !ready {
        if t0.elapsed() > timeout {
            return false;
        }
        s.poll(50, &mut |t, _, _| ready |= t == b"w" || t == b"b");
    }
    true
}

fn role_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let secret = a.req("secret");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let mode = a.s("mode", "thr");
    let secs: f64 = a.n("secs", 3.0);
    let warm: f64 = a.n("warm", 0.5);
    let io: i32 = a.n("io-threads", 0);
    let mut s = make_sub(&imp, &secret, &pubkey, port, &["w", "b"], (io > 0).then_some(io));
    if !await_ready(s.as_mut(), Duration::from_secs(20)) {
        die("no warm-up etale within 20 s");
    }
    out("{\"ready\":true}");
    match mode.as_str() {
        "thr" => {
            let mut last: Option<u64> = None;
            let mut size = 0usize;
            let t0 = Instant::now();
            while last.is_none() {
                if t0.elapsed() > Duration::from_secs(20) {
                    die("no etale b within 20 s");
                }
                s.poll(0, &mut |t, _, p| {
                    if t == b"b" {
                        last = Some(seq_of(p));
                        size = p.len();
                    }
                });
            }
            let warm_end = Instant::now() + Duration::from_secs_f64(warm);
            while Instant::now() < warm_end {
                s.poll(10, &mut |t, _, p| {
                    if t == b"b" {
                        last = Some(seq_of(p))
                    }
                });
            }
            let (r0, s0) = (s.received_b(), last.unwrap());
            let t0 = Instant::now();
            let dur = Duration::from_secs_f64(secs);
            let mut sum = 0u64;
            while t0.elapsed() < dur {
                // Sleep when nothing is waiting, as a consumer would: a spinning one takes
                // a core share from the I/O threads (2 cores, 4 busy threads).
                s.poll(10, &mut |t, _, p| {
                    if t == b"b" {
                        last = Some(seq_of(p));
                        // Look at the data as an application would (first and last byte).
                        sum = sum.wrapping_add(u64::from(p[p.len() - 1]));
                    }
                });
            }
            let el = t0.elapsed().as_secs_f64();
            std::hint::black_box(sum);
            let (r1, s1) = (s.received_b(), last.unwrap());
            let n = r1 - r0;
            let span = s1.saturating_sub(s0);
            let dropped = span.saturating_sub(n);
            out(&format!(
                "{{\"recv\":{n},\"secs\":{el:.4},\"per_s\":{:.1},\"mb_s\":{:.2},\"size\":{size},\"dropped\":{dropped},\"drop_frac\":{:.4}}}",
                n as f64 / el,
                n as f64 * size as f64 / el / 1e6,
                if span > 0 { dropped as f64 / span as f64 } else { 0.0 }
            ));
        }
        "lat" => {
            let mut lats: Vec<f64> = Vec::with_capacity(100_000);
            let mut first = true;
            let t0 = Instant::now();
            let dur = Duration::from_secs_f64(secs + warm);
            while t0.elapsed() < dur {
                s.poll(0, &mut |t, t_out, _| {
                    if t == b"b" {
                        let l = (now_us() - t_out) as f64;
                        if first {
                            first = false; // the first one may have waited for a subscription
                        } else {
                            lats.push(l);
                        }
                    }
                });
            }
            // Drop the warm-up part (at 1000/s: `warm` seconds' worth).
            let skip = ((warm * 1000.0) as usize).min(lats.len() / 2);
            let mut v = lats.split_off(skip);
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            out(&format!(
                "{{\"n\":{},\"p50\":{:.1},\"p99\":{:.1},\"p999\":{:.1},\"max\":{:.1}}}",
                v.len(),
                percentile(&v, 50.0),
                percentile(&v, 99.0),
                percentile(&v, 99.9),
                v.last().copied().unwrap_or(f64::NAN)
            ));
        }
        m => die(&format!("unknown mode {m}")),
    }
    std::process::exit(0);
}

// ---- update() cost -------------------------------------------------------------------

fn time_us(rounds: usize, calls: usize, mut f: impl FnMut()) -> f64 {
    let v = (0..rounds)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..calls {
                f();
            }
            t0.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .collect();
    median(v)
}

fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn role_idle(a: &Args) {
    let imp = a.s("impl", "emz");
    let n: usize = a.n("n", 1000);
    let (public, secret) = new_key_pair().unwrap();
    let dead = dead_port();
    let calls = (200_000 / n.max(1)).clamp(20, 20_000);
    let settle = |f: &mut dyn FnMut()| {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(300) {
            f();
        }
    };
    if imp == "emz" {
        // Each ehypha's monitor costs 2 more fds: off past 5000 (hard fd limit here: 20,000).
        let monitor = n <= 5000;
        let mut ef = Efunguz::builder(&secret)
            .bind_host(HOST)
            .any_port()
            .ehypha_monitor(monitor)
            .reconnect_interval(Duration::from_secs(60), Duration::from_secs(60))
            .build()
            .unwrap();
        for _ in 0..n {
            let k = new_key_pair().unwrap().0;
            if let Err(e) = ef.add_ehypha_direct(&k, HOST, dead).and_then(|eh| eh.add_etale("t").map(drop)) {
                die(&format!("after {} ehyphae: {e}", ef.ehyphae_count()));
            }
        }
        settle(&mut || {
            ef.update().unwrap();
        });
        let us = time_us(15, calls, || {
            ef.update().unwrap();
        });
        out(&format!("{{\"n\":{n},\"update_us\":{us:.3},\"monitor\":{monitor}}}"));
    } else {
        // The original emyzelium's way on raw libzmq: ZMQ_EVENTS on every SUB socket.
        let ctx = Context::new().unwrap();
        ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 16).unwrap();
        let subs: Vec<Socket> = (0..n)
            .map(|_| {
                let s = raw_sub_socket(&ctx, &secret, &new_key_pair().unwrap().0, &["t"]);
                s.connect(&format!("tcp://{HOST}:{dead}")).unwrap();
                s
            })
            .collect();
        let _ = public;
        let poll_all = || {
            for s in &subs {
                let _ = s.readable();
            }
        };
        settle(&mut || poll_all());
        let us = time_us(15, calls.min(2000), poll_all);
        out(&format!("{{\"n\":{n},\"update_us\":{us:.3}}}"));
    }
    std::process::exit(0);
}

// ---- RSS per online ehypha -----------------------------------------------------------

fn role_rss_pubs(a: &Args) {
    let n: usize = a.n("n", 1000);
    let path = a.req("out");
    let ctx = Context::new().unwrap();
    ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 64).unwrap();
    spawn_zap(&ctx, &[]);
    let mut socks = Vec::with_capacity(n);
    let mut list = String::new();
    for _ in 0..n {
        let (public, secret) = new_key_pair().unwrap();
        let (s, port) = raw_pub_socket(&ctx, &secret);
        list.push_str(&format!("{public} {port}\n"));
        socks.push(s);
    }
    std::fs::write(&path, list).unwrap();
    out("{\"ready\":true}");
    watch_stdin();
    let v = payload(64);
    while !QUIT.load(Ordering::SeqCst) {
        for s in &socks {
            raw_send(s, "v", now_us(), &v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::exit(0);
}

fn role_rss_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let list: Vec<(String, u16)> = std::fs::read_to_string(a.req("list"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect();
    let n = list.len();
    let (_, secret) = new_key_pair().unwrap();
    let timeout = Duration::from_secs(60);
    let (rss0, rss1, online, secs) = if imp == "emz" {
        let mut ef = Efunguz::builder(&secret).bind_host(HOST).any_port().build().unwrap();
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(200) {
            ef.update().unwrap();
        }
        let rss0 = rss_kb();
        let t0 = Instant::now();
        for (k, port) in &list {
            ef.add_ehypha_direct(k, HOST, *port).unwrap().add_etale("v").unwrap();
        }
        let count = |ef: &Efunguz| ef.ehyphae().filter(|e| e.get_etale("v").unwrap().received() > 0).count();
        let mut online = 0;
        while t0.elapsed() < timeout {
            ef.wait(Some(Duration::from_millis(20))).unwrap();
            online = count(&ef);
            if online == n {
                break;
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(300) {
            ef.wait(Some(Duration::from_millis(20))).unwrap();
        }
        (rss0, rss_kb(), online, secs)
    } else {
        let ctx = Context::new().unwrap();
        ctx.set(ZMQ_IO_THREADS, cores().clamp(1, 4)).unwrap();
        ctx.set(raw::ZMQ_MAX_SOCKETS, n as i32 + 64).unwrap();
        let _keep = ctx.socket(raw::ZMQ_SUB).unwrap(); // starts the context's threads
        std::thread::sleep(Duration::from_millis(200));
        let rss0 = rss_kb();
        let t0 = Instant::now();
        let mut subs: Vec<(Socket, bool)> = list
            .iter()
            .map(|(k, port)| {
                let s = raw_sub_socket(&ctx, &secret, k, &["v"]);
                s.connect(&format!("tcp://{HOST}:{port}")).unwrap();
                (s, false)
            })
            .collect();
        let mut frames = vec![Msg::new(), Msg::new(), Msg::new()];
        // Each socket keeps the latest message, as an etale would.
        let mut kept: Vec<Option<Msg>> = (0..n).map(|_| None).collect();
        let mut extra = Msg::new();
        let mut online = 0;
        while t0.elapsed() < timeout && online < n {
            for (i, (s, on)) in subs.iter_mut().enumerate() {
                while raw_recv(s, &mut frames, &mut extra).is_some() {
                    kept[i] = Some(frames[2].clone());
                    if !*on {
                        *on = true;
                        online += 1;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let secs = t0.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(300));
        for (s, _) in &subs {
            while raw_recv(s, &mut frames, &mut extra).is_some() {}
        }
        (rss0, rss_kb(), online, secs)
    };
    out(&format!(
        "{{\"n\":{n},\"online\":{online},\"secs\":{secs:.2},\"rss0_kb\":{rss0},\"rss1_kb\":{rss1},\"per_ehypha_kb\":{:.2}}}",
        (rss1 - rss0) / online.max(1) as f64
    ));
    std::process::exit(0);
}

// ---- fan-out, late join, burst -------------------------------------------------------

fn role_fanout_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let k: usize = a.n("k", 10);
    let rounds: usize = a.n("rounds", 8);
    let timeout = Duration::from_secs_f64(a.n("timeout", 60.0));
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, u64, f64)>();
    for i in 0..k {
        let (imp, pubkey, ready, tx) = (imp.clone(), pubkey.clone(), ready.clone(), tx.clone());
        std::thread::spawn(move || {
            let (_, secret) = new_key_pair().unwrap();
            let mut s = make_sub(&imp, &secret, &pubkey, port, &["w", "b"], Some(1));
            if !await_ready(s.as_mut(), Duration::from_secs(30)) {
                die("fan-out subscriber not ready within 30 s");
            }
            ready.fetch_add(1, Ordering::SeqCst);
            let mut seen = 0;
            let t0 = Instant::now();
            while seen < rounds && t0.elapsed() < timeout {
                s.poll(50, &mut |t, t_out, p| {
                    if t == b"b" {
                        let _ = tx.send((i, seq_of(p), (now_us() - t_out) as f64 / 1000.0));
                        seen += 1;
                    }
                });
            }
        });
    }
    drop(tx);
    let t0 = Instant::now();
    while ready.load(Ordering::SeqCst) < k {
        if t0.elapsed() > Duration::from_secs(40) {
            die("fan-out subscribers not ready");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    out("{\"ready\":true}");
    let mut per_round: HashMap<u64, Vec<f64>> = HashMap::new();
    for (_, seq, ms) in rx {
        per_round.entry(seq).or_default().push(ms);
    }
    // A round counts when every subscriber got it: its time is the slowest one's.
    let mut complete: Vec<f64> =
        per_round.values().filter(|v| v.len() == k).map(|v| v.iter().cloned().fold(f64::MIN, f64::max)).collect();
    complete.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out(&format!(
        "{{\"k\":{k},\"rounds\":{},\"incomplete\":{},\"ms\":{:.3},\"ms_min\":{:.3},\"ms_max\":{:.3}}}",
        complete.len(),
        rounds - complete.len().min(rounds),
        percentile(&complete, 50.0),
        complete.first().copied().unwrap_or(f64::NAN),
        complete.last().copied().unwrap_or(f64::NAN)
    ));
    std::process::exit(0);
}

fn role_join_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let rounds: usize = a.n("rounds", 20);
    let (mut join, mut hs, mut after, mut rtt) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (_, secret) = new_key_pair().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let (t0, t_hs, t1);
        if imp == "emz" {
            let mut ef = Efunguz::builder(&secret).bind_host(HOST).any_port().build().unwrap();
            ef.update().unwrap();
            t0 = now_us();
            ef.add_ehypha_direct(&pubkey, HOST, port).unwrap().add_etale("v").unwrap();
            loop {
                ef.update().unwrap();
                let eh = ef.get_ehypha(&pubkey).unwrap();
                if eh.get_etale("v").unwrap().received() > 0 {
                    t1 = now_us();
                    // When the update saw the handshake succeed (the monitor's event).
                    t_hs = if eh.state() == EhyphaState::Up { eh.state_since() } else { t1 };
                    break;
                }
                if Instant::now() > deadline {
                    die("late joiner got nothing within 10 s");
                }
            }
            // One round trip on the live connection, same processes, same loops:
            // subscribe to the other held title and wait for its value.
            let t2 = now_us();
            ef.get_ehypha_mut(&pubkey).unwrap().add_etale("r").unwrap();
            loop {
                ef.update().unwrap();
                if ef.get_ehypha(&pubkey).unwrap().get_etale("r").unwrap().received() > 0 {
                    rtt.push((now_us() - t2) as f64);
                    break;
                }
                if Instant::now() > deadline {
                    die("no value for a second title within 10 s");
                }
            }
        } else {
            let ctx = Context::new().unwrap();
            let s = raw_sub_socket(&ctx, &secret, &pubkey, &["v"]);
            let ep = format!("inproc://mon{r}");
            s.monitor(&ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED).unwrap();
            let mon = ctx.socket(ZMQ_PAIR).unwrap();
            mon.connect(&ep).unwrap();
            let (mut frames, mut extra) = (vec![Msg::new(), Msg::new(), Msg::new()], Msg::new());
            let mut ev = (Msg::new(), Msg::new());
            t0 = now_us();
            s.connect(&format!("tcp://{HOST}:{port}")).unwrap();
            let mut hs_at = None;
            loop {
                if mon.recv(&mut ev.0).unwrap() {
                    while ev.0.more() {
                        mon.recv(&mut ev.1).unwrap();
                        if !ev.1.more() {
                            break;
                        }
                    }
                    hs_at.get_or_insert(now_us());
                }
                if raw_recv(&s, &mut frames, &mut extra).is_some() {
                    t1 = now_us();
                    // Monitor events come before data; read it if still queued.
                    if hs_at.is_none() && mon.recv(&mut ev.0).unwrap() {
                        hs_at = Some(t1);
                    }
                    t_hs = hs_at.unwrap_or(t1);
                    break;
                }
                if Instant::now() > deadline {
                    die("raw late joiner got nothing within 10 s");
                }
            }
            s.stop_monitor();
        }
        join.push((t1 - t0) as f64);
        hs.push((t_hs - t0) as f64);
        after.push((t1 - t_hs) as f64);
    }
    let mx = |v: &Vec<f64>| v.iter().cloned().fold(f64::MIN, f64::max);
    out(&format!(
        "{{\"rounds\":{rounds},\"join_us\":{:.1},\"handshake_us\":{:.1},\"after_handshake_us\":{:.1},\"after_handshake_max_us\":{:.1},\"join_max_us\":{:.1}{}}}",
        median(join.clone()),
        median(hs),
        median(after.clone()),
        mx(&after),
        mx(&join),
        if rtt.is_empty() { String::new() } else { format!(",\"rtt_us\":{:.1}", median(rtt)) }
    ));
    std::process::exit(0);
}

fn role_burst_sub(a: &Args) {
    let imp = a.s("impl", "emz");
    let pubkey = a.req("pubkey");
    let port: u16 = a.n("port", 0);
    let bursts: u64 = a.n("bursts", 5);
    let burst: u64 = a.n("burst", 20_000);
    let slow_ms: Vec<u64> = a.s("slow-ms", "0,5").split(',').map(|v| v.parse().unwrap()).collect();
    let ready = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = slow_ms
        .iter()
        .map(|&slow| {
            let (imp, pubkey, ready) = (imp.clone(), pubkey.clone(), ready.clone());
            std::thread::spawn(move || {
                let (_, secret) = new_key_pair().unwrap();
                let mut s = make_sub(&imp, &secret, &pubkey, port, &["w", "b"], Some(1));
                if !await_ready(s.as_mut(), Duration::from_secs(30)) {
                    die("burst subscriber not ready within 30 s");
                }
                ready.fetch_add(1, Ordering::SeqCst);
                let mut got_last = vec![false; bursts as usize];
                let mut last_burst = None;
                let mut quiet = Instant::now();
                let t0 = Instant::now();
                let limit = Duration::from_secs(30 + bursts * 2);
                loop {
                    let mut any = false;
                    s.poll(if slow == 0 { 0 } else { 1 }, &mut |t, _, p| {
                        if t == b"b" {
                            let q = seq_of(p);
                            let (r, i) = ((q >> 32) as usize, q & 0xffff_ffff);
                            if r < got_last.len() {
                                got_last[r] |= i == burst - 1;
                                last_burst = Some(r);
                            }
                            any = true;
                        }
                    });
                    if any {
                        quiet = Instant::now();
                    }
                    let done = last_burst == Some(bursts as usize - 1) && quiet.elapsed() > Duration::from_millis(1000);
                    if done || t0.elapsed() > limit {
                        break;
                    }
                    if slow > 0 {
                        std::thread::sleep(Duration::from_millis(slow));
                    }
                }
                got_last.iter().filter(|&&g| g).count()
            })
        })
        .collect();
    let t0 = Instant::now();
    while ready.load(Ordering::SeqCst) < slow_ms.len() {
        if t0.elapsed() > Duration::from_secs(40) {
            die("burst subscribers not ready");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    out("{\"ready\":true}");
    let per: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok: usize = per.iter().sum();
    out(&format!("{{\"ok\":{ok},\"total\":{},\"per_sub\":{:?}}}", bursts as usize * per.len(), per));
    std::process::exit(0);
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let role = argv.first().cloned().unwrap_or_default();
    let a = Args::parse(argv.get(1..).unwrap_or(&[]));
    match role.as_str() {
        "keys" => {
            let n: usize = argv.get(1).and_then(|v| v.parse().ok()).unwrap_or(1);
            for _ in 0..n {
                let (p, s) = new_key_pair().unwrap();
                out(&format!("{{\"public\":\"{p}\",\"secret\":\"{s}\"}}"));
            }
        }
        "pub" => role_pub(&a),
        "sub" => role_sub(&a),
        "idle" => role_idle(&a),
        "rss-pubs" => role_rss_pubs(&a),
        "rss-sub" => role_rss_sub(&a),
        "fanout-sub" => role_fanout_sub(&a),
        "join-sub" => role_join_sub(&a),
        "burst-sub" => role_burst_sub(&a),
        "info" => {
            let (ma, mi, pa) = emyzelium::libzmq_version();
            out(&format!(
                "{{\"libzmq\":\"{ma}.{mi}.{pa}\",\"emyzelium\":\"{}\",\"cores\":{}}}",
                emyzelium::VERSION,
                cores()
            ));
        }
        _ => {
            eprintln!("usage: see the top of benches/src/main.rs");
            std::process::exit(2);
        }
    }
}
