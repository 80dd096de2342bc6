"""The ``emyzelium`` command, run in process: keys that begin with "-" are values, not options."""

from __future__ import annotations

import emyzelium as emz
import pytest
from emyzelium.__main__ import main


def dash_keypair() -> tuple[str, str]:
    """A key pair whose public and secret keys both begin with "-" (1 in 85² tries)."""
    for _ in range(200_000):
        public, secret = emz.keypair()
        if public.startswith("-") and secret.startswith("-"):
            return public, secret
    raise AssertionError("no key pair beginning with '-' found")


def test_keys_beginning_with_a_dash(capsys: pytest.CaptureFixture[str]) -> None:
    public, secret = dash_keypair()
    assert main(["public", secret]) == 0
    assert capsys.readouterr().out.strip() == public
    # Every option taking a value takes a dash key, whatever its subcommand; listening to
    # nobody times out (1) instead of failing on usage (2).
    peer = f"{public}@127.0.0.1:1"
    assert main(["listen", "--secret", secret, "--peer", peer, "--title", "t", "--timeout", "0.1"]) == 1
    assert "timeout" in capsys.readouterr().err


def test_bad_usage_and_bad_addresses_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    public, secret = emz.keypair()
    with pytest.raises(SystemExit) as ei:
        main(["listen", "--secret", secret, "--peer", "nokey@127.0.0.1:1", "--title", "t", "--count", "x"])
    assert ei.value.code == 2
    assert main(["listen", "--secret", secret, "--peer", "nokey@127.0.0.1:1", "--title", "t"]) == 2
    assert "KEY@HOST:PORT" in capsys.readouterr().err
    for address in ("127.0.0.1", "127.0.0.1:x", "abc.onion:80", "127.0.0.1:0"):
        args = ["listen", "--secret", secret, "--peer", f"{public}@{address}", "--title", "t", "--timeout", "0.1"]
        assert main(args) == 2
        assert "emyzelium: invalid" in capsys.readouterr().err
