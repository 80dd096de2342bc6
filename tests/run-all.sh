#!/usr/bin/env bash
# Runs every test of the project: the one command README promises.
# Installs what it needs (a venv for Python; Debian packages when root).
# Under CI=true nothing may be skipped: a missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

as_root_apt() {
    # apt-get only when root; otherwise say what is missing.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        die "missing: $* (install them, or run as root so this script can)"
    fi
}

# ---- tools ---------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup.rs)"
command -v cc >/dev/null && command -v c++ >/dev/null && command -v make >/dev/null \
    || as_root_apt build-essential
python_ok() { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; }
python_ok || as_root_apt python3 python3-venv python3-pip

# ---- Rust ----------------------------------------------------------------------------
say "cargo build (workspace, binaries, examples)"
cargo build --workspace --all-targets

say "cargo test (core: unit, loopback, stress, 10,000 ehyphae)"
cargo test --workspace

say "Life demo, headless: three realms exchange zones over loopback"
cargo run -q --example life -- --headless 1000 --base-port "$(python3 - <<'PY'
import socket
# three consecutive free ports
for base in range(41000, 60000, 7):
    try:
        ss = [socket.socket() for _ in range(3)]
        for i, s in enumerate(ss):
            s.bind(("127.0.0.1", base + i))
        for s in ss:
            s.close()
        print(base)
        break
    except OSError:
        for s in ss:
            s.close()
PY
)"

say "C ABI: header, library, C/C++ tests, ASan, valgrind, C <-> Rust"; bash tests/run-capi.sh

# ---- Python (pyzmq peer: wire compatibility) -----------------------------------------
VENV=$ROOT/.venv
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/requirements.txt

say "pytest: wire compatibility with an independent pyzmq peer"
EMZ_BIN=$ROOT/target/debug/emz "$VENV/bin/python" -m pytest tests/wire -q -p no:cacheprovider

# ---- Python wheel (emz-py): built, installed alone in a fresh venv, tested -----------
bash tests/run-py.sh

# ---- Tor: a private Tor network in a fresh network namespace; every face over onions --
say "Tor: private network on loopback, Rust/C/Python efungi over onion services"; bash tests/run-tor.sh

say "all tests passed"
