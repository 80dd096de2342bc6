#!/usr/bin/env bash
# The benchmark suite in one command: builds what it needs, then runs benches/run.py, which
# prints the table and writes benches/results/latest.{json,md}.
#
#   bash benches/run.sh            # full: 5 repetitions, about 8-10 minutes
#   bash benches/run.sh --quick    # 2 shorter repetitions, about 3 minutes
#   bash benches/run.sh --only thr,lat --impls raw,rust    # any run.py option
#
# Builds (all release, all linked to the same bundled libzmq + libsodium, so the faces
# differ only by their own code):
#   target/release/emz-bench      Rust roles: the raw-libzmq baseline and the Rust API
#   target/bench/bench_c          C roles on libemyzelium.so (make -C emz-capi lib)
#   target/bench/venv             a venv with the emyzelium wheel (maturin, as tests/run-py.sh)
# A C or Python build that fails is reported and that face is left out of the table: the
# others are still worth measuring.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
OUT=$ROOT/target/bench
mkdir -p "$OUT"
warn() { printf 'WARNING: %s\n' "$*" >&2; }

have cargo || die "cargo not found: install the Rust toolchain (rustup.rs)"
have "$PY" || die "$PY not found"

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "Rust roles (cargo build --release -p emz-bench)"
    cargo build --release -q -p emz-bench

    say "C roles (libemyzelium.so via make -C emz-capi lib, then benches/c/bench.c)"
    rm -f "$OUT/bench_c"
    if have cc make && make -s -C emz-capi lib PROFILE=release >"$OUT/capi-build.log" 2>&1; then
        cc -std=c99 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iinclude benches/c/bench.c -o "$OUT/bench_c" \
            -L"$ROOT/target/capi/lib" -Wl,-rpath,"$ROOT/target/capi/lib" -lemyzelium \
            || warn "benches/c/bench.c did not compile: the C API is left out"
    else
        warn "the C library did not build (see $OUT/capi-build.log): the C API is left out"
    fi

    say "Python wheel (maturin build --release) into $OUT/venv"
    VENV=$OUT/venv
    if build_wheel "$VENV" "$OUT/wheels" >"$OUT/py-build.log" 2>&1 \
        && pip_install "$VENV" --no-index --force-reinstall "$OUT"/wheels/emyzelium-*.whl; then
        "$VENV/bin/python" -c 'import emyzelium as e; print("emyzelium", e.__version__, "libzmq", e.libzmq_version())'
    else
        warn "the Python wheel did not build or install (see $OUT/py-build.log): the Python API is left out"
        # run.py leaves the Python face out when the venv has no python.
        rm -f "$VENV/bin/python.broken"
        mv -f "$VENV/bin/python" "$VENV/bin/python.broken" 2>/dev/null || true
    fi
fi

say "running the suite"
exec "$PY" benches/run.py "$@"
