"""The Pitfalls page's figures: one group's arithmetic step by step, two poolings of one tensor, each mistake
against torch, and BatchNorm's train against eval."""

import math

import numpy as np
import plotly.graph_objects as go

from lnorm_core import MISTAKES

from .common import (
    DIVERGING,
    GROUP_COLORS,
    MAX_CELLS,
    as_panels,
    compact,
    heatmap_panels,
    limit_panels,
    panel_axes,
    panel_titles,
    symmetric_range,
)
from .sealed import sealed_figure, shown_once


def _element_labels(shape, count):
    """Labels of the first `count` elements of an array of `shape` in C order, e.g. '[1, 0, 3]'."""
    idx = np.unravel_index(np.arange(count), shape) if len(shape) else ()
    return ["[" + ", ".join(str(int(i[k])) for i in idx) + "]" for k in range(count)]


def pitfall_label(mistakes):
    """A mistake combination as one short plain name: 'n−1 in the variance + std under the square root'.

    The MISTAKES titles without their parenthesised examples; code names stay in the API.
    """
    return " + ".join(MISTAKES[m].title.split(" (")[0] for m in mistakes)


@shown_once
def pitfall_differences(y_torch, rows, max_columns=200):
    """One heatmap row per pitfall: its output minus torch's, element by element (flattened). Built once for a
    cached result's y_torch and rows (a tuple of Pitfalls, each hashed as itself), then shared.

    rows: models.pitfalls.Pitfall's (mistakes, y_head, diff_head: the first elements of the output and
    of its difference, flattened). Large tensors show their first max_columns elements (no more than
    the heads hold), and the title says so. Small ones print the differences in the cells.
    """
    y_torch = np.asarray(y_torch, dtype=np.float64)
    n = y_torch.size
    k = min([n, max_columns] + [np.size(r.y_head) for r in rows])
    diffs = np.stack([np.asarray(r.diff_head, dtype=np.float64).ravel()[:k] for r in rows])  # (pitfalls, k)
    outs = np.stack([np.asarray(r.y_head, dtype=np.float64).ravel()[:k] for r in rows])
    ref = np.broadcast_to(y_torch.ravel()[:k], outs.shape)
    labels = [pitfall_label(r.mistakes) for r in rows]
    zmin, zmax = symmetric_range(diffs)
    part = f" — the first {k} of {n:,} elements" if k < n else ""
    trace = dict(
        type="heatmap", z=compact(np.where(np.isfinite(diffs), diffs, np.nan), diffs.size),
        x=_element_labels(y_torch.shape, k), y=labels,
        customdata=compact(np.stack([outs, ref], axis=-1), diffs.size), colorscale=DIVERGING, zmin=zmin, zmax=zmax,
        colorbar=dict(title=dict(text="mistake − torch")),
        texttemplate="%{z:.4f}" if k <= 12 else None,
        hovertemplate="%{y}<br>element %{x}<br>this mistake %{customdata[0]:.4f}<br>torch "
                      "%{customdata[1]:.4f}<br>difference %{z:.4g}<extra></extra>",
        xgap=1, ygap=1,
    )
    layout = dict(
        meta={"note": part[3:]}, title=dict(text="Each mistake's output minus torch's" + part),
        height=120 + 32 * len(rows), margin=dict(l=10, t=60, b=40),
        yaxis=dict(autorange="reversed", type="category"),
        xaxis=dict(type="category", title=dict(text="element of the output") if k <= 40 else None,
                   showticklabels=k <= 40),
    )
    return sealed_figure([trace], layout)


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
    layout, refs = panel_axes(2, 2, ("running_mean", "running_var (unbiased)"), hspace=0.1)
    for axis in ("xaxis", "xaxis2"):
        layout[axis].update(title=dict(text="training step (0: torch's initial buffers)"), dtick=max(1, (steps - 1) // 10))
    traces = []
    for ch in range(k):
        color = GROUP_COLORS[ch % len(GROUP_COLORS)]
        for (xref, yref), values in zip(refs, (rm, rv)):
            traces.append(dict(type="scatter", x=x, y=values[:, ch], xaxis=xref, yaxis=yref, name=f"channel {ch}",
                               legendgroup=f"channel {ch}", showlegend=xref == "x", mode="lines+markers",
                               line=dict(color=color),
                               hovertemplate=f"channel {ch}<br>step %{{x}}<br>%{{y:.4f}}<extra></extra>"))
    part = f" — the first {k} of {c} channels" if k < c else ""
    layout.update(title=dict(text="Running statistics after each training step" + part), height=440,
                  meta={"note": part[3:]}, margin=dict(t=80, b=40), legend=dict(orientation="h", y=-0.22))
    return sealed_figure(traces, layout)


@shown_once
def train_eval_figure(diff):
    """A heatmap of eval output minus train output (explore.Steps.diff) on the diverging scale."""
    zmin, zmax = symmetric_range(diff)
    return heatmap_panels(diff, "eval output − train output, same batch", "eval − train",
                           dict(colorscale=DIVERGING, cmin=zmin, cmax=zmax),
                           "row %{y}, column %{x}<br>eval − train = %{z:.4f}<extra></extra>")


# ---- the finder: one group step by step, and two poolings of the same tensor -----------------

STATUS_MARK = {"first": ":red-background[**{step} ◀ first difference**]", "differs": ":orange-background[{step} ≠]",
               "same": "{step}"}  # the first differing step stands out, later differing ones less
STEP_NAMES = {"pool": "1 pool", "mean": "2 mean", "variance": "3 variance", "denominator": "4 denominator",
              "affine": "5 affine"}
STEP_HEADER = ("step", "the layer computes", "its numbers", "{wrong} computes", "its numbers")


def _cell(text):
    """Text in a Markdown table cell, read as it is: every character Markdown or the table would act on escaped."""
    return "".join("\\" + ch if ch in "\\`*_{}[]<>()#+-.!|~$:" else ch for ch in str(text)).replace("\n", " ")


def steps_table(rows, wrong_title):
    """The arithmetic of one group as (title, Markdown table): each result, the layer's way and the mistake's
    side by side.

    rows: the page model's StepRows (step, right_label, right_numbers, wrong_label, wrong_numbers, status).
    The first row whose numbers differ is marked red, later differing rows orange, and their numbers bold.
    A table of text, not a chart: it is read and copied, and it costs the browser no plotly chart.
    """
    header = [h.format(wrong=wrong_title) for h in STEP_HEADER]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        step = STATUS_MARK[r.status].format(step=_cell(STEP_NAMES.get(r.step, r.step)))
        bold = "**" if r.status != "same" else ""
        cells = [step, _cell(r.right_label), bold + _cell(r.right_numbers) + bold, _cell(r.wrong_label),
                 bold + _cell(r.wrong_numbers) + bold]
        lines.append("| " + " | ".join(cells) + " |")
    first = [r for r in rows if r.status == "first"]
    title = "One group's arithmetic, the layer's beside " + wrong_title + (
        f": they part at {STEP_NAMES.get(first[0].step, first[0].step)[2:]}" if first else ": every number agrees")
    return title, "\n".join(lines)


POOL_COLORS = ["#eeeeee", "#4e79a7", "#e15759", "#f28e2b"]  # elsewhere, both, only the layer's, only the other's


@shown_once
def pooling_figure(p, max_cells=MAX_CELLS, max_panels=6):
    """Two partitions of one tensor in one picture: around one element, the cells both pool, the cells only
    the layer pools, and the cells only the other pooling takes (the difference, in red and orange).

    p: the page model's Pooling. Each cell writes its group in both partitions ("layer · other") when
    the figure is small; one panel per 2-D slice, at most max_panels slices and max_cells cells, starting
    at the slice of the focus element when it is not among the first.
    """
    shape = np.shape(p.membership)
    panels = as_panels(p.membership)
    lead = shape[:-2] if len(shape) > 2 else ()
    focus_panel = int(np.ravel_multi_index(p.focus[:-2], lead)) if lead else 0
    start = 0 if focus_panel < max_panels else focus_panel
    shown, stride, note = limit_panels(panels[start:], max_cells=max_cells, max_panels=max_panels)
    ids_a = limit_panels(as_panels(p.layer_ids)[start:], max_cells=max_cells, max_panels=max_panels)[0]
    ids_b = limit_panels(as_panels(p.other_ids)[start:], max_cells=max_cells, max_panels=max_panels)[0]
    count = shown.shape[0]
    titles = ["x" + t for t in panel_titles(shape, start + count)[start:]] if count > 1 or start else None
    cols = min(count, 3)
    layout, refs = panel_axes(count, cols, titles, vspace=0.18)
    cells = shown.size
    text = cells <= 300
    names = ["elsewhere", "in both groups", f"only in {p.layer_name}'s group", f"only in {p.other_name}'s group"]
    scale = []
    for k, color in enumerate(POOL_COLORS):
        scale += [[k / 4, color], [(k + 1) / 4, color]]
    row_idx = np.arange(panels.shape[1])[::stride]
    col_idx = np.arange(panels.shape[2])[::stride]
    traces = []
    for i in range(count):
        custom = np.stack([ids_a[i], ids_b[i]], axis=-1)  # group ids: sent in the smallest unsigned type that
        custom = custom.astype(np.min_scalar_type(max(int(custom.max()), 0)))  # holds them (base64, 2 B each)
        labels = np.char.add(np.char.add(ids_a[i].astype(str), " · "), ids_b[i].astype(str)).tolist() if text else None
        traces.append(dict(
            type="heatmap", z=shown[i], x=col_idx, y=row_idx, xaxis=refs[i][0], yaxis=refs[i][1], customdata=custom,
            zmin=-0.5, zmax=3.5, colorscale=scale, showscale=i == 0, xgap=2 if text else 0, ygap=2 if text else 0,
            colorbar=dict(tickvals=[0, 1, 2, 3], ticktext=names, len=0.9),
            text=labels, texttemplate="%{text}" if text else None,
            hovertemplate=f"row %{{y}}, column %{{x}}<br>group %{{customdata[0]}} of {p.layer_name}<br>"
                          f"group %{{customdata[1]}} of {p.other_name}<extra></extra>"))
    for name, axis in layout.items():
        if name.startswith("yaxis"):
            axis.update(autorange="reversed", dtick=1 if len(row_idx) <= 16 else None)
        elif name.startswith("xaxis"):
            axis.update(dtick=1 if len(col_idx) <= 16 else None)
    focus = "x[" + ", ".join(str(i) for i in p.focus) + "]"
    subtitle = (f"each cell: its group number in {p.layer_name} · in {p.other_name}" if text else "")
    layout.update(
        title=dict(text=f"The groups of {focus}: {p.layer_name} pools {p.layer_group}, {p.other_name} "
                        f"{p.other_group}" + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
                        + (f"<br><sup>showing {note}</sup>" if note else "")),
        meta={"note": note}, height=min(900, 170 + 220 * math.ceil(count / cols)),
        margin=dict(t=100, b=40, l=40, r=20))
    fig = sealed_figure(traces, layout)
    return fig
