"""Faces of emyzelium: each implementation's command-line peer, run as a process.

Both end-to-end suites use them: tests/cross (every face to every face over loopback) and
tests/tor (the same over a private Tor network). Every face speaks the protocol of the
Rust `emz` on the command line:

    emit   --secret S --title T --port P --bind 127.0.0.1 [--whitelist K]... --every MS
           [--hex] [--] PART...
           prints `ready <port>` (and, with --tor-control, `onion <service id>`)
    listen --secret S --peer KEY@HOST:PORT --title T [--count N] [--timeout SECS]
           [--tor-proxy HOST:PORT]
           prints `etale <title> <t_out> <t_in> <n_parts> <hex part>...` per etale,
           exits 1 on timeout; a HOST ending in .onion goes through Tor

and each has a Life demo whose realms (alien, john, mary) find each other on loopback
ports base, base+1, base+2 (`Face.life`).

To add a face, add a discovery function to `faces()` below: its argv prefix, its Life
command and whether it can create ephemeral onions (`--tor-control`). Every cross-face
test then uses it. EMZ_FACES=rust,python,c (or, for the Tor suite, EMZ_TOR_FACES) makes
the listed faces mandatory: a missing one is an error, not a silent omission. The faces are
discovered on first use of FACES or MISSING, so importing this module only for its port
helpers (`port_free`, `free_ports`: tests/wire, tests/tor/tornet.py, tests/lib.sh) starts
no process.
"""

import ctypes
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


class Face:
    """`argv`: the command-line peer; `verbs`: its names for `emit` / `listen` where they
    differ; `life(realms, base, frames, linger)`: the argv lists of processes that run those
    Life realms headless (None when the face has no Life demo built)."""

    def __init__(self, name, argv, env=None, tor_control=False, life=None, verbs=None):
        self.name, self.argv, self.env, self.tor_control = name, argv, env or {}, tor_control
        self.life, self.verbs = life, verbs or {}

    def command(self, args):
        """The argv of `args` (a verb, then its options) for this face."""
        return self.argv + [self.verbs.get(args[0], args[0])] + list(args[1:])

    def __repr__(self):
        return self.name


def _rust():
    exe = os.environ.get("EMZ_BIN", os.path.join(ROOT, "target", "debug", "emz"))
    if not os.access(exe, os.X_OK):
        return None, f"no emz binary at {exe} (cargo build -p emyzelium --bin emz)"
    life = os.environ.get("EMZ_LIFE", os.path.join(ROOT, "target", "debug", "examples", "life"))

    def run_life(realms, base, frames, linger):
        return [
            [
                life,
                "--headless",
                str(frames),
                "--realms",
                ",".join(realms),
                "--base-port",
                str(base),
                "--linger",
                str(linger),
            ]
        ]

    return Face("rust", [exe], tor_control=True, life=run_life if os.access(life, os.X_OK) else None), None


def _python():
    """The wheel installed by tests/run-py.sh (tests/.tmp/py-fresh), else a development
    build in the source tree (maturin develop), else EMZ_PYTHON."""
    fresh = os.path.join(ROOT, "tests", ".tmp", "py-fresh", "bin", "python")
    candidates = [(os.environ["EMZ_PYTHON"], {})] if os.environ.get("EMZ_PYTHON") else []
    candidates += [(fresh, {}), (sys.executable, {"PYTHONPATH": os.path.join(ROOT, "emz-py", "python")})]
    why = []
    for py, env in candidates:
        if not os.access(py, os.X_OK):
            why.append(f"{py}: absent")
            continue
        r = subprocess.run(
            [py, "-c", "import emyzelium._emyzelium"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            cwd="/",
        )
        if r.returncode == 0:
            h = subprocess.run(
                [py, "-m", "emyzelium", "emit", "--help"],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                cwd="/",
            )

            def run_life(realms, base, frames, linger, py=py):
                return [
                    [
                        py,
                        "-m",
                        "emyzelium",
                        "demo",
                        "--headless",
                        str(frames),
                        "--realms",
                        ",".join(realms),
                        "--base-port",
                        str(base),
                        "--linger",
                        str(linger),
                    ]
                ]

            return Face(
                "python", [py, "-m", "emyzelium"], env=env, tor_control="--tor-control" in h.stdout, life=run_life
            ), None
        why.append(f"{py}: {r.stderr.strip().splitlines()[-1:]}")
    return None, "Python module emyzelium not importable (run tests/run-py.sh): " + "; ".join(why)


def _c():
    exe = os.environ.get("EMZ_C_PEER", os.path.join(ROOT, "tests", ".tmp", "emz-c-peer"))
    if not os.access(exe, os.X_OK):
        return None, f"no C peer at {exe}"
    life = os.environ.get("EMZ_C_LIFE", os.path.join(ROOT, "target", "capi", "bin", "life"))

    def run_life(realms, base, frames, linger):
        # The C demo runs one realm per process.
        return [
            [life, "--headless", str(frames), "--realm", r, "--base-port", str(base), "--linger", str(linger)]
            for r in realms
        ]

    return Face("c", [exe], tor_control=True, life=run_life if os.access(life, os.X_OK) else None), None


def faces():
    """(available faces, {name: why not available}); EMZ_FACES, else EMZ_TOR_FACES, names
    the mandatory ones (default: rust)."""
    found, missing = [], {}
    for name, fn in (("rust", _rust), ("python", _python), ("c", _c)):
        f, why = fn()
        if f:
            found.append(f)
        else:
            missing[name] = why
    names = os.environ.get("EMZ_FACES") or os.environ.get("EMZ_TOR_FACES") or "rust"
    required = [x for x in names.split(",") if x]
    absent = [x for x in required if x in missing]
    if absent:
        raise RuntimeError("required faces missing: " + "; ".join(f"{x}: {missing[x]}" for x in absent))
    return found, missing


def keypair():
    """A CURVE key pair (public, secret), from any face's keygen."""
    f = _discovered()[0][0]
    out = subprocess.run(
        f.argv + ["keygen"], env={**os.environ, **f.env}, capture_output=True, text=True, check=True
    ).stdout
    kv = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return kv["public"], kv["secret"]


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies (PR_SET_PDEATHSIG),
    so no peer outlives a killed test run."""
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


class Proc:
    """A running peer; its stdout lines are collected (with arrival times) by a thread."""

    def __init__(self, argv, env, name, cwd=None):
        self.name = name
        self.t_start = time.time()
        self.p = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            bufsize=1,
            preexec_fn=_die_with_parent,
            cwd=cwd,
        )
        self.lines = queue.Queue()
        self.all_lines = []
        self.stderr = []
        threading.Thread(target=self._read, args=(self.p.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.p.stderr, False), daemon=True).start()
        self.rusage = None

    def _read(self, stream, is_out):
        for line in stream:
            if is_out:
                item = (time.time(), line.rstrip("\n"))
                self.all_lines.append(item)
                self.lines.put(item)
            else:
                self.stderr.append(line.rstrip("\n"))

    def next_line(self, timeout):
        """The next stdout line as (arrival time, text); raises on timeout or exit."""
        deadline = time.time() + timeout
        while True:
            try:
                return self.lines.get(timeout=min(0.2, max(0.0, deadline - time.time())))
            except queue.Empty:
                if self.p.poll() is not None and self.lines.empty():
                    time.sleep(0.1)
                    if self.lines.empty():
                        raise AssertionError(
                            f"{self.name} exited ({self.p.returncode}) before the next line; stderr: {self.stderr[-5:]}"
                        ) from None
                if time.time() >= deadline:
                    raise AssertionError(
                        f"{self.name}: no line within {timeout} s; stderr: {self.stderr[-5:]}"
                    ) from None

    def expect(self, prefix, timeout):
        while True:
            t, line = self.next_line(timeout)
            if line.startswith(prefix):
                return t, line

    def wait_exit(self, timeout):
        """Waits for exit, collecting the child's resource usage; returns the exit code."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                self.rusage = ru
                self.p.returncode = os.waitstatus_to_exitcode(status)
                time.sleep(0.1)  # let the reader threads drain the pipes
                return self.p.returncode
            time.sleep(0.05)
        raise AssertionError(f"{self.name} still running after {timeout} s")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


class Procs:
    def __init__(self):
        self.all = []

    def start(self, face, args, name=None, cwd=None):
        return self.run(face.command(args), face.env, name or f"{face.name} {args[0]}", cwd=cwd)

    def run(self, argv, env=None, name=None, cwd=None):
        p = Proc(argv, env or {}, name or os.path.basename(argv[0]), cwd=cwd)
        self.all.append(p)
        return p

    def stop_all(self):
        for p in self.all:
            p.stop()


def parse_etale(line):
    """`etale T t_out t_in n parts...` -> (title, t_out, t_in, [bytes...])."""
    f = line.split(" ")
    assert f[0] == "etale", line
    parts = [b"" if x == "-" else bytes.fromhex(x) for x in f[5:]]
    return f[1], int(f[2]), int(f[3]), parts


def have(cmd):
    return shutil.which(cmd) is not None


def port_free(port, host="127.0.0.1"):
    """Whether a listener can bind host:port now. With SO_REUSEADDR, as libzmq and tor bind,
    so a port whose last connection lingers in TIME_WAIT counts as free."""
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n=1, host="127.0.0.1"):
    """A base port with n consecutive free ports on host (the Life realms need 3), the base
    picked by the kernel. Another process may take a port before the caller binds it: callers
    that can, retry on "address in use"."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((host, 0))
            base = s.getsockname()[1]
        if base + n - 1 <= 65535 and all(port_free(base + k, host) for k in range(n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports on {host}")


_found = None


def _discovered():
    """faces(), run once: it starts processes and may raise, so only when a test needs faces."""
    global _found
    if _found is None:
        _found = faces()
    return _found


def __getattr__(name):
    """FACES (the available faces) and MISSING ({name: why not available}), discovered on first use."""
    if name == "FACES":
        return _discovered()[0]
    if name == "MISSING":
        return _discovered()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
