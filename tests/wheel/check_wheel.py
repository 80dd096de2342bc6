"""What the built wheel must be, read from the wheel itself (run by tests/run-py.sh).

    python check_wheel.py WHEEL [--manylinux 2.17] [--max-mb 6]

Checks, each a line of output, any failure an exit status of 1:
- its name: abi3 from CPython 3.10, and with --manylinux the tag of that glibc;
- its metadata: the SPDX license, Python >= 3.10, the real Python README as description;
- the licence text in .dist-info/licenses/;
- the extension: stripped (no symbol table, no debug sections), smaller than --max-mb,
  libzmq and libsodium linked in, and with --manylinux self-contained: it needs only
  libraries every manylinux system has (and no C++ runtime), and no symbol version of
  glibc newer than the tag, nor any of libstdc++ (GLIBCXX, CXXABI).

Reads ELF with pyelftools, which auditwheel brings along; auditwheel's own verdict is
asked for by tests/run-py.sh beside this.
"""

import argparse
import io
import re
import sys
import zipfile

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

# PEP 599 (manylinux2014): the libraries a wheel may expect from the system, and glibc's
# dynamic loader, which every glibc system has.
MANYLINUX_LIBS = {
    "ld-linux-x86-64.so.2",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libc.so.6",
    "libnsl.so.1",
    "libutil.so.1",
    "libpthread.so.0",
    "libresolv.so.2",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
}
# libzmq and libsodium are always linked in. libstdc++ is on the list above, but only up to
# GLIBCXX_3.4.19: the portable wheel carries its own C++ runtime (zig's libc++), so it needs
# none at all; a wheel built with the machine's compiler (from the sdist) uses its libstdc++.
VENDORED_LIBS = ("libzmq", "libsodium")
CXX_RUNTIMES = ("libstdc++", "libc++")

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def version_key(text):
    return tuple(int(x) for x in text.split("."))


def check_name(name, manylinux):
    m = re.fullmatch(r"emyzelium-[^-]+-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl", name)
    check(m is not None, f"wheel name {name} has the form name-version-python-abi-platform")
    if m is None:
        return
    check(m["py"] == "cp310" and m["abi"] == "abi3", f"abi3 from CPython 3.10 ({m['py']}-{m['abi']})")
    if manylinux:
        tag = f"manylinux_{manylinux.replace('.', '_')}_x86_64"
        check(tag in m["plat"].split("."), f"platform tag {m['plat']} includes {tag}")


def check_metadata(wheel, names):
    [meta] = [n for n in names if n.endswith(".dist-info/METADATA")]
    text = wheel.read(meta).decode()
    headers, _, description = text.partition("\n\n")
    fields = {}
    for line in headers.splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    check(fields.get("License-Expression") == ["GPL-3.0-or-later"], "License-Expression: GPL-3.0-or-later")
    check(fields.get("Requires-Python") == [">=3.10"], "Requires-Python: >=3.10")
    check(description.startswith("# emyzelium for Python"), "the description is emz-py/README.md")
    stale = [w for w in ("(planned)", "Tracked in issue") if w in description]
    check(not stale, f"the description says nothing stale ({stale or 'none found'})")
    check("pip install" in description and "maturin" in description, "the description says how to install")

    licenses = [n for n in names if re.search(r"\.dist-info/licenses/LICENSE$", n)]
    check(len(licenses) == 1, f"the licence is in .dist-info/licenses/ ({licenses})")
    if licenses:
        text = wheel.read(licenses[0]).decode()
        check("GNU GENERAL PUBLIC LICENSE" in text and "Version 3" in text, "... and it is the GPL version 3")


def check_extension(data, manylinux, max_mb):
    size_mb = len(data) / 1e6
    check(size_mb < max_mb, f"extension size {size_mb:.1f} MB < {max_mb} MB")
    elf = ELFFile(io.BytesIO(data))
    sections = [s.name for s in elf.iter_sections()]
    debug = [s for s in sections if s.startswith((".debug", ".zdebug"))]
    check(not debug, f"no debug sections ({debug or 'none'})")
    check(".symtab" not in sections, "no symbol table (stripped)")

    needed = []
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            needed += [t.needed for t in section.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
    print(f"      needs: {' '.join(needed)}")
    vendored = [n for n in needed if n.startswith(VENDORED_LIBS)]
    check(not vendored, f"libzmq and libsodium inside, not from the system ({vendored or 'none needed'})")
    if not manylinux:
        return
    cxx = [n for n in needed if n.startswith(CXX_RUNTIMES)]
    check(not cxx, f"no C++ runtime from the system ({cxx or 'none needed'})")
    foreign = [n for n in needed if n not in MANYLINUX_LIBS and not n.startswith("libpython")]
    check(not foreign, f"only libraries of the manylinux2014 list ({foreign or 'none else'})")

    versions = set()
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for _, auxes in section.iter_versions():
                versions |= {aux.name for aux in auxes}
    glibc = sorted((v for v in versions if v.startswith("GLIBC_")), key=lambda v: version_key(v[6:]))
    print(f"      glibc versions: {' '.join(glibc)}")
    newest = glibc[-1][6:] if glibc else "0"
    check(version_key(newest) <= version_key(manylinux), f"newest glibc symbol version {newest} <= {manylinux}")
    cxx_versions = sorted(v for v in versions if v.startswith(("GLIBCXX_", "CXXABI_")))
    check(not cxx_versions, f"no libstdc++ symbol versions ({cxx_versions or 'none'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel")
    parser.add_argument("--manylinux", metavar="GLIBC", help="the glibc version the wheel must run on, e.g. 2.17")
    parser.add_argument("--max-mb", type=float, default=6.0)
    args = parser.parse_args()

    check_name(args.wheel.rsplit("/", 1)[-1], args.manylinux)
    with zipfile.ZipFile(args.wheel) as wheel:
        names = wheel.namelist()
        check_metadata(wheel, names)
        extensions = [n for n in names if n.endswith(".so")]
        check(extensions == ["emyzelium/_emyzelium.abi3.so"], f"one extension, the abi3 one ({extensions})")
        for name in extensions:
            check_extension(wheel.read(name), args.manylinux, args.max_mb)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
