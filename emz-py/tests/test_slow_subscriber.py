"""A subscriber that stops calling update() delays nobody, and catches up once it updates again."""

from __future__ import annotations

import time

import emyzelium as emz
from conftest import LONG, pump

TITLES = ["t0", "t1", "t2", "t3"]


def subscriber(pub: emz.Efunguz, **kw) -> emz.Efunguz:
    _, secret = emz.keypair()
    sub = emz.Efunguz(secret, port=0, bind_host="127.0.0.1", **kw)
    eh = sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
    for t in TITLES:
        eh.add_etale(t)
    return sub


def t_out(sub: emz.Efunguz, pub: emz.Efunguz, title: str) -> int:
    return sub.get_ehypha(pub.public_key).get_etale(title).t_out


def received(sub: emz.Efunguz, pub: emz.Efunguz) -> int:
    return sum(e.received for e in sub.get_ehypha(pub.public_key).etales)


def test_a_stuck_subscriber_delays_nobody_and_gets_the_latest_of_each_title():
    _, secret = emz.keypair()
    # Small queues on both sides of B, so that it is full after a few MiB.
    with emz.Efunguz(secret, port=0, bind_host="127.0.0.1", send_hwm=50) as p:
        a = subscriber(p)
        b = subscriber(p, recv_hwm=16)
        seq = 0

        def warm() -> bool:
            nonlocal seq
            for t in TITLES:
                seq += 1
                p.emit_etale(t, [b"warm"], t_out=seq)
            b.update()
            return all(t_out(s, p, t) > 0 for s in (a, b) for t in TITLES)

        assert pump([p, a], warm), "A and B never got a first value of every title"

        # B stops updating. P emits 64 KiB etales until every title stays pending for B
        # through a pause in which A goes on reading: B's queues (libzmq's and the kernel's)
        # are full.
        big = bytes(64 * 1024)
        end = time.monotonic() + LONG
        while True:
            assert time.monotonic() < end, "B's queues never filled"
            for _ in range(8):
                for t in TITLES:
                    seq += 1
                    p.emit_etale(t, [big], t_out=seq)
            pause = time.monotonic() + 0.05
            while time.monotonic() < pause:
                p.update()
                a.update()
                time.sleep(0.001)
            if p.unsent_etales == len(TITLES):
                break

        # 200 etales/s of 8 KiB, round-robin over the titles, for 2 s. Each etale carries
        # its sequence number, so that values can be told apart, not only t_out.
        a_before = received(a, p)
        want: dict[str, int] = {}
        emitted = deferred = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            due = int((time.monotonic() - t0) * 200)
            while emitted < due:
                seq += 1
                t = TITLES[emitted % len(TITLES)]
                if not p.emit_etale(t, [seq.to_bytes(8, "little") * 1024], t_out=seq):
                    deferred += 1
                want[t] = seq
                emitted += 1
            p.update()
            a.update()
            time.sleep(0.001)
        settle = time.monotonic() + 0.3
        while time.monotonic() < settle:
            p.update()
            a.update()
            time.sleep(0.001)
        a_got = received(a, p) - a_before

        assert deferred * 2 > emitted, f"B took {emitted - deferred} of {emitted}: it was not stuck"
        assert p.unsent_etales == len(TITLES)
        assert a_got * 100 >= emitted * 95, f"A received {a_got} of {emitted}"
        assert all(t_out(a, p, t) == want[t] for t in TITLES), "A misses the last etale of a title"

        # B updates again: it gets the latest etale of every title, parts and all.
        assert pump([p, b], lambda: all(t_out(b, p, t) == want[t] for t in TITLES)), {
            t: (t_out(b, p, t), want[t]) for t in TITLES
        }
        for t in TITLES:
            assert b.get_ehypha(p.public_key).get_etale(t).parts == [want[t].to_bytes(8, "little") * 1024]
        # What B did not read went stale in P's queue for it, behind newer etales of the
        # same titles, and was dropped there (supersede_after_ms, default 50 ms).
        assert p.superseded > 0, (p.superseded, b.stats().superseded)
        assert pump([p, b], lambda: p.unsent_etales == 0), "P still holds etales for B"
        a.close()
        b.close()
