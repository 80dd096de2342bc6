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
//! cargo run --example life -- --tor --realm john --onion-alien X --onion-mary Y
//! ```
//!
//! Through Tor each realm is one process on its own machine. Realm i publishes on port
//! base+i (60847, 60848, 60849) bound to 127.0.0.1; make it an onion service in torrc:
//! `HiddenServiceDir …` and `HiddenServicePort 60847 127.0.0.1:60847` (for Alien). The
//! others' onions come from `--onion-NAME` or from `life_onions.txt` (lines `NAME ONION`).

// The crate root looks for modules beside itself; these live in life/ so that
// examples/ holds only runnable files.
#[path = "life/grid.rs"]
mod grid;
#[path = "life/realm.rs"]
mod realm;
#[path = "life/tui.rs"]
mod tui;

use crossterm::event::{self, Event};
use emyzelium::Counters;
use grid::MAX_SIDE;
use realm::{realm_index, Network, Pace, Realm, ZoneStatus, REALMS};
use std::io::{self, BufWriter};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tui::{Action, TerminalGuard, Ui};

const USAGE: &str = "usage: life [--realm alien|john|mary] [--base-port P] [--height H --width W | --fit]
       life --headless STEPS [--base-port P] [--height H --width W]
       life --tor --realm NAME [--onion-alien X --onion-john Y --onion-mary Z]
            [--tor-proxy HOST:PORT] [--base-port P] [--bind HOST]
keys: 1,2 import  A autoemit  E emit  P pause etales  arrows+space draw  T run  C clear
      R random  V peers  Q quit";

const ONIONS_FILE: &str = "life_onions.txt";

enum Mode {
    /// You play one realm, the other two run in this process, all over loopback.
    Local,
    /// You play one realm; the others are elsewhere, behind onions.
    Tor,
    /// All three realms, no terminal, for at most this many frames.
    Headless(u64),
}

struct Args {
    mode: Mode,
    realm: usize,
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
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--realm" => {
                let name = value()?;
                a.realm = realm_index(&name).ok_or_else(|| format!("no realm called {name:?}"))?;
            }
            "--tor" => a.mode = Mode::Tor,
            "--headless" => a.mode = Mode::Headless(number(&flag, &value()?)?),
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
            "-h" | "--help" => return Err(String::new()),
            _ => {
                let name = flag.strip_prefix("--onion-").and_then(realm_index);
                let i = name.ok_or_else(|| format!("unknown argument {flag:?}"))?;
                a.onions[i] = Some(value()?);
            }
        }
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
        Mode::Tor => play_tor(&args),
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
    let net = Network::Loopback { base_port: args.base_port };
    let mut realms =
        (0..REALMS.len()).map(|i| Realm::new(i, height, width, &net, &args.bind)).collect::<Result<Vec<_>, _>>()?;
    for r in &mut realms {
        r.randomize();
    }
    Ok(realms)
}

// ---- headless ---------------------------------------------------------------------------

/// Runs all three realms without a terminal until each has a valid zone and
/// description from both others and has imported a zone, or `max_frames` pass.
fn headless(args: &Args, max_frames: u64) -> Result<(), String> {
    let pace = Pace { frame: Duration::from_millis(10), frames_per_generation: 1, frames_per_description: 10 };
    let mut realms = all_realms_here(args, args.height, args.width)?;
    for frame in 0..max_frames {
        for r in &mut realms {
            r.frame(frame, pace).map_err(|e| format!("{}: {e}", r.spec().name))?;
            import_first_zones(r);
        }
        if realms.iter().all(|r| missing(r).is_empty()) {
            for r in &realms {
                println!("{}", summary(r));
            }
            println!("life: all three realms exchanged zones in {} frames", frame + 1);
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
                "{}: zone {zone} x{} description {:?} imported {}",
                s.name,
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
    play(&mut realms, args.realm)
}

fn play_tor(args: &Args) -> Result<(), String> {
    let mut onions = args.onions.clone();
    fill_onions_from_file(&mut onions)?;
    let (height, width) = grid_size(args)?;
    let net = Network::Tor { base_port: args.base_port, proxy: args.tor_proxy.clone(), onions };
    let mut realm = Realm::new(args.realm, height, width, &net, &args.bind)?;
    realm.randomize();
    play(&mut [realm], 0)
}

/// Onions not given on the command line come from `life_onions.txt`, if it exists.
fn fill_onions_from_file(onions: &mut [Option<String>; 3]) -> Result<(), String> {
    let text = match std::fs::read_to_string(ONIONS_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
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
    Ok(())
}

/// The interactive loop: `realms[player]` is yours, any others are run by the program.
fn play(realms: &mut [Realm], player: usize) -> Result<(), String> {
    let mut ui = Ui::new(&realms[player]);
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
