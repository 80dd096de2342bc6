#!/usr/bin/env bash
# Runs every test of the project: the one command README promises, and what CI runs.
# Installs what it needs (venvs for Python; Debian packages when root).
# Under CI=true nothing may be skipped: a missing tool is a failure.
# Every step runs under a time limit (`bounded`, tests/lib.sh) and every pytest test under
# its own (pytest.ini, pytest-timeout): whatever hangs fails, and the command always ends.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# ---- tools ---------------------------------------------------------------------------
have cargo || die "cargo not found: install the Rust toolchain (rustup.rs)"
missing=()
have cc c++ make || missing+=(build-essential)
require_packages "${missing[@]}"
require_python

# ---- style first: a finding fails in seconds, not after the long tests ----------------
bounded 1200 bash tests/run-style.sh

# ---- Rust ----------------------------------------------------------------------------
say "cargo build (workspace, binaries, examples)"
bounded 2400 cargo build --workspace --all-targets

say "cargo test (core: unit, loopback, stress, 10,000 ehyphae)"
bounded 2400 cargo test --workspace

say "Life demo, headless: three realms exchange zones over loopback"
base=$(free_ports 3)
bounded 300 cargo run -q --example life -- --headless 1000 --base-port "$base"

say "C ABI: header, library, C/C++ tests, ASan, valgrind, pkg-config and install"
bounded 2400 bash tests/run-capi.sh
say "coexistence: emyzelium beside the zmq crate and sodiumoxide in one program"
bounded 2400 bash tests/run-coexist.sh

# ---- Fuzz targets' build, ahead: the nightly sanitizer build takes minutes of CPU that
# the Python, cross-face and Tor steps leave idle (they mostly wait on sockets). At nice 19
# it takes only what they leave; the fuzzing step below waits for it (Cargo's lock on
# target/fuzz) and builds whatever it did not finish.
FUZZ_PREBUILD_LOG=$ROOT/target/fuzz-prebuild.log
mkdir -p "$ROOT/target"
timeout -k 10 3600 nice -n 19 bash tests/run-fuzz.sh --build-only >"$FUZZ_PREBUILD_LOG" 2>&1 &
FUZZ_PREBUILD=$!
# timeout leads its own process group: stop the whole build if this script ends first.
trap 'kill -TERM -- -$FUZZ_PREBUILD 2>/dev/null || true' EXIT

# ---- Python (pyzmq peer: wire compatibility) -----------------------------------------
project_venv
say "pytest: wire compatibility with an independent pyzmq peer"
bounded 1200 env EMZ_BIN="$ROOT/target/debug/emz" "$VENV/bin/python" -m pytest tests/wire -q -p no:cacheprovider
say "pytest: hostile peers against emz emit (revocation, floods, malformed handshakes)"
bounded 1800 env EMZ_BIN="$ROOT/target/debug/emz" "$VENV/bin/python" -m pytest tests/hostile -q -s -p no:cacheprovider

# ---- Python wheel (emz-py): built, installed alone in a fresh venv, tested -----------
bounded 3600 bash tests/run-py.sh

# ---- README: its marked recipes, run as written (tests/readme) ------------------------
say "README recipes (the blocks marked <!-- test -->), each under its time limit"
bounded 1800 bash tests/readme/run.sh

# ---- Documentation: MSRV from the lockfile, rendered API docs of every face, no warnings --
# pydoc reads the wheel tests/run-py.sh built (no second build of libzmq for it).
wheels=("$ROOT"/tests/.tmp/dist/emyzelium-*.whl)
bounded 1800 env EMZ_WHEEL="${wheels[0]}" bash tests/run-docs.sh

# ---- Tor: a private Tor network in a fresh network namespace; every face over onions --
say "Tor: private network on loopback, Rust/C/Python efungi over onion services"
bounded 2400 bash tests/run-tor.sh

# ---- Fuzzing: every cargo-fuzz target for a bounded time (nightly toolchain) ----------
say "fuzzing: each target for ${EMZ_FUZZ_SECONDS:-60} s"
if wait "$FUZZ_PREBUILD"; then
    echo "the targets were built ahead ($FUZZ_PREBUILD_LOG)"
else
    echo "building the targets ahead failed (status $?; $FUZZ_PREBUILD_LOG): building them now"
fi
bounded 3600 bash tests/run-fuzz.sh "${EMZ_FUZZ_SECONDS:-60}"

say "all tests passed"
