"""The Python command line on its own (keygen, public, emit from stdin, bad arguments), and
the Python API against frames outside the wire format from a raw pyzmq publisher. The
Python face against the other faces and the independent pyzmq peer is tests/cross."""

from __future__ import annotations

import subprocess
import sys

import emyzelium as emz
from conftest import LONG, pump

T_OUT = 0x0123456789ABCDEF  # distinct bytes: a byte-order mistake cannot go unnoticed
PY_CLI = [sys.executable, "-m", "emyzelium"]


def ready_port(proc) -> int:
    line = proc.next_line()
    assert line.startswith("ready "), line
    return int(line.split()[1])


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
    p = procs(
        [
            *PY_CLI,
            "emit",
            "--secret",
            sk,
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--title",
            "s",
            "--stdin",
            "--everyone",
            "--linger",
            str(LONG),
        ],
        stdin=subprocess.PIPE,
    )
    port = ready_port(p)
    assert p.p.stdin is not None
    p.p.stdin.write(b"first line\nsecond line\n")
    p.p.stdin.close()
    lst = procs(
        [
            *PY_CLI,
            "listen",
            "--secret",
            emz.keypair()[1],
            "--peer",
            f"{pk}@127.0.0.1:{port}",
            "--title",
            "s",
            "--count",
            "1",
            "--text",
            "--timeout",
            str(LONG),
        ]
    )
    line = lst.next_line().split(" ")
    assert line[1] == "s" and line[5] == "second\\x20line", line
    bad = subprocess.run(
        [*PY_CLI, "listen", "--secret", sk, "--peer", "nokey@127.0.0.1:1", "--title", "t"], capture_output=True
    )
    assert bad.returncode == 2


def emit_cmd(*opts: str) -> list[str]:
    return [
        *PY_CLI,
        "emit",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--title",
        "t",
        "--every",
        "20",
        *opts,
        "--linger",
        "0",
    ]


def listen_cmd(pk: str, port: int, *opts: str, timeout: float = LONG) -> list[str]:
    return [*PY_CLI, "listen", "--peer", f"{pk}@127.0.0.1:{port}", "--title", "t", "--count", "1", "--text"] + [
        "--timeout",
        str(timeout),
        *opts,
    ]


def test_python_cli_access_and_secret_sources(procs, tmp_path, monkeypatch):
    """--everyone opens, neither it nor --whitelist admits nobody, and the own secret comes
    from --secret-file (a readable-by-others file draws a warning) or $EMZ_SECRET."""
    pk, sk = emz.keypair()
    friend_pk, friend_sk = emz.keypair()
    # EMZ_SECRET: the emitter's public key is the one of the secret in the environment.
    monkeypatch.setenv("EMZ_SECRET", sk)
    open_emit = procs(emit_cmd("--everyone", "--", "hello"))
    port = ready_port(open_emit)
    monkeypatch.delenv("EMZ_SECRET")
    # No secret at all: refused, as `emz` does, rather than a made-up key nobody can list.
    nosecret = subprocess.run(listen_cmd(pk, port), capture_output=True, text=True, timeout=LONG)
    assert nosecret.returncode == 2 and "EMZ_SECRET" in nosecret.stderr and not nosecret.stdout, nosecret
    got = procs(listen_cmd(pk, port, "--secret", emz.keypair()[1])).next_line().split(" ")
    assert got[1] == "t" and got[5] == "hello", got

    # Neither --whitelist nor --everyone: refused before binding, as `emz emit` does.
    closed = subprocess.run(emit_cmd("--secret", sk, "--", "closed"), capture_output=True, text=True, timeout=LONG)
    assert closed.returncode == 2 and "ready" not in closed.stdout and "nobody could subscribe" in closed.stderr

    # --secret-file, in keygen's format and as the key alone; the whitelisted listener gets in.
    f = tmp_path / "friend.key"
    f.write_text(f"# the friend\npublic: {friend_pk}\nsecret: {friend_sk}\n")
    f.chmod(0o600)
    wl_emit = procs(emit_cmd("--secret", sk, "--whitelist", friend_pk, "--", "listed"))
    port = ready_port(wl_emit)
    ok = subprocess.run(listen_cmd(pk, port, "--secret-file", str(f)), capture_output=True, text=True, timeout=LONG)
    assert ok.returncode == 0 and ok.stdout.split(" ")[5] == "listed", ok
    assert "warning" not in ok.stderr
    g = tmp_path / "loose.key"
    g.write_text(friend_sk + "\n")
    g.chmod(0o644)
    loose = subprocess.run(listen_cmd(pk, port, "--secret-file", str(g)), capture_output=True, text=True, timeout=LONG)
    assert loose.returncode == 0 and "may be read by others" in loose.stderr, loose

    # Bad uses: both sources, a missing or malformed file, --everyone with --whitelist.
    for bad in (
        ["--secret", sk, "--secret-file", str(f)],
        ["--secret-file", str(tmp_path / "missing")],
        ["--everyone", "--whitelist", friend_pk],
    ):
        r = subprocess.run(emit_cmd(*bad), capture_output=True, text=True, timeout=LONG)
        assert r.returncode == 2 and "ready" not in r.stdout, (bad, r)
    h = tmp_path / "two.key"
    h.write_text(f"{sk}\n{sk}\n")
    h.chmod(0o600)
    r = subprocess.run(emit_cmd("--secret-file", str(h), "--everyone"), capture_output=True, text=True, timeout=LONG)
    assert r.returncode == 2 and "one line" in r.stderr, r
    help_text = subprocess.run([*PY_CLI, "emit", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--secret-file" in help_text and "EMZ_SECRET" in help_text and "/proc" in help_text


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
