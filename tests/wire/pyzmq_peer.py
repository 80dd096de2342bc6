#!/usr/bin/env python3
"""An emyzelium peer written directly on pyzmq, independent of the emyzelium library.

It speaks the emyzelium wire protocol from its description alone, so that tests can
check that the Rust library (through the `emz` CLI) interoperates with a third party:

* publisher: PUB socket, CURVE server, ZAP domain "emyz", with a ZAP handler (RFC 27)
  on inproc://zeromq.zap.01, bound before the PUB socket, that admits CURVE clients
  (only whitelisted ones when a whitelist is given) with user-id = their Z85 key;
* subscriber: SUB socket, CURVE client of the publisher's key, subscribed to
  title + b"\\0";
* message: multipart [title.encode() + b"\\0", struct.pack("<q", t_out_us), part, ...].

Usage (mirrors `emz emit` and `emz listen`, same output format):

  pyzmq_peer.py pub --secret S [--bind HOST] [--port P] [--whitelist KEY... | --everyone]
                    --title T [--title T2]... [--every MS] [--count N]
                    [--hex | --file] [--t-out US] [PART]...
      Prints "ready <port>" once bound. Each round emits the parts under every title,
      in order, stamped with the current time (or with --t-out US).

  pyzmq_peer.py sub --secret S --peer KEY@HOST:PORT --title T [--title T2]...
                    [--count N] [--timeout SECS]
      Prints "etale <title> <t_out> <t_in> <n_parts> <hex part>..." for every message
      received (an empty part as "-"), whatever its title, so that a message the
      publisher should not have sent shows up. Exit 0 after N lines, 1 on timeout.

  pyzmq_peer.py keygen            -> "public: <z85>" / "secret: <z85>"
  pyzmq_peer.py public SECRET     -> the public key

Exit status 2 with "pyzmq_peer: <error>" on stderr for bad usage.
"""

import argparse
import struct
import sys
import time

import zmq
import zmq.utils.z85

assert zmq.has("curve"), "this pyzmq's libzmq has no CURVE support"

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"emyz"
KEY_LEN = 40


def now_us():
    return time.time_ns() // 1000


def z85_key(s):
    b = s.encode("ascii")
    if len(b) != KEY_LEN:
        raise SystemExit(f"pyzmq_peer: key {s[:8]!r}... must be {KEY_LEN} Z85 characters")
    try:
        zmq.utils.z85.decode(b)
    except Exception as e:  # noqa: BLE001
        raise SystemExit(f"pyzmq_peer: bad key: {e}") from None
    return b


def hex_part(p):
    return p.hex() if p else "-"


def print_line(title, t_out, t_in, parts):
    fields = ["etale", title, str(t_out), str(t_in), str(len(parts))] + [hex_part(p) for p in parts]
    sys.stdout.write(" ".join(fields) + "\n")
    sys.stdout.flush()


# ---- publisher ----------------------------------------------------------------------------


def zap_reply(zap, whitelist, log):
    """Answers one ZAP request (RFC 27) waiting on the REP socket."""
    frames = zap.recv_multipart()
    if len(frames) < 6 or frames[0] != b"1.0":
        status, text, user = b"500", b"Malformed ZAP request", b""
    else:
        domain, mechanism = frames[2], frames[5]
        if domain != ZAP_DOMAIN or mechanism != b"CURVE" or len(frames) < 7 or len(frames[6]) != 32:
            status, text, user = b"400", b"Unknown domain or mechanism", b""
        else:
            key = zmq.utils.z85.encode(frames[6])
            if not whitelist or key in whitelist:
                status, text, user = b"200", b"OK", key
            else:
                status, text, user = b"400", b"Not in whitelist", b""
        client = frames[6] if len(frames) > 6 else b""
        log(f"zap {status.decode()} {zmq.utils.z85.encode(client).decode() if len(client) == 32 else '?'}")
    request_id = frames[1] if len(frames) > 1 else b""
    zap.send_multipart([b"1.0", request_id, status, text, user, b""])


def run_pub(a):
    secret = z85_key(a.secret)
    if a.everyone and a.whitelist:
        raise SystemExit("pyzmq_peer.py: --everyone and --whitelist exclude each other")
    whitelist = {z85_key(k) for k in a.whitelist}
    if a.hex and a.file:
        raise SystemExit("pyzmq_peer: --hex and --file exclude each other")
    if a.hex:
        parts = [b"" if p == "-" else bytes.fromhex(p) for p in a.parts]
    elif a.file:
        parts = []
        for path in a.parts:
            with open(path, "rb") as f:
                parts.append(f.read())
    else:
        parts = [p.encode() for p in a.parts]
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if a.verbose else (lambda m: None)

    ctx = zmq.Context()
    # The ZAP handler must be there before anyone can connect to the publisher.
    zap = ctx.socket(zmq.REP)
    zap.linger = 0
    zap.bind(ZAP_ENDPOINT)

    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    pub.curve_server = 1
    pub.curve_secretkey = secret
    pub.zap_domain = ZAP_DOMAIN
    host = f"[{a.bind}]" if ":" in a.bind and not a.bind.startswith("[") else a.bind
    pub.bind(f"tcp://{host}:{a.port if a.port else '*'}")
    port = int(pub.getsockopt_string(zmq.LAST_ENDPOINT).rsplit(":", 1)[1])
    print(f"ready {port}", flush=True)

    poller = zmq.Poller()
    poller.register(zap, zmq.POLLIN)
    rounds = 0
    next_t = time.monotonic()
    try:
        while a.count is None or rounds < a.count:
            t_out = a.t_out if a.t_out is not None else now_us()
            for title in a.title:
                pub.send_multipart([title.encode() + b"\0", struct.pack("<q", t_out)] + parts, copy=False)
            rounds += 1
            next_t += a.every / 1000.0
            while True:
                left = next_t - time.monotonic()
                if left <= 0:
                    break
                for sock, _ in poller.poll(max(1, int(left * 1000))):
                    if sock is zap:
                        zap_reply(zap, whitelist, log)
    finally:
        pub.close(0)
        zap.close(0)
        ctx.term()
    return 0


# ---- subscriber ---------------------------------------------------------------------------


def parse_peer(s):
    # Z85 keys may contain "@" and ":": the key is the first 40 characters.
    if len(s) <= KEY_LEN or s[KEY_LEN] != "@":
        raise SystemExit(f"pyzmq_peer: --peer {s!r}: expected KEY@HOST:PORT")
    key, addr = s[:KEY_LEN], s[KEY_LEN + 1 :]
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"pyzmq_peer: --peer {s!r}: expected KEY@HOST:PORT")
    return z85_key(key), host, int(port)


def run_sub(a):
    secret = z85_key(a.secret)
    public = zmq.curve_public(secret)
    server_key, host, port = parse_peer(a.peer)

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.curve_serverkey = server_key
    sub.curve_publickey = public
    sub.curve_secretkey = secret
    for t in a.title:
        sub.setsockopt(zmq.SUBSCRIBE, t.encode() + b"\0")
    sub.connect(f"tcp://{host}:{port}")

    deadline = None if a.timeout is None else time.monotonic() + a.timeout
    printed = malformed = 0
    code = 0
    try:
        while a.count is None or printed < a.count:
            if deadline is None:
                ms = None
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    want = "" if a.count is None else f" of {a.count}"
                    print(f"pyzmq_peer: timeout: {printed}{want} etales received in {a.timeout} s", file=sys.stderr)
                    code = 1
                    break
                ms = max(1, int(left * 1000))
            if not sub.poll(ms, zmq.POLLIN):
                continue
            frames = sub.recv_multipart()
            t_in = now_us()
            if len(frames) < 2 or not frames[0].endswith(b"\0") or len(frames[1]) != 8:
                malformed += 1
                continue
            try:
                title = frames[0][:-1].decode("utf-8")
            except UnicodeDecodeError:
                malformed += 1
                continue
            (t_out,) = struct.unpack("<q", frames[1])
            print_line(title, t_out, t_in, frames[2:])
            printed += 1
    finally:
        print(f"stats received={printed} malformed={malformed}", file=sys.stderr, flush=True)
        sub.close(0)
        ctx.term()
    return code


# ---- main ---------------------------------------------------------------------------------


VALUE_OPTIONS = {
    "--secret",
    "--bind",
    "--port",
    "--whitelist",
    "--title",
    "--every",
    "--count",
    "--t-out",
    "--peer",
    "--timeout",
}


def glue_values(argv):
    """Z85 keys may begin with "-", which argparse would take for an option: glue every
    value to its option ("--secret=-abc..."), and protect the argument of `public`."""
    if argv[:1] == ["public"] and len(argv) == 2:
        return ["public", "--", argv[1]]
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            out.extend(argv[i:])
            break
        if a in VALUE_OPTIONS and i + 1 < len(argv):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"pyzmq_peer: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    p = Parser(prog="pyzmq_peer.py", description="emyzelium wire protocol on pyzmq (independent peer)")
    sp = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)

    pp = sp.add_parser("pub", help="publish etales")
    pp.add_argument("--secret", required=True)
    pp.add_argument("--bind", default="*")
    pp.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    pp.add_argument("--whitelist", action="append", default=[])
    # As the emyzelium CLIs: open publishing is said out loud (here an empty whitelist
    # admits everyone either way, so the flag only guards against mixing both).
    pp.add_argument("--everyone", action="store_true", help="admit every key (no --whitelist)")
    pp.add_argument("--title", action="append", required=True)
    pp.add_argument("--every", type=int, default=100, help="ms between rounds")
    pp.add_argument("--count", type=int, default=None)
    pp.add_argument("--hex", action="store_true")
    pp.add_argument("--file", action="store_true")
    pp.add_argument("--t-out", type=int, default=None, help="fixed t_out (µs) instead of now")
    pp.add_argument("--verbose", action="store_true", help="log ZAP verdicts on stderr")
    pp.add_argument("parts", nargs="*")

    ps = sp.add_parser("sub", help="subscribe and print etales")
    ps.add_argument("--secret", required=True)
    ps.add_argument("--peer", required=True)
    ps.add_argument("--title", action="append", required=True)
    ps.add_argument("--count", type=int, default=None)
    ps.add_argument("--timeout", type=float, default=None)

    sp.add_parser("keygen", help="print a new key pair")
    pk = sp.add_parser("public", help="print the public key of a secret key")
    pk.add_argument("secret")

    a = p.parse_args(glue_values(sys.argv[1:] if argv is None else argv))
    if a.cmd == "pub":
        return run_pub(a)
    if a.cmd == "sub":
        return run_sub(a)
    if a.cmd == "keygen":
        public, secret = zmq.curve_keypair()
        print(f"public: {public.decode()}\nsecret: {secret.decode()}", flush=True)
        return 0
    if a.cmd == "public":
        print(zmq.curve_public(z85_key(a.secret)).decode(), flush=True)
        return 0
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
