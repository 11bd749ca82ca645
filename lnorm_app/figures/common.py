"""What every page's figures share: panels of a tensor, the cell budget, grids of panels, colours.

No builder computes a statistic: it is handed the numbers by the page models and only lays
them out. No figure sends more than MAX_CELLS cells to the browser: larger data are cut to a
part (leading slices) and strided, and the builder says so in the figure's title and in
layout.meta["note"] (read with note_of).
"""

import math

import numpy as np
import pandas  # noqa: F401  (see below)
from plotly.colors import get_colorscale

from lnorm_core import KIND_TABLE

from .sealed import SealedFigure, sealed_figure

# pandas is imported before any figure is built. plotly looks it up in sys.modules without importing it
# (_plotly_utils.optional_imports.get_module(..., should_load=False)), and Streamlit imports it lazily, at a
# session's first table: on a fresh server, while one session's thread is importing pandas, another's figure
# found the half-made module and failed ("partially initialized module 'pandas' has no attribute 'Series'"),
# which bench/load.py saw as visitors' exceptions. An import statement waits for a module being imported.

# the most heatmap cells (or points) one figure sends to the browser: 200 x 200 of one panel, about 5 px
# a cell across the page; more cells are more bytes on the websocket and more time to draw, not more to see
MAX_CELLS = 40_000
COMPACT_CELLS = 2_000  # above this many cells, numbers travel as float32 (7 digits: more than any hover prints)
# colour scales as lists, not names: a figure built without validation goes to plotly.js as it is, and
# plotly.js knows no "RdBu_r" (plotly.py expands the names it adds when it validates)
DIVERGING = get_colorscale("RdBu_r")  # one diverging scale for input, output and differences, centred on 0
SEQUENTIAL = get_colorscale("Viridis")
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


def compact(a, cells):
    """Numbers as float32 when the figure is large (half the bytes on the wire), float64 otherwise.

    Where a finite value lies outside float32's normal range (above 3.4e38, or non-zero below 1.2e-38)
    the numbers stay float64: the figure must not show inf, 0 or a rounded-off value that is not there.
    """
    a = np.asarray(a, dtype=np.float64)
    if cells <= COMPACT_CELLS:
        return a
    size = np.abs(a[np.isfinite(a) & (a != 0)])
    f32 = np.finfo(np.float32)
    if size.size and (size.max() > f32.max or size.min() < f32.tiny):
        return a
    return a.astype(np.float32)


def symmetric_range(*arrays):
    """(-m, m) with m the largest finite |value| in the arrays: a diverging scale centred on 0."""
    m = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        finite = a[np.isfinite(a)]
        if finite.size:
            m = max(m, float(np.abs(finite).max()))
    return (-m, m) if m > 0 else (-1.0, 1.0)


def note_of(fig):
    """What a figure leaves out ("" when it shows everything): builders put it in layout.meta."""
    # a sealed figure's own dict: asking a DictFigure for its layout would build the Figure it does without
    meta = fig.to_dict()["layout"].get("meta") if isinstance(fig, SealedFigure) else fig.layout.meta
    return meta.get("note", "") if isinstance(meta, dict) else ""

def ordinal(n):
    """2 -> '2nd', 3 -> '3rd', 11 -> '11th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rows_layout(rows, panel_px, gap_px, extra_px):
    """(vertical_spacing, figure height) for rows of panel_px-high panels gap_px apart, plus margins."""
    plot_px = rows * panel_px + (rows - 1) * gap_px
    return (gap_px / plot_px if rows > 1 else 0.0), plot_px + extra_px


def grid(count, max_cols):
    """(rows, cols) of a grid of count panels."""
    cols = min(count, max_cols)
    return math.ceil(count / cols), cols


def _domain(low, high):
    """[low, high] clamped to [0, 1]: rounding in a grid's arithmetic can leave -5.6e-17, which plotly refuses."""
    return [min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)]


def panel_axes(count, cols, titles=None, hspace=0.06, vspace=0.12):
    """(layout, [(xref, yref)]): count panels in a grid cols wide, with titles; make_subplots is ~10x slower."""
    rows = math.ceil(count / cols)
    w = (1 - hspace * (cols - 1)) / cols
    h = (1 - vspace * (rows - 1)) / rows
    layout, refs, annotations = {}, [], []
    for i in range(count):
        r, c = divmod(i, cols)
        n = "" if i == 0 else str(i + 1)
        x0, y1 = c * (w + hspace), 1 - r * (h + vspace)
        layout[f"xaxis{n}"] = dict(domain=_domain(x0, x0 + w), anchor=f"y{n}")
        layout[f"yaxis{n}"] = dict(domain=_domain(y1 - h, y1), anchor=f"x{n}")
        refs.append((f"x{n}", f"y{n}"))
        if titles:
            annotations.append(dict(text=titles[i], x=x0 + w / 2, y=y1, xref="paper", yref="paper",
                                    xanchor="center", yanchor="bottom", showarrow=False))
    if annotations:
        layout["annotations"] = annotations
    return layout, refs


def heatmap_panels(values, title, colorbar_title, coloraxis, hovertemplate, customdata=None, max_panels=6,
                    color=None, colorbar=None):
    """A grid of heatmaps of `values` (any shape), one per leading index, at most MAX_CELLS cells.

    values: the numbers to colour (non-finite ones are left blank); customdata: an array of the same
    shape shown in the hover. coloraxis: plotly's coloraxis settings (colorscale, cmin, cmax, ticks).
    color: where the colour is a function of the values (e.g. their log), that function; it is
    applied to the cells shown only, not to every value of a large tensor. colorbar: more of the colour
    bar's settings (its ticks). The figure is sealed (a DictFigure): built straight from its dicts, to be shown.
    The axes carry the true row and column indices, so a strided view still names its cells.
    """
    shape = np.shape(values)
    shown, stride, note = limit_panels(as_panels(values), max_panels=max_panels)
    if color is not None:
        shown = color(shown)
    extra, _, _ = limit_panels(as_panels(customdata), max_panels=max_panels) if customdata is not None else (None,) * 3
    count = shown.shape[0]
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    titles = panel_titles(shape, count) if count > 1 else None
    col_idx = np.arange(as_panels(values).shape[2])[::stride]  # the true indices of the kept columns
    row_idx = np.arange(as_panels(values).shape[1])[::stride]
    layout, refs = panel_axes(count, cols, titles, vspace=min(0.12, 0.4 / rows))
    cells = shown.size
    traces = [dict(type="heatmap", z=compact(np.where(np.isfinite(shown[i]), shown[i], np.nan), cells),  # inf/NaN
                   x=col_idx, y=row_idx, xaxis=refs[i][0], yaxis=refs[i][1], coloraxis="coloraxis",  # : blank
                   hovertemplate=hovertemplate, customdata=None if extra is None else compact(extra[i], cells))
              for i in range(count)]
    for name, axis in layout.items():
        if name.startswith("yaxis"):
            axis.update(autorange="reversed", dtick=1 if len(row_idx) <= 16 else None)  # row 0 on top, as printed
        elif name.startswith("xaxis"):
            axis.update(dtick=1 if len(col_idx) <= 16 else None)  # whole indices, no half-way ticks
    layout.update(
        title=dict(text=title + (f" — showing {note}" if note else "")),
        meta={"note": note},
        coloraxis=dict(colorbar=dict(title=dict(text=colorbar_title), **(colorbar or {})), **coloraxis),
        height=min(900, 140 + 260 * rows) if len(shape) > 1 else 220,
        margin=dict(t=80, b=40),
    )
    return sealed_figure(traces, layout)


# ---- the slices of an input as 2-D panels ---------------------------------------------------

TEXT_CELLS = 300  # a figure with at most this many cells also writes each cell's number
TICK_CELLS = 12  # an axis of at most this many cells gets a tick on each


def dim_names(kind, ndim):
    """What each dim is called: N, C, then L / H, W / D, H, W for (N, C, *) norms; else batch, seq, dim."""
    if not KIND_TABLE[kind].trailing:  # (N, C, *) input
        spatial = {0: [], 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
        return ["N", "C"] + spatial.get(ndim - 2, [f"S{i}" for i in range(1, ndim - 1)])
    return {1: ["dim"], 2: ["batch", "dim"], 3: ["batch", "seq", "dim"]}.get(ndim, [f"d{i}" for i in range(ndim)])


def id_colorscale(n_ids):
    """A discrete colour scale for z = an id (a group, a weight entry) in [-0.5, n - 0.5]: one band per id,
    colours cycling."""
    scale = []
    for g in range(n_ids):
        color = GROUP_COLORS[g % len(GROUP_COLORS)]
        scale += [[g / n_ids, color], [(g + 1) / n_ids, color]]
    return scale


def slice_view(shape, first, count, max_cells):
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
        notes.append(f"every {ordinal(stride)} row and column")
    titles = [("x" + t) if t.startswith("[") else t for t in panel_titles(shape, first + kept)[first:]]
    return first, kept, stride, ", ".join(notes), titles


def slice_panels(a, first, kept, stride):
    """The chosen slices of a, strided: (kept, rows, cols)."""
    return as_panels(a)[first:first + kept, ::stride, ::stride]


def index_template(shape, title):
    """The hover's index of a cell, e.g. 'x[1, 0, %{y}, %{x}]' for the panel titled 'x[1, 0, :, :]'."""
    if len(shape) == 1:
        return "x[%{x}]"
    if len(shape) == 2:
        return "x[%{y}, %{x}]"
    return title.replace(":, :]", "%{y}, %{x}]")


def axis_titles(kind, shape):
    """(row axis title, column axis title) of every panel: the last two dims' names and indices."""
    names = dim_names(kind, len(shape))
    if len(shape) == 1:
        return "", f"{names[0]} (dim 0)"
    k = len(shape)
    return f"{names[k - 2]} (dim {k - 2})", f"{names[k - 1]} (dim {k - 1})"
