#!/usr/bin/env bash
# The end-to-end Tor tests: starts a private Tor network on loopback once (tests/tor/tornet.py:
# 3 authorities, 2 relays, a client with a SOCKS port, an onion-service tor), runs
# tests/tor/test_tor.py against it, and stops exactly the tor processes it started.
#
# Runs inside a fresh network namespace (`unshare -n`, only `lo`) when it can, so nothing
# leaves the machine; the network and every test process share that namespace's loopback.
# Installs `tor` with apt-get when root. Without tor: under CI=true a failure, otherwise a
# loud SKIP. Last line: `tor: N passed, M failed`; exit status non-zero on any failure.
#
# Environment: EMZ_BIN (the emz binary; default target/debug/emz, built here),
# EMZ_TOR_FACES (faces that must take part, default rust; e.g. rust,python,c),
# EMZ_TOR_NO_NETNS=1 (run on the host's loopback, in a free port range),
# Arguments go to pytest: bash tests/run-tor.sh -k latency
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

result() { echo "tor: $1 passed, $2 failed"; }
DIE_SUMMARY=$(result 0 1)

if [ -z "${EMZ_TOR_INNER:-}" ]; then
    # ---- outside the namespace: tools, build, venv (these may need the network) -------
    have tor tor-gencert || apt_install tor || true
    if ! have tor tor-gencert; then
        if [ "$CI" = true ]; then
            die "tor is not installed and cannot be installed here (CI=true: the Tor tests must run)"
        fi
        echo
        echo "################################################################################"
        echo "### SKIP: Tor tests NOT RUN: tor is not installed (apt-get install tor, or run as root)"
        echo "################################################################################"
        result 0 0
        exit 0
    fi
    # The Debian package may start a system tor; this suite never uses or touches it.

    if [ -z "${EMZ_BIN:-}" ]; then
        say "cargo build -p emyzelium --bin emz --example life"
        cargo build -q -p emyzelium --bin emz --example life || die "cargo build of emz and the Life demo"
        export EMZ_BIN=$ROOT/target/debug/emz
    fi
    project_venv

    # The C face: tests/tor/emz_c_peer.c over the C ABI library (built by tests/run-capi.sh,
    # or here). Faces that must take part: all three under CI (run-all.sh runs run-capi.sh
    # and run-py.sh first), only Rust otherwise (the others join when built).
    mkdir -p "$ROOT/tests/.tmp"
    if [ -f emz-capi/Makefile ] && have cc; then
        say "make -C emz-capi lib (for the C face; up to date after run-capi.sh)"
        make -s -C emz-capi lib || echo "note: the C library did not build"
    fi
    if [ -e target/capi/lib/libemyzelium.so ] \
        && ! cc -std=c99 -Wall -Wextra -Werror -O1 -Iinclude tests/tor/emz_c_peer.c -Ltarget/capi/lib \
            -Wl,-rpath,"$ROOT/target/capi/lib" -lemyzelium -o tests/.tmp/emz-c-peer; then
        # Outside CI the C face is optional: EMZ_TOR_FACES decides whether its absence fails.
        [ "$CI" != true ] || die "building the C face (tests/tor/emz_c_peer.c)"
    fi
    if [ -z "${EMZ_TOR_FACES:-}" ]; then
        if [ "$CI" = true ]; then export EMZ_TOR_FACES=rust,python,c; else export EMZ_TOR_FACES=rust; fi
    fi

    export EMZ_TOR_INNER=1
    if [ "${EMZ_TOR_NO_NETNS:-}" != 1 ]; then
        if unshare -n true 2>/dev/null; then
            exec unshare -n bash "$0" "$@"
        elif unshare -rn true 2>/dev/null; then
            exec unshare -rn bash "$0" "$@"
        fi
        echo "note: cannot create a network namespace (unshare -n); using the host's loopback"
    fi
    export EMZ_TOR_NETNS=0
else
    export EMZ_TOR_NETNS=1
    # A fresh namespace has only `lo`, and it is down.
    if have ip; then
        ip link set lo up
    else
        python3 - <<'PY'
import fcntl, socket, struct
s = socket.socket()
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0))[:18])[1]  # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))  # SIOCSIFFLAGS |= IFF_UP
PY
    fi
    echo "running in a fresh network namespace (only lo)"
fi

# ---- the network, once ---------------------------------------------------------------
TEST_PY=$ROOT/.venv/bin/python
mkdir -p "$ROOT/tests/.tmp"
NET=$(mktemp -d "$ROOT/tests/.tmp/tornet.XXXXXX")
stop_net() { python3 tests/tor/tornet.py stop "$NET" || true; }
trap stop_net EXIT
trap 'exit 130' INT TERM HUP

say "starting the private Tor network ($NET)"
t0=$(python3 -c 'import time; print(time.time())')
# Every tor also exits by itself when this shell dies (__OwningControllerProcess).
if ! python3 tests/tor/tornet.py start "$NET" --owner-pid $$ --onions 6; then
    die "the private Tor network did not start (logs under $NET)"
fi
python3 -c "import time; print(f'network usable after {time.time() - $t0:.1f} s')"

say "pytest tests/tor (EMZ_BIN=$EMZ_BIN; required faces: $EMZ_TOR_FACES)"
export TORNET_JSON=$NET/net.json TOR_METRICS_FILE=$NET/metrics.json
set +e
"$TEST_PY" -m pytest tests/tor -v -p no:cacheprovider --junitxml="$NET/junit.xml" "$@"
rc=$?
set -e

read -r passed failed < <("$TEST_PY" - "$NET/junit.xml" "$CI" <<'PY'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1)
    sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0))
    e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
failed = f + e + (s if sys.argv[2] == "true" else 0)  # under CI a skip is a failure
print(t - f - e - s, failed)
PY
)
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
[ -f "$NET/metrics.json" ] && { say "Tor measurements"; cat "$NET/metrics.json"; echo; }
if [ "$failed" != 0 ] || [ "$passed" -eq 0 ]; then
    result "$passed" "$failed"
    exit 1
fi
stop_net
trap - EXIT
rm -rf "$NET"
result "$passed" "$failed"
