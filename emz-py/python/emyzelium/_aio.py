"""asyncio on the readiness fd: :meth:`Efunguz.wait_async` and
:meth:`Efunguz.changes_async` delegate here.

The loop watches the efunguz's :meth:`~Efunguz.fileno` with ``add_reader`` (level-
triggered): the fd is readable exactly when :meth:`~Efunguz.update` has work, so the
reader runs an update only then, and an idle efunguz costs the loop nothing. Everything
runs in the loop's thread, the one an efunguz belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._errors import ClosedError

if TYPE_CHECKING:
    from ._emyzelium import Efunguz

Changes = list[tuple[str, str]]

# The wait in progress on each readiness fd (an fd is one open efunguz's): a second
# reader on the same fd would silently replace the first one's callback, and close()
# ends the wait through `closing` before the fd goes.
_waiting: dict[int, asyncio.Future[Changes]] = {}


async def wait_async(ef: Efunguz, timeout: float | None = None) -> Changes:
    """What :meth:`Efunguz.wait_async` runs (the timeout is already checked)."""
    fd = ef.fileno()
    if fd in _waiting:
        raise RuntimeError("another wait_async is already waiting on this efunguz")
    changes = ef.update()
    if changes or timeout == 0:
        return changes
    loop = asyncio.get_running_loop()
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

    _waiting[fd] = done
    loop.add_reader(fd, ready)
    timer = loop.call_later(timeout, expire) if timeout is not None else None
    try:
        return await done
    finally:
        # After close() the number may belong to a newer efunguz already.
        if _waiting.get(fd) is done:
            del _waiting[fd]
            loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()


def closing(fd: int) -> None:
    """Called by :meth:`Efunguz.close` while the fd is still open: the wait on it, if
    any, stops watching it and raises :class:`ClosedError`."""
    done = _waiting.pop(fd, None)
    if done is None:
        return
    done.get_loop().remove_reader(fd)
    if not done.done():
        done.set_exception(ClosedError("efunguz is closed"))


async def changes_async(ef: Efunguz) -> AsyncIterator[Changes]:
    """What :meth:`Efunguz.changes_async` runs."""
    while not ef.closed:
        try:
            changes = await wait_async(ef)
        except ClosedError:
            if ef.closed:
                return
            raise
        yield changes
