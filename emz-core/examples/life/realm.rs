//! A realm: one Game of Life grid behind one efunguz, with an ehypha to each of the
//! two other realms.

use super::grid::{Grid, Rng, Rules, Zone, ZoneError};
use emyzelium::{normalize_onion, now_us, Counters, Efunguz, EhyphaState};

/// Etale carrying the right third of a realm's grid.
pub const ZONE: &str = "zone";
/// Etale carrying a realm's one-line description (name and rules).
pub const DESCRIPTION: &str = "";

/// Largest etale taken from a peer, in bytes.
const MAX_MESSAGE_BYTES: i64 = 16 << 20;

/// A realm's fixed identity. The key pairs are public on purpose: this is a demo, and
/// every copy of it must know everyone's keys to find the others.
pub struct RealmSpec {
    pub name: &'static str,
    pub rules: &'static str,
    pub public_key: &'static str,
    pub secret_key: &'static str,
}

/// Made once with `cargo run --example genkeypair`.
pub const REALMS: [RealmSpec; 3] = [
    RealmSpec {
        name: "Alien",
        rules: "B34/S34",
        public_key: "?B2UjRL{6*b:>By1j2tj!TE#46+W]>PPu%eEHjgr",
        secret_key: "A$U:3wlY?z&-y!gS+b&wx-]:4Ul3x56dNg0e#}^u",
    },
    RealmSpec {
        name: "John",
        rules: "B3/S23",
        public_key: "&0<jw*i-VF@HLP>-s9oDcpuK534Z8mD*6R?}k6w$",
        secret_key: "Pj[kP[AX^2Bma-0g5.SO@5L3IWSwmaM)H{9=1}9l",
    },
    RealmSpec {
        name: "Mary",
        rules: "B3/S23",
        public_key: "<MBc4!&R3JXCGU+/->7!/nrAVM6GvIvafQphTP#]",
        secret_key: "LiFWkj20^>l1Y#HrJ2/}bW8j0?nEgl19W+B?2jy@",
    },
];

/// Index into [`REALMS`] of the realm called `name` (any case).
pub fn realm_index(name: &str) -> Option<usize> {
    REALMS.iter().position(|r| r.name.eq_ignore_ascii_case(name))
}

impl RealmSpec {
    pub fn description(&self) -> String {
        format!("{}, {}", self.name, self.rules)
    }
}

/// How a realm reaches the others.
pub enum Network {
    /// All realms on this machine, realm i publishing on `base_port + i`.
    Loopback { base_port: u16 },
    /// Through Tor: realm i behind `onions[i]`, port `base_port + i`. A realm whose onion
    /// is not known yet gets no ehypha until [`Realm::set_peer_onion`].
    Tor { base_port: u16, proxy: (String, u16), onions: [Option<String>; 3] },
}

impl Network {
    fn port_of(&self, realm: usize) -> Result<u16, String> {
        let base = match self {
            Network::Loopback { base_port } | Network::Tor { base_port, .. } => *base_port,
        };
        base.checked_add(realm as u16).ok_or_else(|| format!("base port {base} leaves no room for three realms"))
    }
}

/// What this realm knows of another one.
pub struct Peer {
    pub index: usize,
    pub imports: u64,
    /// The port it publishes on.
    pub port: u16,
    /// Through Tor, the onion it is reached at (normalized); `None` on loopback.
    pub onion: Option<String>,
    /// Whether there is an ehypha to it (through Tor only once its onion is known).
    pub linked: bool,
}

impl Peer {
    pub fn spec(&self) -> &'static RealmSpec {
        &REALMS[self.index]
    }
}

/// The latest zone from a peer, as far as it can be judged.
pub enum ZoneStatus {
    NotYet,
    Valid(Zone),
    Malformed(ZoneError),
}

/// One peer's status, for display and for the headless check.
pub struct PeerStatus {
    pub name: &'static str,
    pub description: Option<String>,
    pub zone: ZoneStatus,
    /// µs since the zone arrived.
    pub zone_age_us: Option<i64>,
    pub zones_received: u64,
    pub paused: bool,
    /// Where the connection stands; `None` when there is no ehypha (onion unknown).
    pub state: Option<EhyphaState>,
    /// µs since the state last changed.
    pub state_age_us: i64,
}

impl PeerStatus {
    /// "up 12.3 s", "retrying 2.1 s", "no onion yet".
    pub fn link(&self) -> String {
        match self.state {
            None => "no onion yet".into(),
            Some(state) => format!("{state} {:.1} s", self.state_age_us.max(0) as f64 / 1e6),
        }
    }
}

pub struct Realm {
    pub index: usize,
    pub ef: Efunguz,
    pub grid: Grid,
    rules: Rules,
    pub peers: Vec<Peer>,
    pub generation: u64,
    pub running: bool,
    pub autoemit: bool,
    pub etales_paused: bool,
    rng: Rng,
}

impl Realm {
    /// Binds the realm's port and subscribes to `zone` and the description of both other
    /// realms. Publishing is open to those two keys only.
    pub fn new(index: usize, height: usize, width: usize, net: &Network, bind_host: &str) -> Result<Realm, String> {
        let spec = &REALMS[index];
        let rules = Rules::parse(spec.rules)?;
        let others: Vec<usize> = (0..REALMS.len()).filter(|&i| i != index).collect();
        let mut builder = Efunguz::builder(spec.secret_key)
            .bind_host(bind_host)
            .port(net.port_of(index)?)
            .whitelist(others.iter().map(|&i| REALMS[i].public_key))
            // Ample for any zone of a sane grid; a peer gone mad cannot make us buffer gigabytes.
            .max_message_size(MAX_MESSAGE_BYTES);
        if let Network::Tor { proxy, .. } = net {
            builder = builder.tor_proxy(&proxy.0, proxy.1);
        }
        let ef = builder.build().map_err(|e| format!("{}: cannot start: {e}", spec.name))?;
        let mut peers = Vec::new();
        for &i in &others {
            peers.push(Peer { index: i, imports: 0, port: net.port_of(i)?, onion: None, linked: false });
        }
        let seed = now_us() as u64 ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut realm = Realm {
            index,
            ef,
            grid: Grid::new(height, width),
            rules,
            peers,
            generation: 0,
            running: true,
            autoemit: true,
            etales_paused: false,
            rng: Rng::new(seed),
        };
        for p in 0..realm.peers.len() {
            match net {
                Network::Loopback { .. } => realm.link(p, None)?,
                Network::Tor { onions, .. } => {
                    if let Some(onion) = &onions[realm.peers[p].index] {
                        realm.set_peer_onion(p, onion)?;
                    }
                }
            }
        }
        Ok(realm)
    }

    /// Adds the ehypha to peer `p` (0 or 1): through Tor to `onion`, else over loopback.
    fn link(&mut self, p: usize, onion: Option<&str>) -> Result<(), String> {
        let (me, peer, port) = (self.spec().name, self.peers[p].spec(), self.peers[p].port);
        let ehypha = match onion {
            None => self.ef.add_ehypha_direct(peer.public_key, "127.0.0.1", port),
            Some(onion) => self.ef.add_ehypha(peer.public_key, onion, port),
        }
        .map_err(|e| format!("{me}: cannot reach {}: {e}", peer.name))?;
        for title in [ZONE, DESCRIPTION] {
            ehypha.add_etale(title).map_err(|e| format!("{me}: cannot subscribe: {e}"))?;
        }
        if self.etales_paused {
            ehypha.pause_etales().map_err(|e| format!("{me}: cannot pause: {e}"))?;
        }
        self.peers[p].linked = true;
        Ok(())
    }

    /// Through Tor: (re)connects to peer `p` (0 or 1) at `onion`. Returns whether anything
    /// changed (a new or different onion); what came from the old onion is dropped.
    pub fn set_peer_onion(&mut self, p: usize, onion: &str) -> Result<bool, String> {
        let name = self.peers[p].spec().name;
        let onion = normalize_onion(onion).map_err(|e| format!("onion of {name}: {e}"))?;
        if self.peers[p].onion.as_deref() == Some(onion.as_str()) {
            return Ok(false);
        }
        if self.peers[p].linked {
            self.ef.del_ehypha(self.peers[p].spec().public_key).map_err(|e| format!("{name}: {e}"))?;
            self.peers[p].linked = false;
        }
        self.peers[p].onion = Some(onion.clone());
        self.link(p, Some(&onion))?;
        Ok(true)
    }

    pub fn spec(&self) -> &'static RealmSpec {
        &REALMS[self.index]
    }

    pub fn step(&mut self) {
        self.grid.step(self.rules);
        self.generation += 1;
    }

    pub fn randomize(&mut self) {
        self.grid.randomize(&mut self.rng);
    }

    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.rng.chance(num, den)
    }

    pub fn emit_zone(&mut self) -> emyzelium::Result<()> {
        self.ef.emit_etale(ZONE, &self.grid.export_zone().to_parts()).map(drop)
    }

    pub fn emit_description(&mut self) -> emyzelium::Result<()> {
        self.ef.emit_etale(DESCRIPTION, &[self.spec().description()]).map(drop)
    }

    pub fn counters(&self) -> Counters {
        self.ef.counters()
    }

    /// Pastes the latest zone of peer `peer` (0 or 1) into the left third; the message
    /// says what happened, malformed zones included.
    pub fn import(&mut self, peer: usize) -> Result<String, String> {
        let Some(p) = self.peers.get(peer) else {
            return Err(format!("there is no realm #{}", peer + 1));
        };
        let name = p.spec().name;
        match self.peer_status(peer).zone {
            ZoneStatus::NotYet => Err(format!("no zone from {name} yet")),
            ZoneStatus::Malformed(e) => Err(format!("zone from {name} rejected: {e}")),
            ZoneStatus::Valid(zone) => {
                self.grid.import_zone(&zone);
                self.peers[peer].imports += 1;
                Ok(format!("imported {}x{} zone from {name}", zone.height, zone.width))
            }
        }
    }

    /// Stops or restarts receiving from both peers (their latest etales stay).
    pub fn toggle_etales_paused(&mut self) -> emyzelium::Result<()> {
        let pause = !self.etales_paused;
        for p in self.peers.iter().filter(|p| p.linked) {
            let ehypha = self.ef.get_ehypha_mut(REALMS[p.index].public_key)?;
            if pause {
                ehypha.pause_etales()?;
            } else {
                ehypha.resume_etales()?;
            }
        }
        self.etales_paused = pause;
        Ok(())
    }

    pub fn peer_status(&self, peer: usize) -> PeerStatus {
        let spec = self.peers[peer].spec();
        let ehypha = self.ef.get_ehypha(spec.public_key).ok();
        let etale = |title| ehypha.and_then(|e| e.get_etale(title).ok()).filter(|e| e.t_in() >= 0);
        let description = etale(DESCRIPTION).map(|e| match e.parts() {
            [text] => printable(&String::from_utf8_lossy(text)),
            parts => format!("<{} parts>", parts.len()),
        });
        let zone_etale = etale(ZONE);
        let zone = match zone_etale {
            None => ZoneStatus::NotYet,
            Some(e) => {
                let parts: Vec<&[u8]> = e.parts().iter().map(|p| &p[..]).collect();
                match Zone::from_parts(&parts) {
                    Ok(z) => ZoneStatus::Valid(z),
                    Err(err) => ZoneStatus::Malformed(err),
                }
            }
        };
        PeerStatus {
            state: ehypha.map(|e| e.state()),
            state_age_us: ehypha.map_or(0, |e| now_us() - e.state_since()),
            name: spec.name,
            description,
            zone,
            zone_age_us: zone_etale.map(|e| now_us() - e.t_in()),
            zones_received: zone_etale.map_or(0, |e| e.received()),
            paused: zone_etale.is_some_and(|e| e.is_paused()),
        }
    }
}

/// A peer's text made safe to print: no control characters (a terminal would obey
/// escape sequences), and short enough for one line.
fn printable(text: &str) -> String {
    text.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Timing of the main loop, in frames.
#[derive(Clone, Copy)]
pub struct Pace {
    pub frame: std::time::Duration,
    pub frames_per_generation: u64,
    /// Descriptions are re-sent now and then: a subscriber that connects late
    /// (PUB/SUB keeps no history) still learns them.
    pub frames_per_description: u64,
}

impl Realm {
    /// One frame of work: take in what arrived, advance the simulation when it is due,
    /// publish. Returns how many etales changed.
    pub fn frame(&mut self, frame: u64, pace: Pace) -> emyzelium::Result<usize> {
        let changed = self.ef.update()?;
        if frame.is_multiple_of(pace.frames_per_generation) {
            if self.running {
                self.step();
            }
            // Also while stopped, so cells drawn by hand reach the others.
            if self.autoemit {
                self.emit_zone()?;
            }
        }
        if frame.is_multiple_of(pace.frames_per_description) {
            self.emit_description()?;
        }
        Ok(changed)
    }
}
