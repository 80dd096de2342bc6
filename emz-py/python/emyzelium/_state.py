"""The connection state of an ehypha (:attr:`Ehypha.state`)."""

from __future__ import annotations

import enum

__all__ = ["EhyphaState"]


class EhyphaState(enum.IntEnum):
    """Where an ehypha's connection to its peer stands, from a monitor on its socket.

    The values are those of the Rust core and the C header (``EMZ_EHYPHA_UP`` is 4, …);
    ``str()`` gives the core's lowercase name (``"up"``).
    """

    UNKNOWN = 0
    """Not monitored (``ehypha_monitor=False``)."""
    CONNECTING = 1
    """Connecting (TCP, or through Tor's SOCKS proxy)."""
    RETRYING = 2
    """The last attempt failed; another comes after the reconnect interval."""
    HANDSHAKING = 3
    """Connected; the CURVE handshake is under way."""
    UP = 4
    """Handshake done: etales flow."""
    REJECTED = 5
    """The peer's whitelist refused our key; retried after the reconnect backoff cap."""
    FAILED = 6
    """The handshake failed otherwise (wrong server key, protocol error)."""
    DISCONNECTED = 7
    """The connection went down; libzmq reconnects."""

    def __str__(self) -> str:
        return self.name.lower()
