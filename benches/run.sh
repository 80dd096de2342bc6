#!/usr/bin/env bash
# The benchmark suite in one command (issue 6): builds what it needs, then runs
# benches/run.py, which prints the table and writes benches/results/latest.{json,md}.
#
#   bash benches/run.sh            # full: 5 repetitions, about 8-10 minutes
#   bash benches/run.sh --quick    # 2 shorter repetitions, about 3 minutes
#   bash benches/run.sh --only thr,lat --impls raw,rust    # any run.py option
#
# Builds (all release, all linked to the same bundled libzmq + libsodium):
#   target/release/emz-bench      Rust roles: the raw-libzmq baseline and the Rust API
#   target/bench/bench_c          C roles on libemyzelium.so (make -C emz-capi lib)
#   target/bench/venv             a venv with the emyzelium wheel (maturin, as tests/run-py.sh)
# A C or Python build that fails is reported and that face is left out of the table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
PY=${PYTHON:-python3}
mkdir -p "$OUT"
say() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (rustup.rs)" >&2; exit 1; }
command -v "$PY" >/dev/null || { echo "python3 not found" >&2; exit 1; }

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "Rust roles (cargo build --release -p emz-bench)"
    cargo build --release -q -p emz-bench

    say "C roles (libemyzelium.so via make -C emz-capi lib, then benches/c/bench.c)"
    rm -f "$OUT/bench_c"
    if command -v cc >/dev/null && command -v make >/dev/null \
        && make -s -C emz-capi lib PROFILE=release >"$OUT/capi-build.log" 2>&1; then
        cc -std=c99 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iinclude benches/c/bench.c -o "$OUT/bench_c" \
            -L"$ROOT/target/capi/lib" -Wl,-rpath,"$ROOT/target/capi/lib" -lemyzelium \
            || warn "benches/c/bench.c did not compile: the C API is left out"
    else
        warn "the C library did not build (see $OUT/capi-build.log): the C API is left out"
    fi

    say "Python wheel (maturin build --release) into $OUT/venv"
    VENV=$OUT/venv
    if { [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"; } \
        && "$VENV/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.5,<2' \
        && rm -rf "$OUT/wheels" \
        && "$VENV/bin/maturin" build --release --quiet -m emz-py/Cargo.toml -o "$OUT/wheels" >"$OUT/py-build.log" 2>&1 \
        && "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-index --force-reinstall \
            "$OUT"/wheels/emyzelium-*.whl; then
        "$VENV/bin/python" -c 'import emyzelium as e; print("emyzelium", e.__version__, "libzmq", e.libzmq_version())'
    else
        warn "the Python wheel did not build or install (see $OUT/py-build.log): the Python API is left out"
        rm -f "$VENV/bin/python.broken"; mv -f "$VENV/bin/python" "$VENV/bin/python.broken" 2>/dev/null || true
    fi
fi

say "running the suite"
exec "$PY" benches/run.py "$@"
