#!/usr/bin/env bash
# Writes what tells build systems where emyzelium lies: the pkg-config file and the CMake
# config package (from emyzelium.pc.in and emyzelium-config*.cmake.in beside this script).
# Run by the Makefile, for target/capi (the in-tree prefix) and for `make install`; all
# input comes from the environment:
#   PREFIX LIBDIR INCLUDEDIR PKGCONFIGDIR CMAKEDIR   absolute, as installed (no DESTDIR)
#   DESTDIR                                          staging root, may be empty
#   VERSION SONAME STATIC_LIBS SIZEOF_VOID_P
# Both files are relocatable: they find the prefix from their own place (${pcfiledir},
# CMAKE_CURRENT_LIST_DIR), so a moved tree keeps working. A directory outside PREFIX is
# written as an absolute path.
# The ${...} in single quotes are pkg-config's and CMake's variables, written as they are.
# shellcheck disable=SC2016
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

for v in PREFIX LIBDIR INCLUDEDIR PKGCONFIGDIR CMAKEDIR VERSION SONAME SIZEOF_VOID_P; do
    [ -n "${!v:-}" ] || { echo "package.sh: $v is empty" >&2; exit 2; }
done
for v in PREFIX LIBDIR INCLUDEDIR PKGCONFIGDIR CMAKEDIR; do
    case ${!v} in
        /*) printf -v "$v" '%s' "$(realpath -m -s "${!v}")" ;; # no //, no trailing /, no ..
        *) echo "package.sh: $v must be an absolute path, not '${!v}'" >&2; exit 2 ;;
    esac
done
DESTDIR=${DESTDIR:-}

under_prefix() { [ "$PREFIX" = / ] || [ "$1" = "$PREFIX" ] || case $1 in "$PREFIX"/*) true ;; *) false ;; esac; }
# ref BASE DIR: how a file names DIR: BASE/relative-path when DIR is below PREFIX (BASE
# stands for PREFIX there), else DIR itself.
ref() {
    if under_prefix "$2"; then printf '%s/%s' "$1" "$(realpath -m -s --relative-to="$PREFIX" "$2")"; else printf '%s' "$2"; fi
}
# base_from DIR VAR: PREFIX as seen from DIR (named by VAR in the file), or PREFIX itself.
base_from() {
    if under_prefix "$1"; then printf '%s/%s' "$2" "$(realpath -m -s --relative-to="$1" "$PREFIX")"; else printf '%s' "$PREFIX"; fi
}

cmake_static_libs=$(printf '%s' "${STATIC_LIBS:-}" | sed -e 's/^ *//' -e 's/ *$//' -e 's/ \+/;/g' -e 's/-l//g')

# fill TEMPLATE OUT SED-ARGS...: OUT (under DESTDIR) from TEMPLATE, written whole or not at all.
fill() {
    local template=$1 out=$DESTDIR$2
    shift 2
    mkdir -p "$(dirname "$out")"
    sed -e "s|@VERSION@|$VERSION|g" -e "s|@SONAME@|$SONAME|g" "$@" "$here/$template" >"$out.tmp"
    if grep -q '@[A-Z_]*@' "$out.tmp"; then
        echo "package.sh: $template has a placeholder left: $(grep -o '@[A-Z_]*@' "$out.tmp" | head -n1)" >&2
        rm -f "$out.tmp"
        exit 1
    fi
    mv -f "$out.tmp" "$out"
}

pc_prefix=$(base_from "$PKGCONFIGDIR" '${pcfiledir}')
fill emyzelium.pc.in "$PKGCONFIGDIR/emyzelium.pc" \
    -e "s|@PC_PREFIX@|$pc_prefix|" \
    -e "s|@PC_LIBDIR@|$(ref '${prefix}' "$LIBDIR")|" \
    -e "s|@PC_INCLUDEDIR@|$(ref '${prefix}' "$INCLUDEDIR")|" \
    -e "s|@STATIC_LIBS@|${STATIC_LIBS:-}|"

cmake_prefix=$(base_from "$CMAKEDIR" '${CMAKE_CURRENT_LIST_DIR}')
fill emyzelium-config.cmake.in "$CMAKEDIR/emyzelium-config.cmake" \
    -e "s|@CMAKE_PREFIX@|$cmake_prefix|" \
    -e "s|@CMAKE_LIBDIR@|$(ref '${_emz_prefix}' "$LIBDIR")|" \
    -e "s|@CMAKE_INCLUDEDIR@|$(ref '${_emz_prefix}' "$INCLUDEDIR")|" \
    -e "s|@CMAKE_STATIC_LIBS@|$cmake_static_libs|"
fill emyzelium-config-version.cmake.in "$CMAKEDIR/emyzelium-config-version.cmake" \
    -e "s|@SIZEOF_VOID_P@|$SIZEOF_VOID_P|g"
