"""Figure builders: data in, plotly.graph_objects.Figure out. The one module that imports plotly.

No builder computes a statistic: it is handed the numbers (by lnorm_core.explore
and friends) and only lays them out. No figure sends more than MAX_CELLS cells to
the browser: larger data are cut to a part (leading slices) and strided, and the
builder says so in the figure's title.

Sections: shared helpers, explorer, compare, pitfalls, timing.
"""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_CELLS = 250_000  # the most heatmap cells (or points) one figure sends to the browser
DIVERGING = "RdBu_r"  # one diverging scale for input, output and differences, centred on 0
GROUP_COLORS = [  # qualitative: neighbouring groups must look different
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
]


# ---- shared helpers ------------------------------------------------------------------------


def as_panels(a):
    """Any array as a stack of 2-D panels (P, R, C): 1-D is one row, N-D facets over the leading dims."""
    a = np.asarray(a)
    if a.ndim == 0:
        return a.reshape(1, 1, 1)
    if a.ndim == 1:
        return a.reshape(1, 1, -1)
    return a.reshape(-1, a.shape[-2], a.shape[-1])


def panel_titles(shape, count):
    """Titles of the first `count` panels of an array of `shape`: its leading index, e.g. 'x[1, 0]'."""
    lead = tuple(shape[:-2])
    if not lead:
        return ["x"] if len(shape) == 2 else ["x (1-D)"]
    titles = []
    for i in range(count):
        idx = np.unravel_index(i, lead)
        titles.append("[" + ", ".join(str(int(j)) for j in idx) + ", :, :]")
    return titles


def limit_panels(panels, max_cells=MAX_CELLS, max_panels=12):
    """(panels kept, row stride, col stride, note): at most max_panels panels and max_cells cells.

    Keeps the leading panels and strides rows and columns evenly; `note` says what was
    left out, or is "" when everything is shown.
    """
    p, r, c = panels.shape
    keep = min(p, max_panels)
    stride = 1
    while keep * math.ceil(r / stride) * math.ceil(c / stride) > max_cells:
        stride += 1
    shown = panels[:keep, ::stride, ::stride]
    notes = []
    if keep < p:
        notes.append(f"the first {keep} of {p} slices")
    if stride > 1:
        notes.append(f"one row and column in every {stride}")
    return shown, stride, ", ".join(notes)


def symmetric_range(*arrays):
    """(-m, m) with m the largest finite |value| in the arrays: a diverging scale centred on 0."""
    m = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        finite = a[np.isfinite(a)]
        if finite.size:
            m = max(m, float(np.abs(finite).max()))
    return (-m, m) if m > 0 else (-1.0, 1.0)


# ---- explorer ------------------------------------------------------------------------------


MAX_CUBE_POINTS = 20_000  # the 3-D view's markers: more make the browser crawl
_MAX_BANDS = 1000  # up to this many groups the colour scale has one band per group id
_TEXT_CELLS = 300  # a figure with at most this many cells also writes each cell's number
_COMPACT_CELLS = 20_000  # above this many cells, hover data travel as float32 (7 digits)


def _dim_names(kind, ndim):
    """What each dim is called: N, C, then L / H, W / D, H, W for (N, C, *) norms; else batch, seq, dim."""
    if kind in ("batch", "instance", "group"):
        spatial = {0: [], 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
        return ["N", "C"] + spatial.get(ndim - 2, [f"S{i}" for i in range(1, ndim - 1)])
    return {1: ["dim"], 2: ["batch", "dim"], 3: ["batch", "seq", "dim"]}.get(ndim, [f"d{i}" for i in range(ndim)])


def _stat_names(spec):
    """The names of a group's two statistics: mean and var, or RMSNorm's mean square, or running ones."""
    if spec.uses_running_stats:
        return "running mean", "running var"
    return ("mean", "var") if spec.centers else ("mean", "mean square")


def note_of(fig):
    """What a figure leaves out ("" when it shows everything): builders put it in layout.meta."""
    meta = fig.layout.meta
    return meta.get("note", "") if isinstance(meta, dict) else ""


def _compact(a, cells):
    """Hover data as float32 when the figure is large (half the bytes), float64 otherwise."""
    return np.asarray(a, dtype=np.float32 if cells > _COMPACT_CELLS else np.float64)


def _group_colorscale(n_groups):
    """A discrete colour scale for z = group id in [-0.5, n - 0.5]: one band per group, colours cycling."""
    scale = []
    for g in range(n_groups):
        color = GROUP_COLORS[g % len(GROUP_COLORS)]
        scale += [[g / n_groups, color], [(g + 1) / n_groups, color]]
    return scale


def _slice_view(shape, first, count, max_cells):
    """Which 2-D slices to draw: (first, kept, stride, note, titles) for at most `count` slices and max_cells cells."""
    panels = as_panels(np.broadcast_to(np.False_, shape))  # only the layout: no memory behind it
    total = panels.shape[0]
    first = int(min(max(first, 0), total - 1))
    _, stride, _ = limit_panels(panels[first:first + count], max_cells, count)
    kept = min(count, total - first)
    notes = []
    if kept < total:
        notes.append(f"slices {first + 1}–{first + kept} of {total}" if kept > 1 else f"slice {first + 1} of {total}")
    if stride > 1:
        notes.append(f"every {_ordinal(stride)} row and column")
    titles = [("x" + t) if t.startswith("[") else t for t in panel_titles(shape, first + kept)[first:]]
    return first, kept, stride, ", ".join(notes), titles


def _ordinal(n):
    """2 -> '2nd', 3 -> '3rd', 11 -> '11th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _panels(a, first, kept, stride):
    """The chosen slices of a, strided: (kept, rows, cols)."""
    return as_panels(a)[first:first + kept, ::stride, ::stride]


def _index_template(shape, title):
    """The hover's index of a cell, e.g. 'x[1, 0, %{y}, %{x}]' for the panel titled 'x[1, 0, :, :]'."""
    if len(shape) == 1:
        return "x[%{x}]"
    if len(shape) == 2:
        return "x[%{y}, %{x}]"
    return title.replace(":, :]", "%{y}, %{x}]")


def _axis_titles(spec, shape):
    """(row axis title, column axis title) of every panel: the last two dims' names and indices."""
    names = _dim_names(spec.kind, len(shape))
    if len(shape) == 1:
        return "", f"{names[0]} (dim 0)"
    k = len(shape)
    return f"{names[k - 2]} (dim {k - 2})", f"{names[k - 1]} (dim {k - 1})"


def _rows_layout(rows, panel_px, gap_px, extra_px):
    """(vertical_spacing, figure height) for rows of panel_px-high panels gap_px apart, plus margins."""
    plot_px = rows * panel_px + (rows - 1) * gap_px
    return (gap_px / plot_px if rows > 1 else 0.0), plot_px + extra_px


def _grid(count, max_cols):
    """(rows, cols) of a grid of count panels."""
    cols = min(count, max_cols)
    return math.ceil(count / cols), cols


def group_map(e, max_cells=MAX_CELLS, max_panels=12):
    """The reduction groups of an Exploration as heatmaps: one panel per 2-D slice, each cell coloured by its group.

    z is each cell's group id (above _MAX_BANDS groups, the id modulo the colours; the
    hover always says the id). The hover shows the index, the value, the group and the
    group's mean and variance. At most max_panels slices and max_cells cells.
    """
    spec, shape = e.spec, e.x.shape
    first, kept, stride, note, titles = _slice_view(shape, 0, max_panels, max_cells)
    ids = _panels(e.f.ids, first, kept, stride)
    values = _panels(e.x, first, kept, stride)
    cells = ids.size
    many = e.n_groups > _MAX_BANDS
    z = ids % len(GROUP_COLORS) if many else ids
    n_bands = len(GROUP_COLORS) if many else e.n_groups
    mean_name, var_name = _stat_names(spec)
    # per cell: value, group, and its group's statistics (looked up by id, nothing computed)
    custom = _compact(np.stack([values, ids, e.f.mean[ids], e.f.var[ids]], axis=-1), cells)
    rows, cols = _grid(kept, 4)
    panel_h = min(420, max(150, 28 * ids.shape[1]))
    gap, height = _rows_layout(rows, panel_h, gap_px=70, extra_px=160)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles if len(titles) > 1 else None,
                        horizontal_spacing=0.04, vertical_spacing=gap)
    show_text = cells <= _TEXT_CELLS and not many
    for k in range(kept):
        r, c = divmod(k, cols)
        hover = (f"{_index_template(shape, titles[k])}<br>value %{{customdata[0]:.6g}}<br>"
                 f"group %{{customdata[1]:.0f}}<br>group {mean_name} %{{customdata[2]:.6g}}<br>"
                 f"group {var_name} %{{customdata[3]:.6g}}<extra></extra>")
        fig.add_trace(go.Heatmap(
            z=z[k], x=np.arange(0, ids.shape[2] * stride, stride), y=np.arange(0, ids.shape[1] * stride, stride),
            customdata=custom[k], hovertemplate=hover, zmin=-0.5, zmax=n_bands - 0.5,
            colorscale=_group_colorscale(n_bands), xgap=1 if cells <= 5000 else 0, ygap=1 if cells <= 5000 else 0,
            showscale=k == 0 and not many and n_bands <= 12,  # a key of 10 colours for 1000s of ids misleads
            colorbar=dict(title=dict(text="group"), tickvals=list(range(n_bands)),
                          ticktext=[f"group {g}" for g in range(n_bands)]),
            texttemplate="g%{z}" if show_text else None, name=titles[k],
        ), row=r + 1, col=c + 1)
    row_title, col_title = _axis_titles(spec, shape)
    fig.update_yaxes(autorange="reversed")
    for r in range(rows):
        fig.update_yaxes(title_text=row_title, row=r + 1, col=1)
    for c in range(cols):
        fig.update_xaxes(title_text=col_title, row=rows, col=c + 1)
    title = f"{e.n_groups} group{'s' if e.n_groups != 1 else ''} of {e.group_size}: one colour per group"
    if many:
        title += f" (colours repeat every {len(GROUP_COLORS)} groups)"
    if note:
        title += f"<br><sup>showing {note}</sup>"
    fig.update_layout(title=title, height=height, meta={"note": note},
                      margin=dict(t=110, l=60, r=20, b=50))
    return fig


def _cube_shape(shape):
    """x's shape as three axes (dim 0, dim 1, the rest merged): (N, C, H·W) or (batch, seq, dim)."""
    if len(shape) == 1:
        return (1, 1, shape[0])
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    return (shape[0], shape[1], math.prod(shape[2:]))


def _cube_names(kind, shape):
    """The three axis titles of the cube, e.g. ('N (dim 0)', 'C (dim 1)', 'H·W (dims 2, 3)')."""
    names = _dim_names(kind, len(shape))
    if len(shape) == 1:
        return "", "", f"{names[0]} (dim 0)"
    rest = "·".join(names[2:])
    dims = ", ".join(str(d) for d in range(2, len(shape)))
    third = f"{rest} (dim{'s' if len(shape) > 3 else ''} {dims})" if rest else ""
    return f"{names[0]} (dim 0)", f"{names[1]} (dim 1)", third


def _cube_axis(title, size):
    """A cube axis: its title, and a tick on every index when there are few (no 0.5 between samples)."""
    return dict(title=dict(text=title), dtick=1 if size <= 12 else None, tickformat="d")


def _strides(dims, budget):
    """Strides for each axis of a grid of dims so that at most `budget` points remain, the longest axes first."""
    strides = [1] * len(dims)
    count = lambda: math.prod(math.ceil(d / s) for d, s in zip(dims, strides))  # noqa: E731
    while count() > budget:
        i = max(range(len(dims)), key=lambda j: math.ceil(dims[j] / strides[j]))
        strides[i] += 1
    return strides


def group_cube(e, selected=0, max_points=MAX_CUBE_POINTS):
    """The GroupNorm paper's cube, live: x as (dim 0, dim 1, the rest merged), one marker per element.

    Every group has its colour; group `selected` stands out, the others are faint. At most
    max_points markers: the chosen group keeps up to half of them, the rest is a regular
    sub-grid of the others (the title says so).
    """
    spec, shape = e.spec, e.x.shape
    selected = int(min(max(selected, 0), e.n_groups - 1))
    dims = _cube_shape(shape)
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

    def trace(points, name, faint):
        pid = ids[tuple(points.T)]
        custom = np.stack([values[tuple(points.T)], pid, e.f.mean[pid], e.f.var[pid]], axis=-1)
        size = 9 if shown <= 600 else 6 if shown <= 5000 else 3
        n_colors = len(GROUP_COLORS)
        return go.Scatter3d(
            x=points[:, 1], y=points[:, 2], z=points[:, 0], mode="markers", name=name,
            marker=dict(symbol="square", size=size if faint else size + 3, color=pid % n_colors,
                        colorscale=_group_colorscale(n_colors), cmin=-0.5, cmax=n_colors - 0.5,
                        opacity=0.25 if faint else 1.0,
                        line=dict(width=1 if not faint and shown <= 2000 else 0, color="#222")),
            customdata=_compact(custom, shown),
            hovertemplate=(f"{names[0] or 'dim 0'} %{{z}}, {names[1] or 'dim 1'} %{{x}}, {names[2]} %{{y}}<br>"
                           f"value %{{customdata[0]:.6g}}<br>group %{{customdata[1]:.0f}}<br>"
                           f"group {mean_name} %{{customdata[2]:.6g}}<br>"
                           f"group {var_name} %{{customdata[3]:.6g}}<extra>{name}</extra>"),
        )

    fig = go.Figure([trace(others, "other groups", True), trace(mine, f"group {selected}", False)])
    note = f"{shown:,} of {total:,} elements (at most {max_points:,} markers)" if shown < total else ""
    title = f"Group {selected} of {e.n_groups} in the cube {dims}: its {e.group_size} elements share one mean and variance"
    if note:
        title += f"<br><sup>showing {note}</sup>"
    fig.update_layout(
        title=title, height=620, meta={"note": note}, margin=dict(t=90, l=0, r=0, b=0),
        legend=dict(orientation="h", yanchor="bottom", y=0.0, x=0.0),
        scene=dict(aspectmode="cube",
                   xaxis=_cube_axis(names[1], dims[1]), yaxis=_cube_axis(names[2], dims[2]),
                   zaxis=dict(_cube_axis(names[0], dims[0]), autorange="reversed")),  # sample 0 on top
    )
    return fig


def _nonfinite_marks(panel, xs, ys, max_marks=2000):
    """A scatter that writes NaN, inf or -inf on the cells a heatmap leaves blank (None if there are none)."""
    rows, cols = np.nonzero(~np.isfinite(panel))
    if rows.size == 0:
        return None
    rows, cols = rows[:max_marks], cols[:max_marks]
    words = np.where(np.isnan(panel[rows, cols]), "NaN", np.where(panel[rows, cols] > 0, "inf", "-inf"))
    return go.Scatter(x=xs[cols], y=ys[rows], mode="text", text=words, textfont=dict(color="#b00020", size=12),
                      hovertemplate="%{text}: a non-finite value poisons its group<extra></extra>",
                      showlegend=False)


def stages_figure(e, first=0, max_slices=3, max_cells=MAX_CELLS):
    """Input, the group statistics, the normalized x_hat and the output y, side by side.

    One row per 2-D slice (max_slices of them, from slice `first`), one column per stage,
    all on one diverging colour scale centred on 0. The statistics are drawn per element
    (each cell shows its group's). RMSNorm has no mean column: it subtracts none.
    """
    spec, shape, f = e.spec, e.x.shape, e.f
    mean_name, var_name = _stat_names(spec)
    stages = [("input x", e.x, None), (f"group {mean_name}", None, f.mean), (f"group {var_name}", None, f.var),
              ("normalized x̂", f.x_hat, None),
              ("output y = x̂·weight + bias" if spec.has_bias else "output y = x̂·weight" if spec.has_weight
               else "output y (no affine: = x̂)", f.y, None)]
    if not spec.centers:
        stages.pop(1)
    n_stages = len(stages)
    first, kept, stride, note, titles = _slice_view(shape, first, max_slices, max_cells // n_stages)
    ids = _panels(f.ids, first, kept, stride)
    shown = [(name, _panels(a, first, kept, stride) if a is not None else per_group[ids])
             for name, a, per_group in stages]  # per-group statistics looked up per cell by id
    lo, hi = symmetric_range(*(a for _, a in shown))
    cells = ids.size * n_stages
    show_text = cells <= _TEXT_CELLS
    panel_h = min(360, max(150, 28 * ids.shape[1]))
    gap, height = _rows_layout(kept, panel_h, gap_px=24, extra_px=170)
    fig = make_subplots(rows=kept, cols=n_stages, column_titles=[name for name, _ in shown],
                        horizontal_spacing=0.02, vertical_spacing=gap)
    xs = np.arange(0, ids.shape[2] * stride, stride)
    ys = np.arange(0, ids.shape[1] * stride, stride)
    group_of = ids.astype(np.int32)
    for k in range(kept):
        index = _index_template(shape, titles[k])
        for j, (name, a) in enumerate(shown):
            fig.add_trace(go.Heatmap(
                z=_compact(a[k], cells), x=xs, y=ys, coloraxis="coloraxis", customdata=group_of[k],
                hovertemplate=f"{index}<br>{name}: %{{z:.6g}}<br>group %{{customdata}}<extra></extra>",
                texttemplate="%{z:.2f}" if show_text else None, xgap=1 if cells <= 5000 else 0,
                ygap=1 if cells <= 5000 else 0,
            ), row=k + 1, col=j + 1)
            marks = _nonfinite_marks(a[k], xs, ys)
            if marks is not None:
                fig.add_trace(marks, row=k + 1, col=j + 1)
    row_title, col_title = _axis_titles(spec, shape)
    fig.update_yaxes(autorange="reversed")
    fig.update_yaxes(showticklabels=False)
    for r in range(kept):
        slice_title = f"<b>{titles[r]}</b><br>{row_title}" if len(shape) > 2 else row_title
        fig.update_yaxes(title_text=slice_title, showticklabels=True, row=r + 1, col=1)
    fig.update_xaxes(showticklabels=False)
    for c in range(n_stages):
        fig.update_xaxes(title_text=col_title, showticklabels=True, row=kept, col=c + 1)
    title = "From input to output, on one colour scale (the statistics drawn on every element of their group)"
    if note:
        title += f"<br><sup>showing {note}</sup>"
    fig.update_layout(
        title=title, height=height, meta={"note": note}, margin=dict(t=110, l=60, r=20, b=50),
        coloraxis=dict(colorscale=DIVERGING, cmin=lo, cmax=hi, colorbar=dict(title=dict(text="value"))),
    )
    return fig


# ---- compare -------------------------------------------------------------------------------

ALGORITHM_LABELS = {"two_pass": "two-pass", "one_pass": "one-pass: E[x²] − E[x]²", "welford": "Welford"}
_ALGORITHM_COLORS = {"two_pass": "#4e79a7", "one_pass": "#e15759", "welford": "#59a14f"}


def _panel_axes(count, cols, titles=None, hspace=0.06, vspace=0.12):
    """(layout, [(xref, yref)]): count panels in a grid cols wide, with titles; make_subplots is ~10x slower."""
    rows = math.ceil(count / cols)
    w = (1 - hspace * (cols - 1)) / cols
    h = (1 - vspace * (rows - 1)) / rows
    layout, refs, annotations = {}, [], []
    for i in range(count):
        r, c = divmod(i, cols)
        n = "" if i == 0 else str(i + 1)
        x0, y1 = c * (w + hspace), 1 - r * (h + vspace)
        layout[f"xaxis{n}"] = dict(domain=[x0, x0 + w], anchor=f"y{n}")
        layout[f"yaxis{n}"] = dict(domain=[y1 - h, y1], anchor=f"x{n}")
        refs.append((f"x{n}", f"y{n}"))
        if titles:
            annotations.append(dict(text=titles[i], x=x0 + w / 2, y=y1, xref="paper", yref="paper",
                                    xanchor="center", yanchor="bottom", showarrow=False))
    layout["annotations"] = annotations
    return layout, refs


def _heatmap_panels(values, title, colorbar_title, coloraxis, hovertemplate, customdata=None, max_panels=6):
    """A grid of heatmaps of `values` (any shape), one per leading index, at most MAX_CELLS cells.

    values: the numbers to colour (non-finite ones are left blank); customdata: an array of the same
    shape shown in the hover. coloraxis: plotly's coloraxis settings (colorscale, cmin, cmax, ticks).
    The axes carry the true row and column indices, so a strided view still names its cells.
    """
    shape = np.shape(values)
    shown, stride, note = limit_panels(as_panels(values), max_panels=max_panels)
    extra, _, _ = limit_panels(as_panels(customdata), max_panels=max_panels) if customdata is not None else (None,) * 3
    count = shown.shape[0]
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    titles = panel_titles(shape, count) if count > 1 else None
    col_idx = np.arange(as_panels(values).shape[2])[::stride]  # the true indices of the kept columns
    row_idx = np.arange(as_panels(values).shape[1])[::stride]
    layout, refs = _panel_axes(count, cols, titles, vspace=min(0.12, 0.4 / rows))
    fig = go.Figure([go.Heatmap(z=np.where(np.isfinite(shown[i]), shown[i], np.nan),  # inf/NaN: blank cells
                                x=col_idx, y=row_idx, xaxis=refs[i][0], yaxis=refs[i][1], coloraxis="coloraxis",
                                hovertemplate=hovertemplate, customdata=None if extra is None else extra[i])
                     for i in range(count)], layout=layout)
    fig.update_yaxes(autorange="reversed", dtick=1 if len(row_idx) <= 16 else None)  # row 0 on top, as printed
    fig.update_xaxes(dtick=1 if len(col_idx) <= 16 else None)  # whole indices, no half-way ticks
    fig.update_layout(
        title=title + (f" — showing {note}" if note else ""),
        meta={"note": note},
        coloraxis=dict(colorbar=dict(title=colorbar_title), **coloraxis),
        height=min(900, 140 + 260 * rows) if len(shape) > 1 else 220,
        margin=dict(t=80, b=40),
    )
    return fig


def error_heatmap(abs_err, title="|torch − core|"):
    """A heatmap of per-element absolute errors on a log colour scale; exact zeros drawn at the floor.

    abs_err: Comparison.abs_err (any shape). The floor is a decade below the smallest non-zero
    error; an infinite error (NaN on one side only) is left blank.
    """
    err = np.asarray(abs_err, dtype=np.float64)
    positive = err[np.isfinite(err) & (err > 0)]
    lo = math.floor(math.log10(positive.min())) - 1 if positive.size else -17
    hi = max(math.ceil(math.log10(positive.max())), lo + 1) if positive.size else lo + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(err > 0, np.log10(np.where(err > 0, err, 1.0)), lo)  # 0 -> the floor
    z = np.where(np.isinf(err), np.nan, z)
    ticks = list(range(lo, hi + 1, max(1, (hi - lo) // 8)))
    coloraxis = dict(colorscale="Viridis", cmin=lo, cmax=hi)
    fig = _heatmap_panels(z, title, "|error|", coloraxis,
                          "row %{y}, column %{x}<br>|error| = %{customdata:.3g}<extra></extra>", customdata=err)
    fig.update_layout(coloraxis_colorbar=dict(tickvals=ticks, ticktext=["0" if t == lo else f"1e{t}" for t in ticks]))
    return fig


def offset_text(value):
    """An offset as a person reads it: '2,457' or '1.82'."""
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3g}"


def variance_sweep_figure(sweep, dtype, threshold=None, breakdown=None, eps=None):
    """Relative error of each variance algorithm against the offset of the data, log-log.

    sweep: {"offsets": (P,), algorithm: (P,) relative errors} as explore.variance_sweep gives it.
    One line per algorithm with y exactly as given (log axes leave out zeros, NaN and inf);
    those points are marked in extra traces: exact zeros at a floor, NaN/inf at the top.
    threshold: a horizontal line ("threshold off"); breakdown: the offset where one-pass crosses
    it; eps: the dtype's machine epsilon, a horizontal line.
    """
    offsets = np.asarray(sweep["offsets"], dtype=np.float64)
    algs = [k for k in sweep if k != "offsets"]
    fig = go.Figure()
    finite = np.concatenate([np.asarray(sweep[a], dtype=np.float64) for a in algs])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    floor = 10.0 ** (math.floor(math.log10(finite.min())) - 1) if finite.size else 1e-17
    top = 10.0 ** (math.ceil(math.log10(max(finite.max(), 1.0))) + 1) if finite.size else 10.0
    zeros_x, zeros_text, bad_x, bad_text = [], [], [], []
    for a in algs:
        y = np.asarray(sweep[a], dtype=np.float64)
        label = ALGORITHM_LABELS.get(a, a)
        fig.add_trace(go.Scatter(x=offsets, y=y, name=label, legendgroup=a, mode="lines+markers",
                                 line=dict(color=_ALGORITHM_COLORS.get(a)),
                                 hovertemplate=f"{label}<br>offset %{{x:.3g}}<br>relative error "
                                               "%{y:.3g}<extra></extra>"))
        zero = (y == 0) & (offsets > 0)
        zeros_x += list(offsets[zero])
        zeros_text += [label] * int(zero.sum())
        bad = ~np.isfinite(y) & (offsets > 0)
        bad_x += list(offsets[bad])
        bad_text += [f"{label}: {v}" for v in y[bad]]
    if zeros_x:
        fig.add_trace(go.Scatter(x=zeros_x, y=[floor] * len(zeros_x), text=zeros_text, mode="markers",
                                 name="exactly 0 (drawn at the bottom)", legendgroup="marks",
                                 marker=dict(symbol="triangle-down", size=10, color="#888"),
                                 hovertemplate="%{text}<br>offset %{x:.3g}<br>error exactly 0<extra></extra>"))
    if bad_x:
        fig.add_trace(go.Scatter(x=bad_x, y=[top] * len(bad_x), text=bad_text, mode="markers",
                                 name="NaN or inf (drawn at the top)", legendgroup="marks",
                                 marker=dict(symbol="x", size=10, color="#000"),
                                 hovertemplate="%{text}<br>offset %{x:.3g}<extra></extra>"))
    positive = offsets[offsets > 0]
    span = [positive.min(), positive.max()] if positive.size else [1.0, 10.0]
    for y, name, dash in ((threshold, f"{threshold:.0%} off" if threshold else "", "dash"),
                          (eps, f"machine epsilon of {dtype}", "dot")):
        if y:
            fig.add_trace(go.Scatter(x=span, y=[y, y], mode="lines", name=name, legendgroup="lines",
                                     line=dict(color="#999", dash=dash), hoverinfo="skip"))
    if breakdown:
        fig.add_trace(go.Scatter(x=[breakdown, breakdown], y=[floor, top], mode="lines", legendgroup="lines",
                                 name=f"one-pass breaks down (offset {offset_text(breakdown)})",
                                 line=dict(color=_ALGORITHM_COLORS["one_pass"], dash="dash"), hoverinfo="skip"))
    fig.update_xaxes(type="log", dtick=1, title="offset: the mean of the data (randn(512) + offset)")
    fig.update_yaxes(type="log", title="relative error of the variance", exponentformat="power")
    fig.update_layout(title=f"Variance in {dtype} against a float64 reference", height=460,
                      legend=dict(orientation="h", y=-0.25))
    return fig


# ---- pitfalls ------------------------------------------------------------------------------


def _element_labels(shape, count):
    """Labels of the first `count` elements of an array of `shape` in C order, e.g. '[1, 0, 3]'."""
    idx = np.unravel_index(np.arange(count), shape) if len(shape) else ()
    return ["[" + ", ".join(str(int(i[k])) for i in idx) + "]" for k in range(count)]


def pitfall_label(mistakes):
    """A mistake combination as one name: 'unbiased + std_under_sqrt'."""
    return " + ".join(mistakes)


def pitfall_differences(y_torch, rows, max_columns=200):
    """One heatmap row per pitfall: its output minus torch's, element by element (flattened).

    rows: explore.Pitfall's (mistakes, y, diff). Large tensors show their first max_columns
    elements, and the title says so. Small ones print the differences in the cells.
    """
    y_torch = np.asarray(y_torch, dtype=np.float64)
    n = y_torch.size
    k = min(n, max_columns)
    diffs = np.stack([np.asarray(r.diff, dtype=np.float64).ravel()[:k] for r in rows])  # (pitfalls, k)
    outs = np.stack([np.asarray(r.y, dtype=np.float64).ravel()[:k] for r in rows])
    ref = np.broadcast_to(y_torch.ravel()[:k], outs.shape)
    labels = [pitfall_label(r.mistakes) for r in rows]
    zmin, zmax = symmetric_range(diffs)
    fig = go.Figure(go.Heatmap(
        z=np.where(np.isfinite(diffs), diffs, np.nan), x=_element_labels(y_torch.shape, k), y=labels,
        customdata=np.stack([outs, ref], axis=-1), colorscale=DIVERGING, zmin=zmin, zmax=zmax,
        colorbar=dict(title="mistake − torch"),
        texttemplate="%{z:.4f}" if k <= 12 else None,
        hovertemplate="%{y}<br>element %{x}<br>this mistake %{customdata[0]:.4f}<br>torch "
                      "%{customdata[1]:.4f}<br>difference %{z:.4g}<extra></extra>",
        xgap=1, ygap=1,
    ))
    part = f" — the first {k} of {n:,} elements" if k < n else ""
    fig.update_layout(meta={"note": part[3:]})
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", title="element of the output" if k <= 40 else None,
                     showticklabels=k <= 40)
    fig.update_layout(title="Each mistake's output minus torch's" + part, height=120 + 32 * len(rows),
                      margin=dict(l=10, t=60, b=40))
    return fig


def pitfall_bars(y_torch, y_wrong, label, max_elements=32):
    """Grouped bars: torch's output beside one mistake's, over the first max_elements elements."""
    y_torch = np.asarray(y_torch, dtype=np.float64)
    n = y_torch.size
    k = min(n, max_elements)
    x = _element_labels(y_torch.shape, k)
    fig = go.Figure([
        go.Bar(x=x, y=y_torch.ravel()[:k], name="torch (right)", marker_color="#4e79a7",
               hovertemplate="element %{x}<br>torch %{y:.4f}<extra></extra>"),
        go.Bar(x=x, y=np.asarray(y_wrong, dtype=np.float64).ravel()[:k], name=label, marker_color="#e15759",
               hovertemplate="element %{x}<br>mistake %{y:.4f}<extra></extra>"),
    ])
    part = f" (the first {k} of {n:,} elements)" if k < n else ""
    fig.update_layout(meta={"note": part[2:-1]})
    fig.update_xaxes(type="category", title="element")
    fig.update_layout(barmode="group", title=f"torch beside {label}{part}", height=300,
                      margin=dict(t=50, b=40), legend=dict(orientation="h", y=1.12, x=1, xanchor="right"))
    return fig


def running_stats_figure(running_mean, running_var, max_channels=12):
    """BatchNorm's buffers over the training steps: one line per channel, mean and variance side by side.

    running_mean, running_var: (steps + 1, C), row 0 being torch's initial zeros and ones.
    """
    rm = np.asarray(running_mean, dtype=np.float64)
    rv = np.asarray(running_var, dtype=np.float64)
    steps, c = rm.shape
    k = min(c, max_channels)
    x = np.arange(steps)
    layout, refs = _panel_axes(2, 2, ("running_mean", "running_var (unbiased)"), hspace=0.1)
    for axis in ("xaxis", "xaxis2"):
        layout[axis].update(title="training step (0: torch's initial buffers)", dtick=max(1, (steps - 1) // 10))
    traces = []
    for ch in range(k):
        color = GROUP_COLORS[ch % len(GROUP_COLORS)]
        for (xref, yref), values in zip(refs, (rm, rv)):
            traces.append(go.Scatter(x=x, y=values[:, ch], xaxis=xref, yaxis=yref, name=f"channel {ch}",
                                     legendgroup=f"channel {ch}", showlegend=xref == "x", mode="lines+markers",
                                     line=dict(color=color),
                                     hovertemplate=f"channel {ch}<br>step %{{x}}<br>%{{y:.4f}}<extra></extra>"))
    fig = go.Figure(traces, layout=layout)
    part = f" — the first {k} of {c} channels" if k < c else ""
    fig.update_layout(title="Running statistics after each training step" + part, height=440, meta={"note": part[3:]},
                      margin=dict(t=80, b=40), legend=dict(orientation="h", y=-0.22))
    return fig


def train_eval_figure(diff):
    """A heatmap of eval output minus train output (explore.Steps.diff) on the diverging scale."""
    zmin, zmax = symmetric_range(diff)
    return _heatmap_panels(diff, "eval output − train output, same batch", "eval − train",
                           dict(colorscale=DIVERGING, cmin=zmin, cmax=zmax),
                           "row %{y}, column %{x}<br>eval − train = %{z:.4f}<extra></extra>")


# ---- timing --------------------------------------------------------------------------------


IMPL_COLORS = {"native": "#4e79a7", "manual": "#f28e2b", "manual_var_mean": "#e15759", "numpy": "#59a14f",
               "compiled": "#b07aa1", "copy": "#7f7f7f"}
_DEVICE_MARKERS = {"cpu": "circle", "cuda": "square", "mps": "diamond"}
_SOURCE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")  # one per (source, device) line group


def _impl_label(impl):
    """A legend entry: the implementation's name, the copy said as what it is."""
    return "copy at each size" if impl == "copy" else impl


def _line_groups(lines):
    """{(source, device): dash}: each source and device draws its lines in its own dash."""
    keys = list(dict.fromkeys((s.source, s.device) for s in lines))
    return {k: _SOURCE_DASHES[i % len(_SOURCE_DASHES)] for i, k in enumerate(keys)}


def _size_axis(fig, sizes):
    """The x axis of every timing figure: elements per tensor, log, a tick at each size measured (2^k)."""
    ticks = sorted(set(int(n) for n in sizes))
    fig.update_xaxes(type="log", title="elements per tensor (log scale)", tickvals=ticks,
                     ticktext=[f"2<sup>{n.bit_length() - 1}</sup>" if n & (n - 1) == 0 else f"{n:,}" for n in ticks])


def _series_traces(fig, lines, hover_value):
    """One Scatter per Series: x its sizes, y its values as given; colour by impl, dash by (source, device)."""
    dashes = _line_groups(lines)
    for s in lines:
        group = f"{s.device} · {s.source}"
        fractions = [np.nan if f is None else f for f in s.fractions]
        fig.add_trace(go.Scatter(
            x=list(s.sizes), y=[np.nan if v is None else v for v in s.values], name=_impl_label(s.impl),
            mode="lines+markers", legendgroup=group, legendgrouptitle_text=group,
            line=dict(color=IMPL_COLORS.get(s.impl, "#333"), dash=dashes[(s.source, s.device)],
                      width=1.5 if s.impl == "copy" else 2.5),
            marker=dict(symbol=_DEVICE_MARKERS.get(s.device, "circle"), size=7),
            customdata=np.array([[shape, f] for shape, f in zip(s.shapes, fractions)], dtype=object),
            meta={"source": s.source, "device": s.device, "impl": s.impl, "kind": s.kind},
            hovertemplate=f"{_impl_label(s.impl)} on {group}<br>%{{x:,}} elements %{{customdata[0]}}<br>"
                          f"{hover_value}<extra></extra>"))


def timing_time_figure(lines, title="Time per call"):
    """Median time per call against the size, log-log: one line per Series (timing_view.series, median_s)."""
    fig = go.Figure()
    _series_traces(fig, lines, "median %{y:.3s}s")
    _size_axis(fig, [n for s in lines for n in s.sizes])
    fig.update_yaxes(type="log", title="median time per call (log scale)", tickformat="~s", ticksuffix="s", dtick=1)
    fig.update_layout(title=title, height=480, legend=dict(groupclick="toggleitem"), margin=dict(t=60, b=50),
                      hovermode="closest")
    return fig


def timing_bandwidth_figure(lines, ceilings=(), title="Effective bandwidth against the copy ceiling"):
    """GB/s against the size: one line per Series (gbps), each ceiling a horizontal line.

    ceilings: timing_view.Ceiling's: the measured copy at the largest size (dashed, its
    device's colour group) and the datasheet peak where known (dotted), across the sizes shown.
    """
    fig = go.Figure()
    _series_traces(fig, lines, "%{y:.3g} GB/s, %{customdata[1]:.0%} of the copy at this size")
    sizes = [n for s in lines for n in s.sizes]
    span = [min(sizes), max(sizes)] if sizes else [2**8, 2**22]
    for c in ceilings:
        group = f"{c.device} · {c.source}"
        fig.add_trace(go.Scatter(
            x=span, y=[c.gbps, c.gbps], mode="lines", name=f"ceiling {c.gbps:.3g} GB/s (copy, largest size)",
            legendgroup=group, legendgrouptitle_text=group, line=dict(color="#333", dash="dash", width=1.5),
            meta={"ceiling": "measured", "source": c.source, "device": c.device},
            hovertemplate=f"ceiling on {group}: the copy at the largest size, {c.gbps:.3g} GB/s<extra></extra>"))
        if c.datasheet_gbps:
            fig.add_trace(go.Scatter(
                x=span, y=[c.datasheet_gbps, c.datasheet_gbps], mode="lines",
                name=f"datasheet peak {c.datasheet_gbps:.0f} GB/s", legendgroup=group, legendgrouptitle_text=group,
                line=dict(color="#333", dash="dot", width=1.5),
                meta={"ceiling": "datasheet", "source": c.source, "device": c.device},
                hovertemplate=f"{c.name}: datasheet peak {c.datasheet_gbps:.0f} GB/s<extra></extra>"))
    _size_axis(fig, sizes)
    fig.update_yaxes(type="log", title="GB/s = 2 · bytes of x / median time (log scale)", dtick=1)
    fig.update_layout(title=title, height=480, legend=dict(groupclick="toggleitem"), margin=dict(t=60, b=50),
                      hovermode="closest")
    return fig


def timing_speedup_figure(speedups, title="GPU speedup over the CPU"):
    """CPU time / GPU time against the size (timing_view.speedups): above 1 the GPU is faster.

    One line per Speedup with y its ratios as given; a dashed line at 1; a marker at each crossover.
    """
    fig = go.Figure()
    sizes = [n for s in speedups for n in s.sizes]
    span = [min(sizes), max(sizes)] if sizes else [2**8, 2**22]
    fig.add_trace(go.Scatter(x=span, y=[1, 1], mode="lines", name="same speed", line=dict(color="#999", dash="dash"),
                             hoverinfo="skip"))
    for s in speedups:
        cpu = "" if s.cpu_source == s.gpu_source else f", CPU: {s.cpu_source}"
        name = f"{s.impl} · {s.device} · {s.gpu_source}{cpu}"
        fig.add_trace(go.Scatter(
            x=list(s.sizes), y=list(s.ratio), name=name, mode="lines+markers",
            line=dict(color=IMPL_COLORS.get(s.impl, "#333"), width=2.5),
            customdata=np.stack([s.cpu_s, s.gpu_s], axis=-1),
            meta={"gpu_source": s.gpu_source, "cpu_source": s.cpu_source, "device": s.device, "impl": s.impl},
            hovertemplate=f"{name}<br>%{{x:,}} elements<br>CPU %{{customdata[0]:.3s}}s, GPU "
                          "%{customdata[1]:.3s}s<br>speedup %{y:.3g}×<extra></extra>"))
        if s.crossover is not None:
            fig.add_trace(go.Scatter(
                x=[s.crossover], y=[dict(zip(s.sizes, s.ratio))[s.crossover]], mode="markers", showlegend=False,
                marker=dict(symbol="star", size=14, color=IMPL_COLORS.get(s.impl, "#333"),
                            line=dict(color="#000", width=1)),
                meta={"crossover": s.crossover, "impl": s.impl},
                hovertemplate=f"{name}: the GPU is faster from %{{x:,}} elements on<extra></extra>"))
    _size_axis(fig, sizes)
    ratios = [r for s in speedups for r in s.ratio if r > 0 and math.isfinite(r)] + [1.0]
    lo, hi = math.floor(math.log10(min(ratios))), math.ceil(math.log10(max(ratios)))
    ticks = [m * 10.0**k for k in range(lo, hi + 1) for m in (1, 2, 5)
             if min(ratios) / 2 <= m * 10.0**k <= max(ratios) * 2]  # 0.5×, 1×, 2×, 5×, ...: never a bare digit
    fig.update_yaxes(type="log", title="CPU time / GPU time (log scale; above 1: the GPU is faster)",
                     tickvals=ticks, ticktext=[f"{t:g}×" for t in ticks])
    fig.update_layout(title=title, height=440, margin=dict(t=60, b=50), legend=dict(orientation="h", y=-0.2))
    return fig
