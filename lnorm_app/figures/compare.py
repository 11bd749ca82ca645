"""The Compare page's figures: where torch's error sits, and the variance algorithms against offset."""

import math

import numpy as np
import plotly.graph_objects as go

from .common import SEQUENTIAL, heatmap_panels
from .sealed import shown_once

ALGORITHM_LABELS = {"two_pass": "two-pass", "one_pass": "one-pass: E[x²] − E[x]²", "welford": "Welford"}
_ALGORITHM_COLORS = {"two_pass": "#4e79a7", "one_pass": "#e15759", "welford": "#59a14f"}


@shown_once
def error_heatmap(abs_err, title="|torch − core|"):
    """A heatmap of per-element absolute errors on a log colour scale; exact zeros drawn at the floor.

    abs_err: Comparison.abs_err (any shape). The floor is a decade below the smallest non-zero
    error; an infinite error (NaN on one side only) is left blank.
    """
    err = np.asarray(abs_err, dtype=np.float64)
    positive = err[np.isfinite(err) & (err > 0)]
    lo = math.floor(math.log10(positive.min())) - 1 if positive.size else -17
    hi = max(math.ceil(math.log10(positive.max())), lo + 1) if positive.size else lo + 1

    def log_colour(e):  # log10 of the error; 0 -> the floor, inf -> blank
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(e > 0, np.log10(np.where(e > 0, e, 1.0)), lo)
        return np.where(np.isinf(e), np.nan, z)

    ticks = list(range(lo, hi + 1, max(1, (hi - lo) // 8)))
    coloraxis = dict(colorscale=SEQUENTIAL, cmin=lo, cmax=hi)
    return heatmap_panels(err, title, "|error|", coloraxis,
                          "row %{y}, column %{x}<br>|error| = %{customdata:.3g}<extra></extra>", customdata=err,
                          color=log_colour,
                          colorbar=dict(tickvals=ticks, ticktext=["0" if t == lo else f"1e{t}" for t in ticks]))


def offset_text(value):
    """An offset as a person reads it: '2,457' or '1.82'."""
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3g}"


@shown_once
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
    # a decade beyond the data each way, inside float64's range (10.0 ** 309 raises OverflowError)
    floor = 10.0 ** max(math.floor(math.log10(finite.min())) - 1, -307) if finite.size else 1e-17
    top = 10.0 ** min(math.ceil(math.log10(max(finite.max(), 1.0))) + 1, 308) if finite.size else 10.0
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
