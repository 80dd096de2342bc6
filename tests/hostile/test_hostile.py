"""Hostile peers against the `emz emit` publisher (see conftest.py).

Run with `-s` to see the measured figures (lines starting with [hostile]).
"""

import os
import socket
import subprocess
import threading
import time

import pytest
import zmq
from conftest import (
    EVERY_MS,
    LONG,
    cpu_window,
    greeting,
    keypair,
    long_command_header,
    raise_own_fd_limit,
    report,
    settle_rss,
    tcp,
)

QUIET = 2.0  # seconds a refused peer listens before concluding it gets nothing
MB = 1024  # kB


# ---- 1, 2: revocation and fail-closed ---------------------------------------------------------


def test_revoked_subscriber_is_cut_off_at_once(publisher, peers):
    revoked_pub, revoked_sec = keypair()
    kept_pub, kept_sec = keypair()
    pub = publisher(allowed=[revoked_pub, kept_pub])
    revoked, kept = peers.honest(pub, secret=revoked_sec), peers.honest(pub, secret=kept_sec)
    revoked.wait_for(5)
    kept.wait_for(5)

    t_cut = time.monotonic()
    pub.allow([kept_pub])
    # One round (one update) later the publish socket is new: allow a few rounds of slack
    # for the file to be read and the old session to be torn down.
    grace = 10 * EVERY_MS / 1000
    time.sleep(grace + QUIET)
    late = revoked.count_since(t_cut + grace)
    last = max((a for a, _ in revoked.got), default=t_cut) - t_cut
    kept.wait_for(5, since=t_cut + grace)
    gap = kept.longest_gap(since=t_cut - 1)
    report(
        "revocation",
        revoked_last_etale_after_ms=last * 1000,
        revoked_etales_after_grace=late,
        kept_back_after_ms=gap * 1000,
        counters=pub.counters(),
    )
    assert late == 0, f"the revoked key got {late} etales after it was removed"
    assert kept.duplicates == 0


def test_removing_the_last_key_lets_nobody_in(publisher, peers):
    only_pub, only_sec = keypair()
    pub = publisher(allowed=[only_pub])
    only = peers.honest(pub, secret=only_sec)
    only.wait_for(3)
    pub.allow([])
    grace = 10 * EVERY_MS / 1000
    time.sleep(grace)
    permitted = pub.counters().get("in_permitted")
    t0 = time.monotonic()
    stranger = peers.honest(pub)
    again = peers.honest(pub, secret=only_sec)  # the removed key, on a fresh connection
    time.sleep(QUIET)
    got = (only.count_since(t0), stranger.count_since(0), again.count_since(0))
    report("fail-closed", etales_after_emptying=got, in_permitted_before=permitted, counters_after=pub.counters())
    assert got == (0, 0, 0), "an empty whitelist must admit nobody"
    assert pub.counters().get("in_permitted") == permitted, "a handshake succeeded with an empty whitelist"
    # Allowing the key again lets it in again, on a fresh connection (a libzmq client
    # refused by ZAP does not retry by itself).
    pub.allow([only_pub])
    time.sleep(grace)
    back = peers.honest(pub, secret=only_sec).wait_for(1)
    t0 = time.monotonic()
    while pub.counters().get("in_permitted") == permitted and time.monotonic() - t0 < QUIET:
        time.sleep(0.05)
    report("fail-closed, key allowed again", back_after_s=back, counters=pub.counters())
    # The counters go on counting on the re-created publish socket.
    assert pub.counters().get("in_permitted") == permitted + 1, pub.counters()


def test_without_whitelist_or_everyone_emit_refuses_to_start(emz, tmp_path):
    _, secret = keypair()
    r = subprocess.run(
        [emz, "emit", "--bind", "127.0.0.1", "--port", "0", "--title", "t", "--count", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, EMZ_SECRET=secret),
    )
    assert r.returncode == 2, r
    assert "--everyone" in r.stderr


def drain(socks):
    """How many messages wait on `socks`, received now."""
    n = 0
    for s in socks:
        while s.poll(0):
            s.recv_multipart()
            n += 1
    return n


# ---- 3: limits before trust ---------------------------------------------------------------


def test_huge_frame_before_handshake_costs_no_memory(publisher, peers):
    pub = publisher()
    idle = settle_rss(pub)
    conns, sent = [], []
    for _ in range(2):
        s = tcp(pub.port)
        s.sendall(greeting() + long_command_header(1 << 30))  # announces a 1 GiB command
        conns.append(s)
        sent.append(0)
    chunk = os.urandom(1 << 16)
    deadline = time.monotonic() + 10
    peak = idle
    # Stream up to 64 MiB into each announced frame, or until the publisher hangs up.
    while time.monotonic() < deadline and any(c is not None for c in conns):
        for i, s in enumerate(conns):
            if s is None:
                continue
            try:
                s.settimeout(0.5)
                s.sendall(chunk)
                sent[i] += len(chunk)
                if sent[i] >= 64 << 20:
                    raise OSError("done")
            except OSError:
                s.close()
                conns[i] = None
        peak = max(peak, pub.rss_kb())
    for s in conns:
        if s is not None:
            s.close()
    after = settle_rss(pub, 0.5)
    report(
        "pre-handshake 1 GiB frames",
        rss_idle_kb=idle,
        rss_peak_kb=peak,
        rss_after_kb=after,
        bytes_accepted=sent,
        counters=pub.counters(),
    )
    assert pub.alive(), pub.stderr()
    assert peak - idle < 8 * MB, f"RSS grew by {peak - idle} kB under two announced 1 GiB frames"
    honest_pub, honest_sec = keypair()
    pub.allow([honest_pub])
    time.sleep(10 * EVERY_MS / 1000)
    honest = peers.honest(pub, secret=honest_sec)
    honest.wait_for(3)


def test_subscription_floods(publisher, peers):
    honest_pub, honest_sec = keypair()
    flood_pub, flood_sec = keypair()
    prefix_pub, prefix_sec = keypair()
    pub = publisher(allowed=[honest_pub, flood_pub, prefix_pub], titles=("t", "t2", "u"))
    honest = peers.honest(pub, secret=honest_sec)
    honest.wait_for(5)
    idle = pub.rss_kb()
    before = pub.counters()

    # 16 messages of 1 MiB each, larger than any subscription: refused by size before
    # anything reads them. (Their first byte, 2, is no subscription to pyzmq's own XSUB,
    # which would keep each as a 1 MiB-deep trie; the publisher refuses them by size alike.)
    big = peers.socket(zmq.XSUB, pub, flood_sec)
    # Subscriptions that are not `title + NUL`: the empty prefix, a bare title, a prefix.
    prefix = peers.socket(zmq.XSUB, pub, prefix_sec, RCVHWM=0, SNDHWM=0)
    time.sleep(0.5)

    def flood():
        for i in range(16):
            try:
                big.send(b"\x02" + bytes([65 + i]) * (1 << 20), zmq.NOBLOCK)
            except zmq.Again:
                pass
        for topic in (b"t", b"t2", b"", b"u"):
            prefix.send(b"\x01" + topic)
        for _ in range(1000):
            prefix.send(b"\x01")
            prefix.send(b"\x00")

    t0 = time.monotonic()
    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    peak = idle
    cpu = cpu_window(pub, 3.0, during=lambda: None)
    flooder.join(timeout=10)
    peak = max(peak, pub.rss_kb())
    n_prefix = drain([prefix])
    after = pub.counters()
    received = honest.count_since(t0)
    report(
        "subscription floods",
        rss_idle_kb=idle,
        rss_after_kb=peak,
        cpu_cores=cpu,
        honest_received=received,
        honest_duplicates=honest.duplicates,
        honest_foreign=honest.foreign,
        prefix_subscriber_received=n_prefix,
        counters=after,
    )
    assert pub.alive(), pub.stderr()
    assert honest.duplicates == 0 and honest.foreign == 0
    assert received >= 0.5 * 3.0 / (EVERY_MS / 1000), "the honest subscriber starved during the flood"
    assert n_prefix == 0, "a non-title subscription was applied"
    assert after.get("bad_subscriptions", 0) - before.get("bad_subscriptions", 0) >= 1000, after
    assert peak - idle < 16 * MB
    assert cpu < 0.9


def test_connection_flood_with_1024_fds(publisher, peers):
    n = 2000
    raise_own_fd_limit(n + 200)
    honest_pub, honest_sec = keypair()
    pub = publisher(allowed=[honest_pub], nofile=1024)
    idle = settle_rss(pub, 0.5)
    conns = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", pub.port))
            conns.append(s)
        cpu = cpu_window(pub, 3.0)
        t0 = time.monotonic()
        honest = peers.honest(pub, secret=honest_sec)
        got_in = honest.wait_for(1, timeout=LONG)
        honest.wait_for(5)
        peak = pub.rss_kb()
        report(
            "connection flood",
            connections=n,
            fd_soft_limit=1024,
            cpu_cores=cpu,
            rss_idle_kb=idle,
            rss_flood_kb=peak,
            honest_in_s=got_in,
            counters=pub.counters(),
        )
        assert pub.alive(), pub.stderr()
        assert cpu < 0.5, f"{cpu:.2f} cores for idle connections"
        assert time.monotonic() - t0 < LONG
    finally:
        for s in conns:
            s.close()


# ---- 6: malformed frames ----------------------------------------------------------------------


def attacks(port):
    """Raw byte sequences a stranger may send instead of a handshake."""
    bad_hello = b"\x04\xc8" + b"\x05HELLO" + b"\x01\x00" + bytes(72) + os.urandom(120)
    yield "garbage", os.urandom(256)
    yield "truncated greeting", greeting()[:10]
    yield "NULL mechanism", greeting(b"NULL") + b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB"
    yield "PLAIN mechanism", greeting(b"PLAIN") + b"\x04\x0c\x05HELLO\x01u\x01p"
    yield "bad CURVE HELLO", greeting() + bad_hello
    yield "oversize command", greeting() + long_command_header(1 << 20) + os.urandom(1 << 20)
    yield "greeting as server", greeting(as_server=1) + os.urandom(64)


def test_malformed_handshakes_leave_the_publisher_and_others_alone(publisher, peers):
    honest_pub, honest_sec = keypair()
    pub = publisher(allowed=[honest_pub])
    honest = peers.honest(pub, secret=honest_sec)
    honest.wait_for(3)
    permitted = pub.counters().get("in_permitted")
    t0 = time.monotonic()
    names = []
    for _ in range(5):
        for name, data in attacks(pub.port):
            names.append(name)
            s = tcp(pub.port)
            try:
                s.sendall(data)
                s.settimeout(0.2)
                s.recv(4096)
            except OSError:
                pass
            s.close()
    # libzmq peers with the wrong mechanism: NULL and PLAIN clients, a CURVE client with a
    # wrong server key.
    wrong = []
    for kind in ("null", "plain", "curve-wrong-server"):
        s = peers.ctx.socket(zmq.SUB)
        s.linger = 0
        if kind == "plain":
            s.plain_username, s.plain_password = b"u", b"p"
        elif kind == "curve-wrong-server":
            _, sec = keypair()
            s.curve_serverkey = keypair()[0].encode()
            s.curve_secretkey = sec.encode()
            s.curve_publickey = zmq.curve_public(sec.encode())
        s.subscribe(b"t\0")
        s.connect(pub.endpoint)
        wrong.append(s)
    time.sleep(QUIET)
    leaked = drain(wrong)
    elapsed = time.monotonic() - t0
    received = honest.count_since(t0)
    gap = honest.longest_gap(since=t0)
    c = pub.counters()
    report(
        "malformed handshakes",
        attacks=len(names),
        honest_received=received,
        honest_longest_gap_ms=gap * 1000,
        wrong_mechanism_received=leaked,
        counters=c,
    )
    assert pub.alive(), pub.stderr()
    assert leaked == 0
    assert c.get("in_permitted") == permitted, "a malformed peer passed the handshake"
    assert c.get("in_attempted", 0) >= len(names)
    assert received >= 0.5 * elapsed / (EVERY_MS / 1000)
    assert gap < 1.0


# ---- 7: a stuck subscriber -----------------------------------------------------------------------


def test_stuck_subscriber_does_not_stall_an_honest_one(publisher, peers, tmp_path):
    honest_pub, honest_sec = keypair()
    stuck_pub, stuck_sec = keypair()
    big = tmp_path / "part"
    big.write_bytes(os.urandom(64 << 10))  # 64 KiB a part: the stuck queues fill in a few rounds
    pub = publisher(allowed=[honest_pub, stuck_pub], parts=(str(big),), extra=("--file",), every=10)
    honest = peers.honest(pub, secret=honest_sec)
    honest.wait_for(5)
    window = 3.0
    t0 = time.monotonic()
    time.sleep(window)
    alone = honest.count_since(t0) - honest.count_since(t0 + window)
    stuck = peers.socket(zmq.SUB, pub, stuck_sec, RCVHWM=1, RCVBUF=4096)
    stuck.subscribe(b"t\0")
    time.sleep(1.0)  # the stuck subscriber's queues fill up
    t1 = time.monotonic()
    time.sleep(window)
    shared = honest.count_since(t1) - honest.count_since(t1 + window)
    report(
        "stuck subscriber",
        honest_alone_per_s=alone / window,
        honest_with_stuck_per_s=shared / window,
        ratio=shared / max(alone, 1),
        rss_kb=pub.rss_kb(),
        counters=pub.counters(),
    )
    assert pub.alive(), pub.stderr()
    assert shared >= 0.95 * alone, f"{shared} etales with a stuck subscriber vs {alone} without"


# ---- 8: huge titles ---------------------------------------------------------------------------------


def test_huge_title_subscription(publisher, peers):
    honest_pub, honest_sec = keypair()
    huge_pub, huge_sec = keypair()
    pub = publisher(allowed=[honest_pub, huge_pub])
    honest = peers.honest(pub, secret=honest_sec)
    honest.wait_for(3)
    idle = pub.rss_kb()
    huge = peers.socket(zmq.XSUB, pub, huge_sec)
    time.sleep(0.5)

    # Titles at the limit (4096 bytes), just over it, and of 300 KB, each subscribed then
    # unsubscribed at once: pyzmq's own XSUB keeps subscriptions in a trie one level a byte,
    # added and removed by recursion, so the long ones are sent from a thread with a large
    # stack, and removed again so that no deep trie is left to tear down or replay.
    def send_all():
        for title in (b"x" * 4096, b"x" * 4097, b"x" * 300_000, b"t" * 300_000):
            huge.send(b"\x01" + title + b"\0")
            huge.send(b"\x00" + title + b"\0")

    threading.stack_size(512 << 20)
    try:
        sender = threading.Thread(target=send_all)
        sender.start()
    finally:
        threading.stack_size(0)
    sender.join(timeout=LONG)
    t0 = time.monotonic()
    time.sleep(QUIET)
    got = drain([huge])
    received = honest.count_since(t0)
    report(
        "huge titles",
        rss_idle_kb=idle,
        rss_after_kb=pub.rss_kb(),
        huge_received=got,
        honest_received=received,
        counters=pub.counters(),
    )
    assert pub.alive(), pub.stderr()
    assert got == 0
    assert received >= 0.5 * QUIET / (EVERY_MS / 1000)
    assert pub.rss_kb() - idle < 8 * MB


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-s", "-q"]))
