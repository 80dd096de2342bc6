"""An installed wheel at work, on whatever interpreter runs this (tests/run-py.sh runs it
on every CPython it finds): two efunguze on 127.0.0.1, one whitelisting the other, pass
an etale over CURVE. Exits 1 when nothing arrives within 10 s.
"""

import sys
import time

import emyzelium as emz


def main():
    assert "site-packages" in emz.__file__, f"not the installed wheel: {emz.__file__}"
    assert "zmq" not in sys.modules, "the wheel must not need pyzmq"
    pub_key, pub_secret = emz.keypair()
    sub_key, sub_secret = emz.keypair()
    parts = [b"smoke", bytes(range(256)), sys.version.encode()]
    with (
        emz.Efunguz(pub_secret, whitelist=[sub_key], port=0, bind_host="127.0.0.1") as pub,
        emz.Efunguz(sub_secret, whitelist=[], everyone=False, port=0, bind_host="127.0.0.1") as sub,
    ):
        etale = sub.add_ehypha_at(pub_key, f"127.0.0.1:{pub.port}").add_etale("smoke")
        deadline = time.monotonic() + 10
        while etale.parts != parts:
            if time.monotonic() > deadline:
                print(f"no etale within 10 s (state {sub.get_ehypha(pub_key).state})", file=sys.stderr)
                return 1
            pub.emit_etale("smoke", parts)
            sub.wait(0.05)
    v = sys.version_info
    print(f"CPython {v.major}.{v.minor}.{v.micro}: emyzelium {emz.__version__}, libzmq {emz.libzmq_version()}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
