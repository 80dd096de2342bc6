#!/usr/bin/env bash
# The sdist (run by tests/run-py.sh): `maturin sdist` must hold every workspace piece the
# build needs and the licence (so must the core crate's `cargo package`), and pip in a
# fresh venv must build a working wheel of it, the way a user's `pip install
# emyzelium-*.tar.gz` does: build isolation (maturin from the index), the machine's own
# C/C++ compiler, no zig.
#
# A build from source compiles libzmq and libsodium (minutes). To keep the test command
# affordable the sdist is unpacked at a fixed place and built there (pip builds a local
# directory in place) into a kept CARGO_TARGET_DIR: cargo tells path packages apart by
# their path, so a fixed path is what lets a second run reuse the first one's libzmq.
# pip's own unpacking of the tarball would use a new temporary directory, hence a full
# build, each time. maturin stamps every file of the sdist with one fixed old date, and
# cargo finds a path package stale by file dates: so only the files whose content changed
# since the last run are copied over (dated now), and the others keep their date.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
TMP=$ROOT/tests/.tmp
SDIST=$TMP/sdist
SRC=$TMP/sdist-src
VENV_SDIST=$TMP/sdist-venv
project_venv

say "sdist: maturin sdist"
rm -rf "$SDIST"
"$VENV/bin/maturin" sdist -m emz-py/Cargo.toml -o "$SDIST" 2>&1 | { grep -v '^$' || true; } \
    || die "maturin could not make the sdist"
tarballs=("$SDIST"/emyzelium-*.tar.gz)
[ -f "${tarballs[0]}" ] || die "maturin produced no sdist"
TARBALL=${tarballs[0]}
NAME=$(basename "$TARBALL" .tar.gz)
echo "$TARBALL"

listing=$(tar tzf "$TARBALL")
for f in LICENSE pyproject.toml Cargo.toml Cargo.lock emz-core/Cargo.toml emz-core/build.rs emz-core/LICENSE \
    emz-py/Cargo.toml emz-py/LICENSE python/emyzelium/__init__.py python/emyzelium/py.typed; do
    grep -qx "$NAME/$f" <<<"$listing" || die "the sdist lacks $f"
done
pkg_info=$(tar xzf "$TARBALL" -O "$NAME/PKG-INFO")
grep -qx 'License-Expression: GPL-3.0-or-later' <<<"$pkg_info" || die "the sdist's PKG-INFO has no License-Expression"
grep -qx '# emyzelium for Python' <<<"$pkg_info" || die "the sdist's description is not emz-py/README.md"
echo "the sdist holds the licence, the core crate and the Python package; PKG-INFO: GPL-3.0-or-later"

# The core crate's package carries the licence too (emz-core/LICENSE links to the root's).
cargo package --list -q -p emyzelium --allow-dirty | grep -qx LICENSE || die "cargo package -p emyzelium lacks LICENSE"
echo "cargo package -p emyzelium: LICENSE included"

say "sdist: pip wheel in a fresh venv (CARGO_TARGET_DIR $TMP/sdist-target, kept)"
rm -rf "$VENV_SDIST" "$TMP/sdist-wheel" "$TMP/sdist-new"
mkdir -p "$SRC" "$TMP/sdist-new"
tar xzf "$TARBALL" -C "$TMP/sdist-new"
changed=0
while IFS= read -r -d '' f; do
    if ! cmp -s "$TMP/sdist-new/$f" "$SRC/$f"; then
        mkdir -p "$(dirname "$SRC/$f")"
        cp "$TMP/sdist-new/$f" "$SRC/$f"
        changed=$((changed + 1))
    fi
done < <(cd "$TMP/sdist-new" && find . -type f -print0)
# Files the sdist no longer has go too.
while IFS= read -r -d '' f; do
    [ -e "$TMP/sdist-new/$f" ] || rm -f "$SRC/$f"
done < <(cd "$SRC" && find . -type f -print0)
rm -rf "$TMP/sdist-new"
echo "$changed file(s) of the sdist new or changed since the last build"
make_venv "$VENV_SDIST"
start=$SECONDS
CARGO_TARGET_DIR=$TMP/sdist-target "$VENV_SDIST/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps \
    -w "$TMP/sdist-wheel" "$SRC/$NAME" || die "pip could not build the sdist"
echo "built from the sdist in $((SECONDS - start)) s"
wheels=("$TMP"/sdist-wheel/emyzelium-*.whl)
[ -f "${wheels[0]}" ] || die "pip produced no wheel from the sdist"
# The user's own build: tagged for this machine's glibc, not manylinux2014.
"$VENV/bin/python" tests/wheel/check_wheel.py "${wheels[0]}" --max-mb 6 || die "the wheel from the sdist is not what it must be"
pip_install "$VENV_SDIST" --no-index "${wheels[0]}"
(cd "$TMP" && "$VENV_SDIST/bin/python" "$ROOT/tests/wheel/smoke.py") || die "the wheel built from the sdist does not work"
rm -rf "$VENV_SDIST"
say "sdist: ok"
