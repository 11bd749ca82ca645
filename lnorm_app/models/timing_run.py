"""A timing run from the Timing page: its limits, what it will time, taking turns, and whether to trust it.

    from lnorm_app.models import timing_run
    report = timing_run.run_in_turn(kinds=["layer"], impls=["native"], devices=["cpu"],
                                    sizes=timing_run.page_sweep(2**12, 2**20))
    verdict = timing_run.steadiness(report, recorded=shipped_report)   # steady, or what disagreed and why
    report = timing_run.measure_in_turn(timing_run.measure_plan(costs))  # a model's own tensors, at most 2^24

A run on a shared server competes with everyone else's work: the same call can take 100 µs,
3,414 µs and 12.8 µs in one minute. So a page run takes each measurement PAGE_REPEATS times in
turn (lnorm_core.timing's repeats), and `steadiness` says when its repeats disagree, when its
blocks vary, when a plain copy ran far below the shipped recording's, or when the machine was
loaded, each time naming the measurements and the numbers.
"""

import math
import os
import statistics
from dataclasses import dataclass

import torch

from lnorm_core import CLASS_NAMES, InputError, timing
from lnorm_core.errors import MAX_TIMING_ELEMENTS

from .timing_reports import size_text, us_text

# A run from the page, on a shared server with about 1 GB: at most 2**22 elements (16 MiB of float32;
# the manual and numpy implementations make a few copies of it), 20 s, short measurements.
PAGE_MAX_ELEMENTS = 2**22
PAGE_SIZES = tuple(2**p for p in range(8, 23, 2))  # the sizes offered: 2**8, 2**10, ..., 2**22
PAGE_DEFAULT_SIZES = (2**12, 2**20)
PAGE_TIME_BUDGET_S = 20.0
PAGE_REPEATS = 5  # each measurement taken 5 times, in turn with the others at its size
PAGE_MIN_RUN_TIME = 0.02  # seconds of timed calls per repeat: 0.1 s per measurement in all
# torch.compile is left out of the page: its compile takes 5-30 s and hundreds of MB per shape.
PAGE_IMPLS = ("native", "manual", "manual_var_mean", "numpy")
PAGE_DEFAULT_IMPLS = ("native", "manual")
# A run of a model's own shapes (the costs view): one tensor of at most 2^24 elements (64 MiB of float32)
# and its output, torch's kernel only, 3 repeats.
MEASURE_MAX_ELEMENTS = MAX_TIMING_ELEMENTS
MEASURE_REPEATS = 3

# When a run is not to be trusted
OUTLIER_FACTOR = 2.0  # a repeat more than 2x its measurement's median, or under half of it
MAX_SPREAD = 0.25  # IQR / median of the timed blocks of one measurement
CEILING_SHORTFALL = 0.5  # a plain copy at under half the shipped recording's GB/s at the same sizes


def threads():
    """The intra-op threads torch uses here: what a run uses (never changed by lnorm)."""
    return torch.get_num_threads()


def busy():
    """Whether a timing run holds the process-wide run lock now (a new run would wait for it)."""
    return timing.RUN_LOCK.locked()  # the harness's own lock, read and never taken here


def run_in_turn(on_wait=None, **kwargs):
    """timing.run_timing(**kwargs), calling on_wait() first when another run holds the lock.

    run_timing itself waits for the lock, so runs take turns; on_wait lets the caller
    say so before it blocks. The page's limits: at most PAGE_MAX_ELEMENTS elements and
    PAGE_TIME_BUDGET_S seconds, whatever kwargs ask for; PAGE_REPEATS repeats of
    PAGE_MIN_RUN_TIME unless kwargs say otherwise.
    """
    if kwargs.get("time_budget_s", PAGE_TIME_BUDGET_S) > PAGE_TIME_BUDGET_S:
        raise InputError(f"a run from the page has at most {PAGE_TIME_BUDGET_S:g} s")
    kwargs.setdefault("time_budget_s", PAGE_TIME_BUDGET_S)
    kwargs.setdefault("min_run_time", PAGE_MIN_RUN_TIME)
    kwargs.setdefault("repeats", PAGE_REPEATS)
    kwargs["max_elements"] = min(kwargs.get("max_elements", PAGE_MAX_ELEMENTS), PAGE_MAX_ELEMENTS)
    if on_wait is not None and busy():
        on_wait()
    return timing.run_timing(**kwargs)


def measure_in_turn(layers, on_wait=None, progress=None):
    """timing.time_layers(layers) at the page's limits (2^24 elements, 20 s, 3 repeats), taking turns like a run."""
    if on_wait is not None and busy():
        on_wait()
    return timing.time_layers(layers, max_elements=MEASURE_MAX_ELEMENTS, time_budget_s=PAGE_TIME_BUDGET_S,
                              repeats=MEASURE_REPEATS, progress=progress)


def too_big_to_measure(c):
    """Why the layers of a Costs cannot be timed from the page (None where they can): over the run's limit."""
    if c.numel <= MEASURE_MAX_ELEMENTS:
        return None
    return (f"{'×'.join(map(str, c.shape))} holds {c.numel:,} elements, more than a run from the page times "
            f"({MEASURE_MAX_ELEMENTS:,}, 2^24): time a smaller batch here (past the caches a norm's time grows about "
            "in proportion to its elements), or call lnorm_core.timing.time_layers in a notebook.")


def measure_plan(c):
    """The (kind, shape[, num_groups]) list timing.time_layers takes for a Costs' layers; InputError over the limit."""
    reason = too_big_to_measure(c)
    if reason:
        raise InputError(reason)
    return [(layer.kind, c.shape) + ((layer.num_groups,) if layer.num_groups else ()) for layer in c.layers]


def load_now():
    """The machine's load average over the last minute (None where the OS does not say): how busy the cores are."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


# ---- the run's settings --------------------------------------------------------------------


def page_sweep(low, high):
    """The sizes a run from the page times: low, 4*low, ... up to high (both powers of two), or InputError."""
    low, high = sorted((int(low), int(high)))
    if high > PAGE_MAX_ELEMENTS:
        raise InputError(f"the page times at most {PAGE_MAX_ELEMENTS:,} (2^22) elements; "
                         f"run `python -m lnorm_core.timing` for larger tensors")
    return timing.sweep_sizes(high, min_elements=low, factor=4)


def shapes_table(kinds, sizes):
    """Rows {"elements": ..., class name: shape text}: the tensor each kind is timed on at each size."""
    return [{"elements": size_text(n), **{CLASS_NAMES[k]: str(timing.shape_for(k, n)) for k in kinds}}
            for n in sizes]


def measurement_count(kinds, impls, devices, sizes, dtypes=("float32",)):
    """How many measurements a run makes: per device, dtype and size, the copy (and h2d) and kind x impl."""
    count = 0
    for device in devices:
        per_size = 1 + (device == "cuda") + len(kinds) * len(impls)
        count += per_size * len(sizes) * len([d for d in dtypes if d in timing.DEVICE_DTYPES[device]])
    return count


# ---- can the run be trusted? ---------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One reason to doubt a run: what ("outliers", "spread", "ceiling", "load"), a sentence, the rows it names.

    rows: (device, kind, impl, numel) of each measurement concerned (empty for "load").
    """

    what: str
    text: str
    rows: tuple


@dataclass(frozen=True)
class Steadiness:
    """Whether a run's numbers agree with themselves; findings say what did not, and why."""

    steady: bool
    findings: tuple
    repeats: int
    threads: int | None
    load: float | None
    measurements: int


def _what(r):
    """'LayerNorm native at 4,096 (2^12) elements', or 'the copy at ...'."""
    name = "the copy" if r["impl"] == "copy" else f"{CLASS_NAMES.get(r['kind'], r['kind'])} {r['impl']}"
    return f"{name} at {size_text(r['numel'])} elements"


def steadiness(report, recorded=None):
    """Whether a run (a report with repeats) can be trusted, as a Steadiness; pure arithmetic on the report.

    Findings, each with the numbers that raised it:
      outliers: a repeat more than OUTLIER_FACTOR times its measurement's median, or under 1/OUTLIER_FACTOR
                of it (needs 3 or more repeats: with 2 there is no majority to call one of them wrong);
      spread:   a measurement whose timed blocks vary by more than MAX_SPREAD (IQR / median);
      ceiling:  the run's plain copy at under CEILING_SHORTFALL of the recorded copy's GB/s, as the
                median over the sizes both measured on the CPU (recorded: a shipped report);
      load:     a load average at the start above the threads torch uses: other work shares the cores.
    """
    rows = [r for r in report["results"] if r["impl"] != "h2d"]
    findings = []

    odd = []  # (how far out, row)
    for r in rows:
        reps = r.get("repeats_s") or []
        if len(reps) >= 3:
            worst = max(max(t / r["median_s"], r["median_s"] / t) for t in reps)
            if worst > OUTLIER_FACTOR:
                odd.append((worst, r))
    if odd:
        worst, r = max(odd, key=lambda o: o[0])
        findings.append(Finding(
            "outliers",
            f"{len(odd)} of {len(rows)} measurements have a repeat more than {OUTLIER_FACTOR:g}× away from their "
            f"median; the worst, {_what(r)}: repeats of {', '.join(us_text(t) for t in r['repeats_s'])} "
            f"(one {worst:.0f}× off the median, {us_text(r['median_s'])}).",
            tuple((o["device"], o["kind"], o["impl"], o["numel"]) for _, o in odd)))

    wide = [r for r in rows if r["spread"] > MAX_SPREAD]
    if wide:
        r = max(wide, key=lambda r: r["spread"])
        findings.append(Finding(
            "spread",
            f"{len(wide)} of {len(rows)} measurements vary by more than {MAX_SPREAD:.0%} between timed blocks "
            f"(interquartile range over median); the worst, {_what(r)}: {r['spread']:.0%}.",
            tuple((r["device"], r["kind"], r["impl"], r["numel"]) for r in wide)))

    if recorded is not None:
        ours = {r["numel"]: r["gbps"] for r in rows if r["impl"] == "copy" and r["device"] == "cpu"}
        theirs = {r["numel"]: r["gbps"] for r in recorded["results"] if r["impl"] == "copy" and r["device"] == "cpu"}
        common = sorted(set(ours) & set(theirs))
        if common:
            ratio = statistics.median(ours[n] / theirs[n] for n in common)
            if ratio < CEILING_SHORTFALL:
                n = common[-1]
                cpu_here = next((i["name"] for i in report.get("devices") or [report["device"]]
                                 if i.get("type") == "cpu"), "?")
                cpu_then = recorded["device"].get("name", "?")
                other = "" if cpu_here == cpu_then else f" (or this is another CPU: {cpu_here}, the recording's " \
                                                       f"{cpu_then})"
                findings.append(Finding(
                    "ceiling",
                    f"A plain copy ran at {ratio:.0%} of the shipped recording's speed at the same sizes "
                    f"({ours[n]:.3g} GB/s against {theirs[n]:.3g} GB/s at {size_text(n)} elements): the machine "
                    f"is busier than when the recording was made{other}.",
                    tuple(("cpu", "copy", "copy", n) for n in common)))

    cpu = next((i for i in report.get("devices") or [report["device"]] if i.get("type") == "cpu"), report["device"])
    load, n_threads = cpu.get("load_avg_1min"), cpu.get("num_threads")
    if load is not None and n_threads and load > n_threads:
        findings.append(Finding(
            "load", f"The load average was {load:g} when the run began, with torch using {n_threads} threads: "
                    "other work was sharing these cores.", ()))

    repeats = (report.get("settings") or {}).get("repeats") or max(
        (len(r.get("repeats_s") or [1]) for r in rows), default=1)
    return Steadiness(steady=not findings, findings=tuple(findings), repeats=int(repeats), threads=n_threads,
                      load=load, measurements=len(rows))


def flagged(verdict):
    """The (device, kind, impl, numel) of every measurement a finding names."""
    return {key for f in verdict.findings for key in f.rows}


def spread_text(row):
    """A measurement's repeats as the page writes them: '12.1 µs (11.9 to 14.0 µs over 5 repeats)'."""
    reps = row.get("repeats_s") or []
    if len(reps) < 2:
        return us_text(row["median_s"])
    return f"{us_text(row['median_s'])} ({us_text(min(reps))} to {us_text(max(reps))} over {len(reps)} repeats)"


def relative_range(row):
    """(max - min) / median of a measurement's repeats, or None with fewer than two."""
    reps = row.get("repeats_s") or []
    return (max(reps) - min(reps)) / row["median_s"] if len(reps) >= 2 and math.isfinite(row["median_s"]) else None
