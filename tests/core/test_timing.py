"""lnorm_core.timing: rows for every kind and implementation, the manual norms against
torch.nn.functional, the bandwidth formula, the JSON report and its validation.

Tiny sizes and short measurements; no test asserts on a wall-clock time.
"""

import csv
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lnorm_core import timing
from lnorm_core.timing import __main__ as cli
from lnorm_core.timing import impls
from lnorm_core.errors import MAX_TIMING_ELEMENTS, MAX_TIMING_SECONDS, InputError

ROOT = Path(__file__).resolve().parents[2]
TINY = 2**8  # the smallest size timing accepts
FAST = 0.002  # seconds per measurement: enough for a positive median, not for a figure
MEASURED_IMPLS = ("native", "manual", "manual_var_mean", "numpy")


def numpy_core_importable():
    """Whether the float64 core (lnorm_core.manual, lnorm_core.spec) can be imported."""
    try:
        import lnorm_core.manual  # noqa: F401, PLC0415
        import lnorm_core.spec  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def reference(kind, x):
    """The expected output, from torch.nn.functional directly (not from timing)."""
    eps = 1e-5
    if kind == "layer":
        return F.layer_norm(x, x.shape[-1:], eps=eps)
    if kind == "rms":
        return F.rms_norm(x, x.shape[-1:], eps=eps)
    if kind == "batch":
        return F.batch_norm(x, None, None, training=True, eps=eps)
    if kind == "instance":
        return F.instance_norm(x, eps=eps)
    return F.group_norm(x, 8, eps=eps)


def seeded(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 3 + 1.5  # off-center, so centering matters


@pytest.fixture(scope="module")
def report():
    """One tiny CPU run of every kind with every implementation but compiled."""
    return timing.run_timing(kinds=timing.KINDS, impls=MEASURED_IMPLS, devices="cpu",
                             sizes=(TINY, 2 * TINY), min_run_time=FAST)


def test_every_kind_and_impl_yields_a_positive_time(report):
    impls = MEASURED_IMPLS if numpy_core_importable() else tuple(i for i in MEASURED_IMPLS if i != "numpy")
    got = {(r["kind"], r["impl"], r["numel"]) for r in report["results"]}
    for numel in (TINY, 2 * TINY):
        assert ("copy", "copy", numel) in got
        for kind in timing.KINDS:
            for impl in impls:
                assert (kind, impl, numel) in got, (kind, impl, numel, report["skipped"])
    for r in report["results"]:
        assert r["median_s"] > 0 and math.isfinite(r["median_s"])
        assert r["spread"] >= 0
        assert r["device"] == "cpu" and r["dtype"] == "float32"
        assert r["compile_s"] is None
    assert report["truncated"] is False


def test_numpy_impl_runs_or_is_reported_unavailable(report):
    rows = [r for r in report["results"] if r["impl"] == "numpy"]
    if not numpy_core_importable():
        assert not rows
        assert any(s["impl"] == "numpy" for s in report["skipped"])
        pytest.skip("lnorm_core.manual / lnorm_core.spec cannot be imported (ImportError): numpy impl not timed")
    assert len(rows) == 2 * len(timing.KINDS)


@pytest.mark.parametrize("kind", timing.KINDS)
@pytest.mark.parametrize("numel", [TINY, 2**12, 2**13])
def test_manual_matches_torch_functional(kind, numel):
    x = seeded(timing.shape_for(kind, numel))
    expected = reference(kind, x)
    for fn in (timing.manual_fn(kind), timing.manual_var_mean_fn(kind)):
        y = fn(x)
        assert y.shape == x.shape
        torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", timing.KINDS)
def test_numpy_impl_matches_torch_functional(kind):
    if not numpy_core_importable():
        pytest.skip("lnorm_core.manual / lnorm_core.spec cannot be imported (ImportError)")
    shape = timing.shape_for(kind, 2**12)
    x = seeded(shape, seed=1)
    y = timing.numpy_fn(kind, shape)(x)
    torch.testing.assert_close(torch.from_numpy(y).float(), reference(kind, x), atol=1e-5, rtol=1e-5)


def test_native_fn_is_torch_functional():
    for kind in timing.KINDS:
        x = seeded(timing.shape_for(kind, 2**10), seed=2)
        torch.testing.assert_close(timing.native_fn(kind)(x), reference(kind, x), atol=0, rtol=0)


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


def test_time_layers_group_norm_uses_the_layers_own_groups():
    x = seeded((2, 32, 2, 3), seed=3)
    torch.testing.assert_close(timing.native_fn("group", 4)(x), F.group_norm(x, 4, eps=1e-5), atol=0, rtol=0)


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
    with open(ROOT / "data" / "gpu" / "gpu_norm_measurements.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            peaks[r["gpu_name"]] = float(r["peak_GBps_spec"])
    assert peaks == {"NVIDIA A100-SXM4-80GB": 2039, "NVIDIA H100 80GB HBM3": 3350, "NVIDIA B200": 8000,
                     "NVIDIA H100 NVL": 3900, "NVIDIA A100 80GB PCIe": 1935}
    for name, peak in peaks.items():
        assert timing.datasheet_gbps(name) == peak, name


def test_cli_json_round_trips_through_load_report(tmp_path):
    path = tmp_path / "report.json"
    args = ["--quick", "--json", str(path), "--kinds", "layer,batch", "--max-elements", str(2**10),
            "--min-run-time", str(FAST), "--repeats", "2"]
    assert cli.main(args) == 0
    text = path.read_text(encoding="utf-8")
    loaded = timing.load_report(text)
    assert loaded == json.loads(text)
    assert timing.load_report(text.encode("utf-8")) == loaded
    assert set(loaded["device"]) >= {"name", "type", "torch_version", "num_threads", "date"}
    assert "hostname" not in loaded["device"]
    host = socket.gethostname()
    if len(host) >= 6:
        assert host not in text
    assert isinstance(loaded["ceiling_gbps"], float) and loaded["ceiling_gbps"] > 0
    assert loaded["datasheet_gbps"] is None  # a CPU has none
    kinds = {r["kind"] for r in loaded["results"]}
    assert kinds == {"layer", "batch", "copy"}
    assert {r["numel"] for r in loaded["results"]} == {2**10}
    assert all(len(r["repeats_s"]) == 2 for r in loaded["results"])


def test_the_harness_runs_without_the_apps_ui_packages():
    # `python -m lnorm_core.timing` on a GPU machine that has torch and numpy but none of the app's UI packages
    code = (
        "import runpy, sys\n"
        "for name in ('streamlit', 'plotly', 'pandas'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        f"sys.argv = ['lnorm_core.timing', '--quick', '--kinds', 'layer', '--impls', 'native,numpy', "
        f"'--max-elements', '{TINY}', '--min-run-time', '{FAST}']\n"
        "runpy.run_module('lnorm_core.timing', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "layer native" in " ".join(done.stdout.split()) and "layer numpy" in " ".join(done.stdout.split())


def test_terminal_progress_draws_on_stderr(capsys):
    cli._terminal_progress(3, 12, "cpu float32 layer native (16, 1024)")
    cli._terminal_progress(12, 12, "done")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3/12" in captured.err and captured.err.startswith("\r[") and captured.err.endswith("\n")


def test_cli_prints_a_table(capsys):
    assert cli.main(["--quick", "--kinds", "instance", "--impls", "native,manual",
                        "--max-elements", str(TINY), "--min-run-time", str(FAST)]) == 0
    out = capsys.readouterr().out
    assert "% copy" in out and "median µs" in out
    assert "instance native" in " ".join(out.split())
    assert "copy (the ceiling)" in out


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


@pytest.mark.skipif(os.environ.get("LNORM_SLOW_TESTS") != "1",
                    reason="slow: torch.compile takes 5-30 s here; set LNORM_SLOW_TESTS=1 to run it")
def test_compiled_runs_and_reports_compile_time_apart():
    report = timing.run_timing(kinds="layer", impls="compiled", devices="cpu", sizes=(TINY,), min_run_time=FAST)
    rows = [r for r in report["results"] if r["impl"] == "compiled"]
    if not rows:  # no compiler here: it must be said why
        assert report["skipped"] and report["skipped"][0]["impl"] == "compiled"
        return
    (row,) = rows
    assert row["compile_s"] > 0 and row["median_s"] > 0
    x = seeded(timing.shape_for("layer", TINY))
    compiled = torch.compile(timing.manual_fn("layer"), dynamic=False)
    torch.testing.assert_close(compiled(x), reference("layer", x), atol=1e-5, rtol=1e-5)


# ---- load_report refuses what is not a report --------------------------------------------------


def good_report():
    row = {"device": "cpu", "kind": "layer", "impl": "native", "shape": [4, 64], "dtype": "float32",
           "median_s": 1e-5, "spread": 0.02, "gbps": 0.2, "numel": 256, "compile_s": None}
    return {"device": {"name": "cpu", "type": "cpu"}, "ceiling_gbps": 10.0, "datasheet_gbps": None,
            "results": [dict(row) for _ in range(5)]}


def edited(change):
    r = good_report()
    change(r)
    return json.dumps(r)


def test_a_good_report_loads():
    assert timing.load_report(json.dumps(good_report()))["ceiling_gbps"] == 10.0
    r = good_report()
    r["results"][0]["repeats_s"] = [3e-5, 1e-5, 0.9e-5]  # median_s 1e-5 among them
    assert timing.load_report(json.dumps(r))["results"][0]["repeats_s"] == [3e-5, 1e-5, 0.9e-5]


@pytest.mark.parametrize(("text", "message"), [
    ("not json {", "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
    ("[1, 2]", "must be a JSON object"),
    ("[" * 100_000, "not valid JSON"),
    ('{"device": {"name": "cpu", "type": "cpu"}, "results": []}', "no 'ceiling_gbps'"),
    (edited(lambda r: r.pop("results")), "no 'results'"),
    (edited(lambda r: r.update(device="cpu")), "'device' must be an object"),
    (edited(lambda r: r["device"].pop("type")), "device.type"),
    (edited(lambda r: r.update(ceiling_gbps=-1)), "ceiling_gbps must be a number >= 0"),
    (edited(lambda r: r.update(ceiling_gbps="fast")), "ceiling_gbps must be a number >= 0"),
    (edited(lambda r: r.update(results={"a": 1})), "'results' must be a list"),
    (edited(lambda r: r.update(truncated="yes")), "truncated"),
    (edited(lambda r: r["results"].__setitem__(2, [])), "row 2: must be an object"),
    (edited(lambda r: r["results"][3].update(median_s=-1e-5)), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][3].update(median_s=0)), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][3].update(median_s="1e-5")), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][3].update(median_s=True)), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][0].pop("gbps")), "row 0: has no 'gbps'"),
    (edited(lambda r: r["results"][1].update(kind="layernorm")), "row 1: kind must be one of"),
    (edited(lambda r: r["results"][1].update(impl="turbo")), "row 1: impl must be one of"),
    (edited(lambda r: r["results"][1].update(device="tpu")), "row 1: device must be one of"),
    (edited(lambda r: r["results"][1].update(dtype="int8")), "row 1: dtype must be one of"),
    (edited(lambda r: r["results"][4].update(shape="4x64")), "row 4: shape must be a list"),
    (edited(lambda r: r["results"][4].update(shape=[4, 0])), "row 4: shape must be a list"),
    (edited(lambda r: r["results"][4].update(numel=255)), "row 4: numel must be the product of shape"),
    (edited(lambda r: r["results"][4].update(spread=-0.1)), "row 4: spread must be a number >= 0"),
    (edited(lambda r: r["results"][4].update(compile_s="slow")), "row 4: compile_s"),
    (edited(lambda r: r["results"][2].update(num_groups=4)), "row 2: num_groups belongs to a group row"),
    (edited(lambda r: r["results"][2].update(kind="group", shape=[4, 64], num_groups=3)), "row 2: num_groups"),
    (edited(lambda r: r["results"][2].update(repeats_s=1e-5)), "row 2: repeats_s must be a list"),
    (edited(lambda r: r["results"][2].update(repeats_s=[])), "row 2: repeats_s must be a list"),
    (edited(lambda r: r["results"][2].update(repeats_s=[1e-5, -1e-5])), "row 2: repeats_s must be a list"),
    (edited(lambda r: r["results"][2].update(repeats_s=[2e-5, 3e-5])), "row 2: median_s .* within its repeats_s"),
])
def test_malformed_reports_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        timing.load_report(text)


def test_nan_and_infinity_are_refused():
    text = json.dumps(good_report()).replace('"median_s": 1e-05', '"median_s": NaN', 1)
    with pytest.raises(InputError, match="row 0: median_s"):
        timing.load_report(text)
    with pytest.raises(InputError, match="ceiling_gbps"):
        timing.load_report(json.dumps(good_report()).replace('"ceiling_gbps": 10.0', '"ceiling_gbps": Infinity'))


def test_huge_reports_are_refused():
    with pytest.raises(InputError, match="limit"):
        timing.load_report(" " * (timing.MAX_REPORT_BYTES + 1))
    with pytest.raises(InputError, match="limit"):
        timing.load_report(b" " * (timing.MAX_REPORT_BYTES + 1))
    r = good_report()
    r["results"] = r["results"][:1] * (timing.MAX_REPORT_ROWS + 1)
    with pytest.raises(InputError, match="rows; the limit"):
        timing.load_report(json.dumps(r))
    with pytest.raises(InputError, match="JSON text"):
        timing.load_report(None)
