"""The compiled core of emyzelium (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import TracebackType
from typing import final

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

def keypair() -> tuple[str, str]: ...
def public_key(secret_key: str) -> str: ...
def is_valid_key(key: str) -> bool: ...
def now_us() -> int: ...
def libzmq_version() -> tuple[int, int, int]: ...
def read_keys_file(path: str | os.PathLike[str]) -> list[str]: ...
def _error_kinds() -> list[tuple[str, int]]: ...
def _ehypha_states() -> list[tuple[str, int]]: ...
def _option_fields() -> list[str]: ...

@final
class Stats:
    @property
    def received(self) -> int: ...
    @property
    def malformed(self) -> int: ...
    @property
    def unknown_title(self) -> int: ...
    @property
    def paused(self) -> int: ...
    @property
    def too_many_parts(self) -> int:
        """Dropped: more data parts than ``max_parts``."""

    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...

@final
class Efunguz:
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
    ) -> Self:
        """Who may subscribe: with ``everyone=None`` (the default) an empty whitelist lets
        everyone (``whitelist=None`` and ``whitelist=[]`` alike), a non-empty one those keys
        only. ``everyone=True`` opens explicitly (the whitelist must be empty);
        ``everyone=False`` takes the whitelist as it is, so ``None`` or ``[]`` admits nobody."""
    @property
    def public_key(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_args: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...
    @property
    def whitelist(self) -> list[str]:
        """The keys allowed to subscribe, sorted; empty when open or when nobody is."""

    @property
    def is_open(self) -> bool:
        """Whether everyone may subscribe (open mode, no whitelist)."""

    def allow_everyone(self) -> None:
        """Lets everyone subscribe and forgets the whitelist (no session is cut)."""

    def add_whitelist_key(self, key: str) -> None:
        """Allows ``key``; on an open efunguz, ``key`` alone, and the other subscribers'
        sessions are cut by the next update."""

    def add_whitelist_keys(self, keys: Iterable[str]) -> None: ...
    def del_whitelist_key(self, key: str) -> None:
        """Stops allowing ``key``, cutting its live sessions by the next update. Deleting
        the last key leaves nobody allowed."""

    def clear_whitelist(self) -> None:
        """Nobody may subscribe any more; every live session is cut by the next update."""

    def read_whitelist_file(self, path: str | os.PathLike[str]) -> int: ...
    def add_ehypha(self, public_key: str, onion: str, port: int = 60847) -> Ehypha: ...
    def add_ehypha_direct(self, public_key: str, host: str, port: int | None = None) -> Ehypha: ...
    def add_ehypha_at(self, public_key: str, address: str) -> Ehypha:
        """Subscribes to the efunguz with ``public_key`` at ``address``: ``"host:port"``,
        ``"[ipv6]:port"`` or ``"<onion>.onion:port"``. An onion is reached through Tor (as
        :meth:`add_ehypha`), anything else by plain TCP (as :meth:`add_ehypha_direct`)."""

    def get_ehypha(self, public_key: str) -> Ehypha: ...
    def del_ehypha(self, public_key: str) -> None: ...
    @property
    def ehyphae(self) -> list[Ehypha]: ...
    def __len__(self) -> int: ...
    def __contains__(self, public_key: str, /) -> bool: ...
    def emit_etale(self, title: str, parts: Iterable[Buffer] | None = None, t_out: int | None = None) -> bool:
        """Never blocks. ``False`` when the etale could not be queued for at least one
        subscriber: it is pending as that subscriber's latest of the title and goes out as
        soon as that subscriber has room; the others got it now."""

    @property
    def unsent_etales(self) -> int:
        """Titles whose latest etale is still pending for some subscriber."""

    def publish_onion(
        self,
        control: str = "127.0.0.1:9051",
        *,
        cookie: str | os.PathLike[str] | None = None,
        password: str | None = None,
        key: str | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> str: ...
    @property
    def onion(self) -> str | None: ...
    def unpublish_onion(self) -> None: ...
    def update(self) -> list[tuple[str, str]]: ...
    def wait(self, timeout: float | None = None) -> list[tuple[str, str]]: ...
    @property
    def in_attempted(self) -> int: ...
    @property
    def in_permitted(self) -> int: ...
    @property
    def in_absorbing(self) -> int: ...
    @property
    def in_failed(self) -> int:
        """Handshakes at the publish socket that failed: refused, protocol error, too slow."""

    @property
    def bad_subscriptions(self) -> int:
        """Subscriptions the publish socket ignored because they are not a title."""

    @property
    def stats(self) -> Stats: ...

@final
class Ehypha:
    @property
    def public_key(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def state(self) -> EhyphaState: ...
    @property
    def state_since(self) -> int: ...
    @property
    def efunguz(self) -> Efunguz: ...
    def add_etale(self, title: str) -> Etale: ...
    def get_etale(self, title: str) -> Etale: ...
    def del_etale(self, title: str) -> None: ...
    def pause_etale(self, title: str) -> None: ...
    def resume_etale(self, title: str) -> None: ...
    def pause_etales(self) -> None: ...
    def resume_etales(self) -> None: ...
    @property
    def etales(self) -> list[Etale]: ...
    @property
    def stats(self) -> Stats: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Etale:
    @property
    def title(self) -> str: ...
    @property
    def public_key(self) -> str: ...
    @property
    def parts(self) -> list[bytes]: ...
    @property
    def views(self) -> list[memoryview]: ...
    @property
    def t_out(self) -> int: ...
    @property
    def t_in(self) -> int: ...
    @property
    def received(self) -> int: ...
    @property
    def paused(self) -> bool: ...
