"""The README's marked shell blocks (see recipes.py for the markers), each run as written."""

from pathlib import Path

import pytest
import recipes
from conftest import ROOT

BLOCKS = recipes.parse((ROOT / "README.md").read_text())


def test_readme_has_marked_recipes():
    # A rename of the markers must not turn this suite into one that runs nothing.
    assert len(BLOCKS) >= 2, [b.name for b in BLOCKS]


def limited(block: recipes.Block):
    """The block as a test whose pytest limit leaves its own `timeout` the first word."""
    return pytest.param(block, id=block.name, marks=pytest.mark.timeout(float(block.options.get("timeout", 120)) + 60))


@pytest.mark.parametrize("block", [limited(b) for b in BLOCKS])
def test_recipe(block, root, env):
    before = recipes.left_files(root)
    try:
        recipes.run_block(block, root, env)
    finally:
        for path in sorted(recipes.left_files(root) - before):
            (root / path).unlink(missing_ok=True)


def test_parse_markers_and_options():
    text = "\n".join(
        [
            "<!-- test: timeout=5 skip=nope steps='expect:a b send:q' -->",
            "",
            "```sh",
            "echo one",
            "nope here",
            "```",
            "```sh",
            "echo unmarked",
            "```",
            "<!-- test -->",
            "```bash",
            "echo two",
            "```",
        ]
    )
    blocks = recipes.parse(text)
    assert [(b.line, b.script, b.options) for b in blocks] == [
        (3, "echo one\n", {"timeout": "5", "skip": "nope", "steps": "expect:a b send:q"}),
        (11, "echo two\n", {}),
    ]
    with pytest.raises(ValueError, match="unknown test option"):
        recipes.parse("<!-- test: tiemout=5 -->\n```sh\ntrue\n```\n")
    with pytest.raises(ValueError, match="right before"):
        recipes.parse("<!-- test -->\ntext\n```sh\ntrue\n```\n")


def test_block_failures_are_reported(root, env):
    for script, options, match in [
        ("exit 3\n", {}, "exit status 3"),
        ("sleep 30\n", {"timeout": "1"}, "still running"),
        ("echo hi\n", {"expect": "bye"}, "not in the output"),
        ("echo hi\n", {"steps": "expect:bye", "timeout": "2"}, "never showed"),
    ]:
        with pytest.raises(AssertionError, match=match):
            recipes.run_block(recipes.Block(1, script, options), root, env)


def test_background_jobs_end_with_the_block(root, env, tmp_path):
    pid_file = tmp_path / "pid"
    recipes.run_block(recipes.Block(1, f"sleep 300 &\necho $! > {pid_file}\n", {}), root, env)
    pid = int(pid_file.read_text())
    assert not (Path("/proc") / str(pid)).exists() or "Z" in (Path("/proc") / str(pid) / "stat").read_text().split()[2]
