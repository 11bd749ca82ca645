"""The Practice page's pictures: the Explorer's grid of the tensor, where a person picks cells, and the same grid
checked (right, missed, extra). The other pictures an answer is explained with are the other pages' own."""

import numpy as np

from .sealed import figure
from .explorer import slice_grid

PICK = (("not picked", "#eeeeee", ""), ("picked", "#4e79a7", "✓"), ("the marked cell", "#f28e2b", "★"))
CHECKED = (("not in the group", "#eeeeee", ""), ("right", "#59a14f", "right"), ("missed", "#f28e2b", "missed"),
           ("extra", "#e15759", "extra"), ("the marked cell", "#4e79a7", "★"))
MAX_PANELS = 4  # exercises are drawn as at most 4 panels (lnorm_core.practice.MAX_PANELS)


def _categories(legend):
    """A discrete colour scale for z = category 0 .. k-1, one band each."""
    k, scale = len(legend), []
    for i, (_, color, _) in enumerate(legend):
        scale += [[i / k, color], [(i + 1) / k, color]]
    return scale


def _index_text(index):
    return "x[" + ", ".join(str(int(i)) for i in index) + "]"


def cells_figure(spec, shape, codes, legend, title, values=None, pick=False):
    """The tensor as the Explorer's grid (lnorm_app.figures.explorer.slice_grid), each cell coloured by its category.

    codes: an int array of `shape`, each cell's row of legend ((name, colour, mark in the cell), ...).
    values: the tensor, for the hover. pick: every cell is also a point a person can click, or take
    with a box or a lasso (st.plotly_chart(on_select=...)): each point's customdata is the cell's
    flat index.
    """
    grid = slice_grid(spec.kind, shape, max_panels=MAX_PANELS)
    panels = grid.panels(np.asarray(codes))
    flat = grid.panels(np.arange(int(np.prod(shape))).reshape(shape))
    shown = grid.panels(values) if values is not None else None
    marks = np.array([mark for _, _, mark in legend])
    xx, yy = np.meshgrid(grid.xs, grid.ys)
    traces = []
    for k, (xref, yref) in enumerate(grid.refs):
        index = [_index_text(np.unravel_index(int(i), shape)) for i in flat[k].ravel()]
        hover = np.array(index, dtype=object).reshape(flat[k].shape)
        if shown is not None:
            hover = np.char.add(np.char.add(hover.astype(str), " = "), np.char.mod("%.4f", shown[k]))
        traces.append(dict(
            type="heatmap", z=panels[k], x=grid.xs, y=grid.ys, xaxis=xref, yaxis=yref, zmin=-0.5,
            zmax=len(legend) - 0.5, colorscale=_categories(legend), xgap=2, ygap=2, showscale=k == 0,
            colorbar=dict(tickvals=list(range(len(legend))), ticktext=[name for name, _, _ in legend], len=0.9),
            text=marks[panels[k]].tolist(), texttemplate="%{text}", customdata=hover.tolist(),
            hovertemplate="%{customdata}<extra></extra>", hoverinfo="skip" if pick else None))
        if pick:  # the cells as points: a heatmap cannot be selected, a scatter can
            traces.append(dict(
                type="scatter", mode="markers", x=xx.ravel(), y=yy.ravel(), xaxis=xref, yaxis=yref,
                customdata=flat[k].ravel(), text=hover.ravel().tolist(), hovertemplate="%{text}<extra></extra>",
                marker=dict(symbol="square", size=24, color="rgba(0, 0, 0, 0)"), showlegend=False,
                selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))))
    layout = grid.layout
    layout.update(title=dict(text=title), height=grid.height, margin=dict(t=90, l=60, r=20, b=50),
                  meta={"note": grid.note})
    if pick:
        # Streamlit lets a click select a point only while the drag mode is neither box nor lasso: the drag pans,
        # on axes that do not move, and the toolbar's Box select and Lasso select take many cells at once
        for name, axis in layout.items():
            if name.startswith(("xaxis", "yaxis")):
                axis["fixedrange"] = True
        layout.update(dragmode="pan", hovermode="closest", hoverdistance=-1)  # a click anywhere in a cell picks it
    return figure(traces, layout)


def pick_figure(spec, shape, values, focus, picked):
    """The question of a share exercise: the marked cell, and the cells picked so far, to click on."""
    codes = np.zeros(shape, dtype=np.int8)
    codes.flat[list(picked)] = 1
    codes[tuple(focus)] = 2
    title = (f"Click the cells that share one mean and variance with {_index_text(focus)} ★ "
             "<br><sup>a click picks a cell or takes it back; to take many at once, choose Box select (or Lasso select) in "
             "the chart's toolbar and drag</sup>")
    return cells_figure(spec, shape, codes, PICK, title, values, pick=True)


def checked_figure(spec, shape, values, focus, right, missed, extra):
    """A share exercise checked: the cells picked right, those missed, the extra ones, on the same grid."""
    codes = np.zeros(shape, dtype=np.int8)
    for code, cells in ((1, right), (2, missed), (3, extra)):
        codes.flat[list(cells)] = code
    codes[tuple(focus)] = 4
    title = (f"Your cells checked: {len(right)} right, {len(missed)} missed, {len(extra)} extra "
             f"<br><sup>the group of {_index_text(focus)} ★, as torch pools it</sup>")
    return cells_figure(spec, shape, codes, CHECKED, title, values)
