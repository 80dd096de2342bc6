#!/usr/bin/env bash
# Everything of the C side: header freshness, library, examples, the C face's own tests
# (emz-capi/tests: C tests as C and as C++, the C++ wrapper, README's C snippet, the C++17
# check), ASan/UBSan + LeakSanitizer, valgrind, and install with consumers built through
# CMake, pkg-config and -static (emz-capi/tests/test_install.sh).
# C against the other faces is tests/cross (run by tests/run-py.sh, which has the wheel);
# emz_update()'s cost is in benches. Last line: "capi: N passed, M failed".
# Under CI=true nothing may be skipped: a missing tool is a failure.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
MK=(make -s -C emz-capi)
BIN=$ROOT/target/capi/bin
TMP=$(mktemp -d "${TMPDIR:-/tmp}/emz-capi.XXXXXX")
trap 'rm -rf "$TMP"' EXIT


# ---- tools ---------------------------------------------------------------------------
need=()
command -v cc >/dev/null && command -v c++ >/dev/null && command -v make >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cmake >/dev/null || need+=(cmake)
command -v valgrind >/dev/null || need+=(valgrind)
echo '#include <curses.h>' | cc -E -x c - >/dev/null 2>&1 || need+=(libncurses-dev)
command -v python3 >/dev/null || need+=(python3)
require_packages "${need[@]}"

# ---- header, build ---------------------------------------------------------------------
step "header: cbindgen (pinned) regenerates include/emyzelium.h with no difference" "${MK[@]}" header-check
step "build: libemyzelium.so/.a, pkg-config file, examples, tests" "${MK[@]}" all tests

say "libemyzelium.so carries libzmq, libsodium and libstdc++: its runtime needs"
ldd "$ROOT/target/capi/lib/libemyzelium.so" | tee "$TMP/ldd"
if grep -vE 'linux-vdso|ld-linux|libc\.so|libgcc_s\.so|libm\.so' "$TMP/ldd" | grep -q .; then
    bad "libemyzelium.so needs more than libc/libgcc_s"
else
    ok "libemyzelium.so needs only libc (and libgcc_s)"
fi

pc_build() { # pc_build PKG_CONFIG_PATH OUT: builds genkeypair.c with pkg-config, runs it
    local cflags libs
    cflags=$(PKG_CONFIG_PATH=$1 pkg-config --cflags emyzelium)
    libs=$(PKG_CONFIG_PATH=$1 pkg-config --libs emyzelium)
    # shellcheck disable=SC2086
    cc -std=c99 -Wall -Werror examples-c/genkeypair.c -o "$2" $cflags $libs &&
        LD_LIBRARY_PATH=$1/.. "$2" | grep -q '^secret: '
}
step "pkg-config: cc app.c \$(pkg-config --cflags --libs emyzelium) (in-tree .pc)" \
    pc_build "$ROOT/target/capi/lib/pkgconfig" "$TMP/genkeypair-tree"
step "make install (lib64; DESTDIR + multiarch, moved), consumers by CMake, pkg-config, -static" \
    "${MK[@]}" test-install

# ---- tests -------------------------------------------------------------------------------
step "C tests (as C99 and as C++17), C++ wrapper test, static link, README snippet, C++17 check" "${MK[@]}" test
step "C test: a subscriber that stops updating delays nobody, then gets the latest" "${MK[@]}" test-slow
step "ASan + UBSan + LeakSanitizer (C tests and C++ wrapper test)" "${MK[@]}" test-asan
step "valgrind (memcheck, definite/indirect leaks are errors)" "${MK[@]}" test-valgrind
step "C++ example pubsub_cpp" "$BIN/pubsub_cpp"

printf '\ncapi: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
