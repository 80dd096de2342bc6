"""End-to-end tests of emyzelium over a private Tor network (see tornet.py).

Efungi of every available face (faces.FACES in tests/faces.py: rust, and python / c when built) publish
behind onion services (fixed HiddenServiceDir onions of the network, or ephemeral ones
made with ADD_ONION by `emz emit --tor-control`) and subscribe through the client tor's
SOCKS port, with CURVE. Measurements (creation → first etale over a fresh ephemeral onion,
per-etale latency over Tor vs direct TCP) are printed in the "Tor measurements" section.
"""

import os
import secrets
import statistics
import time

import faces as peers
import pytest
import tornet
from faces import FACES, parse_etale

FIRST_ETALE_TIMEOUT = 120  # s; measured typical 2-20 s, with rare intro/rendezvous retries


def onion(info, i):
    o = info["onions"][i]
    return o["onion"], o["virt_port"], o["target_port"]


def emit_args(secret, title, parts, port, whitelist=(), every=100, extra=()):
    a = [
        "emit",
        "--secret",
        secret,
        "--title",
        title,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--every",
        str(every),
    ]
    for k in whitelist:
        a += ["--whitelist", k]
    if not whitelist:
        a.append("--everyone")
    return a + list(extra) + ["--"] + list(parts)


def listen_args(info, secret, peer_key, host, port, title, count=None, timeout=None):
    a = [
        "listen",
        "--secret",
        secret,
        "--peer",
        f"{peer_key}@{host}:{port}",
        "--title",
        title,
        "--tor-proxy",
        f"127.0.0.1:{info['socks_port']}",
    ]
    if count is not None:
        a += ["--count", str(count)]
    if timeout is not None:
        a += ["--timeout", str(timeout)]
    return a


def face_pairs():
    return [(emitter, listener) for emitter in FACES for listener in FACES]


# ---- every face to every face over a fixed onion ---------------------------------------


@pytest.mark.parametrize("emitter,listener", face_pairs(), ids=lambda f: f.name)
def test_exchange_over_onion(tornet_info, procs, emitter, listener):
    """An efunguz behind an onion service, a subscriber through SOCKS + CURVE: the etale
    arrives intact (UTF-8 and binary parts, an empty part)."""
    pub, sec = peers.keypair()
    _, lsec = peers.keypair()
    on, virt, target = onion(tornet_info, 0)
    e = procs.start(emitter, emit_args(sec, "zone", ["hello over tor", ""], target))
    e.expect("ready", 30)
    t0 = time.time()
    lis = procs.start(
        listener, listen_args(tornet_info, lsec, pub, f"{on}.onion", virt, "zone", count=3, timeout=FIRST_ETALE_TIMEOUT)
    )
    t, line = lis.expect("etale", FIRST_ETALE_TIMEOUT + 5)
    title, t_out, t_in, parts = parse_etale(line)
    assert title == "zone" and parts == [b"hello over tor", b""]
    assert t_in >= t_out
    assert lis.wait_exit(30) == 0, lis.stderr
    print(f"{emitter.name}->{listener.name}: first etale {t - t0:.1f} s after listen started")


# ---- ephemeral onion (ADD_ONION through the control port) -------------------------------

ONION_FACES = [f for f in FACES if f.tor_control]


@pytest.mark.parametrize("emitter", ONION_FACES, ids=lambda f: f.name)
def test_ephemeral_onion_creation_to_first_etale(tornet_info, procs, metrics, emitter):
    """`emit --tor-control` creates a fresh onion (ADD_ONION through the onion tor's
    control port, cookie auth); a subscriber on the client tor gets the first etale.
    Measures efunguz creation → first etale."""
    rust = FACES[0]
    pub, sec = peers.keypair()
    _, lsec = peers.keypair()
    t0 = time.time()
    e = procs.start(
        emitter,
        emit_args(
            sec,
            "t",
            ["fresh"],
            0,
            every=50,
            extra=[
                "--tor-control",
                f"127.0.0.1:{tornet_info['onion_control_port']}",
                "--tor-cookie",
                tornet_info["onion_cookie"],
            ],
        ),
    )
    _, line = e.expect("ready", 30)
    port = int(line.split()[1])
    t_onion, line = e.expect("onion", 30)
    service_id = line.split()[1]
    assert len(service_id) == 56
    lis = procs.start(
        rust,
        listen_args(tornet_info, lsec, pub, f"{service_id}.onion", port, "t", count=1, timeout=FIRST_ETALE_TIMEOUT),
    )
    _, line = lis.expect("etale", FIRST_ETALE_TIMEOUT + 5)
    _, _, t_in, parts = parse_etale(line)
    assert parts == [b"fresh"]
    total = t_in / 1e6 - t0
    metrics[f"ephemeral onion ({emitter.name}): efunguz creation -> first etale (s)"] = round(total, 2)
    metrics[f"ephemeral onion ({emitter.name}): process start -> onion created (ms)"] = round((t_onion - t0) * 1000)
    assert lis.wait_exit(30) == 0


@pytest.mark.parametrize("emitter", ONION_FACES, ids=lambda f: f.name)
def test_ephemeral_onion_key_file_restart(tornet_info, procs, tmp_path, emitter):
    """The publisher is stopped and restarted with the same onion key file: same onion,
    and the subscriber that kept running gets the new data."""
    rust = FACES[0]
    pub, sec = peers.keypair()
    _, lsec = peers.keypair()
    keyfile = str(tmp_path / "onion.key")
    port = tornet_info["free_ports"][ONION_FACES.index(emitter)]
    ctl = [
        "--tor-control",
        f"127.0.0.1:{tornet_info['onion_control_port']}",
        "--tor-cookie",
        tornet_info["onion_cookie"],
        "--onion-key-file",
        keyfile,
    ]
    e1 = procs.start(emitter, emit_args(sec, "t", ["first"], port, every=50, extra=ctl), name="emit#1")
    e1.expect("ready", 30)
    _, line = e1.expect("onion", 30)
    sid = line.split()[1]
    assert os.stat(keyfile).st_mode & 0o077 == 0
    lis = procs.start(
        rust, listen_args(tornet_info, lsec, pub, f"{sid}.onion", port, "t", timeout=3 * FIRST_ETALE_TIMEOUT)
    )
    _, line = lis.expect("etale", FIRST_ETALE_TIMEOUT)
    assert parse_etale(line)[3] == [b"first"]
    e1.stop()
    time.sleep(1)
    t_restart = time.time()
    e2 = procs.start(emitter, emit_args(sec, "t", ["second"], port, every=50, extra=ctl), name="emit#2")
    e2.expect("ready", 30)
    _, line = e2.expect("onion", 30)
    assert line.split()[1] == sid, "the key file must give the same onion"
    deadline = time.time() + 2 * FIRST_ETALE_TIMEOUT
    while True:
        _, line = lis.expect("etale", max(1, deadline - time.time()))
        if parse_etale(line)[3] == [b"second"]:
            break
    print(f"data resumed {time.time() - t_restart:.1f} s after the restart")


# ---- whitelist over Tor ----------------------------------------------------------------


@pytest.mark.parametrize("emitter", FACES, ids=lambda f: f.name)
def test_whitelist_deny_over_tor(tornet_info, procs, emitter):
    """Behind the same onion, a whitelisted subscriber gets the etale, another key gets
    nothing (the CURVE handshake is refused by ZAP)."""
    pub, sec = peers.keypair()
    okpub, oksec = peers.keypair()
    _, badsec = peers.keypair()
    on, virt, target = onion(tornet_info, 1)
    e = procs.start(emitter, emit_args(sec, "secret", ["for friends"], target, whitelist=[okpub]))
    e.expect("ready", 30)
    rust = FACES[0]
    bad = procs.start(
        rust,
        listen_args(tornet_info, badsec, pub, f"{on}.onion", virt, "secret", count=1, timeout=12) + ["--states"],
        name="denied listener",
    )
    ok = procs.start(
        rust,
        listen_args(tornet_info, oksec, pub, f"{on}.onion", virt, "secret", count=1, timeout=FIRST_ETALE_TIMEOUT),
        name="allowed listener",
    )
    _, line = ok.expect("etale", FIRST_ETALE_TIMEOUT + 5)
    assert parse_etale(line)[3] == [b"for friends"]
    assert bad.wait_exit(60) == 1, (bad.all_lines, bad.stderr)
    assert bad.all_lines == []
    assert any("timeout: 0" in s for s in bad.stderr), bad.stderr
    assert any("received=0" in s for s in bad.stderr), bad.stderr
    # The ehypha knows why: the publisher's ZAP handler refused its key.
    states = [x.split()[1] for x in bad.stderr if x.startswith("state ")]
    assert "rejected" in states, bad.stderr
    assert "up" not in states, bad.stderr


# ---- restart behind the same (fixed) onion ---------------------------------------------


@pytest.mark.parametrize("emitter", FACES, ids=lambda f: f.name)
def test_restart_behind_same_onion(tornet_info, procs, emitter):
    """A publisher behind a HiddenServiceDir onion is stopped and restarted (same key, same
    port): the subscriber, which kept running, gets the new data."""
    pub, sec = peers.keypair()
    _, lsec = peers.keypair()
    on, virt, target = onion(tornet_info, 2)
    e1 = procs.start(emitter, emit_args(sec, "t", ["before"], target, every=50), name="emit#1")
    e1.expect("ready", 30)
    lis = procs.start(
        FACES[0], listen_args(tornet_info, lsec, pub, f"{on}.onion", virt, "t", timeout=3 * FIRST_ETALE_TIMEOUT)
    )
    _, line = lis.expect("etale", FIRST_ETALE_TIMEOUT)
    assert parse_etale(line)[3] == [b"before"]
    e1.stop()
    time.sleep(1)
    t_restart = time.time()
    e2 = procs.start(emitter, emit_args(sec, "t", ["after"], target, every=50), name="emit#2")
    e2.expect("ready", 30)
    deadline = time.time() + 2 * FIRST_ETALE_TIMEOUT
    while True:
        _, line = lis.expect("etale", max(1, deadline - time.time()))
        if parse_etale(line)[3] == [b"after"]:
            break
    print(f"data resumed {time.time() - t_restart:.1f} s after the restart")


# ---- an onion that does not exist ------------------------------------------------------


@pytest.mark.parametrize("listener", FACES, ids=lambda f: f.name)
def test_nonexistent_onion(tornet_info, procs, listener):
    """An ehypha to a well-formed onion nobody serves: no crash, nothing received, a clean
    timeout exit, and little CPU (only reconnect attempts)."""
    fake = tornet.onion_from_ed25519(secrets.token_bytes(32))
    pub, _ = peers.keypair()
    _, lsec = peers.keypair()
    secs = 10
    extra = ["--states"] if listener.name == "rust" else []
    lis = procs.start(
        listener, listen_args(tornet_info, lsec, pub, f"{fake}.onion", 60847, "t", count=1, timeout=secs) + extra
    )
    rc = lis.wait_exit(secs + 30)
    assert rc == 1, (rc, lis.stderr)  # timeout, not a crash (a signal gives rc < 0)
    assert lis.all_lines == []
    assert any("received=0" in s for s in lis.stderr), lis.stderr
    if listener.name == "rust":  # emz reports the ehypha's connection state (--states)
        states = [x.split()[1] for x in lis.stderr if x.startswith("state ")]
        assert states, lis.stderr
        assert set(states) <= {"connecting", "retrying", "disconnected"}, states
        print(f"states: {' '.join(states)}")
    cpu = lis.rusage.ru_utime + lis.rusage.ru_stime
    print(f"{listener.name}: CPU {cpu:.2f} s in {secs} s against a nonexistent onion")
    assert cpu < 3.0, f"{cpu:.2f} s of CPU for {secs} s of retries"


# ---- latency: Tor vs direct TCP, same run ----------------------------------------------


def test_latency_tor_vs_direct(tornet_info, procs, metrics):
    """One publisher emitting every 20 ms; one subscriber connects directly over TCP, the
    other through its onion. Median of t_in - t_out over 100 etales each."""
    rust = FACES[0]
    pub, sec = peers.keypair()
    _, s1 = peers.keypair()
    _, s2 = peers.keypair()
    on, virt, target = onion(tornet_info, 3)
    n, skip = 100, 5
    e = procs.start(rust, emit_args(sec, "lat", ["x" * 64], target, every=20))
    e.expect("ready", 30)
    direct = procs.start(
        rust,
        [
            "listen",
            "--secret",
            s1,
            "--peer",
            f"{pub}@127.0.0.1:{target}",
            "--title",
            "lat",
            "--count",
            str(n + skip),
            "--timeout",
            "60",
        ],
        name="direct listener",
    )
    tor = procs.start(
        rust,
        listen_args(tornet_info, s2, pub, f"{on}.onion", virt, "lat", count=n + skip, timeout=FIRST_ETALE_TIMEOUT + 60),
        name="tor listener",
    )
    results = {}
    for name, lis in (("direct TCP", direct), ("Tor", tor)):
        assert lis.wait_exit(FIRST_ETALE_TIMEOUT + 90) == 0, lis.stderr
        lat = []
        for _, line in lis.all_lines[skip:]:
            _, t_out, t_in, _ = parse_etale(line)
            lat.append((t_in - t_out) / 1000)
        assert len(lat) == n
        results[name] = lat
        metrics[f"latency {name}: median / p90 of {n} etales (ms)"] = (
            f"{statistics.median(lat):.2f} / {sorted(lat)[int(0.9 * n)]:.2f}"
        )
    assert statistics.median(results["Tor"]) > statistics.median(results["direct TCP"])


# ---- the Life demo over Tor ------------------------------------------------------------


def test_life_demo_three_realms_over_tor(tornet_info, procs, tmp_path, metrics):
    """`life --tor`: each realm makes its onion through the control port, shares it in
    life_onions.txt (one working directory, as on one machine), and reaches the others'
    onions through SOCKS; every realm gets a valid zone from another one."""
    life = os.environ.get("EMZ_LIFE", os.path.join(peers.ROOT, "target", "debug", "examples", "life"))
    assert os.access(life, os.X_OK), f"no Life demo at {life} (cargo build -p emyzelium --example life)"
    face = peers.Face("life", [life])
    base = 47310  # realms on base..base+2, outside tornet's 21000-31000; a fresh namespace
    t0 = time.time()
    realms = []
    for name in ("alien", "john", "mary"):
        realms.append(
            procs.start(
                face,
                [
                    "--tor",
                    "--realm",
                    name,
                    "--headless",
                    "2400",
                    "--linger",
                    "15",
                    "--base-port",
                    str(base),
                    "--tor-control",
                    f"127.0.0.1:{tornet_info['onion_control_port']}",
                    "--tor-cookie",
                    tornet_info["onion_cookie"],
                    "--tor-proxy",
                    f"127.0.0.1:{tornet_info['socks_port']}",
                    "--onion-key-file",
                    "new",
                ],
                name=f"life {name}",
                cwd=str(tmp_path),
            )
        )
    for r in realms:
        # The triple others need: REALM public_key onion port.
        _, line = r.next_line(60)
        f = line.split()
        assert len(f) == 4 and len(f[2]) == 56 and f[3].isdigit(), line
    for r in realms:
        assert r.wait_exit(180) == 0, f"{r.name}: {r.stderr[-8:]}"
    metrics["life --tor: three realms exchanged zones (s)"] = round(time.time() - t0, 1)
    onions = (tmp_path / "life_onions.txt").read_text().split()
    assert len(onions) == 6, onions
