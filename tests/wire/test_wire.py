"""Wire compatibility of emyzelium (through the `emz` CLI) with an independent peer
written directly on pyzmq (tests/wire/pyzmq_peer.py).

Nothing is built here: the `emz` binary comes from $EMZ_BIN, or else
<repo>/target/debug/emz (build it with `cargo build -p emyzelium --bin emz`).
"""

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]
PEER = Path(__file__).resolve().with_name("pyzmq_peer.py")

T_OUT = 0x0123456789ABCDEF  # distinct bytes: a byte-order mistake cannot go unnoticed
LONG = 20.0  # seconds a positive case may take, at most (slow shared machines)
SHORT = 2.0  # seconds a denied subscriber listens before concluding it gets nothing


# ---- helpers --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def emz():
    path = os.environ.get("EMZ_BIN") or str(REPO / "target" / "debug" / "emz")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"emz binary not found at {path!r}.\n"
            "Build it first:   cargo build -p emyzelium --bin emz\n"
            "or point EMZ_BIN at it:   EMZ_BIN=/path/to/emz pytest tests/wire",
            pytrace=False,
        )
    return path


def peer_cmd(*args):
    return [sys.executable, str(PEER), *args]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keypair():
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()


class Proc:
    """A child process whose stdout lines are collected by a thread (so a full pipe
    never blocks it) and whose stderr goes to a file."""

    def __init__(self, cmd, tmp_path, name):
        self.cmd = cmd
        self.err_path = tmp_path / f"{name}.stderr"
        self._err = open(self.err_path, "wb")
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err)
        self.lines = queue.Queue()
        self.all_lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.all_lines.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no output from {self.cmd[:3]} within {timeout} s; stderr:\n{self.stderr()}"
            ) from None
        if line is None:
            self.lines.put(None)
        return line

    def wait(self, timeout):
        """Exit code, after the whole stdout has been read."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.cmd[:3]} did not exit within {timeout} s; stderr:\n{self.stderr()}") from None
        self._reader.join(timeout=10)
        return rc

    def stderr(self):
        self._err.flush()
        return self.err_path.read_text("utf-8", "replace")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._err.close()


@pytest.fixture
def spawn(tmp_path):
    """Starts processes that are killed at teardown, whatever the outcome."""
    procs = []

    def start(cmd, name="proc"):
        p = Proc(cmd, tmp_path, f"{len(procs)}-{name}")
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()


def start_publisher(spawn, make_cmd, name):
    """Starts a publisher on a free port (retrying if another process took the port
    meanwhile) and returns (process, port) once it printed `ready <port>`."""
    for _ in range(3):
        port = free_port()
        p = spawn(make_cmd(port), name)
        line = p.next_line(LONG)
        if line is not None:
            assert line == f"ready {port}", f"unexpected first line {line!r}"
            return p, port
        if "in use" not in p.stderr().lower():
            break
    raise AssertionError(f"{name} did not start; stderr:\n{p.stderr()}")


def parse_etale(line):
    f = line.split(" ")
    assert f[0] == "etale", line[:200]
    title, t_out, t_in, n = f[1], int(f[2]), int(f[3]), int(f[4])
    parts = [b"" if h == "-" else bytes.fromhex(h) for h in f[5:]]
    assert len(parts) == n, f"{n} parts announced, {len(parts)} printed"
    return title, t_out, t_in, parts


def write_parts(tmp_path, parts):
    paths = []
    for i, data in enumerate(parts):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def now_us():
    return time.time_ns() // 1000


PARTS = [
    b"",  # empty
    bytes(range(256)) + b"\x00\x00\xff",  # every byte value, NULs included
    "h\u00e9llo w\u00f6rld \u2713".encode(),  # UTF-8
    os.urandom(1 << 20),  # 1 MiB
    b"tail",
]


# ---- keys -----------------------------------------------------------------------------------


def test_keys_agree_with_libzmq_of_pyzmq(emz):
    out = subprocess.run([emz, "keygen"], capture_output=True, text=True, timeout=30, check=True).stdout
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert set(lines) == {"public", "secret"}
    assert zmq.curve_public(lines["secret"].encode()).decode() == lines["public"]

    public, secret = keypair()
    out = subprocess.run([emz, "public", secret], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out == public + "\n"


# ---- (1) pyzmq publisher -> emz listen ---------------------------------------------------------


def test_pyzmq_pub_to_emz_listen(emz, spawn, tmp_path):
    pub_key, pub_secret = keypair()
    _, sub_secret = keypair()
    files = write_parts(tmp_path, PARTS)
    # "zone2" and "zon" go out before "zone" in every round: a subscription that were
    # a bare prefix ("zone" without its NUL) would let "zone2" through.
    pub, port = start_publisher(
        spawn,
        lambda port: peer_cmd(
            "pub",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--title",
            "zone2",
            "--title",
            "zon",
            "--title",
            "zone",
            "--every",
            "200",
            "--t-out",
            str(T_OUT),
            "--file",
            *files,
        ),
        "pyzmq-pub",
    )
    peer = f"{pub_key}@127.0.0.1:{port}"
    listen = spawn(
        [
            emz,
            "listen",
            "--secret",
            sub_secret,
            "--peer",
            peer,
            "--title",
            "zone",
            "--count",
            "3",
            "--timeout",
            str(LONG),
        ],
        "emz-listen",
    )
    # Control: the publisher does send "zone2", to whoever subscribes to it.
    listen2 = spawn(
        [
            emz,
            "listen",
            "--secret",
            sub_secret,
            "--peer",
            peer,
            "--title",
            "zone2",
            "--count",
            "1",
            "--timeout",
            str(LONG),
        ],
        "emz-listen2",
    )

    assert listen.wait(LONG + 10) == 0, listen.stderr()
    assert listen2.wait(LONG + 10) == 0, listen2.stderr()
    assert len(listen.all_lines) == 3
    for line in listen.all_lines:
        title, t_out, t_in, parts = parse_etale(line)
        assert title == "zone"
        assert t_out == T_OUT
        assert abs(t_in - now_us()) < 60_000_000
        assert parts == PARTS
    # Nothing but "zone" crossed the wire to the first listener: its libzmq PUB
    # filtered by the subscription emz sent.
    assert "malformed=0 unknown_title=0" in listen.stderr(), listen.stderr()
    assert [parse_etale(line)[0] for line in listen2.all_lines] == ["zone2"]
    assert "unknown_title=0" in listen2.stderr()


def test_pyzmq_pub_to_emz_listen_edge_parts(emz, spawn):
    """No parts at all, one empty part, a negative t_out, the empty title."""
    pub_key, pub_secret = keypair()
    _, sub_secret = keypair()
    for hex_parts, t_out in (([], -1234567890123), (["-"], -1), (["00", "-", "ff"], 0)):
        pub, port = start_publisher(
            spawn,
            # The defaults pin this iteration's values into the lambda.
            lambda port, t_out=t_out, hex_parts=hex_parts: peer_cmd(
                "pub",
                "--secret",
                pub_secret,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--title",
                "",
                "--title",
                "x",
                "--every",
                "50",
                "--t-out",
                str(t_out),
                "--hex",
                *hex_parts,
            ),
            "pyzmq-pub",
        )
        listen = spawn(
            [
                emz,
                "listen",
                "--secret",
                sub_secret,
                "--peer",
                f"{pub_key}@127.0.0.1:{port}",
                "--title",
                "",
                "--count",
                "2",
                "--timeout",
                str(LONG),
            ],
            "emz-listen",
        )
        assert listen.wait(LONG + 10) == 0, listen.stderr()
        want = [b"" if h == "-" else bytes.fromhex(h) for h in hex_parts]
        for line in listen.all_lines:
            assert parse_etale(line)[0] == ""
            assert parse_etale(line)[1] == t_out
            assert parse_etale(line)[3] == want
        assert "unknown_title=0" in listen.stderr()
        pub.kill()


# ---- (2) emz emit -> pyzmq subscriber ----------------------------------------------------------


def test_emz_emit_to_pyzmq_sub(emz, spawn, tmp_path):
    pub_key, pub_secret = keypair()
    _, sub_secret = keypair()
    files = write_parts(tmp_path, PARTS)
    emit, port = start_publisher(
        spawn,
        lambda port: [
            emz,
            "emit",
            "--everyone",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--title",
            "zone2",
            "--title",
            "zon",
            "--title",
            "zone",
            "--every",
            "200",
            "--file",
            *files,
        ],
        "emz-emit",
    )
    peer = f"{pub_key}@127.0.0.1:{port}"
    # The pyzmq subscriber prints whatever arrives, whatever its title.
    sub = spawn(
        peer_cmd(
            "sub", "--secret", sub_secret, "--peer", peer, "--title", "zone", "--count", "3", "--timeout", str(LONG)
        ),
        "pyzmq-sub",
    )
    sub2 = spawn(
        peer_cmd(
            "sub", "--secret", sub_secret, "--peer", peer, "--title", "zone2", "--count", "1", "--timeout", str(LONG)
        ),
        "pyzmq-sub2",
    )

    assert sub.wait(LONG + 10) == 0, sub.stderr()
    assert sub2.wait(LONG + 10) == 0, sub2.stderr()
    assert len(sub.all_lines) == 3
    for line in sub.all_lines:
        title, t_out, t_in, parts = parse_etale(line)
        assert title == "zone"
        assert abs(t_out - now_us()) < 5_000_000, "t_out is not a current µs timestamp"
        assert t_in >= t_out - 1_000_000
        assert parts == PARTS
    assert "malformed=0" in sub.stderr()
    assert [parse_etale(line)[0] for line in sub2.all_lines] == ["zone2"]
    assert emit.p.poll() is None, f"emz emit died: {emit.stderr()}"


def test_emz_emit_to_pyzmq_sub_edge_parts(emz, spawn):
    pub_key, pub_secret = keypair()
    _, sub_secret = keypair()
    for hex_parts in ([], ["-"], ["00", "-", "ff"]):
        emit, port = start_publisher(
            spawn,
            # The defaults pin this iteration's values into the lambda.
            lambda port, hex_parts=hex_parts: [
                emz,
                "emit",
                "--everyone",
                "--secret",
                pub_secret,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--title",
                "",
                "--title",
                "x",
                "--every",
                "50",
                "--hex",
                "--",
                *hex_parts,
            ],
            "emz-emit",
        )
        sub = spawn(
            peer_cmd(
                "sub",
                "--secret",
                sub_secret,
                "--peer",
                f"{pub_key}@127.0.0.1:{port}",
                "--title",
                "",
                "--count",
                "2",
                "--timeout",
                str(LONG),
            ),
            "pyzmq-sub",
        )
        assert sub.wait(LONG + 10) == 0, sub.stderr()
        want = [b"" if h == "-" else bytes.fromhex(h) for h in hex_parts]
        for line in sub.all_lines:
            title, t_out, _, parts = parse_etale(line)
            assert title == ""
            assert abs(t_out - now_us()) < 5_000_000
            assert parts == want
        emit.kill()


def test_emz_emit_count_then_exit(emz, spawn):
    pub_key, pub_secret = keypair()
    emit, port = start_publisher(
        spawn,
        lambda port: [
            emz,
            "emit",
            "--everyone",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--title",
            "t",
            "--every",
            "50",
            "--count",
            "5",
            "a",
        ],
        "emz-emit",
    )
    assert emit.wait(LONG) == 0, emit.stderr()
    assert emit.all_lines == [f"ready {port}"]


# ---- (3) emz emit's whitelist against pyzmq subscribers -----------------------------------------


def test_emz_emit_whitelist(emz, spawn):
    pub_key, pub_secret = keypair()
    allowed_public, allowed_secret = keypair()
    _, other_secret = keypair()
    emit, port = start_publisher(
        spawn,
        lambda port: [
            emz,
            "emit",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--whitelist",
            allowed_public,
            "--title",
            "zone",
            "--every",
            "50",
            "secret data",
        ],
        "emz-emit",
    )
    peer = f"{pub_key}@127.0.0.1:{port}"
    denied = spawn(
        peer_cmd("sub", "--secret", other_secret, "--peer", peer, "--title", "zone", "--timeout", str(SHORT)),
        "pyzmq-denied",
    )
    allowed = spawn(
        peer_cmd(
            "sub", "--secret", allowed_secret, "--peer", peer, "--title", "zone", "--count", "2", "--timeout", str(LONG)
        ),
        "pyzmq-allowed",
    )

    assert allowed.wait(LONG + 10) == 0, allowed.stderr()
    assert [parse_etale(line)[3] for line in allowed.all_lines] == [[b"secret data"]] * 2
    assert denied.wait(SHORT + 10) == 1, denied.stderr()
    assert denied.all_lines == []
    assert "timeout" in denied.stderr()


# ---- (4) the pyzmq publisher's whitelist against emz listeners ----------------------------------


def test_pyzmq_pub_whitelist_denies_emz_listen(emz, spawn):
    pub_key, pub_secret = keypair()
    allowed_public, allowed_secret = keypair()
    other_public, other_secret = keypair()
    pub, port = start_publisher(
        spawn,
        lambda port: peer_cmd(
            "pub",
            "--verbose",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--whitelist",
            allowed_public,
            "--title",
            "zone",
            "--every",
            "50",
            "secret data",
        ),
        "pyzmq-pub",
    )
    peer = f"{pub_key}@127.0.0.1:{port}"
    denied = spawn(
        [emz, "listen", "--secret", other_secret, "--peer", peer, "--title", "zone", "--timeout", str(SHORT)],
        "emz-denied",
    )
    allowed = spawn(
        [
            emz,
            "listen",
            "--secret",
            allowed_secret,
            "--peer",
            peer,
            "--title",
            "zone",
            "--count",
            "2",
            "--timeout",
            str(LONG),
        ],
        "emz-allowed",
    )

    assert allowed.wait(LONG + 10) == 0, allowed.stderr()
    assert [parse_etale(line)[3] for line in allowed.all_lines] == [[b"secret data"]] * 2
    assert denied.wait(SHORT + 10) == 1, denied.stderr()
    assert denied.all_lines == []
    assert "emz: timeout" in denied.stderr()
    # The denied listener did complete the CURVE handshake up to ZAP, and was refused
    # there, under its own key; the allowed one was admitted under its own.
    log = pub.stderr()
    assert f"zap 400 {other_public}" in log, log
    assert f"zap 200 {allowed_public}" in log, log


# ---- Z85 keys that look like options --------------------------------------------------------


def dash_keypair(public, secret):
    """A key pair whose public and/or secret key begins with "-"."""
    while True:
        pair = keypair()
        if (not public or pair[0].startswith("-")) and (not secret or pair[1].startswith("-")):
            return pair


def test_keys_beginning_with_dash(emz, spawn):
    pub_key, pub_secret = dash_keypair(public=True, secret=True)  # ~7,000 tries, well under 1 s
    sub_public, sub_secret = dash_keypair(public=True, secret=True)
    emit, port = start_publisher(
        spawn,
        lambda port: [
            emz,
            "emit",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--whitelist",
            sub_public,
            "--title",
            "zone",
            "--every",
            "50",
            "x",
        ],
        "emz-emit",
    )
    sub = spawn(
        peer_cmd(
            "sub",
            "--secret",
            sub_secret,
            "--peer",
            f"{pub_key}@127.0.0.1:{port}",
            "--title",
            "zone",
            "--count",
            "1",
            "--timeout",
            str(LONG),
        ),
        "pyzmq-sub",
    )
    assert sub.wait(LONG + 10) == 0, sub.stderr()
    emit.kill()

    pub, port = start_publisher(
        spawn,
        lambda port: peer_cmd(
            "pub",
            "--secret",
            pub_secret,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--whitelist",
            sub_public,
            "--title",
            "zone",
            "--every",
            "50",
            "x",
        ),
        "pyzmq-pub",
    )
    listen = spawn(
        [
            emz,
            "listen",
            "--secret",
            sub_secret,
            "--peer",
            f"{pub_key}@127.0.0.1:{port}",
            "--title",
            "zone",
            "--count",
            "1",
            "--timeout",
            str(LONG),
        ],
        "emz-listen",
    )
    assert listen.wait(LONG + 10) == 0, listen.stderr()

    for tool in ([emz], peer_cmd()):
        out = subprocess.run([*tool, "public", sub_secret], capture_output=True, text=True, timeout=30, check=True)
        assert out.stdout == sub_public + "\n"


# ---- the CLI's own contract -----------------------------------------------------------------


def test_emz_help_and_errors(emz):
    r = subprocess.run([emz, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for word in ("keygen", "public", "emit", "listen", "--whitelist", "--every", "--count", "--hex", "--timeout"):
        assert word in r.stdout
    for bad in (
        [],
        ["nope"],
        ["public"],
        ["public", "not-a-key"],
        ["emit", "--title", "t"],
        ["listen", "--secret", keypair()[1], "--peer", "nokey", "--title", "t"],
        ["emit", "--secret", keypair()[1], "--title", "t", "--hex", "zz"],
    ):
        r = subprocess.run([emz, *bad], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (bad, r)
        assert r.stderr.startswith("emz: "), (bad, r.stderr)
