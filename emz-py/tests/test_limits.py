"""The core's limits against hostile peers, as keyword arguments, and what they count."""

from __future__ import annotations

import emyzelium as emz
import pytest
from conftest import LONG, pump

FAST = {"port": 0, "bind_host": "127.0.0.1", "reconnect_interval": 0.05, "reconnect_interval_max": 0.2}


def test_too_many_parts_are_dropped_and_counted():
    pk, sk = emz.keypair()
    sub_pk, sub_sk = emz.keypair()
    with (
        emz.Efunguz(sk, [sub_pk], **FAST, publish_handshake_interval=3.0, publish_max_message_size=300) as pub,
        emz.Efunguz(
            sub_sk, everyone=True, **FAST, max_parts=2, drain_frame_budget=7, drain_byte_budget=1000, min_fd_limit=0
        ) as sub,
    ):
        etale = sub.add_ehypha_direct(pk, "127.0.0.1", pub.port).add_etale("t")

        def two_parts_arrive() -> bool:
            pub.emit_etale("t", [b"one", b"two"])
            return etale.parts == [b"one", b"two"]

        assert pump([pub, sub], two_parts_arrive)
        assert sub.stats.too_many_parts == 0
        pub.emit_etale("t", [b"one", b"two", b"three"])
        assert pump([pub, sub], lambda: sub.stats.too_many_parts > 0)
        assert sub.stats.too_many_parts == 1
        assert "too_many_parts=1" in repr(sub.stats)
        # The dropped etale leaves the last good one in place.
        assert etale.parts == [b"one", b"two"]
        assert pub.bad_subscriptions == 0


def test_a_refused_handshake_is_counted_as_failed():
    pk, sk = emz.keypair()
    stranger_sk = emz.keypair()[1]
    with (
        emz.Efunguz(sk, [emz.keypair()[0]], **FAST) as pub,
        emz.Efunguz(stranger_sk, everyone=True, **FAST) as stranger,
    ):
        assert pub.in_failed == 0
        stranger.add_ehypha_direct(pk, "127.0.0.1", pub.port).add_etale("t")
        assert pump([pub, stranger], lambda: pub.in_failed > 0, LONG)
        assert pub.in_permitted == 0


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("publish_handshake_interval", -1.0),
        ("publish_handshake_interval", float("nan")),
        ("publish_max_message_size", -2),
        ("drain_frame_budget", 0),
        ("drain_byte_budget", 0),
    ],
)
def test_bad_limits_are_refused(keyword, value):
    with pytest.raises(emz.InvalidArgumentError, match=keyword.split("_budget")[0]):
        emz.Efunguz(emz.keypair()[1], **FAST, **{keyword: value})


@pytest.mark.parametrize("keyword", ["min_fd_limit", "drain_frame_budget", "drain_byte_budget", "max_parts"])
def test_negative_counts_do_not_fit(keyword):
    with pytest.raises(OverflowError):
        emz.Efunguz(emz.keypair()[1], **FAST, **{keyword: -1})
