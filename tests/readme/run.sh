#!/usr/bin/env bash
# README's marked recipes, run as written (tests/readme/test_readme.py; markers: recipes.py),
# the Life demos of the three faces in a pseudo-terminal (test_life_terminal.py), and the time
# limit every step of the test command runs under (test_bounded.py). Builds
# what they run, then runs pytest with the Python of the wheel's fresh venv (tests/run-py.sh
# makes it), whose bin/ (the `emyzelium` command) comes first on PATH as after a pip install.
# Arguments go to pytest: bash tests/readme/run.sh -k life
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
EMZ_PYTHON=${EMZ_PYTHON:-$ROOT/tests/.tmp/py-fresh/bin/python}
export EMZ_PYTHON

"$EMZ_PYTHON" -c 'import emyzelium, pytest, pytest_timeout' 2>/dev/null \
    || die "$EMZ_PYTHON lacks the wheel, pytest or pytest-timeout: run tests/run-py.sh first (or set EMZ_PYTHON)"

say "README recipes: the Rust demo and emz, the C library and its Life demo"
cargo build -q -p emyzelium --bin emz --example life
make -s -C emz-capi lib examples

say "pytest tests/readme: the marked README blocks, the Life demos in a pseudo-terminal"
PATH=$(dirname "$EMZ_PYTHON"):$PATH "$EMZ_PYTHON" -m pytest tests/readme -q -p no:cacheprovider -rs "$@"
