#!/usr/bin/env bash
# Runs every test of the project: the one command README promises, and what CI runs.
# Installs what it needs (venvs for Python; Debian packages when root).
# Under CI=true nothing may be skipped: a missing tool is a failure.
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
bash tests/run-style.sh

# ---- Rust ----------------------------------------------------------------------------
say "cargo build (workspace, binaries, examples)"
cargo build --workspace --all-targets

say "cargo test (core: unit, loopback, stress, 10,000 ehyphae)"
cargo test --workspace

say "Life demo, headless: three realms exchange zones over loopback"
base=$(free_ports 3)
cargo run -q --example life -- --headless 1000 --base-port "$base"

say "C ABI: header, library, C/C++ tests, ASan, valgrind, pkg-config and install"
bash tests/run-capi.sh
bash tests/run-coexist.sh # emyzelium beside the zmq crate and sodiumoxide in one program

# ---- Python (pyzmq peer: wire compatibility) -----------------------------------------
project_venv
say "pytest: wire compatibility with an independent pyzmq peer"
EMZ_BIN=$ROOT/target/debug/emz "$VENV/bin/python" -m pytest tests/wire -q -p no:cacheprovider
say "pytest: hostile peers against emz emit (revocation, floods, malformed handshakes)"
EMZ_BIN=$ROOT/target/debug/emz "$VENV/bin/python" -m pytest tests/hostile -q -s -p no:cacheprovider

# ---- Python wheel (emz-py): built, installed alone in a fresh venv, tested -----------
bash tests/run-py.sh

# ---- Tor: a private Tor network in a fresh network namespace; every face over onions --
say "Tor: private network on loopback, Rust/C/Python efungi over onion services"
bash tests/run-tor.sh

# ---- Fuzzing: every cargo-fuzz target for a bounded time (nightly toolchain) ----------
say "fuzzing: each target for ${EMZ_FUZZ_SECONDS:-60} s"
bash tests/run-fuzz.sh "${EMZ_FUZZ_SECONDS:-60}"

say "all tests passed"
