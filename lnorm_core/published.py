"""Published GPU timings of normalization kernels: other people's figures, never lnorm's own.

Over 400 lines on purpose: most of it is the validation of a foreign file, row by row and column by
column, which belongs beside the schema it checks.

    from lnorm_core import published
    rows = published.load_published()                 # data/gpu/gpu_norm_measurements.csv, validated
    for s in published.find_series(rows, kind="layer", dtype="float32", mode="forward"):
        print(s.key.gpu, s.key.implementation, [(p.numel, p.time_s, p.gbps) for p in s.points])
    est = published.interpolate_time(s.points, 2**23)   # None outside the measured sizes
    floor = published.roofline_time(published.bytes_moved(2**23, 4, "forward"), rows[0].peak_gbps)

The rows come from Liger-Kernel's and QuACK's public benchmark files (data/gpu/README.md names
each source, its commit and its licence). lnorm did not measure them and has no GPU: every
Measurement carries its source, address and licence so a figure can say whose number it is, and
nothing here mixes them with the timings lnorm records itself (lnorm_core.timing).

lnorm takes from each row only the time (and the size, dtype, GPU and mode it was taken at) and
recomputes everything derived from it the same way for every source: the bytes an ideal kernel
moves (`bytes_moved`), the bandwidth, and its share of the GPU's datasheet peak. The file's own
implied-bandwidth columns are never read.

Only the standard library is imported (numbers are few: plain floats do), so a notebook can use
this module without torch, Streamlit or plotly.
"""

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "gpu" / "gpu_norm_measurements.csv"

MAX_PUBLISHED_BYTES = 2_000_000  # load_published: the largest CSV text accepted (the shipped file is ~260 KB)
MAX_PUBLISHED_ROWS = 5_000

# The source's name for a layer -> lnorm's kind (lnorm_core.spec.KINDS).
KIND_OF_NORM = {"layer_norm": "layer", "rms_norm": "rms", "megatron_rms_norm": "rms", "group_norm": "group"}
MODES = ("forward", "backward", "full")
METRIC_UNITS = {"speed": "ms", "bandwidth": "GB/s", "memory": "MB"}  # metric -> the one unit it may have
# torch's dtype name -> (lnorm's name, bytes per element)
DTYPES = {"torch.float32": ("float32", 4), "torch.bfloat16": ("bfloat16", 2), "torch.float16": ("float16", 2)}
ITEMSIZE = {name: size for name, size in DTYPES.values()}

IMPL_CLASSES = ("pytorch", "compiled", "fast kernel")  # the order a page lists them in
# provider -> implementation class. "huggingface" in the Liger files is plain PyTorch run eagerly
# (torch.nn.LayerNorm, torch.nn.GroupNorm, the eager LlamaRMSNorm); so are "torch" and "megatron"
# (megatron-core's WrappedTorchNorm is torch.nn.RMSNorm). A provider not listed is refused rather
# than guessed.
IMPL_CLASS_OF_PROVIDER = {
    "huggingface": "pytorch",
    "torch": "pytorch",
    "megatron": "pytorch",
    "torchcompile": "compiled",
    "torch.compile (PyTorch 2.7.1)": "compiled",
    "liger": "fast kernel",
    "liger_triton": "fast kernel",
    "liger_cutile": "fast kernel",
    "Liger Kernel v0.5.10": "fast kernel",
    "QuACK (CuTe DSL)": "fast kernel",
    "cuDNN v9.10.1": "fast kernel",
}

# Bytes an ideal kernel moves, in units of numel * itemsize (see bytes_moved).
PASSES = {"forward": 2, "backward": 3, "full": 5}

REQUIRED_COLUMNS = (
    "source", "source_url", "license", "norm", "provider", "implementation", "mode", "metric", "unit",
    "x_name", "x_value", "y_p50", "y_p20", "y_p80", "input_shape", "numel", "dtype", "gpu_name",
    "peak_GBps_spec", "timestamp", "software_version", "notes",
)
_NON_EMPTY = ("source", "source_url", "license", "norm", "provider", "implementation", "gpu_name")
# A source file at a fixed commit: https://github.com/<owner>/<repo>/blob/<40 hex>/<path>
_PINNED_URL = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/\S+")
_LATENCY_NOTE = "latency-bound"  # a row whose notes say this is kept, and marked latency_bound


@dataclass(frozen=True)
class Measurement:
    """One published timing, with lnorm's recomputed bandwidth. Times in seconds, sizes in elements.

    kind:         lnorm's kind ("layer", "rms", "group"); norm is the source's own name for it.
    impl_class:   "pytorch" (torch run eagerly), "compiled" (torch.compile) or "fast kernel"
                  (Liger, QuACK, cuDNN); provider and implementation are as the source gives them.
    time_s:       the median time; time_s_p20 / time_s_p80 the source's 20th / 80th percentiles,
                  None where it gave none.
    bytes_moved:  bytes_moved(numel, itemsize, mode), the same count for every source.
    gbps:         bytes_moved / time_s / 1e9; pct_of_peak: 100 * gbps / peak_gbps (the datasheet).
    latency_bound: the source notes that these sizes are latency-bound, not bandwidth-bound.
    row:          the data row in the file (0 = the first row under the header).
    """

    kind: str
    norm: str
    provider: str
    implementation: str
    impl_class: str
    mode: str
    metric: str
    gpu: str
    dtype: str
    numel: int
    input_shape: tuple
    x_name: str
    x_value: str
    time_s: float
    time_s_p20: float | None
    time_s_p80: float | None
    bytes_moved: int
    gbps: float
    peak_gbps: float
    pct_of_peak: float
    latency_bound: bool
    source: str
    source_url: str
    license: str
    software_version: str
    timestamp: str
    notes: str
    row: int


@dataclass(frozen=True)
class SeriesKey:
    """What one curve holds fixed: the same layer, mode, dtype, GPU and implementation from one source."""

    kind: str
    mode: str
    dtype: str
    gpu: str
    impl_class: str
    provider: str
    implementation: str
    norm: str
    source: str


@dataclass(frozen=True)
class Series:
    """One curve: its key and its measurements sorted by numel (then by shape)."""

    key: SeriesKey
    points: tuple


@dataclass(frozen=True)
class TimeEstimate:
    """A time read off a series at one size.

    method "measured": a measured size, time_s is its time (the geometric mean where the series has
    several shapes of that size), lower == upper == numel. "interpolated": log-log between the two
    nearest measured sizes lower < numel < upper.
    """

    numel: float
    time_s: float
    method: str
    lower: int
    upper: int


# ---- the arithmetic ------------------------------------------------------------------------------


def bytes_moved(numel, itemsize, mode):
    """The bytes an ideal kernel moves for one call, in `mode`; the one count lnorm uses for every source.

    forward:  reads x, writes y                              2 * numel * itemsize
    backward: reads x and the incoming grad dy, writes dx    3 * numel * itemsize
    full:     forward then backward                          5 * numel * itemsize
    The per-row statistics (mean, rstd), the weight and bias and their gradients are left out: they
    are one value per row or per feature, small beside x. A kernel that does more passes is still
    charged these bytes, so extra passes show up as a lower GB/s.
    """
    if mode not in PASSES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    for name, v in (("numel", numel), ("itemsize", itemsize)):
        if not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            raise InputError(f"{name} must be a positive whole number, got {v!r}")
    return PASSES[mode] * numel * itemsize


def roofline_time(bytes_moved, peak_gbps):
    """The least time (s) to move `bytes_moved` bytes at `peak_gbps` GB/s: bytes / (GB/s * 1e9).

    No kernel on that GPU beats it: it is the memory-bandwidth floor under a measured time.
    """
    if not (_is_real(bytes_moved) and bytes_moved >= 0):
        raise InputError(f"bytes_moved must be a number >= 0, got {bytes_moved!r}")
    if not (_is_real(peak_gbps) and peak_gbps > 0):
        raise InputError(f"peak_gbps must be a positive number, got {peak_gbps!r}")
    return bytes_moved / (peak_gbps * 1e9)


def _is_real(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# ---- loading and validating ----------------------------------------------------------------------


def load_published(path_or_text=None):
    """The published measurements as a tuple of Measurement, in file order; InputError if the file is bad.

    path_or_text: None for the shipped file (DEFAULT_PATH), a path (str without a line break, or
    os.PathLike), or the CSV itself (str with a line break, or bytes). Text over
    MAX_PUBLISHED_BYTES or with more than MAX_PUBLISHED_ROWS rows is refused. The header must have
    every column in REQUIRED_COLUMNS. Every row must have a non-empty source, licence, GPU, norm,
    provider and implementation; a source_url pinned to a commit; a norm, provider, mode, metric,
    unit and dtype that lnorm knows; finite positive times (y_p50, and y_p20 <= y_p50 <= y_p80
    where given); a whole positive numel equal to the product of input_shape; a finite positive
    datasheet peak, the same on every row of one GPU. The first fault found is reported by its row
    (0 = the first row under the header), its line in the file and its column.

    Rows with metric "memory" are validated but left out: they are no timing. Rows whose notes call
    them latency-bound are kept with latency_bound=True.
    """
    text = _read_text(path_or_text)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise InputError("the published measurements file is empty: it needs a header row")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"the published measurements file has no column {missing[0]!r} "
                         f"(it needs {', '.join(REQUIRED_COLUMNS)})")
    rows = []
    peaks = {}  # gpu -> (peak GB/s, the row that set it)
    seen = set()  # (series key, input_shape): one measurement each
    try:
        for i, raw in enumerate(reader):
            if i >= MAX_PUBLISHED_ROWS:
                raise InputError(f"the published measurements file has more than {MAX_PUBLISHED_ROWS:,} "
                                 "rows; that is the limit")
            m = _parse_row(i, reader.line_num, raw)
            if m is None:  # a memory row: validated, no timing
                continue
            where = f"row {i} (line {reader.line_num})"
            peak, first = peaks.setdefault(m.gpu, (m.peak_gbps, i))
            if peak != m.peak_gbps:
                raise InputError(f"{where}, column 'peak_GBps_spec': {m.gpu} has peak {m.peak_gbps:g} GB/s "
                                 f"here but {peak:g} GB/s in row {first}")
            ident = (series_key(m), m.input_shape)
            if ident in seen:
                raise InputError(f"{where}: a second measurement of {m.norm} {m.mode} {m.dtype} "
                                 f"{'x'.join(map(str, m.input_shape))} by {m.provider} on {m.gpu} "
                                 f"from {m.source}")
            seen.add(ident)
            rows.append(m)
    except csv.Error as e:
        raise InputError(f"the published measurements file is not valid CSV near line {reader.line_num}: {e}") from None
    return tuple(rows)


def _read_text(path_or_text):
    """The CSV text, refused over MAX_PUBLISHED_BYTES before it is all read."""
    if path_or_text is None:
        path_or_text = DEFAULT_PATH
    if isinstance(path_or_text, (bytes, bytearray)):
        data = bytes(path_or_text)
    elif isinstance(path_or_text, str) and ("\n" in path_or_text or "\r" in path_or_text):
        if len(path_or_text) > MAX_PUBLISHED_BYTES:
            raise InputError(f"the published measurements text is {len(path_or_text):,} characters; "
                             f"the limit is {MAX_PUBLISHED_BYTES:,}")
        return path_or_text
    elif isinstance(path_or_text, (str, os.PathLike)):
        try:
            with open(path_or_text, "rb") as f:
                data = f.read(MAX_PUBLISHED_BYTES + 1)
        except OSError as e:
            raise InputError(f"cannot read the published measurements file {os.fspath(path_or_text)!r}: "
                             f"{e.strerror or e}") from None
    else:
        raise InputError(f"load_published takes a path or the CSV text, got {type(path_or_text).__name__}")
    if len(data) > MAX_PUBLISHED_BYTES:
        raise InputError(f"the published measurements file is over {MAX_PUBLISHED_BYTES:,} bytes; that is the limit")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the published measurements file is not UTF-8 text") from None


def _parse_row(i, line, raw):
    """One CSV row as a Measurement (None for a valid memory row), or InputError naming row, line and column."""
    where = f"row {i} (line {line})"
    if None in raw:
        raise InputError(f"{where}: has {len(raw[None])} more field(s) than the header has columns")

    def fail(column, what):
        got = raw.get(column)
        shown = repr(got) if got is None or len(got) <= 80 else repr(got[:80]) + "..."  # a huge cell stays short
        raise InputError(f"{where}, column {column!r}: {what}, got {shown}")

    cell = {k: (v or "").strip() for k, v in raw.items()}
    for column in _NON_EMPTY:
        if not cell[column]:
            fail(column, "must not be empty (every published figure names its source, licence and GPU)")
    if not _PINNED_URL.fullmatch(cell["source_url"]):
        fail("source_url", "must be a https://github.com/<owner>/<repo>/blob/<40-hex commit>/<path> address")
    if cell["norm"] not in KIND_OF_NORM:
        fail("norm", f"must be one of {', '.join(KIND_OF_NORM)}")
    if cell["provider"] not in IMPL_CLASS_OF_PROVIDER:
        fail("provider", f"must be one of {', '.join(IMPL_CLASS_OF_PROVIDER)}")
    if cell["mode"] not in MODES:
        fail("mode", f"must be one of {', '.join(MODES)}")
    metric = cell["metric"]
    if metric not in METRIC_UNITS:
        fail("metric", f"must be one of {', '.join(METRIC_UNITS)}")
    if cell["unit"] != METRIC_UNITS[metric]:
        fail("unit", f"must be {METRIC_UNITS[metric]!r} for metric {metric!r}")
    if cell["dtype"] not in DTYPES:
        fail("dtype", f"must be one of {', '.join(DTYPES)}")
    dtype, itemsize = DTYPES[cell["dtype"]]

    try:
        shape = tuple(int(d) for d in cell["input_shape"].split("x"))
    except ValueError:
        shape = ()
    if not (1 <= len(shape) <= 8 and all(d > 0 for d in shape)):
        fail("input_shape", "must be 1 to 8 positive whole numbers joined by 'x', like 4096x1024")
    if not re.fullmatch(r"[0-9]{1,15}", cell["numel"]) or int(cell["numel"]) <= 0:
        fail("numel", "must be a positive whole number")
    numel = int(cell["numel"])
    if numel != math.prod(shape):
        fail("numel", f"must be the product of input_shape {cell['input_shape']} = {math.prod(shape)}")

    def positive(column, optional=False):
        if optional and not cell[column]:
            return None
        try:
            v = float(cell[column])
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and v > 0):
            fail(column, "must be a finite positive number")
        return v

    y50 = positive("y_p50")
    y20 = positive("y_p20", optional=True)
    y80 = positive("y_p80", optional=True)
    if y20 is not None and y20 > y50:
        fail("y_p20", f"must not exceed the median y_p50 = {cell['y_p50']}")
    if y80 is not None and y80 < y50:
        fail("y_p80", f"must not be below the median y_p50 = {cell['y_p50']}")
    peak = positive("peak_GBps_spec")

    mode = cell["mode"]
    if metric == "memory":
        return None
    if metric == "bandwidth":
        if mode != "forward":
            fail("mode", "must be 'forward' for metric 'bandwidth' (read as QuACK's forward GB/s)")
        if y20 is not None or y80 is not None:
            fail("y_p20" if y20 is not None else "y_p80",
                 "must be empty for metric 'bandwidth' (QuACK's figure gives one value)")
        # QuACK counts 2 * numel * itemsize for x and y plus N * 4 for its fp32 weight.
        time_s = (2 * numel * itemsize + shape[-1] * 4) / (y50 * 1e9)
        p20 = p80 = None
    else:  # speed, in ms
        time_s, p20, p80 = (None if v is None else v / 1e3 for v in (y50, y20, y80))
    moved = bytes_moved(numel, itemsize, mode)
    gbps = moved / time_s / 1e9
    return Measurement(
        kind=KIND_OF_NORM[cell["norm"]], norm=cell["norm"], provider=cell["provider"],
        implementation=cell["implementation"], impl_class=IMPL_CLASS_OF_PROVIDER[cell["provider"]],
        mode=mode, metric=metric, gpu=cell["gpu_name"], dtype=dtype, numel=numel, input_shape=shape,
        x_name=cell["x_name"], x_value=cell["x_value"], time_s=time_s, time_s_p20=p20, time_s_p80=p80,
        bytes_moved=moved, gbps=gbps, peak_gbps=peak, pct_of_peak=100.0 * gbps / peak,
        latency_bound=_LATENCY_NOTE in cell["notes"].lower(), source=cell["source"],
        source_url=cell["source_url"], license=cell["license"], software_version=cell["software_version"],
        timestamp=cell["timestamp"], notes=cell["notes"], row=i,
    )


# ---- series --------------------------------------------------------------------------------------


def series_key(m):
    """The SeriesKey of a Measurement: kind, mode, dtype, GPU, implementation and source held fixed."""
    return SeriesKey(kind=m.kind, mode=m.mode, dtype=m.dtype, gpu=m.gpu, impl_class=m.impl_class,
                     provider=m.provider, implementation=m.implementation, norm=m.norm, source=m.source)


def find_series(rows, kind=None, dtype=None, mode=None, gpu=None, impl_class=None, latency_bound=None):
    """Every series among `rows` that matches the filters given (None: any), as a tuple of Series.

    The answer to "for kind k, dtype d, mode forward: every (GPU, implementation) curve": points
    are sorted by numel, series by GPU, then IMPL_CLASSES order, then provider, implementation and
    source. latency_bound=False leaves out the rows the source calls latency-bound.
    """
    wanted = {"kind": kind, "dtype": dtype, "mode": mode, "gpu": gpu, "impl_class": impl_class,
              "latency_bound": latency_bound}
    groups = {}
    for m in rows:
        if all(v is None or getattr(m, k) == v for k, v in wanted.items()):
            groups.setdefault(series_key(m), []).append(m)

    def order(key):
        return (key.gpu, IMPL_CLASSES.index(key.impl_class), key.provider, key.implementation,
                key.norm, key.source)

    return tuple(Series(key=k, points=tuple(sorted(groups[k], key=lambda m: (m.numel, m.input_shape))))
                 for k in sorted(groups, key=order))


def coverage(rows):
    """What the rows hold, per kind: {kind: {"gpus", "dtypes", "modes", "impl_classes", "numels"}}, sorted tuples."""
    out = {}
    for m in rows:
        c = out.setdefault(m.kind, {"gpus": set(), "dtypes": set(), "modes": set(), "impl_classes": set(),
                                    "numels": set()})
        for field, v in (("gpus", m.gpu), ("dtypes", m.dtype), ("modes", m.mode),
                         ("impl_classes", m.impl_class), ("numels", m.numel)):
            c[field].add(v)
    return {k: {f: tuple(sorted(v)) for f, v in c.items()} for k, c in sorted(out.items())}


def interpolate_time(rows, numel):
    """The time of one series at `numel` elements, as a TimeEstimate; None outside the measured sizes.

    rows: the points of one series (a Series' .points, or any Measurements with one series_key).
    At a measured size the time is the measurement (method "measured"; where the series measured
    several shapes of that size, the geometric mean of their times). Between two measured sizes
    the time is read off a log-log line through them (see interpolate_loglog). Below the smallest
    or above the largest measured size it returns None: a published curve is never extrapolated.
    """
    rows = tuple(getattr(rows, "points", rows))
    if not rows:
        raise InputError("interpolate_time needs at least one measurement")
    keys = {series_key(m) for m in rows}
    if len(keys) > 1:
        raise InputError(f"interpolate_time takes one series; these rows come from {len(keys)} "
                         "(group them with find_series)")
    measured = {}  # numel -> the times measured at it
    for m in rows:
        measured.setdefault(m.numel, []).append(m.time_s)
    return interpolate_loglog(measured, numel)


def interpolate_loglog(times_by_numel, numel):
    """A TimeEstimate at `numel` from {measured numel: time or list of times}; None outside them.

    Any curve of time against size (a published series, or the rows of one of lnorm's own
    timing reports). At a measured size: that time (the geometric mean where several were
    measured at it), method "measured". Between two measured sizes a < numel < b, a log-log line:
        log t = log t_a + (log numel - log a) / (log b - log a) * (log t_b - log t_a)
    so halfway between a and b in log size it is sqrt(t_a * t_b); method "interpolated". Below the
    smallest or above the largest measured size: None, never an extrapolation.
    """
    if not times_by_numel:
        raise InputError("interpolation needs at least one measured size")
    if not (_is_real(numel) and numel > 0):
        raise InputError(f"numel must be a positive number, got {numel!r}")
    at = {}
    for n, ts in times_by_numel.items():
        ts = list(ts) if isinstance(ts, (list, tuple)) else [ts]
        if not (_is_real(n) and n > 0 and ts and all(_is_real(t) and t > 0 for t in ts)):
            raise InputError(f"interpolation needs positive sizes and times, got {n!r}: {ts!r}")
        # one time per size: the measurement itself, or the geometric mean of several shapes of that size
        at[n] = ts[0] if len(ts) == 1 else math.exp(sum(map(math.log, ts)) / len(ts))
    sizes = sorted(at)
    if numel < sizes[0] or numel > sizes[-1]:
        return None
    for a, b in zip(sizes, sizes[1:] + [None]):
        if numel == a:
            return TimeEstimate(numel=numel, time_s=at[a], method="measured", lower=a, upper=a)
        if b is not None and a < numel < b:
            ta, tb = at[a], at[b]
            frac = (math.log(numel) - math.log(a)) / (math.log(b) - math.log(a))
            t = math.exp(math.log(ta) + frac * (math.log(tb) - math.log(ta)))
            t = min(max(t, min(ta, tb)), max(ta, tb))  # exp(log) rounding never leaves the bracket
            return TimeEstimate(numel=numel, time_s=t, method="interpolated", lower=a, upper=b)
    raise AssertionError("unreachable: numel lies within the measured sizes")  # pragma: no cover
