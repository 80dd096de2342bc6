#!/usr/bin/env bash
# Renders the API documentation of every face into target/doc-site/, one command:
#   bash docs/build.sh
# - rust/    rustdoc of the crate emyzelium (warnings are errors: broken links, missing docs)
# - c/       doxygen of include/emyzelium.h and include/emyzelium.hpp (docs/Doxyfile; any
#            warning, an undocumented declaration included, fails)
# - python/  pydoc of the wheel's package, built as tests/run-py.sh builds it (or the wheel
#            named by EMZ_WHEEL), installed alone in a venv under target/
# - index.html linking the three, CHANGELOG.md and docs/POLICY.md.
# Installs doxygen with apt-get when root and missing. Last line: `docs: built in DIR`.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"

SITE=$ROOT/target/doc-site
PYDOC=$ROOT/target/doc-py
have cargo || die "cargo not found: install the Rust toolchain (rustup.rs)"
have doxygen || require_packages doxygen
require_python
rm -rf "$SITE"
mkdir -p "$SITE/c" "$SITE/python"

say "rustdoc: crate emyzelium (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib -p emyzelium
cp -r "$ROOT/target/doc" "$SITE/rust"

say "doxygen: include/emyzelium.h and include/emyzelium.hpp"
warnings=$SITE/c/warnings.log
(
    cat docs/Doxyfile
    echo "OUTPUT_DIRECTORY = $SITE/c"
    echo "WARN_LOGFILE = $warnings"
) | doxygen -
if [ -s "$warnings" ]; then
    cat "$warnings" >&2
    die "doxygen: $(wc -l <"$warnings") warnings (above)"
fi
rm -f "$warnings"

say "pydoc: the emyzelium package from the wheel"
if [ -n "${EMZ_WHEEL:-}" ]; then
    wheel=$EMZ_WHEEL
else
    build_wheel "$PYDOC/tools" "$PYDOC/dist" 2>&1 | { grep -v '^$' || true; } || die "maturin could not build the wheel"
    wheels=("$PYDOC"/dist/emyzelium-*.whl)
    wheel=${wheels[0]}
fi
[ -f "$wheel" ] || die "no wheel at $wheel"
rm -rf "$PYDOC/venv"
make_venv "$PYDOC/venv"
pip_install "$PYDOC/venv" --no-index "$wheel"
modules=(emyzelium emyzelium._emyzelium emyzelium._errors emyzelium._state)
# pydoc -w reports a module it cannot import on stdout and still exits 0.
out=$(cd "$SITE/python" && "$PYDOC/venv/bin/python" -m pydoc -w "${modules[@]}")
echo "$out"
if grep -v '^wrote ' <<<"$out" | grep -q .; then
    die "pydoc: $(grep -v '^wrote ' <<<"$out")"
fi

cat >"$SITE/index.html" <<HTML
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>emyzelium API documentation</title></head>
<body>
<h1>emyzelium $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1): API documentation</h1>
<ul>
<li><a href="rust/emyzelium/index.html">Rust</a>: the crate <code>emyzelium</code> (rustdoc)</li>
<li><a href="c/html/index.html">C and C++</a>: <code>emyzelium.h</code> and <code>emyzelium.hpp</code> (doxygen)</li>
<li><a href="python/emyzelium.html">Python</a>: the package <code>emyzelium</code> (pydoc)</li>
<li><a href="CHANGELOG.md">Changelog</a> and <a href="POLICY.md">versions and compatibility</a></li>
</ul>
</body>
</html>
HTML
cp CHANGELOG.md docs/POLICY.md "$SITE/"
echo "docs: built in $SITE"
