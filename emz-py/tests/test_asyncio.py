"""asyncio on the readiness fd: fileno(), wait_async() and changes_async() on a real loop."""

from __future__ import annotations

import asyncio
import select
import threading
import time

import emyzelium as emz
import pytest
from conftest import LONG


def connect(pub: emz.Efunguz, sub: emz.Efunguz, title: str = "t") -> emz.Etale:
    return sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port).add_etale(title)


async def publish(pub: emz.Efunguz, title: str = "t", every: float = 0.01) -> None:
    """Emits a counter under `title` until cancelled."""
    n = 0
    while True:
        pub.emit_etale(title, [n.to_bytes(8, "little")])
        pub.update()
        n += 1
        await asyncio.sleep(every)


def readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_fileno_is_readable_exactly_when_update_has_work(pair):
    pub, sub = pair
    fd = sub.fileno()
    assert isinstance(fd, int) and fd >= 0 and sub.fileno() == fd != pub.fileno()
    for _ in range(20):
        sub.update()
    assert not readable(fd)
    connect(pub, sub)
    assert readable(fd), "a new ehypha is work for update()"

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        got = asyncio.Event()

        def ready() -> None:
            nonlocal wakeups
            wakeups += 1
            if sub.update():
                got.set()

        loop.add_reader(fd, ready)
        try:
            publisher = asyncio.create_task(publish(pub))
            await asyncio.wait_for(got.wait(), LONG)
            publisher.cancel()
            pub.update()
            await asyncio.sleep(0.2)  # the last etales in flight
            before = wakeups
            await asyncio.sleep(1.0)  # idle, the publisher alive: no wakeups
            return before, wakeups - before
        finally:
            loop.remove_reader(fd)

    _, idle = asyncio.run(main())
    assert idle <= 2, f"{idle} wakeups in an idle second"
    assert not readable(fd)


def test_wait_async_receives(pair):
    pub, sub = pair
    etale = connect(pub, sub)

    async def main() -> list[tuple[str, str]]:
        publisher = asyncio.create_task(publish(pub))
        try:
            return await sub.wait_async(timeout=LONG)
        finally:
            publisher.cancel()

    changes = asyncio.run(main())
    assert changes == [(pub.public_key, "t")]
    assert etale.received >= 1 and len(etale.parts[0]) == 8


def test_wait_async_timeout(pair):
    _, sub = pair

    async def main() -> tuple[list[tuple[str, str]], float]:
        t0 = time.monotonic()
        changes = await sub.wait_async(0.2)
        return changes, time.monotonic() - t0

    changes, took = asyncio.run(main())
    assert changes == [] and 0.19 <= took < 5.0
    assert asyncio.run(sub.wait_async(0)) == []
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(emz.InvalidArgumentError):
            sub.wait_async(bad)


def test_cancelled_wait_async_leaves_the_efunguz_usable(pair):
    pub, sub = pair
    connect(pub, sub)

    async def main() -> list[tuple[str, str]]:
        loop = asyncio.get_running_loop()
        waiter = asyncio.create_task(sub.wait_async())
        await asyncio.sleep(0.1)
        assert not waiter.done()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not loop.remove_reader(sub.fileno()), "the cancelled wait left its reader"
        publisher = asyncio.create_task(publish(pub))
        try:
            return await sub.wait_async(LONG)
        finally:
            publisher.cancel()

    assert asyncio.run(main()) == [(pub.public_key, "t")]


def test_one_wait_at_a_time(pair):
    _, sub = pair

    async def main() -> None:
        first = asyncio.create_task(sub.wait_async(5))
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError, match="already waiting"):
            await sub.wait_async(1)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(main())


def test_two_efungi_in_one_loop():
    pub_key, pub_secret = emz.keypair()
    with (
        emz.Efunguz(pub_secret, port=0, bind_host="127.0.0.1") as pub,
        emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as a,
        emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as b,
    ):
        connect(pub, a, "x")
        connect(pub, b, "y")

        async def main() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
            tasks = [asyncio.create_task(publish(pub, "x")), asyncio.create_task(publish(pub, "y"))]
            try:
                return await asyncio.gather(a.wait_async(LONG), b.wait_async(LONG))
            finally:
                for t in tasks:
                    t.cancel()

        got_a, got_b = asyncio.run(main())
        assert got_a == [(pub_key, "x")] and got_b == [(pub_key, "y")]


def test_changes_async_iterates_until_closed(pair):
    pub, sub = pair
    connect(pub, sub)

    async def main() -> int:
        publisher = asyncio.create_task(publish(pub))
        items = 0
        try:
            async for changes in sub.changes_async():
                assert changes == [(pub.public_key, "t")]
                items += 1
                if items == 3:
                    sub.close()  # ends the iteration before the next wait
        finally:
            publisher.cancel()
        return items

    assert asyncio.run(main()) == 3
    with pytest.raises(emz.ClosedError):
        sub.changes_async()
    with pytest.raises(emz.ClosedError):
        sub.wait_async()
    with pytest.raises(emz.ClosedError):
        sub.fileno()


def test_close_ends_a_pending_wait(pair):
    pub, sub = pair
    connect(pub, sub)

    async def main() -> None:
        fd = sub.fileno()
        waiter = asyncio.create_task(sub.wait_async())
        items: list[int] = []

        async def iterate() -> None:
            async for _ in pub.changes_async():
                items.append(1)

        iterator = asyncio.create_task(iterate())
        await asyncio.sleep(0.1)
        sub.close()
        with pytest.raises(emz.ClosedError):
            await waiter
        assert not asyncio.get_running_loop().remove_reader(fd)
        pub.close()
        await asyncio.wait_for(iterator, LONG)  # the iteration just ends
        assert items == []

    asyncio.run(main())


def test_wait_async_belongs_to_the_thread(pair):
    _, sub = pair
    errors: list[BaseException] = []

    def other() -> None:
        try:
            asyncio.run(sub.wait_async(0.1))
        except BaseException as e:  # noqa: BLE001 - checked below
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join(LONG)
    assert len(errors) == 1 and isinstance(errors[0], emz.WrongThreadError)
