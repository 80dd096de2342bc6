"""Python against other implementations in other processes: the Rust `emz` CLI, the Rust
Life realms, and the independent pyzmq peer of tests/wire (wire compatibility)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import emyzelium as emz
from conftest import LONG, SHORT, free_port, free_ports, pump

T_OUT = 0x0123456789ABCDEF  # distinct bytes: a byte-order mistake cannot go unnoticed
PY_CLI = [sys.executable, "-m", "emyzelium"]


def ready_port(proc) -> int:
    line = proc.next_line()
    assert line.startswith("ready "), line
    return int(line.split()[1])


def receive(ef: emz.Efunguz, etale: emz.Etale, want: list[bytes], timeout: float = LONG) -> None:
    assert pump([ef], lambda: etale.parts == want, timeout), f"got {etale.parts!r}, want {want!r}"


def emit_until_line(ef: emz.Efunguz, proc, title: str, parts: list[bytes], t_out: int | None = None) -> str:
    """Emits until the listening process prints a line (it joins at some point)."""
    end = time.monotonic() + LONG
    while time.monotonic() < end:
        ef.emit_etale(title, parts, t_out)
        ef.wait(0.05)
        try:
            return proc.lines.get_nowait() or ""
        except Exception:  # noqa: BLE001 - queue.Empty
            pass
    raise AssertionError(f"{proc.cmd[:3]} printed nothing; stderr: {''.join(proc.err)}")


def expected_line(title: str, t_out: int, parts: list[bytes]) -> list[str]:
    return ["etale", title, str(t_out), "*", str(len(parts))] + [p.hex() if p else "-" for p in parts]


def check_line(line: str, title: str, t_out: int | None, parts: list[bytes]) -> None:
    f = line.split(" ")
    assert f[0] == "etale" and f[1] == title, line
    if t_out is not None:
        assert int(f[2]) == t_out, line
    assert int(f[3]) > 0 and int(f[4]) == len(parts), line
    assert f[5:] == [p.hex() if p else "-" for p in parts], line


PARTS = [b"\x00\x01binary\xff", b"", "ünïcode".encode(), bytes(range(256)) * 40]


# ---- Rust (emz CLI) -------------------------------------------------------------------------


def test_rust_emits_python_receives(emz_bin, procs):
    pub_key, pub_secret = emz.keypair()
    p = procs([emz_bin, "emit", "--secret", pub_secret, "--bind", "127.0.0.1", "--port", "0", "--title", "zone",
               "--every", "20", "--hex", "--", *[x.hex() or "-" for x in PARTS]])
    port = ready_port(p)
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        t = ef.add_ehypha_direct(pub_key, "127.0.0.1", port).add_etale("zone")
        receive(ef, t, PARTS)
        assert t.t_out > 0 and t.t_in >= t.t_out - 1_000_000


def test_python_emits_rust_receives(emz_bin, procs):
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        _, sub_secret = emz.keypair()
        p = procs([emz_bin, "listen", "--secret", sub_secret, "--peer", f"{ef.public_key}@127.0.0.1:{ef.port}",
                   "--title", "zone", "--count", "1", "--timeout", str(LONG)])
        check_line(emit_until_line(ef, p, "zone", PARTS, T_OUT), "zone", T_OUT, PARTS)


def test_python_whitelist_denies_rust(emz_bin, procs):
    friend, _ = emz.keypair()
    with emz.Efunguz(emz.keypair()[1], [friend], port=0, bind_host="127.0.0.1") as ef:
        _, stranger = emz.keypair()
        p = procs([emz_bin, "listen", "--secret", stranger, "--peer", f"{ef.public_key}@127.0.0.1:{ef.port}",
                   "--title", "t", "--count", "1", "--timeout", str(SHORT + 1)])
        end = time.monotonic() + SHORT + 2
        while p.p.poll() is None and time.monotonic() < end:
            ef.emit_etale("t", [b"secret"])
            ef.wait(0.05)
        assert p.p.wait(5) == 1  # timed out: nothing received
        assert ef.in_attempted >= 1 and ef.in_permitted == 0


def test_python_cli_and_rust_cli(emz_bin, procs):
    """`emyzelium emit` -> `emz listen`, and `emz emit` -> `emyzelium listen`."""
    pk, sk = emz.keypair()
    p = procs([*PY_CLI, "emit", "--secret", sk, "--bind", "127.0.0.1", "--port", "0", "--title", "a", "--every", "20",
               "--hex", "--", "00ff", "-", "61"])
    port = ready_port(p)
    lst = procs([emz_bin, "listen", "--secret", emz.keypair()[1], "--peer", f"{pk}@127.0.0.1:{port}", "--title", "a",
                 "--count", "1", "--timeout", str(LONG)])
    check_line(lst.next_line(), "a", None, [b"\x00\xff", b"", b"a"])

    pk2, sk2 = emz.keypair()
    e = procs([emz_bin, "emit", "--secret", sk2, "--bind", "127.0.0.1", "--port", "0", "--title", "b", "--every", "20",
               "hello", "wörld"])
    port2 = ready_port(e)
    lst2 = procs([*PY_CLI, "listen", "--peer", f"{pk2}@127.0.0.1:{port2}", "--title", "b", "--count", "1",
                  "--timeout", str(LONG)])
    check_line(lst2.next_line(), "b", None, [b"hello", "wörld".encode()])
    assert lst2.p.wait(LONG) == 0


def test_python_cli_stdin_once_and_keygen(procs):
    out = subprocess.run([*PY_CLI, "keygen"], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "public:" and out[2] == "secret:" and emz.public_key(out[3]) == out[1]
    pub = subprocess.run([*PY_CLI, "public", out[3]], capture_output=True, text=True, check=True).stdout.strip()
    assert pub == out[1]
    # a key that begins with "-" must not be taken for an option
    dashes = subprocess.run([*PY_CLI, "public", "-" * 40], capture_output=True, text=True)  # valid Z85
    assert dashes.returncode == 0 and emz.is_valid_key(dashes.stdout.strip())
    # emit from stdin; late subscribers still get the latest etale (the publisher keeps it)
    pk, sk = emz.keypair()
    p = procs([*PY_CLI, "emit", "--secret", sk, "--bind", "127.0.0.1", "--port", "0", "--title", "s", "--stdin",
               "--linger", str(LONG)], stdin=subprocess.PIPE)
    port = ready_port(p)
    assert p.p.stdin is not None
    p.p.stdin.write(b"first line\nsecond line\n")
    p.p.stdin.close()
    lst = procs([*PY_CLI, "listen", "--peer", f"{pk}@127.0.0.1:{port}", "--title", "s", "--count", "1", "--text",
                 "--timeout", str(LONG)])
    line = lst.next_line().split(" ")
    assert line[1] == "s" and line[5] == "second\\x20line", line
    bad = subprocess.run([*PY_CLI, "listen", "--peer", "nokey@127.0.0.1:1", "--title", "t"], capture_output=True)
    assert bad.returncode == 2


# ---- Life: Python realms with Rust realms ---------------------------------------------------


@pytest.mark.parametrize("python_realms,rust_realms", [("mary", "alien,john"), ("alien,john", "mary")])
def test_life_python_and_rust_realms(life_bin, procs, python_realms, rust_realms):
    base = free_ports(3)
    rust = procs([life_bin, "--headless", "2000", "--realms", rust_realms, "--base-port", str(base),
                  "--linger", "3"])
    py = subprocess.run([*PY_CLI, "demo", "--headless", "2000", "--realms", python_realms, "--base-port", str(base),
                         "--linger", "3"], capture_output=True, text=True, timeout=120)
    assert py.returncode == 0, py.stdout + py.stderr
    assert rust.p.wait(60) == 0, "".join(rust.err)
    assert "exchanged zones with both peers" in py.stdout


# ---- the independent pyzmq peer (tests/wire/pyzmq_peer.py) ----------------------------------


def test_pyzmq_peer_emits_python_receives(pyzmq_peer, procs):
    pk, sk = emz.keypair()
    p = procs([*pyzmq_peer, "pub", "--secret", sk, "--bind", "127.0.0.1", "--port", "0", "--title", "zone",
               "--title", "", "--every", "20", "--t-out", str(T_OUT), "--hex", *[x.hex() or "-" for x in PARTS]])
    port = ready_port(p)
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        eh = ef.add_ehypha_direct(pk, "127.0.0.1", port)
        zone, empty = eh.add_etale("zone"), eh.add_etale("")
        receive(ef, zone, PARTS)
        receive(ef, empty, PARTS)
        assert zone.t_out == T_OUT and empty.t_out == T_OUT
        assert ef.stats.malformed == 0


def test_python_emits_pyzmq_peer_receives(pyzmq_peer, procs):
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        p = procs([*pyzmq_peer, "sub", "--secret", emz.keypair()[1], "--peer", f"{ef.public_key}@127.0.0.1:{ef.port}",
                   "--title", "zone", "--count", "1", "--timeout", str(LONG)])
        check_line(emit_until_line(ef, p, "zone", PARTS, T_OUT), "zone", T_OUT, PARTS)
        # the peer prints every message it gets: nothing under other titles may arrive
        ef.emit_etale("zone2", [b"x"])
        ef.emit_etale("zon", [b"x"])
        assert p.p.wait(LONG) == 0


def test_python_whitelist_denies_pyzmq_peer(pyzmq_peer, procs):
    friend_pk, friend_sk = emz.keypair()
    with emz.Efunguz(emz.keypair()[1], [friend_pk], port=0, bind_host="127.0.0.1") as ef:
        stranger = procs([*pyzmq_peer, "sub", "--secret", emz.keypair()[1], "--peer",
                          f"{ef.public_key}@127.0.0.1:{ef.port}", "--title", "t", "--count", "1",
                          "--timeout", str(SHORT + 1)])
        friend = procs([*pyzmq_peer, "sub", "--secret", friend_sk, "--peer", f"{ef.public_key}@127.0.0.1:{ef.port}",
                        "--title", "t", "--count", "1", "--timeout", str(LONG)])
        check_line(emit_until_line(ef, friend, "t", [b"ok"]), "t", None, [b"ok"])
        end = time.monotonic() + SHORT + 3
        while stranger.p.poll() is None and time.monotonic() < end:
            ef.emit_etale("t", [b"ok"])
            ef.wait(0.05)
        assert stranger.p.wait(5) == 1
        assert ef.in_permitted == 1


def test_malformed_from_pyzmq_are_dropped_and_counted():
    """A raw pyzmq CURVE publisher sends frames outside the wire format."""
    import struct

    import zmq

    pk, sk = (k.decode() for k in zmq.curve_keypair())
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    pub.curve_server = 1
    pub.curve_secretkey = sk.encode()
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    try:
        with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
            t = ef.add_ehypha_direct(pk, "127.0.0.1", port).add_etale("t")
            good = [b"t\0", struct.pack("<q", T_OUT), b"good"]

            def send_all() -> bool:
                pub.send_multipart([b"t\0", b"short"])  # t_out not 8 bytes
                pub.send_multipart([b"t\0"])  # no t_out
                pub.send_multipart(good)
                return t.parts == [b"good"] and ef.stats.malformed >= 2

            assert pump([ef], send_all)
            assert t.t_out == T_OUT
    finally:
        pub.close(0)
        ctx.term()
