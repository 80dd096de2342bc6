#!/usr/bin/env bash
# Everything of the C side: header freshness, library, examples, C tests as C and
# as C++, the C++ wrapper, ASan/UBSan + LeakSanitizer, valgrind, pkg-config and install,
# C <-> Rust cross-realm exchange, the C Life realm against Rust realms, and the cost of
# emz_update() next to Rust's update(). Last line: "capi: N passed, M failed".
# Under CI=true nothing may be skipped: a missing tool is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MK=(make -s -C emz-capi)
BIN=$ROOT/target/capi/bin
TMP=$(mktemp -d "${TMPDIR:-/tmp}/emz-capi.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

passed=0
failed=0
say() { printf '\n==> %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'ok: %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAILED: %s\n' "$*" >&2; }
step() { # step NAME CMD...: runs CMD, counts it
    local name=$1
    shift
    say "$name"
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# ---- tools ---------------------------------------------------------------------------
need=()
command -v cc >/dev/null && command -v c++ >/dev/null && command -v make >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v valgrind >/dev/null || need+=(valgrind)
echo '#include <curses.h>' | cc -E -x c - >/dev/null 2>&1 || need+=(libncurses-dev)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "FAILED: missing ${need[*]} (install them, or run as root so this script can)" >&2
        exit 1
    fi
fi

free_ports() { # free_ports N: base of N consecutive free loopback ports
    python3 - "$1" <<'PY'
import socket, sys, random
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    ss = []
    try:
        for i in range(n):
            s = socket.socket(); ss.append(s); s.bind(("127.0.0.1", base + i))
        print(base); break
    except OSError:
        pass
    finally:
        for s in ss: s.close()
PY
}

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
    cc -std=c99 -Wall -Werror examples-c/genkeypair.c -o "$2" $cflags $libs && "$2" | grep -q '^secret: '
}
step "pkg-config: cc app.c \$(pkg-config --cflags --libs emyzelium) (in-tree .pc)" \
    pc_build "$ROOT/target/capi/lib/pkgconfig" "$TMP/genkeypair-tree"
step "make install PREFIX=… then pkg-config from the installed .pc" \
    bash -c "'${MK[0]}' -s -C emz-capi install PREFIX='$TMP/prefix' >/dev/null && \
             test -f '$TMP/prefix/include/emyzelium.hpp' && \
             PKG_CONFIG_PATH='$TMP/prefix/lib/pkgconfig' pkg-config --modversion emyzelium"
step "installed library works" pc_build "$TMP/prefix/lib/pkgconfig" "$TMP/genkeypair-installed"

# ---- tests -------------------------------------------------------------------------------
step "C tests (as C99 and as C++17), C++ wrapper test, static link" "${MK[@]}" test
step "ASan + UBSan + LeakSanitizer (C tests and C++ wrapper test)" "${MK[@]}" test-asan
step "valgrind (memcheck, definite/indirect leaks are errors)" "${MK[@]}" test-valgrind
step "C++ example pubsub_cpp" "$BIN/pubsub_cpp"

# ---- C <-> Rust ------------------------------------------------------------------------
say "cross-realm: C efunguz and Rust (emz CLI) exchange etales both ways"
cargo build -q --bin emz
EMZ=$ROOT/target/debug/emz
cross() {
    local rs rp cs cp ls lp base
    read -r rp rs < <("$EMZ" keygen | awk '{print $2}' | paste -sd' ')
    read -r cp cs < <("$EMZ" keygen | awk '{print $2}' | paste -sd' ')
    read -r lp ls < <("$EMZ" keygen | awk '{print $2}' | paste -sd' ')
    base=$(free_ports 2)
    # Rust publisher: "fromrust" = [alpha, beta], only the C key may subscribe.
    "$EMZ" emit --secret "$rs" --bind 127.0.0.1 --port "$base" --whitelist "$cp" --title fromrust --every 50 \
        -- alpha beta >/dev/null &
    PIDS+=($!)
    # Rust subscriber of the C publisher's "fromc".
    "$EMZ" listen --secret "$ls" --peer "$cp@127.0.0.1:$((base + 1))" --title fromc --count 1 --timeout 30 \
        >"$TMP/listen.out" &
    local listener=$!
    "$BIN/cross_peer" "$cs" "$((base + 1))" "$lp" "$rp" "$base" || return 1
    wait "$listener" || return 1
    cat "$TMP/listen.out"
    # etale fromc T_OUT T_IN 2 <hex gamma> <hex 00ff>
    grep -qE '^etale fromc [0-9]+ [0-9]+ 2 67616d6d61 00ff$' "$TMP/listen.out"
}
if cross; then ok "C -> Rust and Rust -> C"; else bad "cross-realm C <-> Rust"; fi

say "Life: Mary in C against Alien and John in Rust (the Rust demo's realm code)"
cargo build -q -p emyzelium --example life
life() {
    local base
    base=$(free_ports 3)
    "$ROOT/target/debug/examples/life" --headless 3000 --realms alien,john --base-port "$base" --linger 2 \
        >"$TMP/life_rust.out" 2>&1 &
    local rust=$!
    "$BIN/life" --headless 3000 --realm mary --base-port "$base" || { wait "$rust" || true; cat "$TMP/life_rust.out"; return 1; }
    wait "$rust" || { cat "$TMP/life_rust.out"; return 1; }
    cat "$TMP/life_rust.out"
}
if life; then ok "Life: C and Rust realms exchanged zones"; else bad "Life: C realm vs Rust realms"; fi

# ---- cost of emz_update() next to Rust's update() -----------------------------------------
say "emz_update() through the C ABI vs Rust update(), idle ehyphae, same run"
"$BIN/bench_update" 10 1000 || bad "bench_update"
cargo run -q --release -p emyzelium --example update_cost -- 10 1000 | cut -d'|' -f1-3 | sed 's/$/|/' || true

printf '\ncapi: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
