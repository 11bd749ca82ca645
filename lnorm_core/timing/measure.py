"""Measuring: run_timing times each (device, dtype, size, kind, impl) and the copy ceiling, one run at a time.

Every measurement is `torch.utils.benchmark.Timer(...).blocked_autorange(min_run_time)` on one
input, at the thread count torch already has (never changed here). A row holds the median time,
the spread (IQR / median) and the effective bandwidth: the bytes an ideal kernel must move over
the median time.
"""

import math
import threading
import time

import torch
import torch.utils.benchmark as benchmark

from ..errors import MAX_TIMING_ELEMENTS, MAX_TIMING_SECONDS, InputError
from ..spec import KINDS
from .devices import DEVICE_DTYPES, DEVICE_TYPES, DTYPES, available_devices, device_info, itemsize
from .impls import DEFAULT_IMPLS, IMPLS, impl_fn
from .sizes import check_sizes, shape_for, sweep_sizes

DEFAULT_MIN_RUN_TIME = 0.2  # seconds per measurement (blocked_autorange's own default)
QUICK_MIN_RUN_TIME = 0.05
MAX_MIN_RUN_TIME = 2.0

RUN_LOCK = threading.Lock()  # one timing run at a time per process: runs share the cores


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


def bytes_moved(numel, nbytes_per_element, impl):
    """The bytes an ideal kernel must move, for the effective bandwidth.

    A normalization (out of place) and a copy read x once and write y once:
    2 * numel * itemsize. The small traffic of the statistics (one mean and one
    variance per group) and of any parameters is left out, and implementations
    that make more passes (manual: x - mean and its square are written and read
    again) are still charged the ideal bytes, so extra passes show up as a lower
    effective GB/s. "numpy" is charged the float32 bytes of its input as well.
    A host-to-device copy moves numel * itemsize across the bus once.
    """
    return numel * nbytes_per_element if impl == "h2d" else 2 * numel * nbytes_per_element


def _row(device, kind, impl, shape, dtype, median_s, spread, compile_s=None, **extra):
    """One result row, JSON-ready."""
    numel = math.prod(shape)
    gbps = bytes_moved(numel, itemsize(dtype), impl) / median_s / 1e9
    return {"device": device, "kind": kind, "impl": impl, "shape": list(shape), "dtype": dtype,
            "median_s": median_s, "spread": spread, "gbps": gbps, "numel": numel,
            "compile_s": compile_s, **extra}


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
    fn = impl_fn(kind, impl, shape)
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

    An implementation that cannot run (the numpy core failing, torch.compile failing)
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

    with RUN_LOCK:
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
                broken[(device, impl)] = reason  # a failing core or compiler fails the same way every time
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
