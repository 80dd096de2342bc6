#!/usr/bin/env bash
# emyzelium in one program with other users of libzmq and libsodium: tests/coexist, a
# crate of its own (own workspace and Cargo.lock) depending on emyzelium, the `zmq` crate
# (links = "zmq", its own static libzmq 4.3.4) and sodiumoxide (links = "sodium", its own
# libsodium). It must resolve, link and run with both copies of each library side by
# side; `nm` shows that none of our copy's symbols go by the common names, and that
# libemyzelium.so exports only emz_*. Then the same crate with feature system-zmq (needs
# libzmq3-dev: installed when root, a loud skip otherwise, a failure under CI=true).
# Last line: "coexist: N passed, M failed". Under CI=true nothing may be skipped.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
CRATE=(--manifest-path tests/coexist/Cargo.toml --locked)
TARGET=$ROOT/target/coexist


need=()
have cc c++ make || need+=(build-essential)
have nm objcopy || need+=(binutils)
require_packages "${need[@]}"

# Definitions (not references) of libzmq's and libsodium's common names in a binary:
# their C API, and libzmq's C++ classes (namespace zmq, mangled _ZN3zmq / _ZNK3zmq ...).
COMMON='^(zmq_|crypto_|sodium_|randombytes_|_ZN3zmq|_ZNK3zmq|_ZTVN3zmq|_ZTIN3zmq)'
# common_defs FILE: prints them; fails when nm finds no symbols at all (nothing checked).
common_defs() {
    local out
    out=$(nm --defined-only "$1" 2>/dev/null) || true
    [ -n "$out" ] || { echo "nm found no symbols in $1" >&2; return 1; }
    awk '{print $NF}' <<<"$out" | grep -E "$COMMON" || true
}

# no_common_defs FILE...: none of the files defines a symbol by a common name.
no_common_defs() {
    local f defs found=0
    [ $# -gt 0 ] || { echo "no file to look into" >&2; return 1; }
    for f in "$@"; do
        defs=$(common_defs "$f") || { found=1; continue; }
        if [ -n "$defs" ]; then
            head -5 <<<"$defs"
            echo "$f defines the names above (and maybe more) unprefixed" >&2
            found=1
        fi
    done
    return "$found"
}

# ---- default build: our vendored, prefixed copies beside the zmq crate's and sodiumoxide's
# EMZ_BUILD_CACHE_DIR: our libzmq comes from the workspace's dev build when it has made
# one (emz-core/build/cache.rs); the zmq crate's and sodiumoxide's are built here.
step "build tests/coexist: emyzelium + zmq 0.10 + sodiumoxide in one dependency graph" \
    env EMZ_BUILD_CACHE_DIR="$ROOT/target/debug/build" cargo build -q "${CRATE[@]}" --target-dir "$TARGET"
BIN=$TARGET/debug/emz-coexist
step "run: each libzmq and libsodium copy answers its own callers; CURVE round trip on 127.0.0.1" \
    "$BIN"

rlib_clean() {
    local rlibs
    mapfile -t rlibs < <(find "$TARGET/debug/deps" -name 'libemyzelium-*.rlib')
    no_common_defs "${rlibs[@]}"
}
step "nm: emyzelium's rlib (our libzmq and libsodium inside) defines no common name" rlib_clean

both_copies() { # each library's entry point is there twice: the common name and ours
    local defs sym
    defs=$(nm --defined-only "$BIN" | awk '{print $NF}')
    for sym in zmq_ctx_new zmq_socket zmq_bind zmq_msg_send zmq_msg_recv sodium_init crypto_scalarmult_curve25519_base; do
        [ "$(grep -cx "$sym" <<<"$defs")" = 1 ] || { echo "$sym: not defined once by the other copy" >&2; return 1; }
        [ "$(grep -cx "emzv_$sym" <<<"$defs")" = 1 ] || { echo "emzv_$sym: not defined once by ours" >&2; return 1; }
    done
}
step "nm: the coexist binary holds both copies, ours under emzv_ names" both_copies

say "libemyzelium.so (make -C emz-capi lib)"
make -s -C emz-capi lib >/dev/null
SO=$ROOT/target/capi/lib/libemyzelium.so
only_emz_exports() {
    local exports
    exports=$(nm -D --defined-only "$SO" | awk '{print $NF}')
    [ -n "$exports" ] || { echo "no dynamic symbols in $SO" >&2; return 1; }
    if grep -v '^emz_' <<<"$exports"; then
        echo "$SO exports the names above besides emz_*" >&2
        return 1
    fi
}
step "nm -D: libemyzelium.so exports only emz_*" only_emz_exports
# A stripped build has no symbol table left to look into: then there is nothing to find.
if nm "$SO" >/dev/null 2>&1 && [ -n "$(nm "$SO" 2>/dev/null | head -1)" ]; then
    step "nm: libemyzelium.so defines no common name, even locally" no_common_defs "$SO"
fi

# ---- feature system-zmq: emyzelium links the system libzmq by name ----------------------
# It resolves and links beside the zmq crate. Then emyzelium and the zmq crate both call
# libzmq by its common names, and the zmq crate's static copy (zmq-sys always builds one,
# without CURVE) takes them: the program runs on that one libzmq, and emyzelium must
# refuse it with a clear error (the binary checks that when it finds no CURVE).
if ! pkg-config --exists libzmq 2>/dev/null; then
    apt_install libzmq3-dev pkg-config || true
fi
if pkg-config --exists libzmq 2>/dev/null; then
    step "build tests/coexist with feature system-zmq (system libzmq $(pkg-config --modversion libzmq))" \
        cargo build -q "${CRATE[@]}" --target-dir "$TARGET" --no-default-features --features system-zmq
    step "run with feature system-zmq" "$BIN"
else
    msg="SKIPPED: feature system-zmq: no libzmq with pkg-config (install libzmq3-dev, or run as root)"
    if [ "$CI" = true ]; then
        bad "$msg"
    else
        printf '\n!!! %s !!!\n\n' "$msg" >&2
    fi
fi

echo "coexist: $passed passed, $failed failed"
[ "$failed" = 0 ]
