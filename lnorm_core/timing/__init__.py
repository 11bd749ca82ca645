"""What a normalization costs on this device, and how close it runs to the memory-bandwidth ceiling.

    python -m lnorm_core.timing --quick              # a table on stdout, a progress bar on stderr
    python -m lnorm_core.timing --json report.json   # the report as JSON (see load_report)

    from lnorm_core import timing
    report = timing.run_timing(kinds=("layer",), sizes=(2**16,), repeats=3, progress=print)
    print(timing.format_table(report))
    mine = timing.time_layers([("rms", (1, 512, 4096)), ("group", (2, 320, 32, 32), 32)])  # a model's own tensors

The ceiling is the bandwidth of a plain copy `y.copy_(x)` of the same tensor (rows with impl
"copy"): a normalization reads x and writes y, exactly the traffic of a copy, so a norm can
approach the copy but not beat it once the tensor is past the caches. On CUDA the host-to-device
copy (impl "h2d") is measured apart: it is what it costs to bring x to the GPU, not a ceiling.

One job per module:
    sizes.py      the sizes a run times and the shape each kind is timed on
    impls.py      the implementations: native, manual, manual_var_mean, numpy, compiled
    devices.py    the devices and dtypes, the datasheet peaks, what a report says about a device
    measure.py    run_timing (the sweep) and time_layers (given shapes): the measurements, one run at a time
    report.py     the report's schema, load_report (validated), format_table
    __main__.py   the command line

It imports torch, numpy and lnorm_core (the "numpy" implementation is the float64 core,
lnorm_core.manual), and none of the app's packages (Streamlit, plotly, pandas), so it runs on a
GPU machine with only the library installed.
"""

from ..spec import KINDS
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
    EPS,
    IMPL_DESCRIPTIONS,
    IMPLS,
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
    bytes_moved,
    run_timing,
    summarize,
    time_layers,
)
from .report import MAX_REPORT_BYTES, MAX_REPORT_REPEATS, MAX_REPORT_ROWS, format_table, load_report
from .sizes import (
    CHANNELS,
    HIDDEN,
    MIN_TIMING_ELEMENTS,
    NUM_GROUPS,
    QUICK_MAX_ELEMENTS,
    QUICK_MIN_ELEMENTS,
    SWEEP_MIN_ELEMENTS,
    check_sizes,
    shape_for,
    sweep_sizes,
)

__all__ = [
    "CHANNELS", "DATASHEET_GBPS", "DEFAULT_IMPLS", "DEFAULT_MIN_RUN_TIME", "DEVICE_DTYPES", "DEVICE_TYPES", "DTYPES",
    "EPS", "HIDDEN", "IMPLS", "IMPL_DESCRIPTIONS", "KINDS", "MAX_MIN_RUN_TIME", "MAX_REPEATS", "MAX_REPORT_BYTES",
    "MAX_REPORT_REPEATS", "MAX_REPORT_ROWS", "MIN_TIMING_ELEMENTS", "NUM_GROUPS", "QUICK_MAX_ELEMENTS",
    "QUICK_MIN_ELEMENTS", "QUICK_MIN_RUN_TIME", "RUN_LOCK", "SWEEP_MIN_ELEMENTS", "available_devices", "bytes_moved",
    "check_sizes", "datasheet_gbps", "device_info", "format_table", "itemsize", "load_report", "manual_fn",
    "manual_var_mean_fn", "native_fn", "numpy_fn", "run_timing", "shape_for", "summarize", "sweep_sizes", "time_layers",
]
