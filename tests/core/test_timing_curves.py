"""lnorm_core.timing.curves: the published rows grouped into series, and times read off a curve by
log-log interpolation, never beyond the measured sizes; checked against hand computations.
"""

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lnorm_core.errors import InputError
from lnorm_core.timing import curves, published


@pytest.fixture(scope="module")
def rows():
    return published.load_published()


def test_find_series_answers_one_kind_dtype_mode(rows):
    found = curves.find_series(rows, kind="layer", dtype="float32", mode="forward")
    pairs = [(s.key.gpu, s.key.provider) for s in found]
    assert ("NVIDIA H100 80GB HBM3", "huggingface") in pairs
    assert ("NVIDIA H100 80GB HBM3", "liger") in pairs
    assert ("NVIDIA H100 NVL", "torchcompile") in pairs
    assert pairs == sorted(set(pairs), key=pairs.index)  # each curve once
    for s in found:
        assert all(p.kind == "layer" and p.dtype == "float32" and p.mode == "forward" for p in s.points)
        assert len({(p.gpu, p.provider, p.implementation, p.source) for p in s.points}) == 1
        numels = [p.numel for p in s.points]
        assert numels == sorted(numels)
    h100 = [s for s in found if s.key.gpu == "NVIDIA H100 80GB HBM3" and s.key.provider == "huggingface"][0]
    assert [p.numel for p in h100.points] == [4096 * n for n in (1024, 2048, 4096, 8192, 16384)]
    total = sum(len(s.points) for s in curves.find_series(rows))
    assert total == len(rows)  # every row is in exactly one series


def test_find_series_orders_gpu_then_class(rows):
    found = curves.find_series(rows, kind="layer", dtype="float32", mode="forward", gpu="NVIDIA H100 NVL")
    assert [s.key.impl_class for s in found] == ["pytorch", "compiled", "fast kernel"]
    assert curves.find_series(rows, kind="batch") == ()
    assert all(not p.latency_bound for s in curves.find_series(rows, latency_bound=False) for p in s.points)


def series_of(times_by_numel, template):
    """A synthetic series: the template row at each size with the given time."""
    return tuple(dataclasses.replace(template, numel=n, input_shape=(n,), time_s=t)
                 for n, t in sorted(times_by_numel.items()))


@pytest.fixture(scope="module")
def template(rows):
    return rows[0]


def test_interpolation_is_exact_at_measured_sizes(rows):
    s = [s for s in curves.find_series(rows, kind="layer", dtype="float32", mode="forward",
                                          gpu="NVIDIA H100 80GB HBM3") if s.key.provider == "huggingface"][0]
    est = curves.interpolate_time(s.points, 4096 * 4096)
    assert est.method == "measured" and est.lower == est.upper == 4096 * 4096
    assert est.time_s == 0.06617599725723267e-3  # the row's own median, not a blend
    assert curves.interpolate_time(s, 4096 * 4096) == est  # a Series works as well as its points


def test_log_log_midpoint_is_the_geometric_mean(template):
    pts = series_of({2**20: 1e-5, 2**22: 9e-5}, template)
    mid = curves.interpolate_time(pts, 2**21)  # halfway in log size
    assert mid.method == "interpolated" and (mid.lower, mid.upper) == (2**20, 2**22)
    assert mid.time_s == pytest.approx(math.sqrt(1e-5 * 9e-5), rel=1e-12)  # 3e-5
    assert mid.time_s == pytest.approx(3e-5, rel=1e-12)
    # a quarter of the way: 2**21 between 2**20 and 2**24 -> t_a**0.75 * t_b**0.25 = 1e-5 * 16**0.25 = 2e-5
    quarter = curves.interpolate_time(series_of({2**20: 1e-5, 2**24: 16e-5}, template), 2**21)
    assert quarter.time_s == pytest.approx(2e-5, rel=1e-12)


def test_interpolation_never_extrapolates(template):
    pts = series_of({2**20: 1e-5, 2**22: 9e-5}, template)
    assert curves.interpolate_time(pts, 2**20 - 1) is None
    assert curves.interpolate_time(pts, 2**22 + 1) is None
    assert curves.interpolate_time(pts, 2**22).time_s == 9e-5


def test_several_shapes_of_one_size_give_their_geometric_mean(template):
    a = dataclasses.replace(template, numel=64, input_shape=(8, 8), time_s=1e-3)
    b = dataclasses.replace(template, numel=64, input_shape=(4, 16), time_s=4e-3)
    est = curves.interpolate_time((a, b), 64)
    assert est.method == "measured" and est.time_s == pytest.approx(2e-3, rel=1e-12)


def test_interpolation_refuses_mixed_or_empty_series(rows, template):
    with pytest.raises(InputError, match="one series"):
        curves.interpolate_time(rows[:10], 4096 * 2048)  # A100 and H100 rows of several providers
    with pytest.raises(InputError):
        curves.interpolate_time((), 10)
    with pytest.raises(InputError):
        curves.interpolate_time((template,), float("nan"))


sizes = st.lists(st.integers(min_value=1, max_value=2**34), min_size=2, max_size=8, unique=True).map(sorted)
times = st.floats(min_value=1e-7, max_value=10.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), numels=sizes)
def test_interpolated_time_lies_between_its_bracket(template, data, numels):
    ts = data.draw(st.lists(times, min_size=len(numels), max_size=len(numels)))
    pts = series_of(dict(zip(numels, ts)), template)
    n = data.draw(st.integers(min_value=numels[0], max_value=numels[-1]))
    est = curves.interpolate_time(pts, n)
    by_numel = dict(zip(numels, ts))
    assert est.lower <= n <= est.upper
    assert min(by_numel[est.lower], by_numel[est.upper]) <= est.time_s <= max(by_numel[est.lower], by_numel[est.upper])
    assert est.method == ("measured" if n in by_numel else "interpolated")


@settings(max_examples=200, deadline=None)
@given(data=st.data(), numels=sizes)
def test_monotone_data_stays_monotone(template, data, numels):
    ts = sorted(data.draw(st.lists(times, min_size=len(numels), max_size=len(numels))))
    pts = series_of(dict(zip(numels, ts)), template)
    n1, n2 = sorted(data.draw(st.lists(st.integers(numels[0], numels[-1]), min_size=2, max_size=2)))
    assert curves.interpolate_time(pts, n1).time_s <= curves.interpolate_time(pts, n2).time_s


def test_loglog_interpolation_by_hand():
    times = {1000: 1e-3, 4000: 4e-3, 16000: 8e-3}
    # 2000 is halfway between 1000 and 4000 in log size: the geometric mean of their times
    mid = curves.interpolate_loglog(times, 2000)
    assert mid.method == "interpolated" and (mid.lower, mid.upper) == (1000, 4000)
    assert mid.time_s == pytest.approx(math.sqrt(1e-3 * 4e-3))
    # a quarter of the way from 4000 to 16000 in log size: 4000 * 4**0.25 = 5656.85...
    q = curves.interpolate_loglog(times, 4000 * 4**0.25)
    assert q.time_s == pytest.approx(4e-3 * 2**0.25)
    assert curves.interpolate_loglog(times, 4000).method == "measured"
    assert curves.interpolate_loglog(times, 999) is None and curves.interpolate_loglog(times, 16001) is None
    assert curves.interpolate_loglog({8: [1.0, 4.0]}, 8).time_s == pytest.approx(2.0)  # geometric mean
    with pytest.raises(InputError):
        curves.interpolate_loglog({}, 8)
    with pytest.raises(InputError):
        curves.interpolate_loglog({8: -1.0}, 8)
