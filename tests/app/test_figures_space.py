"""Every figure builder over random shapes and sizes gives a figure plotly accepts.

1 to 6 dims, one panel to many, one row, one column, NaN and inf in the data: plotly takes
every property of each figure (it validates on assignment), writes it with to_json(validate=True),
and every subplot domain lies in [0, 1] with its low end below its high end. The numbers
drawn are arbitrary; what is checked is only that plotly takes the figure.
"""

import json
import math
import os
from types import SimpleNamespace

import numpy as np
import orjson
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from lnorm_app import figures as F
from lnorm_app.config import Config
from lnorm_app.figures.common import SEQUENTIAL, heatmap_panels, panel_axes
from lnorm_app.figures.sealed import SealedFigure
from lnorm_app.models import timing_reports as reports
from lnorm_app.models.affine import same_pooling_maps, weight_and_bias
from lnorm_app.models.explorer import explore
from page_links import MAX_PASTE, shapes

EXAMPLES = int(os.environ.get("LNORM_FUZZ_EXAMPLES", "0"))
FIGURES = settings(max_examples=EXAMPLES or 30, deadline=None, database=None, derandomize=not EXAMPLES,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])
# inputs up to 2^18 elements in CI (the grids already stride above MAX_CELLS / 5); the long run goes to MAX_ELEMENTS
MAX_INPUT = lc.MAX_ELEMENTS if EXAMPLES else 2**18
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, 1e300, -1e-300]


def _plain(fig):
    """A figure's data and layout as JSON, without the template (plotly fills that in its own way) and without
    empty objects and lists (plotly.js reads them as absent)."""
    def prune(v):
        if isinstance(v, dict):
            v = {k: prune(x) for k, x in v.items()}
            return {k: x for k, x in v.items() if x not in ({}, [])}
        return [prune(x) for x in v] if isinstance(v, list) else v
    d = json.loads(pio.to_json(fig, validate=False))
    d["layout"].pop("template", None)
    return prune(d)


def assert_plotly_accepts(fig):
    """plotly took every property (it validates each on assignment) and writes the figure as JSON with validation;
    each subplot domain is an ordered part of [0, 1]."""
    assert isinstance(fig, go.Figure)
    # every property validated (some builders skip plotly's validation for speed), and already in the form
    # validation gives it: a shorthand plotly.js no longer reads (a string axis title) would differ here
    validated = go.Figure(fig.to_dict())
    assert _plain(validated) == _plain(fig)
    pio.to_json(fig, validate=True)
    if isinstance(fig, SealedFigure):
        # its dict, made once, is written by orjson as it is (no cleaning walk on each rerun), and what it writes
        # is what plotly writes of the same figure: typed arrays and all
        sealed = orjson.dumps(fig.to_dict(), option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        reference = go.Figure(data=fig.data, layout=fig.layout, _validate=False).to_dict()
        assert json.loads(sealed) == json.loads(pio.to_json(reference, validate=False, engine="json"))
    for name, value in fig.to_dict()["layout"].items():
        domains = []
        if name.startswith(("xaxis", "yaxis")) and "domain" in value:
            domains.append(value["domain"])
        if name.startswith("scene") and "domain" in value:
            domains += [value["domain"][axis] for axis in ("x", "y") if axis in value["domain"]]
        for low, high in domains:
            assert 0 <= low <= high <= 1, (name, low, high)


@st.composite
def arrays(draw, max_elements=20_000, min_dims=1, max_dims=6):
    """A float64 array of 1 to 6 dims (sizes from 1), seeded, sometimes holding NaN, inf, 0 or huge values."""
    shape = draw(shapes(max_elements=max_elements, small=200).filter(lambda s: min_dims <= len(s) <= max_dims))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    a = (torch.randn(shape, generator=gen, dtype=torch.float64) * draw(st.sampled_from([1.0, 1e-12, 1e8]))).numpy()
    for _ in range(draw(st.integers(0, 3))):
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
    if draw(st.integers(0, 9)) == 0:
        a[...] = draw(st.sampled_from(SPECIAL))  # all one value: all NaN, all inf, all 0
    return a


# ---- the grid arithmetic ----------------------------------------------------------------------------


@given(st.integers(1, 40), st.data())
@FIGURES
def test_panel_grids_stay_in_the_unit_square(count, data):
    cols = data.draw(st.integers(1, count))
    rows = math.ceil(count / cols)
    hspace = data.draw(st.floats(0, 0.9 / max(cols - 1, 1)))
    vspace = data.draw(st.sampled_from([min(0.12, 0.4 / rows), 0.0, 0.9 / max(rows - 1, 1)]))
    layout, refs = panel_axes(count, cols, [f"panel {i}" for i in range(count)], hspace, vspace)
    assert len(refs) == count
    assert_plotly_accepts(go.Figure(layout=layout))


def test_two_rows_of_panels_have_domains_in_0_1():
    """The regression of issue 8: 4 to 6 panels lay out as two rows, and 1 - (h + 0.12) - h came out -5.6e-17
    for the lower row (h = 0.44), which plotly refused: every page with such a grid said "Something went wrong"."""
    for count in (4, 5, 6):
        layout, _ = panel_axes(count, 3, vspace=0.12)
        assert layout[f"yaxis{count}"]["domain"][0] == 0.0
        assert_plotly_accepts(go.Figure(layout=layout))
        assert_plotly_accepts(F.error_heatmap(np.zeros((count, 3, 3))))


# ---- the builders -----------------------------------------------------------------------------------


@given(arrays())
@FIGURES
def test_heatmap_panels_of_any_array(a):
    assert_plotly_accepts(F.error_heatmap(np.abs(a)))
    assert_plotly_accepts(F.train_eval_figure(a))
    assert_plotly_accepts(heatmap_panels(a, "t", "c", dict(colorscale=SEQUENTIAL), "%{z}", customdata=a,
                                          max_panels=24))


@st.composite
def configs(draw):
    """A Config torch accepts: any kind, a seeded draw of 1 to 6 dims or a pasted print with NaN or inf."""
    kind = draw(st.sampled_from(lc.KINDS))
    paste = draw(st.booleans())
    shape = draw(shapes(max_elements=MAX_PASTE if paste else MAX_INPUT))
    params = dict(kind=kind, seed=draw(st.integers(0, 1000)), affine=draw(st.booleans()),
                  init=draw(st.sampled_from(["default", "random"])), eps=draw(st.sampled_from([1e-5, 0.1, 0.0])))
    if paste:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(params["seed"]), dtype=torch.float64)
        for _ in range(draw(st.integers(0, 3))):
            x.view(-1)[draw(st.integers(0, x.numel() - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        params.update(source="paste", paste=str(x))
    else:
        params.update(shape=shape, offset=draw(st.sampled_from([0.0, 1e6])))
    if kind in ("layer", "rms"):
        params["normalized_shape"] = draw(st.sampled_from(lc.suffixes(shape)))
    if kind == "group":
        params["num_groups"] = draw(st.sampled_from(lc.divisors(shape[1] if len(shape) > 1 else 1)))
    if kind in ("batch", "instance"):
        params.update(training=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    config = Config(**params)
    try:
        explore(config)
    except lc.InputError:  # torch refuses this one (test_torch_refusals checks that against torch.nn)
        assume(False)
    return config


@given(configs(), st.integers(0, 10**6), st.integers(0, 10**6))
@FIGURES
def test_explorer_figures_of_any_input(config, selected, first):
    e = explore(config)
    assert_plotly_accepts(F.group_map(e))
    assert_plotly_accepts(F.group_cube(e, selected % e.n_groups))
    slices = F.as_panels(e.x).shape[0]
    assert_plotly_accepts(F.stages_figure(e, first=first % slices))
    w = weight_and_bias(config)
    if w.map is not None:
        assert_plotly_accepts(F.weight_map(w.map, e.spec.kind, e, w))
        assert_plotly_accepts(F.affine_figure(e, w, first=first % slices))


@given(configs())
@FIGURES
def test_same_pooling_weight_maps_of_any_input(config):
    """Two layers' weight maps wherever Same pooling says their affine differs (searched up to 4096 elements)."""
    maps = same_pooling_maps(config)
    for pair in maps.claim + tuple(p for p in maps.equivalents if p is not None):
        for m in (pair.a, pair.b):
            assert m.ids.shape == explore(config).x.shape
            assert_plotly_accepts(F.weight_map(m, pair.kind))


@given(arrays(max_elements=2000), st.data())
@FIGURES
def test_pitfall_figures_of_any_output(y, data):
    names = list(lc.MISTAKES)  # the builder labels each row by its mistakes' plain titles
    rows = [SimpleNamespace(mistakes=(names[i % len(names)],), y_head=(y + i).ravel()[:200], diff_head=np.full(min(y.size, 200), float(i)))
            for i in range(data.draw(st.integers(1, 12)))]
    assert_plotly_accepts(F.pitfall_differences(y, rows))
    assert_plotly_accepts(F.pitfall_bars(y, y * 2, "your output"))


@given(arrays(max_elements=2000, min_dims=2, max_dims=2))
@FIGURES
def test_running_stats_of_any_length(stats):
    assert_plotly_accepts(F.running_stats_figure(stats, np.abs(stats)))


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30), st.data())
@FIGURES
def test_variance_sweep_of_any_errors(errors, data):
    """Relative errors of any size: near float64's largest, the figure's top line went to 10.0 ** 310, an
    OverflowError (found by this test)."""
    offsets = np.concatenate([[0.0], np.logspace(0, data.draw(st.integers(0, 12)), len(errors) - 1)])
    with np.errstate(over="ignore"):
        sweep = {"offsets": offsets, "two_pass": np.abs(errors), "one_pass": np.asarray(errors) * 10,
                 "welford": errors}
    breakdown = data.draw(st.sampled_from([None, float(offsets[-1])]))
    for dtype in ("float32", "bfloat16"):
        assert_plotly_accepts(F.variance_sweep_figure(sweep, dtype, 0.1, breakdown, float(lc.ulp(1.0, dtype))))


@st.composite
def timing_lines(draw):
    """Series, Ceilings and Speedups as the Timing page's model makes them, with any numbers in them."""
    value = st.one_of(st.none(), st.floats(0, 1e12), st.sampled_from([math.nan, math.inf, 1e-300]))
    series, ceilings, ups = [], [], []
    for i in range(draw(st.integers(0, 6))):
        sizes = tuple(sorted(set(draw(st.lists(st.integers(1, 2**24), min_size=1, max_size=12)))))
        n = len(sizes)
        series.append(reports.Series(f"source {i % 2}", draw(st.sampled_from(["cpu", "cuda", "xpu"])), "layer",
                                     draw(st.sampled_from(["native", "manual", "copy", "other"])), "float32", "gbps",
                                     sizes, tuple(draw(value) for _ in range(n)), tuple(f"({s},)" for s in sizes),
                                     tuple(draw(value) for _ in range(n))))
        ceilings.append(reports.Ceiling(f"source {i}", "cpu", "a cpu", draw(st.floats(1e-3, 1e4)),
                                        draw(st.one_of(st.none(), st.floats(1, 1e4)))))
        ratio = tuple(draw(st.floats(0, 1e6)) for _ in range(n))
        ups.append(reports.Speedup(f"gpu {i}", "cpu", "cuda", "layer", "native", "float32", sizes,
                                   tuple(1.0 for _ in range(n)), ratio, ratio,
                                   draw(st.one_of(st.none(), st.sampled_from(sizes)))))
    return series, ceilings, ups


@given(timing_lines())
@FIGURES
def test_timing_figures_of_any_report(lines):
    series, ceilings, ups = lines
    assert_plotly_accepts(F.timing_time_figure(series))
    assert_plotly_accepts(F.timing_bandwidth_figure(series, ceilings))
    assert_plotly_accepts(F.timing_speedup_figure(ups))


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1, 1, 1, 1), (7, 1), (1, 7), (13, 1, 1), (2, 2, 2, 2, 2, 2)])
def test_figures_of_degenerate_shapes(shape):
    """One row, one column, all dims of size 1: the shapes most likely to leave an empty or inverted domain."""
    a = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    assert_plotly_accepts(F.error_heatmap(a))
    assert_plotly_accepts(F.train_eval_figure(a))
    config = Config(shape=shape, normalized_shape=shape[-1:], init="random")
    e, w = explore(config), weight_and_bias(config)
    for fig in (F.group_map(e), F.group_cube(e), F.stages_figure(e), F.weight_map(w.map, "layer", e, w),
                F.affine_figure(e, w)):
        assert_plotly_accepts(fig)


def test_variance_sweep_with_an_error_near_the_largest_float():
    """A relative error of 1e308 put the figure's top marker line at 10.0 ** 310: OverflowError."""
    sweep = {"offsets": np.array([0.0, 1.0, 10.0]), "one_pass": np.array([1e-3, 1e308, np.inf]),
             "two_pass": np.array([5e-324, 0.0, np.nan])}
    fig = F.variance_sweep_figure(sweep, "float16", 0.1, 10.0, 1e-3)
    assert_plotly_accepts(fig)
    tops = [max(t.y) for t in fig.data if t.name and t.name.startswith("NaN or inf")]
    assert tops == [1e308]


@st.composite
def clickable(draw):
    """A tensor small enough to click (1 to 4 dims, at most 4 panels of 6 x 8), a layer on it, a marked cell and
    some picked cells."""
    shape = draw(st.sampled_from([(8,), (1, 1), (6, 8), (4, 6, 8), (1, 3), (2, 2, 5, 1), (1, 4, 6, 8), (3, 1, 2)]))
    spec = lc.NormSpec("layer", normalized_shape=shape[-1:])
    size = math.prod(shape)
    focus = np.unravel_index(draw(st.integers(0, size - 1)), shape)
    picked = draw(st.sets(st.integers(0, size - 1), max_size=size))
    return spec, shape, tuple(int(i) for i in focus), sorted(picked)


@given(clickable())
@FIGURES
def test_practice_grids_of_any_clickable_tensor(case):
    """The grid a person clicks: every cell a point whose customdata is its flat index, once; the picked cells and
    the marked one coded as the legend says; and the checked grid, its cells split into right, missed and extra."""
    from lnorm_app.figures.practice import checked_figure, pick_figure

    spec, shape, focus, picked = case
    x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    fig = pick_figure(spec, shape, x, focus, picked)
    assert_plotly_accepts(fig)
    points = [t for t in fig.data if t.type == "scatter"]
    flat = sorted(int(i) for t in points for i in t.customdata)
    assert flat == list(range(x.size)) and len(points) <= 4
    codes = np.concatenate([np.asarray(t.z).ravel() for t in fig.data if t.type == "heatmap"])
    expected = np.zeros(x.size, dtype=int)  # cells in C order, panel by panel: as the flat indices run
    expected[picked] = 1
    expected[np.ravel_multi_index(focus, shape)] = 2
    assert codes.tolist() == expected.tolist()
    cells = set(picked[: len(picked) // 2]) | {int(np.ravel_multi_index(focus, shape))}
    chosen = set(picked)
    checked = checked_figure(spec, shape, x, focus, sorted(chosen & cells), sorted(cells - chosen),
                             sorted(chosen - cells))
    assert_plotly_accepts(checked)
    assert not [t for t in checked.data if t.type == "scatter"]  # nothing to click once checked
