"""Connection states of ehyphae, and onion services through a scripted Tor control port."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import threading
from pathlib import Path

import emyzelium as emz
import pytest
from conftest import LONG, free_port, pump

# ---- ehypha states --------------------------------------------------------------------------


def until_state(efs: list[emz.Efunguz], eh: emz.Ehypha, want: emz.EhyphaState, timeout: float = LONG) -> None:
    assert pump(efs, lambda: eh.state == want, timeout), f"state {eh.state!s}, want {want!s}"


def test_state_enum():
    assert emz.EhyphaState.UP == 4 and emz.EhyphaState(5) is emz.EhyphaState.REJECTED
    assert str(emz.EhyphaState.UP) == "up" and str(emz.EhyphaState.DISCONNECTED) == "disconnected"
    assert [int(s) for s in emz.EhyphaState] == list(range(8))


def test_state_up_then_rejected_until_allowed():
    pub_key, pub_secret = emz.keypair()
    friend_key, friend_secret = emz.keypair()
    stranger_key, stranger_secret = emz.keypair()
    fast = {"port": 0, "bind_host": "127.0.0.1", "reconnect_interval": 0.05, "reconnect_interval_max": 0.2}
    with (
        emz.Efunguz(pub_secret, [friend_key], **fast) as pub,
        emz.Efunguz(friend_secret, **fast) as friend,
        emz.Efunguz(stranger_secret, **fast) as stranger,
    ):
        before = emz.now_us()
        feh = friend.add_ehypha_direct(pub_key, "127.0.0.1", pub.port)
        seh = stranger.add_ehypha_direct(pub_key, "127.0.0.1", pub.port)
        assert feh.state in (emz.EhyphaState.CONNECTING, emz.EhyphaState.HANDSHAKING, emz.EhyphaState.UP)
        ft, st = feh.add_etale("t"), seh.add_etale("t")
        until_state([pub, friend, stranger], feh, emz.EhyphaState.UP)
        assert isinstance(feh.state, emz.EhyphaState)
        assert before - 60_000_000 < feh.state_since <= emz.now_us()
        until_state([pub, friend, stranger], seh, emz.EhyphaState.REJECTED)
        assert st.received == 0
        # Allowed at run time: the refused ehypha retries by itself (no delete and re-add).
        pub.add_whitelist_key(stranger_key)

        def both() -> bool:
            pub.emit_etale("t", [b"now"])
            return st.received > 0 and ft.received > 0

        assert pump([pub, friend, stranger], both), f"stranger stays {seh.state!s}"
        assert seh.state == emz.EhyphaState.UP and st.parts == [b"now"]


def test_state_unknown_with_the_monitor_off(pair):
    pub, _ = pair
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1", ehypha_monitor=False) as sub:
        eh = sub.add_ehypha_direct(pub.public_key, "127.0.0.1", pub.port)
        t = eh.add_etale("t")
        assert pump([pub, sub], lambda: (pub.emit_etale("t", [b"x"]), t.received > 0)[1])
        assert eh.state is emz.EhyphaState.UNKNOWN  # data flows, nobody watches


def test_unsent_etales_and_new_options():
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1", keep_latest=False, ehypha_monitor=True) as ef:
        assert ef.unsent_etales == 0
        ef.emit_etale("t", [b"nobody listens"])
        assert ef.unsent_etales == 0
    with pytest.raises(TypeError):
        emz.Efunguz(emz.keypair()[1], port=0, ehypha_monitor="yes")  # type: ignore[arg-type]


# ---- onion services through a scripted control port -----------------------------------------

COOKIE = b"\xab" * 32


class FakeTor:
    """Speaks just enough of Tor's control protocol; one thread per connection. Onion ids
    derive from the key, so the same key gives the same onion."""

    def __init__(self, cookie: Path) -> None:
        self.cookie = cookie
        cookie.write_bytes(COOKIE)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.log: list[str] = []
        self.counter = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def onion_of(key: str) -> str:
        digest = hashlib.sha256(key.encode()).digest() + hashlib.sha256(key.encode() + b"2").digest()
        return "".join("abcdefghijklmnopqrstuvwxyz234567"[b % 32] for b in digest[:56])

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        authed = False
        with conn, conn.makefile("rb") as lines:
            for raw in lines:
                line = raw.decode().rstrip("\r\n")
                self.log.append(line)
                if line == "PROTOCOLINFO 1":
                    reply = (
                        f'250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="{self.cookie}"\r\n'
                        '250-VERSION Tor="0.4.9.8"\r\n250 OK\r\n'
                    )
                elif line.startswith("AUTHENTICATE "):
                    authed = line[len("AUTHENTICATE ") :] == COOKIE.hex().upper()
                    reply = "250 OK\r\n" if authed else "515 Authentication failed: Wrong cookie.\r\n"
                elif not authed:
                    reply = "514 Authentication required.\r\n"
                elif line.startswith("ADD_ONION NEW:ED25519-V3"):
                    self.counter += 1
                    key = "ED25519-V3:" + f"K{self.counter}".ljust(88, "A")
                    reply = f"250-ServiceID={self.onion_of(key)}\r\n"
                    if "Flags=DiscardPK" not in line:
                        reply += f"250-PrivateKey={key}\r\n"
                    reply += "250 OK\r\n"
                elif line.startswith("ADD_ONION ED25519-V3:"):
                    reply = f"250-ServiceID={self.onion_of(line.split()[1])}\r\n250 OK\r\n"
                elif line.startswith("DEL_ONION "):
                    reply = "250 OK\r\n"
                else:
                    reply = "510 Unrecognized command\r\n"
                conn.sendall(reply.encode())

    def saw(self, prefix: str) -> int:
        return sum(1 for line in list(self.log) if line.startswith(prefix))

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def tor(tmp_path):
    t = FakeTor(tmp_path / "control_auth_cookie")
    yield t
    t.close()


def test_publish_onion_with_a_key_file_keeps_the_address(tor, tmp_path):
    key_file = tmp_path / "onion.key"
    _, secret = emz.keypair()
    with emz.Efunguz(secret, port=0, bind_host="127.0.0.1") as ef:
        assert ef.onion is None
        onion = ef.publish_onion(tor.addr, key_file=key_file)
        assert len(onion) == 56 and ef.onion == onion
        assert key_file.read_text().startswith("ED25519-V3:")
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assert tor.saw(f"ADD_ONION NEW:ED25519-V3 Port={ef.port},127.0.0.1:{ef.port}") == 1
        with pytest.raises(emz.AlreadyPresentError):
            ef.publish_onion(tor.addr)
    assert pump([], lambda: tor.saw(f"DEL_ONION {onion}") == 1, 5), "onion not removed by close()"
    # Restart: same key file, same onion (cookie given this time, as a str).
    with emz.Efunguz(secret, port=0, bind_host="127.0.0.1") as ef:
        assert ef.publish_onion(control=tor.addr, cookie=str(tor.cookie), key_file=str(key_file)) == onion
        ef.unpublish_onion()
        assert ef.onion is None
        with pytest.raises(emz.AlreadyAbsentError):
            ef.unpublish_onion()
        # A given key: the address of that key; a new one: discarded by Tor.
        key = key_file.read_text().strip()
        assert ef.publish_onion(tor.addr, key=key) == onion
        ef.unpublish_onion()
        assert ef.publish_onion(tor.addr) != onion
        assert tor.saw("ADD_ONION NEW:ED25519-V3 Flags=DiscardPK") == 1


def test_onion_errors(tor, tmp_path):
    with emz.Efunguz(emz.keypair()[1], port=0, bind_host="127.0.0.1") as ef:
        with pytest.raises(emz.TorError, match="no Tor control port"):
            ef.publish_onion(f"127.0.0.1:{free_port()}")
        wrong = tmp_path / "wrong_cookie"
        wrong.write_bytes(b"\x01" * 32)
        with pytest.raises(emz.TorError, match="515"):
            ef.publish_onion(tor.addr, cookie=wrong)
        with pytest.raises(emz.IoError):
            ef.publish_onion(tor.addr, cookie=tmp_path / "missing")
        with pytest.raises(emz.InvalidKeyError):
            ef.publish_onion(tor.addr, key="RSA1024:x")
        with pytest.raises(emz.InvalidArgumentError):
            ef.publish_onion(tor.addr, cookie=tor.cookie, password="pw")
        with pytest.raises(emz.InvalidArgumentError):
            ef.publish_onion(tor.addr, key="ED25519-V3:x", key_file=tmp_path / "k")
        with pytest.raises(TypeError):
            ef.publish_onion(tor.addr, "cookie-as-positional")  # type: ignore[misc]
        assert isinstance(emz.TorError("x"), OSError)
        assert ef.onion is None
    with pytest.raises(emz.ClosedError):
        ef.publish_onion(tor.addr)
