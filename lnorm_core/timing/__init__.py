"""What a normalization costs: lnorm's own measurements on this device, and other people's published GPU timings.

    python -m lnorm_core.timing --quick              # a table on stdout, a progress bar on stderr
    python -m lnorm_core.timing --json report.json   # the report as JSON (see load_report)

    from lnorm_core import timing
    report = timing.run_timing(kinds=("layer",), sizes=(2**16,), repeats=3, progress=print)
    print(timing.format_table(report))
    mine = timing.time_layers([("rms", (1, 512, 4096)), ("group", (2, 320, 32, 32), 32)])  # a model's own tensors

    rows = timing.load_published()                   # other people's GPU timings, each with its source
    (s, *_) = timing.find_series(rows, kind="layer", dtype="float32", mode="forward")
    timing.interpolate_time(s, 2**23)                # measured, interpolated (log-log), or None outside
    timing.roofline_time(timing.bytes_moved(2**23, 4), s.points[0].peak_gbps)  # no kernel there is faster

The ceiling of lnorm's own runs is the bandwidth of a plain copy `y.copy_(x)` of the same tensor
(rows with impl "copy"): a normalization reads x and writes y, exactly the traffic of a copy, so a
norm can approach the copy but not beat it once the tensor is past the caches. On CUDA the
host-to-device copy (impl "h2d") is measured apart: it is what it costs to bring x to the GPU,
not a ceiling. The published rows are never mixed into a report: each Measurement carries its
source, address and licence, and only bytes_moved and the datasheet peaks are shared.

One job per module:
    sizes.py      the sizes a run times, and the shape and NormSpec each kind is timed on
    impls.py      the implementations: native, manual, manual_var_mean, numpy, compiled
    devices.py    the devices and dtypes, the datasheet peaks, what a report says about a device
    measure.py    run_timing (the sweep) and time_layers (given shapes): the measurements, one run at a time
    report.py     the report's schema, load_report (validated), format_table
    bandwidth.py  bytes_moved and roofline_time: one count for lnorm's rows and the published ones
    published.py  the published GPU measurements (lnorm_core/timing/gpu_data/): load_published, every row checked
    curves.py     find_series, interpolate_time, interpolate_loglog: a time read off a measured curve
    __main__.py   the command line

It imports torch, numpy and lnorm_core, and none of the app's packages (Streamlit, plotly,
pandas), so it runs on a GPU machine with only the library installed.
"""

from ..spec import KINDS
from .bandwidth import MODES, bytes_moved, roofline_time
from .curves import Series, TimeEstimate, coverage, find_series, interpolate_loglog, interpolate_time
from .devices import (
    DATASHEET_GBPS,
    DEVICE_DTYPES,
    DEVICE_TYPES,
    DTYPES,
    available_devices,
    datasheet_gbps,
    device_info,
    itemsize,
)
from .impls import (
    DEFAULT_IMPLS,
    IMPL_DESCRIPTIONS,
    IMPLS,
    impl_fn,
    manual_fn,
    manual_var_mean_fn,
    native_fn,
    numpy_fn,
)
from .measure import (
    DEFAULT_MIN_RUN_TIME,
    MAX_MIN_RUN_TIME,
    MAX_REPEATS,
    QUICK_MIN_RUN_TIME,
    RUN_LOCK,
    run_timing,
    summarize,
    time_layers,
)
from .published import (
    IMPL_CLASSES,
    MAX_PUBLISHED_BYTES,
    MAX_PUBLISHED_ROWS,
    PUBLISHED_PATH,
    Measurement,
    SeriesKey,
    load_published,
    series_key,
)
from .report import MAX_REPORT_BYTES, MAX_REPORT_REPEATS, MAX_REPORT_ROWS, format_table, load_report
from .sizes import (
    CHANNELS,
    EPS,
    HIDDEN,
    MIN_TIMING_ELEMENTS,
    NUM_GROUPS,
    QUICK_MAX_ELEMENTS,
    QUICK_MIN_ELEMENTS,
    SWEEP_MIN_ELEMENTS,
    check_sizes,
    shape_for,
    spec_for,
    sweep_sizes,
)

__all__ = [
    "CHANNELS", "DATASHEET_GBPS", "DEFAULT_IMPLS", "DEFAULT_MIN_RUN_TIME", "DEVICE_DTYPES", "DEVICE_TYPES", "DTYPES",
    "EPS", "HIDDEN", "IMPLS", "IMPL_CLASSES", "IMPL_DESCRIPTIONS", "KINDS", "MAX_MIN_RUN_TIME",
    "MAX_PUBLISHED_BYTES", "MAX_PUBLISHED_ROWS", "MAX_REPEATS", "MAX_REPORT_BYTES", "MAX_REPORT_REPEATS",
    "MAX_REPORT_ROWS", "MIN_TIMING_ELEMENTS", "MODES", "Measurement", "NUM_GROUPS", "PUBLISHED_PATH",
    "QUICK_MAX_ELEMENTS", "QUICK_MIN_ELEMENTS", "QUICK_MIN_RUN_TIME", "RUN_LOCK", "SWEEP_MIN_ELEMENTS", "Series",
    "SeriesKey", "TimeEstimate", "available_devices", "bytes_moved", "check_sizes", "coverage", "datasheet_gbps",
    "device_info", "find_series", "format_table", "impl_fn", "interpolate_loglog", "interpolate_time", "itemsize",
    "load_published", "load_report", "manual_fn", "manual_var_mean_fn", "native_fn", "numpy_fn", "roofline_time",
    "run_timing", "series_key", "shape_for", "spec_for", "summarize", "sweep_sizes", "time_layers",
]
