"""The Python API over one process: round trips, buffers, errors, lifetime, threads, signals."""

from __future__ import annotations

import array
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import emyzelium as emz
import numpy as np
import pytest
from conftest import LONG, SHORT, free_port, pump


def connect(pub: emz.Efunguz, sub: emz.Efunguz, *titles: str) -> list[emz.Etale]:
    eh = sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
    return [eh.add_etale(t) for t in titles]


def deliver(pub: emz.Efunguz, sub: emz.Efunguz, title: str, parts, etale: emz.Etale, **kw) -> list[tuple[str, str]]:
    """Emits until the subscriber has it (PUB/SUB drops what is sent before the join)."""
    got: list[tuple[str, str]] = []
    want = [bytes(memoryview(p).cast("B")) for p in parts]

    def arrived() -> bool:
        pub.emit_etale(title, parts, **kw)
        got.extend(sub.update())
        return etale.received > 0 and etale.parts == want

    assert pump([pub], arrived), f"etale {title!r} never arrived"
    return got


# ---- keys and module ----------------------------------------------------------------------


def test_keys_and_module():
    pub, sec = emz.keypair()
    assert len(pub) == len(sec) == 40 and emz.is_valid_key(pub) and emz.is_valid_key(sec)
    assert emz.public_key(sec) == pub
    assert emz.libzmq_version() == (4, 3, 5)
    assert emz.DEFAULT_PORT == 60847 and emz.DEFAULT_TOR_PROXY_PORT == 9050
    assert isinstance(emz.__version__, str)
    assert abs(emz.now_us() - time.time_ns() // 1000) < 5_000_000
    assert not emz.is_valid_key("x")


# ---- round trips --------------------------------------------------------------------------


def test_round_trip_and_changes(pair):
    pub, sub = pair
    (zone, desc) = connect(pub, sub, "zone", "")
    assert zone.t_in == zone.t_out == -1 and zone.parts == [] and zone.received == 0
    changes = deliver(pub, sub, "zone", [b"\x10\x00", b"\x03\x00", bytes(48)], zone, t_out=0x0123456789ABCDEF)
    assert (pub.public_key, "zone") in changes
    assert zone.parts == [b"\x10\x00", b"\x03\x00", bytes(48)]
    assert zone.t_out == 0x0123456789ABCDEF and zone.t_in > 0
    assert zone.title == "zone" and zone.public_key == pub.public_key
    deliver(pub, sub, "", [], desc)
    assert desc.parts == [] and desc.t_out > 0
    assert sub.stats.received >= 2 and sub.get_ehypha(pub.public_key).stats.received >= 2
    assert pub.in_permitted >= 1 and pub.in_absorbing >= 1 and pub.in_attempted >= 1


def test_unicode_titles_and_no_prefix_match(pair):
    pub, sub = pair
    (z,) = connect(pub, sub, "zöne ☺")
    deliver(pub, sub, "zöne ☺", [b"a"], z)
    pub.emit_etale("zöne ☺2", [b"b"])
    pump([pub, sub], lambda: False, 0.3)
    assert z.parts == [b"a"]


def test_buffer_protocol_inputs(pair):
    pub, sub = pair
    (t,) = connect(pub, sub, "t")
    arr = np.arange(12, dtype=np.uint16).reshape(3, 4)
    parts = [
        b"bytes",
        bytearray(b"bytearray"),
        memoryview(b"memoryview"),
        arr,
        array.array("i", [1, 2]),
        b"",
        memoryview(b"0123456789")[2:5],
    ]
    deliver(pub, sub, "t", parts, t)
    assert t.parts == [
        b"bytes",
        b"bytearray",
        b"memoryview",
        arr.tobytes(),
        array.array("i", [1, 2]).tobytes(),
        b"",
        b"234",
    ]
    # any iterable of parts: a generator, a tuple
    pub.emit_etale("t", (p for p in [b"g", b"h"]))
    assert pump([pub, sub], lambda: t.parts == [b"g", b"h"])
    pub.emit_etale("t", (b"i", bytearray(b"j")))
    assert pump([pub, sub], lambda: t.parts == [b"i", b"j"])


def test_parts_argument_errors(pair):
    pub, _ = pair
    for bad in (b"bytes", "str", bytearray(b"x"), 5):
        with pytest.raises(TypeError):
            pub.emit_etale("t", bad)
    with pytest.raises(TypeError, match="part 1"):
        pub.emit_etale("t", [b"ok", "text"])
    with pytest.raises(TypeError, match="part 0"):
        pub.emit_etale("t", [3])
    with pytest.raises(TypeError, match="part 1"):
        pub.emit_etale("t", (b"ok", 3))
    with pytest.raises(TypeError, match="part 2"):
        pub.emit_etale("t", iter([b"ok", b"ok", None]))
    with pytest.raises((ValueError, BufferError)):  # numpy: ValueError "not C-contiguous"
        pub.emit_etale("t", [np.arange(10, dtype=np.uint8)[::2]])
    with pytest.raises(emz.InvalidTitleError):
        pub.emit_etale("a\0b", [])
    with pytest.raises(TypeError):
        pub.emit_etale(b"t", [])  # type: ignore[arg-type]


def test_views_are_zero_copy_and_outlive_everything(pair):
    pub, sub = pair
    (t,) = connect(pub, sub, "t")
    big = bytes(range(256)) * 1024
    deliver(pub, sub, "t", [big, b"small"], t)
    views = t.views
    assert [bytes(v) for v in views] == [big, b"small"]
    assert all(v.readonly for v in views)
    with pytest.raises(TypeError):
        views[0][0] = 1  # type: ignore[index]
    arr = np.frombuffer(views[0], dtype=np.uint8)
    # newer data does not change a view already taken
    deliver(pub, sub, "t", [b"newer"], t)
    assert t.parts == [b"newer"] and bytes(views[0]) == big
    # nor does deleting the etale, the ehypha, closing the efunguz, collecting everything
    sub.get_ehypha(pub.public_key).del_etale("t")
    sub.del_ehypha(pub.public_key)
    sub.close()
    del t
    gc.collect()
    assert bytes(views[0]) == big and arr[255] == 255 and int(arr.sum()) == sum(range(256)) * 1024
    v0 = views[0]
    del views, arr
    gc.collect()
    assert bytes(v0[:3]) == b"\x00\x01\x02"


def test_whitelist_allows_and_denies():
    pub_key, pub_secret = emz.keypair()
    friend_key, friend_secret = emz.keypair()
    _, stranger_secret = emz.keypair()
    with (
        emz.Efunguz(pub_secret, [friend_key], port=0, bind_host="127.0.0.1") as pub,
        emz.Efunguz(friend_secret, port=0, bind_host="127.0.0.1") as friend,
        emz.Efunguz(stranger_secret, port=0, bind_host="127.0.0.1") as stranger,
    ):
        assert pub.whitelist == [friend_key]
        (ft,) = connect(pub, friend, "t")
        (st,) = connect(pub, stranger, "t")
        deliver(pub, friend, "t", [b"secret"], ft)
        pump([pub, friend, stranger], lambda: (pub.emit_etale("t", [b"secret"]), False)[1], SHORT)
        assert st.received == 0 and ft.received >= 1
        assert pub.in_attempted >= 2 and pub.in_permitted == 1
        # whitelist methods
        k = emz.keypair()[0]
        pub.add_whitelist_key(k)
        with pytest.raises(emz.AlreadyPresentError):
            pub.add_whitelist_key(k)
        pub.del_whitelist_key(k)
        with pytest.raises(emz.AlreadyAbsentError):
            pub.del_whitelist_key(k)
        pub.add_whitelist_keys([k, emz.keypair()[0]])
        assert len(pub.whitelist) == 3
        pub.clear_whitelist()
        assert pub.whitelist == []
        with pytest.raises(TypeError):
            pub.add_whitelist_keys(k)  # a str, not an iterable of keys
        with pytest.raises(emz.InvalidKeyError):
            pub.add_whitelist_keys([k, "bad"])


def test_whitelist_file(tmp_path):
    k1, k2 = emz.keypair()[0], emz.keypair()[0]
    f = tmp_path / "keys"
    f.write_text(f"# friends\n{k1}\n\n  {k2}  \n")
    assert emz.read_keys_file(f) == [k1, k2]
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        assert ef.read_whitelist_file(str(f)) == 2
        assert sorted(ef.whitelist) == sorted([k1, k2])
        f.write_text(f"{k1}\nnot a key\n")
        with pytest.raises(emz.IoError, match=":2:") as ei:
            ef.read_whitelist_file(f)
        assert isinstance(ei.value, OSError)
        with pytest.raises(emz.IoError):
            ef.read_whitelist_file(tmp_path / "missing")


def test_pause_resume_delete(pair):
    pub, sub = pair
    (t, u) = connect(pub, sub, "t", "u")
    eh = sub.get_ehypha(pub.public_key)
    assert eh.public_key == pub.public_key and eh.address == f"127.0.0.1:{pub.port}"
    assert eh.efunguz is sub and eh == sub.ehyphae[0] and hash(eh) == hash(sub.get_ehypha(pub.public_key))
    assert sorted(e.title for e in eh.etales) == ["t", "u"]
    assert eh.get_etale("t").title == "t"
    deliver(pub, sub, "t", [b"1"], t)
    eh.pause_etale("t")
    assert t.paused
    with pytest.raises(emz.AlreadyPausedError):
        eh.pause_etale("t")
    pump([pub, sub], lambda: (pub.emit_etale("t", [b"2"]), False)[1], 0.5)
    assert t.parts == [b"1"]
    eh.resume_etale("t")
    with pytest.raises(emz.AlreadyResumedError):
        eh.resume_etale("t")
    deliver(pub, sub, "t", [b"3"], t)
    assert t.parts == [b"3"]
    eh.pause_etales()
    assert t.paused and u.paused
    eh.resume_etales()
    assert not t.paused
    with pytest.raises(emz.AlreadyPresentError):
        eh.add_etale("t")
    eh.del_etale("u")
    with pytest.raises(emz.AbsentError):
        _ = u.parts
    with pytest.raises(emz.AlreadyAbsentError):
        eh.del_etale("u")
    with pytest.raises(emz.AbsentError):
        eh.get_etale("u")
    assert pub.public_key in sub and len(sub) == 1
    sub.del_ehypha(pub.public_key)
    assert pub.public_key not in sub and len(sub) == 0
    for f in (lambda: t.parts, lambda: t.t_in, lambda: eh.add_etale("x"), lambda: eh.stats):
        with pytest.raises(emz.AbsentError):
            f()
    with pytest.raises(emz.AlreadyAbsentError):
        sub.del_ehypha(pub.public_key)
    with pytest.raises(emz.AbsentError):
        sub.get_ehypha(pub.public_key)


# ---- errors -------------------------------------------------------------------------------


def test_every_bad_input_raises_the_right_exception():
    pk, sk = emz.keypair()
    onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"  # a real v3 (checksummed)
    cases = [
        (emz.InvalidKeyError, lambda: emz.Efunguz("short")),
        (emz.InvalidKeyError, lambda: emz.public_key("x" * 40 + "y")),
        (emz.InvalidKeyError, lambda: emz.Efunguz(sk, ["bad"], port=0)),
        (emz.InvalidPortError, lambda: emz.Efunguz(sk, port=70000)),
        (emz.InvalidPortError, lambda: emz.Efunguz(sk, port=-1)),
        (emz.InvalidPortError, lambda: emz.Efunguz(sk, port=0, tor_proxy=("127.0.0.1", 0))),
        (emz.InvalidAddressError, lambda: emz.Efunguz(sk, port=0, bind_host="no such if")),
        (emz.InvalidAddressError, lambda: emz.Efunguz(sk, port=0, tor_proxy=("a b", 9050))),
        (emz.InvalidArgumentError, lambda: emz.Efunguz(sk, port=0, io_threads=0)),
        (emz.InvalidArgumentError, lambda: emz.Efunguz(sk, port=0, heartbeat_interval=-1.0)),
        (emz.InvalidArgumentError, lambda: emz.Efunguz(sk, port=0, reconnect_interval=float("nan"))),
        (emz.InvalidArgumentError, lambda: emz.Efunguz(sk, port=0, drain_budget=0)),
        (TypeError, lambda: emz.Efunguz(sk, pk)),  # whitelist: a str, not keys
        (TypeError, lambda: emz.Efunguz(sk, [1])),
        (TypeError, lambda: emz.Efunguz(sk, port="60847")),  # type: ignore[arg-type]
        (TypeError, lambda: emz.Efunguz(42)),  # type: ignore[arg-type]
        (TypeError, lambda: emz.Efunguz(sk, port=0, nonsense=1)),  # type: ignore[call-arg]
        (OverflowError, lambda: emz.Efunguz(sk, port=0, drain_budget=-5)),
    ]
    with emz.Efunguz(sk, port=0, bind_host="127.0.0.1") as ef:
        cases += [
            (emz.InvalidKeyError, lambda: ef.add_ehypha_direct("bad", "127.0.0.1", 1)),
            (emz.InvalidAddressError, lambda: ef.add_ehypha(pk, "abc.onion", 1)),
            (emz.InvalidAddressError, lambda: ef.add_ehypha(pk, onion[:-1] + "a", 1)),  # checksum
            (emz.InvalidAddressError, lambda: ef.add_ehypha_direct(pk, "a b", 1)),
            (emz.InvalidAddressError, lambda: ef.add_ehypha_direct(pk, "127.0.0.1")),  # no port
            (emz.InvalidAddressError, lambda: ef.add_ehypha_direct(pk, "127.0.0.1:x")),
            (emz.InvalidPortError, lambda: ef.add_ehypha_direct(pk, "127.0.0.1", 0)),
            (emz.InvalidPortError, lambda: ef.add_ehypha(pk, onion, 65536)),
            (emz.InvalidTitleError, lambda: ef.emit_etale("\0", [])),
            (emz.InvalidArgumentError, lambda: ef.wait(-1)),
            (emz.AbsentError, lambda: ef.get_ehypha(pk)),
            (emz.AlreadyAbsentError, lambda: ef.del_ehypha(pk)),
        ]
        for cls, f in cases:
            with pytest.raises(cls) as ei:
                f()
            if issubclass(cls, emz.EmyzeliumError):
                assert str(ei.value), cls
        eh = ef.add_ehypha(pk, onion + ".onion")  # through Tor: fine even if Tor is absent
        assert eh.address == f"{onion}.onion:60847"  # the default port
        with pytest.raises(emz.AlreadyPresentError):
            ef.add_ehypha_direct(pk, "127.0.0.1", 1)
        with pytest.raises(emz.InvalidTitleError):
            eh.add_etale("a\0")
        with pytest.raises(emz.AddressInUseError) as ei:
            emz.Efunguz(emz.keypair()[1], port=ef.port, bind_host="127.0.0.1")
        assert isinstance(ei.value, OSError) and str(ef.port) in str(ei.value)


def test_add_ehypha_at_parses_the_address():
    onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        for address, want in [
            ("127.0.0.1:60850", "127.0.0.1:60850"),
            ("[::1]:7", "[::1]:7"),
            ("localhost:9", "localhost:9"),
            (f"{onion.upper()}.onion:80", f"{onion}.onion:80"),  # through Tor
        ]:
            assert ef.add_ehypha_at(emz.keypair()[0], address).address == want
        for cls, address in [
            (emz.InvalidAddressError, "127.0.0.1"),
            (emz.InvalidAddressError, "::1:5"),
            (emz.InvalidAddressError, "abc.onion:80"),
            (emz.InvalidAddressError, "127.0.0.1:x"),
            (emz.InvalidPortError, "127.0.0.1:0"),
        ]:
            with pytest.raises(cls):
                ef.add_ehypha_at(emz.keypair()[0], address)
        with pytest.raises(emz.InvalidKeyError):
            ef.add_ehypha_at("bad", "127.0.0.1:1")
        assert len(ef) == 4


def test_exception_hierarchy():
    for cls in (
        emz.InvalidKeyError,
        emz.InvalidAddressError,
        emz.InvalidPortError,
        emz.InvalidTitleError,
        emz.InvalidArgumentError,
    ):
        assert issubclass(cls, emz.EmyzeliumError) and issubclass(cls, ValueError)
    assert issubclass(emz.AlreadyAbsentError, emz.AbsentError) and issubclass(emz.AbsentError, LookupError)
    assert issubclass(emz.WrongThreadError, RuntimeError) and issubclass(emz.LimitError, OSError)
    assert emz.InvalidKeyError.kind == "InvalidKey"
    with pytest.raises(emz.InvalidKeyError) as ei:
        emz.public_key("S" * 39 + "é")
    assert "S" * 9 not in str(ei.value)  # secret keys are redacted in messages


# ---- lifetime -----------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As libzmq binds: connections of the closed efunguz may linger in TIME_WAIT.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_context_manager_closes_sockets():
    port = free_port()
    sk = emz.keypair()[1]
    with emz.Efunguz(sk, port=port, bind_host="127.0.0.1") as ef:
        t = ef.add_ehypha_direct(emz.keypair()[0], f"127.0.0.1:{port}").add_etale("t")
        assert not port_is_free(port) and not ef.closed
    assert ef.closed and port_is_free(port)
    for f in (ef.update, lambda: ef.emit_etale("t", []), lambda: t.parts, lambda: ef.in_permitted, ef.wait):
        with pytest.raises(emz.ClosedError):
            f()
    ef.close()  # twice is fine
    with pytest.raises(emz.ClosedError):
        with ef:
            pass
    assert "closed" in repr(ef)
    # an exception inside `with` closes too, and propagates
    with pytest.raises(KeyError):
        with emz.Efunguz(sk, port=port, bind_host="127.0.0.1") as ef2:
            raise KeyError("x")
    assert ef2.closed and port_is_free(port)
    # garbage collection closes as well
    ef3 = emz.Efunguz(sk, port=port, bind_host="127.0.0.1")
    del ef3
    gc.collect()
    assert port_is_free(port)


def test_many_efungi_open_and_close():
    sk = emz.keypair()[1]
    for _ in range(20):
        with emz.Efunguz(sk, port=0, bind_host="127.0.0.1", io_threads=1) as ef:
            ef.update()


# ---- threads ------------------------------------------------------------------------------


def test_use_from_another_thread_raises(pair):
    pub, sub = pair
    (t,) = connect(pub, sub, "t")
    eh = sub.get_ehypha(pub.public_key)
    errors: list[BaseException] = []

    def other() -> None:
        for f in (
            sub.update,
            lambda: sub.wait(0.01),
            lambda: sub.emit_etale("t", []),
            lambda: t.parts,
            lambda: eh.add_etale("x"),
            sub.close,
            lambda: sub.in_permitted,
        ):
            try:
                f()
                errors.append(AssertionError("no exception"))
            except emz.WrongThreadError as e:
                errors.append(e)

    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert len(errors) == 7 and all(isinstance(e, emz.WrongThreadError) for e in errors), errors
    assert not sub.closed
    # properties that never change are readable anywhere; dropping from another thread is fine
    holder = [emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1")]
    th = threading.Thread(target=lambda: (holder[0].public_key, holder[0].port, holder.clear()))
    th.start()
    th.join()
    gc.collect()


def test_efungi_in_their_own_threads():
    """Each thread owns its efunguz: a publisher thread and a subscriber thread."""
    pub_key, pub_secret = emz.keypair()
    port = free_port()
    stop = threading.Event()
    result: list[object] = []

    def publisher() -> None:
        with emz.Efunguz(pub_secret, port=port, bind_host="127.0.0.1") as ef:
            while not stop.is_set():
                ef.emit_etale("t", [b"from thread"])
                ef.wait(0.01)

    def subscriber() -> None:
        with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
            t = ef.add_ehypha_direct(pub_key, "127.0.0.1", port).add_etale("t")
            end = time.monotonic() + LONG
            while t.received == 0 and time.monotonic() < end:
                ef.wait(0.1)
            result.append(t.parts)

    ths = [threading.Thread(target=publisher), threading.Thread(target=subscriber)]
    for th in ths:
        th.start()
    ths[1].join()
    stop.set()
    ths[0].join()
    assert result == [[b"from thread"]]


def test_wait_releases_the_gil(pair):
    _, sub = pair
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1

    th = threading.Thread(target=spin)
    th.start()
    t0 = time.monotonic()
    assert sub.wait(0.3) == []
    elapsed = time.monotonic() - t0
    stop.set()
    th.join()
    assert 0.29 <= elapsed < 2.0
    assert counter[0] > 10_000  # the other thread ran meanwhile


def test_wait_returns_changes(pair):
    pub, sub = pair
    (t,) = connect(pub, sub, "t")
    deliver(pub, sub, "t", [b"x"], t)
    pub.emit_etale("t", [b"y"])
    end = time.monotonic() + LONG
    # deliver() may have left more copies of "x" in flight: every wake-up must name
    # exactly this etale, until the "y" shows up.
    seen: list[list[tuple[str, str]]] = []
    while t.parts != [b"y"] and time.monotonic() < end:
        pub.update()
        changes = sub.wait(0.05)
        if changes:
            seen.append(changes)
    assert t.parts == [b"y"] and seen and all(c == [(pub.public_key, "t")] for c in seen), seen


# ---- signals ------------------------------------------------------------------------------


def test_wait_interrupted_by_ctrl_c(pair):
    _, sub = pair
    # Python keeps SIGINT ignored when it starts that way (a background job of a script,
    # nohup): Ctrl-C's handler is installed here, and the signal sent to this very process,
    # so the test depends on nothing it inherits.
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            sub.wait()  # no timeout: only the signal ends it
        assert time.monotonic() - t0 < 2.0
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old)


def test_ctrl_c_test_passes_with_sigint_ignored(tmp_path):
    """The test above, run by a pytest that starts with SIGINT ignored, as under
    `bash tests/run-all.sh &`: it passes, and in bounded time instead of waiting forever."""
    child = (
        "import signal, sys, pytest\n"
        "assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN\n"
        "sys.exit(pytest.main(sys.argv[1:]))\n"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    args = [f"{here}/test_api.py::test_wait_interrupted_by_ctrl_c", "-q", "-p", "no:cacheprovider"]
    args += ["-o", "timeout=30"]  # a regression fails in 30 s, not the suite's default limit
    r = subprocess.run(
        [sys.executable, "-c", child, *args],
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr


def test_wait_runs_signal_handlers(pair):
    _, sub = pair

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.15)
        t0 = time.monotonic()
        with pytest.raises(Alarm):
            sub.wait(30)
        assert time.monotonic() - t0 < 2.0
        # still usable afterwards
        assert sub.update() == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_reentrant_call_from_signal_handler_raises_not_deadlocks(pair):
    _, sub = pair
    seen: list[BaseException] = []

    def handler(signum, frame):
        try:
            sub.update()
        except RuntimeError as e:  # the efunguz is inside wait() further up the stack
            seen.append(e)

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        sub.wait(0.4)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert len(seen) == 1 and "re-entrant" in str(seen[0])


def test_options_are_accepted():
    with emz.Efunguz(
        emz.keypair()[1],
        (),
        0,
        ("127.0.0.1", 9050),
        bind_host="127.0.0.1",
        io_threads=2,
        max_sockets=1024,
        send_hwm=10,
        recv_hwm=10,
        max_message_size=1 << 20,
        reconnect_interval=0.05,
        reconnect_interval_max=1.0,
        heartbeat_interval=0,
        heartbeat_timeout=1.0,
        heartbeat_ttl=2.0,
        handshake_interval=5.0,
        ipv6=False,
        drain_budget=10,
        retry_unsent=False,
    ) as ef:
        assert ef.port > 0 and ef.update() == []
        assert isinstance(ef.stats, emz.Stats) and ef.stats == ef.stats and "received=0" in repr(ef.stats)
