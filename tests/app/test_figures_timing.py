"""The Timing page's core and figures: reports shaped into series, the ceiling, GPU/CPU speedup, the crossover.

Reports here are made by hand (and pass timing.load_report), so every expected number
is written in the test, not taken from the code under test. No test measures or asserts a time.
"""

import json
import math
import threading

import pytest

from lnorm_app import figures
from lnorm_app.models import timing as tv
from lnorm_app.models import timing_run as tr
from lnorm_core import timing
from lnorm_core.errors import InputError


def row(device, kind, impl, numel, median_s, gbps=None, dtype="float32", fraction=None):
    """One result row as the harness writes it (shape: one dim of numel elements)."""
    return {"device": device, "kind": kind, "impl": impl, "shape": [numel], "dtype": dtype, "median_s": median_s,
            "spread": 0.01, "gbps": 8 * numel / median_s / 1e9 if gbps is None else gbps, "numel": numel,
            "compile_s": None, "ceiling_fraction": fraction}


def report(rows, ceiling=12.5, datasheet=None, device_type="cpu", devices=None):
    """A report around `rows`, validated by load_report as any upload would be."""
    r = {"device": {"name": f"test {device_type}", "type": device_type, "torch_version": "2.13.0",
                    "num_threads": 2, "date": "2026-01-02T03:04:05+00:00"},
         "ceiling_gbps": ceiling, "datasheet_gbps": datasheet, "results": rows}
    if devices is not None:
        r["devices"] = devices
    return timing.load_report(json.dumps(r))


def source(rows, name="recorded", **kw):
    return tv.Source(name, "test", report(rows, **kw))


SIZES = (1, 2, 3, 4)
CPU_S = (1.0, 2.0, 4.0, 8.0)
GPU_S = (3.0, 3.0, 3.0, 3.0)


def gpu_cpu_rows(kind="layer", impl="native"):
    """CPU times 1, 2, 4, 8 and GPU times 3, 3, 3, 3 over sizes 1..4: the GPU overtakes at size 3."""
    return ([row("cpu", kind, impl, n, t) for n, t in zip(SIZES, CPU_S)]
            + [row("cuda", kind, impl, n, t) for n, t in zip(SIZES, GPU_S)])


def mixed_rows():
    """Two CPU implementations and one GPU one, their copies, another kind, and rows the plots leave out."""
    rows = []
    for n, (a, b, c, g) in zip((256, 1024, 4096), ((1e-5, 2e-5, 5e-6, 4e-6), (3e-5, 7e-5, 9e-6, 5e-6),
                                                    (2e-4, 5e-4, 6e-5, 6e-6))):
        rows += [row("cpu", "layer", "native", n, a, gbps=1.5 * n / 256, fraction=0.5),
                 row("cpu", "layer", "manual", n, b, gbps=0.7 * n / 256, fraction=0.2),
                 row("cpu", "copy", "copy", n, c, gbps=3.0 * n / 256, fraction=1.0),
                 row("cpu", "rms", "native", n, a * 2),
                 row("cuda", "layer", "native", n, g, gbps=40.0 * n / 256),
                 row("cuda", "copy", "copy", n, g / 2),
                 row("cuda", "copy", "h2d", n, g * 3),
                 row("cuda", "layer", "native", n, g / 3, dtype="bfloat16")]
    return rows


def traces(fig, **meta):
    """The traces whose meta has these values."""
    return [t for t in fig.data if isinstance(t.meta, dict) and all(t.meta.get(k) == v for k, v in meta.items())]


# ---- series and figures ------------------------------------------------------------------------


def test_time_figure_has_one_trace_per_device_and_impl_with_the_reports_values():
    src = source(mixed_rows())
    fig = figures.timing_time_figure(tv.series([src], "layer", "float32", "median_s"))
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
    fig = figures.timing_bandwidth_figure(tv.series([src], "layer", "float32", "gbps"), tv.ceilings([src]))
    native = traces(fig, device="cpu", impl="native")
    assert len(native) == 1
    assert list(native[0].x) == [256, 1024, 4096] and list(native[0].y) == [1.5, 6.0, 24.0]
    (ceiling,) = traces(fig, ceiling="measured")
    assert list(ceiling.y) == [12.5, 12.5]
    assert list(ceiling.x) == [256, 4096]  # across the sizes shown
    assert not traces(fig, ceiling="datasheet")


def test_ceiling_per_device_and_the_datasheet_peak_where_known():
    devices = [{"name": "test cpu", "type": "cpu", "ceiling_gbps": 9.0, "datasheet_gbps": None},
               {"name": "NVIDIA H100 80GB HBM3", "type": "cuda", "ceiling_gbps": 2900.0, "datasheet_gbps": 3350.0}]
    src = source(mixed_rows(), ceiling=2900.0, datasheet=3350.0, device_type="cuda", devices=devices)
    found = {(c.device, c.gbps, c.datasheet_gbps) for c in tv.ceilings([src])}
    assert found == {("cpu", 9.0, None), ("cuda", 2900.0, 3350.0)}
    fig = figures.timing_bandwidth_figure(tv.series([src], "layer", "float32", "gbps"), tv.ceilings([src]))
    assert [list(t.y) for t in traces(fig, ceiling="measured", device="cuda")] == [[2900.0, 2900.0]]
    assert [list(t.y) for t in traces(fig, ceiling="datasheet", device="cuda")] == [[3350.0, 3350.0]]
    # bfloat16: only the GPU has rows, so only its ceiling is drawn
    assert [c.device for c in tv.ceilings([src], "bfloat16")] == ["cuda"]


def test_series_keep_sources_apart_and_leave_out_h2d_and_other_dtypes():
    a, b = source(mixed_rows(), name="your run"), source(mixed_rows(), name="recorded")
    lines = tv.series([a, b], "layer", "float32", "median_s")
    assert len(lines) == 10 and {s.source for s in lines} == {"your run", "recorded"}
    assert all(s.impl != "h2d" for s in lines)
    bf16 = tv.series([a], "layer", "bfloat16", "median_s")
    assert [(s.device, s.impl, s.values) for s in bf16] == [("cuda", "native", (4e-6 / 3, 5e-6 / 3, 6e-6 / 3))]
    fig = figures.timing_time_figure(lines)
    assert len(traces(fig, source="your run", device="cpu", impl="native")) == 1
    assert len(traces(fig, source="recorded", device="cpu", impl="native")) == 1
    assert len({t.line.dash for t in fig.data}) == 4  # one dash per (source, device)


def test_series_keep_the_first_row_of_a_size_and_sort_by_size():
    rows = [row("cpu", "layer", "native", 1024, 3.0), row("cpu", "layer", "native", 256, 1.0),
            row("cpu", "layer", "native", 1024, 9.0)]
    (line,) = tv.series([source(rows)], "layer")
    assert line.sizes == (256, 1024) and line.values == (1.0, 3.0)
    with pytest.raises(InputError, match="metric"):
        tv.series([source(rows)], "layer", metric="p99")


def test_kinds_and_dtypes_in_the_reports():
    src = source(mixed_rows())
    assert tv.kinds_in([src]) == ["layer", "rms"]
    assert tv.dtypes_in([src]) == ["float32", "bfloat16"]
    assert tv.has_accelerator([src]) and not tv.has_accelerator([source([row("cpu", "layer", "native", 256, 1.0)])])


# ---- crossover and speedup ---------------------------------------------------------------------


def test_crossover_on_a_hand_made_report():
    assert tv.crossover(SIZES, CPU_S, GPU_S) == 3
    (up,) = tv.speedups([source(gpu_cpu_rows())], "layer")
    assert up.crossover == 3
    assert up.sizes == SIZES and up.cpu_s == CPU_S and up.gpu_s == GPU_S
    assert up.ratio == pytest.approx((1 / 3, 2 / 3, 4 / 3, 8 / 3))
    assert up.device == "cuda" and up.impl == "native" and up.cpu_source == up.gpu_source == "recorded"
    assert "from 3 elements on" in tv.crossover_text(up)


@pytest.mark.parametrize("cpu, gpu, expected", [
    ((5, 5, 5, 5), (1, 1, 1, 1), 1),  # faster everywhere: from the smallest size
    ((1, 1, 1, 1), (2, 2, 2, 2), None),  # never faster
    ((1, 5, 1, 5), (2, 2, 2, 2), 4),  # ahead at 2, behind at 3: it stays ahead only from 4
    ((1, 2, 3, 3), (2, 2, 2, 3), None),  # a tie at the largest size is not faster
])
def test_crossover_cases(cpu, gpu, expected):
    assert tv.crossover(SIZES, cpu, gpu) == expected


def test_speedup_takes_cpu_times_from_another_report_when_the_gpu_report_has_none():
    gpu_only = source([r for r in gpu_cpu_rows() if r["device"] == "cuda"], name="uploaded", device_type="cuda")
    cpu_run = source([r for r in gpu_cpu_rows() if r["device"] == "cpu"], name="your run")
    (up,) = tv.speedups([cpu_run, gpu_only], "layer")
    assert (up.gpu_source, up.cpu_source, up.crossover) == ("uploaded", "your run", 3)
    assert "CPU times from your run" in tv.crossover_text(up)
    assert tv.speedups([cpu_run], "layer") == []  # no GPU, no speedup


def test_speedup_figure_draws_the_ratios_as_given_and_marks_the_crossover():
    ups = tv.speedups([source(gpu_cpu_rows())], "layer")
    fig = figures.timing_speedup_figure(ups)
    (line,) = traces(fig, impl="native", device="cuda")
    assert list(line.x) == list(SIZES) and list(line.y) == list(ups[0].ratio)
    (star,) = [t for t in fig.data if isinstance(t.meta, dict) and "crossover" in t.meta]
    assert list(star.x) == [3] and list(star.y) == [pytest.approx(4 / 3)]
    same = [t for t in fig.data if t.name == "same speed"]
    assert list(same[0].y) == [1, 1]


def test_headline_prefers_the_gpu_and_reports_the_largest_size():
    h = tv.headline(source(mixed_rows()))
    assert (h.device, h.size, h.gbps) == ("cuda", 4096, 40.0 * 16)
    h = tv.headline(source(mixed_rows()), device="cpu")
    assert (h.size, h.gbps, h.copy_gbps, h.fraction) == (4096, 24.0, 48.0, 0.5)
    assert tv.headline(source([row("cpu", "rms", "native", 256, 1.0)])) is None


# ---- sources, uploads, the shipped recordings ----------------------------------------------------


def test_upload_source_reads_a_report_and_refuses_bad_ones_with_the_file_name():
    data = json.dumps(report(gpu_cpu_rows())).encode()
    src = tv.upload_source(data, "gpu.json")
    assert src.name == "uploaded" and "test cpu (cpu)" in src.label and "2026-01-02" in src.label
    for bad, words in ((b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"),
                       (json.dumps({"device": {"name": "x", "type": "cpu"}, "ceiling_gbps": None}).encode(),
                        "results"),
                       (json.dumps(dict(report(gpu_cpu_rows()), results=[dict(gpu_cpu_rows()[0], median_s=-1)]))
                        .encode(), "median_s"),
                       (b"\xff\xfe", "UTF-8")):
        with pytest.raises(InputError, match=words) as info:
            tv.upload_source(bad, "bad.json")
        assert str(info.value).startswith("bad.json is not a timing report")
    with pytest.raises(InputError, match="no result rows"):
        tv.upload_source(json.dumps(dict(report([]), results=[])).encode(), "empty.json")


def test_shipped_recordings_load_and_are_labelled():
    sources = tv.shipped_sources()
    assert sources, "data/timing/ ships a recording, so a visitor sees a plot without running anything"
    for s in sources:
        device = s.report["device"]
        assert device["name"] and device["torch_version"] and device["date"]
        assert device["torch_version"] in s.label and device["date"][:10] in s.label
        assert tv.series([s], "layer", "float32", "median_s")


def test_shipped_sources_refuse_a_broken_file_by_name(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(report([row("cpu", "layer", "native", 256, 1.0)])))
    (tmp_path / "b.json").write_text(json.dumps(report([row("cpu", "layer", "native", 256, 1.0)])))
    assert [s.name for s in tv.shipped_sources(tmp_path)] == ["recorded 1", "recorded 2"]
    (tmp_path / "c.json").write_text('{"device": 1}')
    with pytest.raises(InputError, match="c.json"):
        tv.shipped_sources(tmp_path)


# ---- a run from the page -------------------------------------------------------------------------


def test_page_sweep_and_its_limit():
    assert tr.page_sweep(2**8, 2**12) == (2**8, 2**10, 2**12)
    assert tr.page_sweep(2**20, 2**12) == (2**12, 2**14, 2**16, 2**18, 2**20)
    assert max(tr.PAGE_SIZES) == tr.PAGE_MAX_ELEMENTS == 2**22
    with pytest.raises(InputError, match="at most"):
        tr.page_sweep(2**8, 2**24)


def test_measurement_count_and_shapes_table():
    assert tr.measurement_count(["layer", "rms"], ["native", "manual"], ["cpu"], (256, 1024)) == 2 * (1 + 4)
    assert tr.measurement_count(["layer"], ["native"], ["cpu", "cuda"], (256,)) == 2 + 3
    rows = tr.shapes_table(["layer", "batch"], (2**12,))
    assert rows == [{"elements": "4,096 (2^12)", "LayerNorm": "(4, 1024)", "BatchNorm": "(8, 64, 2, 4)"}]


def test_run_in_turn_says_it_waits_while_another_run_holds_the_lock():
    waited = threading.Event()
    result = {}

    def visitor():
        result["report"] = tr.run_in_turn(on_wait=waited.set, kinds="layer", impls="native", devices="cpu",
                                          sizes=(256,), min_run_time=0.002)

    with timing.RUN_LOCK:  # another visitor's run
        assert tr.busy()
        t = threading.Thread(target=visitor)
        t.start()
        assert waited.wait(30), "the waiting visitor was told that it waits"
        assert "report" not in result  # and it did wait
    t.join(60)
    assert not tr.busy()
    assert {(r["kind"], r["impl"]) for r in result["report"]["results"]} == {("copy", "copy"), ("layer", "native")}


def test_run_in_turn_keeps_the_page_limits():
    with pytest.raises(InputError, match="20 s"):
        tr.run_in_turn(kinds="layer", sizes=(256,), time_budget_s=60)
    with pytest.raises(InputError, match="over the limit"):
        tr.run_in_turn(kinds="layer", impls="native", devices="cpu", sizes=(2**24,), max_elements=2**24)


def test_table_has_a_row_per_result_with_readable_units():
    rows = tv.table([source(mixed_rows())], kinds=("layer",))
    assert len(rows) == 3 * 7  # rms rows left out; copies and h2d kept
    first = rows[0]
    assert first["median µs"] == pytest.approx(10.0) and first["% of copy"] == pytest.approx(50.0)
    assert math.isclose(first["GB/s"], 1.5)


def test_first_headline_is_the_gpu_where_a_report_has_one():
    cpu_run = source([row("cpu", "layer", "native", 256, 1.0)], name="your run")
    gpu = source(gpu_cpu_rows(), name="uploaded")
    h = tv.first_headline([cpu_run, gpu])
    assert (h.source, h.device, h.size) == ("uploaded", "cuda", 4)
    assert tv.first_headline([cpu_run]).source == "your run"
    assert tv.first_headline([]) is None


# ---- is a run to be trusted? -------------------------------------------------------------------


def run_report(rows, load=0.5, threads=2):
    """A page run's report around `rows` (CPU, float32), validated as any report is."""
    r = {"device": {"name": "test cpu", "type": "cpu", "torch_version": "2.13.0", "num_threads": threads,
                    "date": "2026-01-02T03:04:05+00:00", "load_avg_1min": load},
         "ceiling_gbps": 12.5, "datasheet_gbps": None, "settings": {"repeats": 3}, "results": rows}
    return timing.load_report(json.dumps(r))


def repeated(kind, impl, numel, repeats, spread=0.05, gbps=None):
    """A row whose median_s is the median of `repeats`, as the harness writes it."""
    return dict(row("cpu", kind, impl, numel, sorted(repeats)[len(repeats) // 2], gbps=gbps),
                repeats_s=list(repeats), spread=spread)


def test_a_steady_run_is_called_steady():
    rows = [repeated("layer", "native", 4096, [1.0e-5, 1.1e-5, 1.2e-5]),
            repeated("copy", "copy", 4096, [2e-6, 2e-6, 2.1e-6], gbps=40.0)]
    recorded = run_report([repeated("copy", "copy", 4096, [2e-6, 2e-6, 2e-6], gbps=45.0)])
    v = tr.steadiness(run_report(rows), recorded)
    assert v.steady and v.findings == () and v.repeats == 3 and v.threads == 2 and v.measurements == 2


def test_the_noisy_run_of_the_issue_is_flagged_with_its_numbers():
    # the same call took 100 µs, 3,414 µs and 12.8 µs: 3414 / 100 = 34x the median, 100 / 12.8 = 7.8x under it
    rows = [repeated("layer", "native", 4096, [100e-6, 3414e-6, 12.8e-6]),
            repeated("layer", "manual", 4096, [1e-4, 1.1e-4, 1.2e-4], spread=0.6),  # blocks vary by 60%
            repeated("copy", "copy", 4096, [2e-6, 2e-6, 2e-6], gbps=10.0)]
    recorded = run_report([repeated("copy", "copy", 4096, [1e-6, 1e-6, 1e-6], gbps=40.0)])
    v = tr.steadiness(run_report(rows, load=6.3, threads=2), recorded)
    assert not v.steady
    found = {f.what: f for f in v.findings}
    assert set(found) == {"outliers", "spread", "ceiling", "load"}
    assert "1 of 3 measurements" in found["outliers"].text and "34×" in found["outliers"].text
    assert "100 µs, 3,414 µs, 12.8 µs" in found["outliers"].text
    assert found["outliers"].rows == (("cpu", "layer", "native", 4096),)
    assert "60%" in found["spread"].text and found["spread"].rows == (("cpu", "layer", "manual", 4096),)
    assert "25%" in found["ceiling"].text and "10 GB/s against 40 GB/s" in found["ceiling"].text  # 10 / 40
    assert "6.3" in found["load"].text and "2 threads" in found["load"].text
    assert tr.flagged(v) == {("cpu", "layer", "native", 4096), ("cpu", "layer", "manual", 4096),
                             ("cpu", "copy", "copy", 4096)}


def test_two_repeats_cannot_outvote_each_other():
    rows = [repeated("layer", "native", 4096, [1e-5, 3e-5])]  # 3x apart, but which one is wrong?
    assert tr.steadiness(run_report(rows)).steady


def test_series_carry_the_range_of_the_repeats():
    rows = [repeated("layer", "native", 4096, [1e-5, 2e-5, 4e-5], gbps=8 * 4096 / 2e-5 / 1e9)]
    (line,) = tv.series([source(rows)], "layer", "float32", "median_s")
    assert (line.lows, line.values, line.highs) == ((1e-5,), (2e-5,), (4e-5,))
    (bw,) = tv.series([source(rows)], "layer", "float32", "gbps")
    # GB/s scales as 1 / time: the slowest repeat is the lowest bandwidth
    assert bw.lows[0] == pytest.approx(8 * 4096 / 4e-5 / 1e9) and bw.highs[0] == pytest.approx(8 * 4096 / 1e-5 / 1e9)
    fig = figures.timing_time_figure([line], flagged={("cpu", "layer", "native", 4096)})
    (t,) = fig.data
    assert list(t.error_y.array) == [pytest.approx(2e-5)] and list(t.error_y.arrayminus) == [pytest.approx(1e-5)]
    assert t.meta["flagged"] == [4096] and "red ring" in fig.layout.meta["how_to_read"]


def test_several_layers_in_one_chart_are_coloured_by_layer():
    rows = mixed_rows()
    fig = figures.timing_time_figure(tv.series([source(rows)], ["layer", "rms"], "float32", "median_s", ["native"]))
    colours = {t.meta["kind"]: t.line.color for t in fig.data if t.meta["impl"] != "copy"}
    assert set(colours) == {"layer", "rms"} and colours["layer"] != colours["rms"]
    assert {t.name for t in fig.data} >= {"LayerNorm · native", "RMSNorm · native"}
    assert "colour: layer" in fig.layout.meta["how_to_read"]
