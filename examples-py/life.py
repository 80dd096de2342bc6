#!/usr/bin/env python3
"""Life: three realms play the Game of Life and trade zones over emyzelium, in a terminal
(curses). The code is the module emyzelium.life of the wheel (also `emyzelium demo`); see
its docstring for the zone format and every option.

    python life.py                     # you play Alien; John and Mary run in this process
    python life.py --realm mary --only # Mary alone; run the others anywhere, in any language:
    #   cargo run --example life -- --headless 100000 --realms alien,john --linger 3600 &
    python life.py --fit               # the grid as large as the terminal
    python life.py --headless 1000 --realms mary --base-port 47000
"""

import sys

from emyzelium import life

if __name__ == "__main__":
    sys.exit(life.main())
