"""The two command-line tools agree: the Rust `emz` and the Python `emyzelium` take the
same subcommands and flags, print the same formats and exit with the same codes (README,
"Command line"). Each case runs the same command line against both; emit → listen runs
between the two in both directions. Every process is bounded in time and uses 127.0.0.1.
"""

import os
import re
import subprocess
import time

import faces
import pytest

LONG = 20  # s a positive case may take at most (slow shared machines)
BY_NAME = {f.name: f for f in faces.FACES}
CLIS = [BY_NAME[n] for n in ("rust", "python") if n in BY_NAME]
SUBCOMMANDS = ["keygen", "public", "emit", "listen"]
PAIRS = [(e, lis) for e in CLIS for lis in CLIS]
# Characters of no Z85 key: a 40-character key of them is well formed but invalid.
BAD_KEY = "~" * 40


def ids(x):
    return x.name if isinstance(x, faces.Face) else str(x)


def run(face, args, env=None, stdin=None, timeout=LONG):
    """Runs one command to its end: (exit code, stdout, stderr)."""
    base = {k: v for k, v in os.environ.items() if k != "EMZ_SECRET"}
    r = subprocess.run(
        face.argv + list(args),
        env={**base, **face.env, **(env or {})},
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd="/",
    )
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def no_crash(err):
    assert "Traceback" not in err and "panicked" not in err and "Broken pipe" not in err, err


def test_both_clis_present():
    assert [f.name for f in CLIS] == ["rust", "python"], faces.MISSING


def flags(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text)) - {"--help"}


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help_lists_the_same_flags(sub):
    got = {}
    for f in CLIS:
        rc, out, err = run(f, [sub, "--help"])
        assert rc == 0 and out, (f, err)
        got[f.name] = flags(out)
    assert got["rust"] == got["python"], got["rust"] ^ got["python"]
    assert got["rust"] or sub == "keygen", got


def test_help_names_every_subcommand_and_says_to_single_quote_keys():
    for f in CLIS:
        rc, out, _ = run(f, ["--help"])
        assert rc == 0 and all(s in out for s in SUBCOMMANDS), out
        assert "single quotes" in out, out


def test_version():
    versions = {}
    for f in CLIS:
        rc, out, err = run(f, ["--version"])
        assert rc == 0, (f, err)
        m = re.fullmatch(r"(emz|emyzelium) (\d+\.\d+\.\d+\S* \(libzmq \d+\.\d+\.\d+\))\n", out)
        assert m, out
        versions[f.name] = m.group(2)
    assert versions["rust"] == versions["python"], versions


def keygen(face):
    rc, out, err = run(face, ["keygen"])
    assert rc == 0, err
    m = re.fullmatch(r"public: (\S{40})\nsecret: (\S{40})\n", out)
    assert m, out
    return m.group(1), m.group(2)


@pytest.mark.parametrize("maker,checker", PAIRS, ids=ids)
def test_keygen_and_public_from_every_secret_source(maker, checker, tmp_path):
    """One tool's key pair is checked by the other's `public`, the secret given as the
    argument, through --secret-file (keygen's output as it is) and through EMZ_SECRET."""
    pub, sec = keygen(maker)
    f = tmp_path / "me.key"
    f.write_text(f"public: {pub}\nsecret: {sec}\n")
    f.chmod(0o600)
    for args, env in (([sec], None), (["--secret-file", str(f)], None), ([], {"EMZ_SECRET": sec})):
        rc, out, err = run(checker, ["public", *args], env=env)
        assert (rc, out, err) == (0, pub + "\n", ""), (args, rc, out, err)


def emit_args(title, parts, *extra, every=20):
    return [
        "emit",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--everyone",
        "--title",
        title,
        "--every",
        str(every),
        *extra,
        "--",
        *parts,
    ]


def start_emitter(procs, face, secret, args):
    e = procs.run(face.argv + args, {**face.env, "EMZ_SECRET": secret}, f"{face.name} emit")
    _, line = e.expect("ready ", LONG)
    return int(line.split()[1])


def listen(face, secret, peers, title, *extra, count=1, timeout=LONG):
    args = ["listen", "--secret", secret, "--title", title, "--count", str(count), "--timeout", str(timeout)]
    for key, port in peers:
        args += ["--peer", f"{key}@127.0.0.1:{port}"]
    return run(face, args + list(extra), timeout=timeout + 10)


# Parts that test the text form: spaces, a backslash, a lone "-", the empty part, a
# control character, a non-breaking space (Unicode white space) and plain non-ASCII.
TEXT_PARTS = ["hello wörld", "a\\b", "-", "", "tab\there", "nb\u00a0sp", "ünï"]
TEXT_SHOWN = ["hello\\x20wörld", "a\\\\b", "\\x2d", "-", "tab\\x09here", "nb\\xc2\\xa0sp", "ünï"]
HEX_PARTS = [b"\x00\x01binary\xff", b"", bytes(range(256))]


@pytest.mark.parametrize("mode", ["text", "hex"])
@pytest.mark.parametrize("emitter,listener", PAIRS, ids=ids)
def test_emit_listen(procs, emitter, listener, mode):
    """Every part arrives and prints the same way whichever tool emits and listens: hex by
    default, escaped text with --text; the title (with a space) is always text."""
    pub, sec = keygen(emitter)
    _, lsec = keygen(listener)
    if mode == "text":
        args, extra, shown = TEXT_PARTS, [], TEXT_SHOWN
    else:
        args, extra, shown = [p.hex() or "-" for p in HEX_PARTS], ["--hex"], [p.hex() or "-" for p in HEX_PARTS]
    port = start_emitter(procs, emitter, sec, emit_args("a zone", args, *extra))
    t0 = time.time_ns() // 1000
    rc, out, err = listen(listener, lsec, [(pub, port)], "a zone", *(["--text"] if mode == "text" else []))
    assert rc == 0, err
    f = out.rstrip("\n").split(" ")
    assert f[0] == "etale" and f[1] == "a\\x20zone" and f[4] == str(len(args)), out
    assert f[5:] == shown, out
    assert t0 - 60_000_000 < int(f[2]) <= int(f[3]) <= time.time_ns() // 1000, out
    assert re.search(r"^stats received=\d+ malformed=0 unknown_title=0 paused=0$", err, re.M), err
    assert re.search(rf"^state up {re.escape(pub)}$", err, re.M), err


@pytest.mark.parametrize("listener", CLIS, ids=ids)
def test_listen_to_peers_of_both_tools(procs, listener):
    """--peer repeats: one listener hears an emitter of each tool."""
    peers, want = [], set()
    for f in CLIS:
        pub, sec = keygen(f)
        peers.append((pub, start_emitter(procs, f, sec, emit_args("t", [f"from-{f.name}"]))))
        want.add(f"from-{f.name}")
    rc, out, err = listen(listener, keygen(listener)[1], peers, "t", "--text", count=20)
    assert rc == 0, err
    assert {line.split(" ")[5] for line in out.splitlines()} == want, out


@pytest.mark.parametrize("emitter,listener", PAIRS, ids=ids)
def test_emit_from_stdin(procs, emitter, listener):
    """--stdin: each line an etale of one part; a late listener gets the last one; after
    the end of stdin the emitter lingers, then exits 0 by itself."""
    pub, sec = keygen(emitter)
    args = ["emit", "--bind", "127.0.0.1", "--port", "0", "--everyone", "--title", "s", "--stdin", "--linger", "3"]
    shell = f'printf "first line\\nsecond line\\r\\n" | {" ".join(map(_q, emitter.argv + args))}'
    e = procs.run(["sh", "-c", shell], {**emitter.env, "EMZ_SECRET": sec}, f"{emitter.name} emit --stdin")
    _, line = e.expect("ready ", LONG)
    time.sleep(0.3)  # both lines go out within one look at stdin: a later listener gets the last alone
    rc, out, err = listen(listener, keygen(listener)[1], [(pub, int(line.split()[1]))], "s", "--text")
    assert rc == 0 and out.split(" ")[5] == "second\\x20line\n", (out, err)
    assert e.wait_exit(LONG) == 0, e.stderr


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"


@pytest.mark.parametrize("face", CLIS, ids=ids)
def test_closed_stdout_is_quiet(procs, face, tmp_path):
    """`keygen | head -c 10`, `--help | head -n 1` and `listen | head -n 1`: no traceback,
    no panic, no message; exit 0 when everything was written before the pipe closed, else
    141, as a shell reports a process killed by SIGPIPE."""
    env = {**os.environ, **face.env}
    cmd = " ".join(map(_q, face.argv))
    for tail, head in (("keygen", "head -c 10"), ("--help", "head -n 1"), ("emit --help", "head -c 1")):
        r = subprocess.run(
            ["bash", "-c", f"{cmd} {tail} | {head} >/dev/null; echo ${{PIPESTATUS[0]}} >&2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=LONG,
        )
        assert r.stderr.strip() in ("0", "141"), (tail, r.stderr)

    pub, sec = keygen(face)
    port = start_emitter(procs, face, sec, emit_args("t", ["x"]))
    listen_cmd = f"{cmd} listen --peer {_q(f'{pub}@127.0.0.1:{port}')} --title t --timeout {LONG}"
    errf = tmp_path / "stderr"
    r = subprocess.run(
        ["bash", "-c", f"{listen_cmd} 2>{_q(str(errf))} | head -n 1; echo rc=${{PIPESTATUS[0]}}"],
        env={**env, "EMZ_SECRET": keygen(face)[1]},
        capture_output=True,
        text=True,
        timeout=LONG + 10,
    )
    lines = r.stdout.splitlines()
    assert lines[0].startswith("etale t ") and lines[1] == "rc=141", (r.stdout, r.stderr)
    err = errf.read_text()
    no_crash(err)
    assert [x.split()[0] for x in err.splitlines()] == ["stats", "state"], err


def bad_cases(pub, sec):
    """(arguments, EMZ_SECRET or None, exit code): what both tools must refuse alike."""
    return [
        (["public", "not-a-key"], None, 2),
        (["public", BAD_KEY], None, 2),
        (["public"], None, 2),  # no secret anywhere
        (["public", "-x"], None, 2),
        (["public", "--secret"], None, 2),
        (["public", sec, "--secret", sec], None, 2),
        (["keygen", "extra"], None, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1:1", "--title", "t", "--count", "x"], sec, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1:1", "--title", "t", "--timeout", "1"], None, 2),
        (["listen", "--peer", f"{BAD_KEY}@127.0.0.1:1", "--title", "t", "--timeout", "1"], sec, 2),
        (["listen", "--peer", "nokey@127.0.0.1:1", "--title", "t", "--timeout", "1"], sec, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1", "--title", "t", "--timeout", "1"], sec, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1:x", "--title", "t", "--timeout", "1"], sec, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1:0", "--title", "t", "--timeout", "1"], sec, 2),
        (["listen", "--peer", f"{pub}@abc.onion:80", "--title", "t", "--timeout", "1"], sec, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1:1", "--title", "t", "--timeout", "0.3"], sec, 1),
        (["listen", "--peer", f"{pub}@127.0.0.1:1", "--title", "t", "--timeout", "-1"], sec, 2),
        (["listen", "--peer", f"{pub}@127.0.0.1:1", "--title", "t", "--nonsense"], sec, 2),
        (["listen", "--title", "t"], sec, 2),
        (["listen", "--secret", BAD_KEY, "--peer", f"{pub}@127.0.0.1:1", "--title", "t"], None, 2),
        (["emit", "--bind", "127.0.0.1", "--port", "0", "--title", "t", "--count", "1"], sec, 2),
        (["emit", "--everyone", "--whitelist", pub, "--port", "0", "--title", "t", "--count", "1"], sec, 2),
        (["emit", "--whitelist", BAD_KEY, "--bind", "127.0.0.1", "--port", "0", "--title", "t"], sec, 2),
        (["emit", "--everyone", "--bind", "127.0.0.1", "--port", "0", "--title", "t", "--hex", "abc"], sec, 2),
        (["emit", "--everyone", "--port", "70000", "--title", "t"], sec, 2),
        (["emit", "--everyone", "--bind", "127.0.0.1", "--port", "0", "--stdin", "--title", "t", "x"], sec, 2),
        (["emit", "--everyone", "--bind", "no such host", "--port", "0", "--title", "t"], sec, 2),
        (["nonsense"], None, 2),
    ]


def test_bad_input_same_exit_codes():
    pub, sec = keygen(CLIS[0])
    for args, secret, code in bad_cases(pub, sec):
        got = {}
        for f in CLIS:
            rc, out, err = run(f, args, env={"EMZ_SECRET": secret} if secret else None)
            no_crash(err)
            assert "ready" not in out, (f, args, out)
            got[f.name] = rc
        assert got == {"rust": code, "python": code}, (args, got)


@pytest.mark.parametrize("face", CLIS, ids=ids)
def test_emit_counts_rounds_then_lingers(face):
    """--count N --every MS --linger SECS: N rounds, then SECS more, then exit 0."""
    _, sec = keygen(face)
    t = time.monotonic()
    rc, out, err = run(
        face,
        emit_args("t", ["x"], "--count", "3", "--linger", "0.5", every=100),
        env={"EMZ_SECRET": sec},
    )
    took = time.monotonic() - t
    assert rc == 0 and out.startswith("ready "), err
    assert 0.8 <= took < LONG, took


def unescape(field):
    """The bytes of a part printed by `listen --text`."""
    if field == "-":
        return b""
    out, i, raw = bytearray(), 0, field.encode()
    while i < len(raw):
        if raw[i : i + 2] == b"\\\\":
            out += b"\\"
            i += 2
        elif raw[i : i + 2] == b"\\x":
            out.append(int(raw[i + 2 : i + 4], 16))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


# Bytes that are not UTF-8 (a lone continuation, a cut sequence, an encoded surrogate),
# C1 controls, Unicode line and paragraph separators, an ideographic space, DEL.
ODD_PARTS = [
    b"\x80abc\xe2\x82",
    b"\xed\xa0\x80x\xf4\x90\x80\x80",
    "\u0085\u2028\u2029\u3000\u00ff\x7f".encode(),
    "€ \\x41".encode(),
    bytes(range(256)),
]


def test_text_form_of_any_bytes(procs):
    """Both listeners print the same text for bytes that are not UTF-8, controls and
    Unicode white space, with no space or line end inside a field, and the bytes come back."""
    emitter = CLIS[0]
    pub, sec = keygen(emitter)
    port = start_emitter(procs, emitter, sec, emit_args("t", [p.hex() for p in ODD_PARTS], "--hex"))
    fields = {}
    for f in CLIS:
        rc, out, err = listen(f, keygen(f)[1], [(pub, port)], "t", "--text")
        assert rc == 0 and out.endswith("\n") and out.count("\n") == 1, (f, out, err)
        fields[f.name] = out[:-1].split(" ")[5:]
    assert fields["rust"] == fields["python"], fields
    assert [unescape(x) for x in fields["rust"]] == ODD_PARTS, fields["rust"]
    assert not any(c.isspace() for x in fields["rust"] for c in x), fields["rust"]
