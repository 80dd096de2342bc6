"""README recipes as tests: the fenced shell blocks of README.md marked to run, and a
pseudo-terminal to run the interactive ones in.

A block runs when the line before its fence (blank lines aside) is a marker:

    <!-- test -->                       run it as written
    <!-- test: timeout=300 -->          options, `key=value`, shell-quoted when need be

Options:
    timeout=SECONDS   time limit of the whole block (default 120); its processes are ended
    tty=COLSxROWS     run it in a pseudo-terminal of that size (for curses/terminal programs)
    steps="..."       what to do meanwhile, in order: `expect:TEXT` (wait until TEXT shows in
                      the output, escape sequences and white space aside), `send:KEYS`,
                      `wait:SECONDS`
    expect=TEXT       TEXT must be in the output once the block is done
    skip=TEXT         leave out the lines that contain TEXT (a recipe that must not run
                      here, such as the test command itself)
    rc=N              the exit status wanted (default 0)

The block runs as `bash -e -o pipefail -c BLOCK` at the root of the tree, in a session of its
own: whatever it starts in the background ends with it. Files it leaves in the tree (untracked
and not ignored) are removed afterwards.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^<!--\s*test(?::(.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*(\S*)")
SHELLS = {"sh", "bash", "shell", "console"}
OPTIONS = {"timeout", "tty", "steps", "expect", "skip", "rc"}
ESCAPE = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMNOZc])")


@dataclass
class Block:
    """One marked block: where it is, what it runs, how."""

    line: int  # of the fence, 1-based
    script: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        first = next((ln for ln in self.script.splitlines() if ln.strip()), "")
        return f"README.md:{self.line}: {first[:60]}"


def parse(text: str) -> list[Block]:
    """The marked shell blocks of a Markdown text; a marker that is not followed by a shell
    block, or an option nobody knows, is an error rather than a test that silently vanishes."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i].strip())
        if not m:
            i += 1
            continue
        options = parse_options(m.group(1) or "", i + 1)
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = FENCE.match(lines[j]) if j < len(lines) else None
        if not fence or fence.group(2) not in SHELLS:
            raise ValueError(f"README.md:{i + 1}: a test marker must come right before a ```sh block")
        end = j + 1
        while end < len(lines) and not lines[end].startswith(fence.group(1)):
            end += 1
        if end == len(lines):
            raise ValueError(f"README.md:{j + 1}: the block never ends")
        body = [ln for ln in lines[j + 1 : end] if "skip" not in options or options["skip"] not in ln]
        blocks.append(Block(j + 1, "\n".join(body) + "\n", options))
        i = end + 1
    return blocks


def parse_options(text: str, line: int) -> dict[str, str]:
    options: dict[str, str] = {}
    for word in shlex.split(text):
        key, eq, value = word.partition("=")
        if not eq or key not in OPTIONS:
            raise ValueError(f"README.md:{line}: unknown test option {word!r} (known: {', '.join(sorted(OPTIONS))})")
        options[key] = value
    return options


def squeeze(data: bytes) -> str:
    """Terminal output as plain text without escape sequences and white space, so that text
    drawn in pieces (curses moves the cursor over what did not change) still matches."""
    return re.sub(r"\s+", "", ESCAPE.sub(b"", data).decode("utf-8", "replace"))


class Run:
    """A command in a session of its own, with its output collected: in a pseudo-terminal
    of `cols` × `rows` when `tty` is given (which becomes its controlling terminal), else
    through a pipe with no input."""

    def __init__(
        self, argv: list[str], cwd: str | Path, env: dict[str, str] | None = None, tty: tuple[int, int] | None = None
    ) -> None:
        self.argv = argv
        self.out = bytearray()
        self.seen = 0  # what `expect` has consumed
        self._cond = threading.Condition()
        if tty is not None:
            master, slave = os.openpty()
            cols, rows = tty
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            env = dict(env or os.environ, TERM=os.environ.get("TERM_FOR_TESTS", "xterm-256color"))
            for k in ("COLUMNS", "LINES"):  # the pseudo-terminal's size is the one to use
                env.pop(k, None)
            self.p = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            )
            os.close(slave)
            self._fd = master
        else:
            self.p = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert self.p.stdout is not None
            self._fd = self.p.stdout.fileno()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:  # EIO: the terminal's last user is gone
                chunk = b""
            with self._cond:
                if not chunk:
                    self._cond.notify_all()
                    return
                self.out += chunk
                self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return ESCAPE.sub(b"", bytes(self.out)).decode("utf-8", "replace")

    def expect(self, text: str, deadline: float) -> None:
        """Waits until `text` shows in the output that came after the last match."""
        want = re.sub(r"\s+", "", text)
        with self._cond:
            while True:
                got = squeeze(bytes(self.out[self.seen :]))
                if want in got:
                    self.seen = len(self.out)
                    return
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and self.p.poll() is not None):
                    raise AssertionError(f"{text!r} never showed; output so far:\n{self.tail()}")
                self._cond.wait(min(left, 0.2))

    def send(self, keys: str) -> None:
        os.write(self._fd, keys.encode())

    def finish(self, deadline: float) -> int | None:
        """The exit status, or None when it did not end by `deadline`."""
        try:
            return self.p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Ends every process of the session (background jobs of a recipe included)."""
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + grace
            while time.monotonic() < end and group_alive(self.p.pid):
                time.sleep(0.05)
        if self.p.poll() is None:
            self.p.wait(5)
        self._reader.join(2)
        try:
            os.close(self._fd)
        except OSError:
            pass

    def tail(self, n: int = 3000) -> str:
        return self.text()[-n:]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def run_block(block: Block, root: Path, env: dict[str, str]) -> None:
    """Runs a marked block as its options say; AssertionError when it does not do it."""
    o = block.options
    deadline = time.monotonic() + float(o.get("timeout", "120"))
    tty = None
    if "tty" in o:
        cols, _, rows = o["tty"].partition("x")
        tty = (int(cols), int(rows))
    run = Run(["bash", "-e", "-o", "pipefail", "-c", block.script], cwd=root, env=env, tty=tty)
    try:
        for step in shlex.split(o.get("steps", "")):
            kind, _, arg = step.partition(":")
            if kind == "expect":
                run.expect(arg, deadline)
            elif kind == "send":
                run.send(arg)
            elif kind == "wait":
                time.sleep(float(arg))
            else:
                raise ValueError(f"{block.name}: unknown step {step!r} (expect:, send:, wait:)")
        rc = run.finish(deadline)
    finally:
        run.stop()
    if rc is None:
        raise AssertionError(f"{block.name}: still running after {o.get('timeout', '120')} s; output:\n{run.tail()}")
    want = int(o.get("rc", "0"))
    assert rc == want, f"{block.name}: exit status {rc}, not {want}; output:\n{run.tail()}"
    if "expect" in o:
        assert re.sub(r"\s+", "", o["expect"]) in squeeze(bytes(run.out)), (
            f"{block.name}: {o['expect']!r} not in the output:\n{run.tail()}"
        )


def left_files(root: Path) -> set[str]:
    """Untracked files of the tree that git does not ignore."""
    out = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"], cwd=root, capture_output=True, check=True
    ).stdout
    return {p for p in out.decode().split("\0") if p}
