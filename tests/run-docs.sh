#!/usr/bin/env bash
# The documentation and the promises around it:
# - MSRV: the workspace's rust-version is at least the rust-version of every package in
#   Cargo.lock (cargo metadata); only one toolchain is installed, so this reads metadata
#   instead of compiling with an old rustc. That no code uses a standard library item
#   newer than it is clippy's incompatible_msrv, denied in tests/run-style.sh's clippy run
#   (one clippy run: each set of clippy arguments recompiles every workspace target).
# - bash docs/build.sh renders the Rust, C/C++ and Python API docs into target/doc-site/
#   with no warning (it fails on any), and every page the index links to is there and
#   states the thread rule of its face.
# Doc examples run with `cargo test` and the Python docstring/signature walk with
# tests/run-py.sh. Last line: `docs: all checks passed`.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
have cargo || die "cargo not found: install the Rust toolchain (rustup.rs)"
require_python

say "MSRV: rust-version against every locked package"
meta=$ROOT/target/metadata.json
cargo metadata --format-version 1 --locked >"$meta"
"$PY" - "$meta" <<'PY'
import json
import sys


def version(text: str) -> tuple[int, ...]:
    parts = [int(x) for x in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))  # "1.88" is "1.88.0"


def dotted(v: tuple[int, ...]) -> str:
    return ".".join(map(str, v))


meta = json.load(open(sys.argv[1]))
members = set(meta["workspace_members"])
declared = {p["name"]: p.get("rust_version") for p in meta["packages"] if p["id"] in members}
if None in declared.values() or len(set(declared.values())) != 1:
    sys.exit(f"every workspace member must inherit one rust-version: {declared}")
msrv = next(iter(declared.values()))
needs = sorted(
    (
        (version(p["rust_version"]), p["name"], p["version"])
        for p in meta["packages"]
        if p["id"] not in members and p.get("rust_version")
    ),
    reverse=True,
)
too_new = [n for n in needs if n[0] > version(msrv)]
for v, name, ver in too_new:
    print(f"{name} {ver} needs Rust {dotted(v)}", file=sys.stderr)
if too_new:
    sys.exit(f"rust-version {msrv} is below what Cargo.lock needs: raise it in Cargo.toml")
v, name, ver = needs[0]
print(f"rust-version {msrv}: ok (the most demanding locked package, {name} {ver}, needs {dotted(v)})")
PY

say "docs/build.sh"
bash docs/build.sh

say "the rendered pages"
SITE=$ROOT/target/doc-site
"$PY" - "$SITE" <<'PY'
import html
import pathlib
import re
import sys

site = pathlib.Path(sys.argv[1])
index = (site / "index.html").read_text()
links = re.findall(r'href="([^"]+)"', index)
missing = [link for link in links if not (site / link).is_file()]
if missing:
    sys.exit(f"index.html links to missing pages: {missing}")


def text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", (site / page).read_text()))


# Each face's pages: (page, what it must say).
expect = [
    ("rust/emyzelium/index.html", ["Send but not Sync", "Two peers on loopback"]),
    ("rust/emyzelium/struct.Efunguz.html", ["emit_etale", "Send, not Sync"]),
    ("c/html/emyzelium_8h.html", ["emz_update", "one thread at a time"]),
    ("c/html/classemz_1_1Efunguz.html", ["emit_etale", "update"]),
    ("python/emyzelium.html", ["WrongThreadError", "asyncio", "emit_etale(self, /, title, parts=None, t_out=None)"]),
]
for page, words in expect:
    body = text(page)
    absent = [w for w in words if w not in body]
    if absent:
        sys.exit(f"{page} does not say {absent}")
    print(f"{page}: ok")
PY

echo "docs: all checks passed"
