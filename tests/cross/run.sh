#!/usr/bin/env bash
# Every face to every face over 127.0.0.1 (tests/cross): builds the Rust `emz` and Life
# demo, the C library, the C Life demo and the C face, then runs pytest with the Python of
# the wheel's fresh venv (tests/run-py.sh makes it; it also has pyzmq for the independent
# peer). All three faces must take part unless EMZ_FACES says otherwise.
# Arguments go to pytest: bash tests/cross/run.sh -k life
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${EMZ_PYTHON:-$ROOT/tests/.tmp/py-fresh/bin/python}

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

"$PY" -c 'import emyzelium, pytest, zmq' 2>/dev/null \
    || die "$PY lacks the wheel, pytest or pyzmq: run tests/run-py.sh first (or set EMZ_PYTHON)"

say "cross faces: emz and the Life demo (Rust), libemyzelium, the C Life demo and the C face"
cargo build -q -p emyzelium --bin emz --example life
make -s -C emz-capi lib examples
mkdir -p tests/.tmp
cc -std=c99 -Wall -Wextra -Werror -O1 -Iinclude tests/tor/emz_c_peer.c -Ltarget/capi/lib \
    -Wl,-rpath,"$ROOT/target/capi/lib" -lemyzelium -o tests/.tmp/emz-c-peer

say "pytest tests/cross: Rust, C, Python and the pyzmq peer, every ordered pair, over loopback"
export EMZ_FACES=${EMZ_FACES:-rust,python,c} EMZ_PYTHON=$PY
( cd tests/.tmp && "$PY" -m pytest "$ROOT/tests/cross" -q -p no:cacheprovider -rs "$@" )
