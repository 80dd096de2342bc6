"""Fixtures of the loopback cross-face tests (tests/cross/run.sh builds what they run).

The faces come from tests/faces.py (shared with tests/tor); next to them the independent
pyzmq peer of tests/wire takes part as one more peer, so every face also meets an
implementation of the wire format that is not emyzelium.
"""

import os
import socket
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import faces  # noqa: E402


@pytest.fixture
def procs():
    """Starts processes and stops every one of them (by PID) when the test ends."""
    group = faces.Procs()
    try:
        yield group
    finally:
        group.stop_all()


def free_ports(n):
    """A base port with n consecutive free loopback ports (the Life realms need 3)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        held = []
        try:
            for i in range(n):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            pass
        finally:
            for s in held:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports on 127.0.0.1")
