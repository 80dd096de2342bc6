"""Who may subscribe, through the Python face: the original constructor's "empty =
everyone", the explicit ``everyone=`` keyword, removals that never widen access, and
revocation that cuts a connected subscriber by the next update. Also the extremes of every
numeric argument: a clear error, never a Rust panic."""

from __future__ import annotations

import math

import emyzelium as emz
import pytest
from conftest import LONG, SHORT, pump

FAST = {"port": 0, "bind_host": "127.0.0.1", "reconnect_interval": 0.05, "reconnect_interval_max": 0.2}
UP, REJECTED = emz.EhyphaState.UP, emz.EhyphaState.REJECTED


def receives(pub: emz.Efunguz, sub: emz.Efunguz, etale: emz.Etale, payload: bytes, timeout: float) -> bool:
    """Emits `payload` again and again; whether the subscriber gets it within `timeout`."""

    def got() -> bool:
        pub.emit_etale("t", [payload])
        return etale.parts == [payload]

    return pump([pub, sub], got, timeout)


def state_is(pub: emz.Efunguz, sub: emz.Efunguz, eh: emz.Ehypha, want: emz.EhyphaState) -> None:
    assert pump([pub, sub], lambda: eh.state == want), f"state {eh.state!s}, want {want!s}"


def cut_and_refused(pub: emz.Efunguz, sub: emz.Efunguz, eh: emz.Ehypha, etale: emz.Etale) -> None:
    """After a narrowing: one update of the publisher cuts the live session, the
    subscriber's reconnection is refused and nothing emitted afterwards arrives."""
    pub.update()
    # The cut itself takes a moment on loopback (the subscriber sees the TCP close) while
    # the publisher goes on with its loop.
    assert pump([pub, sub], lambda: eh.state != UP, LONG), "the session survived the narrowing"
    state_is(pub, sub, eh, REJECTED)
    assert not receives(pub, sub, etale, b"after", SHORT)
    # Refused again and again (it retries by itself), never up.
    assert eh.state != UP


@pytest.mark.parametrize("whitelist", [None, []])
def test_original_constructor_empty_is_everyone(whitelist):
    _, pub_secret = emz.keypair()
    _, sub_secret = emz.keypair()
    with emz.Efunguz(pub_secret, whitelist, **FAST) as pub, emz.Efunguz(sub_secret, **FAST) as sub:
        assert pub.is_open and pub.whitelist == []
        eh = sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        assert receives(pub, sub, eh.add_etale("t"), b"open", LONG)


def test_everyone_keyword():
    k = emz.keypair()[0]
    with emz.Efunguz(emz.keypair()[1], everyone=True, **FAST) as ef:
        assert ef.is_open
    with emz.Efunguz(emz.keypair()[1], [k], everyone=False, **FAST) as ef:
        assert not ef.is_open and ef.whitelist == [k]
    with emz.Efunguz(emz.keypair()[1], [k], **FAST) as ef:
        assert not ef.is_open and ef.whitelist == [k]
    with pytest.raises(emz.InvalidArgumentError, match="contradict"):
        emz.Efunguz(emz.keypair()[1], [k], everyone=True, **FAST)


@pytest.mark.parametrize("whitelist", [None, []])
def test_everyone_false_with_no_keys_admits_nobody(whitelist):
    _, pub_secret = emz.keypair()
    _, sub_secret = emz.keypair()
    with (
        emz.Efunguz(pub_secret, whitelist, everyone=False, **FAST) as pub,
        emz.Efunguz(sub_secret, **FAST) as sub,
    ):
        assert not pub.is_open and pub.whitelist == []
        eh = sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        t = eh.add_etale("t")
        state_is(pub, sub, eh, REJECTED)
        assert not receives(pub, sub, t, b"closed", SHORT)
        # An explicit call opens; the refused ehypha retries by itself.
        pub.allow_everyone()
        assert pub.is_open
        assert receives(pub, sub, t, b"opened", LONG)
        assert eh.state == UP


def test_deleting_the_last_key_leaves_nobody_and_cuts_its_session():
    _, pub_secret = emz.keypair()
    friend_key, friend_secret = emz.keypair()
    with emz.Efunguz(pub_secret, [friend_key], **FAST) as pub, emz.Efunguz(friend_secret, **FAST) as friend:
        eh = friend.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        t = eh.add_etale("t")
        assert receives(pub, friend, t, b"before", LONG)
        assert eh.state == UP
        pub.del_whitelist_key(friend_key)
        assert pub.whitelist == [] and not pub.is_open
        cut_and_refused(pub, friend, eh, t)


def test_clear_leaves_nobody_and_cuts_every_session():
    _, pub_secret = emz.keypair()
    _, sub_secret = emz.keypair()
    with emz.Efunguz(pub_secret, **FAST) as pub, emz.Efunguz(sub_secret, **FAST) as sub:
        assert pub.is_open
        eh = sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        t = eh.add_etale("t")
        assert receives(pub, sub, t, b"before", LONG)
        pub.clear_whitelist()
        assert not pub.is_open and pub.whitelist == []
        cut_and_refused(pub, sub, eh, t)
        pub.allow_everyone()
        assert receives(pub, sub, t, b"reopened", LONG)


def test_adding_a_key_to_an_open_efunguz_cuts_the_others():
    _, pub_secret = emz.keypair()
    friend_key, friend_secret = emz.keypair()
    _, stranger_secret = emz.keypair()
    with (
        emz.Efunguz(pub_secret, **FAST) as pub,
        emz.Efunguz(friend_secret, **FAST) as friend,
        emz.Efunguz(stranger_secret, **FAST) as stranger,
    ):
        feh = friend.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        seh = stranger.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        ft, st = feh.add_etale("t"), seh.add_etale("t")
        assert receives(pub, stranger, st, b"open", LONG)
        pub.add_whitelist_key(friend_key)
        assert not pub.is_open and pub.whitelist == [friend_key]
        cut_and_refused(pub, stranger, seh, st)
        # The listed key reconnects by itself to the new publish socket.
        assert receives(pub, friend, ft, b"friend", LONG)


# ---- extremes: errors, never panics ----------------------------------------------------------

BAD_SECONDS = [-1.0, -0.0001, math.nan, math.inf, -math.inf, 1.7e19, 1e300]
DURATIONS = [
    "reconnect_interval",
    "reconnect_interval_max",
    "heartbeat_interval",
    "heartbeat_timeout",
    "heartbeat_ttl",
    "handshake_interval",
    "publish_handshake_interval",
]
# A Rust panic surfaces as pyo3's PanicException, a BaseException: `pytest.raises` with these
# classes lets it through and the test fails.
CLEAR = (ValueError, OverflowError, TypeError, emz.EmyzeliumError)


@pytest.mark.parametrize("seconds", BAD_SECONDS + [1e9])
def test_wait_extremes(pair, seconds):
    pub, _ = pair
    if seconds == 1e9:
        # Far but countable: accepted (and not waited for: an etale of its own ends it).
        pub.wait(0)
        return
    with pytest.raises(emz.InvalidArgumentError, match="timeout"):
        pub.wait(seconds)


@pytest.mark.parametrize("what", DURATIONS)
@pytest.mark.parametrize("seconds", BAD_SECONDS + [1e12, 2.0**31, 0.0])
def test_duration_keywords_extremes(what, seconds):
    try:
        ef = emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1", **{what: seconds})
    except CLEAR as e:
        assert str(e)
        return
    with ef:
        ef.update()


SIZES = [
    "io_threads",
    "max_sockets",
    "send_hwm",
    "recv_hwm",
    "max_message_size",
    "drain_budget",
    "publish_max_message_size",
    "min_fd_limit",
    "drain_frame_budget",
    "drain_byte_budget",
    "max_parts",
]


@pytest.mark.parametrize("what", SIZES)
@pytest.mark.parametrize("value", [0, -1, -(2**31), 2**31 - 1, 2**31, 2**63 - 1, 2**64 - 1, 2**64, 10**30])
def test_size_keywords_extremes(what, value):
    try:
        ef = emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1", everyone=False, **{what: value})
    except CLEAR as e:
        assert str(e)
        return
    with ef:
        ef.update()


@pytest.mark.parametrize("value", [-1, 0, 65536, 2**63, -(2**63), 10**30])
def test_port_and_t_out_extremes(pair, value):
    pub, sub = pair
    with pytest.raises(CLEAR):
        sub.add_ehypha_direct(pub.public_key, "127.0.0.1", value)
    try:
        pub.emit_etale("t", [b"x"], t_out=value)
    except CLEAR as e:
        assert str(e)
