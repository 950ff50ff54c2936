#!/usr/bin/env python3
"""Whole-process comparison: `mlytiles render` against `gdal_rasterize` on the densest real tile.

    python3 benches/render_vs_gdal.py [MLYTILES_BINARY ...] [--runs N]

Builds nothing: give the binary (default target/release/mlytiles; `cargo build --release`
first), or several (say, before and after a change) to compare them in the same session.
Makes a temporary z/x/y store with fixtures/mapillary's densest tile, 14/3251/6257 (31,261
images, 331 sequences), and the two stored tiles beside it, then runs, N times each (default 11,
at least 7), each mlytiles binary right after a GDAL run (so every binary runs in the same
state, whatever its place in the list):

    mlytiles render --store STORE --tile 14/3251/6257 --size 512 --out OUT.png
    gdal_rasterize -q -l sequence -l image -burn 255 -ts 512 512 -te W S E N -ot Byte \
        -of GTiff STORE/14/3251/6257.mvt OUT.tif

with -te the tile's bounds in EPSG:3857. Each run is timed as a whole process (fork, exec,
dynamic loading, the work, exit): wall time, and CPU time (user + system) from the kernel's
accounting of the child. Prints the medians and their ratios, the programs' start alone
(`--version`), mlytiles' own phase times (its summary line), what 20x GDAL's time leaves for
a whole process, and the floor under it: empty Rust programs (built with rustc -O when rustc
is on PATH, linked dynamically and statically) timed right after GDAL runs, as mlytiles is;
the one linked as the last binary is stands for the floor. Checks that GDAL burnt
pixels (gdalinfo -stats), that every mlytiles run drew the tile's 331 lines and 31,261 dots
and wrote a valid 512 x 512 PNG, and whether several binaries wrote the same bytes. For each
binary it also says how it is linked: statically (no dynamic loader at its start) or
dynamically, position-independent or at a fixed address, and whether
its code is laid out by link/text-order.txt (how many of the functions listed there it has, and
how many of those lie side by side).

Python's standard library, binutils' readelf and nm (through link/text_order.py) to say how
each binary is linked, and gdal-bin's gdal_rasterize and gdalinfo.
"""

import importlib.util
import os
import re
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

TILE = (14, 3251, 6257)
# What mlytiles must report drawing there (its summary's second line), so a run that drew
# nothing (a store laid out wrong, a broken binary) cannot pass for a fast one.
DRAWN = "331 sequence lines, 31261 image points"
# The stored tiles beside it in fixtures/mapillary (the other six are not stored).
BESIDE = [(14, 3251, 6258), (14, 3252, 6258)]
SIZE = 512
HALF = 20037508.342789244  # half the Web Mercator world, metres


def repo():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bounds(z, x, y):
    """The tile's bounds in EPSG:3857: W, S, E, N."""
    side = 2 * HALF / (1 << z)
    return (-HALF + x * side, HALF - (y + 1) * side, -HALF + (x + 1) * side, HALF - y * side)


def timed(argv):
    """Runs argv as a whole process: (wall seconds, CPU seconds, stdout). The CPU time is the
    kernel's account of the reaped child (getrusage of the children, microseconds; os.times
    would round to clock ticks)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed ({proc.returncode}): {err.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.decode(errors="replace")


def check_png(path):
    """A valid PNG of SIZE x SIZE: signature, IHDR, and IDAT inflating to every row."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]:
            sys.exit(f"{path}: bad CRC in {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if ihdr is None:
        sys.exit(f"{path}: no IHDR chunk")
    w, h, depth, colour = ihdr
    if (w, h) != (SIZE, SIZE):
        sys.exit(f"{path}: {w} x {h}, expected {SIZE} x {SIZE}")
    channels = {3: 1, 6: 4}.get(colour)
    if channels is None or depth != 8:
        sys.exit(f"{path}: colour type {colour}, depth {depth}: expected 8-bit indexed or RGBA")
    rows = zlib.decompress(idat)
    if len(rows) != h * (1 + w * channels * depth // 8):
        sys.exit(f"{path}: image data of {len(rows)} bytes does not fill {w} x {h}")
    return w, h, "indexed" if colour == 3 else "RGBA"


def burnt_pixels(tif):
    """Pixels GDAL burnt (255) in its Byte GeoTIFF, from gdalinfo's statistics."""
    info = subprocess.run(
        ["gdalinfo", "-stats", tif], capture_output=True, text=True, check=True
    ).stdout
    if os.path.exists(tif + ".aux.xml"):
        os.remove(tif + ".aux.xml")
    size = re.search(r"Size is (\d+), (\d+)", info)
    mean = re.search(r"Mean=([0-9.]+)", info)
    if not (size and mean):
        sys.exit(f"gdalinfo could not read {tif}:\n{info}")
    w, h = int(size.group(1)), int(size.group(2))
    return (w, h), round(float(mean.group(1)) / 255 * w * h)


def empty_programs(tmp):
    """Rust programs that do nothing, built with `rustc -O` (as a release build would be),
    linked dynamically and as a static position-independent executable (as build.rs links
    mlytiles where it can), by link kind; empty without rustc: what any process costs here,
    from fork to exit."""
    rustc = shutil.which("rustc")
    if not rustc:
        print("(no rustc on PATH: the empty-program floor is left out)")
        return {}
    src = os.path.join(tmp, "empty.rs")
    with open(src, "w") as f:
        f.write("fn main() {}\n")
    programs = {}
    for kind, flags in (("dynamic", []), ("static", ["-C", "target-feature=+crt-static"])):
        exe = os.path.join(tmp, f"empty-{kind}")
        built = subprocess.run([rustc, "-O", *flags, "-o", exe, src], capture_output=True)
        if built.returncode == 0:
            programs[kind] = exe
    return programs


def text_order():
    """link/text_order.py, which reads how a binary is linked and laid out (readelf, nm)."""
    spec = importlib.util.spec_from_file_location(
        "text_order", os.path.join(repo(), "link/text_order.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def linking(link, path):
    """How the binary is linked and its code laid out, in words; `link` is text_order."""
    try:
        how, where = link.linked_as(path)
        return f"{how}, {where}; code order: {link.layout(path)}"
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no readelf or nm, or not a binary they read)"


def median_ms(values):
    return statistics.median(values) * 1000


def main():
    args = sys.argv[1:]
    runs = 11
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    if runs < 7:
        sys.exit("--runs: at least 7")
    binaries = args or [os.path.join(repo(), "target/release/mlytiles")]
    for binary in binaries:
        if not os.path.isfile(binary):
            sys.exit(f"{binary}: no such binary (cargo build --release)")
    for tool in ["gdal_rasterize", "gdalinfo"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} missing: apt-get install gdal-bin")

    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        for z, x, y in [TILE] + BESIDE:
            os.makedirs(os.path.join(store, str(z), str(x)), exist_ok=True)
            shutil.copy(
                os.path.join(repo(), f"fixtures/mapillary/josm_mly1_public_{z}_{x}_{y}.mvt"),
                os.path.join(store, str(z), str(x), f"{y}.mvt"),
            )
        z, x, y = TILE
        png, tif = os.path.join(tmp, "mlytiles.png"), os.path.join(tmp, "gdal.tif")

        def mly(binary):
            argv = [binary, "render", "--store", store, "--tile", f"{z}/{x}/{y}"]
            return argv + ["--size", str(SIZE), "--out", png]

        w, s, e, n = bounds(z, x, y)
        gdal = ["gdal_rasterize", "-q", "-l", "sequence", "-l", "image", "-burn", "255"]
        gdal += ["-ts", str(SIZE), str(SIZE), "-te", f"{w:.6f}", f"{s:.6f}", f"{e:.6f}"]
        gdal += [f"{n:.6f}", "-ot", "Byte", "-of", "GTiff"]
        gdal += [os.path.join(store, str(z), str(x), f"{y}.mvt"), tif]

        # One untimed run each (page cache, the binaries' pages), then alternate.
        for binary in binaries:
            timed(mly(binary))
        timed(gdal)
        times = {"gdal": [], "gdal_start": []}
        summaries = {}
        checked = {}
        images = {}
        for i in range(runs):
            # Each program writes a new file every run (the old one removed untimed). Every
            # mlytiles run comes right after a GDAL run, so each binary runs in the same
            # state (GDAL leaves the caches cold and the other core idle); with the binaries
            # one after another, the second and later ones ran warmer than the first.
            for b, binary in enumerate(binaries):
                if os.path.exists(tif):
                    os.remove(tif)
                wall, cpu, _ = timed(gdal)
                times["gdal"].append((wall, cpu))
                if os.path.exists(png):
                    os.remove(png)
                wall, cpu, out = timed(mly(binary))
                times.setdefault(b, []).append((wall, cpu))
                lines = out.splitlines()
                if len(lines) < 2 or not lines[1].strip().startswith(DRAWN):
                    sys.exit(f"{binary} did not draw the tile ({DRAWN} expected):\n{out}")
                summaries[b] = lines[0]
                checked[b] = check_png(png)
                with open(png, "rb") as f:
                    images.setdefault(b, f.read())
        for _ in range(runs):
            for b, binary in enumerate(binaries):
                times.setdefault(("start", b), []).append(timed([binary, "--version"])[:2])
            times["gdal_start"].append(timed(["gdal_rasterize", "--version"])[:2])
        # The floor: a Rust program that does nothing, each run right after a GDAL run as
        # mlytiles' runs are (GDAL leaves the caches cold).
        for kind, empty in empty_programs(tmp).items():
            for _ in range(runs):
                timed(gdal)
                times.setdefault(("empty", kind), []).append(timed([empty])[:2])

        (gw, gh), burnt = burnt_pixels(tif)
        if burnt == 0 or (gw, gh) != (SIZE, SIZE):
            sys.exit(f"GDAL burnt no pixel in {gw} x {gh}: wrong bounds or layers?")

    def med(key, i):
        return median_ms([t[i] for t in times[key]])

    link = text_order()
    print(f"densest tile {z}/{x}/{y} at {SIZE} px, {runs} alternating runs each, medians")
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    print(f"{'':40} {'wall ms':>8} {'CPU ms':>8}")
    rows = []
    for b, binary in enumerate(binaries):
        name = f"[{b + 1}] " if len(binaries) > 1 else ""
        rows.append((f"{name}mlytiles render (whole process)", b))
        rows.append((f"{name}mlytiles --version (start alone)", ("start", b)))
    rows.append(("gdal_rasterize (whole process)", "gdal"))
    rows.append(("gdal_rasterize --version", "gdal_start"))
    for kind in ("dynamic", "static"):
        if ("empty", kind) in times:
            rows.append((f"empty Rust program, {kind}, after GDAL", ("empty", kind)))
    for label, key in rows:
        print(f"{label:40} {med(key, 0):8.2f} {med(key, 1):8.2f}")
    for b, binary in enumerate(binaries):
        name = f"[{b + 1}] {binary}" if len(binaries) > 1 else binary
        spread = sorted(t[0] * 1000 for t in times[b])
        print(f"{name}:")
        print(
            f"  gdal / mlytiles: wall {med('gdal', 0) / med(b, 0):.1f}x, "
            f"CPU {med('gdal', 1) / med(b, 1):.1f}x; "
            f"wall min-max {spread[0]:.2f}-{spread[-1]:.2f} ms"
        )
        print(f"  its last summary: {summaries[b]}")
        print(f"  linked: {linking(link, binary)}")
        pw, ph, kind = checked[b]
        print(f"  checked: a valid {pw} x {ph} {kind} PNG")
    target = med("gdal", 0) / 20
    # The floor: an empty program linked as the last binary (the newest, by habit) is.
    try:
        kind = ("empty", link.linked_as(binaries[-1])[0])
    except (OSError, subprocess.CalledProcessError):
        kind = None
    floor = f", of which an empty process linked so takes {med(kind, 0):.2f}" if kind in times else ""
    print(f"20x gdal_rasterize: a whole process of {target:.2f} ms{floor}")
    if len(binaries) > 1:
        same = all(images[b] == images[0] for b in images)
        print(f"checked: the binaries' PNGs are {'the same bytes' if same else 'DIFFERENT'}")
    print(f"checked: GDAL burnt {burnt} pixels of {gw} x {gh}")


if __name__ == "__main__":
    main()
