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
        notes.append(f"every {stride}th row and column")
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


# ---- compare -------------------------------------------------------------------------------


# ---- pitfalls ------------------------------------------------------------------------------


# ---- timing --------------------------------------------------------------------------------
