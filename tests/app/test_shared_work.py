"""What a page shows of a result is built once and shared: lnorm_app.cache.derived and by_value, and the sealed
figures of lnorm_app.figures (shown_once, shown_by_value).

A figure or a text derived from a cached result must be the same object on every rerun that shows that
result, must be what building it afresh gives, must live no longer than the result, and must not be
changeable by one session for another.
"""

import dataclasses
import gc
import json

import orjson
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools
import pytest

from lnorm_app import figures
from lnorm_app.cache import by_value, derived
from lnorm_app.config import Config
from lnorm_app.models.explorer import explore


class Result:
    """A stand-in for a page model's result: any object that can be weakly referenced."""


def counting(fn):
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(len(args))  # not the arguments: holding them would keep them alive
        return fn(*args, **kwargs)
    return wrapped, calls


def test_derived_computes_once_per_object_and_arguments_and_forgets_with_the_object():
    fn, calls = counting(lambda obj, k=1: [id(obj), k])
    shared = derived(fn)
    a, b = Result(), Result()
    first = shared(a, 2)
    assert shared(a, 2) is first and len(calls) == 1
    assert shared(a, 3) is not first and shared(b, 2) is not first and len(calls) == 3
    assert shared.memo_size() == 3
    del a
    gc.collect()
    assert shared.memo_size() == 1  # a's two values went with a


def test_derived_keeps_at_most_per_object_argument_sets():
    fn, calls = counting(lambda obj, k: k)
    shared = derived(fn, per_object=2)
    obj = Result()
    for k in (1, 2, 3):
        shared(obj, k)
    shared(obj, 1)  # pushed out by 3
    assert len(calls) == 4 and shared.memo_size() == 2


def test_derived_computes_every_time_what_it_cannot_key():
    fn, calls = counting(lambda obj, *args: len(args))
    shared = derived(fn)
    shared((1, 2), 1), shared((1, 2), 1)  # a tuple cannot be weakly referenced
    obj = Result()
    shared(obj, [1]), shared(obj, [1])  # a list cannot be hashed
    assert len(calls) == 4 and shared.memo_size() == 0


def test_by_value_keys_on_values_and_lists_as_tuples():
    fn, calls = counting(lambda lines, title="t": (tuple(lines), title))
    shared = by_value(fn, maxsize=4)
    assert shared([1, 2], "a") is shared([1, 2], "a") and len(calls) == 1
    assert shared([1, 2], "b") != shared([1, 2], "a") and len(calls) == 2
    shared([{1: 2}], "a"), shared([{1: 2}], "a")  # a dict inside: not hashable, computed each time
    assert len(calls) == 4


@pytest.mark.parametrize("name, args", [("group_map", ()), ("stages_figure", ()), ("group_cube", (1,))])
def test_a_figure_is_built_once_per_result_and_shows_what_a_fresh_build_shows(name, args):
    e = explore(Config(seed=11, shape=(2, 4, 3, 3), kind="group", num_groups=2))
    shared = getattr(figures, name)
    fig = shared(e, *args)
    assert shared(e, *args) is fig
    # the dict it shows is the one plotly makes of the same figure
    reference = go.Figure(data=fig.data, layout=fig.layout, _validate=False)
    assert json.loads(pio.to_json(fig.to_dict(), validate=False)) == json.loads(
        pio.to_json(reference.to_dict(), validate=False))
    # what st.plotly_chart sends: the sealed dict itself, with no copy made on a rerun
    assert plotly.tools.return_figure_from_figure_or_data(fig, True) is fig.to_dict()


def test_a_sealed_figure_is_go_figure_to_the_code_that_reads_it():
    fig = figures.group_map(explore(Config(seed=12)))
    assert isinstance(fig, go.Figure)
    assert figures.note_of(fig) == ""
    assert go.Figure(fig.to_dict()).to_dict()["data"]  # plotly takes its dict back, validated


def test_timing_figures_are_built_once_for_the_same_lines():
    from lnorm_app.models import timing_reports as tv

    sources = tv.shipped_sources()
    assert tv.shipped_sources()[0] is sources[0]  # the same file: the same Source, so what derives from it stays
    a = figures.timing_time_figure(tv.series(sources, ["layer"], "float32", "median_s"))
    b = figures.timing_time_figure(tv.series(tv.shipped_sources(), ["layer"], "float32", "median_s"))
    assert a is b


def test_the_variance_sweep_figure_is_built_once_for_its_cached_sweep():
    from lnorm_app.models.compare import variance_sweep

    sweep = variance_sweep(1e3, "float16")
    assert variance_sweep(1e3, "float16") is sweep
    fig = figures.variance_sweep_figure(sweep, "float16", 0.1, None, 1e-3)
    assert figures.variance_sweep_figure(sweep, "float16", 0.1, None, 1e-3) is fig


def test_the_pitfalls_figure_is_built_once_for_its_cached_result():
    from lnorm_app.models.pitfalls import pitfalls

    result = pitfalls(Config(seed=15))
    assert pitfalls(Config(seed=15)) is result
    fig = figures.pitfall_differences(result.y_torch, result.rows)
    assert figures.pitfall_differences(result.y_torch, result.rows) is fig
    assert figures.pitfall_differences(pitfalls(Config(seed=16)).y_torch, pitfalls(Config(seed=16)).rows) is not fig


def test_the_weight_tab_and_same_pooling_maps_are_built_once_for_their_cached_results():
    """The Explorer's "Weight and bias" and "Same pooling" tabs: the WeightAndBias and the SameMaps are made once
    for their cached results, so their figures are built once and shared by every rerun, and a new seed's differ."""
    from lnorm_app.models.affine import same_pooling_maps, weight_and_bias

    config = Config(seed=13, shape=(2, 3, 4), kind="instance", affine=True, init="random")
    e, w = explore(config), weight_and_bias(config)
    assert weight_and_bias(config) is w
    assert figures.weight_map(w.map, "instance", e, w) is figures.weight_map(w.map, "instance", e, w)
    assert figures.affine_figure(e, w) is figures.affine_figure(e, w)
    maps = same_pooling_maps(config)
    assert same_pooling_maps(config) is maps and maps.claim  # InstanceNorm against LayerNorm: the claim's maps
    assert figures.weight_map(maps.claim[0].a, "instance") is figures.weight_map(maps.claim[0].a, "instance")
    other = weight_and_bias(dataclasses.replace(config, seed=14))
    assert other is not w and not (other.weight == w.weight).all()


@pytest.mark.parametrize("name, args", [("group_map", ()), ("stages_figure", ()), ("group_cube", (1,))])
def test_orjson_writes_a_sealed_figure_as_it_is(name, args):
    """st.plotly_chart writes the dict with plotly.io.to_json on every rerun; orjson takes it as it is, without
    plotly's cleaning walk (group_map's cell labels were an array of text), and writes what plotly's json engine
    writes."""
    fig = getattr(figures, name)(explore(Config(seed=11, shape=(2, 4, 3, 3), kind="group", num_groups=2)), *args)
    direct = orjson.dumps(fig.to_dict(), option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    assert json.loads(direct) == json.loads(pio.to_json(fig.to_dict(), validate=False, engine="json"))
