"""Shared helpers of the Python tests (run by tests/run-py.sh against the installed wheel)."""

from __future__ import annotations

import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable

import emyzelium as emz
import pytest

LONG = 20.0  # seconds a positive case may take at most (slow shared machines)
SHORT = 1.5  # seconds a denied subscriber waits before concluding it gets nothing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pump(efs: list[emz.Efunguz], until: Callable[[], bool], timeout: float = LONG) -> bool:
    """Updates every efunguz until `until()` holds or `timeout` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for ef in efs:
            ef.update()
        if until():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def pair():
    """A publisher and a subscriber on loopback, both closed afterwards."""
    pub_key, pub_secret = emz.keypair()
    sub_key, sub_secret = emz.keypair()
    pub = emz.Efunguz(pub_secret, port=0, bind_host="127.0.0.1")
    sub = emz.Efunguz(sub_secret, port=0, bind_host="127.0.0.1")
    yield pub, sub
    pub.close()
    sub.close()


class Proc:
    """A child process whose stdout lines a thread collects; stderr kept for messages."""

    def __init__(self, cmd: list[str], stdin: int | None = subprocess.DEVNULL) -> None:
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for raw in self.p.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.p.stderr is not None
        for raw in self.p.stderr:
            self.err.append(raw.decode("utf-8", "replace"))

    def next_line(self, timeout: float = LONG) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from {self.cmd[:3]} in {timeout} s; stderr: {''.join(self.err)}") from None
        if line is None:
            raise AssertionError(f"{self.cmd[:3]} ended (rc {self.p.poll()}); stderr: {''.join(self.err)}")
        return line

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


@pytest.fixture
def procs():
    started: list[Proc] = []

    def start(cmd: list[str], **kw) -> Proc:
        p = Proc(cmd, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()
