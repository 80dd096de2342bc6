# shellcheck shell=bash
# Helpers shared by the test scripts and the benchmark script, so that installing, port
# finding and venv handling follow one rule everywhere. Sourced, never run:
#   . "$(dirname "$0")/lib.sh"            (from tests/)
# Leaves the caller at the root of the tree, with ROOT, CI (true/false) and PY set.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "tests/lib.sh is sourced by the test scripts; it does nothing on its own" >&2
    exit 1
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 1
cd "$ROOT" || exit 1
CI=${CI:-false}
PY=${PYTHON:-python3}

say() { printf '\n==> %s\n' "$*"; }

# A script whose last line must be its summary (read by CI) sets DIE_SUMMARY to it, so a
# failure before the summary still ends on one.
die() {
    printf '\nFAILED: %s\n' "$*" >&2
    if [ -n "${DIE_SUMMARY:-}" ]; then echo "$DIE_SUMMARY"; fi
    exit 1
}

# have CMD...: true when every CMD is on PATH.
have() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null || return 1; done
}

# can_apt: only root installs packages; a developer's own machine is theirs to change.
can_apt() { [ "$(id -u)" = 0 ] && have apt-get; }

# apt_install PKG...: installs Debian packages; returns 1 without trying when it cannot, so
# the caller decides between failing and skipping. apt-get update runs once per run of the
# test command, not once per script.
apt_install() {
    can_apt || return 1
    say "installing $* (apt-get)"
    if [ "${EMZ_APT_UPDATED:-}" != 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
        export EMZ_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# require_packages PKG...: installs what is listed (nothing listed: nothing to do) or dies
# naming it: a missing tool is never a skip.
require_packages() {
    [ $# -gt 0 ] || return 0
    if ! can_apt; then
        die "missing: $* (install them, or run as root so this script can)"
    fi
    apt_install "$@" || die "apt-get could not install: $*"
}

# require_python: $PY with the venv module (Debian ships venv and ensurepip apart).
require_python() {
    have "$PY" && "$PY" -c 'import venv, ensurepip' 2>/dev/null && return 0
    require_packages python3 python3-venv python3-pip
    "$PY" -c 'import venv, ensurepip' 2>/dev/null || die "$PY cannot create venvs"
}

# make_venv DIR: a venv at DIR unless one is there already.
make_venv() {
    [ -x "$1/bin/python" ] && return 0
    require_python
    say "creating the venv $1"
    "$PY" -m venv "$1"
}

# pip_install VENV ARG...: pip install into VENV, quietly.
pip_install() {
    local venv=$1
    shift
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@"
}

# project_venv: $ROOT/.venv with tests/requirements.txt (pyzmq, pytest, ruff); sets VENV.
# pip runs only when the requirements changed since the last install, so each script may
# call this without paying for it twice.
project_venv() {
    VENV=$ROOT/.venv
    make_venv "$VENV" || return 1
    if ! cmp -s tests/requirements.txt "$VENV/.emz-requirements"; then
        pip_install "$VENV" -r tests/requirements.txt || die "pip could not install tests/requirements.txt into $VENV"
        cp tests/requirements.txt "$VENV/.emz-requirements"
    fi
}

# build_wheel VENV DIST: maturin into VENV, then the release wheel of emz-py (abi3, libzmq
# and libsodium inside) into DIST, emptied first. maturin's output goes to the caller. Steps
# chained with && in a subshell: any failed step (a die too) is the function's status, also
# where the caller turns set -e off (an if, a ||) to carry on without the wheel.
build_wheel() (
    make_venv "$1" \
        && pip_install "$1" 'maturin>=1.5,<2' \
        && rm -rf "$2" \
        && "$1/bin/maturin" build --release --quiet -m emz-py/Cargo.toml -o "$2"
)

# free_ports N: prints the first of N consecutive free TCP ports on 127.0.0.1: the
# free_ports of tests/faces.py, the one helper every test suite uses.
free_ports() {
    local base
    base=$(cd "$ROOT/tests" && "$PY" -c 'import sys, faces; print(faces.free_ports(int(sys.argv[1])))' "$1") \
        || die "no $1 consecutive free ports on 127.0.0.1"
    echo "$base"
}

# bounded SECONDS CMD...: runs CMD with a time limit, so that no step of the test command can
# hang it: at the limit CMD's whole process group gets TERM, then KILL 10 s later (timeout
# -k), and the step fails with status 124 (137 after the KILL). CMD runs in the background of
# this shell while the shell waits for it: a signal to the script (Ctrl-C, TERM from CI) stops
# CMD's group too instead of leaving it running. `timeout` gives CMD default handlers for
# INT/TERM/HUP, so a step started from a backgrounded script still hears its signals.
bounded() {
    local secs=$1 pid rc=0 sig=
    shift
    timeout -k 10 "$secs" "$@" &
    pid=$!
    # timeout leads its own process group: the group's id is its pid.
    trap 'sig=130; kill -TERM -- -'"$pid"' 2>/dev/null' INT
    trap 'sig=143; kill -TERM -- -'"$pid"' 2>/dev/null' TERM HUP
    while :; do
        rc=0
        wait "$pid" || rc=$?
        # A trapped signal ends wait early (status > 128) while the step may still run.
        kill -0 "$pid" 2>/dev/null || break
    done
    trap - INT TERM HUP
    # Stopped by a signal: the script stops too, after the step is gone.
    [ -z "$sig" ] || exit "$sig"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        printf '\nFAILED: time limit of %s s reached: %s\n' "$secs" "$*" >&2
    fi
    return "$rc"
}

# Counted checks for the test scripts: `ok`/`bad` record one result each, `step NAME
# CMD...` says NAME, runs CMD and records how it went; `passed`/`failed` hold the totals.
passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok: %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAILED: %s\n' "$*" >&2; }
step() { # step NAME CMD...: runs CMD, counts it
    local name=$1
    shift
    say "$name"
    if "$@"; then ok "$name"; else bad "$name"; fi
}
