"""emyzelium: authenticated, encrypted peer-to-peer publish/subscribe over ZeroMQ
(CURVE) and Tor, for programs with a main loop.

An :class:`Efunguz` is a peer: a CURVE key pair and a publish socket that only
whitelisted keys may subscribe to. It publishes *etales* (a title and byte parts) with
:meth:`Efunguz.emit_etale` and receives other peers' etales through one :class:`Ehypha`
per peer. Call :meth:`Efunguz.update` from your loop (it never blocks) or
:meth:`Efunguz.wait`::

    import emyzelium as emz

    public, secret = emz.keypair()
    with emz.Efunguz(secret, port=60847) as ef:
        zone = ef.add_ehypha_at(peer_key, "127.0.0.1:60848").add_etale("zone")
        while True:
            ef.emit_etale("zone", [b"my", b"data"])
            for key, title in ef.update():
                print(title, zone.parts, zone.t_out, zone.t_in)

In asyncio, await the efunguz instead of polling it (the loop watches
:meth:`Efunguz.fileno`, readable exactly when :meth:`Efunguz.update` has work)::

    async for changes in ef.changes_async():    # or: await ef.wait_async(timeout)
        for key, title in changes:
            print(title, zone.parts)

The same Rust core as the C and Rust faces, libzmq and libsodium included: nothing else
to install. Same wire format as every emyzelium, so peers of any of them interoperate.

Threads: an efunguz and its ehyphae and etales belong to the thread that created the
efunguz (others get :class:`WrongThreadError`); asyncio is fine, with :meth:`Efunguz.update`
called from a task. Several efungi may live on several threads.
"""

from __future__ import annotations

from ._emyzelium import (
    CORE_VERSION,
    DEFAULT_PORT,
    DEFAULT_TOR_PROXY_HOST,
    DEFAULT_TOR_PROXY_PORT,
    Efunguz,
    Ehypha,
    Etale,
    Stats,
    is_valid_key,
    keypair,
    libzmq_version,
    now_us,
    public_key,
    read_keys_file,
)
from ._errors import (
    AbsentError,
    AddressInUseError,
    AlreadyAbsentError,
    AlreadyPausedError,
    AlreadyPresentError,
    AlreadyResumedError,
    ClosedError,
    CurveUnavailableError,
    EmyzeliumError,
    InvalidAddressError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidPortError,
    InvalidTitleError,
    IoError,
    LimitError,
    TorError,
    WrongThreadError,
    ZmqError,
)
from ._state import EhyphaState

__version__: str = CORE_VERSION

__all__ = [
    "Efunguz",
    "Ehypha",
    "Etale",
    "Stats",
    "EhyphaState",
    "keypair",
    "public_key",
    "is_valid_key",
    "now_us",
    "libzmq_version",
    "read_keys_file",
    "DEFAULT_PORT",
    "DEFAULT_TOR_PROXY_HOST",
    "DEFAULT_TOR_PROXY_PORT",
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
