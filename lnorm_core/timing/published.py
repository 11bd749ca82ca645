"""Published GPU timings of normalization kernels: other people's figures, never lnorm's own.

    from lnorm_core import timing
    rows = timing.load_published()                 # lnorm_core/timing/gpu_data/gpu_norm_measurements.csv, validated
    for s in timing.find_series(rows, kind="layer", dtype="float32", mode="forward"):
        print(s.key.gpu, s.key.implementation, [(p.numel, p.time_s, p.gbps) for p in s.points])
    est = timing.interpolate_time(s.points, 2**23)   # None outside the measured sizes
    floor = timing.roofline_time(timing.bytes_moved(2**23, 4, "forward"), rows[0].peak_gbps)

The rows come from Liger-Kernel's and QuACK's public benchmark files (lnorm_core/timing/gpu_data/README.md names
each source, its commit and its licence). lnorm did not measure them and has no GPU: every
Measurement carries its source, address and licence so a figure can say whose number it is, and
nothing here mixes them with the timings lnorm records itself (measure.py, report.py).

lnorm takes from each row only the time (and the size, dtype, GPU and mode it was taken at) and
recomputes everything derived from it the same way for every source: the bytes an ideal kernel
moves (bandwidth.bytes_moved), the bandwidth, and its share of the GPU's datasheet peak. The
file's own implied-bandwidth columns are never read. This module checks a foreign file row by row
and column by column, beside the schema it checks; curves.py groups and reads the rows.
"""

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .bandwidth import MODES, bytes_moved
from .devices import DTYPES, itemsize

PUBLISHED_PATH = Path(__file__).resolve().parent / "gpu_data" / "gpu_norm_measurements.csv"  # ships inside the library

MAX_PUBLISHED_BYTES = 2_000_000  # load_published: the largest CSV text accepted (the shipped file is ~260 KB)
MAX_PUBLISHED_ROWS = 5_000

# The source's name for a layer -> lnorm's kind (lnorm_core.spec.KINDS).
KIND_OF_NORM = {"layer_norm": "layer", "rms_norm": "rms", "megatron_rms_norm": "rms", "group_norm": "group"}
METRIC_UNITS = {"speed": "ms", "bandwidth": "GB/s", "memory": "MB"}  # metric -> the one unit it may have
TORCH_DTYPE_NAMES = {f"torch.{name}": name for name in DTYPES}  # the file says torch.float32, lnorm float32

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


def series_key(m):
    """The SeriesKey of a Measurement: kind, mode, dtype, GPU, implementation and source held fixed."""
    return SeriesKey(kind=m.kind, mode=m.mode, dtype=m.dtype, gpu=m.gpu, impl_class=m.impl_class,
                     provider=m.provider, implementation=m.implementation, norm=m.norm, source=m.source)


def load_published(path_or_text=None):
    """The published measurements as a tuple of Measurement, in file order; InputError if the file is bad.

    path_or_text: None for the shipped file (PUBLISHED_PATH), a path (str without a line break, or
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
        path_or_text = PUBLISHED_PATH
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
    if cell["dtype"] not in TORCH_DTYPE_NAMES:
        fail("dtype", f"must be one of {', '.join(TORCH_DTYPE_NAMES)}")
    dtype = TORCH_DTYPE_NAMES[cell["dtype"]]
    size = itemsize(dtype)

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
        time_s = (2 * numel * size + shape[-1] * 4) / (y50 * 1e9)
        p20 = p80 = None
    else:  # speed, in ms
        time_s, p20, p80 = (None if v is None else v / 1e3 for v in (y50, y20, y80))
    moved = bytes_moved(numel, size, mode)
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
