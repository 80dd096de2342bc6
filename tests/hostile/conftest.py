"""Hostile peers against the `emz emit` publisher: shared pieces.

The attackers and the honest subscribers are raw pyzmq sockets and plain Python
sockets, independent of the code under test; the publisher is the Rust `emz` CLI
($EMZ_BIN, else <repo>/target/debug/emz), watched through /proc (RSS, CPU) and through
its `--counters` lines. Everything runs on 127.0.0.1, bounded in time.
"""

import ctypes
import os
import queue
import re
import resource
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]
LONG = 20.0  # seconds a positive case may take at most (slow shared machines)
EVERY_MS = 20  # the publisher's round: one emission and one update() every 20 ms
TICK = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1


def report(name, **figures):
    """One line of measured figures, for `pytest -s` and the README."""
    text = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    print(f"\n[hostile] {name}: {text}", flush=True)


def keypair():
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()


@pytest.fixture(scope="session")
def emz():
    path = os.environ.get("EMZ_BIN") or str(REPO / "target" / "debug" / "emz")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"emz binary not found at {path!r}: cargo build -p emyzelium --bin emz", pytrace=False)
    return path


def write_keys(path, keys):
    """Replaces the whitelist file whole (by rename), as the publisher expects."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(k + "\n" for k in keys))
    os.replace(tmp, path)


class Publisher:
    """`emz emit` on a free loopback port, with --counters; stdout read by a thread."""

    def __init__(
        self, emz, tmp_path, *, allowed=(), titles=("t",), parts=("data",), every=EVERY_MS, nofile=None, extra=()
    ):
        self.public, secret = keypair()
        self.wl = tmp_path / "whitelist"
        write_keys(self.wl, allowed)
        cmd = [
            emz,
            "emit",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--every",
            str(every),
            "--counters",
            "--whitelist-file",
            str(self.wl),
            *extra,
        ]
        for t in titles:
            cmd += ["--title", t]
        cmd += ["--", *parts]
        env = dict(os.environ, EMZ_SECRET=secret)

        def limit():
            # The publisher dies with this process, should a test crash it.
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if nofile is not None:
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

        self.err_path = tmp_path / "emz.stderr"
        self._err = open(self.err_path, "wb")
        self.p = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err, env=env, preexec_fn=limit
        )
        self._lines = queue.Queue()
        self._counters = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            first = self._lines.get(timeout=LONG)
        except queue.Empty:
            first = None
        if not first or not first.startswith("ready "):
            self.stop()
            pytest.fail(f"emz emit did not start ({first!r}); stderr:\n{self.stderr()}", pytrace=False)
        self.port = int(first.split()[1])
        self.endpoint = f"tcp://127.0.0.1:{self.port}"

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("counters "):
                with self._lock:
                    self._counters = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
            else:
                self._lines.put(line)

    def counters(self):
        with self._lock:
            return dict(self._counters)

    def alive(self):
        return self.p.poll() is None

    def rss_kb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def cpu_s(self):
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def allow(self, keys):
        write_keys(self.wl, keys)

    def stderr(self):
        self._err.flush()
        return self.err_path.read_text("utf-8", "replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)
        self._err.close()


@pytest.fixture
def publisher(emz, tmp_path):
    """Starts one publisher (keyword arguments of Publisher); kills it at teardown."""
    made = []

    def start(**kw):
        pub = Publisher(emz, tmp_path, **kw)
        made.append(pub)
        return pub

    yield start
    for pub in made:
        pub.stop()


class Peers:
    """The pyzmq side of a test: one context, its sockets and honest subscribers, all
    closed at teardown (threads first, so no socket is closed under a running receive)."""

    def __init__(self):
        self.ctx = zmq.Context()
        self._honest = []

    def honest(self, pub, title="t", secret=None):
        h = Honest(self.ctx, pub, title, secret)
        self._honest.append(h)
        return h

    def socket(self, kind, pub, secret=None, **opts):
        return curve_socket(self.ctx, kind, pub, secret, **opts)

    def close(self):
        for h in self._honest:
            h.stop()
        self.ctx.destroy(linger=0)


@pytest.fixture
def peers():
    p = Peers()
    yield p
    p.close()


def curve_socket(ctx, kind, pub, secret=None, **opts):
    """A CURVE client socket of the publisher; a new key pair unless `secret` is given."""
    if secret is None:
        _, secret = keypair()
    s = ctx.socket(kind)
    s.linger = 0
    s.curve_serverkey = pub.public.encode()
    s.curve_secretkey = secret.encode()
    s.curve_publickey = zmq.curve_public(secret.encode())
    for k, v in opts.items():
        s.setsockopt(getattr(zmq, k), v)
    s.connect(pub.endpoint)
    return s


class Honest:
    """An allowed subscriber to `title`, receiving on a thread: every t_out it saw, in
    order, with the local time it arrived, and how many arrived twice."""

    def __init__(self, ctx, pub, title="t", secret=None):
        if secret is None:
            self.public, secret = keypair()
        else:
            self.public = zmq.curve_public(secret.encode()).decode()
        self.secret = secret
        self.sock = curve_socket(ctx, zmq.SUB, pub, secret)
        self.sock.subscribe(title.encode() + b"\0")
        self.got = []  # (arrival, t_out)
        self.foreign = 0  # messages of another title
        self.duplicates = 0
        self._seen = set()
        self._stop = threading.Event()
        self._title = title.encode() + b"\0"
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            if not self.sock.poll(50):
                continue
            frames = self.sock.recv_multipart()
            if frames[0] != self._title or len(frames) < 2 or len(frames[1]) != 8:
                self.foreign += 1
                continue
            t_out = struct.unpack("<q", frames[1])[0]
            if t_out in self._seen:
                self.duplicates += 1
            self._seen.add(t_out)
            self.got.append((time.monotonic(), t_out))

    def count_since(self, t):
        return sum(1 for a, _ in list(self.got) if a >= t)

    def longest_gap(self, since):
        """The longest time (s) between two etales that arrived after monotonic time `since`."""
        arrivals = [a for a, _ in list(self.got) if a >= since]
        return max((b - a for a, b in zip(arrivals, arrivals[1:], strict=False)), default=0.0)

    def wait_for(self, n, since=0.0, timeout=LONG):
        """Time (s) until `n` etales arrived after monotonic time `since`; fails after `timeout`."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.count_since(since) >= n:
                return time.monotonic() - t0
            time.sleep(0.01)
        raise AssertionError(f"{n} etales not received within {timeout} s (got {self.count_since(since)})")

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def raise_own_fd_limit(n):
    """This process needs `n` sockets of its own: soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n:
        pytest.skip(f"fd hard limit {hard} < {n}")
    if soft == resource.RLIM_INFINITY or soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n if hard == resource.RLIM_INFINITY else hard, hard))


def tcp(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def greeting(mechanism=b"CURVE", as_server=0):
    """A ZMTP 3.0 greeting (64 bytes): signature, version, mechanism, as-server, filler."""
    return b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + mechanism.ljust(20, b"\0") + bytes([as_server]) + b"\0" * 31


def long_command_header(size):
    """The header of a ZMTP command frame of `size` bytes (long form)."""
    return b"\x06" + struct.pack(">Q", size)


def cpu_window(pub, seconds, during=None):
    """CPU share (cores) of the publisher over `seconds`, calling `during()` repeatedly meanwhile."""
    c0, t0 = pub.cpu_s(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        if during is not None:
            during()
        time.sleep(0.05)
    return (pub.cpu_s() - c0) / (time.monotonic() - t0)


def settle_rss(pub, seconds=1.0):
    time.sleep(seconds)
    return pub.rss_kb()
