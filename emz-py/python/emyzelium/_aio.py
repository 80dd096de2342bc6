"""asyncio on the readiness fd: :meth:`Efunguz.wait_async` and
:meth:`Efunguz.changes_async` delegate here.

The loop watches the efunguz's :meth:`~Efunguz.fileno` with ``add_reader`` (level-
triggered): the fd is readable exactly when :meth:`~Efunguz.update` has work, so the
reader runs an update only then, and an idle efunguz costs the loop nothing. Everything
runs in the loop's thread, the one an efunguz belongs to.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._emyzelium import Efunguz

Changes = list[tuple[str, str]]

# Efungi with a wait_async in progress: a second reader on the same fd would silently
# replace the first one's callback.
_waiting: weakref.WeakSet[Efunguz] = weakref.WeakSet()


async def wait_async(ef: Efunguz, timeout: float | None = None) -> Changes:
    """What :meth:`Efunguz.wait_async` runs (the timeout is already checked)."""
    if ef in _waiting:
        raise RuntimeError("another wait_async is already waiting on this efunguz")
    changes = ef.update()
    if changes or timeout == 0:
        return changes
    loop = asyncio.get_running_loop()
    fd = ef.fileno()
    done: asyncio.Future[Changes] = loop.create_future()

    def ready() -> None:
        # The result must be taken before another update replaces the changes.
        if done.done():
            return
        try:
            got = ef.update()
        except BaseException as e:  # noqa: BLE001 - handed to the waiter as it is
            done.set_exception(e)
            return
        if got:
            done.set_result(got)

    def expire() -> None:
        if not done.done():
            done.set_result([])

    _waiting.add(ef)
    loop.add_reader(fd, ready)
    timer = loop.call_later(timeout, expire) if timeout is not None else None
    try:
        return await done
    finally:
        loop.remove_reader(fd)
        _waiting.discard(ef)
        if timer is not None:
            timer.cancel()


async def changes_async(ef: Efunguz) -> AsyncIterator[Changes]:
    """What :meth:`Efunguz.changes_async` runs."""
    while not ef.closed:
        yield await wait_async(ef)
