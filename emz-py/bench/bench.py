#!/usr/bin/env python3
"""Python vs Rust, same run, same machine, same Rust publisher:

* receive throughput: a Rust publisher floods 64-byte etales; the receiver's loop is
  update() then read the parts of what changed (Python: `etale.parts`), for SECONDS;
  Rust and Python receivers alternate, ROUNDS each, medians reported;
* update() overhead: median µs of update() on an idle efunguz with 10 ehyphae.

    python emz-py/bench/bench.py [--bin target/release/examples/bench_recv] [--secs 3] [--rounds 3]

Build the Rust side first: cargo build --release -p emz-py --example bench_recv
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path

import emyzelium as emz

ROOT = Path(__file__).resolve().parents[2]


def py_recv(pub_key: str, port: int, secs: float) -> float:
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        etale = ef.add_ehypha_direct(pub_key, "127.0.0.1", port).add_etale("b")
        while ef.stats.received == 0:
            ef.wait(0.1)
        r0 = ef.stats.received
        n = 0
        t0 = time.perf_counter()
        end = t0 + secs
        update = ef.update
        while time.perf_counter() < end:
            for _key, _title in update():
                n += sum(len(p) for p in etale.parts)
        dt = time.perf_counter() - t0
        return (ef.stats.received - r0) / dt


def py_idle(n_ehyphae: int) -> float:
    dead = emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1")
    port = dead.port
    dead.close()
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1", reconnect_interval=60,
                     reconnect_interval_max=60) as ef:
        for _ in range(n_ehyphae):
            ef.add_ehypha_direct(emz.keypair()[0], "127.0.0.1", port).add_etale("t")
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            ef.update()
        samples = []
        update = ef.update
        for _ in range(15):
            t0 = time.perf_counter()
            for _ in range(20_000):
                update()
            samples.append((time.perf_counter() - t0) * 1e6 / 20_000)
        return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "examples" / "bench_recv"))
    ap.add_argument("--secs", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()

    pub_key, pub_secret = emz.keypair()
    probe = emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1")
    port = probe.port
    probe.close()
    flood = subprocess.Popen([a.bin, "pub", pub_secret, str(port), str(a.size)], stdout=subprocess.PIPE, text=True)
    try:
        assert flood.stdout is not None and flood.stdout.readline().startswith("ready")
        rust, py = [], []
        for _ in range(a.rounds):
            out = subprocess.run([a.bin, "recv", pub_key, str(port), str(a.secs)], capture_output=True, text=True,
                                 check=True).stdout
            rust.append(float(out.split()[1]))
            py.append(py_recv(pub_key, port, a.secs))
    finally:
        flood.terminate()
        flood.wait()
    rust_idle = float(subprocess.run([a.bin, "idle", "10"], capture_output=True, text=True, check=True).stdout.split()[1])
    python_idle = py_idle(10)
    r, p = statistics.median(rust), statistics.median(py)
    print(f"receive throughput, {a.size}-byte etales (median of {a.rounds} x {a.secs} s, alternating):")
    print(f"  Rust   {r:12,.0f} etales/s   rounds {[round(x) for x in rust]}")
    print(f"  Python {p:12,.0f} etales/s   rounds {[round(x) for x in py]}")
    print(f"  Python / Rust = {p / r:.2f}")
    print("update() on an idle efunguz with 10 ehyphae (median of 15 x 20,000 calls):")
    print(f"  Rust   {rust_idle:.3f} us")
    print(f"  Python {python_idle:.3f} us   (+{python_idle - rust_idle:.3f} us)")


if __name__ == "__main__":
    main()
