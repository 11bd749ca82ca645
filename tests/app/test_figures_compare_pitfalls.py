"""The figure builders of the Compare and Pitfalls pages: the traces they draw, and their size limits.

The data handed to the builders are made here (by hand or with numpy/torch), not
by the code under test, except where a test checks a builder against a core result
it is meant to draw as given.
"""

import numpy as np
import pytest

from lnorm_app import figures
from lnorm_app.models.pitfalls import HEAD_ELEMENTS, Pitfall

ALGORITHMS = ("two_pass", "one_pass", "welford")


def _cells(fig):
    """Heatmap cells a figure sends: the size of every trace's z."""
    return sum(np.size(t.z) for t in fig.data if t.type == "heatmap")


def _pitfall(mistakes, y, y_torch):
    y = np.asarray(y, dtype=np.float64)
    diff = y - np.asarray(y_torch, dtype=np.float64)
    head = lambda a: a.ravel()[:HEAD_ELEMENTS]  # noqa: E731 - as the model keeps them
    return Pitfall(tuple(mistakes), y.shape, head(y), head(diff), float(np.abs(diff).max()), ("wrong",), ("fix",),
                   "what goes wrong")


# ---- compare ----------------------------------------------------------------------------------


def test_error_heatmap_draws_one_heatmap_per_slice_and_colours_on_a_log_scale():
    err = np.array([[[0.0, 1e-7], [1e-6, 2e-8]], [[1e-5, 0.0], [3e-7, 1e-9]]])  # (2, 2, 2): two slices
    fig = figures.error_heatmap(err)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert figures.note_of(fig) == ""
    z0 = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_allclose(z0[0, 1], -7.0)  # log10 of 1e-7
    np.testing.assert_allclose(z0[1, 0], -6.0)
    floor = fig.layout.coloraxis.cmin
    assert z0[0, 0] == floor < -9  # an exact 0 is drawn at the floor, below the smallest error
    np.testing.assert_array_equal(np.asarray(fig.data[0].customdata, dtype=float), err[0])  # hover: the raw error


def test_error_heatmap_leaves_an_infinite_error_blank():
    fig = figures.error_heatmap(np.array([1e-3, np.inf, 0.0]))
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1]) and np.isfinite(z[0, 0]) and np.isfinite(z[0, 2])


def test_error_heatmap_respects_max_cells_for_the_largest_input():
    err = np.random.default_rng(0).random((1024, 1024))
    fig = figures.error_heatmap(err)
    assert 0 < _cells(fig) <= figures.MAX_CELLS
    assert "every" in figures.note_of(fig) and "every" in fig.layout.title.text  # it says a part is shown


def test_variance_plot_has_one_trace_per_algorithm_with_the_sweep_values_as_given():
    offsets = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    sweep = {"offsets": offsets,
             "two_pass": np.array([1e-8, 2e-8, 0.0, 3e-8, 4e-8]),  # an exact zero
             "one_pass": np.array([1e-8, 1e-7, 1e-5, 1e-3, np.nan]),  # a NaN (0/0)
             "welford": np.array([3e-8, 3e-8, 3e-8, np.inf, 3e-8])}  # an overflow
    fig = figures.variance_sweep_figure(sweep, "float32", threshold=1e-2, breakdown=1000.0, eps=2.0**-23)
    for alg in ALGORITHMS:
        traces = [t for t in fig.data if t.legendgroup == alg]
        assert len(traces) == 1, alg
        np.testing.assert_array_equal(np.asarray(traces[0].y, dtype=float), sweep[alg])
        np.testing.assert_array_equal(np.asarray(traces[0].x, dtype=float), offsets)
    names = [t.name for t in fig.data]
    zeros = fig.data[names.index("exactly 0 (drawn at the bottom)")]
    assert list(zeros.x) == [10.0] and zeros.y[0] < 1e-8  # below every non-zero error
    bad = fig.data[names.index("NaN or inf (drawn at the top)")]
    assert sorted(bad.x) == [100.0, 1000.0] and bad.y[0] > 1e-3
    assert "1% off" in names and "machine epsilon of float32" in names
    assert any("breaks down" in n for n in names)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_variance_plot_without_zeros_or_nan_has_no_marker_traces():
    offsets = np.array([0.0, 1.0, 10.0])
    sweep = {"offsets": offsets, **{a: np.array([1e-8, 2e-8, 3e-8]) for a in ALGORITHMS}}
    fig = figures.variance_sweep_figure(sweep, "float64")
    assert [t.legendgroup for t in fig.data] == list(ALGORITHMS)


# ---- pitfalls ---------------------------------------------------------------------------------


def test_pitfall_differences_has_one_row_per_pitfall_and_prints_small_ones():
    y_torch = np.array([-1.5194, 0.8530, -0.2758, 0.9422])
    rows = [_pitfall(("unbiased",), [-1.3158, 0.7387, -0.2389, 0.8159], y_torch),
            _pitfall(("unbiased", "std_under_sqrt"), [-1.7049, 0.9572, -0.3095, 1.0572], y_torch)]
    fig = figures.pitfall_differences(y_torch, rows)
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    assert list(fig.data[0].y) == ["n−1 in the variance", "n−1 in the variance + std under the square root"]
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float)[1], [-0.1855, 0.1042, -0.0337, 0.1150],
                               atol=1e-12)
    assert fig.data[0].texttemplate  # 4 elements: the numbers are written in the cells
    assert figures.note_of(fig) == ""


def test_pitfall_differences_shows_a_part_of_a_large_tensor_and_says_so():
    y_torch = np.zeros((1024, 1024))
    rows = [_pitfall(("no_eps",), np.ones((1024, 1024)), y_torch)]
    fig = figures.pitfall_differences(y_torch, rows)
    assert 0 < _cells(fig) <= figures.MAX_CELLS
    assert "of 1,048,576 elements" in figures.note_of(fig)


def test_pitfall_bars_put_torch_beside_the_mistake():
    y_torch = np.arange(100.0).reshape(10, 10)
    fig = figures.pitfall_bars(y_torch, y_torch + 1, "no_eps", max_elements=32)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert [t.name for t in fig.data] == ["torch (right)", "no_eps"]
    np.testing.assert_array_equal(np.asarray(fig.data[1].y, dtype=float), np.arange(32.0) + 1)
    assert list(fig.data[0].x[:2]) == ["[0, 0]", "[0, 1]"]
    assert "the first 32 of 100 elements" in figures.note_of(fig)


def test_running_stats_figure_draws_a_line_per_channel_for_mean_and_variance():
    steps = np.arange(6.0)[:, None]
    rm = steps * np.array([0.1, 0.2, 0.3])  # (steps + 1, C)
    rv = 1.0 + steps * np.array([0.0, 0.1, -0.1])
    fig = figures.running_stats_figure(rm, rv)
    assert len(fig.data) == 6 and all(t.type == "scatter" for t in fig.data)
    np.testing.assert_array_equal(np.asarray(fig.data[2].y, dtype=float), rm[:, 1])  # channel 1, running_mean
    np.testing.assert_array_equal(np.asarray(fig.data[3].y, dtype=float), rv[:, 1])
    assert figures.note_of(fig) == ""


def test_running_stats_figure_keeps_a_few_channels_of_many():
    fig = figures.running_stats_figure(np.zeros((3, 512)), np.ones((3, 512)), max_channels=12)
    assert len(fig.data) == 24
    assert "the first 12 of 512 channels" in figures.note_of(fig)


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (1024, 1024)])
def test_train_eval_figure_is_a_diverging_heatmap_within_max_cells(shape):
    diff = np.random.default_rng(1).standard_normal(shape)
    fig = figures.train_eval_figure(diff)
    assert fig.data and all(t.type == "heatmap" for t in fig.data)
    assert 0 < _cells(fig) <= figures.MAX_CELLS
    assert fig.layout.coloraxis.cmin == -fig.layout.coloraxis.cmax


# ---- the finder's figures ----------------------------------------------------------------------


def _pooling(layer_ids, other_ids, focus):
    from lnorm_app.models.pooling import Pooling

    mine, theirs = layer_ids == layer_ids[focus], other_ids == other_ids[focus]
    membership = np.where(mine & theirs, 1, np.where(mine, 2, np.where(theirs, 3, 0)))
    return Pooling(layer_ids, other_ids, focus, membership, "LayerNorm((4,))", "the whole sample", False,
                   int(mine.sum()), int(theirs.sum()), (), "x[1, 0, :]", "x[1, :, :]")


def test_pooling_figure_colours_the_cells_where_two_poolings_differ():
    rows = np.arange(6).reshape(2, 3, 1).repeat(4, axis=2)  # LayerNorm(4) on (2, 3, 4): a group per row
    samples = np.arange(2).reshape(2, 1, 1).repeat(3, axis=1).repeat(4, axis=2)  # the whole sample
    fig = figures.pitfalls.pooling_figure(_pooling(rows, samples, (1, 0, 2)))
    z = np.stack([np.asarray(t.z) for t in fig.data])
    expected = np.zeros((2, 3, 4))
    expected[1] = 3  # only in the whole sample's group
    expected[1, 0] = 1  # in both: the row of the focus element
    np.testing.assert_array_equal(z, expected)
    assert fig.data[1].text[0][0] == "3 · 1"  # x[1, 0, 0]: row 3 of LayerNorm, sample 1 of the whole sample
    assert fig.layout.title.text.startswith("The groups of x[1, 0, 2]")


def test_pooling_figure_of_a_large_tensor_stays_within_the_cell_budget():
    ids = np.arange(1024).repeat(1024).reshape(1024, 1024)
    fig = figures.pitfalls.pooling_figure(_pooling(ids, np.zeros_like(ids), (3, 5)))
    assert sum(np.size(t.z) for t in fig.data) <= figures.MAX_CELLS
    assert figures.note_of(fig) and fig.data[0].text is None
    custom = np.asarray(fig.data[0].customdata)  # each shown cell's two group ids, as the hover names them
    shown = np.ix_(np.asarray(fig.data[0].y), np.asarray(fig.data[0].x))  # the rows and columns the axes name
    np.testing.assert_array_equal(custom[..., 0], ids[shown])
    np.testing.assert_array_equal(custom[..., 1], 0)
    assert custom.dtype.itemsize <= 2  # ids below 65536 go out as 2 bytes each (base64), not 4 or 8


def test_pooling_figure_keeps_group_ids_beyond_16_bits():
    ids = np.arange(70000 * 2).reshape(2, 70000)  # InstanceNorm-like: every element its own group
    fig = figures.pitfalls.pooling_figure(_pooling(ids, ids // 2, (1, 69999)))
    custom = np.asarray(fig.data[0].customdata)
    shown = np.ix_(np.asarray(fig.data[0].y), np.asarray(fig.data[0].x))
    np.testing.assert_array_equal(custom[..., 0], ids[shown])  # not wrapped round to 16 bits
    np.testing.assert_array_equal(custom[..., 1], ids[shown] // 2)
    assert custom.max() >= 65536


def test_steps_table_fills_the_first_differing_step():
    from lnorm_app.models.finder import StepRow

    rows = [StepRow("mean", "mean = sum / n", "0.5000", "mean = sum / n", "0.5000", "same"),
            StepRow("variance", "var = ... / n", "1.0000", "var = ... / (n - 1)", "1.3333", "first"),
            StepRow("affine", "y", "[1.0]", "y", "[0.9]", "differs")]
    title, table = figures.pitfalls.steps_table(rows, "n−1 in the variance")
    lines = table.splitlines()
    assert lines[0] == "| step | the layer computes | its numbers | n−1 in the variance computes | its numbers |"
    assert lines[2].startswith("| 2 mean | mean = sum / n | 0\\.5000 |")  # a step that agrees: plain
    assert lines[3].startswith("| :red-background[**3 variance ◀ first difference**] |")  # the first to differ
    assert "**1\\.3333**" in lines[3]
    assert lines[4].startswith("| :orange-background[5 affine ≠] |") and "**\\[0\\.9\\]**" in lines[4]
    assert title.endswith("they part at variance")


def test_steps_table_cells_are_text_never_markdown():
    from lnorm_app.models.finder import StepRow

    rows = [StepRow("mean", "x_1 + ... + x_n | *a* [b](c)", "`1`", "<b>", "$x$", "same")]
    _, table = figures.pitfalls.steps_table(rows, "w")
    cells = table.splitlines()[2].split(" | ")
    assert len(cells) == 5  # the | in a label does not add a column
    line = table.splitlines()[2]
    for ch in "*_`[]<>$":
        assert all(line[i - 1] == "\\" for i, c in enumerate(line) if c == ch), ch  # every one escaped
