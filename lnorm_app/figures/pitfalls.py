"""The Pitfalls page's figures: each mistake against torch, and BatchNorm's train against eval."""


import numpy as np
import plotly.graph_objects as go

from .common import (
    DIVERGING,
    GROUP_COLORS,
    _heatmap_panels,
    _panel_axes,
    symmetric_range,
)


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
