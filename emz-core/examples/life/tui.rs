//! The terminal face of a realm: raw mode and alternate screen behind a guard, keys to
//! actions, and the drawing of grid and status.

use super::realm::{PeerStatus, Realm, ZoneStatus};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::style::{Attribute, Color, Print, SetAttribute, SetForegroundColor};
use crossterm::terminal::{self, ClearType};
use crossterm::{cursor, execute, queue};
use emyzelium::Counters;
use std::io::{self, Write};
use std::sync::Once;

/// Lines around the grid: two of status, two borders, two peers, message, two of help.
pub const CHROME_LINES: usize = 9;

/// The peers' lines among `CHROME_LINES`, which `V` hides.
const PEER_LINES: usize = 2;

/// Raw mode and the alternate screen for as long as it lives. The terminal is given
/// back on drop and also on panic, before the panic message prints, so the message is
/// readable and the shell usable.
pub struct TerminalGuard(());

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_terminal();
                previous(info);
            }));
        });
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard(());
        execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide, terminal::Clear(ClearType::All))?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Safe to call more than once (from the panic hook, then from the guard's drop).
fn restore_terminal() {
    let _ = execute!(io::stdout(), cursor::Show, terminal::LeaveAlternateScreen);
    let _ = terminal::disable_raw_mode();
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Import(usize),
    ToggleAutoemit,
    EmitOnce,
    TogglePauseEtales,
    Move(isize, isize),
    ToggleCell,
    ToggleRunning,
    Clear,
    Randomize,
    TogglePeers,
    Quit,
}

pub fn action_of(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Raw mode turns Ctrl-C into a key; it must still mean quit, not clear.
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c' | 'C')).then_some(Action::Quit);
    }
    Some(match key.code {
        KeyCode::Char(c @ '1'..='9') => Action::Import(c as usize - '1' as usize),
        KeyCode::Up => Action::Move(-1, 0),
        KeyCode::Down => Action::Move(1, 0),
        KeyCode::Left => Action::Move(0, -1),
        KeyCode::Right => Action::Move(0, 1),
        KeyCode::Char(' ') => Action::ToggleCell,
        KeyCode::Esc => Action::Quit,
        KeyCode::Char(c) => match c.to_ascii_lowercase() {
            'a' => Action::ToggleAutoemit,
            'e' => Action::EmitOnce,
            'p' => Action::TogglePauseEtales,
            't' => Action::ToggleRunning,
            'c' => Action::Clear,
            'r' => Action::Randomize,
            'v' => Action::TogglePeers,
            'q' => Action::Quit,
            _ => return None,
        },
        _ => return None,
    })
}

/// What the player sees besides the realm itself.
pub struct Ui {
    pub cursor_y: usize,
    pub cursor_x: usize,
    pub show_peers: bool,
    pub message: String,
    pub quit: bool,
    /// Through Tor: `REALM public_key onion port`, what the others need to reach us.
    pub share: Option<String>,
}

impl Ui {
    pub fn new(realm: &Realm) -> Ui {
        Ui {
            cursor_y: realm.grid.height() / 2,
            cursor_x: realm.grid.width() / 2,
            show_peers: true,
            message: "1/2 import the zone of another realm into your left third".into(),
            quit: false,
            share: None,
        }
    }

    pub fn apply(&mut self, realm: &mut Realm, action: Action) {
        let (h, w) = (realm.grid.height(), realm.grid.width());
        match action {
            Action::Import(peer) => self.message = realm.import(peer).unwrap_or_else(|e| e),
            Action::ToggleAutoemit => {
                realm.autoemit = !realm.autoemit;
                self.message = format!("autoemit {}", on_off(realm.autoemit));
            }
            Action::EmitOnce => {
                self.message = match realm.emit_zone() {
                    Ok(()) => "zone emitted".into(),
                    Err(e) => format!("emit failed: {e}"),
                }
            }
            Action::TogglePauseEtales => {
                self.message = match realm.toggle_etales_paused() {
                    Ok(()) if realm.etales_paused => "etales paused: nothing more comes in".into(),
                    Ok(()) => "etales resumed".into(),
                    Err(e) => format!("pause/resume failed: {e}"),
                }
            }
            Action::Move(dy, dx) => {
                // Wrap like the grid does.
                self.cursor_y = (self.cursor_y as isize + dy).rem_euclid(h as isize) as usize;
                self.cursor_x = (self.cursor_x as isize + dx).rem_euclid(w as isize) as usize;
            }
            Action::ToggleCell => realm.grid.toggle(self.cursor_y, self.cursor_x),
            Action::ToggleRunning => {
                realm.running = !realm.running;
                self.message = if realm.running { "running" } else { "stopped" }.into();
            }
            Action::Clear => realm.grid.clear(),
            Action::Randomize => realm.randomize(),
            Action::TogglePeers => {
                self.show_peers = !self.show_peers;
                self.message = if self.show_peers { "peers shown" } else { "peers hidden" }.into();
            }
            Action::Quit => self.quit = true,
        }
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// Draws everything. `peer_counters` are the peers' own counters when they run in this
/// process (none through Tor: they are not ours to see).
pub fn draw(out: &mut impl Write, realm: &Realm, ui: &Ui, peer_counters: &[Option<Counters>]) -> io::Result<()> {
    let (cols, rows) = terminal::size()?;
    let (cols, rows) = (usize::from(cols), usize::from(rows));
    let mut lines = Lines { out, row: 0, rows, cols };
    let (need_cols, need_rows) = needed_size(realm, ui);
    if cols < need_cols || rows < need_rows {
        // A clipped grid would hide cells and borders without a word: say so instead.
        let text = format!("terminal too small: need {need_cols}x{need_rows}, have {cols}x{rows} (try --fit)");
        for line in wrap(&text, cols).iter().chain(wrap("Q quits", cols).iter()) {
            lines.text(line)?;
        }
        queue!(lines.out, terminal::Clear(ClearType::FromCursorDown))?;
        return lines.out.flush();
    }
    let spec = realm.spec();
    let c = realm.counters();
    let status = format!(
        "{} ({})  generation {}  population {}  {}  autoemit {}  etales {}",
        spec.name,
        spec.rules,
        realm.generation,
        realm.grid.population(),
        if realm.running { "running" } else { "stopped" },
        on_off(realm.autoemit),
        if realm.etales_paused { "paused" } else { "live" },
    );
    if let Some(share) = &ui.share {
        // The triple takes the whole second line; the counters move up.
        lines.text(&format!("{status}  in {}/{}/{}", c.in_attempted, c.in_permitted, c.in_absorbing))?;
        lines.text(&format!("share: {share}"))?;
    } else {
        lines.text(&status)?;
        lines.text(&format!(
            "key {}  port {}  in: attempted/permitted/absorbing {}/{}/{}",
            realm.ef.public_key(),
            realm.ef.port(),
            c.in_attempted,
            c.in_permitted,
            c.in_absorbing
        ))?;
    }
    draw_grid(&mut lines, realm, ui)?;
    if ui.show_peers {
        for (i, counters) in peer_counters.iter().enumerate().take(realm.peers.len()) {
            lines.text(&peer_line(i, &realm.peer_status(i), realm.peers[i].imports, *counters))?;
        }
    }
    lines.text(&ui.message)?;
    let peers = if ui.show_peers { "shown" } else { "hidden" };
    lines.text(&format!("1,2 import zone  A autoemit  E emit once  P pause  V peers: {peers}  Q quit"))?;
    lines.text("arrows move  space toggle cell  T run/stop  C clear  R randomize")?;
    queue!(lines.out, terminal::Clear(ClearType::FromCursorDown))?;
    lines.out.flush()
}

/// Columns and rows the whole picture takes: the grid in its frame and the lines around it
/// (fewer while `V` hides the peers).
pub fn needed_size(realm: &Realm, ui: &Ui) -> (usize, usize) {
    let chrome = if ui.show_peers { CHROME_LINES } else { CHROME_LINES - PEER_LINES };
    (realm.grid.width() + 2, realm.grid.height() + chrome)
}

/// `text` cut into lines of at most `cols` characters, between words where it can.
fn wrap(text: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut out: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let last = out.last_mut().expect("never empty");
        let len = last.chars().count();
        if len > 0 && len + 1 + word.chars().count() > cols {
            out.push(String::new());
        } else if len > 0 {
            last.push(' ');
        }
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > cols {
            let rest = word.split_off(cols);
            out.last_mut().expect("never empty").extend(word);
            out.push(String::new());
            word = rest;
        }
        out.last_mut().expect("never empty").extend(word);
    }
    out
}

fn peer_line(i: usize, s: &PeerStatus, imports: u64, counters: Option<Counters>) -> String {
    let zone = match &s.zone {
        ZoneStatus::NotYet => "zone: not yet".to_string(),
        ZoneStatus::Valid(z) => format!("zone: {}x{}", z.height, z.width),
        ZoneStatus::Malformed(e) => format!("zone: BAD ({e})"),
    };
    let age = s.zone_age_us.map_or(String::new(), |us| format!(" {:.1} s old", us as f64 / 1e6));
    let theirs =
        counters.map_or(String::new(), |c| format!("  in: {}/{}/{}", c.in_attempted, c.in_permitted, c.in_absorbing));
    format!(
        "[{}] {:<5} {:<18} {:<16} {zone}{age} (#{}{}) imported {imports}{theirs}",
        i + 1,
        s.name,
        s.link(),
        s.description.as_deref().unwrap_or("-"),
        s.zones_received,
        if s.paused { ", paused" } else { "" },
    )
}

/// The grid in a frame whose borders mark the import (left) and export (right) thirds;
/// their cells are coloured too.
fn draw_grid(lines: &mut Lines<impl Write>, realm: &Realm, ui: &Ui) -> io::Result<()> {
    let g = &realm.grid;
    let third = g.third();
    let visible = g.width().min(lines.cols.saturating_sub(2));
    let border = |left: &str, right: &str| {
        let mut s = String::from("+");
        for x in 0..visible {
            s.push(if x == third || x == g.width() - third { '+' } else { '-' });
        }
        s.push('+');
        // Labels go over the dashes, clipped with the grid.
        for (at, label) in [(1, left), (g.width() - third + 1, right)] {
            if at + label.len() < s.len() {
                s.replace_range(at..at + label.len(), label);
            }
        }
        s
    };
    lines.text(&border("import", "export"))?;
    for y in 0..g.height() {
        if lines.row >= lines.rows {
            break;
        }
        queue!(lines.out, cursor::MoveTo(0, lines.row as u16), Print('|'))?;
        for x in 0..visible {
            let colour = if x < third {
                Color::Cyan
            } else if x >= g.width() - third {
                Color::Yellow
            } else {
                Color::Green
            };
            let glyph = if g.alive(y, x) { '#' } else { ' ' };
            let under_cursor = (y, x) == (ui.cursor_y, ui.cursor_x);
            if under_cursor {
                queue!(lines.out, SetAttribute(Attribute::Reverse))?;
            }
            queue!(lines.out, SetForegroundColor(colour), Print(glyph), SetAttribute(Attribute::Reset))?;
        }
        queue!(lines.out, Print('|'), terminal::Clear(ClearType::UntilNewLine))?;
        lines.row += 1;
    }
    lines.text(&border("", ""))
}

/// Writes whole lines from the top, clipped to the terminal.
struct Lines<'a, W: Write> {
    out: &'a mut W,
    row: usize,
    rows: usize,
    cols: usize,
}

impl<W: Write> Lines<'_, W> {
    fn text(&mut self, s: &str) -> io::Result<()> {
        if self.row >= self.rows {
            return Ok(());
        }
        let clipped: String = s.chars().take(self.cols).collect();
        queue!(self.out, cursor::MoveTo(0, self.row as u16), Print(clipped), terminal::Clear(ClearType::UntilNewLine))?;
        self.row += 1;
        Ok(())
    }
}
