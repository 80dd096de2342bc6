#!/usr/bin/env bash
# The Python wheel: builds it with maturin (release, abi3), installs it ALONE into a fresh
# venv (proving it is self-contained: no libzmq, no pyzmq), then adds the test tools and
# runs the pytest suite of emz-py/tests (Python API and command line), mypy's stubtest (the
# .pyi stubs against the runtime), and tests/cross: every face (Rust, C, Python) to every
# face and to the independent pyzmq peer over loopback, which needs this wheel.
# Under CI=true nothing may be skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$ROOT/tests/.tmp
TOOLS=$TMP/py-tools
FRESH=$TMP/py-fresh
DIST=$TMP/dist
PY=${PYTHON:-python3}

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
mkdir -p "$TMP"

say "maturin (in $TOOLS)"
[ -x "$TOOLS/bin/python" ] || "$PY" -m venv "$TOOLS"
"$TOOLS/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.5,<2'

say "building the wheel (release; libzmq + libsodium inside)"
rm -rf "$DIST"
"$TOOLS/bin/maturin" build --release --quiet -m emz-py/Cargo.toml -o "$DIST" 2>&1 | grep -v '^$' || true
WHEEL=$(ls "$DIST"/emyzelium-*.whl 2>/dev/null | head -1)
[ -n "$WHEEL" ] || die "maturin produced no wheel"
echo "$WHEEL"

say "fresh venv: pip install of the wheel alone (no index: nothing else may be needed)"
rm -rf "$FRESH"
"$PY" -m venv "$FRESH"
"$FRESH/bin/python" -m pip install -q --disable-pip-version-check --no-index "$WHEEL"
( cd "$TMP" && "$FRESH/bin/python" - <<'PY'
import emyzelium as emz, sys
assert "site-packages" in emz.__file__, emz.__file__
for name in ("zmq",):
    assert name not in sys.modules
pk, sk = emz.keypair()
with emz.Efunguz(sk, port=0, bind_host="127.0.0.1") as ef:
    ef.update()
print(f"emyzelium {emz.__version__} from {emz.__file__}, libzmq {emz.libzmq_version()}: ok")
PY
)
( cd "$TMP" && "$FRESH/bin/emyzelium" keygen >/dev/null ) || die "the emyzelium command does not run"
"$FRESH/bin/python" -m pip list --disable-pip-version-check --format=freeze | grep -v -E '^(pip|setuptools)==' 

say "test dependencies (after the wheel)"
"$FRESH/bin/python" -m pip install -q --disable-pip-version-check -r emz-py/tests/requirements.txt

say "pytest: Python API and command line"
( cd "$TMP" && "$FRESH/bin/python" -m pytest "$ROOT/emz-py/tests" -p no:cacheprovider -q -rs )

say "stubtest: emyzelium's .pyi stubs against the runtime; mypy on the examples"
( cd "$TMP" && "$FRESH/bin/python" -m mypy.stubtest emyzelium --allowlist "$ROOT/emz-py/stubtest-allowlist.txt" )
( cd "$TMP" && "$FRESH/bin/python" -m mypy --strict --no-error-summary "$ROOT/examples-py" ) \
    && echo "mypy --strict examples-py: ok"

EMZ_PYTHON=$FRESH/bin/python bash "$ROOT/tests/cross/run.sh"

say "Python: all passed"
