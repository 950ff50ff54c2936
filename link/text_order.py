#!/usr/bin/env python3
"""Writes link/text-order.txt: the functions `mlytiles render --tile` runs, in the order it
first runs them, for the linker to lay out side by side at the start of the binary's code.

    python3 link/text_order.py [MLYTILES_BINARY]

Linux on x86-64 only; needs a C compiler (`cc`), `readelf` and `nm` (binutils), and ptrace
(allowed for one's own children by default). Builds nothing: give the release binary (default
target/release/mlytiles; `cargo build --release` first).

How: compiles link/step.c, which runs the binary instruction by instruction (every thread)
with address-space randomisation off and notes each instruction address it executes in the
binary's code; the render is the one benches/render_vs_gdal.py times (the densest tile of
fixtures/mapillary and the two stored beside it, from a temporary z/x/y folder, at 512 px).
Each address is then named by the function holding it (the binary's symbol table), and the
functions are written once each, in the order first met. Stepping takes two to three minutes.

Why: a process maps its code a page at a time as it first runs it, and the kernel maps the
pages around each one too (64 KiB); the functions one render runs lay scattered over 9 MB of
code, so a render mapped some 3 MB of it, each page again unmapped at the exit. Laid side by
side, they take about 0.6 MB: fewer faults and pages (build.rs says what was measured).

Symbol names carry hashes of their crate and signature, not of their code: the list stays
good as the code changes, but functions added or renamed since it was written are laid out
anywhere (the linker skips names it does not find). Run this again after such changes to the
render's path, and commit the list.
"""

import bisect
import os
import shutil
import subprocess
import sys
import tempfile

TILE = (14, 3251, 6257)
STORED = [(14, 3251, 6257), (14, 3251, 6258), (14, 3252, 6258)]


def repo():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readelf(binary, *flags):
    return subprocess.run(
        ["readelf", "-W", *flags, binary], check=True, capture_output=True, text=True
    ).stdout


def program_headers(binary):
    """The binary's program headers, each as readelf -l prints its fields (type first)."""
    return [f for f in (line.split() for line in readelf(binary, "-l").splitlines())
            if f and f[0].isupper() and f[0] != "Type" and len(f) >= 8]


def code_segment(binary):
    """The virtual addresses of the binary's first LOAD segment (which maps the file from its
    start) and of its executable one, and the executable one's size."""
    loads = [f for f in program_headers(binary) if f[0] == "LOAD"]
    for f in loads:
        if "E" in f[6:-1]:
            return int(loads[0][2], 16), int(f[2], 16), int(f[5], 16)
    sys.exit(f"{binary}: no executable LOAD segment")


def linked_as(binary):
    """How the binary is linked: ("static" or "dynamic", "position-independent" or "fixed
    address"). Static: no program interpreter, so no dynamic loader runs at its start;
    position-independent: relocated at each start (see build.rs)."""
    how = "dynamic" if any(f[0] == "INTERP" for f in program_headers(binary)) else "static"
    pie = " DYN " in next(
        (line + " " for line in readelf(binary, "-h").splitlines() if "Type:" in line), ""
    )
    return how, "position-independent" if pie else "fixed address"


def functions(binary):
    """(address, name) of the binary's defined code symbols, by address."""
    out = subprocess.run(
        ["nm", "-n", "--defined-only", binary], check=True, capture_output=True, text=True
    ).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2]))
    return sorted(syms)


def sizes(syms):
    """Each function's size: up to the next symbol (the last one's, 0)."""
    return {n: (syms[i + 1][0] - a if i + 1 < len(syms) else 0) for i, (a, n) in enumerate(syms)}


def listed():
    """The function names of link/text-order.txt, in its order."""
    with open(os.path.join(repo(), "link/text-order.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def layout(binary):
    """Whether `binary`'s code is laid out by link/text-order.txt: how many of the functions
    listed there it has (names missing are functions renamed or gone since the list was
    written) and how many of those lie side by side (the most found in any stretch of code a
    quarter longer than their own size; in the linker's own order they spread over the whole
    code)."""
    syms = functions(binary)
    size = sizes(syms)
    at = {n: a for a, n in syms}
    names = listed()
    found = [n for n in names if n in at]
    if not found:
        return f"none of the {len(names)} functions of link/text-order.txt are in it"
    own = sum(size[n] for n in found)
    starts = sorted(at[n] for n in found)
    together, lo = 0, 0
    for hi, a in enumerate(starts):
        while a - starts[lo] > own * 1.25:
            lo += 1
        together = max(together, hi - lo + 1)
    return (
        f"{len(found)} of the {len(names)} functions of link/text-order.txt "
        f"({own / 1e6:.2f} MB), {together} of them side by side"
    )


def main():
    args = sys.argv[1:]
    binary = os.path.abspath(args[0] if args else os.path.join(repo(), "target/release/mlytiles"))
    if not os.path.isfile(binary):
        sys.exit(f"{binary} is missing: cargo build --release first")
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        sys.exit("link/text_order.py steps x86-64 Linux programs only")
    first, vaddr, code = code_segment(binary)
    # As linked: step.c finds where the binary was loaded.
    lo, hi = vaddr, vaddr + code
    with tempfile.TemporaryDirectory() as tmp:
        step = os.path.join(tmp, "step")
        subprocess.run(
            ["cc", "-O2", "-o", step, os.path.join(repo(), "link/step.c")], check=True
        )
        store = os.path.join(tmp, "store")
        for z, x, y in STORED:
            os.makedirs(os.path.join(store, str(z), str(x)), exist_ok=True)
            shutil.copy(
                os.path.join(repo(), f"fixtures/mapillary/josm_mly1_public_{z}_{x}_{y}.mvt"),
                os.path.join(store, str(z), str(x), f"{y}.mvt"),
            )
        addresses = os.path.join(tmp, "addresses")
        run = [binary, "render", "--store", store, "--tile", "/".join(map(str, TILE))]
        run += ["--size", "512", "--out", os.path.join(tmp, "out.png")]
        print(f"stepping {' '.join(run)} (a few minutes)", file=sys.stderr)
        subprocess.run(
            [step, f"{first:x}", f"{lo:x}", f"{hi:x}"] + run,
            check=True,
            env=dict(os.environ, STEP_OUT=addresses),
            stdout=subprocess.DEVNULL,
        )
        offsets = [int(line, 16) for line in open(addresses)]
    if not offsets:
        # The old list stays: an empty one would undo the layout.
        sys.exit(f"no instruction of {binary}'s code was stepped: link/text-order.txt is unchanged")
    syms = functions(binary)
    starts = [a for a, _ in syms]
    order, seen = [], set()
    for off in offsets:
        i = bisect.bisect_right(starts, vaddr + off) - 1
        if i >= 0 and syms[i][1] not in seen:
            seen.add(syms[i][1])
            order.append(syms[i][1])
    size = sizes(syms)
    laid = sum(size[n] for n in order)
    text = (
        "# The functions `mlytiles render --tile` runs, in the order first run, for the\n"
        "# linker's --symbol-ordering-file (build.rs). Written by link/text_order.py:\n"
        f"# {len(order)} functions, {laid / 1e6:.2f} MB of the {code / 1e6:.2f} MB of code,\n"
        f"# {len(offsets)} distinct instructions run.\n"
    ) + "".join(name + "\n" for name in order)
    # Written whole, then renamed over the list: a failure leaves the old list as it was.
    path = os.path.join(repo(), "link/text-order.txt")
    with open(path + ".part", "w") as f:
        f.write(text)
    os.replace(path + ".part", path)
    print(
        f"wrote {path}: {len(order)} functions ({laid / 1e6:.2f} MB of {code / 1e6:.2f} MB of code)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
