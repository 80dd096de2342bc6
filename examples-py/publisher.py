#!/usr/bin/env python3
"""A minimal publisher: emits etale "clock" (the time as text) every half second.

python publisher.py SECRET_KEY [PORT]        # run subscriber.py against it
"""

import sys
import time

import emyzelium as emz


def main() -> None:
    secret = sys.argv[1] if len(sys.argv) > 1 else emz.keypair()[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else emz.DEFAULT_PORT
    # Any key may subscribe, explicitly; pass public keys as the whitelist to restrict.
    with emz.Efunguz(secret, port=port, everyone=True) as ef:
        print(f"publishing on port {ef.port} as {ef.public_key}", flush=True)
        while True:
            ef.emit_etale("clock", [time.strftime("%H:%M:%S").encode(), b"second part"])
            ef.wait(0.5)  # serves handshakes (and ehyphae, if any) meanwhile; Ctrl-C stops


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
