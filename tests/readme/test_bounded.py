"""README promises a test command that always ends: `bounded` (tests/lib.sh), which every
step of tests/run-all.sh runs under, ends a step at its limit and, when the script itself is
stopped, the step's whole process group with it."""

import os
import signal
import subprocess
import time

from conftest import ROOT

LIB = ROOT / "tests" / "lib.sh"


def default_signals() -> None:
    """In the child: SIGINT and SIGTERM back to their defaults."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def script(body: str) -> list[str]:
    return ["bash", "-c", f"set -euo pipefail\n. '{LIB}'\n{body}"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_step_past_its_limit_fails_and_is_gone(tmp_path):
    pid_file = tmp_path / "pid"
    t0 = time.monotonic()
    r = subprocess.run(
        script(f"bounded 1 bash -c 'sleep 60 & echo $! > {pid_file}; wait'"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 124, (r.returncode, r.stderr)
    assert "time limit of 1 s reached" in r.stderr
    assert time.monotonic() - t0 < 15
    assert not alive(int(pid_file.read_text()))  # the step's child went with it


def test_a_step_keeps_its_status():
    assert subprocess.run(script("bounded 10 true"), timeout=30).returncode == 0
    assert subprocess.run(script("bounded 10 bash -c 'exit 3'"), timeout=30).returncode == 3


def test_stopping_the_script_stops_the_step(tmp_path):
    pid_file = tmp_path / "pid"
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        pid_file.unlink(missing_ok=True)
        # As from a terminal: a shell started with a signal ignored cannot trap it, and
        # this suite may itself run in the background with SIGINT ignored.
        p = subprocess.Popen(
            script(f"bounded 60 bash -c 'sleep 60 & echo $! > {pid_file}; wait'\necho not reached"),
            preexec_fn=default_signals,
        )
        end = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < end:
            time.sleep(0.05)
        os.kill(p.pid, sig)
        assert p.wait(30) == want
        deadline = time.monotonic() + 5
        while alive(int(pid_file.read_text())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(int(pid_file.read_text())), f"the step outlived the script ({sig.name})"
