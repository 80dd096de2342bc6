#!/usr/bin/env python3
"""A private Tor network on 127.0.0.1, for the end-to-end Tor tests (Python 3 stdlib only).

Topology (see /work/shared/docs/tor-test-network.md for the measured facts behind it):
3 directory authorities + 2 relays (none an exit), then, once the consensus lists all five
as Running and HSDir, a client tor (SocksPort, ControlPort with cookie) and an onion-service
tor (ControlPort with cookie, for ADD_ONION; plus a few fixed HiddenServiceDir onions).

    python3 tests/tor/tornet.py start DIR [--owner-pid PID] [--base-port P] [--onions N]
    python3 tests/tor/tornet.py stop DIR
    python3 tests/tor/tornet.py status DIR

`start` returns once the network is usable (both tors bootstrapped 100 %, every fixed onion
answered through the client's SOCKS port) and writes DIR/net.json (and DIR/net.env, the same
as shell variables). Every tor runs as a daemon with a PidFile; `stop` kills exactly those
PIDs (and only if they still are tor processes). When `start` fails or is interrupted it
stops what it had started. With --owner-pid, every tor also watches that process
(`__OwningControllerProcess`) and exits on its own when it dies, so no tor outlives the
test run even when the runner is SIGKILLed.

As a library: `start(dir, ...) -> dict`, `stop(dir)`, `TorControl` (a minimal control-port
client: AUTHENTICATE with the cookie, ADD_ONION, DEL_ONION, GETINFO), `socks_connect`,
`onion_from_ed25519`.
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from faces import port_free  # noqa: E402  (tests/faces.py: the port helpers of every suite)

N_AUTH = 3
N_RELAY = 2
VIRT_PORT = 60847  # the virtual port of every fixed onion (emyzelium's default port)

# Port layout from base: per node i (0..6): OR = base+10*i, Dir = +1, Control = +2, Socks = +3;
# fixed onions' local target ports from base+100.
SLOT = 10


def log(msg):
    print(f"[tornet {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- helpers -----------------------------------------------------------------------------


def onion_from_ed25519(pubkey: bytes) -> str:
    """v3 onion (without .onion) of a 32-byte ed25519 public key."""
    assert len(pubkey) == 32
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower()


def pick_base_port(n_ports_from_base, start=21000, end=31000, step=200):
    # A fixed range below Linux's ephemeral ports (32768 and up): no outgoing connection of
    # the running network can take a port a tor is about to bind.
    for base in range(start, end, step):
        if all(port_free(base + k) for k in range(n_ports_from_base)):
            return base
    raise RuntimeError("no free port range found for the Tor network")


def socks_connect(socks_port, host, port, timeout=30.0):
    """SOCKS5 CONNECT to host:port (a name, passed to Tor) through 127.0.0.1:socks_port.
    Returns the connected socket, or raises OSError with the SOCKS reply code in .args."""
    s = socket.create_connection(("127.0.0.1", socks_port), timeout=timeout)
    try:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            raise OSError("socks: no-auth method refused")
        h = host.encode()
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h + struct.pack(">H", port))
        rep = b""
        while len(rep) < 10:
            chunk = s.recv(10 - len(rep))
            if not chunk:
                raise OSError("socks: connection closed")
            rep += chunk
        if rep[1] != 0:
            raise OSError(rep[1], f"socks reply 0x{rep[1]:02x}")
        return s
    except BaseException:
        s.close()
        raise


class TorControl:
    """Minimal Tor control-port client (enough for the tests)."""

    def __init__(self, port, cookie_path=None, host="127.0.0.1", timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        if cookie_path:
            with open(cookie_path, "rb") as f:
                cookie = f.read()
            self.command(f"AUTHENTICATE {cookie.hex()}")

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("tor control connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def command(self, cmd):
        """Sends one command; returns the reply lines (without status codes). Raises on
        a non-2xx reply."""
        self.sock.sendall(cmd.encode() + b"\r\n")
        lines = []
        while True:
            line = self._line()
            code, sep, rest = line[:3], line[3:4], line[4:]
            if sep == "+":  # data reply: lines up to a lone "."
                data = [rest]
                while True:
                    d = self._line()
                    if d == ".":
                        break
                    data.append(d)
                lines.append("\n".join(data))
                continue
            lines.append(rest)
            if sep == " ":
                if not code.startswith("2"):
                    raise RuntimeError(f"tor control {cmd.split()[0]}: {code} {rest}")
                return lines

    def getinfo(self, key):
        for line in self.command(f"GETINFO {key}"):
            if line.startswith(key + "="):
                return line[len(key) + 1 :]
        return None

    def add_onion(self, virt_port, target_port, key="NEW:ED25519-V3", flags=None):
        """Returns (service_id, private_key 'ED25519-V3:...' or None)."""
        cmd = f"ADD_ONION {key}"
        if flags:
            cmd += f" Flags={flags}"
        cmd += f" Port={virt_port},127.0.0.1:{target_port}"
        sid = pk = None
        for line in self.command(cmd):
            if line.startswith("ServiceID="):
                sid = line.split("=", 1)[1]
            elif line.startswith("PrivateKey="):
                pk = line.split("=", 1)[1]
        return sid, pk

    def del_onion(self, service_id):
        self.command(f"DEL_ONION {service_id}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the network -------------------------------------------------------------------------


class Node:
    def __init__(self, root, name, index, base, role):
        self.name, self.role = name, role
        self.dir = os.path.join(root, name)
        self.or_port = base + SLOT * index
        self.dir_port = base + SLOT * index + 1
        self.control_port = base + SLOT * index + 2
        self.socks_port = base + SLOT * index + 3
        self.torrc = os.path.join(self.dir, "torrc")
        self.pidfile = os.path.join(self.dir, "tor.pid")
        self.logfile = os.path.join(self.dir, "notice.log")
        self.fingerprint = self.v3ident = None

    def log_text(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def _common(node, auth_lines, owner_pid):
    missing = os.path.join(node.dir, "no-geoip")
    lines = [
        "TestingTorNetwork 1",
        f"DataDirectory {node.dir}",
        f"Nickname {node.name}",
        f"PidFile {node.pidfile}",
        "RunAsDaemon 1",
        f"Log notice file {node.logfile}",
        f"ControlPort 127.0.0.1:{node.control_port}",
        "CookieAuthentication 1",
        "ShutdownWaitLength 0",
        "UseDefaultFallbackDirs 0",
        "OutboundBindAddress 127.0.0.1",
        "PathsNeededToBuildCircuits 0.67",
        f"GeoIPFile {missing}",
        f"GeoIPv6File {missing}",
        "SafeLogging 0",
    ]
    if owner_pid:
        lines.append(f"__OwningControllerProcess {owner_pid}")
    return lines + auth_lines


def _relay(node):
    return [
        "SocksPort 0",
        f"ORPort 127.0.0.1:{node.or_port}",
        "Address 127.0.0.1",
        "AssumeReachable 1",
        "ExitRelay 0",
        "ExitPolicy reject *:*",
        "ServerDNSResolvConfFile /dev/null",
        "ServerDNSDetectHijacking 0",
        "ContactInfo emyzelium-test",
    ]


AUTH_OPTS = [
    "AuthoritativeDirectory 1",
    "V3AuthoritativeDirectory 1",
    "TestingV3AuthInitialVotingInterval 5",
    "TestingV3AuthInitialVoteDelay 2",
    "TestingV3AuthInitialDistDelay 2",
    "V3AuthVotingInterval 10",
    "V3AuthVoteDelay 2",
    "V3AuthDistDelay 2",
    "V3AuthNIntervalsValid 2",
    "TestingDirAuthVoteGuard *",
    "TestingDirAuthVoteHSDir *",
]


def _tor():
    tor = shutil.which("tor") or ("/usr/sbin/tor" if os.path.exists("/usr/sbin/tor") else None)
    gencert = shutil.which("tor-gencert") or (
        "/usr/bin/tor-gencert" if os.path.exists("/usr/bin/tor-gencert") else None
    )
    if not tor or not gencert:
        raise RuntimeError("tor and tor-gencert are needed (Debian package `tor`)")
    return tor, gencert


def _launch(tor, node):
    with open(node.torrc, "w") as f:
        f.write("\n".join(node.conf) + "\n")
    # With RunAsDaemon 1 the launching process returns once the daemon is set up (or
    # fails with the configuration error on stderr).
    _run([tor, "--defaults-torrc", "/dev/null", "-f", node.torrc], timeout=60)
    for _ in range(100):
        pid = _read_pid(node.pidfile)
        if pid:
            return pid
        time.sleep(0.05)
    raise RuntimeError(f"{node.name}: no PidFile after start:\n{node.log_text()[-2000:]}")


def _read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _is_tor(pid):
    """Whether pid is a live (not zombie) tor process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :][:1]
    return name == "tor" and state not in ("Z", "X")


def _started_path(root):
    return os.path.join(root, "started.pids")


def _record(root, name, pid):
    with open(_started_path(root), "a") as f:
        f.write(f"{name} {pid}\n")


def _kill(pid):
    """SIGTERM (then SIGKILL) one tor process of ours, and waits for it to go."""
    if not pid or not _is_tor(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while _is_tor(pid) and time.time() < deadline:
        time.sleep(0.1)
    if _is_tor(pid):
        os.kill(pid, signal.SIGKILL)
        while _is_tor(pid):
            time.sleep(0.05)


def stop(root, quiet=False):
    """Stops every tor this launcher started under root (by PID, only tor processes)."""
    pids = []
    try:
        with open(_started_path(root)) as f:
            for line in f:
                name, pid = line.split()
                pids.append((name, int(pid)))
    except OSError:
        pass
    live = [(n, p) for n, p in pids if _is_tor(p)]
    for _, p in live:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and any(_is_tor(p) for _, p in live):
        time.sleep(0.1)
    for n, p in live:
        if _is_tor(p):
            if not quiet:
                log(f"{n} (pid {p}) ignored SIGTERM: SIGKILL")
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if not quiet and live:
        log(f"stopped {len(live)} tor processes: {' '.join(str(p) for _, p in live)}")
    return len(live)


def _consensus_ok(dir_port, want):
    url = f"http://127.0.0.1:{dir_port}/tor/status-vote/current/consensus-microdesc"
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            text = r.read().decode(errors="replace")
    except Exception:
        return False
    nick, ok = None, set()
    for line in text.splitlines():
        if line.startswith("r "):
            nick = line.split()[1]
        elif line.startswith("s ") and nick:
            flags = set(line.split()[1:])
            if {"Running", "HSDir"} <= flags:
                ok.add(nick)
    return set(want) <= ok


def _bootstrapped(node):
    return "Bootstrapped 100%" in node.log_text()


def _wait(what, cond, timeout, nodes=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        for n in nodes:
            pid = _read_pid(n.pidfile)
            if pid and not _is_tor(pid):
                raise RuntimeError(f"{n.name} died:\n{n.log_text()[-3000:]}")
        time.sleep(0.25)
    logs = "\n".join(f"--- {n.name}\n{n.log_text()[-1500:]}" for n in nodes)
    raise RuntimeError(f"timeout ({timeout} s) waiting for {what}\n{logs}")


def _probe_onion(socks_port, onion, virt_port, target_port, timeout):
    """Listens on target_port and connects to onion:virt through SOCKS until it works."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", target_port))
    srv.listen(4)
    srv.settimeout(0.1)
    deadline = time.time() + timeout
    attempts = 0
    try:
        while time.time() < deadline:
            attempts += 1
            try:
                c = socks_connect(socks_port, f"{onion}.onion", virt_port, timeout=max(1.0, deadline - time.time()))
            except OSError:
                time.sleep(0.5)
                continue
            try:
                c.sendall(b"ping")
                srv.settimeout(max(1.0, deadline - time.time()))
                a, _ = srv.accept()
                a.settimeout(10)
                data = a.recv(4)
                a.close()
                if data == b"ping":
                    return attempts
            except OSError:
                pass
            finally:
                c.close()
        raise RuntimeError(f"onion {onion} not reachable in {timeout} s ({attempts} attempts)")
    finally:
        srv.close()


def start(root, base_port=None, owner_pid=None, n_onions=4, timeout=180):
    """Starts the network under root (created if needed); returns the description dict
    (also written to root/net.json). On any failure, stops what it started and raises."""
    t0 = time.time()
    tor, gencert = _tor()
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o700)
    if os.path.exists(_started_path(root)):
        stop(root, quiet=True)
        os.unlink(_started_path(root))
    n_nodes = N_AUTH + N_RELAY + 2
    if base_port is None:
        base_port = pick_base_port(100 + n_onions)
    else:
        busy = [
            p
            for p in list(range(base_port, base_port + SLOT * n_nodes))
            + list(range(base_port + 100, base_port + 100 + n_onions))
            if not port_free(p)
        ]
        if busy:
            raise RuntimeError(f"ports in use: {busy[:10]}")

    auths = [Node(root, f"auth{i}", i, base_port, "authority") for i in range(N_AUTH)]
    relays = [Node(root, f"relay{i}", N_AUTH + i, base_port, "relay") for i in range(N_RELAY)]
    client = Node(root, "client", N_AUTH + N_RELAY, base_port, "client")
    hs = Node(root, "onions", N_AUTH + N_RELAY + 1, base_port, "onion-service")
    nodes = auths + relays + [client, hs]
    for n in nodes:
        if os.path.exists(n.dir):
            shutil.rmtree(n.dir)
        os.makedirs(n.dir, mode=0o700)

    try:
        # Authority keys and fingerprints.
        for a in auths:
            keys = os.path.join(a.dir, "keys")
            os.makedirs(keys, mode=0o700)
            _run(
                [
                    gencert,
                    "--create-identity-key",
                    "--passphrase-fd",
                    "0",
                    "-m",
                    "12",
                    "-a",
                    f"127.0.0.1:{a.dir_port}",
                    "-i",
                    os.path.join(keys, "authority_identity_key"),
                    "-s",
                    os.path.join(keys, "authority_signing_key"),
                    "-c",
                    os.path.join(keys, "authority_certificate"),
                ],
                input="\n",
                cwd=a.dir,
                timeout=60,
            )
            with open(os.path.join(keys, "authority_certificate")) as f:
                for line in f:
                    if line.startswith("fingerprint "):
                        a.v3ident = line.split()[1].strip()
            r = _run(
                [
                    tor,
                    "--defaults-torrc",
                    "/dev/null",
                    "--list-fingerprint",
                    "--DataDirectory",
                    a.dir,
                    "--ORPort",
                    "1",
                    "--Nickname",
                    a.name,
                    "--GeoIPFile",
                    "/nonexistent",
                    "--GeoIPv6File",
                    "/nonexistent",
                    "--Log",
                    "err stderr",
                ],
                timeout=60,
            )
            with open(os.path.join(a.dir, "fingerprint")) as f:
                a.fingerprint = f.read().split()[1]
            if not a.v3ident or not a.fingerprint:
                raise RuntimeError(f"{a.name}: no identity ({r.stdout})")
        auth_lines = [
            f"DirAuthority {a.name} orport={a.or_port} no-v2 v3ident={a.v3ident} 127.0.0.1:{a.dir_port} {a.fingerprint}"
            for a in auths
        ]

        for a in auths:
            a.conf = _common(a, auth_lines, owner_pid) + _relay(a) + [f"DirPort 127.0.0.1:{a.dir_port}"] + AUTH_OPTS
        for r in relays:
            r.conf = _common(r, auth_lines, owner_pid) + _relay(r)
        # Vanguards-lite (layer-2 guards for onion circuits) over a 5-relay network
        # sometimes leaves no node for hop #2 ("Failed to find node for hop #2"): off.
        # Entry guards too: over 5 relays a client's guards can all be excluded by a path's
        # restrictions ("All current guards excluded by path restriction"), and then its
        # onion circuits wait for good (both starts failed, in 1 CI run).
        no_guards = ["VanguardsLiteEnabled 0", "UseEntryGuards 0"]
        client.conf = (
            _common(client, auth_lines, owner_pid)
            + [f"SocksPort 127.0.0.1:{client.socks_port} ExtendedErrors"]
            + no_guards
        )
        onions = []
        hs.conf = _common(hs, auth_lines, owner_pid) + ["SocksPort 0"] + no_guards
        for i in range(n_onions):
            d = os.path.join(hs.dir, f"hs{i}")
            os.makedirs(d, mode=0o700)
            target = base_port + 100 + i
            hs.conf += [f"HiddenServiceDir {d}", f"HiddenServicePort {VIRT_PORT} 127.0.0.1:{target}"]
            onions.append({"name": f"hs{i}", "dir": d, "virt_port": VIRT_PORT, "target_port": target})

        for n in auths + relays:
            _record(root, n.name, _launch(tor, n))
        log(f"{len(auths)} authorities + {len(relays)} relays started (base port {base_port})")
        _wait(
            "consensus listing every relay Running+HSDir",
            lambda: _consensus_ok(auths[0].dir_port, [n.name for n in auths + relays]),
            timeout,
            auths + relays,
        )
        t_consensus = time.time() - t0
        log(f"consensus ready after {t_consensus:.1f} s")

        for attempt in (1, 2):
            for n in (client, hs):
                _record(root, n.name, _launch(tor, n))
            _wait(
                "client and onion tor bootstrapped 100%",
                lambda: _bootstrapped(client) and _bootstrapped(hs),
                timeout,
                nodes,
            )
            t_boot = time.time() - t0
            log(f"client and onion-service tor bootstrapped after {t_boot:.1f} s")

            for o in onions:
                with open(os.path.join(o["dir"], "hostname")) as f:
                    o["onion"] = f.read().strip().removesuffix(".onion")
            # Every fixed onion must answer through the client before tests start.
            errors, attempts = [], {}
            probe_timeout = timeout / 3 if attempt == 1 else timeout

            def probe(o, attempts, errors, probe_timeout):
                try:
                    attempts[o["name"]] = _probe_onion(
                        client.socks_port, o["onion"], o["virt_port"], o["target_port"], probe_timeout
                    )
                except Exception as e:
                    errors.append(e)

            threads = [threading.Thread(target=probe, args=(o, attempts, errors, probe_timeout)) for o in onions]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if not errors:
                break
            if attempt == 2:
                raise errors[0]
            # Rare: the client is stuck without usable paths. Restart client and onion
            # tors from scratch (the fixed onions keep their keys).
            log(f"{errors[0]}; restarting the client and onion-service tors")
            for n in (client, hs):
                _kill(_read_pid(n.pidfile))
                os.rename(n.logfile, n.logfile + f".{attempt}")
                for f in os.listdir(n.dir):
                    if f.startswith("cached-") or f in ("state", "tor.pid"):
                        os.unlink(os.path.join(n.dir, f))
        t_ready = time.time() - t0
        log(f"all {len(onions)} onions reachable after {t_ready:.1f} s (attempts: {attempts})")

        info = {
            "root": root,
            "base_port": base_port,
            "socks_port": client.socks_port,
            "client_control_port": client.control_port,
            "client_cookie": os.path.join(client.dir, "control_auth_cookie"),
            "onion_control_port": hs.control_port,
            "onion_cookie": os.path.join(hs.dir, "control_auth_cookie"),
            "onions": onions,
            "free_ports": [base_port + 100 + n_onions + k for k in range(50)],
            "pids": {n.name: _read_pid(n.pidfile) for n in nodes},
            "timings_s": {
                "consensus": round(t_consensus, 1),
                "bootstrap": round(t_boot, 1),
                "onions_reachable": round(t_ready, 1),
            },
        }
        with open(os.path.join(root, "net.json"), "w") as f:
            json.dump(info, f, indent=2)
        with open(os.path.join(root, "net.env"), "w") as f:
            f.write(
                f"TORNET_JSON={root}/net.json\nTOR_SOCKS_PORT={client.socks_port}\n"
                f"TOR_CONTROL_PORT={hs.control_port}\nTOR_CONTROL_COOKIE={info['onion_cookie']}\n"
                f"TOR_CLIENT_CONTROL_PORT={client.control_port}\n"
            )
            for o in onions:
                f.write(f"TOR_ONION_{o['name'].upper()}={o['onion']}:{o['virt_port']}:{o['target_port']}\n")
        return info
    except BaseException:
        stop(root)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["start", "stop", "status"])
    ap.add_argument("dir")
    ap.add_argument(
        "--owner-pid", type=int, default=None, help="every tor exits when this process dies (__OwningControllerProcess)"
    )
    ap.add_argument("--base-port", type=int, default=None)
    ap.add_argument("--onions", type=int, default=4, help="fixed HiddenServiceDir onions")
    ap.add_argument("--timeout", type=float, default=180)
    args = ap.parse_args()
    if args.command == "stop":
        stop(args.dir)
        return 0
    if args.command == "status":
        with open(os.path.join(args.dir, "net.json")) as f:
            info = json.load(f)
        for name, pid in info["pids"].items():
            print(name, pid, "running" if _is_tor(pid) else "gone")
        return 0

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        info = start(args.dir, args.base_port, args.owner_pid, args.onions, args.timeout)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); started tors stopped")
        return 130
    except Exception as e:
        log(f"start failed; started tors stopped: {e}")
        return 1
    print(json.dumps(info["timings_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
