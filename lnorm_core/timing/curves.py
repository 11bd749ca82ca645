"""Curves of time against size: the published rows grouped into series, and a time read off a curve.

    series = find_series(rows, kind="layer", dtype="float32", mode="forward")   # rows: load_published()
    est = interpolate_time(series[0], 2**23)              # measured, interpolated (log-log), or None
    est = interpolate_loglog({4096: 1e-5, 65536: 9e-5}, 16384)   # any curve: lnorm's own rows too

A curve is never extrapolated: outside its measured sizes the answer is None, so a page says
"not measured" rather than guess.
"""

import math
from dataclasses import dataclass

from ..errors import InputError
from .bandwidth import is_real
from .published import IMPL_CLASSES, SeriesKey, series_key


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
    if not (is_real(numel) and numel > 0):
        raise InputError(f"numel must be a positive number, got {numel!r}")
    at = {}
    for n, ts in times_by_numel.items():
        ts = list(ts) if isinstance(ts, (list, tuple)) else [ts]
        if not (is_real(n) and n > 0 and ts and all(is_real(t) and t > 0 for t in ts)):
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
