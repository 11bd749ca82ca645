"""The GPU view's and the costs view's models and figures: published curves beside lnorm's own rows,
the cost of a model's tensor, and the arithmetic behind them, checked by hand-computed cases.

Expected numbers are read from the shipped files with the csv and json modules and worked out here;
none comes from the code under test. No test measures a time.
"""

import csv
import json
import math
from pathlib import Path

import pytest

from lnorm_app import figures
from lnorm_app.models import costs as cm
from lnorm_app.models import timing as tv
from lnorm_app.models import timing_gpu as tg
from lnorm_core import InputError, timing

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "data" / "gpu" / "gpu_norm_measurements.csv"
RECORDING = ROOT / "data" / "timing" / "cpu-xeon-2threads-2026-11-21.json"
H100 = "NVIDIA H100 80GB HBM3"
LLAMA = "Llama-style RMSNorm(4096), (batch, seq) = (1, 4096)"
SD = "Stable Diffusion UNet GroupNorm(32, 320), (2, 320, 64, 64)"


def csv_rows(**where):
    """Rows of the shipped CSV (as text) whose columns equal `where`, read without lnorm."""
    with open(CSV, newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if all(r[k] == v for k, v in where.items())]


def recorded_rows(kind, impl="native"):
    """{numel: median_s} of the shipped CPU recording, read with json."""
    report = json.loads(RECORDING.read_text(encoding="utf-8"))
    return {r["numel"]: r["median_s"] for r in report["results"] if r["kind"] == kind and r["impl"] == impl}


def preset_costs(name, **kw):
    p = cm.PRESETS[name]
    return cm.costs(p.shape, kw.pop("dtype", p.dtype), kw.pop("mode", "forward"), p.layouts, p.num_groups,
                    recorded=tv.shipped_sources(), first=p.kind, **kw)


def row_of(c, device, kernel_start):
    (row,) = [r for r in c.rows if r.device == device and r.kernel.startswith(kernel_start)]
    return row


def cell_of(c, row, kind):
    return row.cells[[layer.kind for layer in c.layers].index(kind)]


# ---- the floor, by hand ------------------------------------------------------


def test_the_floor_of_the_llama_tensor_on_each_gpu_by_hand():
    c = preset_costs(LLAMA)
    moved = 2 * 1 * 4096 * 4096 * 2  # read x and write y, bf16: 67,108,864 bytes
    assert c.bytes_moved == moved == 67_108_864
    for gpu, peak in ((H100, 3350), ("NVIDIA B200", 8000), ("NVIDIA A100-SXM4-80GB", 2039)):
        floor = row_of(c, gpu, "lower bound")
        assert floor.group == "bound" and all(cell.method == "bound" for cell in floor.cells)
        assert floor.cells[0].time_s == pytest.approx(moved / (peak * 1e9))
    assert row_of(c, H100, "lower bound").cells[0].time_s == pytest.approx(20.03249671641791e-6)


def test_bytes_count_the_pass():
    n = 2 * 320 * 64 * 64
    for mode, passes in (("forward", 2), ("backward", 3), ("full", 5)):
        assert preset_costs(SD, mode=mode).bytes_moved == passes * n * 4


# ---- the costs of the presets ----------------------------------------------------------------


def test_a_published_time_at_exactly_this_size_is_measured_and_equals_the_file():
    c = preset_costs(LLAMA)
    (src,) = csv_rows(norm="megatron_rms_norm", provider="torch", gpu_name=H100, mode="forward",
                      input_shape="4096x1x4096")
    cell = cell_of(c, row_of(c, H100, "torch.nn.RMSNorm"), "rms")
    assert cell.method == "measured" and cell.time_s == pytest.approx(float(src["y_p50"]) / 1e3)
    assert "4096x1x4096" in cell.note


def test_a_time_between_two_published_sizes_is_interpolated_by_hand():
    c = preset_costs("ViT-B LayerNorm(768), batch 64 × 197 tokens")
    numel = 64 * 197 * 768  # 9,682,944: between 4096x2048 and 4096x4096
    lo, hi = (csv_rows(norm="layer_norm", provider="huggingface", gpu_name=H100, mode="forward", input_shape=s)[0]
              for s in ("4096x2048", "4096x4096"))
    a, b = 4096 * 2048, 4096 * 4096
    ta, tb = float(lo["y_p50"]) / 1e3, float(hi["y_p50"]) / 1e3
    expected = math.exp(math.log(ta) + (math.log(numel) - math.log(a)) / (math.log(b) - math.log(a))
                        * (math.log(tb) - math.log(ta)))
    cell = cell_of(c, row_of(c, H100, "torch.nn.LayerNorm"), "layer")
    assert cell.method == "interpolated" and cell.time_s == pytest.approx(expected)
    assert "4096x2048" in cell.note and "4096x4096" in cell.note


def test_the_cpu_recording_is_interpolated_and_labelled_so():
    c = preset_costs(SD)
    numel = 2 * 320 * 64 * 64  # 2,621,440: between the recording's 2^20 and 2^22
    group = recorded_rows("group")
    expected = math.exp(math.log(group[2**20]) + math.log(numel / 2**20) / math.log(4)
                        * math.log(group[2**22] / group[2**20]))
    cpu = [r for r in c.rows if r.group == "cpu" and r.kernel.startswith("torch's kernel")]
    assert len(cpu) == 1 and cpu[0].device.startswith("CPU (recording)")
    cell = cell_of(c, cpu[0], "group")
    assert cell.method == "interpolated" and cell.time_s == pytest.approx(expected)
    assert c.layers[0].kind == "group" and c.layers[0].label == "GroupNorm(32, 320)"  # the model's own layer first


def test_outside_the_measured_sizes_there_is_no_time_and_the_cell_says_why():
    c = preset_costs(LLAMA)  # 2^24 elements: past the CPU recording's 2^22
    cpu = [r for r in c.rows if r.group == "cpu"]
    assert cpu and all(cell.time_s is None and "outside the sizes measured" in cell.note
                       for r in cpu for cell in r.cells)
    assert cm.cell_text(cpu[0].cells[0]).startswith("— outside the sizes measured, 4,096 to 4.19M elements")
    b200 = row_of(c, "NVIDIA B200", "torch.nn.LayerNorm")  # the B200 rows publish LayerNorm, not RMSNorm, in bf16
    assert cell_of(c, b200, "rms").time_s is None and "no RMSNorm" in cell_of(c, b200, "rms").note
    assert cell_of(c, b200, "layer").method == "measured" and "latency-bound" in cell_of(c, b200, "layer").note


def test_a_layer_nobody_published_gets_only_the_floor():
    c = preset_costs("ResNet-50 stage BatchNorm2d(256), (32, 256, 56, 56)")
    assert [layer.label for layer in c.layers] == ["BatchNorm2d(256)", "InstanceNorm2d(256)", "GroupNorm(32, 256)"]
    gpu_rows = [r for r in c.rows if r.group in ("gpu", "bound")]
    assert all(cell_of(c, r, "batch").method in (None, "bound") for r in gpu_rows)
    assert any("Nobody in the published files timed BatchNorm or InstanceNorm" in n for n in c.notes)


def test_measured_interpolated_and_bound_are_never_drawn_alike():
    c = preset_costs("ViT-B LayerNorm(768), batch 64 × 197 tokens")
    fig = figures.costs_figure(c, tv.time_text)
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


def test_the_costs_table_has_a_column_per_layer_and_the_sources_address():
    c = preset_costs(SD)
    rows = cm.table(c)
    assert list(rows[0])[:5] == ["device", "kernel", "GroupNorm(32, 320)", "BatchNorm2d(320)", "InstanceNorm2d(320)"]
    liger = [r for r in rows if r["kernel"].startswith("Liger")]
    assert liger and liger[0]["address"].startswith("https://github.com/linkedin/Liger-Kernel/blob/")
    assert liger[0]["GroupNorm(32, 320)"].endswith("(interpolated)")
    floors = [r for r in rows if r["kernel"].startswith("lower bound")]
    assert all(r["GroupNorm(32, 320)"].startswith("≥ ") for r in floors)


def test_layers_that_fit_a_shape():
    layers, notes = cm.layers_for((2, 197, 768), ("features last", "channels"))
    assert [layer.label for layer in layers] == ["LayerNorm(768)", "RMSNorm(768)", "BatchNorm1d(197)",
                                                 "InstanceNorm1d(197)", "GroupNorm(1, 197)"]  # 197 is prime
    layers, notes = cm.layers_for((4, 96), ("channels",))
    assert not layers and "(N, C, L)" in notes[0]
    layers, notes = cm.layers_for((1, 8, 1, 1), ("channels",), num_groups=2)  # torch refuses BatchNorm, InstanceNorm
    assert [layer.kind for layer in layers] == ["group"] and len(notes) == 2
    assert cm.default_groups(320) == 32 and cm.default_groups(48) == 24 and cm.default_groups(7) == 7


@pytest.mark.parametrize(("text", "shape"), [("1, 4096, 4096", (1, 4096, 4096)), ("(2, 320, 64, 64)", (2, 320, 64, 64)),
                                             ("64x197x768", (64, 197, 768)), ("[8 1024]", (8, 1024))])
def test_parse_cost_shape(text, shape):
    assert cm.parse_cost_shape(text) == shape


@pytest.mark.parametrize(("text", "message"), [("", "give a shape"), ("4096", "2 to 6"), ("2, -3", "positive"),
                                               ("2, a", "positive"), ("1,2,3,4,5,6,7", "2 to 6"),
                                               ("1048576, 1048576, 1048576", "2\\^40")])
def test_parse_cost_shape_refuses(text, message):
    with pytest.raises(InputError, match=message):
        cm.parse_cost_shape(text)


def test_a_run_of_the_models_own_shapes_is_measured_now():
    c = cm.costs((2, 8, 64), "float32", "forward", ("features last",))
    report = timing.time_layers(cm.measure_plan(c), min_run_time=0.002, repeats=2)
    c = cm.costs((2, 8, 64), "float32", "forward", ("features last",), measured_now=report)
    now = [r for r in c.rows if r.device.startswith("CPU (this server, now)")]
    assert [r.kernel.split(",")[0] for r in now] == ["torch's kernel", "a plain copy"]
    rows = {r["kind"]: r["median_s"] for r in report["results"]}
    assert [cell.time_s for cell in now[0].cells] == [rows["layer"], rows["rms"]]
    assert all(cell.method == "measured" and "measured now" in cell.note for cell in now[0].cells)
    big = preset_costs(LLAMA)
    assert big.numel == 2**24 and cm.too_big_to_measure(big) is None
    with pytest.raises(InputError, match="2\\^24"):
        cm.measure_plan(preset_costs("ResNet-50 stage BatchNorm2d(256), (32, 256, 56, 56)"))


def test_an_uploaded_cuda_report_gives_its_own_row_and_floor():
    report = {"device": {"name": "NVIDIA H200", "type": "cuda"}, "ceiling_gbps": 4000.0, "datasheet_gbps": 4800.0,
              "devices": [{"name": "NVIDIA H200", "type": "cuda", "datasheet_gbps": 4800.0, "ceiling_gbps": 4000.0}],
              "results": [{"device": "cuda", "kind": "rms", "impl": "native", "shape": [n // 4096, 4096],
                           "dtype": "bfloat16", "median_s": t, "spread": 0.01, "gbps": 4 * n / t / 1e9, "numel": n}
                          for n, t in ((2**22, 1e-5), (2**26, 1e-4))]}
    src = tv.Source("uploaded", "test", timing.load_report(json.dumps(report)))
    c = preset_costs(LLAMA, uploaded=[src])
    mine = row_of(c, "NVIDIA H200", "torch's kernel (lnorm harness)")
    # 2^24 is halfway between 2^22 and 2^26 in log size: sqrt(1e-5 * 1e-4)
    assert cell_of(c, mine, "rms").time_s == pytest.approx(math.sqrt(1e-5 * 1e-4))
    assert cell_of(c, mine, "rms").method == "interpolated"
    assert row_of(c, "NVIDIA H200", "lower bound").cells[0].time_s == pytest.approx(2**24 * 2 * 2 / 4800e9)


# ---- the GPU view ----------------------------------------------------------------------------


def test_published_curves_carry_gpu_source_and_recomputed_bandwidth():
    curves = tg.published_curves(["layer"], "forward", [H100])
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
    (cpu,) = tg.report_curves(tv.shipped_sources(), ["layer"])
    rec = json.loads(RECORDING.read_text(encoding="utf-8"))
    copies = {r["numel"]: r["gbps"] for r in rec["results"] if r["impl"] == "copy"}
    native = {r["numel"]: r["gbps"] for r in rec["results"] if r["kind"] == "layer" and r["impl"] == "native"}
    assert cpu.device_type == "cpu" and cpu.source_url is None and cpu.peak_gbps is None
    assert list(cpu.pct) == pytest.approx([100 * native[n] / copies[n] for n in sorted(native)])
    assert "copy" in cpu.share_of
    fig = figures.gpu_peak_figure([cpu] + tg.published_curves(["layer"], "forward", [H100]))
    assert [t.meta.get("origin") for t in fig.data if t.meta and "origin" in t.meta].count("recorded") == 1


def test_quotes_take_torchs_own_module_at_its_largest_size():
    (q,) = tg.torch_quotes(["layer"], "forward", [H100])
    assert q.curve.kernel == "torch.nn.LayerNorm (eager)" and q.shape == "4096x16384"
    (rms,) = tg.torch_quotes(["rms"], "forward", ["NVIDIA A100-SXM4-80GB"]) or [None]
    assert rms is None  # on the A100 only HF's eager LlamaRMSNorm was published, not torch.nn.RMSNorm
    rows = tg.quote_rows([q])
    assert rows[0]["device"] == "H100 80GB HBM3" and rows[0]["whose"] == "published: Liger-Kernel benchmarks"


def test_the_sources_table_lists_every_file_with_its_licence():
    rows = tg.source_rows()
    assert len(rows) == 5 and sum(r["measurements"] for r in rows) == len(tg.published_rows())
    assert {r["licence"] for r in rows} == {"BSD-2-Clause", "Apache-2.0"}
    assert all(r["address"].startswith("https://github.com/") for r in rows)
