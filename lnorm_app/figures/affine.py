"""The Explorer's Weight and bias figures: which weight entry scales each element, and y = x̂ · weight + bias.

Drawn as the groups are (explorer.id_map, explorer.stage_grid), from a ParamMap of the page model
lnorm_app.models.affine; nothing is computed here but lookups of per-entry values by entry.
"""

import numpy as np

from .common import MAX_CELLS
from .explorer import id_map, stage_grid
from .sealed import shown_once


def _entry_text(ids, param_shape):
    """Each weight entry as its index into weight, short enough for a cell: 'w3', or 'w[1,2]' for a weight of
    more dims (an array of ids' shape)."""
    if len(param_shape) == 1:
        return np.char.add("w", np.asarray(ids).astype(str))
    coords = np.unravel_index(ids, param_shape)
    text = ["w[" + ",".join(str(int(c[i])) for c in coords) + "]" for i in np.ndindex(ids.shape)]
    return np.array(text, dtype=object).reshape(ids.shape)


@shown_once
def weight_map(m, kind, e=None, w=None, max_cells=MAX_CELLS, max_panels=12):
    """Which weight entry scales each element (a ParamMap), drawn as group_map draws the groups.

    One panel per 2-D slice of x, each cell coloured by its entry and, where the figure is
    small, labelled with the entry's index into weight; a panel that one entry scales whole
    says which in its title. kind names the dims. With the Exploration e and its WeightAndBias
    w, the hover also shows each element's x̂, its entry's weight and bias (w.weight, w.bias:
    one value per entry; None for torch's initial ones and zeros) and y = x̂ · weight + bias.
    Built once for each ParamMap and arguments (shown_once).
    """
    n = m.n_entries
    coords = lambda ids: [c.astype(np.float64) for c in np.unravel_index(ids, m.param_shape)]  # noqa: E731
    index = ", ".join(f"%{{customdata[{1 + i}]:.0f}}" for i in range(len(m.param_shape)))
    hover = f"weight[{index}] (entry %{{customdata[0]:.0f}} of {n:,})"
    if e is None:
        custom = lambda take, ids: [ids] + coords(ids)  # noqa: E731
    else:
        weight = np.ones(n) if w is None or w.weight is None else w.weight  # torch's initial ones and zeros
        bias = np.zeros(n) if w is None or w.bias is None else w.bias
        j = 1 + len(m.param_shape)
        custom = lambda take, ids: [ids] + coords(ids) + [take(e.f.x_hat), weight[ids], bias[ids], take(e.f.y)]  # noqa: E731
        hover += (f"<br>x̂ %{{customdata[{j}]:.6g}}<br>weight %{{customdata[{j + 1}]:.6g}}"
                  + (f"<br>bias %{{customdata[{j + 2}]:.6g}}" if m.has_bias else "")
                  + f"<br>y = x̂ · weight{' + bias' if m.has_bias else ''} = %{{customdata[{j + 3}]:.6g}}")

    def one(ids):  # a panel that one entry scales whole: its title says which
        return f"<br>→ {_entry_text(ids.ravel()[:1], m.param_shape)[0]}" if (ids == ids.flat[0]).all() else ""

    entries = f"{n:,} entr{'y' if n == 1 else 'ies'}"
    if e is None:  # beside another layer's: say whose
        title = f"{m.name}: weight {m.param_shape}, {entries}"
    else:
        title = f"weight {m.param_shape}: {entries}, one colour per entry"
    if m.on != "x":
        title += f"<br><sup>it runs on {m.on}: its entries drawn on the elements of x</sup>"
    return id_map(kind, m.ids.shape, m.ids, n, "entry", lambda ids: _entry_text(ids, m.param_shape), custom,
                  lambda k: hover, title, max_cells, max_panels, panel_label=one)


@shown_once
def affine_figure(e, w, first=0, max_slices=3, max_cells=MAX_CELLS):
    """y = x̂ · weight + bias element by element, for a WeightAndBias w (its weight and bias, or torch's initial).
    Built once for each Exploration and arguments (shown_once).

    The columns: x̂, each element's weight[e] and bias[e] (looked up by its entry e, the map's
    ids), and y; one row per 2-D slice, one diverging colour scale.
    """
    m = w.map
    weight = np.ones(m.n_entries) if w.weight is None else w.weight  # torch's initial ones and zeros
    bias = np.zeros(m.n_entries) if w.bias is None else w.bias
    stages = [("normalized x̂", e.f.x_hat, None), ("× weight[e]", None, weight)]
    if m.has_bias:
        stages.append(("+ bias[e]", None, bias))
    stages.append(("= output y", e.f.y, None))
    title = ("y = x̂ · weight" + (" + bias" if m.has_bias else "") + ", element by element: each element's entry e "
             "of the weight drawn on it")
    return stage_grid(e.spec.kind, e.x.shape, stages, m.ids, "weight entry", title, first, max_slices, max_cells)
