#!/usr/bin/env bash
# Fuzzes each target for a bounded time: `tests/run-fuzz.sh [SECONDS]` (default 60 per
# target). Installs cargo-fuzz when missing; needs a nightly toolchain. A crash leaves its
# input under <crate>/fuzz/artifacts/<target>/: turn it into a unit test beside the
# function that crashed, then fix. Last line: "fuzz: N passed, M failed".
# FUZZ_TARGETS="crate-dir:target ..." picks targets; another crate's fuzz project (the
# C ABI's, say) joins by adding its "dir:target" pairs to TARGETS below.
# `tests/run-fuzz.sh --build-only` builds every target and fuzzes none: tests/run-all.sh
# runs it ahead, at idle priority, while other steps mostly wait.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_ONLY=
if [ "${1:-}" = --build-only ]; then
    BUILD_ONLY=1
    shift
fi
SECONDS_EACH=${1:-60}
case $SECONDS_EACH in '' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

read -r -a TARGETS <<<"${FUZZ_TARGETS:-emz-core:etale_frames emz-core:subscription emz-core:zap_request emz-capi:c_arguments}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: a nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# The options of `cargo fuzz run` below, so that its build is the same one.
FUZZ_BUILD=(-O --target-dir "$ROOT/target/fuzz")

if [ -n "$BUILD_ONLY" ]; then
    for t in "${TARGETS[@]}"; do
        dir=${t%%:*}
        name=${t#*:}
        echo "==> $dir/fuzz: build $name"
        (cd "$ROOT/$dir" && cargo +nightly fuzz build "${FUZZ_BUILD[@]}" "$name")
    done
    echo "fuzz: built"
    exit 0
fi

passed=0
failed=0
for t in "${TARGETS[@]}"; do
    dir=${t%%:*}
    name=${t#*:}
    printf '\n==> %s/fuzz: %s for %ss\n' "$dir" "$name" "$SECONDS_EACH"
    # -O: the sanitizers stay on, the code is optimised so that each run covers more.
    # One target dir for every fuzz project: the sanitizer build of the core (libzmq
    # included) is made once and shared.
    if (cd "$ROOT/$dir" && nice -n 10 cargo +nightly fuzz run "${FUZZ_BUILD[@]}" "$name" -- \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048); then
        passed=$((passed + 1))
        echo "ok: $name"
    else
        failed=$((failed + 1))
        echo "FAILED: $name (input under $dir/fuzz/artifacts/$name/)" >&2
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
