//! Life: three realms play the Game of Life and trade zones over emyzelium.
//!
//! Alien (rules B34/S34), John and Mary (B3/S23, Conway) each run a toroidal grid behind
//! an efunguz with a fixed, well-known key pair. Each publishes etale `zone` (the right
//! third of its grid: height and width as u16 little-endian, then one byte per cell)
//! and the empty-title etale (a description such as "Alien, B34/S34"), and subscribes to
//! both of the others. Importing a zone pastes it into the left third of your grid.
//!
//! ```text
//! cargo run --release --example life                  # you play Alien, John and Mary run here too
//! cargo run --release --example life -- --realm mary  # you play Mary
//! cargo run --example life -- --headless 500          # no terminal: check the exchange, exit 0/1
//! cargo run --example life -- --headless 500 --realms alien,john --base-port P --linger 3
//!                                                     # only these; Mary runs elsewhere (C, Python)
//! cargo run --example life -- --tor --realm john      # one realm, through Tor
//! ```
//!
//! Through Tor each realm is one process, on its own machine or not. Realm i publishes on
//! port base+i (60847, 60848, 60849) bound to 127.0.0.1, and at start makes itself an
//! ephemeral onion service through Tor's control port (`--tor-control HOST:PORT`, default
//! 127.0.0.1:9051; torrc needs `ControlPort 9051` and `CookieAuthentication 1`, or a
//! `HashedControlPassword` and `--tor-password PW`; `--tor-cookie PATH` names the cookie
//! file when Tor's own answer is not readable from here). Its key is kept in
//! `life_<realm>.onion_key` (`--onion-key-file F`; `new` for a throwaway address), so the
//! address stays the same across runs. Before the UI starts it prints, and the UI header
//! keeps showing, the line others need: `REALM public_key onion port`; it also writes
//! `NAME ONION` into `life_onions.txt`. The others' onions come from `--onion-NAME` or
//! from `life_onions.txt`, which is re-read every second: three realms started in one
//! directory against one tor find each other with no more ado, in any order.
//!
//! A `HiddenServicePort 60847 127.0.0.1:60847` (for Alien) in torrc still works: pass
//! `--no-publish-onion` to leave the control port alone (and `--onion-alien X` to show the
//! triple). `--tor --headless N` runs the realm without a terminal for at most N frames of
//! 50 ms, printing the triple first, and exits 0 once a valid zone came from another realm
//! (after `--linger S` more seconds of publishing, default 0), 1 otherwise.
//!
//! `--headless N --realms alien,john` runs only the realms named, on ports base+i as
//! always, so that the missing ones can run in another process or language (the C and
//! Python demos speak the same etales): it exits 0 once each realm here has a valid zone
//! and the right description from both of its peers and has imported a zone, then keeps
//! publishing for `--linger S` seconds (default 0) so that the other processes finish too.

// The crate root looks for modules beside itself; these live in life/ so that
// examples/ holds only runnable files.
#[path = "life/grid.rs"]
mod grid;
#[path = "life/realm.rs"]
mod realm;
#[path = "life/tui.rs"]
mod tui;

use crossterm::event::{self, Event};
use emyzelium::{Counters, EhyphaState, OnionKey, TorAuth};
use grid::MAX_SIDE;
use realm::{realm_index, Network, Pace, Realm, ZoneStatus, REALMS};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tui::{Action, TerminalGuard, Ui};

const USAGE: &str = "usage: life [--realm alien|john|mary] [--base-port P] [--height H --width W | --fit]
       life --headless STEPS [--realms NAME,NAME..] [--linger SECONDS] [--base-port P] [--height H --width W]
       life --tor --realm NAME [--onion-alien X --onion-john Y --onion-mary Z]
            [--tor-proxy HOST:PORT] [--tor-control HOST:PORT] [--tor-cookie PATH | --tor-password PW]
            [--onion-key-file F|new | --no-publish-onion] [--base-port P] [--bind HOST]
            [--headless FRAMES [--linger SECONDS]]
keys: 1,2 import  A autoemit  E emit  P pause etales  arrows+space draw  T run  C clear
      R random  V peers  Q quit";

const ONIONS_FILE: &str = "life_onions.txt";
const DEFAULT_TOR_CONTROL: &str = "127.0.0.1:9051";

enum Mode {
    /// You play one realm, the other two run in this process, all over loopback.
    Local,
    /// One realm, the others elsewhere behind onions; with a terminal, or without one
    /// for at most this many frames.
    Tor { headless: Option<u64> },
    /// All three realms, no terminal, for at most this many frames.
    Headless(u64),
}

struct Args {
    mode: Mode,
    realm: usize,
    tor_control: String,
    tor_auth: TorAuth,
    /// `None`: `life_<realm>.onion_key`.
    onion_key: Option<OnionKey>,
    publish_onion: bool,
    /// Seconds to keep publishing after `--headless` succeeded.
    linger: f64,
    /// The realms to run with `--headless` (all three by default), by index.
    realms: Vec<usize>,
    base_port: u16,
    height: usize,
    width: usize,
    fit: bool,
    bind: String,
    tor_proxy: (String, u16),
    onions: [Option<String>; 3],
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        mode: Mode::Local,
        realm: 0,
        base_port: emyzelium::DEFAULT_PORT,
        height: 16,
        width: 48,
        fit: false,
        bind: "127.0.0.1".into(),
        tor_proxy: (emyzelium::DEFAULT_TOR_PROXY_HOST.into(), emyzelium::DEFAULT_TOR_PROXY_PORT),
        onions: [None, None, None],
        tor_control: DEFAULT_TOR_CONTROL.into(),
        tor_auth: TorAuth::Auto,
        onion_key: None,
        publish_onion: true,
        linger: 0.0,
        realms: (0..REALMS.len()).collect(),
    };
    let (mut tor, mut headless) = (false, None);
    // The first flag that only makes sense with --tor, to complain about without it.
    let mut tor_only: Option<String> = None;
    let (mut linger, mut subset) = (false, false);
    let (mut cookie, mut password): (Option<String>, Option<String>) = (None, None);
    while let Some(flag) = it.next() {
        if matches!(
            flag.as_str(),
            "--tor-control" | "--tor-cookie" | "--tor-password" | "--onion-key-file" | "--no-publish-onion"
        ) {
            tor_only.get_or_insert_with(|| flag.clone());
        }
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--realm" => {
                let name = value()?;
                a.realm = realm_index(&name).ok_or_else(|| format!("no realm called {name:?}"))?;
            }
            "--tor" => tor = true,
            "--headless" => headless = Some(number(&flag, &value()?)?),
            "--base-port" => a.base_port = number(&flag, &value()?)?,
            "--height" => a.height = number(&flag, &value()?)?,
            "--width" => a.width = number(&flag, &value()?)?,
            "--fit" => a.fit = true,
            "--bind" => a.bind = value()?,
            "--tor-proxy" => {
                let v = value()?;
                let (host, port) = v.rsplit_once(':').ok_or_else(|| format!("--tor-proxy {v:?} is not HOST:PORT"))?;
                a.tor_proxy = (host.to_string(), number(&flag, port)?);
            }
            "--tor-control" => {
                let v = value()?;
                if !v.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0)) {
                    return Err(format!("--tor-control {v:?} is not HOST:PORT"));
                }
                a.tor_control = v;
            }
            "--tor-cookie" | "--tor-password" => {
                // A second choice of either errs too, as TorAuth::from_choice does for both.
                if cookie.is_some() || password.is_some() {
                    return Err("--tor-cookie and --tor-password: give one at most".into());
                }
                let v = Some(value()?);
                if flag == "--tor-cookie" {
                    cookie = v
                } else {
                    password = v
                }
            }
            "--onion-key-file" => {
                let v = value()?;
                a.onion_key = Some(if v == "new" { OnionKey::New } else { OnionKey::File(PathBuf::from(v)) });
            }
            "--no-publish-onion" => a.publish_onion = false,
            "--realms" => {
                let v = value()?;
                let mut realms = Vec::new();
                for name in v.split(',').map(str::trim) {
                    let i = realm_index(name).ok_or_else(|| format!("--realms: no realm called {name:?}"))?;
                    if realms.contains(&i) {
                        return Err(format!("--realms: {name} twice"));
                    }
                    realms.push(i);
                }
                a.realms = realms;
                subset = true;
            }
            "--linger" => {
                linger = true;
                let v = value()?;
                a.linger = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("--linger: {v:?} is not a number of seconds"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let name = flag.strip_prefix("--onion-").and_then(realm_index);
                let i = name.ok_or_else(|| format!("unknown argument {flag:?}"))?;
                a.onions[i] = Some(value()?);
            }
        }
    }
    a.tor_auth = TorAuth::from_choice(cookie.as_deref(), password.as_deref())
        .map_err(|_| "--tor-cookie and --tor-password: give one at most".to_string())?;
    a.mode = match (tor, headless) {
        (true, headless) => Mode::Tor { headless },
        (false, Some(frames)) => Mode::Headless(frames),
        (false, None) => Mode::Local,
    };
    if let (false, Some(flag)) = (tor, &tor_only) {
        return Err(format!("{flag} needs --tor"));
    }
    if linger && !tor && headless.is_none() {
        return Err("--linger needs --headless".into());
    }
    if subset && (tor || headless.is_none()) {
        return Err("--realms needs --headless (and no --tor: there --realm names the one realm)".into());
    }
    if !a.publish_onion && (a.onion_key.is_some() || a.tor_auth != TorAuth::Auto) {
        return Err(
            "--no-publish-onion leaves the control port alone: no --onion-key-file, --tor-cookie or --tor-password"
                .into(),
        );
    }
    if !(1..=MAX_SIDE).contains(&a.height) || !(3..=MAX_SIDE).contains(&a.width) {
        return Err(format!("grid {}x{} must be at least 1x3 and at most {MAX_SIDE} a side", a.height, a.width));
    }
    if a.base_port == 0 || a.base_port > u16::MAX - 2 {
        return Err(format!("--base-port {} leaves no room for three realms", a.base_port));
    }
    Ok(a)
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{flag}: {v:?} is not a valid number"))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            let help = e.is_empty();
            eprintln!("{}{USAGE}", if help { String::new() } else { format!("life: {e}\n") });
            return if help { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let result = match args.mode {
        Mode::Headless(frames) => headless(&args, frames),
        Mode::Local => play_local(&args),
        Mode::Tor { headless: None } => play_tor(&args),
        Mode::Tor { headless: Some(frames) } => headless_tor(&args, frames),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("life: {e}");
            ExitCode::FAILURE
        }
    }
}

fn all_realms_here(args: &Args, height: usize, width: usize) -> Result<Vec<Realm>, String> {
    let all: Vec<usize> = (0..REALMS.len()).collect();
    realms_here(args, &all, height, width)
}

/// The realms of `which` (indices), in this process, over loopback.
fn realms_here(args: &Args, which: &[usize], height: usize, width: usize) -> Result<Vec<Realm>, String> {
    let net = Network::Loopback { base_port: args.base_port };
    let mut realms =
        which.iter().map(|&i| Realm::new(i, height, width, &net, &args.bind)).collect::<Result<Vec<_>, _>>()?;
    for r in &mut realms {
        r.randomize();
    }
    Ok(realms)
}

// ---- headless ---------------------------------------------------------------------------

/// Runs the realms of `--realms` (all three by default) without a terminal until each
/// has a valid zone and description from both others and has imported a zone, or
/// `max_frames` pass; then publishes for `--linger` seconds more.
fn headless(args: &Args, max_frames: u64) -> Result<(), String> {
    let pace = Pace { frame: Duration::from_millis(10), frames_per_generation: 1, frames_per_description: 10 };
    let mut realms = realms_here(args, &args.realms, args.height, args.width)?;
    for frame in 0..max_frames {
        for r in &mut realms {
            r.frame(frame, pace).map_err(|e| format!("{}: {e}", r.spec().name))?;
            import_first_zones(r);
        }
        if realms.iter().all(|r| missing(r).is_empty()) {
            for r in &realms {
                println!("{}", summary(r));
            }
            if realms.len() == REALMS.len() {
                println!("life: all three realms exchanged zones in {} frames", frame + 1);
            } else {
                let names: Vec<&str> = realms.iter().map(|r| r.spec().name).collect();
                println!("life: {} (Rust) exchanged zones with both peers in {} frames", names.join(", "), frame + 1);
            }
            io::stdout().flush().map_err(|e| format!("stdout: {e}"))?;
            // Realms in other processes may still be waiting for our zones.
            let end = Instant::now() + Duration::from_secs_f64(args.linger);
            let mut frame = frame + 1;
            while Instant::now() < end {
                for r in &mut realms {
                    let _ = r.frame(frame, pace);
                }
                frame += 1;
                std::thread::sleep(pace.frame);
            }
            return Ok(());
        }
        std::thread::sleep(pace.frame);
    }
    for r in &realms {
        eprintln!("{}", summary(r));
    }
    let missing: Vec<String> = realms.iter().flat_map(missing).collect();
    Err(format!("timeout after {max_frames} frames; missing: {}", missing.join("; ")))
}

/// Imports each peer's zone once, as soon as a valid one is there.
fn import_first_zones(r: &mut Realm) {
    for i in 0..r.peers.len() {
        if r.peers[i].imports == 0 && matches!(r.peer_status(i).zone, ZoneStatus::Valid(_)) {
            let _ = r.import(i);
        }
    }
}

/// What realm `r` still lacks for the headless check to pass.
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
        // The description must be the peer's own: proof the keys lead to the right realm.
        if s.description.as_deref() != Some(r.peers[i].spec().description().as_str()) {
            lacks.push(format!("{name} has no description from {} (got {:?})", s.name, s.description));
        }
    }
    if r.peers.iter().all(|p| p.imports == 0) {
        lacks.push(format!("{name} imported no zone"));
    }
    lacks
}

fn summary(r: &Realm) -> String {
    let peers: Vec<String> = (0..r.peers.len())
        .map(|i| {
            let s = r.peer_status(i);
            let zone = match &s.zone {
                ZoneStatus::Valid(z) => format!("{}x{}", z.height, z.width),
                ZoneStatus::NotYet => "none".into(),
                ZoneStatus::Malformed(e) => format!("bad ({e})"),
            };
            format!(
                "{}: {}, zone {zone} x{} description {:?} imported {}",
                s.name,
                s.link(),
                s.zones_received,
                s.description.as_deref().unwrap_or(""),
                r.peers[i].imports
            )
        })
        .collect();
    let c = r.counters();
    format!(
        "{} ({}): generation {}, in {}/{}/{}; {}",
        r.spec().name,
        r.spec().rules,
        r.generation,
        c.in_attempted,
        c.in_permitted,
        c.in_absorbing,
        peers.join("; ")
    )
}

// ---- interactive ------------------------------------------------------------------------

/// 20 frames a second, 10 generations a second.
const PLAY_PACE: Pace = Pace { frame: Duration::from_millis(50), frames_per_generation: 2, frames_per_description: 20 };

fn grid_size(args: &Args) -> Result<(usize, usize), String> {
    if !args.fit {
        return Ok((args.height, args.width));
    }
    let (cols, rows) = crossterm::terminal::size().map_err(|e| format!("no terminal to fit: {e}"))?;
    let height = usize::from(rows).saturating_sub(tui::CHROME_LINES).max(1);
    let width = usize::from(cols).saturating_sub(2).max(3);
    Ok((height, width))
}

fn play_local(args: &Args) -> Result<(), String> {
    let (height, width) = grid_size(args)?;
    let mut realms = all_realms_here(args, height, width)?;
    play(&mut realms, args.realm, None)
}

fn play_tor(args: &Args) -> Result<(), String> {
    let (height, width) = grid_size(args)?;
    let (realm, tor) = start_tor(args, height, width)?;
    play(&mut [realm], 0, Some(tor))
}

// ---- through Tor ------------------------------------------------------------------------

/// What a realm run through Tor has besides the realm.
struct TorSide {
    /// `REALM public_key onion port`, when our onion is known.
    share: Option<String>,
    watch: OnionWatch,
}

/// Makes the realm, publishes its onion through the control port (unless told not to),
/// records it in `life_onions.txt` and prints the triple others need, flushed.
fn start_tor(args: &Args, height: usize, width: usize) -> Result<(Realm, TorSide), String> {
    let me = &REALMS[args.realm];
    let from_file = read_onions_file()?;
    let mut onions = args.onions.clone();
    for (i, onion) in onions.iter_mut().enumerate() {
        if i != args.realm && onion.is_none() {
            onion.clone_from(&from_file[i]);
        }
    }
    let net = Network::Tor { base_port: args.base_port, proxy: args.tor_proxy.clone(), onions };
    let mut realm = Realm::new(args.realm, height, width, &net, &args.bind)?;
    realm.randomize();
    let own = if args.publish_onion {
        let key = args
            .onion_key
            .clone()
            .unwrap_or_else(|| OnionKey::File(PathBuf::from(format!("life_{}.onion_key", me.name.to_lowercase()))));
        let onion =
            realm.ef.publish_onion(&args.tor_control, &args.tor_auth, &key).map_err(|e| onion_error(args, &key, e))?;
        if let Err(e) = record_onion(me.name, &onion) {
            eprintln!("life: warning: {e}; give the others --onion-{} {onion}", me.name.to_lowercase());
        }
        Some(onion)
    } else {
        args.onions[args.realm].clone().or_else(|| from_file[args.realm].clone())
    };
    let share = own.map(|onion| format!("{} {} {onion} {}", me.name, me.public_key, realm.ef.port()));
    match &share {
        Some(triple) => println!("{triple}"),
        None => eprintln!(
            "life: {} publishes on 127.0.0.1:{} for your torrc's HiddenServicePort; pass --onion-{} ONION to show what others need",
            me.name,
            realm.ef.port(),
            me.name.to_lowercase()
        ),
    }
    io::stdout().flush().map_err(|e| format!("stdout: {e}"))?;
    let mut from_cli = [false; 3];
    for (i, o) in args.onions.iter().enumerate() {
        from_cli[i] = o.is_some();
    }
    Ok((realm, TorSide { share, watch: OnionWatch::new(from_cli) }))
}

/// The core's error, with a word on what to do about it.
fn onion_error(args: &Args, key: &OnionKey, e: emyzelium::Error) -> String {
    let control = &args.tor_control;
    let hint = match &e {
        emyzelium::Error::Tor { what } if what.starts_with("no Tor control port") => format!(
            "is tor running with `ControlPort {}` in its torrc? Name another with --tor-control HOST:PORT, \
             or publish through a HiddenServicePort in torrc and pass --no-publish-onion",
            control.rsplit_once(':').map_or("9051", |(_, p)| p)
        ),
        emyzelium::Error::Tor { what } if what.contains("HASHEDPASSWORD") && !what.contains("AUTHENTICATE") => {
            "Tor wants its control password: pass --tor-password PW".into()
        }
        emyzelium::Error::Tor { what } if what.contains("AUTHENTICATE") || what.contains("authentication") => {
            "Tor refused us: pass --tor-cookie PATH (control_auth_cookie in its DataDirectory, readable by you) \
             or --tor-password PW (its HashedControlPassword)"
                .into()
        }
        emyzelium::Error::Tor { what } if what.contains("ADD_ONION") && what.contains("ollision") => {
            "that onion is already published: is this realm running elsewhere with the same --onion-key-file?".into()
        }
        emyzelium::Error::Io { path, .. } if args.tor_auth == TorAuth::Cookie(path.clone()) => {
            "--tor-cookie names Tor's control_auth_cookie, in its DataDirectory (readable by you)".into()
        }
        emyzelium::Error::InvalidKey { .. } => match key {
            OnionKey::File(path) => {
                format!("{} holds no onion key; remove it for a new address (or --onion-key-file new)", path.display())
            }
            _ => String::new(),
        },
        emyzelium::Error::InvalidAddress { .. } => "--tor-control takes HOST:PORT of a reachable host".into(),
        _ => String::new(),
    };
    let hint = if hint.is_empty() { hint } else { format!("\n  hint: {hint}") };
    format!("{}: cannot publish an onion through Tor's control port {control}: {e}{hint}", REALMS[args.realm].name)
}

/// `life_onions.txt`, if it exists: each realm's onion, as far as it says.
fn read_onions_file() -> Result<[Option<String>; 3], String> {
    let mut onions = [None, None, None];
    let text = match std::fs::read_to_string(ONIONS_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(onions),
        Err(e) => return Err(format!("{ONIONS_FILE}: {e}")),
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("{ONIONS_FILE}:{}: expected `NAME ONION`", n + 1);
        let (name, onion) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
        let i = realm_index(name).ok_or_else(bad)?;
        onions[i].get_or_insert_with(|| onion.trim().to_string());
    }
    Ok(onions)
}

/// Writes `NAME ONION` into `life_onions.txt`, replacing the realm's line if there is one.
/// Other realms may do the same at the same moment, so the read-change-replace runs under
/// a lock file (created exclusively); without it, a realm that read the file before our
/// rename would put back its older copy and our line would be lost.
fn record_onion(name: &str, onion: &str) -> Result<(), String> {
    let _lock = OnionsLock::take()?;
    let wanted = format!("{name} {onion}");
    let text = match std::fs::read_to_string(ONIONS_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{ONIONS_FILE}: {e}")),
    };
    let mut lines: Vec<String> = Vec::new();
    let mut done = false;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if !line.trim_start().starts_with('#') && first.eq_ignore_ascii_case(name) {
            if !done {
                lines.push(wanted.clone());
                done = true;
            }
        } else {
            lines.push(line.to_string());
        }
    }
    if !done {
        lines.push(wanted);
    }
    // Readers never see half a file: it is written aside and renamed over the old one.
    let tmp = format!("{ONIONS_FILE}.{}.tmp", std::process::id());
    std::fs::write(&tmp, lines.join("\n") + "\n")
        .and_then(|()| std::fs::rename(&tmp, ONIONS_FILE))
        .map_err(|e| format!("cannot write {ONIONS_FILE}: {e}"))?;
    match read_onions_file()?[realm_index(name).expect("a realm's own name")].as_deref() {
        Some(o) if o == onion => Ok(()),
        _ => Err(format!("{ONIONS_FILE}: another program changed it while we held {ONIONS_LOCK}")),
    }
}

const ONIONS_LOCK: &str = "life_onions.txt.lock";

/// Holds `life_onions.txt.lock` while it lives. A lock older than a few seconds is left by
/// a realm that died holding it (the update takes milliseconds), so it is taken over.
struct OnionsLock;

impl OnionsLock {
    fn take() -> Result<OnionsLock, String> {
        const STALE: Duration = Duration::from_secs(5);
        let deadline = Instant::now() + 2 * STALE;
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(ONIONS_LOCK) {
                Ok(_) => return Ok(OnionsLock),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let age =
                        std::fs::metadata(ONIONS_LOCK).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                    if age.is_some_and(|a| a > STALE) {
                        // Two waiters that both find it stale may both go ahead (one removes
                        // the other's new lock): only after a crash, and the check after the
                        // write then reports a lost line instead of hiding it.
                        let _ = std::fs::remove_file(ONIONS_LOCK);
                        continue;
                    }
                }
                Err(e) => return Err(format!("cannot create {ONIONS_LOCK}: {e}")),
            }
            if Instant::now() > deadline {
                return Err(format!("{ONIONS_LOCK} stays taken; remove it if no realm is starting"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for OnionsLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(ONIONS_LOCK);
    }
}

/// Re-reads `life_onions.txt` now and then, to reach realms that published their onion
/// after we started (or moved to a new one). Onions given on the command line stay.
struct OnionWatch {
    from_cli: [bool; 3],
    next: Instant,
    last_error: Option<String>,
}

impl OnionWatch {
    fn new(from_cli: [bool; 3]) -> OnionWatch {
        OnionWatch { from_cli, next: Instant::now() + Duration::from_secs(1), last_error: None }
    }

    /// Once a second: what changed, in words (errors once each).
    fn poll(&mut self, realm: &mut Realm) -> Vec<String> {
        let now = Instant::now();
        if now < self.next {
            return Vec::new();
        }
        self.next = now + Duration::from_secs(1);
        let mut news = Vec::new();
        let mut error = None;
        match read_onions_file() {
            Err(e) => error = Some(e),
            Ok(onions) => {
                for p in 0..realm.peers.len() {
                    let i = realm.peers[p].index;
                    let Some(onion) = onions[i].as_deref().filter(|_| !self.from_cli[i]) else { continue };
                    let before = realm.peers[p].onion.is_some();
                    match realm.set_peer_onion(p, onion) {
                        Ok(false) => {}
                        Ok(true) => news.push(format!(
                            "{} is at {}.onion now (from {ONIONS_FILE}){}",
                            REALMS[i].name,
                            realm.peers[p].onion.as_deref().unwrap_or(onion),
                            if before { ", reconnecting" } else { "" }
                        )),
                        Err(e) => error = Some(format!("{ONIONS_FILE}: {e}")),
                    }
                }
            }
        }
        if error.is_some() && error != self.last_error {
            news.extend(error.clone());
        }
        self.last_error = error;
        news
    }
}

/// One realm through Tor, no terminal: exits once a valid zone came from another realm.
fn headless_tor(args: &Args, max_frames: u64) -> Result<(), String> {
    let pace = PLAY_PACE;
    let (mut realm, mut tor) = start_tor(args, args.height, args.width)?;
    let name = realm.spec().name;
    let start = Instant::now();
    let mut states: Vec<Option<EhyphaState>> = vec![None; realm.peers.len()];
    let mut next_frame = Instant::now();
    for frame in 0..max_frames {
        realm.frame(frame, pace).map_err(|e| format!("{name}: {e}"))?;
        for news in tor.watch.poll(&mut realm) {
            eprintln!("life: {name}: {news}");
        }
        // Every change of a connection's state, for whoever reads the log of a test.
        for (p, seen) in states.iter_mut().enumerate() {
            let s = realm.peer_status(p);
            if s.state != *seen {
                *seen = s.state;
                eprintln!("life: {:7.1} s {name} -> {}: {}", start.elapsed().as_secs_f64(), s.name, s.link());
            }
        }
        import_first_zones(&mut realm);
        let from = (0..realm.peers.len()).find(|&p| matches!(realm.peer_status(p).zone, ZoneStatus::Valid(_)));
        if let Some(p) = from {
            println!("{}", summary(&realm));
            println!(
                "life: {name} received a zone from {} through Tor in {} frames ({:.1} s)",
                realm.peers[p].spec().name,
                frame + 1,
                start.elapsed().as_secs_f64()
            );
            io::stdout().flush().map_err(|e| format!("stdout: {e}"))?;
            // Others may still be waiting for our zone.
            let end = Instant::now() + Duration::from_secs_f64(args.linger);
            let mut frame = frame + 1;
            while Instant::now() < end {
                let _ = realm.frame(frame, pace);
                tor.watch.poll(&mut realm);
                frame += 1;
                std::thread::sleep(pace.frame);
            }
            return Ok(());
        }
        next_frame += pace.frame;
        std::thread::sleep(next_frame.saturating_duration_since(Instant::now()));
        next_frame = next_frame.max(Instant::now());
    }
    eprintln!("{}", summary(&realm));
    Err(format!("{name}: timeout after {max_frames} frames: no valid zone from another realm through Tor"))
}

/// The interactive loop: `realms[player]` is yours, any others are run by the program.
fn play(realms: &mut [Realm], player: usize, mut tor: Option<TorSide>) -> Result<(), String> {
    let mut ui = Ui::new(&realms[player]);
    ui.share = tor.as_ref().and_then(|t| t.share.clone());
    let guard = TerminalGuard::enter().map_err(|e| format!("terminal: {e}"))?;
    let mut out = BufWriter::new(io::stdout());
    let mut next_frame = Instant::now();
    for frame in 0.. {
        next_frame += PLAY_PACE.frame;
        handle_input_until(next_frame, &mut realms[player], &mut ui).map_err(|e| format!("terminal: {e}"))?;
        if ui.quit {
            break;
        }
        for (i, r) in realms.iter_mut().enumerate() {
            if let Err(e) = r.frame(frame, PLAY_PACE) {
                ui.message = format!("{}: {e}", r.spec().name);
            }
            if i != player && frame % PLAY_PACE.frames_per_generation == 0 {
                keep_lively(r);
            }
        }
        if let Some(t) = &mut tor {
            if let Some(news) = t.watch.poll(&mut realms[player]).pop() {
                ui.message = news;
            }
        }
        let counters = peer_counters(realms, player);
        tui::draw(&mut out, &realms[player], &ui, &counters).map_err(|e| format!("terminal: {e}"))?;
        // After a stall (a suspended terminal, say) start afresh instead of racing.
        next_frame = next_frame.max(Instant::now());
    }
    drop(guard);
    Ok(())
}

/// Waits for the next frame, acting on keys meanwhile.
fn handle_input_until(deadline: Instant, realm: &mut Realm, ui: &mut Ui) -> io::Result<()> {
    loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if !event::poll(timeout)? {
            return Ok(());
        }
        match event::read()? {
            Event::Key(key) => {
                if let Some(action) = tui::action_of(key) {
                    ui.apply(realm, action);
                    if action == Action::Quit {
                        return Ok(());
                    }
                }
            }
            // The next draw fills the new size; stale text beyond it must go.
            Event::Resize(..) => {
                crossterm::execute!(io::stdout(), crossterm::terminal::Clear(crossterm::terminal::ClearType::All))?
            }
            _ => {}
        }
    }
}

/// The realms nobody plays: now and then they import a neighbour's zone, and they
/// reseed when their world dies, so there is always something to look at.
fn keep_lively(r: &mut Realm) {
    if r.grid.population() == 0 || r.chance(1, 400) {
        r.randomize();
    } else if r.chance(1, 50) {
        let peer = usize::from(r.chance(1, 2));
        let _ = r.import(peer);
    }
}

/// Each of the player's peers' own counters, when that peer runs in this process.
fn peer_counters(realms: &[Realm], player: usize) -> Vec<Option<Counters>> {
    let me = &realms[player];
    me.peers.iter().map(|p| realms.iter().find(|r| r.index == p.index).map(Realm::counters)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three realms recording their onions at the same moment, again and again, in one
    /// directory: each one's latest line survives (a CI run once lost John's).
    #[test]
    fn concurrent_records_keep_every_realm() {
        let dir = std::env::temp_dir().join(format!("life-onions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_current_dir(&dir).unwrap();
        let rounds = 40;
        let writers: Vec<_> = REALMS
            .iter()
            .map(|r| {
                std::thread::spawn(move || {
                    for i in 0..rounds {
                        record_onion(r.name, &format!("{}{i:02}", r.name.to_lowercase())).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let onions = read_onions_file().unwrap();
        for (i, r) in REALMS.iter().enumerate() {
            assert_eq!(onions[i].as_deref(), Some(format!("{}{:02}", r.name.to_lowercase(), rounds - 1).as_str()));
        }
        assert!(!std::path::Path::new(ONIONS_LOCK).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
