"""Exceptions of emyzelium.

Every error of the library is an :class:`EmyzeliumError`. Errors caused by a bad argument
are also :class:`ValueError` (a bad key, address, port, title or option value), lookups of
what is not there are also :class:`LookupError`, and resource failures are also
:class:`OSError`, so ``except ValueError`` works as Python users expect. Each class has a
``kind``: the name of the core's ``ErrorKind`` (the same across Rust, C and Python).
"""

from __future__ import annotations

__all__ = [
    "EmyzeliumError",
    "InvalidKeyError",
    "InvalidAddressError",
    "InvalidPortError",
    "InvalidTitleError",
    "InvalidArgumentError",
    "AlreadyPresentError",
    "AbsentError",
    "AlreadyAbsentError",
    "AlreadyPausedError",
    "AlreadyResumedError",
    "AddressInUseError",
    "LimitError",
    "IoError",
    "CurveUnavailableError",
    "ZmqError",
    "TorError",
    "ClosedError",
    "WrongThreadError",
]


class EmyzeliumError(Exception):
    """Base of every emyzelium error."""

    kind: str = "Error"


class InvalidKeyError(EmyzeliumError, ValueError):
    """A CURVE key that is not 40 Z85 characters encoding 32 bytes."""

    kind = "InvalidKey"


class InvalidAddressError(EmyzeliumError, ValueError):
    """A bad onion (v3, checksum verified), host or bind address."""

    kind = "InvalidAddress"


class InvalidPortError(EmyzeliumError, ValueError):
    """A port outside 1..65535 where a real port is needed."""

    kind = "InvalidPort"


class InvalidTitleError(EmyzeliumError, ValueError):
    """A title containing a NUL character."""

    kind = "InvalidTitle"


class InvalidArgumentError(EmyzeliumError, ValueError):
    """Any other argument out of its domain (an option's value, say)."""

    kind = "InvalidArgument"


class AlreadyPresentError(EmyzeliumError):
    """Adding what is already there (an ehypha, an etale, a whitelist key)."""

    kind = "AlreadyPresent"


class AbsentError(EmyzeliumError, LookupError):
    """Looking up what is not there (or no longer: a deleted ehypha or etale)."""

    kind = "Absent"


class AlreadyAbsentError(AbsentError):
    """Deleting what is not there."""

    kind = "AlreadyAbsent"


class AlreadyPausedError(EmyzeliumError):
    """Pausing an etale that is paused already."""

    kind = "AlreadyPaused"


class AlreadyResumedError(EmyzeliumError):
    """Resuming an etale that is not paused."""

    kind = "AlreadyResumed"


class AddressInUseError(EmyzeliumError, OSError):
    """The publish port is taken."""

    kind = "AddressInUse"


class LimitError(EmyzeliumError, OSError):
    """Out of sockets or file descriptors (the message names the limit)."""

    kind = "Limit"


class IoError(EmyzeliumError, OSError):
    """Reading a keys file failed, or one of its lines is not a key."""

    kind = "Io"


class CurveUnavailableError(EmyzeliumError):
    """The libzmq inside has no CURVE (never with the wheel's own build)."""

    kind = "CurveUnavailable"


class ZmqError(EmyzeliumError, OSError):
    """libzmq refused an operation."""

    kind = "Zmq"


class TorError(EmyzeliumError, OSError):
    """Tor refused or failed (its control port, an onion service)."""

    kind = "Tor"


class ClosedError(EmyzeliumError, ValueError):
    """Using an efunguz (or its ehyphae and etales) after ``close()``."""

    kind = "Closed"


class WrongThreadError(EmyzeliumError, RuntimeError):
    """Using an efunguz (or its ehyphae and etales) from a thread other than its creator's."""

    kind = "WrongThread"
