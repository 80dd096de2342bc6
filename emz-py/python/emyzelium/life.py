"""Life: three realms play the Game of Life and trade zones over emyzelium.

The Python twin of the Rust demo (``cargo run --example life``), speaking the same etales
with the same well-known keys, so realms in Python, Rust and C play together:

* etale ``zone``: the right third of a realm's grid as three parts, height and width as
  u16 little-endian, then one byte per cell (row by row, non-zero = alive);
* etale ``""`` (the empty title): the realm's description, e.g. ``"Mary, B3/S23"``.

Realm i publishes on ``base_port + i`` (Alien 0, John 1, Mary 2) and subscribes to both
others. Importing a zone pastes it into the left third of your grid.

    emyzelium demo                                   # you play Alien; John, Mary run here
    emyzelium demo --realm mary --only               # Mary alone: the others run elsewhere
    emyzelium demo --headless 1000 --realms mary --base-port P
                                                     # no terminal; exit 0 once the listed
                                                     # realms exchanged zones with all three
    emyzelium demo --tor --realm john --onion-alien X --onion-mary Y

Keys: 1/2 import a peer's zone, A autoemit, E emit, P pause/resume receiving, arrows and
space draw, T run/stop, C clear, R random, V show/hide the peers, Q quit. The default grid
(16x48) needs a 52x23 terminal; ``--fit`` sizes the grid to the terminal, and a terminal too
small for the grid says so instead of showing part of it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import Efunguz, Etale

ZONE = "zone"
DESCRIPTION = ""
MAX_MESSAGE_BYTES = 16 << 20
MAX_SIDE = 65535


@dataclass(frozen=True)
class RealmSpec:
    name: str
    rules: str
    public_key: str
    secret_key: str

    @property
    def description(self) -> str:
        return f"{self.name}, {self.rules}"


# The same key pairs as emz-core/examples/life/realm.rs: public on purpose (a demo).
REALMS = (
    RealmSpec(
        "Alien", "B34/S34", "?B2UjRL{6*b:>By1j2tj!TE#46+W]>PPu%eEHjgr", "A$U:3wlY?z&-y!gS+b&wx-]:4Ul3x56dNg0e#}^u"
    ),
    RealmSpec("John", "B3/S23", "&0<jw*i-VF@HLP>-s9oDcpuK534Z8mD*6R?}k6w$", "Pj[kP[AX^2Bma-0g5.SO@5L3IWSwmaM)H{9=1}9l"),
    RealmSpec("Mary", "B3/S23", "<MBc4!&R3JXCGU+/->7!/nrAVM6GvIvafQphTP#]", "LiFWkj20^>l1Y#HrJ2/}bW8j0?nEgl19W+B?2jy@"),
)


def realm_index(name: str) -> int:
    for i, r in enumerate(REALMS):
        if r.name.lower() == name.lower():
            return i
    raise ValueError(f"no realm called {name!r} (alien, john, mary)")


def parse_rules(text: str) -> tuple[frozenset[int], frozenset[int]]:
    b, _, s = text.partition("/")
    if not (b.startswith("B") and s.startswith("S")):
        raise ValueError(f"rules {text!r} are not of the form B3/S23")
    return frozenset(int(c) for c in b[1:]), frozenset(int(c) for c in s[1:])


@dataclass
class Zone:
    height: int
    width: int
    cells: bytes

    def to_parts(self) -> list[bytes]:
        return [self.height.to_bytes(2, "little"), self.width.to_bytes(2, "little"), self.cells]

    @staticmethod
    def from_parts(parts: Sequence[bytes]) -> Zone:
        """Checks everything a peer could get wrong; raises ValueError."""
        if len(parts) != 3:
            raise ValueError(f"{len(parts)} parts instead of 3")
        h, w, cells = parts
        for which, p in (("height", h), ("width", w)):
            if len(p) != 2:
                raise ValueError(f"{which} is {len(p)} bytes instead of 2")
        height, width = int.from_bytes(h, "little"), int.from_bytes(w, "little")
        if height == 0 or width == 0:
            raise ValueError(f"empty zone {height}x{width}")
        if len(cells) != height * width:
            raise ValueError(f"{len(cells)} cells for a {height}x{width} zone")
        return Zone(height, width, bytes(1 if c else 0 for c in cells))


class Grid:
    """A toroidal grid, one byte a cell."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.cells = bytearray(height * width)

    @property
    def third(self) -> int:
        return self.width // 3

    def randomize(self, rng: random.Random) -> None:
        self.cells = bytearray(1 if rng.random() < 0.25 else 0 for _ in range(self.height * self.width))

    def population(self) -> int:
        return sum(self.cells)

    def step(self, rules: tuple[frozenset[int], frozenset[int]]) -> None:
        birth, survival = rules
        h, w, c = self.height, self.width, self.cells
        nxt = bytearray(h * w)
        for y in range(h):
            rows = ((y - 1) % h * w, y * w, (y + 1) % h * w)
            for x in range(w):
                xl, xr = (x - 1) % w, (x + 1) % w
                n = sum(c[r + xl] + c[r + x] + c[r + xr] for r in rows) - c[y * w + x]
                nxt[y * w + x] = 1 if n in (survival if c[y * w + x] else birth) else 0
        self.cells = nxt

    def export_zone(self) -> Zone:
        t, x0 = self.third, self.width - self.third
        cells = b"".join(bytes(self.cells[y * self.width + x0 : y * self.width + x0 + t]) for y in range(self.height))
        return Zone(self.height, t, cells)

    def import_zone(self, z: Zone) -> None:
        rows, cols = min(z.height, self.height), min(z.width, self.third)
        for y in range(rows):
            self.cells[y * self.width : y * self.width + cols] = z.cells[y * z.width : y * z.width + cols]


@dataclass
class Peer:
    index: int
    zone: Etale
    description: Etale
    imports: int = 0

    @property
    def spec(self) -> RealmSpec:
        return REALMS[self.index]

    def zone_status(self) -> Zone | str | None:
        """The latest zone, an error message, or None before the first."""
        if self.zone.t_in < 0:
            return None
        try:
            return Zone.from_parts(self.zone.parts)
        except ValueError as e:
            return str(e)

    def description_text(self) -> str | None:
        if self.description.t_in < 0:
            return None
        parts = self.description.parts
        if len(parts) != 1:
            return f"<{len(parts)} parts>"
        text = parts[0].decode("utf-8", "replace")[:40]
        return "".join("?" if not c.isprintable() else c for c in text)


@dataclass
class Realm:
    index: int
    ef: Efunguz
    grid: Grid
    rules: tuple[frozenset[int], frozenset[int]]
    peers: list[Peer] = field(default_factory=list)
    generation: int = 0
    running: bool = True
    autoemit: bool = True
    paused: bool = False
    rng: random.Random = field(default_factory=random.Random)

    @property
    def spec(self) -> RealmSpec:
        return REALMS[self.index]

    @staticmethod
    def new(
        index: int,
        height: int,
        width: int,
        base_port: int,
        bind: str = "127.0.0.1",
        onions: Sequence[str | None] | None = None,
        tor_proxy: tuple[str, int] | None = None,
    ) -> Realm:
        spec = REALMS[index]
        others = [i for i in range(len(REALMS)) if i != index]
        ef = Efunguz(
            spec.secret_key,
            [REALMS[i].public_key for i in others],
            port=base_port + index,
            bind_host=bind,
            tor_proxy=tor_proxy,
            max_message_size=MAX_MESSAGE_BYTES,
        )
        realm = Realm(index, ef, Grid(height, width), parse_rules(spec.rules))
        for i in others:
            host = "127.0.0.1"
            if onions is not None:
                onion = onions[i]
                if onion is None:
                    raise ValueError(f"no onion given for {REALMS[i].name}")
                host = onion if onion.lower().endswith(".onion") else f"{onion}.onion"
            eh = ef.add_ehypha_at(REALMS[i].public_key, f"{host}:{base_port + i}")
            realm.peers.append(Peer(i, eh.add_etale(ZONE), eh.add_etale(DESCRIPTION)))
        realm.grid.randomize(realm.rng)
        return realm

    def frame(self, n: int, frames_per_generation: int, frames_per_description: int) -> int:
        changed = len(self.ef.update())
        if n % frames_per_generation == 0:
            if self.running:
                self.grid.step(self.rules)
                self.generation += 1
            if self.autoemit:
                self.emit_zone()
        if n % frames_per_description == 0:
            self.ef.emit_etale(DESCRIPTION, [self.spec.description.encode()])
        return changed

    def emit_zone(self) -> None:
        self.ef.emit_etale(ZONE, self.grid.export_zone().to_parts())

    def import_zone(self, peer: int) -> str:
        if peer >= len(self.peers):
            return f"there is no realm #{peer + 1}"
        p = self.peers[peer]
        z = p.zone_status()
        if z is None:
            return f"no zone from {p.spec.name} yet"
        if isinstance(z, str):
            return f"zone from {p.spec.name} rejected: {z}"
        self.grid.import_zone(z)
        p.imports += 1
        return f"imported {z.height}x{z.width} zone from {p.spec.name}"

    def toggle_paused(self) -> None:
        for p in self.peers:
            eh = self.ef.get_ehypha(p.spec.public_key)
            eh.resume_etales() if self.paused else eh.pause_etales()
        self.paused = not self.paused

    def missing(self) -> list[str]:
        lacks = []
        for p in self.peers:
            z = p.zone_status()
            if z is None:
                lacks.append(f"{self.spec.name} has no zone from {p.spec.name}")
            elif isinstance(z, str):
                lacks.append(f"{self.spec.name} got a bad zone from {p.spec.name}: {z}")
            d = p.description_text()
            if d != p.spec.description:
                lacks.append(f"{self.spec.name} has no description from {p.spec.name} (got {d!r})")
        if all(p.imports == 0 for p in self.peers):
            lacks.append(f"{self.spec.name} imported no zone")
        return lacks

    def summary(self) -> str:
        peers = []
        for p in self.peers:
            z = p.zone_status()
            zs = "none" if z is None else (f"bad ({z})" if isinstance(z, str) else f"{z.height}x{z.width}")
            peers.append(
                f"{p.spec.name}: zone {zs} x{p.zone.received} description "
                f"{p.description_text() or ''!r} imported {p.imports}"
            )
        ef = self.ef
        return (
            f"{self.spec.name} ({self.spec.rules}, Python): generation {self.generation}, "
            f"in {ef.in_attempted}/{ef.in_permitted}/{ef.in_absorbing}; " + "; ".join(peers)
        )


# ---- headless ----------------------------------------------------------------------------


def headless(realms: list[Realm], max_frames: int, linger: float) -> int:
    """Runs until every realm here has a valid zone and the right description from both
    peers and imported a zone (exit 0), or ``max_frames`` pass (exit 1). Then keeps
    publishing for ``linger`` seconds, so realms in other processes finish too."""
    ok_frame = None
    for n in range(max_frames):
        for r in realms:
            r.frame(n, 1, 10)
            for i, p in enumerate(r.peers):
                if p.imports == 0 and isinstance(p.zone_status(), Zone):
                    r.import_zone(i)
        if all(not r.missing() for r in realms):
            ok_frame = n + 1
            break
        time.sleep(0.01)
    end = time.monotonic() + linger
    n = 0
    while time.monotonic() < end:
        for r in realms:
            r.frame(n, 1, 10)
        n += 1
        time.sleep(0.01)
    if ok_frame is not None:
        for r in realms:
            print(r.summary())
        names = ", ".join(r.spec.name for r in realms)
        print(f"life: {names} exchanged zones with both peers in {ok_frame} frames", flush=True)
        return 0
    for r in realms:
        print(r.summary(), file=sys.stderr)
    lacks = [m for r in realms for m in r.missing()]
    print(f"life: timeout after {max_frames} frames; missing: {'; '.join(lacks)}", file=sys.stderr)
    return 1


# ---- interactive (curses) ----------------------------------------------------------------


# Lines around the grid: status, counters, two peers (hidden by V), message, two of help;
# columns: the three thirds between four borders.
CHROME_LINES = 7
PEER_LINES = 2
CHROME_COLUMNS = 4


def terminal_size() -> tuple[int, int]:
    """Columns and rows of the terminal on stdout, for --fit (curses is not started yet)."""
    import shutil

    size = shutil.get_terminal_size()
    return size.columns, size.lines


def fit_grid(columns: int, lines: int) -> tuple[int, int]:
    """The largest grid (height, width) whose picture fits a terminal of this size."""
    return max(1, lines - CHROME_LINES), max(3, columns - CHROME_COLUMNS)


def play(realms: list[Realm], player: int) -> int:
    import curses

    def run(scr: curses.window) -> None:
        curses.curs_set(0)
        scr.nodelay(True)
        me = realms[player]
        cy = cx = 0
        message = "1/2 import the zone of another realm into your left third"
        show_peers = True
        n = 0
        next_t = time.monotonic()
        while True:
            key = scr.getch()
            while key != -1:
                ch = chr(key).lower() if 0 <= key < 256 else ""
                if ch == "q":
                    return
                if ch in ("1", "2"):
                    message = me.import_zone(int(ch) - 1)
                elif ch == "a":
                    me.autoemit = not me.autoemit
                elif ch == "e":
                    me.emit_zone()
                    message = "zone emitted"
                elif ch == "v":
                    show_peers = not show_peers
                    message = "peers shown" if show_peers else "peers hidden"
                elif ch == "p":
                    me.toggle_paused()
                elif ch == "t":
                    me.running = not me.running
                elif ch == "c":
                    me.grid.cells = bytearray(len(me.grid.cells))
                elif ch == "r":
                    me.grid.randomize(me.rng)
                elif ch == " ":
                    i = cy * me.grid.width + cx
                    me.grid.cells[i] ^= 1
                elif key == curses.KEY_UP:
                    cy = (cy - 1) % me.grid.height
                elif key == curses.KEY_DOWN:
                    cy = (cy + 1) % me.grid.height
                elif key == curses.KEY_LEFT:
                    cx = (cx - 1) % me.grid.width
                elif key == curses.KEY_RIGHT:
                    cx = (cx + 1) % me.grid.width
                key = scr.getch()
            for i, r in enumerate(realms):
                r.frame(n, 2, 20)
                if i != player and n % 2 == 0:
                    if r.grid.population() == 0 or r.rng.random() < 1 / 400:
                        r.grid.randomize(r.rng)
                    elif r.rng.random() < 1 / 50:
                        r.import_zone(r.rng.randrange(2))
            draw(scr, me, cy, cx, message, show_peers)
            n += 1
            next_t = max(next_t + 0.05, time.monotonic())
            time.sleep(max(0.0, next_t - time.monotonic()))

    curses.wrapper(run)
    return 0


def too_small(need: tuple[int, int], have: tuple[int, int]) -> str | None:
    """The message shown instead of a clipped picture, or None when the terminal fits."""
    if have[0] >= need[0] and have[1] >= need[1]:
        return None
    return f"terminal too small: need {need[0]}x{need[1]}, have {have[0]}x{have[1]} (try --fit)"


def draw(scr: object, me: Realm, cy: int, cx: int, message: str, show_peers: bool = True) -> None:
    import curses
    import textwrap

    assert isinstance(scr, curses.window)
    scr.erase()
    g = me.grid
    maxy, maxx = scr.getmaxyx()
    need = (g.width + CHROME_COLUMNS, g.height + CHROME_LINES - (0 if show_peers else PEER_LINES))
    small = too_small(need, (maxx, maxy))
    if small is not None:
        # A clipped grid would hide cells without a word: say so instead.
        for y, line in enumerate((textwrap.wrap(small, max(1, maxx)) + ["Q quits"])[:maxy]):
            try:
                scr.addstr(y, 0, line[:maxx])
            except curses.error:  # the bottom-right cell: written, then the cursor has nowhere to go
                pass
        scr.refresh()
        return
    flags = (
        f"{'running' if me.running else 'stopped'}{', autoemit' if me.autoemit else ''}"
        f"{', receiving paused' if me.paused else ''}"
    )
    lines = [f"{me.spec.name} ({me.spec.rules})  gen {me.generation}  pop {g.population()}  [{flags}]"]
    for y in range(g.height):
        row = "".join("#" if g.cells[y * g.width + x] else "." for x in range(g.width))
        lines.append(
            "|" + row[: g.third] + "|" + row[g.third : g.width - g.third] + "|" + row[g.width - g.third :] + "|"
        )
    ef = me.ef
    lines.append(f"in: attempted {ef.in_attempted} permitted {ef.in_permitted} absorbing {ef.in_absorbing}")
    for i, p in enumerate(me.peers if show_peers else []):
        z = p.zone_status()
        zs = "no zone yet" if z is None else (f"bad zone: {z}" if isinstance(z, str) else f"zone {z.height}x{z.width}")
        age = f", {(time.time_ns() // 1000 - p.zone.t_in) / 1e6:.1f} s ago" if p.zone.t_in >= 0 else ""
        lines.append(f"{i + 1}: {p.description_text() or p.spec.name}: {zs}{age}, imported {p.imports}")
    lines.append(message)
    lines.append(f"1,2 import  A autoemit  E emit  P pause  V peers: {'shown' if show_peers else 'hidden'}  Q quit")
    lines.append("arrows+space draw  T run/stop  C clear  R random")
    for y, line in enumerate(lines[:maxy]):
        try:
            scr.addstr(y, 0, line[:maxx])
        except curses.error:  # the bottom-right cell: written, then the cursor has nowhere to go
            pass
    scr.chgat(1 + cy, 1 + cx + (cx >= g.third) + (cx >= g.width - g.third), 1, curses.A_REVERSE)
    scr.refresh()


# ---- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="emyzelium demo", description="Life: three realms trading zones over emyzelium")
    p.add_argument("--realm", default="alien", help="the realm you play: alien, john or mary (default alien)")
    p.add_argument("--only", action="store_true", help="run only your realm (the others run elsewhere)")
    p.add_argument("--headless", type=int, metavar="FRAMES", help="no terminal: check the exchange, exit 0/1")
    p.add_argument("--realms", help="with --headless: the realms to run here, e.g. mary or john,mary (default all)")
    p.add_argument(
        "--linger", type=float, default=2.0, help="with --headless: seconds to keep publishing after success"
    )
    p.add_argument("--base-port", type=int, default=60847)
    p.add_argument("--height", type=int, default=16)
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--fit", action="store_true", help="size the grid to the terminal (not with --headless)")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--tor", action="store_true", help="your realm alone, the others behind onions (Tor)")
    p.add_argument("--tor-proxy", default="127.0.0.1:9050")
    for r in REALMS:
        p.add_argument(f"--onion-{r.name.lower()}", default=None, metavar="ONION")
    a = p.parse_args(argv)
    try:
        player = realm_index(a.realm)
        if a.fit:
            if a.headless is not None:
                raise ValueError("--fit is for the terminal; --headless has none")
            a.height, a.width = fit_grid(*terminal_size())
        if not (1 <= a.height <= MAX_SIDE and 3 <= a.width <= MAX_SIDE):
            raise ValueError(f"grid {a.height}x{a.width} must be at least 1x3 and at most {MAX_SIDE} a side")
        if not 0 < a.base_port <= 65535 - 2:
            raise ValueError(f"--base-port {a.base_port} leaves no room for three realms")
        if a.headless is not None:
            names = a.realms.split(",") if a.realms else [r.name for r in REALMS]
            indices = [realm_index(n.strip()) for n in names]
            realms = [Realm.new(i, a.height, a.width, a.base_port, a.bind) for i in indices]
            return headless(realms, a.headless, a.linger)
        if a.tor:
            host, _, port = a.tor_proxy.rpartition(":")
            onions = [getattr(a, f"onion_{r.name.lower()}") for r in REALMS]
            realms = [Realm.new(player, a.height, a.width, a.base_port, a.bind, onions, (host, int(port)))]
            return play(realms, 0)
        indices = [player] if a.only else list(range(len(REALMS)))
        realms = [Realm.new(i, a.height, a.width, a.base_port, a.bind) for i in indices]
        return play(realms, indices.index(player))
    except (ValueError, OSError) as e:
        print(f"life: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
