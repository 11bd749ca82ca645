"""The Timing page's GPU figures: published GB/s and % of peak beside lnorm's own rows, and the costs chart.

Every trace carries its device, origin and source in meta and hover; a figure's
layout.meta["sources"] lists whose numbers it shows, for the caption under it.
"""

import math

import numpy as np
import plotly.graph_objects as go

from lnorm_core import CLASS_NAMES

from .sealed import shown_by_value
from .timing import KIND_COLORS

GPU_COLORS = {"NVIDIA H100 80GB HBM3": "#d62728", "NVIDIA H100 NVL": "#ff7f0e", "NVIDIA A100-SXM4-80GB": "#1f77b4",
              "NVIDIA A100 80GB PCIe": "#17becf", "NVIDIA B200": "#2ca02c"}
OTHER_GPU_COLOR = "#9467bd"
CPU_COLOR = "#222222"
CLASS_DASHES = {"pytorch": "solid", "compiled": "dash", "fast kernel": "dot"}
KIND_MARKERS = {"layer": "circle", "rms": "square", "group": "diamond", "batch": "triangle-up", "instance": "cross"}
# how the costs chart draws each way of getting a time: never two the same
METHOD_MARKERS = {"measured": dict(symbol="circle", size=11, opacity=1.0),
                  "interpolated": dict(symbol="circle-open", size=11, opacity=1.0),
                  "bound": dict(symbol="line-ns-open", size=20, opacity=0.6)}
METHOD_WORDS = {"measured": "measured at this size", "interpolated": "interpolated between two measured sizes",
                "bound": "lower bound: bytes ÷ datasheet bandwidth"}


def device_color(device, device_type="cuda"):
    """A GPU's colour (the same GPU is one colour on every figure); CPUs are near-black."""
    if device_type == "cpu":
        return CPU_COLOR
    return GPU_COLORS.get(device, OTHER_GPU_COLOR)


def _short(device):
    return device.replace("NVIDIA ", "").replace("(R)", "").replace("(TM)", "")


def _clip(text, n):
    """text cut to n characters with an ellipsis (a chart's row label; the hover and the table say it all)."""
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _origin_words(curve):
    return "published" if curve.origin == "published" else f"lnorm, {curve.origin}"


def _curve_trace(c, y, hover_y):
    """One Scatter of a Curve: colour by device, dash by kind of kernel, marker by layer; lnorm's own lines thicker."""
    ours = c.origin != "published"
    group = f"{_short(c.device)} · {_origin_words(c)}"
    name = c.label + (" · latency-bound sizes" if c.latency_bound else "")
    where = f"{c.source}" + (f" ({c.license})" if c.license else "")
    custom = np.array([[shape, t * 1e6, g, "-" if p is None else f"{p:.0f}%"]
                       for shape, t, g, p in zip(c.shapes, c.times, c.gbps, c.pct)], dtype=object)
    return go.Scatter(
        x=list(c.sizes), y=[np.nan if v is None else v for v in y], name=name, mode="lines+markers",
        legendgroup=group, legendgrouptitle_text=group,
        line=dict(color=device_color(c.device, c.device_type), width=3.5 if ours else 2,
                  dash="solid" if ours else CLASS_DASHES.get(c.impl_class, "solid")),
        marker=dict(symbol=KIND_MARKERS.get(c.kind, "circle") + ("-open" if ours else ""), size=9 if ours else 7,
                    line=dict(width=2) if ours else None),
        customdata=custom,
        meta={"origin": c.origin, "device": c.device, "kind": c.kind, "impl_class": c.impl_class,
              "source": c.source, "source_url": c.source_url, "dtype": c.dtype},
        hovertemplate=f"<b>{name}</b><br>{c.device} ({_origin_words(c)})<br>%{{x:,}} elements, %{{customdata[0]}}"
                      f"<br>{hover_y}<br>source: {where}<extra></extra>")


def _sources(curves):
    """The distinct sources of the curves, in order: (source, url, licence)."""
    return list(dict.fromkeys((c.source, c.source_url, c.license) for c in curves))


def _elements_axis(fig):
    fig.update_xaxes(type="log", title="elements per tensor (log scale)", exponentformat="power", dtick=1)


@shown_by_value
def gpu_bandwidth_figure(curves, title="GB/s against size: published GPU kernels beside lnorm's CPU recording"):
    """GB/s (log) against elements (log), one line per Curve (models.timing_reports), values as given."""
    fig = go.Figure([_curve_trace(c, c.gbps, "%{y:,.4g} GB/s = bytes moved / time (%{customdata[1]:,.4g} µs)")
                     for c in curves])
    _elements_axis(fig)
    fig.update_yaxes(type="log", title="GB/s = bytes moved / median time (log scale)", dtick=1)
    fig.update_layout(title=title, height=560, hovermode="closest", legend=dict(groupclick="toggleitem"),
                      margin=dict(t=60, b=50), meta={"sources": _sources(curves)})
    return fig


@shown_by_value
def gpu_peak_figure(curves, title="Share of the peak: GPUs of their datasheet bandwidth, the CPU of its own copy"):
    """% of peak against elements: a GPU curve's share of its datasheet GB/s, a CPU's of its measured copy."""
    fig = go.Figure([_curve_trace(c, c.pct, "%{y:.0f}% of " + c.share_of) for c in curves])
    xs = [n for c in curves for n in c.sizes]
    if xs:
        fig.add_trace(go.Scatter(x=[min(xs), max(xs)], y=[100, 100], mode="lines", name="100%: the peak",
                                 line=dict(color="#999", dash="dash", width=1), hoverinfo="skip",
                                 meta={"peak_line": True}))
    _elements_axis(fig)
    top = max([p for c in curves for p in c.pct if p is not None] + [100])
    fig.update_yaxes(title="% of peak (GPUs: datasheet; CPU: its copy)", range=[0, min(top * 1.08, 200)],
                     ticksuffix="%")
    fig.update_layout(title=title, height=520, hovermode="closest", legend=dict(groupclick="toggleitem"),
                      margin=dict(t=60, b=50), meta={"sources": _sources(curves)})
    return fig


def _same_for_every_layer(row):
    """A floor (bytes / datasheet) or a plain copy: one time for every layer, drawn once."""
    return row.group == "bound" or row.impl_class == "lnorm copy"


def _layer_traces(fig, c, j, layer, labels, offsets, time_text):
    """The markers of layer j, one trace per method; j = -1 (layer None): the rows with one time for every layer."""
    for method, style in METHOD_MARKERS.items():
        xs, ys, text, hover_rows = [], [], [], []
        for i, row in enumerate(c.rows):
            cell = row.cells[max(j, 0)]
            if cell.time_s is None or cell.method != method or _same_for_every_layer(row) != (j == -1):
                continue
            xs.append(cell.time_s)
            ys.append(i + offsets[j])
            text.append(time_text(cell.time_s))
            hover_rows.append(f"{labels[i]}<br>{cell.note}<br>source: {row.source}")
        if not xs:
            continue
        name = "every layer" if layer is None else layer.label
        color = "#555" if layer is None else KIND_COLORS.get(layer.kind, "#333")
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=name, legendgroup="how" if layer is None else name, showlegend=False,
            marker=dict(color=color, symbol=style["symbol"], size=style["size"], opacity=style["opacity"],
                        line=dict(width=4 if method == "bound" else 2, color=color)),
            customdata=np.array([[t, h] for t, h in zip(text, hover_rows)], dtype=object),
            meta={"layer": name, "kind": None if layer is None else layer.kind, "method": method},
            hovertemplate=f"<b>{name}</b>: %{{customdata[0]}} ({METHOD_WORDS[method]})<br>%{{customdata[1]}}"
                          "<extra></extra>"))
    if layer is not None:  # the legend's colour key: a plain swatch, so it does not look like one method
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=layer.label, legendgroup=layer.label,
                                 marker=dict(color=KIND_COLORS.get(layer.kind, "#333"), symbol="square", size=11),
                                 meta={"swatch": layer.label}, hoverinfo="skip"))


@shown_by_value
def costs_figure(c, time_text):
    """Every row of a models.timing_reports.Costs on one chart: a line per (device, kernel), a marker per layer.

    x: time per call (log). Colour: the layer. Marker: how the time was obtained: filled =
    measured at this size, open = interpolated, a tick = lower bound (bytes / datasheet bandwidth).
    A floor or a plain copy, one time for every layer, is one grey marker. A cell with no time has no
    marker (the table says why). time_text formats a time for hover.
    """
    fig = go.Figure()
    n_layers = len(c.layers)
    offsets = [(j - (n_layers - 1) / 2) * min(0.22, 0.7 / max(n_layers, 1)) for j in range(n_layers)]
    labels = [_clip(f"{_short(r.device)} · {r.kernel}", 64) for r in c.rows]
    for j, layer in enumerate(c.layers):
        _layer_traces(fig, c, j, layer, labels, offsets, time_text)
    _layer_traces(fig, c, -1, None, labels, offsets + [0.0], time_text)  # floors and copies: once, in grey
    for method, style in METHOD_MARKERS.items():  # the legend's key to the markers, in grey
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=METHOD_WORDS[method],
                                 legendgroup="how", legendgrouptitle_text="how each time was obtained",
                                 marker=dict(color="#555", symbol=style["symbol"], size=style["size"],
                                             opacity=style["opacity"],
                                             line=dict(width=4 if method == "bound" else 2, color="#555")),
                                 meta={"key": method}, hoverinfo="skip"))
    bands, last = [], None  # a light band behind each other device, so its rows read as one group
    for i, row in enumerate(c.rows):
        if row.device != last:
            bands.append([i, i])
            last = row.device
        bands[-1][1] = i
    for k, (a, b) in enumerate(bands):
        if k % 2 == 0:
            fig.add_hrect(y0=a - 0.5, y1=b + 0.5, fillcolor="#f0f2f6", line_width=0, layer="below")
    times = [cell.time_s for r in c.rows for cell in r.cells if cell.time_s]
    lo, hi = (min(times), max(times)) if times else (1e-6, 1e-3)
    for i, row in enumerate(c.rows):  # a row with no time at all says why, where its markers would be
        if all(cell.time_s is None for cell in row.cells):
            fig.add_annotation(x=math.log10(lo), y=i, text=f"— {row.cells[0].short or row.cells[0].note}",
                               showarrow=False, xanchor="left", font=dict(color="#888", size=11))
    steps = (1, 2, 5) if hi / lo < 300 else (1, 3) if hi / lo < 3e4 else (1,)  # about eight ticks, never crowded
    ticks = [m * 10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) for m in steps
             if lo / 1.5 <= m * 10.0**k <= hi * 1.5]
    fig.update_xaxes(type="log", title="time per call (log scale)", tickvals=ticks, ticktext=[time_text(t) for t in ticks],
                     range=[math.log10(lo) - 0.15, math.log10(hi) + 0.15], showgrid=True)
    fig.update_yaxes(tickvals=list(range(len(c.rows))), ticktext=labels, autorange="reversed", showgrid=False,
                     range=[len(c.rows) - 0.5, -0.5], zeroline=False)
    fig.update_layout(
        title=f"One {CLASS_NAMES.get(c.layers[0].kind, '') if n_layers == 1 else 'call of each layer'} on "
              f"{'×'.join(map(str, c.shape))} {c.dtype} ({c.mode}): time per call",
        height=max(320, 120 + 26 * len(c.rows)), margin=dict(t=60, b=50, l=10), hovermode="closest",
        legend=dict(groupclick="toggleitem"),
        meta={"sources": list(dict.fromkeys((r.source, r.source_url, r.license) for r in c.rows))})
    return fig
