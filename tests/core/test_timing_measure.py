"""lnorm_core.timing.measure (with sizes and devices): rows for every kind and implementation, the bandwidth
formula, repeats taken in turn, the limits and budgets, the shapes timed and the datasheet peaks.

Tiny sizes and short measurements; no test asserts on a wall-clock time.
"""

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from lnorm_core import timing
from lnorm_core.errors import MAX_TIMING_ELEMENTS, MAX_TIMING_SECONDS, InputError
from lnorm_core.timing import __main__ as cli
from lnorm_core.timing import impls

ROOT = Path(__file__).resolve().parents[2]
TINY = 2**8  # the smallest size timing accepts
FAST = 0.002  # seconds per measurement: enough for a positive median, not for a figure
MEASURED_IMPLS = ("native", "manual", "manual_var_mean", "numpy")


@pytest.fixture(scope="module")
def report():
    """One tiny CPU run of every kind with every implementation but compiled."""
    return timing.run_timing(kinds=timing.KINDS, impls=MEASURED_IMPLS, devices="cpu",
                             sizes=(TINY, 2 * TINY), min_run_time=FAST)


def test_every_kind_and_impl_yields_a_positive_time(report):
    got = {(r["kind"], r["impl"], r["numel"]) for r in report["results"]}
    for numel in (TINY, 2 * TINY):
        assert ("copy", "copy", numel) in got
        for kind in timing.KINDS:
            for impl in MEASURED_IMPLS:
                assert (kind, impl, numel) in got, (kind, impl, numel, report["skipped"])
    for r in report["results"]:
        assert r["median_s"] > 0 and math.isfinite(r["median_s"])
        assert r["spread"] >= 0
        assert r["device"] == "cpu" and r["dtype"] == "float32"
        assert r["compile_s"] is None
        assert r.get("num_groups") == (8 if r["kind"] == "group" else None)  # a group row says its groups
    assert report["truncated"] is False


def test_numpy_impl_runs_on_every_kind(report):
    rows = [r for r in report["results"] if r["impl"] == "numpy"]
    assert len(rows) == 2 * len(timing.KINDS)


def test_gbps_is_bytes_read_and_written_over_the_median(report):
    for r in report["results"]:
        itemsize = torch.empty((), dtype=getattr(torch, r["dtype"])).element_size()
        assert r["numel"] == math.prod(r["shape"])
        expected = 2 * r["numel"] * itemsize / r["median_s"] / 1e9  # read x once, write y once
        assert math.isclose(r["gbps"], expected, rel_tol=1e-12)


def test_ceiling_is_the_copy_at_the_largest_size(report):
    copies = {r["numel"]: r["gbps"] for r in report["results"] if r["impl"] == "copy"}
    assert report["ceiling_gbps"] == copies[max(copies)]
    for r in report["results"]:
        assert math.isclose(r["ceiling_fraction"], r["gbps"] / copies[r["numel"]], rel_tol=1e-12)
    assert report["device"]["type"] == "cpu"
    assert report["device"]["num_threads"] == torch.get_num_threads()


def test_thread_count_is_unchanged():
    before = torch.get_num_threads()
    timing.run_timing(kinds="layer,group", impls="native,manual", devices="cpu", sizes=(TINY,), min_run_time=FAST)
    assert torch.get_num_threads() == before


def test_progress_is_reported_to_the_end():
    calls = []
    report = timing.run_timing(kinds="rms", impls="native", devices="cpu", sizes=(TINY, 2 * TINY),
                               min_run_time=FAST, progress=lambda *a: calls.append(a))
    total = calls[0][1]
    assert total == 2 * 2  # per size: the copy, then rms native
    assert [c[0] for c in calls] == list(range(total + 1))
    assert calls[-1] == (total, total, "done")
    assert len(report["results"]) == total


def test_repeats_take_turns_and_the_median_is_the_median_of_the_repeats():
    calls = []
    report = timing.run_timing(kinds="layer", impls="native,manual", devices="cpu", sizes=(TINY,),
                               min_run_time=FAST, repeats=3, progress=lambda *a: calls.append(a))
    assert report["settings"]["repeats"] == 3
    assert calls[0][1] == 3 * 3  # (copy, native, manual) x 3 repeats
    labels = [c[2] for c in calls[:-1]]
    assert [lab.split()[3] for lab in labels] == ["copy", "native", "manual"] * 3  # in turn, not one after another
    assert labels[0].endswith("1/3") and labels[-1].endswith("3/3")
    for r in report["results"]:
        assert len(r["repeats_s"]) == 3 and all(t > 0 for t in r["repeats_s"])
        assert r["median_s"] == sorted(r["repeats_s"])[1]
    assert timing.load_report(json.dumps(report)) == report


def test_summarize_by_hand():
    # median of the repeats' medians; spread: the blocks' IQR (p75 - p25) over their median
    assert timing.summarize([3.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, pytest.approx(2 / 3))
    assert timing.summarize([5.0], [5.0, 5.0]) == (5.0, 0.0)
    # four repeats: the median is the mean of the middle two
    assert timing.summarize([1.0, 4.0, 2.0, 10.0], [1.0, 3.0]) == (3.0, pytest.approx(1.0 / 2.0))


@pytest.mark.parametrize("repeats", [0, timing.MAX_REPEATS + 1, 2.5, True])
def test_repeats_outside_their_bounds_are_refused(repeats):
    with pytest.raises(InputError, match="repeats"):
        timing.run_timing(kinds="layer", sizes=(TINY,), repeats=repeats)


def test_time_layers_times_a_models_own_shapes_with_a_copy_of_each_size():
    layers = [("layer", (2, 3, 64)), ("rms", (2, 3, 64)), ("group", (2, 32, 2, 3), 4), ("batch", (2, 32, 2, 3))]
    report = timing.time_layers(layers, min_run_time=FAST, repeats=2)
    got = sorted((r["kind"], r["impl"], tuple(r["shape"]), r.get("num_groups")) for r in report["results"])
    assert got == sorted([("layer", "native", (2, 3, 64), None), ("rms", "native", (2, 3, 64), None),
                          ("group", "native", (2, 32, 2, 3), 4), ("batch", "native", (2, 32, 2, 3), None),
                          ("copy", "copy", (384,), None)])  # 2*3*64 == 2*32*2*3 == 384: one copy
    assert all(len(r["repeats_s"]) == 2 and r["device"] == "cpu" and r["dtype"] == "float32"
               for r in report["results"])
    assert timing.load_report(json.dumps(report)) == report


@pytest.mark.parametrize(("layers", "message"), [
    ([("layer", (2, 3, 4, 5, 6, 7, 8))], "1 to 6"),
    ([("group", (2, 30, 4), 4)], "divisible by num_groups"),
    ([("batch", (1, 4, 1))], "more than 1 value per channel"),
    ([("layer", (4096, 4097))], "over the limit"),
    ([("norm", (4, 4))], "unknown kind"),
    ([], "layers must be"),
    ([("layer",)], "a layer is"),
])
def test_time_layers_refuses_what_torch_or_the_limit_would(layers, message):
    with pytest.raises(InputError, match=message):
        timing.time_layers(layers, max_elements=2**24, min_run_time=FAST)


def test_time_budget_stops_new_measurements():
    report = timing.run_timing(kinds="layer", impls="native", devices="cpu", sizes=(TINY,),
                               min_run_time=FAST, time_budget_s=1e-9)
    assert report["truncated"] is True
    assert report["results"] == []
    assert report["ceiling_gbps"] is None
    assert timing.load_report(json.dumps(report))["truncated"] is True


@pytest.mark.parametrize("budget", [0, -1, MAX_TIMING_SECONDS + 1, float("nan")])
def test_time_budget_outside_its_bounds_is_refused(budget):
    with pytest.raises(InputError, match="time_budget_s"):
        timing.run_timing(kinds="layer", sizes=(TINY,), time_budget_s=budget)


def test_too_large_size_is_refused():
    with pytest.raises(InputError, match="MAX_TIMING_ELEMENTS"):
        timing.run_timing(kinds="layer", impls="native", sizes=(2 * MAX_TIMING_ELEMENTS,))
    with pytest.raises(InputError, match="MAX_TIMING_ELEMENTS"):
        timing.sweep_sizes(2 * MAX_TIMING_ELEMENTS)
    with pytest.raises(InputError, match="power of two"):
        timing.check_sizes((1000,))
    assert cli.main(["--quick", "--max-elements", str(2 * MAX_TIMING_ELEMENTS)]) == 2


def test_sweep_reaches_past_the_caches():
    assert timing.sweep_sizes() == (2**12, 2**14, 2**16, 2**18, 2**20, 2**22, 2**24)
    assert timing.sweep_sizes(2**20, min_elements=2**14, factor=8) == (2**14, 2**17, 2**20)
    assert timing.sweep_sizes(1000)[-1] == 512


@pytest.mark.parametrize("kind", timing.KINDS)
@pytest.mark.parametrize("numel", [2**8, 2**9, 2**11, 2**15, 2**24])
def test_shapes_hold_numel_elements_and_are_valid_for_torch(kind, numel):
    shape = timing.shape_for(kind, numel)
    assert math.prod(shape) == numel
    if kind not in ("layer", "rms"):
        assert shape[1] % 8 == 0  # group: num_groups 8 divides C
        assert math.prod(shape[2:]) >= 2  # instance: torch needs more than 1 spatial element


def test_unknown_names_and_missing_devices_are_refused():
    with pytest.raises(InputError, match="unknown kind"):
        timing.run_timing(kinds="layernorm", sizes=(TINY,))
    with pytest.raises(InputError, match="unknown impl"):
        timing.run_timing(impls="fast", sizes=(TINY,))
    with pytest.raises(InputError, match="CPU times float32 only"):
        timing.run_timing(devices="cpu", dtypes="float16", sizes=(TINY,))
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="not available here"):
            timing.run_timing(devices="cuda", sizes=(TINY,))


def test_datasheet_bandwidth_by_device_name():
    assert timing.datasheet_gbps("NVIDIA H100 80GB HBM3") == 3350
    assert timing.datasheet_gbps("NVIDIA H100 PCIe") == 2000
    assert timing.datasheet_gbps("NVIDIA H200") == 4800
    assert timing.datasheet_gbps("NVIDIA H100 NVL") == 3900
    assert timing.datasheet_gbps("NVIDIA A100-SXM4-80GB") == 2039
    assert timing.datasheet_gbps("NVIDIA A100-SXM4-40GB") is None  # 1555 GB/s: not in the table
    assert timing.datasheet_gbps("NVIDIA GeForce RTX 4090") is None


def test_datasheet_peaks_agree_with_the_published_measurements():
    # one number per GPU in the project: the harness's table and the published file's column
    peaks = {}
    with open(ROOT / "lnorm_core" / "timing" / "gpu_data" / "gpu_norm_measurements.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            peaks[r["gpu_name"]] = float(r["peak_GBps_spec"])
    assert peaks == {"NVIDIA A100-SXM4-80GB": 2039, "NVIDIA H100 80GB HBM3": 3350, "NVIDIA B200": 8000,
                     "NVIDIA H100 NVL": 3900, "NVIDIA A100 80GB PCIe": 1935}
    for name, peak in peaks.items():
        assert timing.datasheet_gbps(name) == peak, name


def test_compiled_failure_is_reported_not_raised(monkeypatch):
    def failing_compile(fn, **kwargs):
        def compiled(x):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found")
        return compiled

    monkeypatch.setattr(torch, "compile", failing_compile)
    report = timing.run_timing(kinds="layer,rms", impls="native,compiled", devices="cpu", sizes=(TINY,),
                               min_run_time=FAST)
    assert {r["impl"] for r in report["results"]} == {"copy", "native"}
    (skip,) = [s for s in report["skipped"] if s["impl"] == "compiled"]
    assert "No working C++ compiler" in skip["reason"]


def test_a_failing_numpy_core_is_reported_not_raised(monkeypatch):
    def failing_core(spec, x):
        raise MemoryError("Unable to allocate 128. MiB for an array")

    monkeypatch.setattr(impls, "manual_forward", failing_core)
    report = timing.run_timing(kinds="layer", impls="native,numpy", devices="cpu", sizes=(TINY,),
                               min_run_time=FAST)
    assert {r["impl"] for r in report["results"]} == {"copy", "native"}
    (skip,) = [s for s in report["skipped"] if s["impl"] == "numpy"]
    assert "Error" in skip["reason"]


