"""The Timing page's figures: lnorm's own reports (time and GB/s against size, the ceilings, the GPU speedup).

The published GPU figures and the costs chart are in figures/timing_gpu.py.
"""

import math

import numpy as np
import plotly.graph_objects as go

from lnorm_core import CLASS_NAMES

from .sealed import sealed_figure, shown_by_value

IMPL_COLORS = {"native": "#4e79a7", "manual": "#f28e2b", "manual_var_mean": "#e15759", "numpy": "#59a14f",
               "compiled": "#b07aa1", "copy": "#7f7f7f"}
KIND_COLORS = {"layer": "#4e79a7", "rms": "#f28e2b", "batch": "#59a14f", "instance": "#b07aa1", "group": "#e15759",
               "copy": "#7f7f7f"}
IMPL_DASHES = {"native": "solid", "manual": "dash", "manual_var_mean": "dashdot", "numpy": "dot",
               "compiled": "longdash", "copy": "solid"}
_DEVICE_MARKERS = {"cpu": "circle", "cuda": "square", "mps": "diamond"}
_SOURCE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")  # one per (source, device) line group
_GROUP_MARKERS = ("circle", "square", "diamond", "triangle-up", "cross")  # several layers: one per (source, device)
FLAG_COLOR = "#d62728"  # a measurement the steadiness check doubts


def _impl_label(impl):
    """A legend entry: the implementation's name, the copy said as what it is."""
    return "copy at each size" if impl == "copy" else impl


def _line_groups(lines):
    """{(source, device): dash}: each source and device draws its lines in its own dash."""
    keys = list(dict.fromkeys((s.source, s.device) for s in lines))
    return {k: _SOURCE_DASHES[i % len(_SOURCE_DASHES)] for i, k in enumerate(keys)}


def _size_axis(sizes):
    """The x axis of every timing figure (a layout dict): elements per tensor, log, a tick at each size measured."""
    ticks = sorted(set(int(n) for n in sizes))
    return dict(type="log", title=dict(text="elements per tensor (log scale)"), tickvals=ticks,
                ticktext=[f"2<sup>{n.bit_length() - 1}</sup>" if n & (n - 1) == 0 else f"{n:,}" for n in ticks])


def _style(lines):
    """(style of each Series, how to read it): one layer colours by implementation, several colour by layer.

    One layer: colour = implementation, dash = report and device, marker = device.
    Several:   colour = layer, dash = implementation, marker = report and device.
    """
    kinds = list(dict.fromkeys(s.kind for s in lines if s.kind != "copy"))
    groups = list(dict.fromkeys((s.source, s.device) for s in lines))
    styles = {}
    if len(kinds) <= 1:
        dashes = _line_groups(lines)
        for s in lines:
            styles[id(s)] = dict(color=IMPL_COLORS.get(s.impl, "#333"), dash=dashes[(s.source, s.device)],
                                 symbol=_DEVICE_MARKERS.get(s.device, "circle"), name=_impl_label(s.impl))
        how = "colour: implementation; line style: report and device; grey: a plain copy of the same tensor"
    else:
        for s in lines:
            styles[id(s)] = dict(color=KIND_COLORS.get(s.kind, "#333"), dash=IMPL_DASHES.get(s.impl, "solid"),
                                 symbol=_GROUP_MARKERS[groups.index((s.source, s.device)) % len(_GROUP_MARKERS)],
                                 name=_impl_label(s.impl) if s.impl == "copy"
                                 else f"{CLASS_NAMES.get(s.kind, s.kind)} · {s.impl}")
        how = ("colour: layer; line style: implementation (solid native, dashed manual, dotted numpy); "
               "marker: report and device; grey: a plain copy of the same tensor")
    if any(s.lows and any(v is not None for v in s.lows) for s in lines):
        how += "; bars: fastest to slowest repeat"
    return styles, how


def _series_traces(lines, hover_value, flagged=()):
    """(traces, how to read them): one scatter per Series, as dicts: x its sizes, y its values as given, bars
    from the fastest to the slowest repeat.

    flagged: (device, kind, impl, numel) of measurements to ring in red (the run's doubtful ones).
    """
    styles, how = _style(lines)
    traces = []
    for s in lines:
        st = styles[id(s)]
        group = f"{s.device} · {s.source}"
        fractions = [np.nan if f is None else f for f in s.fractions]
        values = [np.nan if v is None else v for v in s.values]
        error = None
        if s.lows and any(v is not None for v in s.lows):
            error = dict(type="data", symmetric=False, thickness=1.2, width=3, color=st["color"],
                         array=[np.nan if hi is None or v is None else hi - v for hi, v in zip(s.highs, s.values)],
                         arrayminus=[np.nan if lo is None or v is None else v - lo for lo, v in zip(s.lows, s.values)])
        ring = [(s.device, s.kind, s.impl, n) in flagged for n in s.sizes]
        traces.append(dict(
            type="scatter", x=list(s.sizes), y=values, name=st["name"], error_y=error,
            mode="lines+markers", legendgroup=group, legendgrouptitle=dict(text=group),
            line=dict(color=st["color"], dash=st["dash"], width=1.5 if s.impl == "copy" else 2.5),
            marker=dict(symbol=st["symbol"], size=[12 if r else 7 for r in ring],
                        line=dict(color=[FLAG_COLOR if r else st["color"] for r in ring],
                                  width=[3 if r else 0 for r in ring]))
            if any(ring) else dict(symbol=st["symbol"], size=7),  # arrays only where a point is ringed: cheaper
            customdata=[[shape, f] for shape, f in zip(s.shapes, fractions)],
            meta={"source": s.source, "device": s.device, "impl": s.impl, "kind": s.kind,
                  "flagged": [n for n, r in zip(s.sizes, ring) if r]},
            hovertemplate=f"{st['name']} on {group}<br>%{{x:,}} elements %{{customdata[0]}}<br>"
                          f"{hover_value}<extra></extra>"))
    if flagged:
        how += "; red ring: a measurement whose repeats disagree"
    return traces, how


@shown_by_value
def timing_time_figure(lines, title="Time per call", flagged=()):
    """Median time per call against the size, log-log: one Series (models.timing_reports.series) a line.

    layout.meta["how_to_read"] says what colour, line style and marker stand for.
    """
    traces, how = _series_traces(lines, "median %{y:.3s}s", flagged)
    return sealed_figure(traces, dict(
        xaxis=_size_axis([n for s in lines for n in s.sizes]),
        yaxis=dict(type="log", title=dict(text="median time per call (log scale)"), tickformat="~s",
                   ticksuffix="s", dtick=1),
        title=dict(text=title), height=480, legend=dict(groupclick="toggleitem"), margin=dict(t=60, b=50),
        hovermode="closest", meta={"how_to_read": how}))


@shown_by_value
def timing_bandwidth_figure(lines, ceilings=(), title="Effective bandwidth against the copy ceiling"):
    """GB/s against the size: one line per Series (gbps), each ceiling a horizontal line.

    ceilings: models.timing_reports.Ceiling each: the measured copy at the largest size (dashed, its
    device's colour group) and the datasheet peak where known (dotted), across the sizes shown.
    """
    traces, how = _series_traces(lines, "%{y:.3g} GB/s, %{customdata[1]:.0%} of the copy at this size")
    fig = go.Figure(traces)  # validated: the ceilings and the axes are added to it below
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
    fig.update_xaxes(**_size_axis(sizes))
    fig.update_yaxes(type="log", title="GB/s = 2 · bytes of x / median time (log scale)", dtick=1)
    fig.update_layout(title=title, height=480, legend=dict(groupclick="toggleitem"), margin=dict(t=60, b=50),
                      hovermode="closest", meta={"how_to_read": how + "; dashed black: the copy ceiling"})
    return fig


@shown_by_value
def timing_speedup_figure(speedups, title="GPU speedup over the CPU"):
    """CPU time / GPU time against the size (models.timing_reports.speedups): above 1 the GPU is faster.

    One line per Speedup with y its ratios as given; a dashed line at 1; a marker at each crossover.
    """
    fig = go.Figure()
    sizes = [n for s in speedups for n in s.sizes]
    span = [min(sizes), max(sizes)] if sizes else [2**8, 2**22]
    fig.add_trace(go.Scatter(x=span, y=[1, 1], mode="lines", name="same speed", line=dict(color="#999", dash="dash"),
                             hoverinfo="skip"))
    for s in speedups:
        cpu = "" if s.cpu_source == s.gpu_source else f", CPU: {s.cpu_source}"
        name = f"{CLASS_NAMES.get(s.kind, s.kind)} {s.impl} · {s.device} · {s.gpu_source}{cpu}"
        fig.add_trace(go.Scatter(
            x=list(s.sizes), y=list(s.ratio), name=name, mode="lines+markers",
            line=dict(color=IMPL_COLORS.get(s.impl, "#333"), width=2.5),
            customdata=np.stack([s.cpu_s, s.gpu_s], axis=-1),
            meta={"gpu_source": s.gpu_source, "cpu_source": s.cpu_source, "device": s.device, "impl": s.impl,
                  "kind": s.kind},
            hovertemplate=f"{name}<br>%{{x:,}} elements<br>CPU %{{customdata[0]:.3s}}s, GPU "
                          "%{customdata[1]:.3s}s<br>speedup %{y:.3g}×<extra></extra>"))
        if s.crossover is not None:
            fig.add_trace(go.Scatter(
                x=[s.crossover], y=[dict(zip(s.sizes, s.ratio))[s.crossover]], mode="markers", showlegend=False,
                marker=dict(symbol="star", size=14, color=IMPL_COLORS.get(s.impl, "#333"),
                            line=dict(color="#000", width=1)),
                meta={"crossover": s.crossover, "impl": s.impl},
                hovertemplate=f"{name}: the GPU is faster from %{{x:,}} elements on<extra></extra>"))
    fig.update_xaxes(**_size_axis(sizes))
    ratios = [r for s in speedups for r in s.ratio if r > 0 and math.isfinite(r)] + [1.0]
    lo, hi = math.floor(math.log10(min(ratios))), math.ceil(math.log10(max(ratios)))
    ticks = [m * 10.0**k for k in range(lo, hi + 1) for m in (1, 2, 5)
             if min(ratios) / 2 <= m * 10.0**k <= max(ratios) * 2]  # 0.5×, 1×, 2×, 5×, ...: never a bare digit
    fig.update_yaxes(type="log", title="CPU time / GPU time (log scale; above 1: the GPU is faster)",
                     tickvals=ticks, ticktext=[f"{t:g}×" for t in ticks])
    fig.update_layout(title=title, height=440, margin=dict(t=60, b=50), legend=dict(orientation="h", y=-0.2))
    return fig
