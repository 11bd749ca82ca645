"""lnorm_app.models.timing_reports' costs and presets: the cost of a model's tensor, every layer that fits
it, and the arithmetic behind each time (measured, interpolated, bound), checked by hand-computed cases.

Expected numbers are read from the shipped files with the csv and json modules and worked out here;
none comes from the code under test. No test measures a time.
"""

import json
import math

import pytest

from lnorm_app.models import timing_reports as reports
from lnorm_app.models import timing_run
from lnorm_core import InputError, timing

from timing_kit import H100, LLAMA, SD, cell_of, csv_rows, preset_costs, recorded_rows, row_of


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
    assert reports.cell_text(cpu[0].cells[0]).startswith("— outside the sizes measured, 4,096 to 4.19M elements")
    b200 = row_of(c, "NVIDIA B200", "torch.nn.LayerNorm")  # the B200 rows publish LayerNorm, not RMSNorm, in bf16
    assert cell_of(c, b200, "rms").time_s is None and "no RMSNorm" in cell_of(c, b200, "rms").note
    assert cell_of(c, b200, "layer").method == "measured" and "latency-bound" in cell_of(c, b200, "layer").note


def test_a_layer_nobody_published_gets_only_the_floor():
    c = preset_costs("ResNet-50 stage BatchNorm2d(256), (32, 256, 56, 56)")
    assert [layer.label for layer in c.layers] == ["BatchNorm2d(256)", "InstanceNorm2d(256)", "GroupNorm(32, 256)"]
    gpu_rows = [r for r in c.rows if r.group in ("gpu", "bound")]
    assert all(cell_of(c, r, "batch").method in (None, "bound") for r in gpu_rows)
    assert any("Nobody in the published files timed BatchNorm or InstanceNorm" in n for n in c.notes)


def test_the_costs_table_has_a_column_per_layer_and_the_sources_address():
    c = preset_costs(SD)
    rows = reports.costs_table(c)
    assert list(rows[0])[:5] == ["device", "kernel", "GroupNorm(32, 320)", "BatchNorm2d(320)", "InstanceNorm2d(320)"]
    liger = [r for r in rows if r["kernel"].startswith("Liger")]
    assert liger and liger[0]["address"].startswith("https://github.com/linkedin/Liger-Kernel/blob/")
    assert liger[0]["GroupNorm(32, 320)"].endswith("(interpolated)")
    floors = [r for r in rows if r["kernel"].startswith("lower bound")]
    assert all(r["GroupNorm(32, 320)"].startswith("≥ ") for r in floors)


def test_layers_that_fit_a_shape():
    layers, notes = reports.layers_for((2, 197, 768), ("features last", "channels"))
    assert [layer.label for layer in layers] == ["LayerNorm(768)", "RMSNorm(768)", "BatchNorm1d(197)",
                                                 "InstanceNorm1d(197)", "GroupNorm(1, 197)"]  # 197 is prime
    layers, notes = reports.layers_for((4, 96), ("channels",))
    assert not layers and "(N, C, L)" in notes[0]
    # torch refuses BatchNorm and InstanceNorm on (1, 8, 1, 1)
    layers, notes = reports.layers_for((1, 8, 1, 1), ("channels",), num_groups=2)
    assert [layer.kind for layer in layers] == ["group"] and len(notes) == 2
    assert reports.default_groups(320) == 32 and reports.default_groups(48) == 24 and reports.default_groups(7) == 7


@pytest.mark.parametrize(("text", "shape"), [("1, 4096, 4096", (1, 4096, 4096)), ("(2, 320, 64, 64)", (2, 320, 64, 64)),
                                             ("64x197x768", (64, 197, 768)), ("[8 1024]", (8, 1024))])
def test_parse_cost_shape(text, shape):
    assert reports.parse_cost_shape(text) == shape


@pytest.mark.parametrize(("text", "message"), [("", "give a shape"), ("4096", "2 to 6"), ("2, -3", "positive"),
                                               ("2, a", "positive"), ("1,2,3,4,5,6,7", "2 to 6"),
                                               ("1048576, 1048576, 1048576", "2\\^40")])
def test_parse_cost_shape_refuses(text, message):
    with pytest.raises(InputError, match=message):
        reports.parse_cost_shape(text)


def test_a_run_of_the_models_own_shapes_is_measured_now():
    c = reports.costs((2, 8, 64), "float32", "forward", ("features last",))
    report = timing.time_layers(timing_run.measure_plan(c), min_run_time=0.002, repeats=2)
    c = reports.costs((2, 8, 64), "float32", "forward", ("features last",), measured_now=report)
    now = [r for r in c.rows if r.device.startswith("CPU (this server, now)")]
    assert [r.kernel.split(",")[0] for r in now] == ["torch's kernel", "a plain copy"]
    rows = {r["kind"]: r["median_s"] for r in report["results"]}
    assert [cell.time_s for cell in now[0].cells] == [rows["layer"], rows["rms"]]
    assert all(cell.method == "measured" and "measured now" in cell.note for cell in now[0].cells)
    big = preset_costs(LLAMA)
    assert big.numel == 2**24 and timing_run.too_big_to_measure(big) is None
    with pytest.raises(InputError, match="2\\^24"):
        timing_run.measure_plan(preset_costs("ResNet-50 stage BatchNorm2d(256), (32, 256, 56, 56)"))


def test_a_run_of_channel_layers_is_matched_to_each_layer_and_its_groups():
    # GroupNorm(2, 8) is found by its groups; a run of GroupNorm(4, 8) would not stand for it
    c = reports.costs((2, 8, 4), "float32", "forward", ("channels",), num_groups=2)
    assert [layer.label for layer in c.layers] == ["BatchNorm1d(8)", "InstanceNorm1d(8)", "GroupNorm(2, 8)"]
    report = timing.time_layers(timing_run.measure_plan(c), min_run_time=0.002, repeats=1)
    (now, _) = [r for r in reports.costs((2, 8, 4), "float32", "forward", ("channels",), num_groups=2,
                                         measured_now=report).rows if r.device.startswith("CPU (this server, now)")]
    rows = {r["kind"]: r["median_s"] for r in report["results"]}
    assert [cell.time_s for cell in now.cells] == [rows["batch"], rows["instance"], rows["group"]]
    other = timing.time_layers([("group", (2, 8, 4), 4)], min_run_time=0.002, repeats=1)
    c = reports.costs((2, 8, 4), "float32", "forward", ("channels",), num_groups=2, measured_now=other)
    assert not [r for r in c.rows if r.device.startswith("CPU (this server, now)")]  # no layer of this run


def test_an_uploaded_cuda_report_gives_its_own_row_and_floor():
    report = {"device": {"name": "NVIDIA H200", "type": "cuda"}, "ceiling_gbps": 4000.0, "datasheet_gbps": 4800.0,
              "devices": [{"name": "NVIDIA H200", "type": "cuda", "datasheet_gbps": 4800.0, "ceiling_gbps": 4000.0}],
              "results": [{"device": "cuda", "kind": "rms", "impl": "native", "shape": [n // 4096, 4096],
                           "dtype": "bfloat16", "median_s": t, "spread": 0.01, "gbps": 4 * n / t / 1e9, "numel": n}
                          for n, t in ((2**22, 1e-5), (2**26, 1e-4))]}
    src = reports.Source("uploaded", "test", timing.load_report(json.dumps(report)))
    c = preset_costs(LLAMA, uploaded=[src])
    mine = row_of(c, "NVIDIA H200", "torch's kernel (lnorm harness)")
    # 2^24 is halfway between 2^22 and 2^26 in log size: sqrt(1e-5 * 1e-4)
    assert cell_of(c, mine, "rms").time_s == pytest.approx(math.sqrt(1e-5 * 1e-4))
    assert cell_of(c, mine, "rms").method == "interpolated"
    assert row_of(c, "NVIDIA H200", "lower bound").cells[0].time_s == pytest.approx(2**24 * 2 * 2 / 4800e9)
