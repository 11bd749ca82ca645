"""Other people's published GPU timings as curves, beside lnorm's own rows on the same axes.

    curves = published_curves(["layer"], mode="forward", gpus_shown=["NVIDIA H100 80GB HBM3"])
    mine = report_curves(shipped_sources(), ["layer"])     # lnorm's rows, drawn beside, never merged
    source_rows()        # who measured what, with the address and licence of each file

A Curve is one line of GB/s (and % of peak) against elements. Its `origin` says whose it is:
"published" (lnorm_core.timing.load_published: Liger-Kernel's and QuACK's files, never measured
by lnorm), or the name of one of lnorm's own reports ("recorded", "your run", "uploaded"). The
two are never merged into one number here: no ratio of a published time to an lnorm time is
formed. % of peak is against each GPU's datasheet bandwidth; a CPU has none in the reports, so a
CPU curve's share is of its own measured copy at the same size, and says so in `share_of`.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

from lnorm_core import CLASS_NAMES, InputError, timing

from .sources import ACCELERATORS, rows_by_size
from .words import shape_text, short_device, short_dtype, time_text

ORIGIN_PUBLISHED = "published"
# What each provider of the published file is, in a legend ("huggingface" is plain PyTorch, eager).
KERNEL_LABELS = {
    "huggingface": None,  # the implementation column says what (torch.nn.LayerNorm, LlamaRMSNorm, ...)
    "torch": None,
    "megatron": "megatron-core → torch.nn.RMSNorm",
    "torchcompile": "torch.compile",
    "torch.compile (PyTorch 2.7.1)": "torch.compile (PyTorch 2.7.1)",
    "liger": "Liger (Triton)",
    "liger_triton": "Liger (Triton)",
    "liger_cutile": "Liger (cuTile)",
    "Liger Kernel v0.5.10": "Liger 0.5.10 (Triton)",
    "QuACK (CuTe DSL)": "QuACK (CuTe DSL)",
    "cuDNN v9.10.1": "cuDNN 9.10",
}
# Short names of the source files, for legends; the table of sources gives each address and licence.
SOURCE_SHORT = {
    "Liger-Kernel all_benchmark_data.csv (main)": "Liger-Kernel benchmarks",
    "Liger-Kernel h100_all_benchmark_data.csv (branch byhsu/mlsys-benchmark)": "Liger-Kernel mlsys branch",
    "Liger-Kernel a100_all_benchmark_data.csv (branch byhsu/mlsys-benchmark)": "Liger-Kernel mlsys branch",
    "Liger-Kernel all_benchmark_data_cutile.csv (main)": "Liger-Kernel cuTile benchmarks",
    "Dao-AILab/quack README figure (SVG path coordinates)": "QuACK README figure",
}
# the three kinds of kernel people publish: plain PyTorch run eagerly, torch.compile, hand-written fast kernels
CLASS_WORDS = {"pytorch": "PyTorch eager", "compiled": "torch.compile", "fast kernel": "fast kernel"}


@dataclass(frozen=True)
class Curve:
    """One line on the GPU figures: GB/s and % of peak against elements, with whose numbers they are.

    origin: "published", or the lnorm report's name ("recorded", "your run", "uploaded").
    device: the GPU's (or CPU's) name; kernel: what ran, in words; impl_class: "pytorch",
    "compiled", "fast kernel", or "lnorm <impl>" for lnorm's rows. source, source_url,
    license: the file the numbers come from (for lnorm's rows: the report's label, no URL).
    pct: GB/s as a share of `share_of`, in percent (None where there is nothing to hold it to).
    """

    origin: str
    kind: str
    device: str
    device_type: str
    kernel: str
    impl_class: str
    dtype: str
    mode: str
    sizes: tuple
    shapes: tuple
    times: tuple
    gbps: tuple
    pct: tuple
    share_of: str
    peak_gbps: float | None
    source: str
    source_url: str | None
    license: str | None
    latency_bound: bool

    @property
    def label(self):
        """The legend entry: 'LayerNorm · torch.nn.LayerNorm (eager) · bf16'."""
        return f"{CLASS_NAMES.get(self.kind, self.kind)} · {self.kernel} · {short_dtype(self.dtype)}"


@functools.lru_cache(maxsize=4)
def _load(path, mtime_ns, size):
    """The published rows, read and validated once per version of the file."""
    return timing.load_published(path)


def published_rows(path=None):
    """lnorm_core.timing.load_published() of the shipped file (or `path`), cached on the file's version."""
    return _load(*_version(path))


def _version(path=None):
    """(path, mtime_ns, size) of the published file: what its rows, and every answer read off them, are kept on."""
    path = Path(path or timing.PUBLISHED_PATH)
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


def published_series(kind, dtype=None, mode=None, rows=None):
    """timing.find_series(rows, kind=kind, dtype=dtype, mode=mode); of the shipped file (rows None) kept for its
    version: each filters and sorts every published row, several times a rerun of the Timing page."""
    if rows is not None:
        return timing.find_series(rows, kind=kind, dtype=dtype, mode=mode)
    return _shipped_series(kind, dtype, mode, *_version())


@functools.lru_cache(maxsize=64)
def _shipped_series(kind, dtype, mode, path, mtime_ns, size):
    return timing.find_series(_load(path, mtime_ns, size), kind=kind, dtype=dtype, mode=mode)


def kernel_label(key):
    """What ran, in a few words: 'torch.nn.LayerNorm (eager)', 'Liger (Triton)', 'QuACK (CuTe DSL)'."""
    label = KERNEL_LABELS.get(key.provider)
    if label is None:
        label = key.implementation
        if key.provider == "huggingface" and key.kind == "rms":
            label = "HF LlamaRMSNorm, eager Python (fp32 upcast)"
    return label


def gpus(rows=None):
    """{GPU name: datasheet GB/s} of the published rows, in the file's order."""
    return dict(_gpus(rows) if rows is not None else _shipped_gpus(*_version()))


@functools.lru_cache(maxsize=4)
def _shipped_gpus(path, mtime_ns, size):
    return tuple(_gpus(_load(path, mtime_ns, size)).items())


def _gpus(rows):
    out = {}
    for m in rows:
        out.setdefault(m.gpu, m.peak_gbps)
    return out


def published_curves(kinds, mode="forward", gpus_shown=None, rows=None):
    """A Curve per published series of `kinds` in `mode` on the GPUs shown (None: all).

    Every point is a published measurement: its time, and lnorm's recomputed GB/s and % of
    the GPU's datasheet peak (lnorm_core.timing). Sorted as find_series sorts them.
    """
    if rows is None:  # the shipped file: the same Curves for the same choices, kept for its version
        return list(_shipped_curves(tuple(kinds), mode, None if gpus_shown is None else tuple(gpus_shown),
                                    *_version()))
    return _curves(kinds, mode, gpus_shown, rows)


@functools.lru_cache(maxsize=64)
def _shipped_curves(kinds, mode, gpus_shown, path, mtime_ns, size):
    return tuple(_curves(kinds, mode, gpus_shown, _load(path, mtime_ns, size)))


def _curves(kinds, mode, gpus_shown, rows):
    out = []
    for kind in kinds:
        for s in published_series(kind, mode=mode, rows=rows):
            k = s.key
            if gpus_shown is not None and k.gpu not in gpus_shown:
                continue
            p0 = s.points[0]
            out.append(Curve(
                origin=ORIGIN_PUBLISHED, kind=kind, device=k.gpu, device_type="cuda", kernel=kernel_label(k),
                impl_class=k.impl_class, dtype=k.dtype, mode=k.mode,
                sizes=tuple(m.numel for m in s.points), shapes=tuple(shape_text(m.input_shape) for m in s.points),
                times=tuple(m.time_s for m in s.points), gbps=tuple(m.gbps for m in s.points),
                pct=tuple(m.pct_of_peak for m in s.points), share_of=f"its datasheet {p0.peak_gbps:g} GB/s",
                peak_gbps=p0.peak_gbps, source=k.source, source_url=p0.source_url, license=p0.license,
                latency_bound=any(m.latency_bound for m in s.points)))
    return out


def report_curves(sources, kinds, impls=("native",)):
    """A Curve per (report, device, kind, impl) of lnorm's own reports: forward passes, every dtype.

    GPU rows (an uploaded CUDA report) are held against the GPU's datasheet peak where the
    report knows it; CPU rows against their own copy at the same size (no CPU datasheet here).
    """
    out = []
    for src in sources:
        report = src.report
        infos = {i.get("type"): i for i in report.get("devices") or [report["device"]]}
        groups = rows_by_size(report, lambda r: r["kind"] in kinds and r["impl"] in impls)
        for (device, kind, impl, dtype), by_size in groups.items():
            rows = list(by_size.values())
            info = infos.get(device, report["device"])
            peak = info.get("datasheet_gbps") or (report.get("datasheet_gbps") if device == report["device"]["type"]
                                                  else None)
            if device in ACCELERATORS and peak:
                pct, share = tuple(100 * r["gbps"] / peak for r in rows), f"its datasheet {peak:g} GB/s"
            else:
                pct = tuple(None if r.get("ceiling_fraction") is None else 100 * r["ceiling_fraction"] for r in rows)
                share, peak = "its own copy (measured, same size)", None
            out.append(Curve(
                origin=src.name, kind=kind, device=info.get("name", device), device_type=device,
                kernel=f"torch {impl}" if impl == "native" else f"lnorm {impl}", impl_class=f"lnorm {impl}",
                dtype=dtype, mode="forward", sizes=tuple(r["numel"] for r in rows),
                shapes=tuple(shape_text(r["shape"]) for r in rows), times=tuple(r["median_s"] for r in rows),
                gbps=tuple(r["gbps"] for r in rows), pct=pct, share_of=share, peak_gbps=peak,
                source=f"lnorm, {src.name}: {src.label}", source_url=None, license=None, latency_bound=False))
    return out


def source_rows(rows=None):
    """One row per published source file: what it holds, its address at a commit, and its licence."""
    out = {}
    for m in rows if rows is not None else published_rows():
        r = out.setdefault(m.source, {"source": m.source, "address": m.source_url, "licence": m.license,
                                      "GPUs": [], "layers": [], "measurements": 0})
        if m.gpu not in r["GPUs"]:
            r["GPUs"].append(m.gpu)
        if CLASS_NAMES[m.kind] not in r["layers"]:
            r["layers"].append(CLASS_NAMES[m.kind])
        r["measurements"] += 1
    return [dict(r, GPUs=", ".join(r["GPUs"]), layers=", ".join(r["layers"])) for r in out.values()]


@dataclass(frozen=True)
class Quote:
    """One curve's number at its largest size, for a sentence: who, where, what, how fast."""

    curve: Curve
    size: int
    shape: str
    time_s: float
    gbps: float
    pct: float | None


def quote(curve):
    """The Quote of a curve at its largest measured size (the one most surely past the caches)."""
    i = len(curve.sizes) - 1
    return Quote(curve, curve.sizes[i], curve.shapes[i], curve.times[i], curve.gbps[i], curve.pct[i])


def torch_quotes(kinds, mode="forward", gpus_shown=None, rows=None):
    """For each kind, PyTorch's own module (torch.nn.*) on the first GPU shown that has one: its Quote, or none."""
    out = []
    for kind in kinds:
        mine = [c for c in published_curves([kind], mode, gpus_shown, rows)  # torch.nn's own module, not a copy
                if c.impl_class == "pytorch" and c.kernel.startswith("torch.nn.") and not c.latency_bound]
        if mine:
            order = list(gpus_shown) if gpus_shown else list(gpus(rows))
            mine.sort(key=lambda c: order.index(c.device) if c.device in order else len(order))
            out.append(quote(mine[0]))
    return out


def cpu_quotes(sources, kinds):
    """For each kind, torch's kernel in lnorm's first report with CPU rows of it: its Quote at the largest size."""
    out = []
    for kind in kinds:
        mine = [c for c in report_curves(sources, [kind]) if c.device_type == "cpu"]
        if mine:
            out.append(quote(mine[0]))
    return out


def quote_rows(quotes):
    """Quotes as table rows: the layer, the device, whose number it is, the tensor, time, GB/s, share, address."""
    out = []
    for q in quotes:
        c = q.curve
        published_by = SOURCE_SHORT.get(c.source, c.source) if c.origin == ORIGIN_PUBLISHED else None
        out.append({
            "layer": CLASS_NAMES.get(c.kind, c.kind),
            "device": short_device(c.device) + (" (CPU)" if c.device_type == "cpu" else ""),
            "whose": f"published: {published_by}" if published_by else f"lnorm: {c.origin}",
            "kernel": c.kernel,
            "tensor": f"{q.shape} {short_dtype(c.dtype)}",
            "time": time_text(q.time_s),
            "GB/s": round(q.gbps, 1),
            "share of peak": None if q.pct is None else f"{q.pct:.0f}% of {c.share_of}",
            "address": c.source_url,
        })
    return out


def check_gpus(names, rows=None):
    """The GPU names a person chose, refusing any the published file does not hold."""
    known = gpus(rows)
    for n in names:
        if n not in known:
            raise InputError(f"no published measurements on {n!r}; the file holds {', '.join(known)}")
    return list(names)


def published_kinds(rows=None):
    """The kinds the published file has measurements of, in timing.KINDS order."""
    found = {m.kind for m in (rows if rows is not None else published_rows())}
    return [k for k in timing.KINDS if k in found]
