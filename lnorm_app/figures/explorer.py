"""The Explorer's figures: the groups as heatmaps, the GroupNorm cube, input to output on one scale."""

import math
from dataclasses import dataclass

import numpy as np

from .common import (
    DIVERGING,
    GROUP_COLORS,
    MAX_CELLS,
    TEXT_CELLS,
    TICK_CELLS,
    grid,
    panel_axes,
    rows_layout,
    axis_titles,
    compact,
    dim_names,
    id_colorscale,
    index_template,
    slice_panels,
    slice_view,
    symmetric_range,
)
from .sealed import sealed_figure, shown_once

MAX_CUBE_POINTS = 20_000  # the 3-D view's markers: more make the browser crawl
_MAX_BANDS = 1000  # up to this many groups the colour scale has one band per group id


def _stat_names(spec):
    """The names of a group's two statistics: mean and var, or RMSNorm's mean square, or running ones."""
    if spec.uses_running_stats:
        return "running mean", "running var"
    return ("mean", "var") if spec.centers else ("mean", "mean square")


@dataclass(frozen=True)
class SliceGrid:
    """The Explorer's picture of a tensor: one panel per 2-D slice, in a grid laid out by hand.

    first, kept, stride, note, titles: which slices are drawn, how strided, what is left out, and each
    panel's index (see common.slice_view). layout: the panels' axes, titled (dims and indices) and ticked
    on every cell of a short axis; refs: each panel's (xref, yref); xs, ys: the column and row indices
    drawn; cols: panels in a row; height: the figure's.
    """

    first: int
    kept: int
    stride: int
    note: str
    titles: list
    layout: dict
    refs: list
    xs: np.ndarray
    ys: np.ndarray
    cols: int
    height: int

    def panels(self, a):
        """The drawn slices of an array of the tensor's shape: (kept, rows, cols)."""
        return slice_panels(a, self.first, self.kept, self.stride)


def slice_grid(kind, shape, max_panels=12, max_cells=MAX_CELLS, panel_label=None):
    """The SliceGrid of an input of `shape` to a layer of `kind` (it names the dims): at most max_panels slices
    and max_cells cells. The id maps draw their heatmaps on it; so can any picture of the tensor cell by cell
    (the Practice page's, where a person clicks the cells).

    panel_label(k, take) -> what panel k's title adds (take(a): the drawn slices of an array like x).
    """
    first, kept, stride, note, titles = slice_view(shape, 0, max_panels, max_cells)
    take = lambda a: slice_panels(a, first, kept, stride)  # noqa: E731
    rows_shown, cols_shown = take(np.broadcast_to(np.False_, shape)).shape[1:]
    rows, cols = grid(kept, 4)
    panel_h = min(420, max(150, 28 * rows_shown))
    named = [t + (panel_label(k, take) if panel_label else "") for k, t in enumerate(titles)]
    two_lines = len(titles) > 1 and any("<br>" in t for t in named)
    gap, height = rows_layout(rows, panel_h, gap_px=90 if two_lines else 70, extra_px=160)
    # the grid laid out by hand: make_subplots and update_* calls were half of the page's server time
    layout, refs = panel_axes(kept, cols, named if len(titles) > 1 else None, hspace=0.04, vspace=gap)
    xs = np.arange(0, cols_shown * stride, stride)
    ys = np.arange(0, rows_shown * stride, stride)
    row_title, col_title = axis_titles(kind, shape)
    for k, (xref, yref) in enumerate(refs):
        xaxis, yaxis = layout["xaxis" + xref[1:]], layout["yaxis" + yref[1:]]
        leftmost = k % cols == 0
        yaxis.update(autorange="reversed", title=dict(text=row_title) if leftmost else None, showticklabels=leftmost)
        if not leftmost:  # a row's panels share their rows: the others' labels would sit on the panel to their left
            yaxis["ticks"] = ""
        xaxis.update(title=dict(text=col_title) if k + cols >= kept else None)  # under the lowest panel of each column
        if len(ys) <= TICK_CELLS:  # a tick on every cell of a short axis (else plotly puts one at 0.5)
            yaxis.update(tickmode="array", tickvals=[int(v) for v in ys])
        if len(xs) <= TICK_CELLS:
            xaxis.update(tickmode="array", tickvals=[int(v) for v in xs])
    return SliceGrid(first, kept, stride, note, titles, layout, refs, xs, ys, cols, height)


def id_map(kind, shape, ids, n_ids, what, labels, custom, hover, title, max_cells=MAX_CELLS, max_panels=12,
           panel_label=None):
    """Ids of the elements of x (its groups, its weight entries) as heatmaps: one panel per 2-D slice of x,
    each cell coloured by its id.

    kind, shape: the layer's kind (it names the dims) and x's shape; ids: an int array of shape; n_ids: how
    many ids there are; what: the colour key's word ("group"). labels(ids) -> the text of each shown cell
    (written where the figure is small); custom(take, ids) -> the hover's columns, each an array of the
    shown cells, where take(a) gives the shown cells of an array of x's shape and ids are the shown ids;
    hover(k) -> the hover's lines below the cell's index for panel k; panel_label(ids of a panel) -> what
    its title adds. Above _MAX_BANDS ids the colour is the id modulo the colours (the hover still says it).
    At most max_panels slices and max_cells cells.
    """
    panels = slice_grid(kind, shape, max_panels, max_cells, panel_label and (lambda k, take: panel_label(take(ids)[k])))
    kept, note, titles, refs, xs, ys = panels.kept, panels.note, panels.titles, panels.refs, panels.xs, panels.ys
    take = panels.panels  # the shown cells of an array like x
    shown = take(ids)
    cells = shown.size
    many = n_ids > _MAX_BANDS
    z = shown % len(GROUP_COLORS) if many else shown
    n_bands = len(GROUP_COLORS) if many else n_ids
    data = compact(np.stack(custom(take, shown), axis=-1), cells)
    layout, height = panels.layout, panels.height
    text = labels(shown) if cells <= TEXT_CELLS and not many else None
    # a key of 10 colours for 1000s of ids misleads, and its labels must not overlap: about 16 px each, in the
    # plot's height less the key's title
    keyed = not many and n_bands <= min(12, (height - 160 - 50) // 16)
    traces = []
    for k in range(kept):
        traces.append(dict(
            type="heatmap", z=z[k], x=xs, y=ys, xaxis=refs[k][0], yaxis=refs[k][1],
            customdata=data[k], hovertemplate=f"{index_template(shape, titles[k])}<br>{hover(k)}<extra></extra>",
            zmin=-0.5, zmax=n_bands - 0.5, colorscale=id_colorscale(n_bands), xgap=1 if cells <= 5000 else 0,
            ygap=1 if cells <= 5000 else 0,
            showscale=k == 0 and keyed,
            colorbar=dict(title=dict(text=what), tickvals=list(range(n_bands)),
                          ticktext=[f"{what} {g}" for g in range(n_bands)]),
            text=None if text is None else text[k], texttemplate=None if text is None else "%{text}", name=titles[k],
        ))
    if many:
        title += f" (colours repeat every {len(GROUP_COLORS)} {what}s)"
    if note:
        title += f"<br><sup>showing {note}</sup>"
    layout.update(title=dict(text=title), height=height, meta={"note": note}, margin=dict(t=110, l=60, r=20, b=50))
    return sealed_figure(traces, layout)


@shown_once
def group_map(e, max_cells=MAX_CELLS, max_panels=12):
    """The reduction groups of an Exploration as heatmaps: one panel per 2-D slice, each cell coloured by its group.

    z is each cell's group id (above _MAX_BANDS groups, the id modulo the colours; the
    hover always says the id). The hover shows the index, the value, the group and the
    group's mean and variance. At most max_panels slices and max_cells cells.
    """
    mean_name, var_name = _stat_names(e.spec)
    # per cell: value, group, and its group's statistics (looked up by id, nothing computed)
    custom = lambda take, ids: [take(e.x), ids, e.f.mean[ids], e.f.var[ids]]  # noqa: E731
    hover = (f"value %{{customdata[0]:.6g}}<br>group %{{customdata[1]:.0f}}<br>"
             f"group {mean_name} %{{customdata[2]:.6g}}<br>group {var_name} %{{customdata[3]:.6g}}")
    title = f"{e.n_groups} group{'s' if e.n_groups != 1 else ''} of {e.group_size}: one colour per group"
    return id_map(e.spec.kind, e.x.shape, e.f.ids, e.n_groups, "group", lambda ids: np.char.add("g", ids.astype(str)),
                  custom, lambda k: hover, title, max_cells, max_panels)


def cube_shape(shape):
    """x's shape as three axes (dim 0, dim 1, the rest merged): (N, C, H·W) or (batch, seq, dim)."""
    if len(shape) == 1:
        return (1, 1, shape[0])
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    return (shape[0], shape[1], math.prod(shape[2:]))


def _cube_names(kind, shape):
    """The three axis titles of the cube, e.g. ('N (dim 0)', 'C (dim 1)', 'H·W (dims 2, 3)')."""
    names = dim_names(kind, len(shape))
    if len(shape) == 1:
        return "", "", f"{names[0]} (dim 0)"
    rest = "·".join(names[2:])
    dims = ", ".join(str(d) for d in range(2, len(shape)))
    third = f"{rest} (dim{'s' if len(shape) > 3 else ''} {dims})" if rest else ""
    return f"{names[0]} (dim 0)", f"{names[1]} (dim 1)", third


_CUBE_MIN_ASPECT = 0.35  # the shortest cube axis is drawn at least this long against the longest
_CUBE_SCENE_PX = 380  # about how many pixels the longest cube axis spans on screen
_CUBE_MAX_TICKS = 8


def _cube_ticks(size, length=1.0):
    """The tick indices of a cube axis drawn `length` long (the longest is 1): every index where they fit,
    else a round step, always ending on the last index."""
    room = max(4, round(_CUBE_MAX_TICKS * length))  # how many labels the axis has room for
    if size <= max(room, round(12 * length)):
        return list(range(size))
    step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if m * 10**k * room >= size)
    ticks = list(range(0, size, step))
    if size - 1 - ticks[-1] > step / 2:
        ticks.append(size - 1)  # the last index, where there is room for it
    else:
        ticks[-1] = size - 1  # too close to the last round tick: the last index takes its place
    return ticks


def _cube_axis(title, size, length, reverse=False):
    """A cube axis: its title, integer ticks that reach the last index, the range padded by half a cell.

    reverse: the last index at the bottom (the z axis, sample 0 on top); its range then ends a
    whole cell past the last index, so that index's label clears the corner the x axis starts at.
    """
    ticks = _cube_ticks(size, length)
    lo, hi = -0.5, size - 0.5  # half a cell beyond the first and last index: no marker cut at the edge
    return dict(title=dict(text=title), tickvals=ticks, ticktext=[str(t) for t in ticks],
                range=[hi + 0.5, lo] if reverse else [lo, hi], autorange=False, showspikes=False, zeroline=False)


def _cube_aspect(dims):
    """Axis lengths proportional to the dims (cells look square), the shortest no less than _CUBE_MIN_ASPECT."""
    longest = max(dims)
    return [max(d / longest, _CUBE_MIN_ASPECT) for d in dims]


def _strides(dims, budget):
    """Strides for each axis of a grid of dims so that at most `budget` points remain, the longest axes first."""
    strides = [1] * len(dims)
    count = lambda: math.prod(math.ceil(d / s) for d, s in zip(dims, strides))  # noqa: E731
    while count() > budget:
        i = max(range(len(dims)), key=lambda j: math.ceil(dims[j] / strides[j]))
        strides[i] += 1
    return strides


@shown_once
def group_cube(e, selected=0, max_points=MAX_CUBE_POINTS):
    """The GroupNorm paper's cube, live: x as (dim 0, dim 1, the rest merged), one marker per element.

    Group `selected` is drawn solid, larger and outlined; every other group in its own
    colour, faint and smaller, so the partition stays visible behind it. Up to 12 groups
    each have a legend entry; beyond that the others share one. Axes carry integer ticks
    that reach the last index, padded by half a cell. At most max_points markers: the
    chosen group keeps up to half of them, the rest is a regular sub-grid of the others
    (the title says so).
    """
    spec, shape = e.spec, e.x.shape
    selected = int(min(max(selected, 0), e.n_groups - 1))
    dims = cube_shape(shape)
    ids = e.f.ids.reshape(dims)
    values = e.x.reshape(dims)
    names = _cube_names(spec.kind, shape)
    mean_name, var_name = _stat_names(spec)

    mine = np.argwhere(ids == selected)  # (k, 3) the chosen group's coordinates
    if len(mine) > max_points // 2:
        mine = mine[np.linspace(0, len(mine) - 1, max_points // 2).astype(int)]
    strides = _strides(dims, max_points - len(mine))
    grid = np.stack(np.meshgrid(*(np.arange(0, d, s) for d, s in zip(dims, strides)), indexing="ij"), -1)
    grid = grid.reshape(-1, 3)
    others = grid[ids[tuple(grid.T)] != selected]
    shown = len(mine) + len(others)
    total = e.x.size

    # marker size from the on-screen size of one shown cell along the most crowded axis (z, x, y = dims 0, 1, 2)
    aspect = _cube_aspect(dims)
    cell_px = min(_CUBE_SCENE_PX * a / math.ceil(d / s) for a, d, s in zip(aspect, dims, strides))
    size = int(min(max(0.35 * cell_px, 3), 8))
    faint = 0.22 if e.n_groups <= 12 else 0.14  # many groups: their repeating colours only as a texture
    n_colors = len(GROUP_COLORS)

    def trace(points, name, chosen, legend=True):
        pid = ids[tuple(points.T)]
        custom = np.stack([values[tuple(points.T)], pid, e.f.mean[pid], e.f.var[pid]], axis=-1)
        return dict(
            type="scatter3d", x=points[:, 1], y=points[:, 2], z=points[:, 0], mode="markers", name=name,
            showlegend=legend,
            marker=dict(symbol="square", size=size + 2 if chosen else max(size - 1, 2), color=pid % n_colors,
                        colorscale=id_colorscale(n_colors), cmin=-0.5, cmax=n_colors - 0.5,
                        opacity=1.0 if chosen else faint,
                        line=dict(width=1.5 if chosen and shown <= 2000 else 0, color="#1a1a1a")),
            customdata=compact(custom, shown),
            hovertemplate=(f"{names[0] or 'dim 0'} %{{z}}, {names[1] or 'dim 1'} %{{x}}, {names[2]} %{{y}}<br>"
                           f"value %{{customdata[0]:.6g}}<br>group %{{customdata[1]:.0f}}<br>"
                           f"group {mean_name} %{{customdata[2]:.6g}}<br>"
                           f"group {var_name} %{{customdata[3]:.6g}}<extra>{name}</extra>"),
        )

    chosen_name = f"group {selected}: its {e.group_size} elements, one mean and one variance"
    traces = []
    if e.n_groups <= 12:  # a legend entry per group, in its colour
        other_ids = ids[tuple(others.T)]
        traces = [trace(others[other_ids == g], f"group {g}", False) for g in range(e.n_groups)
                  if g != selected and (other_ids == g).any()]
    elif len(others):
        traces = [trace(others, f"the other {e.n_groups - 1:,} groups (colours repeat)", False)]
    traces.append(trace(mine, chosen_name, True))
    note = f"{shown:,} of {total:,} elements (at most {max_points:,} markers)" if shown < total else ""
    title = f"Group {selected} of {e.n_groups} (solid) shares one mean and variance; the other groups are faint"
    sub = f"x as the cube {dims}: {', '.join(n for n in names if n)}"
    title += f"<br><sup>{sub}{'; showing ' + note if note else ''}</sup>"
    return sealed_figure(traces, dict(  # as dicts, without plotly's validation: it was most of the cube's ~40 ms
        title=dict(text=title), height=640, meta={"note": note}, margin=dict(t=90, l=0, r=0, b=0),
        legend=dict(title=dict(text="which is which"), orientation="v", yanchor="top", y=0.98, x=0.0,
                    itemsizing="constant", bgcolor="rgba(255,255,255,0.7)"),
        scene=dict(aspectmode="manual", aspectratio=dict(x=aspect[1], y=aspect[2], z=aspect[0]),
                   xaxis=_cube_axis(names[1] or "dim 1", dims[1], aspect[1]),
                   yaxis=_cube_axis(names[2] or "the rest", dims[2], aspect[2]),
                   zaxis=_cube_axis(names[0] or "dim 0", dims[0], aspect[0], reverse=True),  # sample 0 on top
                   camera=dict(eye=dict(x=0.95, y=-1.1, z=0.65))),
    ))


def _nonfinite_marks(panel, xs, ys, max_marks=2000):
    """A scatter (a trace dict) that writes NaN, inf or -inf on the cells a heatmap leaves blank (None if none)."""
    rows, cols = np.nonzero(~np.isfinite(panel))
    if rows.size == 0:
        return None
    rows, cols = rows[:max_marks], cols[:max_marks]
    words = np.where(np.isnan(panel[rows, cols]), "NaN", np.where(panel[rows, cols] > 0, "inf", "-inf"))
    return dict(type="scatter", x=xs[cols], y=ys[rows], mode="text", text=words,
                textfont=dict(color="#b00020", size=12),
                hovertemplate="%{text}: a non-finite value poisons its group<extra></extra>", showlegend=False)


@shown_once
def stages_figure(e, first=0, max_slices=3, max_cells=MAX_CELLS):
    """Input, the group statistics, the normalized x_hat and the output y, side by side.

    One row per 2-D slice (max_slices of them, from slice `first`), one column per stage,
    all on one diverging colour scale centred on 0. The statistics are drawn per element
    (each cell shows its group's). RMSNorm has no mean column: it subtracts none.
    """
    spec, f = e.spec, e.f
    mean_name, var_name = _stat_names(spec)
    stages = [("input x", e.x, None), (f"group {mean_name}", None, f.mean), (f"group {var_name}", None, f.var),
              ("normalized x̂", f.x_hat, None),
              ("output y = x̂·weight + bias" if spec.has_bias else "output y = x̂·weight" if spec.has_weight
               else "output y (no affine: = x̂)", f.y, None)]
    if not spec.centers:
        stages.pop(1)
    title = "From input to output, on one colour scale (the statistics drawn on every element of their group)"
    return stage_grid(spec.kind, e.x.shape, stages, f.ids, "group", title, first, max_slices, max_cells)


def stage_grid(kind, shape, stages, ids, what, title, first=0, max_slices=3, max_cells=MAX_CELLS):
    """Stages of a computation side by side on one diverging colour scale centred on 0.

    stages: (column title, an array like x or None, None or values per id): a value per id is
    drawn on every element with that id (ids: an int array of x's shape, named `what` in the
    hover). One row per 2-D slice of x (max_slices of them, from slice `first`), at most
    max_cells cells in all; NaN and inf are written on their cells.
    """
    n_stages = len(stages)
    first, kept, stride, note, titles = slice_view(shape, first, max_slices, max_cells // n_stages)
    ids = slice_panels(ids, first, kept, stride)
    shown = [(name, slice_panels(a, first, kept, stride) if a is not None else per_id[ids])
             for name, a, per_id in stages]  # values per id looked up per cell
    lo, hi = symmetric_range(*(a for _, a in shown))
    cells = ids.size * n_stages
    show_text = cells <= TEXT_CELLS
    panel_h = min(360, max(150, 28 * ids.shape[1]))
    gap, height = rows_layout(kept, panel_h, gap_px=24, extra_px=170)
    # the grid laid out by hand, as id_map's: make_subplots and its validation took ~250 ms of a rerun
    layout, refs = panel_axes(kept * n_stages, n_stages, hspace=0.02, vspace=gap)
    layout["annotations"] = [dict(text=name, font=dict(size=16), showarrow=False, xref="paper", yref="paper",
                                  x=sum(layout[f"xaxis{'' if j == 0 else j + 1}"]["domain"]) / 2, y=1.0,
                                  xanchor="center", yanchor="bottom") for j, (name, _) in enumerate(shown)]
    xs = np.arange(0, ids.shape[2] * stride, stride)
    ys = np.arange(0, ids.shape[1] * stride, stride)
    row_title, col_title = axis_titles(kind, shape)
    id_of = ids.astype(np.int32)
    traces = []
    for k in range(kept):
        index = index_template(shape, titles[k])
        for j, (name, a) in enumerate(shown):
            xref, yref = refs[k * n_stages + j]
            xaxis, yaxis = layout["xaxis" + xref[1:]], layout["yaxis" + yref[1:]]
            yaxis.update(autorange="reversed", showticklabels=j == 0)
            if j == 0:
                yaxis["title"] = dict(text=f"<b>{titles[k]}</b><br>{row_title}" if len(shape) > 2 else row_title)
            else:  # nor a tick mark where no label is: it stood at the edge of the panel to the left
                yaxis["ticks"] = ""
            xaxis["showticklabels"] = k == kept - 1
            if k == kept - 1:
                xaxis["title"] = dict(text=col_title)
            else:
                xaxis["ticks"] = ""
            if len(ys) <= TICK_CELLS:  # a tick on every cell of a short axis (else plotly puts one at 0.5)
                yaxis.update(tickmode="array", tickvals=[int(v) for v in ys])
            if len(xs) <= TICK_CELLS:
                xaxis.update(tickmode="array", tickvals=[int(v) for v in xs])
            traces.append(dict(
                type="heatmap", z=compact(a[k], cells), x=xs, y=ys, xaxis=xref, yaxis=yref, coloraxis="coloraxis",
                customdata=id_of[k], hovertemplate=f"{index}<br>{name}: %{{z:.6g}}<br>{what} %{{customdata}}"
                                                   "<extra></extra>",
                texttemplate="%{z:.2f}" if show_text else None, xgap=1 if cells <= 5000 else 0,
                ygap=1 if cells <= 5000 else 0,
            ))
            marks = _nonfinite_marks(a[k], xs, ys)
            if marks is not None:
                traces.append(dict(marks, xaxis=xref, yaxis=yref))
    if note:
        title += f"<br><sup>showing {note}</sup>"
    layout.update(
        title=dict(text=title), height=height, meta={"note": note}, margin=dict(t=110, l=60, r=20, b=50),
        coloraxis=dict(colorscale=DIVERGING, cmin=lo, cmax=hi, colorbar=dict(title=dict(text="value"))),
    )
    return sealed_figure(traces, layout)
