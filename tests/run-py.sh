#!/usr/bin/env bash
# The Python wheel: builds it with maturin (release, abi3), installs it ALONE into a fresh
# venv (proving it is self-contained: no libzmq, no pyzmq), then adds the test tools and
# runs the pytest suite of emz-py/tests (Python API and command line), mypy's stubtest (the
# .pyi stubs against the runtime), and tests/cross: every face (Rust, C, Python) to every
# face and to the independent pyzmq peer over loopback, which needs this wheel.
# Under CI=true nothing may be skipped.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
TMP=$ROOT/tests/.tmp
TOOLS=$TMP/py-tools
FRESH=$TMP/py-fresh
DIST=$TMP/dist
mkdir -p "$TMP"

say "building the wheel (release; libzmq + libsodium inside; maturin in $TOOLS)"
# maturin prints blank lines even when quiet; grep exits 1 when nothing is left.
build_wheel "$TOOLS" "$DIST" 2>&1 | { grep -v '^$' || true; } || die "maturin could not build the wheel"
wheels=("$DIST"/emyzelium-*.whl)
[ -f "${wheels[0]}" ] || die "maturin produced no wheel"
WHEEL=${wheels[0]}
echo "$WHEEL"

say "fresh venv: pip install of the wheel alone (no index: nothing else may be needed)"
rm -rf "$FRESH"
make_venv "$FRESH"
pip_install "$FRESH" --no-index "$WHEEL"
( cd "$TMP" && "$FRESH/bin/python" - <<'PY'
import sys

import emyzelium as emz

assert "site-packages" in emz.__file__, emz.__file__
assert "zmq" not in sys.modules, "the wheel must not need pyzmq"
pk, sk = emz.keypair()
with emz.Efunguz(sk, port=0, bind_host="127.0.0.1") as ef:
    ef.update()
print(f"emyzelium {emz.__version__} from {emz.__file__}, libzmq {emz.libzmq_version()}: ok")
PY
)
( cd "$TMP" && "$FRESH/bin/emyzelium" keygen >/dev/null ) || die "the emyzelium command does not run"
"$FRESH/bin/python" -m pip list --disable-pip-version-check --format=freeze | grep -v -E '^(pip|setuptools)=='

say "test dependencies (after the wheel)"
pip_install "$FRESH" -r emz-py/tests/requirements.txt

say "pytest: Python API and command line"
( cd "$TMP" && "$FRESH/bin/python" -m pytest "$ROOT/emz-py/tests" -p no:cacheprovider -q -rs )

say "stubtest: emyzelium's .pyi stubs against the runtime; mypy on the examples"
( cd "$TMP" && "$FRESH/bin/python" -m mypy.stubtest emyzelium --allowlist "$ROOT/emz-py/stubtest-allowlist.txt" )
( cd "$TMP" && "$FRESH/bin/python" -m mypy --strict --no-error-summary "$ROOT/examples-py" ) \
    && echo "mypy --strict examples-py: ok"

EMZ_PYTHON=$FRESH/bin/python bash "$ROOT/tests/cross/run.sh"

say "Python: all passed"
