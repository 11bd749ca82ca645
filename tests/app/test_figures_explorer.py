"""The explorer's figure builders: what they draw, and that no figure sends more than MAX_CELLS cells.

The expected group of every cell comes from lc.group_ids (the core), and the
expected values from the Exploration the builders are handed.
"""

import dataclasses

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

import lnorm_core as lc
from lnorm_app import figures as F
from lnorm_app.config import Config
from lnorm_app.figures.explorer import cube_shape
from lnorm_app.models.affine import param_map, weight_and_bias
from lnorm_app.models.explorer import explore

LARGE = {
    "(1024, 1024)": Config(shape=(1024, 1024), normalized_shape=(1024,)),
    "(8, 128, 512)": Config(shape=(8, 128, 512), normalized_shape=(512,)),
    "(1024, 1024) GroupNorm, 1M groups": Config(kind="group", shape=(1024, 1024), num_groups=1024),
    "(8, 128, 512) BatchNorm": Config(kind="batch", shape=(8, 128, 512)),
}


def _heatmaps(fig):
    return [t for t in fig.data if isinstance(t, go.Heatmap)]


def _cells(fig):
    return sum(np.asarray(t.z).size for t in _heatmaps(fig))


@pytest.mark.parametrize("name", list(LARGE))
@pytest.mark.parametrize("builder", [F.group_map, F.stages_figure], ids=["group_map", "stages"])
def test_no_figure_sends_more_than_max_cells(name, builder):
    fig = builder(explore(LARGE[name]))
    assert isinstance(fig, go.Figure)
    assert 0 < _cells(fig) <= F.MAX_CELLS
    assert F.note_of(fig)  # and it says that it shows a part
    assert "showing" in fig.layout.title.text


@pytest.mark.parametrize("name", list(LARGE))
def test_the_cube_caps_its_markers(name):
    e = explore(LARGE[name])
    fig = F.group_cube(e, selected=5)
    markers = sum(len(t.x) for t in fig.data)
    assert markers <= F.MAX_CUBE_POINTS
    assert "of 1,048,576 elements" in F.note_of(fig) or "of 524,288 elements" in F.note_of(fig)
    chosen = fig.data[-1]
    assert len(chosen.x) > 0 and chosen.name.startswith("group 5: ")
    # every marker of the chosen trace is in group 5, and no marker of the other traces is
    ids = e.f.ids.reshape(cube_shape(e.x.shape))
    assert set(ids[np.asarray(chosen.z), np.asarray(chosen.x), np.asarray(chosen.y)]) == {5}
    for other in fig.data[:-1]:
        assert 5 not in set(ids[np.asarray(other.z), np.asarray(other.x), np.asarray(other.y)])


def test_group_map_colours_cells_by_the_cores_group_ids():
    e = explore(Config(kind="group", shape=(2, 4, 3, 3), num_groups=2))
    fig = F.group_map(e)
    maps = _heatmaps(fig)
    assert len(maps) == 8  # one panel per (n, c) slice
    ids = lc.group_ids(lc.NormSpec("group", num_groups=2), (2, 4, 3, 3)).reshape(8, 3, 3)
    for k, trace in enumerate(maps):
        np.testing.assert_array_equal(np.asarray(trace.z), ids[k])
    assert [a.text for a in fig.layout.annotations][:2] == ["x[0, 0, :, :]", "x[0, 1, :, :]"]
    assert F.note_of(fig) == ""
    # the hover says the value, the group and its statistics, and the index of the cell
    custom = np.asarray(maps[3].customdata)  # x[0, 3, :, :]
    np.testing.assert_array_equal(custom[..., 0], e.x[0, 3])
    np.testing.assert_array_equal(custom[..., 1], ids[3])
    np.testing.assert_array_equal(custom[..., 2], e.f.mean[ids[3]])
    np.testing.assert_array_equal(custom[..., 3], e.f.var[ids[3]])
    assert maps[3].hovertemplate.startswith("x[0, 3, %{y}, %{x}]")
    assert "group var" in maps[3].hovertemplate and "group mean" in maps[3].hovertemplate


def test_group_map_layer_norm_rows_and_axis_names():
    e = explore(Config())  # LayerNorm((4,)) on (2, 3, 4): each row of a slice is a group
    fig = F.group_map(e)
    maps = _heatmaps(fig)
    assert len(maps) == 2
    np.testing.assert_array_equal(np.asarray(maps[1].z), [[3, 3, 3, 3], [4, 4, 4, 4], [5, 5, 5, 5]])
    assert fig.layout.xaxis.title.text == "dim (dim 2)"
    assert fig.layout.yaxis.title.text == "seq (dim 1)"
    assert "6 groups of 4" in fig.layout.title.text


def test_group_map_with_more_groups_than_colour_bands_keeps_ids_in_the_hover():
    e = explore(LARGE["(1024, 1024) GroupNorm, 1M groups"])
    trace = _heatmaps(F.group_map(e))[0]
    z = np.asarray(trace.z)
    assert z.max() < len(F.GROUP_COLORS)  # colours cycle
    np.testing.assert_array_equal(np.asarray(trace.customdata)[..., 1] % len(F.GROUP_COLORS), z)


def test_stages_side_by_side_on_one_scale():
    e = explore(Config(init="random"))
    fig = F.stages_figure(e)
    maps = _heatmaps(fig)
    assert len(maps) == 2 * 5  # 2 slices x (input, mean, var, x_hat, y)
    assert {t.coloraxis for t in maps} == {"coloraxis"}
    lo, hi = fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax
    assert lo == -hi and hi >= np.abs(e.f.y).max() and hi >= np.abs(e.x).max()
    np.testing.assert_array_equal(np.asarray(maps[0].z), e.x[0])
    np.testing.assert_array_equal(np.asarray(maps[1].z), e.f.mean[e.f.ids[0]])
    np.testing.assert_array_equal(np.asarray(maps[3].z), e.f.x_hat[0])
    np.testing.assert_array_equal(np.asarray(maps[9].z), e.f.y[1])
    columns = [a.text for a in fig.layout.annotations][:5]
    assert columns[0] == "input x" and columns[3] == "normalized x̂"


def test_stages_rms_has_no_mean_column_and_slices_can_start_later():
    e = explore(Config(kind="rms", shape=(6, 2, 3), normalized_shape=(3,)))
    fig = F.stages_figure(e, first=4, max_slices=3)
    assert len(_heatmaps(fig)) == 2 * 4  # slices 5 and 6, four stages
    assert F.note_of(fig) == "slices 5–6 of 6"
    np.testing.assert_array_equal(np.asarray(_heatmaps(fig)[0].z), e.x[4])
    assert "mean square" in [a.text for a in fig.layout.annotations][1]


@pytest.mark.parametrize("config", [
    Config(kind="rms", shape=(7,), normalized_shape=(7,)),
    Config(kind="batch", shape=(5, 3), training=False),
    Config(kind="instance", shape=(2, 2, 2, 2, 2, 3), affine=False),
], ids=["1-D", "2-D eval", "6-D"])
def test_every_builder_draws_odd_shapes(config):
    e = explore(config)
    for fig in (F.group_map(e), F.group_cube(e, selected=e.n_groups - 1), F.stages_figure(e)):
        assert isinstance(fig, go.Figure) and len(fig.data) > 0
        fig.to_json()  # serializable as Streamlit sends it


def test_stages_mark_nan_and_inf_cells_in_words():
    e = explore(Config(source="paste", paste="[[1.0, nan, 2.0], [1.0, 2.0, 4.0], [inf, 0.0, 1.0]]",
                       normalized_shape=(3,)))
    fig = F.stages_figure(e)
    marks = [t for t in fig.data if t.type == "scatter"]
    words = sorted(w for t in marks for w in t.text)
    # input: 1 NaN and 1 inf; then the 3 cells of each of the 2 poisoned groups in mean, var, x_hat and y.
    # Group 2's mean is inf (inf + 0 + 1), its variance NaN (inf - inf): 1 + 3 infs in all.
    assert len(words) == 2 + 4 * 6
    assert words.count("inf") == 4 and words.count("NaN") == 22


# ---- the cube reads well: ticks, ranges, the chosen group and the legend -----------------------------


def _cube_axes(fig):
    """(axis, size along it) for the cube's x, y and z: dim 1, the rest merged, dim 0."""
    scene = fig.layout.scene
    return [(scene.xaxis, 1), (scene.yaxis, 2), (scene.zaxis, 0)]


@pytest.mark.parametrize("config", [
    Config(kind="group", shape=(2, 4, 3, 3), num_groups=2),
    Config(shape=(8, 128, 512), normalized_shape=(512,)),
    Config(kind="group", shape=(4, 32, 16, 16), num_groups=8),
    Config(kind="batch", shape=(5, 3)),
], ids=["(2, 4, 3, 3) GroupNorm(2)", "(8, 128, 512) LayerNorm", "(4, 32, 16, 16) GroupNorm(8)", "2-D"])
def test_cube_axes_have_integer_ticks_to_the_last_index_and_half_a_cell_of_room(config):
    e = explore(config)
    dims = cube_shape(e.x.shape)
    fig = F.group_cube(e)
    for axis, dim in _cube_axes(fig):
        size = dims[dim]
        ticks = list(axis.tickvals)
        assert ticks[0] == 0 and ticks[-1] == size - 1  # starts at the first index and reaches the last
        assert all(isinstance(t, int) for t in ticks) and ticks == sorted(set(ticks))
        assert len(ticks) <= 12  # labels that do not run into each other
        if size <= 4:
            assert ticks == list(range(size))  # every index of a short axis
        lo, hi = sorted(axis.range)
        assert lo <= -0.5 and hi >= size - 0.5  # no marker of the first or last index is cut
        assert hi - lo <= size + 1
        assert list(axis.ticktext) == [str(t) for t in ticks]


def test_cube_the_chosen_group_stands_out_and_the_legend_names_every_group():
    e = explore(Config(kind="group", shape=(2, 4, 3, 3), num_groups=2))
    fig = F.group_cube(e, selected=2)
    names = [t.name for t in fig.data]
    assert names == ["group 0", "group 1", "group 3", "group 2: its 18 elements, one mean and one variance"]
    ids = lc.group_ids(lc.NormSpec("group", num_groups=2), (2, 4, 3, 3)).reshape(2, 4, 9)
    for trace in fig.data:  # each trace holds exactly its group's elements (the core's ids)
        g = int(trace.name.split()[1].rstrip(":"))
        got = ids[np.asarray(trace.z), np.asarray(trace.x), np.asarray(trace.y)]
        assert set(got) == {g} and len(got) == 18
    chosen, faint = fig.data[-1].marker, fig.data[0].marker
    assert chosen.opacity == 1 and faint.opacity < 0.5
    assert chosen.size > faint.size and chosen.line.width > 0
    assert fig.layout.legend.title.text == "which is which"
    assert "x as the cube (2, 4, 9): N (dim 0), C (dim 1), H·W (dims 2, 3)" in fig.layout.title.text


def test_cube_with_many_groups_has_one_legend_entry_for_the_others():
    e = explore(Config(shape=(8, 128, 512), normalized_shape=(512,)))
    fig = F.group_cube(e, selected=3)
    assert [t.name for t in fig.data] == ["the other 1,023 groups (colours repeat)",
                                         "group 3: its 512 elements, one mean and one variance"]
    assert len(fig.data[-1].x) == 512  # the whole chosen row


def test_short_panel_axes_tick_every_index_not_halves():
    e = explore(Config(shape=(4, 2, 3), normalized_shape=(2, 3)))  # panels of 2 rows: plotly would tick 0.5
    for fig in (F.group_map(e), F.stages_figure(e)):
        assert list(fig.layout.yaxis.tickvals) == [0, 1]
        assert list(fig.layout.xaxis.tickvals) == [0, 1, 2]


# ---- the weight and bias: which entry scales each element --------------------------------------------


def _weights(config):
    return explore(config), weight_and_bias(config)


@pytest.mark.parametrize("name", list(LARGE))
def test_weight_figures_send_at_most_max_cells(name):
    config = dataclasses.replace(LARGE[name], init="random")
    e, w = _weights(config)
    for fig in (F.weight_map(w.map, e.spec.kind, e, w), F.affine_figure(e, w)):
        assert 0 < _cells(fig) <= F.MAX_CELLS
        assert "showing" in fig.layout.title.text and F.note_of(fig)


def test_weight_map_of_layer_norm_3_4_names_each_entry_once_per_sample():
    """LayerNorm((3, 4)) on (2, 3, 4): both slices x[0] and x[1] hold the 12 entries w[0,0]..w[2,3], in place."""
    e, w = _weights(Config(shape=(2, 3, 4), normalized_shape=(3, 4), init="random", seed=4))
    fig = F.weight_map(w.map, "layer", e, w)
    maps = _heatmaps(fig)
    assert len(maps) == 2
    for trace in maps:
        np.testing.assert_array_equal(np.asarray(trace.z), np.arange(12).reshape(3, 4))
        assert trace.text[1][2] == "w[1,2]" and trace.text[2][3] == "w[2,3]"
    assert fig.layout.title.text.startswith("weight (3, 4): 12 entries")
    # the hover's numbers: x̂, the entry's weight and bias (torch's seeded draw), and y = x̂ · weight + bias
    torch.manual_seed(5)
    weight = torch.randn(3, 4).double().numpy()
    torch.manual_seed(6)
    bias = torch.randn(3, 4).double().numpy()
    custom = np.asarray(maps[1].customdata)  # x[1, :, :]
    np.testing.assert_array_equal(custom[..., 0], np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(custom[..., 1:3], np.stack(np.indices((3, 4)), axis=-1))
    np.testing.assert_array_equal(custom[..., 4], weight)
    np.testing.assert_array_equal(custom[..., 5], bias)
    y = torch.nn.functional.layer_norm(torch.from_numpy(e.x.copy()), (3, 4), torch.from_numpy(weight),
                                       torch.from_numpy(bias), 1e-5).numpy()
    np.testing.assert_allclose(custom[..., 6], y[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(custom[..., 3] * custom[..., 4] + custom[..., 5], y[1], rtol=0, atol=1e-12)
    assert "weight[%{customdata[1]:.0f}, %{customdata[2]:.0f}]" in maps[0].hovertemplate


def test_weight_map_of_batch_norm_shows_the_channel_axis():
    """BatchNorm on (2, 4, 3, 3): every slice x[n, c] is scaled whole by w[c]; its title says so."""
    e, w = _weights(Config(kind="batch", shape=(2, 4, 3, 3)))
    fig = F.weight_map(w.map, "batch", e)
    maps = _heatmaps(fig)
    assert len(maps) == 8
    for k, trace in enumerate(maps):
        np.testing.assert_array_equal(np.asarray(trace.z), np.full((3, 3), k % 4))
    titles = [a.text for a in fig.layout.annotations]
    assert titles[2] == "x[0, 2, :, :]<br>→ w2" and titles[7] == "x[1, 3, :, :]<br>→ w3"
    assert fig.layout.xaxis5.title.text == "W (dim 3)" and fig.layout.yaxis.title.text == "H (dim 2)"


def test_weight_map_of_a_layer_run_on_a_view_of_x_is_drawn_on_x():
    """LayerNorm((8,)) on x.transpose(1, 2) of x (2, 8, 5): its weight runs along dim 1 of x."""
    x_shape = (2, 8, 5)
    view = lc.View("x.transpose(1, 2)", (0, 2, 1), (2, 5, 8))
    m = param_map(lc.NormSpec("layer", normalized_shape=(8,)), view.shape, view, x_shape)
    assert m.on == "x.transpose(1, 2)" and m.param_shape == (8,)
    np.testing.assert_array_equal(m.ids, np.broadcast_to(np.arange(8)[None, :, None], x_shape))
    fig = F.weight_map(m, "layer")
    assert "runs on x.transpose(1, 2)" in fig.layout.title.text


def test_affine_figure_is_x_hat_times_weight_plus_bias_per_element():
    e, w = _weights(Config(kind="group", shape=(2, 4, 3), num_groups=2, init="random", seed=1))
    fig = F.affine_figure(e, w)
    maps = _heatmaps(fig)
    assert [a.text for a in fig.layout.annotations][:4] == ["normalized x̂", "× weight[e]", "+ bias[e]", "= output y"]
    torch.manual_seed(2)
    weight = torch.randn(4).double().numpy()  # GroupNorm's weight: one per channel (dim 1)
    torch.manual_seed(3)
    bias = torch.randn(4).double().numpy()
    x_hat, wz, bz, y = (np.asarray(t.z) for t in maps[:4])  # slice x[0]: (C, L) = (4, 3)
    np.testing.assert_array_equal(wz, np.repeat(weight[:, None], 3, axis=1))
    np.testing.assert_array_equal(bz, np.repeat(bias[:, None], 3, axis=1))
    y_torch = torch.nn.functional.group_norm(torch.from_numpy(e.x.copy()), 2, torch.from_numpy(weight),
                                             torch.from_numpy(bias), 1e-5).numpy()
    np.testing.assert_allclose(y, y_torch[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(x_hat * wz + bz, y_torch[0], rtol=0, atol=1e-12)


def test_rms_norm_has_no_bias_column():
    e, w = _weights(Config(kind="rms", shape=(2, 5, 8), normalized_shape=(8,), init="random"))
    fig = F.affine_figure(e, w)
    assert [a.text for a in fig.layout.annotations][:3] == ["normalized x̂", "× weight[e]", "= output y"]
    assert "bias" not in _heatmaps(F.weight_map(w.map, "rms", e, w))[0].hovertemplate


@pytest.mark.parametrize("config", [
    Config(shape=(2, 3, 4), normalized_shape=(3, 4)),
    Config(kind="group", shape=(2, 4, 3, 3), num_groups=2),
    Config(shape=(8, 128, 512), normalized_shape=(512,)),
], ids=["(2, 3, 4) LayerNorm", "(2, 4, 3, 3) GroupNorm(2)", "(8, 128, 512) LayerNorm"])
def test_id_maps_label_rows_once_per_row_of_panels(config):
    """A panel's y tick labels sit left of it, on the last column of the panel beside it (issue 21's screenshot):
    the panels of a row share their row indices, so only the first panel of each row labels them."""
    e, w = _weights(dataclasses.replace(config, init="random"))
    for fig in (F.group_map(e), F.weight_map(w.map, e.spec.kind, e, w), F.affine_figure(e, w), F.stages_figure(e)):
        axes = {t.yaxis: t.xaxis for t in fig.data}
        lefts = sorted({fig.layout[f"xaxis{x[1:]}"].domain[0] for x in axes.values()})
        assert len(axes) > 1 and len(lefts) > 1  # more than one panel, side by side
        for yref, xref in axes.items():
            first_column = fig.layout[f"xaxis{xref[1:]}"].domain[0] == lefts[0]
            yaxis = fig.layout[f"yaxis{yref[1:]}"]
            assert (yaxis.showticklabels is not False) == first_column
            assert (yaxis.ticks == "") == (not first_column)  # no tick mark left at the edge of the panel beside
