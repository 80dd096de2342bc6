"""Lists the declarations of a C/C++ header that have no comment right above them.

Declarations: macros, typedefs, struct fields, enum values and function prototypes of
include/emyzelium.h (cbindgen writes each Rust doc comment above its item), and the
public members of include/emyzelium.hpp. Exit status 1 when any lacks one.
"""

from __future__ import annotations

import re
import sys

DECL = re.compile(
    r"""^\s*(
        \#define\s+EMZ_\w+               # a constant
      | typedef\b                        # a type
      | [A-Z][A-Z0-9_]+\s*(=|,|$)        # an enum value
      | (const\s+)?(struct\s+)?\w+[\s*]+\**\w+\s*(\(|;|\[)   # a field or a prototype
    )""",
    re.X,
)
SKIP = re.compile(r"^\s*(#|//|/\*|\*|}|{|$|extern\b|namespace\b|public:|private:|return\b|using\b|template\b)")


def undocumented(path: str) -> list[str]:
    lines = open(path, encoding="utf-8").read().split("\n")
    bad = []
    depth = 0  # braces of function bodies in the C++ header: their lines are code
    in_body = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if path.endswith(".hpp"):
            # The C++ header: only declarations at class level (not in a function body).
            if in_body:
                depth += line.count("{") - line.count("}")
                if depth <= 0:
                    in_body = False
                continue
        if SKIP.match(line) and not stripped.startswith("#define EMZ_"):
            continue
        if not DECL.match(line):
            continue
        prev = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        documented = prev.endswith("*/") or prev.startswith("//") or prev.startswith("template")
        if not documented:
            bad.append(f"{path}:{i + 1}: {stripped}")
        if path.endswith(".hpp") and "{" in line and "}" not in line.split("{", 1)[1]:
            in_body = True
            depth = line.count("{") - line.count("}")
    return bad


def main() -> int:
    bad = [b for p in sys.argv[1:] for b in undocumented(p)]
    for b in bad:
        print(f"no comment: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
