"""The ``emyzelium`` command (also ``python -m emyzelium``): the same subcommands, options,
defaults and output as the Rust ``emz`` (README, "Command line"), plus ``demo``, the Life
demo. ``emyzelium --help`` and ``emyzelium SUBCOMMAND --help`` give the usage."""

from __future__ import annotations

import argparse
import os
import queue
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from . import Efunguz, EmyzeliumError, keypair, libzmq_version, public_key, read_keys_file
from . import __version__ as VERSION

KEY_LEN = 40
SECRET_ENV = "EMZ_SECRET"
DEFAULT_PORT = 60847
CLOSED_PIPE = 141  # what a shell reports for a process killed by SIGPIPE, without the kill
STATE_POLL = 0.05  # s between looks at the connection states with --states

KEYS_NOTE = """Keys are 40-character Z85 strings: they contain $ ! * ? [ ] & < > and the like, so put
them in single quotes in a shell ('KEY'), never double quotes. Options also take the form
--name=value (which keeps a key beginning with - a value)."""

SECRET_NOTE = f"""SECRET-SOURCE: the own secret key comes from --secret-file PATH (one line with the key,
or keygen's output: its `secret:` line; # comments and blank lines are skipped; a warning
goes to stderr when others may read the file) or --secret S (avoid it: the command line is
readable by every user of the machine, /proc/PID/cmdline, ps), else ${SECRET_ENV}. Without
any of them the command refuses to run (exit 2): no key is made up."""

EXIT_NOTE = """exit status: 0 success, 1 listen timed out, 2 bad usage, a bad key or address, or any
other error (`emyzelium: <error>` on stderr), 141 stdout was closed (nothing more printed)."""

LISTEN_NOTE = """Prints one line per etale that got new data:
    etale <title> <t_out> <t_in> <n_parts> <part 1> <part 2> ...
Parts are lowercase hex, or text with --text; an empty part prints as `-`. The title is
always text (the empty title an empty field). Text is UTF-8 as it is, except `\\` as `\\\\`
and control characters, white space and bytes that are not UTF-8 as `\\xHH` per byte (a
part that is `-` as `\\x2d`). t_out and t_in are microseconds since the Unix epoch. On
exit, `stats received=R malformed=M unknown_title=U paused=P` (all peers together) goes to
stderr, then `state <S> <KEY>` for each peer."""

EMIT_NOTE = """Publishes an etale (a title and data parts) in rounds, answering CURVE handshakes between
them. Prints `ready <port>` on stdout once the publish socket is bound (and `onion <id>`
with --tor-control)."""


class UsageError(Exception):
    """Bad usage: exit 2 with the message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"emyzelium: {message}", file=sys.stderr)
        sys.exit(2)


def _note(s: str) -> None:
    """A line on stderr; a closed stderr is ignored."""
    try:
        print(s, file=sys.stderr, flush=True)
    except OSError:
        pass


def _out(s: str | bytes) -> None:
    """Writes to stdout and flushes, so each line leaves at once even into a pipe."""
    sys.stdout.flush()
    sys.stdout.buffer.write(s if isinstance(s, bytes) else s.encode())
    sys.stdout.buffer.flush()


# ---- values ---------------------------------------------------------------------------------


def _amount(s: str) -> float:
    """A non-negative number with fractions, below a billion (as `emz`)."""
    try:
        x = float(s)
    except ValueError:
        x = -1.0
    if not 0 <= x < 1e9:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number from 0 to 1e9")
    return x


def _whole(limit: int) -> Callable[[str], int]:
    def parse(s: str) -> int:
        if not s.isdigit() or int(s) > limit:
            raise argparse.ArgumentTypeError(f"{s!r} is not a valid number")
        return int(s)

    return parse


def _secs(x: float) -> str:
    """Seconds as `emz` prints them: 5, 0.1."""
    return str(int(x)) if x == int(x) else repr(x)


def _hex_part(s: str) -> bytes:
    if s == "-":
        return b""
    if len(s) % 2:
        raise UsageError(f"hex part {s!r} has an odd number of digits")
    if s.strip("0123456789abcdefABCDEF"):
        raise UsageError(f"hex part {s!r} has a non-hex digit")
    return bytes.fromhex(s)


def _hex(p: bytes) -> str:
    return p.hex() if p else "-"


# Unicode's White_Space characters, written out so that both command-line tools escape
# exactly the same ones (str.isspace is a slightly different set).
WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def _text(p: bytes, empty: str = "-") -> str:
    """UTF-8 as it is, except a backslash as `\\\\`, and control characters, white space and
    bytes that are not UTF-8 as `\\xHH` per byte; the empty part is `-`, a part `-` `\\x2d`."""
    if not p:
        return empty
    if p == b"-":
        return "\\x2d"
    out = []
    for c in p.decode("utf-8", "surrogateescape"):
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{o - 0xDC00:02x}")
        elif c == "\\":
            out.append("\\\\")
        elif o < 0x20 or 0x7F <= o <= 0x9F or c in WHITE_SPACE:
            out.append("".join(f"\\x{b:02x}" for b in c.encode()))
        else:
            out.append(c)
    return "".join(out)


def _peer(s: str) -> tuple[str, str]:
    # Z85 keys may contain "@" and ":": the key is the first 40 characters. The address is
    # parsed by the core (add_ehypha_at): an onion goes through Tor, any other host direct.
    if len(s) <= KEY_LEN or s[KEY_LEN] != "@":
        raise UsageError(f"--peer {s!r}: no 40-character key followed by @; expected KEY@HOST:PORT")
    return s[:KEY_LEN], s[KEY_LEN + 1 :]


def _host_port(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--tor-proxy {s!r}: expected HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


# ---- the own secret key ---------------------------------------------------------------------


def _secret_from_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            mode = os.fstat(f.fileno()).st_mode
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--secret-file {path}: {e}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _note(
            f"emyzelium: warning: the secret file {path} may be read by others (mode {stat.S_IMODE(mode):o}); "
            f"chmod 600 {path}"
        )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    # The output of keygen works as it is: take its `secret:` line.
    keyed = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("secret:")]
    if len(keyed) == 1:
        key = keyed[0]
    elif not keyed and len(lines) == 1:
        key = lines[0]
    else:
        raise UsageError(f"--secret-file {path}: expected one line, the secret key, or one `secret: KEY` line")
    if len(key) != KEY_LEN:
        raise UsageError(f"--secret-file {path}: the secret key must be {KEY_LEN} Z85 characters")
    return key


def _secret(a: argparse.Namespace) -> str:
    """The own secret key: --secret-file or --secret, else $EMZ_SECRET; nothing is an error,
    since a key made up here would be one nobody can whitelist."""
    if a.secret is not None and a.secret_file is not None:
        raise UsageError("--secret-file and --secret exclude each other")
    if a.secret_file is not None:
        return _secret_from_file(a.secret_file)
    if a.secret is not None:
        return str(a.secret)
    env = os.environ.get(SECRET_ENV, "").strip()
    if env:
        return env
    raise UsageError(f"the secret key is required: --secret-file PATH, or {SECRET_ENV} in the environment")


# ---- subcommands ----------------------------------------------------------------------------


def cmd_public(a: argparse.Namespace) -> int:
    if a.key is not None:
        if a.secret is not None or a.secret_file is not None:
            raise UsageError("public takes one secret key: the argument or a secret source, not both")
        secret = a.key
    else:
        secret = _secret(a)
    _out(public_key(secret) + "\n")
    return 0


def cmd_listen(a: argparse.Namespace) -> int:
    secret = _secret(a)
    peers = [_peer(p) for p in a.peer]
    tor = _host_port(a.tor_proxy) if a.tor_proxy else None
    fmt = _text if a.text else _hex
    printed = 0
    deadline = None if a.timeout is None else time.monotonic() + a.timeout
    # Its own publish socket serves nothing: nobody may subscribe to it.
    with Efunguz(secret, port=a.port, bind_host=a.bind, tor_proxy=tor, everyone=False) as ef:
        etales = {}
        for key, address in peers:
            eh = ef.add_ehypha_at(key, address)
            for t in a.title:
                etales[(key, t)] = eh.add_etale(t)
        last = {key: str(ef.get_ehypha(key).state) for key, _ in peers}
        if a.states:
            for key, s in last.items():
                _note(f"state {s} {key}")
        try:
            while a.count is None or printed < a.count:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    want = "" if a.count is None else f" of {a.count}"
                    _note(f"emyzelium: timeout: {printed}{want} etales received in {_secs(a.timeout)} s")
                    return 1
                if a.states:
                    left = STATE_POLL if left is None else min(left, STATE_POLL)
                changes = ef.wait(left)
                if a.states:
                    for key, _ in peers:
                        s = str(ef.get_ehypha(key).state)
                        if s != last[key]:
                            last[key] = s
                            _note(f"state {s} {key}")
                lines = []
                for key, title in changes:
                    if a.count is not None and printed >= a.count:
                        break
                    e = etales[(key, title)]
                    parts = e.parts
                    fields = ["etale", _text(title.encode(), ""), str(e.t_out), str(e.t_in), str(len(parts))]
                    lines.append(" ".join(fields + [fmt(p) for p in parts]) + "\n")
                    printed += 1
                # One write per update: a closed stdout ends the loop like any failed write.
                _out("".join(lines))
        finally:
            st = ef.stats
            _note(
                f"stats received={st.received} malformed={st.malformed} unknown_title={st.unknown_title} "
                f"paused={st.paused}"
            )
            for key, _ in peers:
                _note(f"state {ef.get_ehypha(key).state} {key}")
    return 0


def _stdin_lines() -> queue.Queue[bytes | None]:
    """Lines of stdin without their line end, read by a thread so that handshakes are
    answered while stdin is quiet; None at its end."""
    q: queue.Queue[bytes | None] = queue.Queue()

    def read() -> None:
        for line in sys.stdin.buffer:
            q.put(line[:-1] if line.endswith(b"\n") else line)
        q.put(None)

    for_lines = threading.Thread(target=read, daemon=True)
    for_lines.start()
    return q


def _sync_whitelist(ef: Efunguz, path: str, fixed: list[str]) -> None:
    """Makes the whitelist the keys of the file plus `fixed`: removed keys are cut off at
    the next update. A file that cannot be read leaves the whitelist as it is."""
    try:
        want = set(read_keys_file(path)) | set(fixed)
    except (EmyzeliumError, OSError) as e:
        _note(f"emyzelium: {e}")
        return
    for k in [k for k in ef.whitelist if k not in want]:
        ef.del_whitelist_key(k)
    new = want - set(ef.whitelist)
    if new:
        ef.add_whitelist_keys(sorted(new))


def cmd_emit(a: argparse.Namespace) -> int:
    secret = _secret(a)
    if a.hex and a.file:
        raise UsageError("--hex and --file exclude each other")
    if a.stdin and (a.file or a.count is not None or a.parts):
        raise UsageError("--stdin excludes --file, --count and PART arguments")
    if a.hex:
        parts = [_hex_part(p) for p in a.parts]
    elif a.file:
        parts = []
        for f in a.parts:
            try:
                with open(f, "rb") as fh:
                    parts.append(fh.read())
            except OSError as e:
                raise UsageError(f"{f}: {e.strerror}") from None
    else:
        parts = [p.encode("utf-8", "surrogateescape") for p in a.parts]
    whitelist = list(a.whitelist)
    if a.whitelist_file is not None:
        whitelist += read_keys_file(a.whitelist_file)
    fixed_given = bool(a.whitelist) or a.whitelist_file is not None
    if a.everyone and fixed_given:
        raise UsageError("--everyone and --whitelist exclude each other")
    if not a.everyone and not fixed_given:
        raise UsageError(
            "nobody could subscribe: give --whitelist KEY (repeatable) for the keys allowed, or --everyone"
        )
    if a.tor_control is None and (a.tor_cookie or a.tor_password or a.onion_key_file):
        raise UsageError("--tor-cookie, --tor-password and --onion-key-file need --tor-control")
    if a.tor_cookie and a.tor_password:
        raise UsageError("--tor-cookie and --tor-password exclude each other")
    with Efunguz(secret, whitelist, port=a.port, bind_host=a.bind, everyone=a.everyone) as ef:
        _out(f"ready {ef.port}\n")
        if a.tor_control:
            onion = ef.publish_onion(
                a.tor_control, cookie=a.tor_cookie, password=a.tor_password, key_file=a.onion_key_file
            )
            _out(f"onion {onion}\n")

        def serve_until(end: float) -> None:
            while (left := end - time.monotonic()) > 0:
                ef.wait(left)

        def rounds() -> Iterator[list[bytes]]:
            if not a.stdin:
                n = 0
                while a.count is None or n < a.count:
                    yield parts
                    n += 1
                return
            lines = _stdin_lines()
            while True:
                try:
                    line = lines.get_nowait()
                except queue.Empty:
                    ef.wait(0.02)
                    continue
                if line is None:
                    return
                if line.endswith(b"\r"):
                    line = line[:-1]
                yield [_hex_part(line.decode("utf-8", "replace")) if a.hex else line]

        counters: tuple[int, ...] = (0, 0, 0, 0, 0)
        every = a.every / 1000
        next_t = time.monotonic()
        for ps in rounds():
            for t in a.title:
                ef.emit_etale(t, ps)
            ef.update()
            if a.whitelist_file is not None:
                _sync_whitelist(ef, a.whitelist_file, a.whitelist)
            now = (ef.in_attempted, ef.in_permitted, ef.in_absorbing, ef.in_failed, ef.bad_subscriptions)
            if a.counters and now != counters:
                counters = now
                names = ("in_attempted", "in_permitted", "in_absorbing", "in_failed", "bad_subscriptions")
                _out("counters " + " ".join(f"{k}={v}" for k, v in zip(names, now, strict=True)) + "\n")
            # A late round does not make the next ones come in a burst.
            next_t = max(next_t + every, time.monotonic())
            if not a.stdin:
                serve_until(next_t)
        # After the last round (so that it leaves the socket), keep answering handshakes.
        if a.stdin:
            serve_until(time.monotonic() + every)
        serve_until(time.monotonic() + a.linger)
    return 0


# ---- the parser -----------------------------------------------------------------------------


def _secret_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--secret-file", metavar="PATH", default=None, help=f"file holding the own secret key; or set ${SECRET_ENV}"
    )
    p.add_argument(
        "--secret",
        metavar="S",
        default=None,
        help=f"the own secret key itself; avoid: other users see it in /proc (use --secret-file or ${SECRET_ENV})",
    )


def _parser() -> _Parser:
    raw = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog="emyzelium",
        description="emyzelium — authenticated, encrypted publish/subscribe over ZeroMQ CURVE\n\n" + KEYS_NOTE,
        epilog=SECRET_NOTE + "\n\n" + EXIT_NOTE + "\n\nThe Life demo: emyzelium demo --help",
        formatter_class=raw,
    )
    zmq = ".".join(map(str, libzmq_version()))
    p.add_argument("-V", "--version", action="version", version=f"emyzelium {VERSION} (libzmq {zmq})")
    sp = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    def sub(name: str, help: str, description: str, keys: bool = True) -> argparse.ArgumentParser:
        return sp.add_parser(
            name,
            help=help,
            description=description + ("\n\n" + KEYS_NOTE if keys else ""),
            epilog=(SECRET_NOTE + "\n\n" if keys else "") + EXIT_NOTE,
            formatter_class=raw,
        )

    sub("keygen", "print a new key pair", "Prints a new CURVE key pair: `public: <Z85>` and `secret: <Z85>`.", False)
    pk = sub("public", "print the public key of a secret key", "Prints the public key of the secret key.")
    pk.add_argument("key", nargs="?", metavar="SECRET", help="the secret key (else from a secret source)")
    _secret_options(pk)

    pe = sub("emit", "publish an etale in rounds", EMIT_NOTE)
    _secret_options(pe)
    pe.add_argument("--bind", metavar="HOST", default="*", help="interface to publish on (default *)")
    pe.add_argument(
        "--port", metavar="P", type=_whole(65535), default=DEFAULT_PORT, help="0 = any free port (default 60847)"
    )
    pe.add_argument(
        "--whitelist", metavar="KEY", action="append", default=[], help="key allowed to subscribe (repeatable)"
    )
    pe.add_argument(
        "--whitelist-file",
        metavar="F",
        default=None,
        help="keys allowed to subscribe, one a line (# comments), with those of --whitelist; re-read every round",
    )
    pe.add_argument(
        "--everyone",
        action="store_true",
        help="let every key subscribe; one of --whitelist, --whitelist-file and --everyone is required",
    )
    pe.add_argument("--title", metavar="T", action="append", required=True, help="title (required; repeatable)")
    pe.add_argument(
        "--every",
        metavar="MS",
        type=_amount,
        default=100.0,
        help="milliseconds between rounds and after the last (default 100)",
    )
    pe.add_argument("--count", metavar="N", type=_whole(2**64 - 1), default=None, help="rounds (default: until killed)")
    pe.add_argument(
        "--linger",
        metavar="SECS",
        type=_amount,
        default=0.0,
        help="keep serving SECS more after the last round (default 0)",
    )
    pe.add_argument("--hex", action="store_true", help="each PART (or --stdin line) is hex; `-` or empty = empty part")
    pe.add_argument("--file", action="store_true", help="each PART is the path of a file whose bytes are the part")
    pe.add_argument(
        "--stdin", action="store_true", help="each line of stdin is an etale of one part (no PART, no --count)"
    )
    pe.add_argument("--counters", action="store_true", help="print `counters NAME=N ...` after rounds that change them")
    pe.add_argument(
        "--tor-control",
        metavar="HOST:PORT",
        default=None,
        help="also publish behind a new onion service made through Tor's control port; prints `onion <id>`",
    )
    pe.add_argument("--tor-cookie", metavar="PATH", default=None, help="Tor's control cookie file (default: ask Tor)")
    pe.add_argument("--tor-password", metavar="P", default=None, help="Tor control password")
    pe.add_argument(
        "--onion-key-file", metavar="F", default=None, help="keep the onion's key in F: same address next time"
    )
    pe.add_argument("parts", nargs="*", metavar="PART", help="the data parts, UTF-8 unless --hex or --file")

    pl = sub("listen", "print etales of peers as they arrive", LISTEN_NOTE)
    _secret_options(pl)
    pl.add_argument("--peer", metavar="KEY@HOST:PORT", action="append", required=True, help="a publisher (repeatable)")
    pl.add_argument("--title", metavar="T", action="append", required=True, help="title, at every peer (repeatable)")
    pl.add_argument("--text", action="store_true", help="print parts as text instead of hex")
    pl.add_argument("--count", metavar="N", type=_whole(2**64 - 1), default=None, help="exit 0 after N lines")
    pl.add_argument("--timeout", metavar="SECS", type=_amount, default=None, help="exit 1 after SECS in all")
    pl.add_argument("--states", action="store_true", help="print `state <S> <KEY>` on stderr at each change")
    pl.add_argument("--tor-proxy", metavar="HOST:PORT", default=None, help="Tor's SOCKS proxy (default 127.0.0.1:9050)")
    pl.add_argument("--bind", metavar="HOST", default="127.0.0.1", help="interface of the own publish socket")
    pl.add_argument(
        "--port", metavar="P", type=_whole(65535), default=0, help="its port; 0 = any free port (default 0)"
    )
    sp.add_parser("demo", help="the Life demo (three realms trading zones)", add_help=False)
    return p


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of ``parser`` and its subcommands that take a value."""
    out: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _value_options(sub)
        elif action.option_strings and action.nargs != 0:
            out.update(action.option_strings)
    return out


def _glue(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """Z85 keys may begin with "-", which argparse takes for an option: glue each value
    to its option (``--secret=-abc...``), and protect the lone argument of ``public``. The
    options come from the parser itself, so a new option needs no second list."""
    argv = list(argv)
    if argv[:1] == ["public"] and len(argv) == 2 and (len(argv[1]) == KEY_LEN or not argv[1].startswith("-")):
        return ["public", "--", argv[1]]
    value_options = _value_options(parser)
    out: list[str] = []
    i = 0
    while i < len(argv):
        x = argv[i]
        if x == "--":
            out.extend(argv[i:])
            break
        if x in value_options and i + 1 < len(argv):
            out.append(f"{x}={argv[i + 1]}")
            i += 2
            continue
        out.append(x)
        i += 1
    return out


def _run(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        from . import life

        return life.main(argv[1:])
    p = _parser()
    a = p.parse_args(_glue(argv, p))
    try:
        if a.cmd == "keygen":
            pub, sec = keypair()
            _out(f"public: {pub}\nsecret: {sec}\n")
            return 0
        if a.cmd == "public":
            return cmd_public(a)
        if a.cmd == "listen":
            return cmd_listen(a)
        return cmd_emit(a)
    except (UsageError, EmyzeliumError) as e:
        _note(f"emyzelium: {e}")
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # stdout is closed (`emyzelium ... | head`): quietly, and with nothing left for the
        # interpreter to flush into the closed pipe at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return CLOSED_PIPE
    except KeyboardInterrupt:
        return 130
