"""lnorm_app.figures' timing figures: time and GB/s against size, the ceiling, the speedup, the costs chart.
Each draws the numbers it is given, as given; reports are made by hand (tests/timing_kit.py).
"""

import pytest

from lnorm_app import figures
from lnorm_app.models import timing_reports as reports

from timing_kit import SIZES, gpu_cpu_rows, mixed_rows, preset_costs, repeated, source, traces


def test_time_figure_has_one_trace_per_device_and_impl_with_the_reports_values():
    src = source(mixed_rows())
    fig = figures.timing_time_figure(reports.series([src], "layer", "float32", "median_s"))
    lines = traces(fig)
    assert sorted((t.meta["device"], t.meta["impl"]) for t in lines) == sorted(
        [("cpu", "native"), ("cpu", "manual"), ("cpu", "copy"), ("cuda", "native"), ("cuda", "copy")])
    expected = {(r["device"], r["impl"]): {} for r in mixed_rows()}
    for r in mixed_rows():
        if r["dtype"] == "float32" and r["kind"] in ("layer", "copy") and r["impl"] != "h2d":
            expected[(r["device"], r["impl"])][r["numel"]] = r["median_s"]
    for t in lines:
        want = expected[(t.meta["device"], t.meta["impl"])]
        assert list(t.x) == sorted(want)
        assert list(t.y) == [want[n] for n in sorted(want)]  # as given, not recomputed
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_bandwidth_figure_values_and_the_ceiling_line():
    src = source(mixed_rows(), ceiling=12.5)
    fig = figures.timing_bandwidth_figure(reports.series([src], "layer", "float32", "gbps"), reports.ceilings([src]))
    native = traces(fig, device="cpu", impl="native")
    assert len(native) == 1
    assert list(native[0].x) == [256, 1024, 4096] and list(native[0].y) == [1.5, 6.0, 24.0]
    (ceiling,) = traces(fig, ceiling="measured")
    assert list(ceiling.y) == [12.5, 12.5]
    assert list(ceiling.x) == [256, 4096]  # across the sizes shown
    assert not traces(fig, ceiling="datasheet")


def test_speedup_figure_draws_the_ratios_as_given_and_marks_the_crossover():
    ups = reports.speedups([source(gpu_cpu_rows())], "layer")
    fig = figures.timing_speedup_figure(ups)
    (line,) = traces(fig, impl="native", device="cuda")
    assert list(line.x) == list(SIZES) and list(line.y) == list(ups[0].ratio)
    (star,) = [t for t in fig.data if isinstance(t.meta, dict) and "crossover" in t.meta]
    assert list(star.x) == [3] and list(star.y) == [pytest.approx(4 / 3)]
    same = [t for t in fig.data if t.name == "same speed"]
    assert list(same[0].y) == [1, 1]


def test_series_carry_the_range_of_the_repeats():
    rows = [repeated("layer", "native", 4096, [1e-5, 2e-5, 4e-5], gbps=8 * 4096 / 2e-5 / 1e9)]
    (line,) = reports.series([source(rows)], "layer", "float32", "median_s")
    assert (line.lows, line.values, line.highs) == ((1e-5,), (2e-5,), (4e-5,))
    (bw,) = reports.series([source(rows)], "layer", "float32", "gbps")
    # GB/s scales as 1 / time: the slowest repeat is the lowest bandwidth
    assert bw.lows[0] == pytest.approx(8 * 4096 / 4e-5 / 1e9) and bw.highs[0] == pytest.approx(8 * 4096 / 1e-5 / 1e9)
    fig = figures.timing_time_figure([line], flagged={("cpu", "layer", "native", 4096)})
    (t,) = fig.data
    assert list(t.error_y.array) == [pytest.approx(2e-5)] and list(t.error_y.arrayminus) == [pytest.approx(1e-5)]
    assert t.meta["flagged"] == [4096] and "red ring" in fig.layout.meta["how_to_read"]


def test_several_layers_in_one_chart_are_coloured_by_layer():
    rows = mixed_rows()
    lines = reports.series([source(rows)], ["layer", "rms"], "float32", "median_s", ["native"])
    fig = figures.timing_time_figure(lines)
    colours = {t.meta["kind"]: t.line.color for t in fig.data if t.meta["impl"] != "copy"}
    assert set(colours) == {"layer", "rms"} and colours["layer"] != colours["rms"]
    assert {t.name for t in fig.data} >= {"LayerNorm · native", "RMSNorm · native"}
    assert "colour: layer" in fig.layout.meta["how_to_read"]
def test_measured_interpolated_and_bound_are_never_drawn_alike():
    c = preset_costs("ViT-B LayerNorm(768), batch 64 × 197 tokens")
    fig = figures.costs_figure(c, reports.time_text)
    styles = {}
    for t in fig.data:
        if isinstance(t.meta, dict) and "method" in t.meta and t.x and t.x[0] is not None:
            styles.setdefault(t.meta["method"], set()).add((t.marker.symbol, t.marker.opacity))
    assert set(styles) == {"interpolated", "bound"}  # ViT's 9.7M elements fall between published sizes
    assert styles["interpolated"].isdisjoint(styles["bound"])
    key = {t.meta["key"]: t.marker.symbol for t in fig.data if isinstance(t.meta, dict) and "key" in t.meta}
    assert len(set(key.values())) == 3 and set(key) == {"measured", "interpolated", "bound"}
    assert [t.name for t in fig.data if isinstance(t.meta, dict) and "key" in t.meta] == [
        "measured at this size", "interpolated between two measured sizes", "lower bound: bytes ÷ datasheet bandwidth"]
