//! Some of the Rust Life realms, headless, to play against realms in other languages.
//! (A copy of emz-py/examples/life_realms.rs, so that the C tests need no Python build.)
//!
//! The realms are those of the Rust demo itself (emz-core/examples/life/realm.rs, same
//! code, same keys); only the driver differs: it runs just the realms you name, so the
//! others can be C (`target/capi/bin/life --headless N --realm mary`) or Python.
//!
//! cargo run -p emz-capi --example life_realms -- --realms alien,john --headless 1000 --base-port P
//!
//! Exit 0 once every realm here has a valid zone and the right description from both of its
//! peers and has imported a zone (then it keeps publishing for --linger seconds, so that the
//! realms in other processes finish too); 1 on timeout; 2 on bad usage.

#[allow(dead_code)]
#[path = "../../emz-core/examples/life/grid.rs"]
mod grid;
#[allow(dead_code)]
#[path = "../../emz-core/examples/life/realm.rs"]
mod realm;

use realm::{realm_index, Network, Pace, Realm, ZoneStatus};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn missing(r: &Realm) -> Vec<String> {
    let name = r.spec().name;
    let mut lacks = Vec::new();
    for i in 0..r.peers.len() {
        let s = r.peer_status(i);
        match s.zone {
            ZoneStatus::Valid(_) => {}
            ZoneStatus::NotYet => lacks.push(format!("{name} has no zone from {}", s.name)),
            ZoneStatus::Malformed(e) => lacks.push(format!("{name} got a bad zone from {}: {e}", s.name)),
        }
        if s.description.as_deref() != Some(r.peers[i].spec().description().as_str()) {
            lacks.push(format!("{name} has no description from {} (got {:?})", s.name, s.description));
        }
    }
    if r.peers.iter().all(|p| p.imports == 0) {
        lacks.push(format!("{name} imported no zone"));
    }
    lacks
}

fn run(args: &[String]) -> Result<bool, String> {
    let (mut names, mut frames, mut base_port, mut linger) = (String::from("alien,john,mary"), 1000u64, 60847u16, 2.0f64);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_: std::num::ParseIntError| format!("{flag}: bad value {v:?}");
        match flag.as_str() {
            "--realms" => names = v.clone(),
            "--headless" => frames = v.parse().map_err(bad)?,
            "--base-port" => base_port = v.parse().map_err(bad)?,
            "--linger" => linger = v.parse().map_err(|_| format!("{flag}: bad value {v:?}"))?,
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    let net = Network::Loopback { base_port };
    let mut realms = Vec::new();
    for n in names.split(',') {
        let i = realm_index(n.trim()).ok_or_else(|| format!("no realm called {n:?}"))?;
        let mut r = Realm::new(i, 16, 48, &net, "127.0.0.1")?;
        r.randomize();
        realms.push(r);
    }
    let pace = Pace { frame: Duration::from_millis(10), frames_per_generation: 1, frames_per_description: 10 };
    let mut done = None;
    for frame in 0..frames {
        for r in &mut realms {
            r.frame(frame, pace).map_err(|e| format!("{}: {e}", r.spec().name))?;
            for i in 0..r.peers.len() {
                if r.peers[i].imports == 0 && matches!(r.peer_status(i).zone, ZoneStatus::Valid(_)) {
                    let _ = r.import(i);
                }
            }
        }
        if realms.iter().all(|r| missing(r).is_empty()) {
            done = Some(frame + 1);
            break;
        }
        std::thread::sleep(pace.frame);
    }
    let end = Instant::now() + Duration::from_secs_f64(linger);
    let mut frame = 0;
    while Instant::now() < end {
        for r in &mut realms {
            let _ = r.frame(frame, pace);
        }
        frame += 1;
        std::thread::sleep(pace.frame);
    }
    let names: Vec<&str> = realms.iter().map(|r| r.spec().name).collect();
    match done {
        Some(n) => {
            println!("life_realms: {} (Rust) exchanged zones with both peers in {n} frames", names.join(", "));
            Ok(true)
        }
        None => {
            let lacks: Vec<String> = realms.iter().flat_map(missing).collect();
            eprintln!("life_realms: timeout after {frames} frames; missing: {}", lacks.join("; "));
            Ok(false)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("life_realms: {e}");
            ExitCode::from(2)
        }
    }
}
