//! The subscriber of the throughput and latency figures (`emz-bench sub --mode thr|lat`):
//! connects, waits for the warm-up etale, then measures one of them.

use crate::cli::Args;
use crate::output::{die, out};
use crate::roles::{await_ready, make_sub};
use crate::{latency, throughput};
use std::time::Duration;

pub fn role_sub(a: &Args) {
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
        "thr" => throughput::measure(s.as_mut(), secs, warm),
        "lat" => latency::measure(s.as_mut(), secs, warm),
        m => die(&format!("unknown mode {m}")),
    }
    std::process::exit(0);
}
