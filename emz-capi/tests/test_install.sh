#!/usr/bin/env bash
# `make install` as users and packagers run it, and projects built on the result:
# 1. PREFIX=T/home LIBDIR=T/home/lib64: every file where asked; the .pc carries no rpath
#    and no -lgcc_s, and neither it nor the CMake files name an absolute path.
# 2. DESTDIR=T/stage PREFIX=/usr LIBDIR=/usr/lib/MULTIARCH: everything under the stage,
#    nothing naming it; then the staged usr/ is moved and used from its new place.
# 3. From each: CMake find_package (emyzelium_DIR for lib64, CMAKE_PREFIX_PATH for
#    multiarch) with emyzelium::emyzelium, ::emyzelium_static and the C++ wrapper;
#    pkg-config (shared) and pkg-config --static with cc -static. Every consumer runs a
#    CURVE publish/subscribe on 127.0.0.1.
# 4. find_package of an incompatible version (99.0, and 0.MINOR-1 before 1.0) fails;
#    uninstall leaves nothing behind.
# cmake comes from apt-get when root; without it the CMake part is skipped, except under
# CI=true, where that is a failure. Last line: "install-test: N passed, M failed".
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../../tests/lib.sh"
MK=(make -s -C "$ROOT/emz-capi")
CONSUMER=$ROOT/emz-capi/tests/cmake
CC=${CC:-cc}
T=$(mktemp -d "${TMPDIR:-/tmp}/emz-install.XXXXXX")
trap 'rm -rf "$T"' EXIT

check() { # check NAME CMD...: runs CMD, counts it
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
run_consumer() { timeout 60 "$@"; } # a consumer ends by itself; this bounds a hang
# quiet CMD...: CMD's output only when it fails (glibc's -static link warns about NSS).
quiet() {
    "$@" >"$T/quiet.log" 2>&1 || { cat "$T/quiet.log" >&2 && return 1; }
}

if ! have cmake && ! apt_install cmake; then
    if [ "$CI" = true ]; then bad "cmake is missing and cannot be installed (CI=true: no skipping)"; fi
fi
have cmake || echo "SKIPPED: the CMake consumer (no cmake; run as root to have it installed)"

# files_of PREFIX LIBDIR: what an install must have written.
files_of() {
    local inc=$1/include lib=$2
    for f in "$lib"/libemyzelium.so "$lib"/libemyzelium.a "$lib"/pkgconfig/emyzelium.pc \
        "$lib"/cmake/emyzelium/emyzelium-config.cmake "$lib"/cmake/emyzelium/emyzelium-config-version.cmake \
        "$inc"/emyzelium.h "$inc"/emyzelium.hpp; do
        [ -e "$f" ] || { echo "missing: $f" >&2; return 1; }
    done
    local soname
    soname=$(readelf -d "$lib/libemyzelium.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    if [ -z "$soname" ] || [ ! -L "$lib/$soname" ]; then echo "no soname link in $lib" >&2 && return 1; fi
}

# clean_meta LIBDIR: the .pc and CMake files have no rpath, no libgcc_s, no absolute path.
clean_meta() {
    local pc=$1/pkgconfig/emyzelium.pc cm=$1/cmake/emyzelium
    if grep -n -e 'rpath' -e 'gcc_s' "$pc" "$cm"/*.cmake; then echo "rpath or gcc_s above" >&2 && return 1; fi
    if grep -n "$T" "$pc" "$cm"/*.cmake; then echo "an absolute path above: not relocatable" >&2 && return 1; fi
    # shellcheck disable=SC2016 # pkg-config's own variable, not the shell's
    grep -q '^prefix=${pcfiledir}/' "$pc" || { echo "prefix not from pcfiledir" >&2 && return 1; }
    grep -q '^Libs.private:.*-lstdc++' "$pc" || { echo "no -lstdc++ in Libs.private" >&2 && return 1; }
}

# pc_consumers NAME PREFIX LIBDIR: cc with pkg-config (shared, then -static), run both.
pc_consumers() {
    local name=$1 prefix=$2 lib=$3 out=$T/bin-$1
    mkdir -p "$out"
    local pcp=$lib/pkgconfig
    check "$name: pkg-config names the install" \
        test "$(PKG_CONFIG_PATH=$pcp pkg-config --variable=includedir emyzelium)" -ef "$prefix/include"
    # shellcheck disable=SC2046
    check "$name: cc app.c \$(pkg-config --cflags --libs emyzelium) builds" \
        "$CC" -std=c99 -Wall -Wextra -Werror "$CONSUMER/consumer.c" -o "$out/pc_shared" \
        $(PKG_CONFIG_PATH=$pcp pkg-config --cflags --libs emyzelium)
    check "$name: ... and runs against the installed libemyzelium.so" \
        bash -c "LD_LIBRARY_PATH='$lib' ldd '$out/pc_shared' | grep -q '$lib/libemyzelium.so' &&
                 LD_LIBRARY_PATH='$lib' timeout 60 '$out/pc_shared' pkg-config"
    # shellcheck disable=SC2046
    check "$name: cc -static app.c \$(pkg-config --cflags --static --libs emyzelium) builds" \
        quiet "$CC" -static -std=c99 -Wall -Wextra -Werror "$CONSUMER/consumer.c" -o "$out/pc_static" \
        $(PKG_CONFIG_PATH=$pcp pkg-config --cflags --static --libs emyzelium)
    check "$name: ... fully static, and runs" \
        bash -c "! readelf -d '$out/pc_static' | grep -q NEEDED && timeout 60 '$out/pc_static' pkg-config-static"
}

# cmake_consumers NAME WHERE: find_package and the three targets, built and run; WHERE is
# the -D that points CMake at the install.
cmake_consumers() {
    local name=$1 where=$2 build=$T/cmake-$1
    have cmake || return 0
    check "$name: cmake $where find_package(emyzelium $VERSION_MM) configures and builds" \
        bash -c "cmake -S '$CONSUMER' -B '$build' '$where' -DEMZ_WANT_VERSION=$VERSION_MM \
                     -DCMAKE_BUILD_TYPE=Release >'$T/cmake.log' 2>&1 &&
                 cmake --build '$build' >>'$T/cmake.log' 2>&1 || { cat '$T/cmake.log' >&2; false; }"
    check "$name: emyzelium::emyzelium runs (C)" run_consumer "$build/consumer_shared" cmake-shared
    check "$name: emyzelium::emyzelium_static runs, no libemyzelium.so needed" \
        bash -c "! ldd '$build/consumer_static' | grep -q libemyzelium && timeout 60 '$build/consumer_static' cmake-static"
    check "$name: emyzelium::emyzelium from C++17 through emyzelium.hpp runs" run_consumer "$build/consumer_cpp"
    local older want
    older=$(echo "$VERSION_MM" | awk -F. '$1 == 0 && $2 > 0 { print "0." $2 - 1 }')
    for want in 99.0 $older; do
        check "$name: find_package(emyzelium $want) is refused" \
            bash -c "! cmake -S '$CONSUMER' -B '$T/cmake-$1-$want' '$where' -DEMZ_WANT_VERSION=$want \
                         >'$T/cmake-refused.log' 2>&1 &&
                     grep -q 'compatible with requested version \"$want\"' '$T/cmake-refused.log'"
    done
}

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
VERSION_MM=$(echo "$VERSION" | cut -d. -f1,2)

# ---- 1. a home prefix with lib64 -----------------------------------------------------------
say "make install PREFIX=$T/home LIBDIR=$T/home/lib64"
H=$T/home
check "install into PREFIX with LIBDIR=lib64" "${MK[@]}" install PREFIX="$H" LIBDIR="$H/lib64"
check "home: the files are where asked (lib64, include)" files_of "$H" "$H/lib64"
check "home: nothing went to PREFIX/lib" test ! -e "$H/lib"
check "home: .pc and CMake files: no rpath, no gcc_s, relocatable" clean_meta "$H/lib64"
pc_consumers home "$H" "$H/lib64"
# Debian's CMake does not look in lib64 below a prefix: name the package's directory.
cmake_consumers home "-Demyzelium_DIR=$H/lib64/cmake/emyzelium"

# ---- 2. a package: DESTDIR, /usr, multiarch; then moved ------------------------------------
MA=$("$CC" -print-multiarch 2>/dev/null || true)
MA=${MA:-x86_64-linux-gnu}
say "make install DESTDIR=$T/stage PREFIX=/usr LIBDIR=/usr/lib/$MA"
check "install into DESTDIR with PREFIX=/usr and a multiarch LIBDIR" \
    "${MK[@]}" install DESTDIR="$T/stage" PREFIX=/usr LIBDIR="/usr/lib/$MA" INCLUDEDIR=/usr/include
check "stage: the files are under DESTDIR" files_of "$T/stage/usr" "$T/stage/usr/lib/$MA"
check "stage: nothing names DESTDIR, no rpath, no gcc_s" clean_meta "$T/stage/usr/lib/$MA"
mv "$T/stage/usr" "$T/moved"
pc_consumers moved "$T/moved" "$T/moved/lib/$MA"
cmake_consumers moved "-DCMAKE_PREFIX_PATH=$T/moved"

# ---- 3. uninstall -----------------------------------------------------------------------------
check "uninstall with the same variables leaves no file" \
    bash -c "'${MK[0]}' -s -C '$ROOT/emz-capi' uninstall PREFIX='$H' LIBDIR='$H/lib64' &&
             test -z \"\$(find '$H' -type f -o -type l)\""

printf '\ninstall-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
