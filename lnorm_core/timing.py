"""What a normalization costs on this device, and how close it runs to the memory-bandwidth ceiling.

    python -m lnorm_core.timing --quick              # a table on stdout, a progress bar on stderr
    python -m lnorm_core.timing --json report.json   # the report as JSON (see `load_report`)

    from lnorm_core import timing
    report = timing.run_timing(kinds=("layer",), sizes=(2**16,), progress=print)
    print(timing.format_table(report))

Every measurement is `torch.utils.benchmark.Timer(...).blocked_autorange(min_run_time)`
on one input, at the thread count torch already has (this module never changes it).
A result row reports the median time, the spread (IQR / median) and the effective
bandwidth: the bytes an ideal kernel must move, divided by the median time.

The ceiling is the bandwidth of a plain copy `y.copy_(x)` of the same tensor
(rows with impl "copy"): a normalization reads x and writes y, exactly the
traffic of a copy, so a norm can approach the copy but not beat it once the
tensor is past the caches. On CUDA the host-to-device copy (impl "h2d") is
measured apart: it is what it costs to bring x to the GPU, not a ceiling.

Only torch, numpy and the standard library are imported here, so the module runs
on a GPU machine without the app's UI packages. The "numpy" implementation
imports the float64 core (lnorm_core.manual) when it is first needed.
"""

import argparse
import datetime
import json
import math
import os
import platform
import sys
import threading
import time
import types

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.benchmark as benchmark

from .errors import MAX_TIMING_ELEMENTS, MAX_TIMING_SECONDS, InputError
from .spec import KINDS  # numpy only: the harness still needs nothing but torch and numpy

IMPLS = ("native", "manual", "manual_var_mean", "numpy", "compiled")
IMPL_DESCRIPTIONS = {
    "native": "torch.nn.functional: layer_norm, rms_norm, batch_norm(training=True), instance_norm, group_norm",
    "manual": "the same math in torch ops as a person writes it: mean, mean of (x - mean)**2, rsqrt, in place",
    "manual_var_mean": "torch.var_mean(unbiased=False) for the statistics: the slow path on CPU",
    "numpy": "lnorm_core.manual.manual_forward, the float64 numpy core (CPU only; float32 input converted)",
    "compiled": "torch.compile of the manual implementation; compile time reported apart as compile_s",
    "copy": "y.copy_(x): the memory-bandwidth ceiling, read x once and write y once",
    "h2d": "host-to-device copy of x from pinned memory (pageable where pinning fails): measured apart",
}
# The default set: compiled takes seconds to compile per shape, manual_var_mean is a known slow path.
DEFAULT_IMPLS = ("native", "manual", "numpy")
DEVICE_TYPES = ("cpu", "cuda", "mps")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# The dtypes timed on each device: CPU float32 only, accelerators their three training dtypes.
_GPU_DTYPES = ("float32", "bfloat16", "float16")
DEVICE_DTYPES = {"cpu": ("float32",), "cuda": _GPU_DTYPES, "mps": _GPU_DTYPES}

EPS = 1e-5  # torch.nn's default eps, passed explicitly to every kind (rms_norm's None would differ)
HIDDEN = 1024  # layer, rms: rows of 1024 features, (rows, 1024)
CHANNELS = 64  # batch, instance, group: (N, 64, H, W)
NUM_GROUPS = 8  # group: 8 groups of 64 / 8 = 8 channels each
MIN_TIMING_ELEMENTS = 2**8  # the smallest size: (N, C, H, W) = (2, 64, 1, 2) still has 2 spatial elements

SWEEP_MIN_ELEMENTS = 2**12  # a full sweep: 2**12, 2**14, ..., 2**24 (16 KiB to 64 MiB in float32)
QUICK_MIN_ELEMENTS = 2**14  # --quick: 2**14, 2**17, 2**20
QUICK_MAX_ELEMENTS = 2**20
DEFAULT_MIN_RUN_TIME = 0.2  # seconds per measurement (blocked_autorange's own default)
QUICK_MIN_RUN_TIME = 0.05
MAX_MIN_RUN_TIME = 2.0

MAX_REPORT_BYTES = 5_000_000  # load_report: the largest JSON text accepted
MAX_REPORT_ROWS = 10_000

# Datasheet peak memory bandwidth (GB/s), matched on torch.cuda.get_device_name().
# Each entry: (substrings that must all appear, case-insensitive, GB/s); the first match wins.
DATASHEET_GBPS = (
    (("H200",), 4800.0),
    (("H100", "PCIE"), 2000.0),
    (("H100", "SXM"), 3350.0),
    (("H100", "HBM3"), 3350.0),  # the SXM part names itself "NVIDIA H100 80GB HBM3"
)

_RUN_LOCK = threading.Lock()  # one timing run at a time per process: runs share the cores


# ---- sizes and shapes ----------------------------------------------------------------------------


def _is_power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def check_sizes(sizes, max_elements=MAX_TIMING_ELEMENTS):
    """The sizes (total elements per tensor) as a sorted tuple of ints, or InputError.

    Each size must be a power of two between MIN_TIMING_ELEMENTS (2**8) and
    `max_elements`, itself at most MAX_TIMING_ELEMENTS (2**24).
    """
    max_elements = _check_max_elements(max_elements)
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = (sizes,)
    out = set()
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise InputError(f"sizes must be whole numbers of elements, got {s!r}")
        s = int(s)
        if s > max_elements:
            raise InputError(f"size {s:,} elements is over the limit of {max_elements:,} elements"
                             + (f" (MAX_TIMING_ELEMENTS = 2**{MAX_TIMING_ELEMENTS.bit_length() - 1})"
                                if max_elements == MAX_TIMING_ELEMENTS else " (max_elements)"))
        if s < MIN_TIMING_ELEMENTS or not _is_power_of_two(s):
            raise InputError(f"size {s:,} must be a power of two of at least {MIN_TIMING_ELEMENTS} (2**8) elements")
        out.add(s)
    if not out:
        raise InputError("no sizes to time")
    return tuple(sorted(out))


def _check_max_elements(max_elements):
    """max_elements as an int in [MIN_TIMING_ELEMENTS, MAX_TIMING_ELEMENTS], or InputError naming the limit."""
    if isinstance(max_elements, bool) or not isinstance(max_elements, (int, np.integer)):
        raise InputError(f"max_elements must be a whole number, got {max_elements!r}")
    if max_elements > MAX_TIMING_ELEMENTS:
        raise InputError(f"max_elements {max_elements:,} is over the limit MAX_TIMING_ELEMENTS = "
                         f"{MAX_TIMING_ELEMENTS:,} (2**{MAX_TIMING_ELEMENTS.bit_length() - 1}) elements")
    if max_elements < MIN_TIMING_ELEMENTS:
        raise InputError(f"max_elements must be at least {MIN_TIMING_ELEMENTS} (2**8), got {max_elements:,}")
    return int(max_elements)


def sweep_sizes(max_elements=MAX_TIMING_ELEMENTS, min_elements=SWEEP_MIN_ELEMENTS, factor=4):
    """Powers of two from `min_elements` up to `max_elements`, each `factor` times the last.

    The largest power of two <= max_elements always ends the sweep, so a sweep
    to MAX_TIMING_ELEMENTS reaches 64 MiB of float32, past the caches.
    sweep_sizes() == (2**12, 2**14, 2**16, 2**18, 2**20, 2**22, 2**24).
    """
    max_elements = _check_max_elements(max_elements)
    if factor < 2 or not _is_power_of_two(factor):
        raise InputError(f"factor must be a power of two >= 2, got {factor!r}")
    top = 1 << (max_elements.bit_length() - 1)  # the largest power of two <= max_elements
    s = min(max(int(min_elements), MIN_TIMING_ELEMENTS), top)
    s = 1 << (s.bit_length() - 1)
    sizes = []
    while s < top:
        sizes.append(s)
        s *= factor
    sizes.append(top)
    return tuple(sizes)


def shape_for(kind, numel):
    """The tensor shape timed for `kind` at `numel` elements (a power of two >= 2**8).

    layer, rms:               (rows, hidden), hidden = min(1024, numel).
    batch, instance, group:   (N, C, H, W), C = 64 (group: num_groups = 8, so 8 channels
                              a group), N = 8 (2 below 2**11 elements), H * W the rest
                              with H <= W, both powers of two.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    (numel,) = check_sizes((numel,))
    if kind in ("layer", "rms"):
        hidden = min(HIDDEN, numel)
        return (numel // hidden, hidden)
    per_channel = numel // CHANNELS  # N * H * W
    n = 8 if per_channel >= 8 * 4 else 2
    hw = per_channel // n
    h = 1 << ((hw.bit_length() - 1) // 2)  # (N*H*W) -> H the smaller half of the powers of two
    return (n, CHANNELS, h, hw // h)


# ---- the implementations -------------------------------------------------------------------------


def _reduce_dims(kind, ndim):
    """The dims a kind pools for its statistics (group pools after its reshape, like layer)."""
    if kind == "batch":
        return (0,) + tuple(range(2, ndim))  # (N, C, H, W) -> (1, C, 1, 1): one mean per channel
    if kind == "instance":
        return tuple(range(2, ndim))  # (N, C, H, W) -> (N, C, 1, 1): one per (sample, channel)
    return (-1,)  # layer, rms: (R, D) -> (R, 1); group: (N, G, C/G*H*W) -> (N, G, 1)


def native_fn(kind):
    """The torch.nn.functional call for `kind`, without affine parameters."""
    if kind == "layer":
        return lambda x: F.layer_norm(x, x.shape[-1:], eps=EPS)
    if kind == "rms":
        return lambda x: F.rms_norm(x, x.shape[-1:], eps=EPS)
    if kind == "batch":
        return lambda x: F.batch_norm(x, None, None, training=True, eps=EPS)
    if kind == "instance":
        return lambda x: F.instance_norm(x, eps=EPS)
    if kind == "group":
        return lambda x: F.group_norm(x, NUM_GROUPS, eps=EPS)
    raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")


def manual_fn(kind):
    """The normalization in torch ops, as a person writes it in its fast form (no affine).

    Two passes: the mean, then the mean of squared deviations (the biased variance,
    divided by n, as every torch norm uses), then one rsqrt; the scaling happens in
    place on the centered copy, so the only full-size allocations are (x - mean)
    and its square.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")

    def manual_norm(x):
        shape = x.shape
        if kind == "group":
            x = x.reshape(shape[0], NUM_GROUPS, -1)  # (N, C, H, W) -> (N, G, C/G*H*W): a row per group
        dims = _reduce_dims(kind, x.dim())
        if kind == "rms":
            ms = (x * x).mean(dim=dims, keepdim=True)  # (R, D) -> (R, 1): mean square, no centering
            return x * ms.add_(EPS).rsqrt_()
        mean = x.mean(dim=dims, keepdim=True)  # first pass
        xc = x - mean  # the centered copy, scaled in place below
        var = (xc * xc).mean(dim=dims, keepdim=True)  # second pass: biased variance (divide by n)
        return xc.mul_(var.add_(EPS).rsqrt_()).view(shape)

    return manual_norm


def manual_var_mean_fn(kind):
    """The manual normalization with torch.var_mean(unbiased=False) for the statistics.

    One call for both statistics, and the slow path on CPU (several times the
    manual two-pass form there). RMSNorm has no mean to subtract: its mean square
    comes out as var + mean**2.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")

    def manual_var_mean_norm(x):
        shape = x.shape
        if kind == "group":
            x = x.reshape(shape[0], NUM_GROUPS, -1)  # (N, C, H, W) -> (N, G, C/G*H*W)
        dims = _reduce_dims(kind, x.dim())
        var, mean = torch.var_mean(x, dim=dims, unbiased=False, keepdim=True)  # biased variance
        if kind == "rms":
            return x * (var + mean * mean).add_(EPS).rsqrt_()  # E[x^2] = Var[x] + E[x]^2
        return (x - mean).mul_(var.add_(EPS).rsqrt_()).view(shape)

    return manual_var_mean_norm


def numpy_fn(kind, shape):
    """The float64 numpy core for `kind` at `shape`: a function of a float32 CPU tensor.

    Imports lnorm_core.manual and lnorm_core.spec here, not at import time; raises
    ImportError (or whatever the import raises) where they are missing.
    """
    from .manual import manual_forward  # noqa: PLC0415 (lazy: the timing module runs without the core)
    from .spec import NormSpec  # noqa: PLC0415

    if kind in ("layer", "rms"):
        spec = NormSpec(kind=kind, normalized_shape=(shape[-1],), eps=EPS, elementwise_affine=False)
    else:
        spec = NormSpec(kind=kind, eps=EPS, affine=False, num_groups=NUM_GROUPS if kind == "group" else None)
    return lambda x: manual_forward(spec, x.numpy())  # float32 -> float64 inside the core, timed with it


def _fresh(fn):
    """A copy of `fn` with its own code object.

    torch.compile keeps its compiled graphs on the code object, so closures from
    one factory would share a cache and hit its recompile limit across shapes and
    dtypes (then silently run eager). A fresh code object gives each measurement
    its own static-shape graph without torch.compiler.reset(), which would throw
    away every other user's compiled code in this process.
    """
    return types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)


# ---- measuring -----------------------------------------------------------------------------------


def _synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def _measure(fn, x, min_run_time):
    """(median_s, spread) of fn(x) by blocked_autorange; spread = IQR / median.

    benchmark.Timer synchronizes the accelerator around each block of calls, and
    runs at torch's current thread count (passed explicitly, never changed).
    """
    timer = benchmark.Timer(stmt="fn(x)", globals={"fn": fn, "x": x}, num_threads=torch.get_num_threads())
    m = timer.blocked_autorange(min_run_time=min_run_time)
    median = float(m.median)
    spread = float(m.iqr) / median if median > 0 else 0.0
    return median, (spread if math.isfinite(spread) else 0.0)


def _bytes_moved(numel, itemsize, impl):
    """The bytes an ideal kernel must move, for the effective bandwidth.

    A normalization (out of place) and a copy read x once and write y once:
    2 * numel * itemsize. The small traffic of the statistics (one mean and one
    variance per group) and of any parameters is left out, and implementations
    that make more passes (manual: x - mean and its square are written and read
    again) are still charged the ideal bytes, so extra passes show up as a lower
    effective GB/s. "numpy" is charged the float32 bytes of its input as well.
    A host-to-device copy moves numel * itemsize across the bus once.
    """
    return numel * itemsize if impl == "h2d" else 2 * numel * itemsize


def _row(device, kind, impl, shape, dtype, median_s, spread, compile_s=None, **extra):
    """One result row, JSON-ready."""
    numel = math.prod(shape)
    gbps = _bytes_moved(numel, DTYPES[dtype].itemsize, impl) / median_s / 1e9
    return {"device": device, "kind": kind, "impl": impl, "shape": list(shape), "dtype": dtype,
            "median_s": median_s, "spread": spread, "gbps": gbps, "numel": numel,
            "compile_s": compile_s, **extra}


def datasheet_gbps(device_name):
    """The datasheet peak memory bandwidth (GB/s) of a GPU by its name, or None where unknown."""
    name = str(device_name).upper()
    for needles, gbps in DATASHEET_GBPS:
        if all(n in name for n in needles):
            return gbps
    return None


def _cpu_name():
    """The CPU model (from /proc/cpuinfo on Linux), never the host name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_info(device):
    """What a report says about a device: name, type, torch_version, num_threads, date; no host name."""
    if device == "cuda":
        name = torch.cuda.get_device_name()
    elif device == "mps":
        name = f"Apple MPS ({platform.machine()})"
    else:
        name = _cpu_name()
    return {
        "name": name,
        "type": device,
        "torch_version": torch.__version__,
        "num_threads": torch.get_num_threads(),  # intra-op threads torch uses on the CPU
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "datasheet_gbps": datasheet_gbps(name) if device == "cuda" else None,
        # other work on the machine when the run began: on a busy CPU, OpenMP threads wait for a
        # time slice and a norm can take milliseconds instead of microseconds
        "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def available_devices():
    """The devices torch sees here: "cpu", then "cuda" and "mps" where available."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def _names(value, known, what):
    """A comma-separated string or a sequence of names as a tuple of known names (order kept)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    out = []
    for v in value:
        if v not in known:
            raise InputError(f"unknown {what} {v!r}; choose among {', '.join(known)}")
        if v not in out:
            out.append(v)
    if not out:
        raise InputError(f"no {what} given; choose among {', '.join(known)}")
    return tuple(out)


def _check_seconds(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} must be a number of seconds, got {value!r}")
    if not (low < value <= high):
        raise InputError(f"{name} must be more than {low:g} and at most {high:g} seconds, got {value:g}")
    return float(value)


def _plan(kinds, impls, devices, dtypes, sizes):
    """The measurements in order: per device, dtype and size, the copy (and h2d), then kind x impl.

    Sizes go from small to large, so a run cut short by its time budget still has
    every kind at the small sizes.
    """
    plan = []
    for device in devices:
        for dtype in [d for d in dtypes if d in DEVICE_DTYPES[device]]:
            for numel in sizes:
                plan.append((device, dtype, numel, "copy", "copy"))
                if device == "cuda":
                    plan.append((device, dtype, numel, "copy", "h2d"))
                plan.extend((device, dtype, numel, kind, impl) for kind in kinds for impl in impls)
    return plan


def _impl_fn(kind, impl, shape):
    """The function of x to time for `impl` (compiled: compiles lazily, on its first call)."""
    if impl == "native":
        return native_fn(kind)
    if impl == "manual":
        return manual_fn(kind)
    if impl == "manual_var_mean":
        return manual_var_mean_fn(kind)
    if impl == "numpy":
        return numpy_fn(kind, shape)
    if impl == "compiled":
        return torch.compile(_fresh(manual_fn(kind)), dynamic=False)
    raise InputError(f"unknown impl {impl!r}")


def _one(device, dtype, numel, kind, impl, x_flat, min_run_time):
    """Measure one plan entry: a result row (raises on failure; the caller records why)."""
    if kind == "copy":
        shape = (numel,)
        if impl == "h2d":
            src = x_flat.cpu()
            try:
                src, note = src.pin_memory(), "pinned"
            except RuntimeError:
                note = "pageable"
            dst = torch.empty_like(x_flat)
            median, spread = _measure(lambda s: dst.copy_(s, non_blocking=True), src, min_run_time)
            return _row(device, "copy", "h2d", shape, dtype, median, spread, note=note)
        y = torch.empty_like(x_flat)
        median, spread = _measure(y.copy_, x_flat, min_run_time)
        return _row(device, "copy", "copy", shape, dtype, median, spread)
    shape = shape_for(kind, numel)
    x = x_flat.view(shape)
    fn = _impl_fn(kind, impl, shape)
    # warm-up: the first call allocates and loads kernels; for compiled it traces, generates and
    # compiles the kernel too, and that first call's wall time is compile_s, never part of median_s
    start = time.perf_counter()
    fn(x)
    _synchronize(device)
    compile_s = time.perf_counter() - start if impl == "compiled" else None
    median, spread = _measure(fn, x, min_run_time)
    return _row(device, kind, impl, shape, dtype, median, spread, compile_s=compile_s)


def _finish(rows, devices_info):
    """Fill ceiling_fraction in each row and ceiling_gbps in each device's info.

    ceiling_fraction: gbps / the copy's gbps at the same device, dtype and size.
    A device's ceiling_gbps: the copy's gbps at the largest size measured there
    (best over dtypes), the size most likely past the caches; None without copies.
    """
    copies = {(r["device"], r["dtype"], r["numel"]): r["gbps"] for r in rows if r["impl"] == "copy"}
    for r in rows:
        c = copies.get((r["device"], r["dtype"], r["numel"]))
        r["ceiling_fraction"] = r["gbps"] / c if c and r["impl"] != "h2d" else None
    for info in devices_info:
        mine = [(n, g) for (d, _, n), g in copies.items() if d == info["type"]]
        top = max((n for n, _ in mine), default=None)
        info["ceiling_gbps"] = max((g for n, g in mine if n == top), default=None)


def run_timing(kinds=KINDS, impls=DEFAULT_IMPLS, devices=None, dtypes=None, sizes=None, *,
               max_elements=MAX_TIMING_ELEMENTS, min_run_time=DEFAULT_MIN_RUN_TIME,
               time_budget_s=MAX_TIMING_SECONDS, progress=None):
    """Time normalizations and the copy ceiling; returns the report (see `load_report` for its schema).

    kinds: names from KINDS. impls: names from IMPLS (default DEFAULT_IMPLS).
    devices: from "cpu", "cuda", "mps" (default: every one available here).
    dtypes: names from DTYPES (default: each device's DEVICE_DTYPES; CPU times float32 only).
    sizes: elements per tensor, powers of two (default sweep_sizes(max_elements)).
    max_elements: the largest size allowed, at most MAX_TIMING_ELEMENTS.
    min_run_time: seconds of timed calls per measurement (blocked_autorange).
    time_budget_s: no new measurement starts after this many seconds (at most
        MAX_TIMING_SECONDS); a run cut short says "truncated": true.
    progress: called as progress(done, total, label) before each measurement and
        once at the end (label "done", or "stopped: time budget").

    An implementation that cannot run (the numpy core missing, torch.compile failing)
    is listed under "skipped" with the reason, not raised. Runs take turns: a second
    run in this process waits for the first.
    """
    kinds = _names(kinds, KINDS, "kind")
    impls = _names(impls, IMPLS, "impl")
    here = available_devices()
    devices = tuple(here) if devices is None else _names(devices, DEVICE_TYPES, "device")
    for d in devices:
        if d not in here:
            raise InputError(f"device {d!r} is not available here (torch sees {', '.join(here)})")
    dtypes = tuple(DTYPES) if dtypes is None else _names(dtypes, tuple(DTYPES), "dtype")
    if not any(d in DEVICE_DTYPES[dev] for dev in devices for d in dtypes):
        raise InputError(f"none of the dtypes {', '.join(dtypes)} is timed on {', '.join(devices)} "
                         f"(CPU times float32 only)")
    sizes = sweep_sizes(max_elements) if sizes is None else check_sizes(sizes, max_elements)
    min_run_time = _check_seconds(min_run_time, "min_run_time", 0.0, MAX_MIN_RUN_TIME)
    time_budget_s = _check_seconds(time_budget_s, "time_budget_s", 0.0, MAX_TIMING_SECONDS)

    with _RUN_LOCK:
        return _run(kinds, impls, devices, dtypes, sizes, min_run_time, time_budget_s, progress)


def _run(kinds, impls, devices, dtypes, sizes, min_run_time, time_budget_s, progress):
    plan = _plan(kinds, impls, devices, dtypes, sizes)
    report_progress = progress or (lambda done, total, label: None)
    infos = [device_info(d) for d in devices]
    rows, skipped, broken = [], [], {}  # broken: (device, impl) -> why it cannot run at all
    for d in devices:
        if "numpy" in impls and d != "cpu":
            broken[(d, "numpy")] = "the numpy core runs on the CPU only"
    started = time.monotonic()
    truncated = False
    inputs = {}  # (device, dtype, numel) -> one flat input, reshaped per kind
    generator = torch.Generator().manual_seed(0)  # a local generator: no global random state
    done = 0
    for device, dtype, numel, kind, impl in plan:
        if time.monotonic() - started >= time_budget_s:
            truncated = True
            break
        shape = (numel,) if kind == "copy" else shape_for(kind, numel)
        report_progress(done, len(plan), f"{device} {dtype} {kind} {impl} {tuple(shape)}")
        done += 1
        if (device, impl) in broken:
            _skip(skipped, device, impl, broken[(device, impl)])
            continue
        key = (device, dtype, numel)
        if key not in inputs:
            inputs = {key: torch.randn(numel, generator=generator).to(device=device, dtype=DTYPES[dtype])}
        try:
            rows.append(_one(device, dtype, numel, kind, impl, inputs[key], min_run_time))
        except Exception as e:  # noqa: BLE001 (an impl that cannot run is reported, not raised)
            reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300]
            if impl in ("numpy", "compiled"):
                broken[(device, impl)] = reason  # a missing core or compiler fails the same way every time
            _skip(skipped, device, impl, reason, kind=kind, dtype=dtype, shape=list(shape))
    report_progress(done, len(plan), "stopped: time budget" if truncated else "done")
    _finish(rows, infos)
    primary = next((i for i in infos if i["type"] != "cpu"), infos[0])  # the accelerator where one ran
    return {
        "device": {k: v for k, v in primary.items() if k not in ("ceiling_gbps", "datasheet_gbps")},
        "ceiling_gbps": primary["ceiling_gbps"],
        "datasheet_gbps": primary["datasheet_gbps"],
        "truncated": truncated,
        "devices": infos,
        "settings": {"sizes": list(sizes), "min_run_time": min_run_time, "time_budget_s": time_budget_s,
                     "elapsed_s": round(time.monotonic() - started, 3)},
        "skipped": skipped,
        "results": rows,
    }


def _skip(skipped, device, impl, reason, **where):
    """Record once per (device, impl, reason) that an implementation did not run."""
    if not any(s["device"] == device and s["impl"] == impl and s["reason"] == reason for s in skipped):
        skipped.append({"device": device, "impl": impl, "reason": reason, **where})


# ---- reading a report back -----------------------------------------------------------------------


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def load_report(text_or_bytes):
    """A timing report from JSON text (str or bytes), validated; InputError says what is wrong.

    The schema (what run_timing returns and --json writes):
        {"device": {"name": str, "type": str, "torch_version", "num_threads", "date", ...},
         "ceiling_gbps": number >= 0 or null,      # copy GB/s at the largest size measured
         "datasheet_gbps": number >= 0 or null,    # optional
         "truncated": bool,                        # optional
         "results": [                              # at most MAX_REPORT_ROWS rows
            {"device": "cpu" | "cuda" | "mps", "kind": one of KINDS or "copy",
             "impl": one of IMPLS or "copy" / "h2d", "shape": [positive ints],
             "dtype": "float32" | "bfloat16" | "float16", "median_s": number > 0,
             "spread": number >= 0, "gbps": number >= 0, "numel": product of shape,
             "compile_s": number >= 0 or null (optional),
             "ceiling_fraction": number >= 0 or null (optional), ...}, ...]}
    Text over MAX_REPORT_BYTES is refused before parsing. Rows are counted from 0,
    as in results[i]. Returns the parsed dict.
    """
    if isinstance(text_or_bytes, (bytes, bytearray)):
        if len(text_or_bytes) > MAX_REPORT_BYTES:
            raise InputError(f"the report is {len(text_or_bytes):,} bytes; the limit is {MAX_REPORT_BYTES:,}")
        try:
            text = bytes(text_or_bytes).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the report is not UTF-8 text") from None
    elif isinstance(text_or_bytes, str):
        text = text_or_bytes
        if len(text) > MAX_REPORT_BYTES:
            raise InputError(f"the report is {len(text):,} characters; the limit is {MAX_REPORT_BYTES:,}")
    else:
        raise InputError(f"the report must be JSON text, got {type(text_or_bytes).__name__}")
    try:
        report = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InputError(f"the report is not valid JSON: {e}") from None
    if not isinstance(report, dict):
        raise InputError(f"the report must be a JSON object, got {type(report).__name__}")
    for key in ("device", "ceiling_gbps", "results"):
        if key not in report:
            raise InputError(f"the report has no {key!r}")
    device = report["device"]
    if not isinstance(device, dict):
        raise InputError("'device' must be an object with 'name' and 'type'")
    for key in ("name", "type"):
        if not isinstance(device.get(key), str):
            raise InputError(f"device.{key} must be a string")
    for key in ("ceiling_gbps", "datasheet_gbps"):
        v = report.get(key)
        if v is not None and not (_is_number(v) and v >= 0):
            raise InputError(f"{key} must be a number >= 0 or null, got {v!r}")
    if not isinstance(report.get("truncated", False), bool):
        raise InputError("truncated must be true or false")
    results = report["results"]
    if not isinstance(results, list):
        raise InputError("'results' must be a list of rows")
    if len(results) > MAX_REPORT_ROWS:
        raise InputError(f"the report has {len(results):,} rows; the limit is {MAX_REPORT_ROWS:,}")
    for i, row in enumerate(results):
        _check_row(i, row)
    return report


def _check_row(i, row):
    """InputError naming row i and the first thing wrong with it."""
    where = f"row {i}"
    if not isinstance(row, dict):
        raise InputError(f"{where}: must be an object")
    for key in ("device", "kind", "impl", "shape", "dtype", "median_s", "gbps", "spread", "numel"):
        if key not in row:
            raise InputError(f"{where}: has no {key!r}")
    for key, known in (("device", DEVICE_TYPES), ("kind", KINDS + ("copy",)),
                       ("impl", IMPLS + ("copy", "h2d")), ("dtype", tuple(DTYPES))):
        if row[key] not in known:
            raise InputError(f"{where}: {key} must be one of {', '.join(known)}, got {row[key]!r}")
    shape = row["shape"]
    if not (isinstance(shape, list) and 1 <= len(shape) <= 8 and all(_is_count(d) for d in shape)):
        raise InputError(f"{where}: shape must be a list of 1 to 8 positive whole numbers, got {shape!r}")
    if not (_is_number(row["median_s"]) and row["median_s"] > 0):
        raise InputError(f"{where}: median_s must be a positive number, got {row['median_s']!r}")
    for key in ("gbps", "spread"):
        if not (_is_number(row[key]) and row[key] >= 0):
            raise InputError(f"{where}: {key} must be a number >= 0, got {row[key]!r}")
    if not (_is_count(row["numel"]) and row["numel"] == math.prod(shape)):
        raise InputError(f"{where}: numel must be the product of shape {shape}, got {row['numel']!r}")
    for key in ("compile_s", "ceiling_fraction"):
        v = row.get(key)
        if v is not None and not (_is_number(v) and v >= 0):
            raise InputError(f"{where}: {key} must be a number >= 0 or null, got {v!r}")


# ---- the command line ----------------------------------------------------------------------------


def format_table(report):
    """The report as a readable text table: the norms, then the copy ceiling, then host-to-device apart."""
    lines = []
    for info in report.get("devices") or [report["device"]]:
        ceiling = info.get("ceiling_gbps", report.get("ceiling_gbps"))
        sheet = info.get("datasheet_gbps")
        lines.append(f"# {info['type']}: {info['name']}, torch {info.get('torch_version', '?')}, "
                     f"{info.get('num_threads', '?')} threads; copy ceiling "
                     f"{'-' if ceiling is None else f'{ceiling:.1f} GB/s'} (largest size)"
                     + ("" if sheet is None else f"; datasheet {sheet:.0f} GB/s")
                     + ("" if info.get("load_avg_1min") is None
                        else f"; load average {info['load_avg_1min']:g} at start"))
    lines.append("# GB/s = 2 * numel * itemsize / median (read x, write y); "
                 "% copy = GB/s / copy GB/s at the same size")
    if report.get("truncated"):
        lines.append("# truncated: the time budget ran out before every measurement")
    sections = (("normalizations", lambda r: r["kind"] != "copy"),
                ("copy (the ceiling)", lambda r: r["impl"] == "copy"),
                ("host to device (apart: bytes = numel * itemsize once)", lambda r: r["impl"] == "h2d"))
    head = (f"{'device':<6} {'kind':<8} {'impl':<15} {'shape':<18} {'dtype':<8} "
            f"{'median µs':>10} {'spread':>7} {'GB/s':>8} {'% copy':>7} {'compile s':>9}")
    for title, keep in sections:
        rows = [r for r in report["results"] if keep(r)]
        if not rows:
            continue
        lines += ["", f"## {title}", head]
        for r in rows:
            frac = r.get("ceiling_fraction")
            comp = r.get("compile_s")
            lines.append(
                f"{r['device']:<6} {r['kind']:<8} {r['impl']:<15} {str(tuple(r['shape'])):<18} {r['dtype']:<8} "
                f"{r['median_s'] * 1e6:>10.1f} {r['spread'] * 100:>6.1f}% {r['gbps']:>8.2f} "
                f"{'-' if frac is None else f'{frac * 100:.0f}%':>7} {'-' if comp is None else f'{comp:.2f}':>9}")
    for s in report.get("skipped", []):
        lines.append(f"# skipped {s['impl']} on {s['device']}: {s['reason']}")
    return "\n".join(lines)


def _terminal_progress(done, total, label):
    """A one-line progress bar on stderr, redrawn in place."""
    width = 28
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:48]:<48}")
    if label in ("done", "stopped: time budget"):
        sys.stderr.write("\n")
    sys.stderr.flush()


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m lnorm_core.timing",
        description="Time PyTorch normalizations against the memory-bandwidth ceiling (a plain copy).")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from {','.join(KINDS)}")
    p.add_argument("--impls", default=",".join(DEFAULT_IMPLS),
                   help=f"comma-separated, from {','.join(IMPLS)} (default %(default)s)")
    p.add_argument("--devices", default=None, help="comma-separated, from cpu,cuda,mps (default: all available)")
    p.add_argument("--dtypes", default=None,
                   help="comma-separated, from float32,bfloat16,float16 (CPU times float32 only)")
    p.add_argument("--max-elements", type=int, default=None,
                   help=f"largest tensor in elements (at most {MAX_TIMING_ELEMENTS}, the default; "
                        f"{QUICK_MAX_ELEMENTS} with --quick)")
    p.add_argument("--sizes", default=None,
                   help="comma-separated sizes in elements, powers of two (default: the sweep up to --max-elements)")
    p.add_argument("--min-run-time", type=float, default=None,
                   help=f"seconds per measurement (default {DEFAULT_MIN_RUN_TIME}; --quick: {QUICK_MIN_RUN_TIME})")
    p.add_argument("--quick", action="store_true",
                   help="sizes 2**14, 2**17, 2**20 and short measurements: well under a minute on 2 cores")
    p.add_argument("--json", metavar="FILE", default=None, help="write the report as JSON instead of a table")
    p.add_argument("--time-budget", type=float, default=MAX_TIMING_SECONDS,
                   help=f"start no measurement after this many seconds (at most {MAX_TIMING_SECONDS:g})")
    return p


def main(argv=None):
    """The command line: prints a table, or writes --json FILE; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        default_max = QUICK_MAX_ELEMENTS if args.quick else MAX_TIMING_ELEMENTS
        max_elements = default_max if args.max_elements is None else _check_max_elements(args.max_elements)
        if args.sizes is not None:
            try:
                sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
            except ValueError:
                raise InputError(f"--sizes must be whole numbers separated by commas, got {args.sizes!r}") from None
            sizes = check_sizes(sizes, MAX_TIMING_ELEMENTS if args.max_elements is None else max_elements)
        elif args.quick:
            sizes = sweep_sizes(max_elements, min_elements=QUICK_MIN_ELEMENTS, factor=8)
        else:
            sizes = sweep_sizes(max_elements)
        min_run_time = args.min_run_time
        if min_run_time is None:
            min_run_time = QUICK_MIN_RUN_TIME if args.quick else DEFAULT_MIN_RUN_TIME
        report = run_timing(
            kinds=args.kinds, impls=args.impls, devices=args.devices, dtypes=args.dtypes, sizes=sizes,
            min_run_time=min_run_time, time_budget_s=args.time_budget,
            progress=_terminal_progress if sys.stderr.isatty() else None)
    except InputError as e:
        print(f"lnorm_core.timing: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, allow_nan=False)
            f.write("\n")
    else:
        print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
