"""The Python face of the emyzelium benchmark suite: the same roles and JSON
lines as benches/src/main.rs (pub flood|rate, sub thr|lat, idle), on the emyzelium
wheel. Run by benches/run.py with the wheel's venv:

    python bench.py pub  --secret S [--wl K] --mode flood|rate [--size B --secs S --rate R]
    python bench.py sub  --secret S --pubkey K --port P --mode thr|lat [--secs S --warm S]
    python bench.py idle --n N
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
import time

import emyzelium as emz


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def args() -> dict[str, str]:
    a = sys.argv[2:]
    return {a[i].lstrip("-"): a[i + 1] for i in range(0, len(a) - 1, 2)}


class Stdin:
    """`go` and `quit`/EOF on stdin, read without blocking."""

    def __init__(self) -> None:
        self.go = self.quit = False
        self.buf = b""

    def check(self) -> None:
        while not self.quit and select.select([0], [], [], 0)[0]:
            c = os.read(0, 4096)
            if not c:
                self.quit = True
                break
            self.buf += c
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.strip() == b"go":
                    self.go = True
                elif line.strip() == b"quit":
                    self.quit = True


def role_pub(a: dict[str, str]) -> None:
    mode = a.get("mode", "flood")
    size = max(8, int(a.get("size", "64")))
    secs = float(a.get("secs", "3"))
    wl = [k for k in a.get("wl", "").split(",") if k]
    ef = emz.Efunguz(a["secret"], wl, port=0, bind_host="127.0.0.1")
    out({"port": ef.port})
    ctl = Stdin()
    w = [bytes(8)]
    while not ctl.go:
        ctl.check()
        if ctl.quit:
            os._exit(0)
        ef.emit_etale("w", w)
        ef.wait(0.02)
    buf = bytearray(b"\x5a" * size)
    parts = [buf]
    emit = ef.emit_etale
    # The sequence number, little-endian, at the start of the part (half the cost of
    # buf[:8] = seq.to_bytes(8, "little"): this loop times the API, not the stamping).
    stamp = struct.Struct("<Q").pack_into
    update = ef.update
    sent = held = 0
    seq = 0
    end = time.monotonic() + secs
    if mode == "flood":
        # as benches/src/main.rs: wait 1 ms when a subscriber's queue is full
        backoff = a.get("backoff", "1") == "1"
        wait = ef.wait
        while time.monotonic() < end:
            full = False
            for _ in range(32):
                stamp(buf, 0, seq)
                seq += 1
                if emit("b", parts):
                    sent += 1
                else:
                    held += 1
                    full = True
                    if backoff:
                        break
            if full and backoff:
                wait(0.001)
            else:
                update()
    else:
        period = 1.0 / float(a.get("rate", "1000"))
        nxt = time.monotonic()
        while time.monotonic() < end:
            # update, then emit, then sleep: the frame order of benches/src/main.rs
            update()
            stamp(buf, 0, seq)
            seq += 1
            if emit("b", parts):
                sent += 1
            else:
                held += 1
            nxt += period
            t = time.monotonic()
            if nxt > t:
                time.sleep(nxt - t)
            else:
                nxt = t
    out({"sent": sent, "held": held})
    while not ctl.quit:
        ctl.check()
        ef.wait(0.01)
    os._exit(0)


def role_sub(a: dict[str, str]) -> None:
    mode = a.get("mode", "thr")
    secs = float(a.get("secs", "3"))
    warm = float(a.get("warm", "0.5"))
    pubkey = a["pubkey"]
    _, secret = emz.keypair() if "secret" not in a else (None, a["secret"])
    ef = emz.Efunguz(secret, port=0, bind_host="127.0.0.1")
    eh = ef.add_ehypha_direct(pubkey, "127.0.0.1", int(a["port"]))
    w = eh.add_etale("w")
    b = eh.add_etale("b")
    t0 = time.monotonic()
    while w.received == 0 and b.received == 0:
        if time.monotonic() - t0 > 20:
            out({"error": "no warm-up etale within 20 s"})
            os._exit(1)
        ef.wait(0.05)
    out({"ready": True})
    update = ef.update
    if mode == "thr":
        last = -1
        size = 0
        t0 = time.monotonic()
        while last < 0:
            if time.monotonic() - t0 > 20:
                out({"error": "no etale b within 20 s"})
                os._exit(1)
            for _, title in update():
                if title == "b":
                    v = b.views[0]
                    last = int.from_bytes(v[:8], "little")
                    size = len(v)
        # as benches/src/main.rs: sleep when nothing is waiting
        t_end = time.monotonic() + warm
        while time.monotonic() < t_end:
            for _, title in ef.wait(0.01):
                if title == "b":
                    last = int.from_bytes(b.views[0][:8], "little")
        r0, s0 = b.received, last
        total = 0
        t0 = time.monotonic()
        t_end = t0 + secs
        while time.monotonic() < t_end:
            for _, title in ef.wait(0.01):
                if title == "b":
                    v = b.views[0]
                    last = int.from_bytes(v[:8], "little")
                    total += v[-1]
        el = time.monotonic() - t0
        n = b.received - r0
        span = max(0, last - s0)
        dropped = max(0, span - n)
        out({"recv": n, "secs": round(el, 4), "per_s": n / el, "mb_s": n * size / el / 1e6, "size": size,
             "dropped": dropped, "drop_frac": dropped / span if span else 0.0})
    else:
        now_us = emz.now_us
        lats: list[float] = []
        first = True
        t_end = time.monotonic() + secs + warm
        while time.monotonic() < t_end:
            for _, title in update():
                if title == "b":
                    lat = now_us() - b.t_out
                    if first:
                        first = False
                    else:
                        lats.append(lat)
        skip = min(int(warm * 1000), len(lats) // 2)
        v = sorted(lats[skip:])

        def pct(p: float) -> float:
            return v[round(p / 100 * (len(v) - 1))] if v else float("nan")

        out({"n": len(v), "p50": pct(50), "p99": pct(99), "p999": pct(99.9), "max": v[-1] if v else None})
    os._exit(0)


def role_idle(a: dict[str, str]) -> None:
    n = int(a.get("n", "1000"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    _, secret = emz.keypair()
    # As the Rust role: a monitor costs 2 more fds per ehypha, off past 5000.
    ef = emz.Efunguz(secret, port=0, bind_host="127.0.0.1", reconnect_interval=60.0, reconnect_interval_max=60.0,
                     ehypha_monitor=n <= 5000)
    for i in range(n):
        try:
            ef.add_ehypha_direct(emz.keypair()[0], "127.0.0.1", dead).add_etale("t")
        except emz.EmyzeliumError as e:
            out({"n": n, "error": f"after {i} ehyphae: {e}"})
            os._exit(0)
    update = ef.update
    calls = min(20000, max(20, 200000 // max(1, n)))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.3:
        update()
    samples = []
    for _ in range(15):
        t0 = time.perf_counter()
        for _ in range(calls):
            update()
        samples.append((time.perf_counter() - t0) * 1e6 / calls)
    samples.sort()
    out({"n": n, "update_us": samples[7]})
    os._exit(0)


def main() -> None:
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    a = args()
    {"pub": role_pub, "sub": role_sub, "idle": role_idle}.get(role, lambda _: sys.exit(2))(a)


if __name__ == "__main__":
    main()
