#!/usr/bin/env python3
"""A minimal subscriber: prints etale "clock" of a publisher as it arrives.

python subscriber.py PUBLISHER_PUBLIC_KEY [HOST:PORT]     (default 127.0.0.1:60847)
python subscriber.py PUBLISHER_PUBLIC_KEY ONION.onion:PORT  (through Tor at 127.0.0.1:9050)
"""

import sys

import emyzelium as emz


def main() -> None:
    peer = sys.argv[1]
    where = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1:60847"
    _, secret = emz.keypair()  # our own key: any, unless the publisher has a whitelist
    with emz.Efunguz(secret, port=0, bind_host="127.0.0.1") as ef:
        ehypha = ef.add_ehypha_at(peer, where)  # an onion goes through Tor, any other host direct
        clock = ehypha.add_etale("clock")
        while True:
            for _key, _title in ef.wait():  # blocks until something arrives; Ctrl-C stops
                lag_ms = (clock.t_in - clock.t_out) / 1000
                print(f"{clock.parts[0].decode()} ({len(clock.parts)} parts, {lag_ms:.1f} ms on the way)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
