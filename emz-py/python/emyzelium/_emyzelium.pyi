"""The compiled core of emyzelium (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Coroutine, Iterable
from types import TracebackType
from typing import Any, final

from typing_extensions import Buffer, Self

from ._state import EhyphaState

__all__ = [
    "CORE_VERSION",
    "DEFAULT_PORT",
    "DEFAULT_TOR_PROXY_HOST",
    "DEFAULT_TOR_PROXY_PORT",
    "Efunguz",
    "Ehypha",
    "Etale",
    "Stats",
    "is_valid_key",
    "keypair",
    "libzmq_version",
    "now_us",
    "public_key",
    "read_keys_file",
    "_ehypha_states",
    "_error_kinds",
    "_option_fields",
]

DEFAULT_PORT: int
DEFAULT_TOR_PROXY_HOST: str
DEFAULT_TOR_PROXY_PORT: int
CORE_VERSION: str

def keypair() -> tuple[str, str]:
    """A new CURVE key pair as ``(public, secret)``, both 40-character Z85 strings."""

def public_key(secret_key: str) -> str:
    """The Z85 public key of a Z85 secret key."""

def is_valid_key(key: str) -> bool:
    """Whether ``key`` is a valid Z85-encoded CURVE key (public or secret)."""

def now_us() -> int:
    """Microseconds since the Unix epoch, the clock of ``t_out`` and ``t_in``."""

def libzmq_version() -> tuple[int, int, int]:
    """Version of the libzmq inside this module, as ``(major, minor, patch)``."""

def read_keys_file(path: str | os.PathLike[str]) -> list[str]:
    """Public keys of a file, one a line (blank lines and ``#`` comments allowed)."""

def _error_kinds() -> list[tuple[str, int]]: ...
def _ehypha_states() -> list[tuple[str, int]]: ...
def _option_fields() -> list[str]: ...

@final
class Stats:
    """Counts of what was received and dropped."""
    @property
    def received(self) -> int:
        """Well-formed etales taken into a subscribed title."""
    @property
    def malformed(self) -> int:
        """Dropped: not in the wire format."""
    @property
    def unknown_title(self) -> int:
        """Dropped: for a title not subscribed (any more)."""
    @property
    def paused(self) -> int:
        """Dropped: for a paused etale."""
    @property
    def too_many_parts(self) -> int:
        """Dropped: more data parts than ``max_parts``."""
    @property
    def superseded(self) -> int:
        """Dropped unread in the receive queue: a newer etale of its title was queued behind it
        and it had waited ``supersede_after_ms``."""

    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Efunguz:
    """One emyzelium peer (see the package documentation).

    Who may subscribe: with ``everyone=None`` (the default) the original rule holds, an
    empty whitelist lets everyone: ``whitelist=None`` and ``whitelist=[]`` both mean
    everyone, a non-empty list means those keys only. ``everyone=True`` opens explicitly
    (the whitelist must then be empty). ``everyone=False`` takes the whitelist as it is:
    ``None`` or ``[]`` admits nobody until keys are added or :meth:`allow_everyone` is
    called. Removing keys never widens access, and removed keys lose their live sessions
    by the next :meth:`update`.

    The keyword options are the core's ``Options``, durations in seconds; among them,
    limits against hostile peers: ``publish_handshake_interval`` (longest handshake at the
    publish socket, 10 s), ``publish_max_message_size`` (largest message a subscriber may
    send, bytes; -1 = none; default the largest subscription), ``min_fd_limit`` (the soft
    open-files limit is raised to at least this; 0 leaves it), ``drain_frame_budget`` and
    ``drain_byte_budget`` (most frames and bytes taken from one ehypha per update) and
    ``max_parts`` (more data parts drop the etale, counted in ``Stats.too_many_parts``).
    Against slow peers: ``supersede_after_ms`` (an etale queued, at the publisher or in an
    ehypha, behind a newer one of its title is dropped unread after that many ms, so a
    subscriber that stopped reading reaches the current values at once; 50; -1 = never;
    counted in :attr:`superseded` and ``Stats.superseded``).

    Threads: an efunguz, its ehyphae and etales are used from the thread that created
    the efunguz; any other thread gets ``WrongThreadError``. :meth:`wait` releases the
    GIL, so other threads run meanwhile. asyncio is fine, as its loop runs on one
    thread: call :meth:`update` from a task between ``await asyncio.sleep(...)``; not
    :meth:`wait`, which blocks the loop, nor ``run_in_executor``, whose threads are
    others."""
    def __new__(
        cls,
        secret_key: str,
        whitelist: Iterable[str] | None = None,
        port: int | None = 60847,
        tor_proxy: tuple[str, int] | None = None,
        *,
        bind_host: str = "*",
        io_threads: int | None = None,
        max_sockets: int | None = None,
        send_hwm: int | None = None,
        recv_hwm: int | None = None,
        max_message_size: int | None = None,
        reconnect_interval: float | None = None,
        reconnect_interval_max: float | None = None,
        heartbeat_interval: float | None = None,
        heartbeat_timeout: float | None = None,
        heartbeat_ttl: float | None = None,
        handshake_interval: float | None = None,
        ipv6: bool = False,
        drain_budget: int | None = None,
        retry_unsent: bool | None = None,
        keep_latest: bool | None = None,
        ehypha_monitor: bool | None = None,
        everyone: bool | None = None,
        publish_handshake_interval: float | None = None,
        publish_max_message_size: int | None = None,
        min_fd_limit: int | None = None,
        drain_frame_budget: int | None = None,
        drain_byte_budget: int | None = None,
        max_parts: int | None = None,
        publish_queue_bytes: int | None = None,
        publish_send_buffer: int | None = None,
        recv_buffer: int | None = None,
        supersede_after_ms: int | None = None,
    ) -> Self:
        """Who may subscribe: with ``everyone=None`` (the default) an empty whitelist lets
        everyone (``whitelist=None`` and ``whitelist=[]`` alike), a non-empty one those keys
        only. ``everyone=True`` opens explicitly (the whitelist must be empty);
        ``everyone=False`` takes the whitelist as it is, so ``None`` or ``[]`` admits nobody."""
    @property
    def public_key(self) -> str:
        """This efunguz's public key (Z85)."""
    @property
    def port(self) -> int:
        """The publish port (the one chosen by the system when ``port=0``)."""
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
    def close(self) -> None:
        """Closes every socket now (also done by ``with`` and when garbage-collected).
        Closing twice is fine; any other use afterwards raises ``ClosedError``."""
    def __enter__(self) -> Self:
        """Returns the efunguz itself, for ``with Efunguz(...) as ef:``."""
    def __exit__(
        self,
        *_args: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool:
        """Closes the efunguz (see :meth:`close`); exceptions go on."""
    @property
    def whitelist(self) -> list[str]:
        """The public keys allowed to subscribe, sorted. Empty either when the efunguz is open
        (:attr:`is_open`) or when it admits nobody."""

    @property
    def is_open(self) -> bool:
        """Whether everyone may subscribe (open mode, no whitelist)."""

    def allow_everyone(self) -> None:
        """Lets everyone subscribe and forgets the whitelist. Widens access: no live session
        is cut."""

    def add_whitelist_key(self, key: str) -> None:
        """Allows ``key`` to subscribe (from its next handshake on). On an open efunguz this
        switches to whitelist mode with ``key`` alone: every other subscriber's session is
        cut by the next :meth:`update` (honest subscribers of listed keys reconnect by
        themselves)."""

    def add_whitelist_keys(self, keys: Iterable[str]) -> None:
        """As :meth:`add_whitelist_key` for several keys; nothing changes when one is bad."""
    def del_whitelist_key(self, key: str) -> None:
        """Stops allowing ``key``: its live sessions are cut by the next :meth:`update`.
        Deleting the last key leaves nobody allowed (never everyone)."""

    def clear_whitelist(self) -> None:
        """Empties the whitelist and leaves open mode: nobody may subscribe, and every live
        session is cut by the next :meth:`update`. :meth:`allow_everyone` opens again."""

    def read_whitelist_file(self, path: str | os.PathLike[str]) -> int:
        """Adds the keys of a file (one a line); returns how many. Nothing is added when a line
        is bad. On an open efunguz this narrows access to the file's keys (as
        :meth:`add_whitelist_keys`)."""
    def add_ehypha(self, public_key: str, onion: str, port: int = 60847) -> Ehypha:
        """Subscribes to the efunguz with ``public_key`` behind a v3 ``onion``, through Tor."""
    def add_ehypha_direct(self, public_key: str, host: str, port: int | None = None) -> Ehypha:
        """Subscribes to the efunguz with ``public_key`` at ``host``:``port`` by plain TCP
        (LAN, loopback). ``host`` may also be ``"host:port"`` (``"[::1]:port"`` for IPv6)."""
    def add_ehypha_at(self, public_key: str, address: str) -> Ehypha:
        """Subscribes to the efunguz with ``public_key`` at ``address``: ``"host:port"``,
        ``"[ipv6]:port"`` or ``"<onion>.onion:port"``. An onion is reached through Tor (as
        :meth:`add_ehypha`), anything else by plain TCP (as :meth:`add_ehypha_direct`)."""

    def get_ehypha(self, public_key: str) -> Ehypha:
        """The ehypha of ``public_key`` (``AbsentError`` if there is none)."""
    def del_ehypha(self, public_key: str) -> None:
        """Disconnects from the peer and forgets its etales."""
    @property
    def ehyphae(self) -> list[Ehypha]:
        """Every ehypha, in no particular order."""
    def __len__(self) -> int:
        """Return len(self)."""
    def __contains__(self, public_key: str, /) -> bool:
        """Return key in self."""
    def emit_etale(self, title: str, parts: Iterable[Buffer] | None = None, t_out: int | None = None) -> bool:
        """Publishes ``parts`` (bytes-like objects: bytes, bytearray, memoryview, numpy
        arrays…, read in place, never copied here) under ``title``, stamped with the
        current time or with ``t_out`` (µs since the Unix epoch). Never blocks. Returns
        ``False`` when the etale could not be queued for at least one subscriber (its
        queue is full): it is then pending as that subscriber's latest of the title and
        goes out, during a later update, as soon as that subscriber has room, unless a
        newer etale of the title supersedes it first. The others got it now: a full
        subscriber delays nobody (see ``retry_unsent``)."""

    @property
    def unsent_etales(self) -> int:
        """Titles whose latest etale is still pending for some subscriber, waiting for room
        in its queue (0 when every subscriber has the latest of every title)."""

    def publish_onion(
        self,
        control: str = "127.0.0.1:9051",
        *,
        cookie: str | os.PathLike[str] | None = None,
        password: str | None = None,
        key: str | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> str:
        """Publishes this efunguz behind a v3 onion service made through Tor's control port
        ``control`` (``"HOST:PORT"``): onion port = publish port, forwarded to 127.0.0.1.
        Authentication: Tor's ``cookie`` file, or its control ``password``, or (neither)
        whatever Tor offers. Key: ``key`` (``"ED25519-V3:…"`` from an earlier service), or
        ``key_file`` (created, mode 0600, with a new key when missing: the address survives
        restarts), or (neither) a new key each time. Returns the onion without ``.onion``;
        the service goes with :meth:`unpublish_onion` or :meth:`close`. Blocks (without the
        GIL) while Tor answers. Tor failures raise ``TorError``."""
    @property
    def onion(self) -> str | None:
        """The onion published by :meth:`publish_onion` (without ``.onion``), or ``None``."""
    def unpublish_onion(self) -> None:
        """Removes the onion service now (``AlreadyAbsentError`` when there is none)."""
    def update(self) -> list[tuple[str, str]]:
        """Does all pending work without blocking; returns the ``(public_key, title)`` of
        each etale that got new data, once each."""
    def wait(self, timeout: float | None = None) -> list[tuple[str, str]]:
        """Blocks until some etale gets new data or ``timeout`` seconds pass (``None``: no
        limit), doing the work of :meth:`update` meanwhile; returns the changes (empty on
        timeout). Other threads run meanwhile, and Ctrl-C (any signal handler that raises)
        interrupts it within 50 ms."""
    def fileno(self) -> int:
        """The readiness file descriptor, for ``select``/``selectors``/an event loop:
        readable exactly when :meth:`update` has work. Watched level-triggered (asyncio's
        ``add_reader``, ``select``), it stops being readable once an update did the work;
        edge-triggered watchers call :meth:`update` until it returns nothing. It belongs to
        the efunguz: never read or close it, and stop watching it before :meth:`close`."""
    def wait_async(self, timeout: float | None = None) -> Coroutine[Any, Any, list[tuple[str, str]]]:
        """``await``-able :meth:`wait` for asyncio: returns the changes once some etale got
        new data, or an empty list after ``timeout`` seconds (``None``: no limit). The
        loop runs meanwhile (it watches :meth:`fileno` with ``add_reader``); cancelling
        the wait removes the reader and leaves the efunguz usable; :meth:`close` meanwhile
        raises ``ClosedError`` in it. One wait at a time per efunguz; efungi of one loop
        wait side by side."""
    def changes_async(self) -> AsyncIterator[list[tuple[str, str]]]:
        """An async iterator over the changes as they come, for ``async for changes in
        ef.changes_async():`` (each item as :meth:`wait_async` returns it, never empty); it
        ends when the efunguz is closed between items."""
    @property
    def in_attempted(self) -> int:
        """TCP connections accepted by the publish socket."""
    @property
    def in_permitted(self) -> int:
        """CURVE handshakes that passed (keys allowed by the whitelist)."""
    @property
    def in_absorbing(self) -> int:
        """Connections open now."""
    @property
    def in_failed(self) -> int:
        """Handshakes at the publish socket that failed: key refused, protocol error (a frame
        above ``publish_max_message_size`` included), or not done within
        ``publish_handshake_interval``."""

    @property
    def bad_subscriptions(self) -> int:
        """Subscriptions (and unsubscriptions) the publish socket ignored because they are
        not a title and its NUL terminator."""

    @property
    def superseded(self) -> int:
        """Etales dropped unread from a subscriber's queue at the publisher: a newer one of
        the same title was queued behind it and it had waited ``supersede_after_ms``."""

    @property
    def stats(self) -> Stats:
        """What all ehyphae received and dropped so far (deleted ones included)."""

@final
class Ehypha:
    """The subscription to one peer. Resolved on each use: after ``del_ehypha`` its methods
    raise ``AbsentError``."""
    @property
    def public_key(self) -> str:
        """The peer's public key."""
    @property
    def address(self) -> str:
        """Where it connects: ``"host:port"`` or ``"<onion>.onion:port"``."""
    @property
    def state(self) -> EhyphaState:
        """Where the connection to the peer stands (an :class:`EhyphaState`), as of the last
        update; always ``UNKNOWN`` with ``ehypha_monitor=False``."""
    @property
    def state_since(self) -> int:
        """When :attr:`state` last changed, µs since the Unix epoch."""
    @property
    def efunguz(self) -> Efunguz:
        """The efunguz it belongs to."""
    def add_etale(self, title: str) -> Etale:
        """Subscribes to ``title`` (any str without NUL; ``""`` is a title too)."""
    def get_etale(self, title: str) -> Etale:
        """The etale of ``title`` (``AbsentError`` if it was not added)."""
    def del_etale(self, title: str) -> None:
        """Unsubscribes from ``title`` and forgets its data."""
    def pause_etale(self, title: str) -> None:
        """Stops receiving ``title`` but keeps its latest data."""
    def resume_etale(self, title: str) -> None:
        """Subscribes to ``title`` again after :meth:`pause_etale`; it keeps its data until
        new data arrives (``AlreadyResumedError`` when it is not paused)."""
    def pause_etales(self) -> None:
        """Pauses every etale not paused yet."""
    def resume_etales(self) -> None:
        """Resumes every paused etale."""
    @property
    def etales(self) -> list[Etale]:
        """Every etale, in no particular order."""
    @property
    def stats(self) -> Stats:
        """What this ehypha received and dropped."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Etale:
    """The latest value of one title from one peer. Resolved on each use: after its deletion
    (or its ehypha's) reading it raises ``AbsentError``."""
    @property
    def title(self) -> str:
        """The title subscribed to."""
    @property
    def public_key(self) -> str:
        """The public key of the peer it comes from."""
    @property
    def parts(self) -> list[bytes]:
        """The parts of the latest arrival as ``bytes`` (copies; empty list before the first)."""
    @property
    def views(self) -> list[memoryview]:
        """The parts of the latest arrival as read-only ``memoryview`` objects over the
        received buffers, without copying. Each view owns its buffer: it stays valid (and
        unchanged) after later updates, for as long as the view is alive."""
    @property
    def t_out(self) -> int:
        """µs since the Unix epoch at the sender when emitted; -1 before the first arrival."""
    @property
    def t_in(self) -> int:
        """µs since the Unix epoch here when received; -1 before the first arrival."""
    @property
    def received(self) -> int:
        """How many times this etale has arrived."""
    @property
    def paused(self) -> bool:
        """Whether it is paused (unsubscribed, keeping its latest data)."""
