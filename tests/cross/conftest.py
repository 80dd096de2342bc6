"""Fixtures of the loopback cross-face tests (tests/cross/run.sh builds what they run).

The faces come from tests/faces.py (shared with tests/tor); next to them the independent
pyzmq peer of tests/wire takes part as one more peer, so every face also meets an
implementation of the wire format that is not emyzelium.
"""

import os
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
