"""The Life demos of the three faces in a pseudo-terminal: a terminal too small for the grid
gets a message naming both sizes (never a silently clipped grid), `--fit` fits an 80x24
terminal, and `V` shows its current state in the hint."""

import os
import sys
import time

import pytest
import recipes
from conftest import ROOT


def free_ports(n: int) -> int:
    """The first of n consecutive free TCP ports on 127.0.0.1 (the one helper of tests/faces.py)."""
    import faces

    return faces.free_ports(n)


def demo(face: str, base: int) -> list[str]:
    """The command of each face's demo, playing Mary (the C demo plays one realm)."""
    python = os.environ.get("EMZ_PYTHON", sys.executable)
    return {
        "rust": [str(ROOT / "target/debug/examples/life"), "--realm", "mary"],
        "c": [str(ROOT / "target/capi/bin/life"), "--realm", "mary"],
        "python": [python, "-m", "emyzelium", "demo", "--realm", "mary"],
    }[face] + ["--base-port", str(base)]


# What the default 16x48 grid needs in each face: columns x rows.
NEEDS = {"rust": "50x25", "c": "48x22", "python": "52x23"}
FACES = list(NEEDS)


def present(face: str) -> None:
    exe = demo(face, 1)[0]
    if face != "python" and not os.access(exe, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exe} is not built (tests/readme/run.sh builds it)")
        pytest.skip(f"{exe} is not built (tests/readme/run.sh builds it)")


def play(face: str, size: tuple[int, int], *flags: str) -> recipes.Run:
    present(face)
    return recipes.Run(demo(face, free_ports(3)) + list(flags), cwd=ROOT, tty=size)


def quit_and_wait(run: recipes.Run, deadline: float) -> None:
    try:
        run.send("q")
        rc = run.finish(deadline)
    finally:
        run.stop()
    assert rc == 0, f"exit status {rc}; output:\n{run.tail()}"


@pytest.mark.parametrize("face", FACES)
def test_too_small_terminal_says_so(face):
    deadline = time.monotonic() + 60
    run = play(face, (40, 10))
    try:
        run.expect(f"terminal too small: need {NEEDS[face]}, have 40x10 (try --fit)", deadline)
    finally:
        quit_and_wait(run, deadline)
    assert "|" not in run.text().split("terminal too small")[1], "a clipped grid was drawn too"


@pytest.mark.parametrize("face", FACES)
def test_fit_fills_80x24_and_v_shows_its_state(face):
    deadline = time.monotonic() + 60
    run = play(face, (80, 24), "--fit")
    try:
        run.expect("peers: shown", deadline)
        run.send("v")
        run.expect("hidden", deadline)
        run.send("V")
        run.expect("shown", deadline)
    finally:
        quit_and_wait(run, deadline)
    assert "too small" not in run.text()
