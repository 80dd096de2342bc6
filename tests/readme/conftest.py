"""Shared pieces of the README and Life-terminal tests (tests/readme/run.sh builds what they
run and puts the wheel's venv first on PATH)."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a fresh shell at the root of the tree, plus CI's settings."""
    return dict(os.environ)
