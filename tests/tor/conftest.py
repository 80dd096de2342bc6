"""Fixtures of the end-to-end Tor tests.

The private Tor network is started once per run: by tests/run-tor.sh (which passes
TORNET_JSON, the file tornet.py wrote), or, when TORNET_JSON is unset, by the `tornet`
fixture itself (and stopped at the end of the session).

Faces — the implementations whose efungi take part — are described in tests/faces.py.
"""

import json
import os
import signal
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faces as peers  # noqa: E402
import tornet  # noqa: E402

METRICS = {}
N_ONIONS = 6  # fixed HiddenServiceDir onions the network provides (hs0..hs5)


def _watch_parent():
    """When run-tor.sh dies (its tors then go too), stop the session like Ctrl-C does, so
    fixtures stop their processes instead of tests running on against a dead network."""
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGINT)
            return


if os.environ.get("TORNET_JSON"):
    # A background job of a script inherits SIGINT ignored: take it back for the watchdog.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=_watch_parent, daemon=True).start()


@pytest.fixture(scope="session")
def tornet_info():
    path = os.environ.get("TORNET_JSON")
    if path:
        with open(path) as f:
            yield json.load(f)
        return
    root = tempfile.mkdtemp(prefix="emz-tornet-")
    info = tornet.start(root, owner_pid=os.getpid(), n_onions=N_ONIONS)
    try:
        yield info
    finally:
        tornet.stop(root)


@pytest.fixture
def procs():
    """Starts processes and stops every one of them (by PID) when the test ends."""
    group = peers.Procs()
    try:
        yield group
    finally:
        group.stop_all()


@pytest.fixture(scope="session")
def metrics():
    return METRICS


def pytest_terminal_summary(terminalreporter):
    if not METRICS:
        return
    terminalreporter.section("Tor measurements")
    for k, v in METRICS.items():
        terminalreporter.write_line(f"{k}: {v}")
    out = os.environ.get("TOR_METRICS_FILE")
    if out:
        with open(out, "w") as f:
            json.dump(METRICS, f, indent=2)


def pytest_collection_modifyitems(items):
    """A first etale through Tor may take minutes (listeners wait up to 3 × 120 s): these
    tests get a longer limit than pytest.ini's default, unless they name their own."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(900))
