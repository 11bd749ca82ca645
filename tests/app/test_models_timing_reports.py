"""lnorm_app.models.timing_reports: sources, lines and published curves. Reports shaped into series, the
ceiling, GPU/CPU speedup and its crossover, the headline, uploads and the shipped recordings; other people's
GPU curves with their sources, beside lnorm's own rows.

Reports are made by hand (tests/timing_kit.py), so every expected number is written in the test, not
taken from the code under test. No test measures or asserts a time.
"""

import json
import math

import pytest

from lnorm_app import figures
from lnorm_app.models import timing_reports as reports
from lnorm_core import InputError

from timing_kit import (CPU_S, GPU_S, H100, RECORDING, SIZES, csv_rows, gpu_cpu_rows, mixed_rows, report, row, source,
                        traces)


def test_ceiling_per_device_and_the_datasheet_peak_where_known():
    devices = [{"name": "test cpu", "type": "cpu", "ceiling_gbps": 9.0, "datasheet_gbps": None},
               {"name": "NVIDIA H100 80GB HBM3", "type": "cuda", "ceiling_gbps": 2900.0, "datasheet_gbps": 3350.0}]
    src = source(mixed_rows(), ceiling=2900.0, datasheet=3350.0, device_type="cuda", devices=devices)
    found = {(c.device, c.gbps, c.datasheet_gbps) for c in reports.ceilings([src])}
    assert found == {("cpu", 9.0, None), ("cuda", 2900.0, 3350.0)}
    fig = figures.timing_bandwidth_figure(reports.series([src], "layer", "float32", "gbps"), reports.ceilings([src]))
    assert [list(t.y) for t in traces(fig, ceiling="measured", device="cuda")] == [[2900.0, 2900.0]]
    assert [list(t.y) for t in traces(fig, ceiling="datasheet", device="cuda")] == [[3350.0, 3350.0]]
    # bfloat16: only the GPU has rows, so only its ceiling is drawn
    assert [c.device for c in reports.ceilings([src], "bfloat16")] == ["cuda"]


def test_series_keep_sources_apart_and_leave_out_h2d_and_other_dtypes():
    a, b = source(mixed_rows(), name="your run"), source(mixed_rows(), name="recorded")
    lines = reports.series([a, b], "layer", "float32", "median_s")
    assert len(lines) == 10 and {s.source for s in lines} == {"your run", "recorded"}
    assert all(s.impl != "h2d" for s in lines)
    bf16 = reports.series([a], "layer", "bfloat16", "median_s")
    assert [(s.device, s.impl, s.values) for s in bf16] == [("cuda", "native", (4e-6 / 3, 5e-6 / 3, 6e-6 / 3))]
    fig = figures.timing_time_figure(lines)
    assert len(traces(fig, source="your run", device="cpu", impl="native")) == 1
    assert len(traces(fig, source="recorded", device="cpu", impl="native")) == 1
    assert len({t.line.dash for t in fig.data}) == 4  # one dash per (source, device)


def test_series_keep_the_first_row_of_a_size_and_sort_by_size():
    rows = [row("cpu", "layer", "native", 1024, 3.0), row("cpu", "layer", "native", 256, 1.0),
            row("cpu", "layer", "native", 1024, 9.0)]
    (line,) = reports.series([source(rows)], "layer")
    assert line.sizes == (256, 1024) and line.values == (1.0, 3.0)
    with pytest.raises(InputError, match="metric"):
        reports.series([source(rows)], "layer", metric="p99")


def test_kinds_and_dtypes_in_the_reports():
    src = source(mixed_rows())
    assert reports.kinds_in([src]) == ["layer", "rms"]
    assert reports.dtypes_in([src]) == ["float32", "bfloat16"]
    assert reports.has_accelerator([src])
    assert not reports.has_accelerator([source([row("cpu", "layer", "native", 256, 1.0)])])


def test_crossover_on_a_hand_made_report():
    assert reports.crossover(SIZES, CPU_S, GPU_S) == 3
    (up,) = reports.speedups([source(gpu_cpu_rows())], "layer")
    assert up.crossover == 3
    assert up.sizes == SIZES and up.cpu_s == CPU_S and up.gpu_s == GPU_S
    assert up.ratio == pytest.approx((1 / 3, 2 / 3, 4 / 3, 8 / 3))
    assert up.device == "cuda" and up.impl == "native" and up.cpu_source == up.gpu_source == "recorded"
    assert "from 3 elements on" in reports.crossover_text(up)


@pytest.mark.parametrize("cpu, gpu, expected", [
    ((5, 5, 5, 5), (1, 1, 1, 1), 1),  # faster everywhere: from the smallest size
    ((1, 1, 1, 1), (2, 2, 2, 2), None),  # never faster
    ((1, 5, 1, 5), (2, 2, 2, 2), 4),  # ahead at 2, behind at 3: it stays ahead only from 4
    ((1, 2, 3, 3), (2, 2, 2, 3), None),  # a tie at the largest size is not faster
])
def test_crossover_cases(cpu, gpu, expected):
    assert reports.crossover(SIZES, cpu, gpu) == expected


def test_speedup_takes_cpu_times_from_another_report_when_the_gpu_report_has_none():
    gpu_only = source([r for r in gpu_cpu_rows() if r["device"] == "cuda"], name="uploaded", device_type="cuda")
    cpu_run = source([r for r in gpu_cpu_rows() if r["device"] == "cpu"], name="your run")
    (up,) = reports.speedups([cpu_run, gpu_only], "layer")
    assert (up.gpu_source, up.cpu_source, up.crossover) == ("uploaded", "your run", 3)
    assert "CPU times from your run" in reports.crossover_text(up)
    assert reports.speedups([cpu_run], "layer") == []  # no GPU, no speedup


def test_headline_prefers_the_gpu_and_reports_the_largest_size():
    h = reports.headline(source(mixed_rows()))
    assert (h.device, h.size, h.gbps) == ("cuda", 4096, 40.0 * 16)
    h = reports.headline(source(mixed_rows()), device="cpu")
    assert (h.size, h.gbps, h.copy_gbps, h.fraction) == (4096, 24.0, 48.0, 0.5)
    assert reports.headline(source([row("cpu", "rms", "native", 256, 1.0)])) is None


def test_upload_source_reads_a_report_and_refuses_bad_ones_with_the_file_name():
    data = json.dumps(report(gpu_cpu_rows())).encode()
    src = reports.upload_source(data, "gpu.json")
    assert src.name == "uploaded" and "test cpu (cpu)" in src.label and "2026-01-02" in src.label
    for bad, words in ((b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"),
                       (json.dumps({"device": {"name": "x", "type": "cpu"}, "ceiling_gbps": None}).encode(),
                        "results"),
                       (json.dumps(dict(report(gpu_cpu_rows()), results=[dict(gpu_cpu_rows()[0], median_s=-1)]))
                        .encode(), "median_s"),
                       (b"\xff\xfe", "UTF-8")):
        with pytest.raises(InputError, match=words) as info:
            reports.upload_source(bad, "bad.json")
        assert str(info.value).startswith("bad.json is not a timing report")
    with pytest.raises(InputError, match="no result rows"):
        reports.upload_source(json.dumps(dict(report([]), results=[])).encode(), "empty.json")


def test_shipped_recordings_load_and_are_labelled():
    sources = reports.shipped_sources()
    assert sources, "data/timing/ ships a recording, so a visitor sees a plot without running anything"
    for s in sources:
        device = s.report["device"]
        assert device["name"] and device["torch_version"] and device["date"]
        assert device["torch_version"] in s.label and device["date"][:10] in s.label
        assert reports.series([s], "layer", "float32", "median_s")


def test_shipped_sources_refuse_a_broken_file_by_name(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(report([row("cpu", "layer", "native", 256, 1.0)])))
    (tmp_path / "b.json").write_text(json.dumps(report([row("cpu", "layer", "native", 256, 1.0)])))
    assert [s.name for s in reports.shipped_sources(tmp_path)] == ["recorded 1", "recorded 2"]
    (tmp_path / "c.json").write_text('{"device": 1}')
    with pytest.raises(InputError, match="c.json"):
        reports.shipped_sources(tmp_path)


def test_table_has_a_row_per_result_with_readable_units():
    rows = reports.table([source(mixed_rows())], kinds=("layer",))
    assert len(rows) == 3 * 7  # rms rows left out; copies and h2d kept
    first = rows[0]
    assert first["median µs"] == pytest.approx(10.0) and first["% of copy"] == pytest.approx(50.0)
    assert math.isclose(first["GB/s"], 1.5)


def test_first_headline_is_the_gpu_where_a_report_has_one():
    cpu_run = source([row("cpu", "layer", "native", 256, 1.0)], name="your run")
    gpu = source(gpu_cpu_rows(), name="uploaded")
    h = reports.first_headline([cpu_run, gpu])
    assert (h.source, h.device, h.size) == ("uploaded", "cuda", 4)
    assert reports.first_headline([cpu_run]).source == "your run"
    assert reports.first_headline([]) is None


def test_published_curves_carry_gpu_source_and_recomputed_bandwidth():
    curves = reports.published_curves(["layer"], "forward", [H100])
    torch_ln = [c for c in curves if c.kernel == "torch.nn.LayerNorm (eager)"]
    (c,) = torch_ln
    assert c.device == H100 and c.origin == "published" and c.license == "BSD-2-Clause"
    assert c.source_url.startswith("https://github.com/linkedin/Liger-Kernel/blob/")
    (src,) = csv_rows(norm="layer_norm", provider="huggingface", gpu_name=H100, mode="forward",
                      input_shape="4096x4096")
    i = c.shapes.index("4096x4096")
    gbps = 2 * 4096 * 4096 * 4 / (float(src["y_p50"]) / 1e3) / 1e9  # read x, write y, fp32
    assert c.gbps[i] == pytest.approx(gbps) and c.pct[i] == pytest.approx(100 * gbps / 3350)
    fig = figures.gpu_bandwidth_figure(curves)
    assert all(t.meta["device"] == H100 and t.meta["source_url"] for t in fig.data)
    assert {"pytorch", "fast kernel"} <= {t.meta["impl_class"] for t in fig.data}


def test_lnorms_cpu_curve_is_held_to_its_own_copy_not_a_datasheet():
    (cpu,) = reports.report_curves(reports.shipped_sources(), ["layer"])
    rec = json.loads(RECORDING.read_text(encoding="utf-8"))
    copies = {r["numel"]: r["gbps"] for r in rec["results"] if r["impl"] == "copy"}
    native = {r["numel"]: r["gbps"] for r in rec["results"] if r["kind"] == "layer" and r["impl"] == "native"}
    assert cpu.device_type == "cpu" and cpu.source_url is None and cpu.peak_gbps is None
    assert list(cpu.pct) == pytest.approx([100 * native[n] / copies[n] for n in sorted(native)])
    assert "copy" in cpu.share_of
    fig = figures.gpu_peak_figure([cpu] + reports.published_curves(["layer"], "forward", [H100]))
    assert [t.meta.get("origin") for t in fig.data if t.meta and "origin" in t.meta].count("recorded") == 1


def test_quotes_take_torchs_own_module_at_its_largest_size():
    (q,) = reports.torch_quotes(["layer"], "forward", [H100])
    assert q.curve.kernel == "torch.nn.LayerNorm (eager)" and q.shape == "4096x16384"
    (rms,) = reports.torch_quotes(["rms"], "forward", ["NVIDIA A100-SXM4-80GB"]) or [None]
    assert rms is None  # on the A100 only HF's eager LlamaRMSNorm was published, not torch.nn.RMSNorm
    rows = reports.quote_rows([q])
    assert rows[0]["device"] == "H100 80GB HBM3" and rows[0]["whose"] == "published: Liger-Kernel benchmarks"


def test_the_sources_table_lists_every_file_with_its_licence():
    rows = reports.source_rows()
    assert len(rows) == 5 and sum(r["measurements"] for r in rows) == len(reports.published_rows())
    assert {r["licence"] for r in rows} == {"BSD-2-Clause", "Apache-2.0"}
    assert all(r["address"].startswith("https://github.com/") for r in rows)


def test_answers_kept_for_the_shipped_file_are_what_its_rows_give():
    """Curves, quotes, GPUs and costs of the shipped file are kept for its version: the same as read off its rows."""
    rows = reports.published_rows()
    kinds, gpus_shown = ["layer", "rms", "group"], ["NVIDIA H100 80GB HBM3"]
    for mode in ("forward", "full"):
        kept = reports.published_curves(kinds, mode, gpus_shown)
        assert kept == reports.published_curves(kinds, mode, gpus_shown, rows=rows)
        assert reports.published_curves(kinds, mode, gpus_shown)[0] is kept[0]  # kept, not read again
        assert reports.torch_quotes(kinds, mode, gpus_shown) == reports.torch_quotes(kinds, mode, gpus_shown, rows)
    assert reports.gpus() == reports.gpus(rows)
    shipped = reports.shipped_sources()
    assert reports.costs((8, 4096, 4096), "bfloat16", "forward", recorded=shipped) == reports.costs(
        (8, 4096, 4096), "bfloat16", "forward", recorded=shipped, rows=rows)
