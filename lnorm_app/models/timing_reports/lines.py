"""lnorm's own reports as plot-ready lines: time and GB/s against size, the copy ceiling, GPU against CPU.

    lines = series(sources, kinds=["layer", "rms"], dtype="float32", metric="median_s")
    ups = speedups(sources, kind="layer", dtype="float32")   # each with its crossover size

Nothing here measures anything: the numbers in a line are the report's own, grouped and sorted by
size. Other people's GPU measurements are never mixed in here (see published.py).
"""

import math
from dataclasses import dataclass

from lnorm_core import CLASS_NAMES, InputError, timing

from .sources import ACCELERATORS, rows_by_size
from .words import size_text

METRICS = ("median_s", "gbps", "ceiling_fraction")


@dataclass(frozen=True)
class Series:
    """One line of a figure: the report's `metric` for one (source, device, kind, impl, dtype), by size.

    sizes: elements per tensor, ascending; values: the rows' own numbers (None where a
    row lacks them); shapes: the shape timed at each size; fractions: ceiling_fraction;
    lows, highs: the fastest and slowest repeat in the same metric (None where a row
    has no repeats_s, or fewer than two).
    """

    source: str
    device: str
    kind: str
    impl: str
    dtype: str
    metric: str
    sizes: tuple
    values: tuple
    shapes: tuple
    fractions: tuple
    lows: tuple = ()
    highs: tuple = ()


@dataclass(frozen=True)
class Ceiling:
    """A device's copy ceiling in one source: gbps (the copy at the largest size), datasheet_gbps or None."""

    source: str
    device: str
    name: str
    gbps: float
    datasheet_gbps: float | None


@dataclass(frozen=True)
class Speedup:
    """GPU against CPU for one implementation: cpu_s / gpu_s at the sizes both measured.

    crossover: the smallest size from which the GPU is faster at every larger size too
    (None where the GPU is not faster at the largest size). The CPU times come from the
    GPU's own report where it has them (cpu_source == gpu_source), else from another source.
    """

    gpu_source: str
    cpu_source: str
    device: str
    kind: str
    impl: str
    dtype: str
    sizes: tuple
    cpu_s: tuple
    gpu_s: tuple
    ratio: tuple
    crossover: int | None


@dataclass(frozen=True)
class Headline:
    """The largest size of one line: its size and shape, GB/s, the copy's GB/s there and the fraction."""

    source: str
    device: str
    kind: str
    impl: str
    size: int
    shape: str
    gbps: float
    copy_gbps: float | None
    fraction: float | None


def _as_kinds(kinds):
    """One kind or several as a tuple, refusing unknown ones."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for k in kinds:
        if k not in timing.KINDS:
            raise InputError(f"unknown kind {k!r}; choose among {', '.join(timing.KINDS)}")
    return kinds


def _repeat_range(row, metric):
    """(fastest, slowest) repeat of a row in `metric` (GB/s and fractions scale as 1 / time), or (None, None)."""
    reps = row.get("repeats_s") or []
    value = row.get(metric)
    if len(reps) < 2 or value is None:
        return None, None
    if metric == "median_s":
        return min(reps), max(reps)
    scaled = [value * row["median_s"] / t for t in reps]  # GB/s at each repeat's time
    return min(scaled), max(scaled)


def series(sources, kinds, dtype="float32", metric="median_s", impls=None):
    """One Series per (source, device, kind, impl) for `kinds` (one or several) in `dtype`, plus each device's copy.

    metric: "median_s", "gbps" or "ceiling_fraction", taken from the rows as they are.
    impls: the implementations kept (None: all); the copy is always kept, host-to-device rows
    never. Order: sources as given, devices in order of appearance, kinds in the order given,
    implementations in timing.IMPLS order, copy last.
    """
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    kinds = _as_kinds(kinds)
    order = {impl: i for i, impl in enumerate(timing.IMPLS + ("copy",))}
    kind_order = {k: i for i, k in enumerate(kinds + ("copy",))}

    def keep(r):
        if r["dtype"] != dtype or r["impl"] == "h2d":
            return False
        return r["impl"] == "copy" or (r["kind"] in kinds and (impls is None or r["impl"] in impls))

    out = []
    for source in sources:
        groups = rows_by_size(source.report, keep)
        devices = list(dict.fromkeys(d for d, _, _, _ in groups))
        for device, kind, impl, _ in sorted(groups, key=lambda k: (devices.index(k[0]), kind_order.get(k[1], 99),
                                                                    order.get(k[2], 99))):
            rows = list(groups[(device, kind, impl, dtype)].values())
            ranges = [_repeat_range(r, metric) for r in rows]
            out.append(Series(
                source=source.name, device=device, kind=kind, impl=impl, dtype=dtype,
                metric=metric, sizes=tuple(r["numel"] for r in rows), values=tuple(r.get(metric) for r in rows),
                shapes=tuple(str(tuple(r["shape"])) for r in rows),
                fractions=tuple(r.get("ceiling_fraction") for r in rows),
                lows=tuple(lo for lo, _ in ranges), highs=tuple(hi for _, hi in ranges)))
    return out


def ceilings(sources, dtype="float32"):
    """The copy ceiling of each (source, device) that has rows in `dtype`, as the report states it.

    gbps: the device's ceiling_gbps (the copy at the largest size measured; the report's
    top-level ceiling_gbps for its main device); datasheet_gbps where the report knows it.
    """
    out = []
    for source in sources:
        report = source.report
        measured = {r["device"] for r in report["results"] if r["dtype"] == dtype}
        infos = report.get("devices") or [dict(report["device"], ceiling_gbps=report["ceiling_gbps"],
                                               datasheet_gbps=report.get("datasheet_gbps"))]
        for info in infos:
            device = info.get("type")
            gbps = info.get("ceiling_gbps")
            if device == report["device"]["type"]:  # the main device: the report's own top-level numbers
                gbps = report["ceiling_gbps"]
                info = dict(info, datasheet_gbps=report.get("datasheet_gbps", info.get("datasheet_gbps")))
            if device in measured and gbps is not None:
                out.append(Ceiling(source.name, device, info.get("name", device), float(gbps),
                                   info.get("datasheet_gbps")))
    return out


def crossover(sizes, cpu_s, gpu_s):
    """The smallest size from which the GPU is faster (gpu_s < cpu_s) at it and every larger size.

    sizes ascending, with the two devices' times at each; None where the GPU is not
    faster at the largest size. crossover((1, 2, 3, 4), (1, 2, 4, 8), (3, 3, 3, 3)) == 3.
    """
    found = None
    for n, c, g in reversed(list(zip(sizes, cpu_s, gpu_s))):
        if not g < c:
            break
        found = n
    return found


def _by_size(s):
    return {n: v for n, v in zip(s.sizes, s.values) if v is not None}


def speedups(sources, kind, dtype="float32"):
    """GPU/CPU speedup of each accelerator line (source, device, impl) of `kind` in `dtype`.

    The CPU times come from the same source where it has CPU rows of that impl, else from
    the first other source that has them (the page's run before a recording). A line
    with no CPU counterpart at a common size is left out.
    """
    lines = series(sources, kind, dtype, "median_s")
    cpu = [s for s in lines if s.device == "cpu" and s.impl != "copy"]
    out = []
    for g in lines:
        if g.device not in ACCELERATORS or g.impl == "copy":
            continue
        same = [c for c in cpu if c.impl == g.impl and c.source == g.source]
        other = [c for c in cpu if c.impl == g.impl and c.source != g.source]
        for c in same + other:
            gt, ct = _by_size(g), _by_size(c)
            common = sorted(set(gt) & set(ct))
            if not common:
                continue
            cpu_s = tuple(ct[n] for n in common)
            gpu_s = tuple(gt[n] for n in common)
            out.append(Speedup(
                gpu_source=g.source, cpu_source=c.source, device=g.device, kind=kind, impl=g.impl, dtype=dtype,
                sizes=tuple(common), cpu_s=cpu_s, gpu_s=gpu_s, ratio=tuple(a / b for a, b in zip(cpu_s, gpu_s)),
                crossover=crossover(common, cpu_s, gpu_s)))
            break
    return out


def crossover_text(s):
    """One sentence on where the GPU overtakes the CPU for a Speedup."""
    what = f"{s.impl} {CLASS_NAMES.get(s.kind, s.kind)} ({s.dtype})"
    cpu = "" if s.cpu_source == s.gpu_source else f", CPU times from {s.cpu_source}"
    if s.crossover is None:
        return (f"{what} on {s.device}: the CPU is as fast or faster at the largest size measured, "
                f"{size_text(s.sizes[-1])} elements{cpu}.")
    if s.crossover == s.sizes[0]:
        return f"{what} on {s.device}: the GPU is faster at every size measured, from {size_text(s.sizes[0])}{cpu}."
    return f"{what} on {s.device}: the GPU is faster from {size_text(s.crossover)} elements on{cpu}."


def headline(source, kind="layer", impl="native", device=None, dtype="float32"):
    """The Headline of (kind, impl) at the largest size in a source, or None where it has no such rows.

    device None: the GPU where the source has one, else the CPU.
    """
    lines = [s for s in series([source], kind, dtype, "gbps") if device in (None, s.device)]
    mine = sorted((s for s in lines if s.impl == impl), key=lambda s: s.device not in ACCELERATORS)
    line = mine[0] if mine else None
    if line is None or not line.sizes:
        return None
    copy = next((s for s in lines if s.impl == "copy" and s.device == line.device), None)
    copy_gbps = dict(zip(copy.sizes, copy.values)).get(line.sizes[-1]) if copy else None
    return Headline(source.name, line.device, kind, impl, line.sizes[-1], line.shapes[-1], line.values[-1],
                    copy_gbps, line.fractions[-1])


def first_headline(sources, kind="layer", impl="native"):
    """The Headline to show first: a GPU line where a source has one, else the first source's CPU line."""
    found = [h for h in (headline(s, kind, impl) for s in sources) if h is not None]
    return next((h for h in found if h.device in ACCELERATORS), found[0] if found else None)


def table(sources, kinds=None):
    """The rows of the sources as a table: one dict per result row (h2d included), for a dataframe."""
    out = []
    for source in sources:
        for r in source.report["results"]:
            if kinds is not None and r["kind"] not in kinds and r["kind"] != "copy":
                continue
            frac = r.get("ceiling_fraction")
            out.append({
                "source": source.name, "device": r["device"], "layer": CLASS_NAMES.get(r["kind"], r["kind"]),
                "impl": r["impl"], "elements": r["numel"], "shape": str(tuple(r["shape"])), "dtype": r["dtype"],
                "median µs": r["median_s"] * 1e6, "spread %": r["spread"] * 100, "GB/s": r["gbps"],
                "% of copy": None if frac is None or not math.isfinite(frac) else frac * 100,
            })
    return out
