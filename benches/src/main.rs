//! Roles of the emyzelium benchmark suite, run as separate processes by
//! `benches/run.py`. Every role prints JSON lines on stdout; publishers take `go` and
//! `quit` lines on stdin.
//!
//! `--impl emz` uses the Rust API (an `Efunguz`); `--impl raw` is the baseline written
//! in `baseline.rs` on plain libzmq from the SAME build (`emyzelium::raw`): a PUB socket, CURVE
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
//! emz-bench slow      --impl emz|raw --stuck none|tiny|stopped [--secs S --rate R --size B --titles N
//!                     --send-hwm N --b-recv-hwm N --fill-mib M]   a subscriber that stops reading
//! emz-bench mesh      --impl emz|raw [--n 16 --rate 100 --secs S --warm S]   N peers, all to all
//! ```

mod baseline;
mod burst;
mod cli;
mod fanout;
mod idle;
mod join;
mod latency;
mod mesh;
mod output;
mod publisher;
mod roles;
mod rss;
mod slow;
mod subscriber;
mod throughput;

use cli::{cores, Args};
use emyzelium::new_key_pair;
use output::out;

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
        "pub" => publisher::role_pub(&a),
        "sub" => subscriber::role_sub(&a),
        "idle" => idle::role_idle(&a),
        "rss-pubs" => rss::role_rss_pubs(&a),
        "rss-sub" => rss::role_rss_sub(&a),
        "fanout-sub" => fanout::role_fanout_sub(&a),
        "join-sub" => join::role_join_sub(&a),
        "burst-sub" => burst::role_burst_sub(&a),
        "slow" => slow::role_slow(&a),
        "mesh" => mesh::role_mesh(&a),
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
