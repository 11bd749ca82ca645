"""Measuring: run_timing times each (device, dtype, size, kind, impl) and the copy ceiling, one run at a time.

Every measurement is `repeats` calls of `torch.utils.benchmark.Timer(...).blocked_autorange(min_run_time)`
on one input, at the thread count torch already has (never changed here). At each size the repeats
take turns (copy, norm 1, norm 2, copy, norm 1, ...), so a burst of other work on the machine
lands in one repeat of several measurements rather than in every repeat of one. A row holds
the median of the repeats' medians, each repeat's median (repeats_s), the spread (IQR / median
of every timed block) and the effective bandwidth: the bytes an ideal kernel must move over
the median time.
"""

import math
import statistics
import threading
import time

import numpy as np
import torch
import torch.utils.benchmark as benchmark

from ..errors import MAX_TIMING_ELEMENTS, MAX_TIMING_SECONDS, InputError
from ..spec import KINDS
from .bandwidth import bytes_moved
from .devices import DEVICE_DTYPES, DEVICE_TYPES, DTYPES, available_devices, device_info, itemsize
from .impls import DEFAULT_IMPLS, IMPLS, impl_fn
from .sizes import check_max_elements, check_sizes, shape_for, spec_for, sweep_sizes

DEFAULT_MIN_RUN_TIME = 0.2  # seconds per measurement (blocked_autorange's own default)
QUICK_MIN_RUN_TIME = 0.05
MAX_MIN_RUN_TIME = 2.0
MAX_REPEATS = 9

RUN_LOCK = threading.Lock()  # one timing run at a time per process: runs share the cores


def _synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def _measure(fn, x, min_run_time):
    """(median_s, per-call times of each block) of fn(x) by one blocked_autorange.

    benchmark.Timer synchronizes the accelerator around each block of calls, and
    runs at torch's current thread count (passed explicitly, never changed).
    """
    timer = benchmark.Timer(stmt="fn(x)", globals={"fn": fn, "x": x}, num_threads=torch.get_num_threads())
    m = timer.blocked_autorange(min_run_time=min_run_time)
    return float(m.median), [float(t) for t in m.times]


def summarize(repeat_medians, block_times):
    """(median_s, spread) of a measurement's repeats.

    median_s: the median of the repeats' medians. spread: the interquartile range of every
    timed block (per call, all repeats together) over the median of those blocks.
    summarize([3.0, 1.0, 2.0], [1, 2, 3, 4, 5]) == (2.0, 2 / 3): IQR 4 - 2 = 2, median 3.
    """
    median = float(statistics.median(repeat_medians))
    p25, p50, p75 = np.percentile(np.asarray(block_times, dtype=np.float64), [25, 50, 75])
    spread = float((p75 - p25) / p50) if p50 > 0 else 0.0
    return median, (spread if math.isfinite(spread) else 0.0)


def _row(device, kind, impl, shape, dtype, median_s, spread, compile_s=None, **extra):
    """One result row, JSON-ready (extra: repeats_s, note).

    gbps: the bytes an ideal kernel must move over the median time. A normalization and a copy
    read x once and write y once, bytes_moved(numel, itemsize, "forward"), the count of every
    published GPU figure too; an implementation that makes more passes (manual: x - mean and its
    square are written and read again) is still charged those bytes, so extra passes show up as
    a lower GB/s, and "numpy" is charged the float32 bytes of its input. A host-to-device copy
    moves x across the bus once.
    """
    numel = math.prod(shape)
    size = itemsize(dtype)
    moved = numel * size if impl == "h2d" else bytes_moved(numel, size, "forward")
    gbps = moved / median_s / 1e9
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


class _Entry:
    """One plan entry while its repeats run: what to call, on what, and the timings so far."""

    def __init__(self, device, dtype, kind, impl, shape, spec=None):
        self.device, self.dtype, self.kind, self.impl = device, dtype, kind, impl
        self.shape, self.spec = tuple(shape), spec  # spec: what a norm computes (None for a copy)
        self.fn = self.x = None
        self.extra = {}  # compile_s, or the h2d copy's note
        self.medians, self.blocks = [], []

    def prepare(self, x_flat):
        """Build the call and warm it up (raises on failure; the caller records why)."""
        if self.impl == "h2d":
            src = x_flat.cpu()
            try:
                src, self.extra["note"] = src.pin_memory(), "pinned"
            except RuntimeError:
                self.extra["note"] = "pageable"
            dst = torch.empty_like(x_flat)
            self.fn, self.x = (lambda s: dst.copy_(s, non_blocking=True)), src
            return
        if self.kind == "copy":
            self.fn, self.x = torch.empty_like(x_flat).copy_, x_flat
            return
        self.x = x_flat.view(self.shape)
        self.fn = impl_fn(self.spec, self.impl, self.shape)
        # warm-up: the first call allocates and loads kernels; for compiled it traces, generates and
        # compiles the kernel too, and that first call's wall time is compile_s, never part of median_s
        start = time.perf_counter()
        self.fn(self.x)
        _synchronize(self.device)
        self.extra["compile_s"] = time.perf_counter() - start if self.impl == "compiled" else None

    def measure(self, min_run_time):
        """One more repeat (raises on failure)."""
        median, blocks = _measure(self.fn, self.x, min_run_time)
        self.medians.append(median)
        self.blocks.extend(blocks)

    def row(self):
        """The result row from the repeats so far."""
        median, spread = summarize(self.medians, self.blocks)
        extra = dict(self.extra)
        compile_s = extra.pop("compile_s", None)
        if self.spec is not None and self.spec.num_groups:
            extra["num_groups"] = self.spec.num_groups  # GroupNorm's groups: a model's own, or the sweep's NUM_GROUPS
        return _row(self.device, self.kind, self.impl, self.shape, self.dtype, median, spread,
                    compile_s=compile_s, repeats_s=list(self.medians), **extra)


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
               time_budget_s=MAX_TIMING_SECONDS, repeats=1, progress=None):
    """Time normalizations and the copy ceiling; returns the report (see `load_report` for its schema).

    kinds: names from KINDS. impls: names from IMPLS (default DEFAULT_IMPLS).
    devices: from "cpu", "cuda", "mps" (default: every one available here).
    dtypes: names from DTYPES (default: each device's DEVICE_DTYPES; CPU times float32 only).
    sizes: elements per tensor, powers of two (default sweep_sizes(max_elements)).
    max_elements: the largest size allowed, at most MAX_TIMING_ELEMENTS.
    min_run_time: seconds of timed calls per repeat (blocked_autorange).
    time_budget_s: no new measurement starts after this many seconds (at most
        MAX_TIMING_SECONDS); a run cut short says "truncated": true, and a row
        cut short has fewer repeats_s than asked for.
    repeats: how many times each measurement is taken (1 to MAX_REPEATS), taking turns
        at each size; a row's median_s is the median of the repeats.
    progress: called as progress(done, total, label) before each repeat of each
        measurement and once at the end (label "done", or "stopped: time budget").

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
    repeats = _check_repeats(repeats)

    groups = {}  # (device, dtype, numel) -> its entries, in plan order: they share one input
    for device, dtype, numel, kind, impl in _plan(kinds, impls, devices, dtypes, sizes):
        if kind == "copy":
            entry = _Entry(device, dtype, kind, impl, (numel,))
        else:
            shape = shape_for(kind, numel)
            entry = _Entry(device, dtype, kind, impl, shape, spec_for(kind, shape))
        groups.setdefault((device, dtype, numel), []).append(entry)
    broken = {(d, "numpy"): "the numpy core runs on the CPU only" for d in devices if "numpy" in impls and d != "cpu"}
    settings = {"sizes": list(sizes), "min_run_time": min_run_time, "repeats": int(repeats),
                "time_budget_s": time_budget_s}
    with RUN_LOCK:
        return _run(groups, devices, broken, settings, progress)


def time_layers(layers, *, max_elements=MAX_TIMING_ELEMENTS, min_run_time=QUICK_MIN_RUN_TIME, repeats=3,
                time_budget_s=MAX_TIMING_SECONDS, progress=None):
    """Time torch's own kernel (native) on the CPU at given shapes, and a copy of each size; a report.

    layers: (kind, shape) or (kind, shape, num_groups) tuples, e.g. ("group", (2, 320, 64, 64), 32):
    a model's own tensors rather than the sweep's. layer and rms normalize the last dim; batch,
    instance and group take (N, C, *). Each shape is checked as torch would check it, and holds
    at most max_elements elements (at most MAX_TIMING_ELEMENTS). float32, as every CPU timing.
    Rows are those of run_timing (impl "native", and "copy" for a flat tensor of the same size);
    a group row says its num_groups, as every group row does.
    """
    max_elements = check_max_elements(max_elements)
    if isinstance(layers, (str, bytes)) or not layers:
        raise InputError("layers must be a list of (kind, shape) or (kind, shape, num_groups)")
    groups = {}
    for layer in layers:
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise InputError(f"a layer is (kind, shape) or (kind, shape, num_groups), got {layer!r}")
        kind, shape = layer[0], layer[1]
        if kind not in KINDS:
            raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
        shape = _check_shape(shape, max_elements)
        spec = spec_for(kind, shape, *layer[2:])
        spec.check(shape)  # torch's own refusal, word for word
        numel = math.prod(shape)
        key = ("cpu", "float32", numel)
        if key not in groups:
            groups[key] = [_Entry("cpu", "float32", "copy", "copy", (numel,))]
        groups[key].append(_Entry("cpu", "float32", kind, "native", shape, spec))
    min_run_time = _check_seconds(min_run_time, "min_run_time", 0.0, MAX_MIN_RUN_TIME)
    time_budget_s = _check_seconds(time_budget_s, "time_budget_s", 0.0, MAX_TIMING_SECONDS)
    repeats = _check_repeats(repeats)
    settings = {"layers": [[e.kind, list(e.shape)] + ([e.spec.num_groups] if e.spec.num_groups else [])
                           for entries in groups.values() for e in entries if e.spec is not None],
                "min_run_time": min_run_time, "repeats": repeats, "time_budget_s": time_budget_s}
    with RUN_LOCK:
        return _run(dict(sorted(groups.items())), ("cpu",), {}, settings, progress)


def _check_shape(shape, max_elements):
    """A shape as a tuple of 1 to 6 positive ints, at most max_elements elements, or InputError."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)):
        raise InputError(f"a shape is a tuple of whole numbers, got {shape!r}")
    if not 1 <= len(shape) <= 6 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                                           for d in shape):
        raise InputError(f"a shape has 1 to 6 positive whole numbers, got {tuple(shape)!r}")
    shape = tuple(int(d) for d in shape)
    if math.prod(shape) > max_elements:
        raise InputError(f"{shape} holds {math.prod(shape):,} elements, over the limit of {max_elements:,}")
    return shape


def _check_repeats(repeats):
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or not 1 <= repeats <= MAX_REPEATS:
        raise InputError(f"repeats must be a whole number from 1 to {MAX_REPEATS}, got {repeats!r}")
    return int(repeats)


def _run(groups, devices, broken, settings, progress):
    """Measure every entry of every group, repeats in turn within a group; the report.

    groups: {(device, dtype, numel): [_Entry]}, the entries of one group sharing one input.
    broken: {(device, impl): reason} known before the run not to run.
    """
    repeats = settings["repeats"]
    time_budget_s = settings["time_budget_s"]
    total = sum(len(entries) for entries in groups.values()) * repeats
    report_progress = progress or (lambda done, total, label: None)
    infos = [device_info(d) for d in devices]
    rows, skipped, broken = [], [], dict(broken)
    started = time.monotonic()
    truncated = False
    generator = torch.Generator().manual_seed(0)  # a local generator: no global random state
    done = 0

    def failed(entry, e):
        reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300]
        if entry.impl in ("numpy", "compiled"):
            broken[(entry.device, entry.impl)] = reason  # a failing core or compiler fails the same way every time
        _skip(skipped, entry.device, entry.impl, reason, kind=entry.kind, dtype=entry.dtype, shape=list(entry.shape))

    for (device, dtype, numel), entries in groups.items():
        x_flat = torch.randn(numel, generator=generator).to(device=device, dtype=DTYPES[dtype])  # one input at a time
        live = []  # the entries that are prepared and have not failed
        for r in range(repeats):
            for entry in entries:
                if r > 0 and entry not in live:  # skipped or failed in an earlier repeat
                    done += 1
                    continue
                if time.monotonic() - started >= time_budget_s:
                    truncated = True
                    break
                report_progress(done, total, f"{device} {dtype} {entry.kind} {entry.impl} {entry.shape}"
                                + (f" {r + 1}/{repeats}" if repeats > 1 else ""))
                done += 1
                if r == 0:
                    if (device, entry.impl) in broken:
                        _skip(skipped, device, entry.impl, broken[(device, entry.impl)])
                        continue
                    try:
                        entry.prepare(x_flat)
                    except Exception as e:  # noqa: BLE001 (an impl that cannot run is reported, not raised)
                        failed(entry, e)
                        continue
                    live.append(entry)
                try:
                    entry.measure(settings["min_run_time"])
                except Exception as e:  # noqa: BLE001
                    live.remove(entry)
                    failed(entry, e)
            if truncated:
                break
        rows.extend(entry.row() for entry in entries if entry in live and entry.medians)
        del x_flat, live
        if truncated:
            break
    report_progress(done, total, "stopped: time budget" if truncated else "done")
    _finish(rows, infos)
    primary = next((i for i in infos if i["type"] != "cpu"), infos[0])  # the accelerator where one ran
    return {
        "device": {k: v for k, v in primary.items() if k not in ("ceiling_gbps", "datasheet_gbps")},
        "ceiling_gbps": primary["ceiling_gbps"],
        "datasheet_gbps": primary["datasheet_gbps"],
        "truncated": truncated,
        "devices": infos,
        "settings": dict(settings, elapsed_s=round(time.monotonic() - started, 3)),
        "skipped": skipped,
        "results": rows,
    }


def _skip(skipped, device, impl, reason, **where):
    """Record once per (device, impl, reason) that an implementation did not run."""
    if not any(s["device"] == device and s["impl"] == impl and s["reason"] == reason for s in skipped):
        skipped.append({"device": device, "impl": impl, "reason": reason, **where})
