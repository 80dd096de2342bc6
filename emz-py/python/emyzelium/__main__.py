"""The ``emyzelium`` command (also ``python -m emyzelium``).

    emyzelium keygen
    emyzelium public SECRET
    emyzelium listen --peer KEY@HOST:PORT --title T [--title T2]... [SECRET]
                     [--count N] [--timeout SECS] [--text] [--tor-proxy HOST:PORT]
    emyzelium emit --title T [--title T2]... [SECRET] [--port P] [--bind HOST]
                   (--whitelist KEY... | --everyone) [--every MS] [--count N] [--linger SECS]
                   [--hex] [--stdin] [--tor-control HOST:PORT [--tor-cookie F]
                   [--tor-password PW] [--onion-key-file F]] [PART]...
    emyzelium demo [LIFE OPTIONS]          (the Life demo; `emyzelium demo --help`)

``listen`` prints one line per etale that got new data, in the format of the Rust
``emz listen``: ``etale <title> <t_out> <t_in> <n_parts> <hex part>...`` (an empty
part as ``-``; with ``--text`` parts are printed as escaped UTF-8 instead of hex). A peer
whose host ends in ``.onion`` is reached through Tor.

SECRET, the own secret key, comes from ``--secret-file PATH`` (the key alone, or the
``secret: KEY`` line of ``emyzelium keygen``; blank lines and ``#`` comments are skipped;
a file others may read draws a warning),
or from ``--secret S`` (which any local user can read in /proc while the command runs:
prefer the file or the environment), else from the environment variable ``EMZ_SECRET``,
else a new key is made.

``emit`` lets subscribe only the ``--whitelist`` keys, or everyone with ``--everyone``;
one of them is required (as for the Rust ``emz emit``): it refuses to start a publisher
nobody may read.
``emit`` prints ``ready <port>`` once bound. Its parts come from the arguments (UTF-8, or
hex with ``--hex``) and are emitted once, or every ``--every`` milliseconds (``--count``
times, or until interrupted). With ``--stdin`` each line of standard input is emitted as
an etale of one part. After the last emission it keeps serving subscribers for
``--linger`` seconds (late subscribers still get the latest etale of each title).
With ``--tor-control`` it also publishes behind a new onion service made through Tor's
control port and prints ``onion <id>`` after ``ready``.

Exit status: 0 success, 1 ``listen`` timed out, 2 bad usage or any other error.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from collections.abc import Sequence

from . import Efunguz, EmyzeliumError, keypair, public_key

KEY_LEN = 40


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
    to its option (``--secret=-abc...``), and protect the argument of ``public``. The
    options come from the parser itself, so a new option needs no second list."""
    argv = list(argv)
    if argv[:1] == ["public"] and len(argv) == 2:
        return ["public", "--", argv[1]]
    value_options = _value_options(parser)
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            out.extend(argv[i:])
            break
        if a in value_options and i + 1 < len(argv):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"emyzelium: {message}", file=sys.stderr)
        sys.exit(2)


def _hex(p: bytes) -> str:
    return p.hex() if p else "-"


def _text(p: bytes) -> str:
    if not p:
        return "-"
    s = p.decode("utf-8", "backslashreplace")
    return s.encode("unicode_escape").decode("ascii").replace(" ", "\\x20")


def _usage(msg: str) -> SystemExit:
    print(f"emyzelium: {msg}", file=sys.stderr)
    return SystemExit(2)


def _peer(s: str) -> tuple[str, str]:
    # Z85 keys may contain "@" and ":": the key is the first 40 characters. The address is
    # parsed by the core (add_ehypha_at): an onion goes through Tor, any other host direct.
    if len(s) <= KEY_LEN or s[KEY_LEN] != "@":
        raise _usage(f"--peer {s!r}: expected KEY@HOST:PORT")
    return s[:KEY_LEN], s[KEY_LEN + 1 :]


def _host_port(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise _usage(f"{s!r}: expected HOST:PORT")
    return host, int(port)


SECRET_ENV = "EMZ_SECRET"


def _secret_from_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            mode = os.fstat(f.fileno()).st_mode
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise _usage(f"--secret-file {path}: {e}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(
            f"emyzelium: warning: the secret file {path} may be read by others (mode {stat.S_IMODE(mode):o}); "
            f"chmod 600 {path}",
            file=sys.stderr,
        )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    # The output of `emyzelium keygen` works as it is: take its `secret:` line.
    keyed = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("secret:")]
    if len(keyed) == 1:
        return keyed[0]
    if len(lines) != 1:
        raise _usage(f"--secret-file {path}: expected one line, the secret key")
    return lines[0]


def _secret(a: argparse.Namespace) -> str:
    """The own secret key: --secret-file or --secret, else $EMZ_SECRET, else a new one."""
    if a.secret is not None and a.secret_file is not None:
        raise _usage("give --secret or --secret-file, not both")
    if a.secret_file is not None:
        return _secret_from_file(a.secret_file)
    env = os.environ.get(SECRET_ENV)
    if env and a.secret is None:
        return env.strip()
    return a.secret or keypair()[1]


def cmd_listen(a: argparse.Namespace) -> int:
    secret = _secret(a)
    peers = [_peer(p) for p in a.peer]
    tor = _host_port(a.tor_proxy) if a.tor_proxy else None
    fmt = _text if a.text else _hex
    printed = 0
    deadline = None if a.timeout is None else time.monotonic() + a.timeout
    # Its own publish socket serves nothing: nobody may subscribe to it.
    with Efunguz(secret, port=0, bind_host="127.0.0.1", tor_proxy=tor, everyone=False) as ef:
        etales = {}
        for key, address in peers:
            eh = ef.add_ehypha_at(key, address)
            for t in a.title:
                etales[(key, t)] = eh.add_etale(t)
        try:
            while a.count is None or printed < a.count:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    want = "" if a.count is None else f" of {a.count}"
                    print(f"emyzelium: timeout: {printed}{want} etales received in {a.timeout} s", file=sys.stderr)
                    return 1
                for key, title in ef.wait(left):
                    e = etales[(key, title)]
                    parts = e.parts
                    fields = ["etale", title, str(e.t_out), str(e.t_in), str(len(parts))]
                    fields += [fmt(p) for p in parts]
                    sys.stdout.write(" ".join(fields) + "\n")
                    printed += 1
                    if a.count is not None and printed >= a.count:
                        break
                sys.stdout.flush()
        finally:
            s = ef.stats
            print(
                f"stats received={s.received} malformed={s.malformed} unknown_title={s.unknown_title} "
                f"paused={s.paused}",
                file=sys.stderr,
            )
    return 0


def cmd_emit(a: argparse.Namespace) -> int:
    secret = _secret(a)
    if a.everyone and a.whitelist:
        raise _usage("give --whitelist or --everyone, not both")
    if not a.everyone and not a.whitelist:
        # As the Rust `emz emit`: a publisher nobody may read is a mistake, not a default.
        raise _usage("nobody could subscribe: give --whitelist KEY (repeatable) for the keys allowed, or --everyone")
    parts = [bytes.fromhex("" if p == "-" else p) if a.hex else p.encode() for p in a.parts]
    with Efunguz(secret, a.whitelist, port=a.port, bind_host=a.bind, everyone=a.everyone) as ef:
        print(f"ready {ef.port}", flush=True)
        if a.tor_control:
            onion = ef.publish_onion(
                a.tor_control, cookie=a.tor_cookie, password=a.tor_password, key_file=a.onion_key_file
            )
            print(f"onion {onion}", flush=True)

        def serve(seconds: float) -> None:
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                ef.wait(min(left, 0.05))

        def emit(ps: list[bytes]) -> None:
            for t in a.title:
                ef.emit_etale(t, ps)
            ef.update()

        if a.stdin:
            for line in sys.stdin.buffer:
                line = line.rstrip(b"\r\n")
                emit([bytes.fromhex(line.decode()) if a.hex else line])
        elif a.every is None:
            emit(parts)
        else:
            rounds = 0
            next_t = time.monotonic()
            while a.count is None or rounds < a.count:
                emit(parts)
                rounds += 1
                next_t += a.every / 1000
                serve(max(0.0, next_t - time.monotonic()))
        serve(a.linger)
    return 0


def _secret_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--secret-file",
        metavar="PATH",
        default=None,
        help=f"read the own secret key from PATH (mode 600); or set ${SECRET_ENV}",
    )
    p.add_argument(
        "--secret",
        default=None,
        help=f"own secret key; avoid: other local users see it in /proc (use --secret-file or ${SECRET_ENV}); "
        "default: a new key",
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = _Parser(
        prog="emyzelium",
        description="emyzelium: encrypted publish/subscribe (CURVE, Tor)",
        epilog="The Life demo: emyzelium demo --help",
    )
    sp = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    sp.add_parser("keygen", help="print a new key pair")
    pk = sp.add_parser("public", help="print the public key of a secret key")
    pk.add_argument("secret")

    pl = sp.add_parser("listen", help="print etales of peers as they arrive")
    _secret_options(pl)
    pl.add_argument("--peer", action="append", required=True, help="KEY@HOST:PORT (repeatable)")
    pl.add_argument("--title", action="append", required=True, help="title (repeatable)")
    pl.add_argument("--count", type=int, default=None, help="exit 0 after N lines")
    pl.add_argument("--timeout", type=float, default=None, help="exit 1 after SECS")
    pl.add_argument("--text", action="store_true", help="print parts as escaped UTF-8, not hex")
    pl.add_argument("--tor-proxy", default=None, help="HOST:PORT of Tor's SOCKS port (default 127.0.0.1:9050)")

    pe = sp.add_parser("emit", help="publish an etale")
    _secret_options(pe)
    pe.add_argument("--port", type=int, default=60847, help="0 = any free port (default 60847)")
    pe.add_argument("--bind", default="*", help="interface to publish on (default *)")
    pe.add_argument("--whitelist", action="append", default=[], help="key allowed to subscribe (repeatable)")
    pe.add_argument(
        "--everyone", action="store_true", help="let every key subscribe; one of --whitelist and --everyone is required"
    )
    pe.add_argument("--title", action="append", required=True, help="title (repeatable)")
    pe.add_argument("--every", type=float, default=None, help="emit every MS milliseconds")
    pe.add_argument("--count", type=int, default=None, help="rounds with --every (default: until interrupted)")
    pe.add_argument("--linger", type=float, default=1.0, help="seconds to keep serving at the end (default 1)")
    pe.add_argument("--hex", action="store_true", help="parts are hex (`-` = empty part)")
    pe.add_argument("--stdin", action="store_true", help="emit each line of standard input as one part")
    pe.add_argument(
        "--tor-control",
        default=None,
        help="HOST:PORT of Tor's control port: publish behind a new onion service, print `onion <id>`",
    )
    pe.add_argument("--tor-cookie", default=None, help="Tor's control cookie file (default: ask Tor)")
    pe.add_argument("--tor-password", default=None, help="Tor control password")
    pe.add_argument("--onion-key-file", default=None, help="keep the onion's key here: same address next time")
    pe.add_argument("parts", nargs="*")

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        from . import life

        return life.main(argv[1:])
    sp.add_parser("demo", help="the Life demo (three realms trading zones)", add_help=False)

    a = p.parse_args(_glue(argv, p))
    try:
        if a.cmd == "keygen":
            pub, sec = keypair()
            print(f"public: {pub}\nsecret: {sec}")
            return 0
        if a.cmd == "public":
            print(public_key(a.secret))
            return 0
        if a.cmd == "listen":
            return cmd_listen(a)
        if a.cmd == "emit":
            return cmd_emit(a)
    except EmyzeliumError as e:
        print(f"emyzelium: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
