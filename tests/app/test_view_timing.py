"""The Timing page through Streamlit's AppTest: the recording, the published GPU view, the costs view,
a quick run with its verdict, uploads good and bad.

AppTest runs the router (app.py) and switches to views/timing.py before the first run.
Runs here are the smallest the page offers (2^8 to 2^10 elements, one layer, one
implementation): a second or two. No test asserts a time.
"""

import csv
import math
import json
import threading
from pathlib import Path

from apptest import open_page

from lnorm_app.models import timing_reports as reports
from lnorm_app.models import timing_run
from lnorm_core import timing

ROOT = Path(__file__).resolve().parents[2]
RUN_KEY = "timing_report"
ALL_LAYERS = ["LayerNorm", "RMSNorm", "BatchNorm", "InstanceNorm", "GroupNorm"]
H100 = "NVIDIA H100 80GB HBM3"


def _app(**params):
    """The Timing page opened with these query parameters (a list value repeats the key, as a multiselect does)."""
    return open_page("views/timing.py", params, timeout=120)


def _errors(at):
    return [e.value for e in at.error]


def _charts(at):
    """Each plotly chart on the page as its JSON spec."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _traces(at):
    """The meta of every trace of every plotly chart on the page."""
    return [t.get("meta") or {} for spec in _charts(at) for t in spec["data"]]


def _in_order(node, out=None):
    """Every element under node in page order, as (type, text): where a person sees it."""
    out = [] if out is None else out
    children = getattr(node, "children", None)
    for child in (children.values() if isinstance(children, dict) else ()):
        text = getattr(child, "label", None) if child.type in ("button", "tab") else getattr(child, "value", None)
        out.append((child.type, text))
        _in_order(child, out)
    return out


def _quick_run(at, impls=("native",)):
    """Click Run with the smallest sizes, LayerNorm only."""
    at.multiselect(key="kinds").set_value(["LayerNorm"])
    at.multiselect(key="impls").set_value(list(impls))
    at.select_slider(key="sizes").set_value((2**8, 2**10))
    at.button(key="run").click()
    return at.run()


def _gpu_report():
    """A report with the schema `python -m lnorm_core.timing --json` writes on a CUDA machine (device "cuda",
    CPU and GPU rows, h2d, repeats); the GPU overtakes the CPU from 2^10 elements."""
    rows = []
    for numel, cpu_s, gpu_s in ((256, 1e-5, 2e-5), (1024, 4e-5, 2e-5), (4096, 2e-4, 2.5e-5)):
        for device, t in (("cpu", cpu_s), ("cuda", gpu_s)):
            for kind, impl, median in (("layer", "native", t), ("copy", "copy", t / 2)):
                shape = [numel // 256, 256] if kind == "layer" else [numel]
                rows.append({"device": device, "kind": kind, "impl": impl, "shape": shape, "dtype": "float32",
                             "median_s": median, "spread": 0.01, "gbps": 8 * numel / median / 1e9, "numel": numel,
                             "compile_s": None, "repeats_s": [median, median * 1.01],
                             "ceiling_fraction": 0.5 if impl == "native" else 1.0})
        rows.append({"device": "cuda", "kind": "copy", "impl": "h2d", "shape": [numel], "dtype": "float32",
                     "median_s": 1e-4, "spread": 0.02, "gbps": 4 * numel / 1e-4 / 1e9, "numel": numel,
                     "compile_s": None, "repeats_s": [1e-4], "note": "pinned", "ceiling_fraction": None})
    cpu = {"name": "Test CPU", "type": "cpu", "torch_version": "2.13.0+cu128", "num_threads": 16,
           "date": "2026-01-02T03:04:05+00:00", "datasheet_gbps": None, "load_avg_1min": 0.5, "ceiling_gbps": 0.4}
    gpu = dict(cpu, name=H100, type="cuda", datasheet_gbps=3350.0, ceiling_gbps=3.3)
    return {"device": {k: v for k, v in gpu.items() if k not in ("ceiling_gbps", "datasheet_gbps")},
            "ceiling_gbps": 3.3, "datasheet_gbps": 3350.0, "truncated": False, "devices": [cpu, gpu],
            "settings": {"sizes": [256, 1024, 4096], "min_run_time": 0.2, "repeats": 2, "time_budget_s": 60.0,
                         "elapsed_s": 12.0},
            "skipped": [{"device": "cuda", "impl": "numpy", "reason": "the numpy core runs on the CPU only"}],
            "results": rows}


def _upload(at, report, name="gpu.json"):
    at.file_uploader(key="upload").set_value((name, json.dumps(report).encode(), "application/json"))
    return at.run()


def test_default_view_shows_the_shipped_recording_and_says_there_is_no_gpu():
    at = _app()
    assert not at.exception and not _errors(at)
    assert at.title[0].value == "Timing"
    shipped = reports.shipped_sources()
    traces = _traces(at)
    assert any(t.get("source") == "recorded" and t.get("impl") == "native" for t in traces)
    captions = "\n".join(c.value for c in at.caption)
    for s in shipped:
        assert s.label in captions  # device, torch version and date under the plots
    # every layer in one chart, and a headline for each layer shown, plus the copy
    assert at.multiselect(key="show").value == ALL_LAYERS
    (time_chart,) = _charts(at)
    kinds = {t["meta"]["kind"] for t in time_chart["data"] if t["meta"]["impl"] != "copy"}
    assert kinds == {"layer", "rms", "batch", "instance", "group"}
    assert len(at.metric) == len(ALL_LAYERS) + 1 and all("GB/s" in m.value for m in at.metric)
    assert [m.label.split(" (")[0] for m in at.metric[:5]] == ALL_LAYERS
    if "cuda" not in timing.available_devices() and not reports.has_accelerator(shipped):
        info = "\n".join(i.value for i in at.info)
        assert "No GPU on this server" in info and "GPU, published" in info
        assert reports.GPU_COMMAND in info
    assert RUN_KEY not in at.session_state  # nothing is run on page load
    assert at.button(key="run").label == "Run"


def test_headlines_and_charts_follow_the_layers_shown():
    at = _app(show=["RMSNorm", "GroupNorm"])
    assert not at.exception and not _errors(at)
    assert at.multiselect(key="show").value == ["RMSNorm", "GroupNorm"]
    kinds = {t["kind"] for t in _traces(at) if t.get("impl") != "copy"}
    assert kinds == {"rms", "group"}
    assert [m.label.split(" (")[0] for m in at.metric] == ["RMSNorm", "GroupNorm", "a plain copy of the same tensor"]


def test_a_quick_run_appears_below_the_run_button_with_its_verdict_and_stays_across_reruns():
    at = _quick_run(_app())
    assert not at.exception and not _errors(at)
    report = at.session_state[RUN_KEY]
    got = {(r["kind"], r["impl"], r["numel"]) for r in report["results"]}
    assert got == {(k, i, n) for n in (256, 1024) for k, i in (("layer", "native"), ("copy", "copy"))}
    assert all(len(r["repeats_s"]) == timing_run.PAGE_REPEATS for r in report["results"])
    order = _in_order(at.main)
    run_button = order.index(("button", "Run"))
    assert order.index(("subheader", "Your run")) > run_button  # where the person is looking
    verdict = [a.value for a in list(at.success) + list(at.warning) if "Steady" in a.value or "noisy" in a.value]
    assert len(verdict) == 1
    assert any(f"at the {timing_run.threads()} threads torch uses here" in c.value and "4 measurements" in c.value
               for c in at.caption)
    table = at.dataframe[-1].value  # the rows of the run, under its chart
    assert sorted(zip(table["layer"], table["impl"], table["elements"])) == sorted(
        [("LayerNorm", "native", 256), ("LayerNorm", "native", 1024), ("copy", "copy", 256), ("copy", "copy", 1024)])
    run_chart = [c for c in _charts(at) if c["layout"]["title"]["text"].startswith("Your run")]
    (line,) = [t for t in run_chart[0]["data"] if t["meta"]["impl"] == "native"]
    assert line["error_y"]["arrayminus"] is not None  # the spread of the repeats, as bars
    assert any(t.get("source") == "your run" for t in _traces(at))
    assert at.multiselect(key="show").value == ["LayerNorm"]
    at.run()  # another rerun: the run is not repeated and its plot stays
    assert at.session_state[RUN_KEY] is report
    assert any(t.get("source") == "your run" for t in _traces(at))


def test_a_noisy_run_says_so_and_suggests_a_rerun():
    at = _app()
    noisy = _gpu_report()
    noisy["devices"] = [noisy["devices"][0]]
    noisy["device"] = {k: v for k, v in noisy["devices"][0].items() if k != "ceiling_gbps"}
    noisy["results"] = [dict(r, repeats_s=[100e-6, 3414e-6, 12.8e-6], median_s=100e-6) if r["kind"] == "layer"
                        else r for r in noisy["results"] if r["device"] == "cpu"]
    at.session_state[RUN_KEY] = timing.load_report(json.dumps(noisy))
    at.run()
    assert not at.exception and not _errors(at)
    (warning,) = [w.value for w in at.warning if "noisy" in w.value]
    assert "run again" in warning and "3,414 µs" in warning and "12.8 µs" in warning
    flagged = [t for t in _traces(at) if t.get("source") == "your run" and t.get("flagged")]
    assert flagged and set(flagged[0]["flagged"]) == {256, 1024, 4096}


def test_a_run_waits_for_another_visitors_run():
    at = _app()
    timing.RUN_LOCK.acquire()  # another visitor's run, ending a second after the click
    release = threading.Timer(1.0, timing.RUN_LOCK.release)
    release.start()
    try:
        at = _quick_run(at)
    finally:
        release.join()
    assert not at.exception and not _errors(at)
    assert RUN_KEY in at.session_state and not timing_run.busy()


def test_a_run_of_another_layer_is_plotted_for_that_layer():
    at = _app()
    at.multiselect(key="kinds").set_value(["RMSNorm"])
    at.multiselect(key="impls").set_value(["manual"])
    at.select_slider(key="sizes").set_value((2**8, 2**8))
    at.button(key="run").click()
    at.run()
    assert not at.exception and not _errors(at)
    assert at.multiselect(key="show").value == ["RMSNorm"]
    assert any(t.get("source") == "your run" and t.get("impl") == "manual" for t in _traces(at))


def test_an_uploaded_gpu_report_is_plotted_beside_with_its_crossover():
    at = _upload(_app(plot="GPU against CPU"), _gpu_report())
    assert not at.exception and not _errors(at)
    assert "uploaded" in at.pills[0].value
    assert any("NVIDIA H100 80GB HBM3 (cuda)" in c.value for c in at.caption)
    crossover = [m.value for m in at.markdown if "GPU is faster from" in m.value]
    assert crossover == ["- native LayerNorm (float32) on cuda: the GPU is faster from 1,024 (2^10) elements on."]
    assert any(t.get("gpu_source") == "uploaded" and t.get("device") == "cuda" for t in _traces(at))


def test_the_gpu_view_names_every_gpu_and_source_and_keeps_lnorms_rows_apart():
    at = _app(plot="GPU, published", show=["LayerNorm", "RMSNorm"])
    assert not at.exception and not _errors(at)
    bandwidth, peak = _charts(at)
    for chart in (bandwidth, peak):
        published = [t for t in chart["data"] if t.get("meta", {}).get("origin") == "published"]
        ours = [t for t in chart["data"] if t.get("meta", {}).get("origin") == "recorded"]
        assert published and ours  # the published GPU rows and lnorm's CPU recording on the same axes
        assert {t["meta"]["device"] for t in published} == {H100}  # the GPU shown by default
        assert {t["meta"]["kind"] for t in published} == {"layer", "rms"}  # several layers in one chart
        for t in published:
            assert t["meta"]["source_url"].startswith("https://github.com/")
            assert H100.replace("NVIDIA ", "") in t["legendgrouptitle"]["text"] and "published" in t["hovertemplate"]
        for t in ours:
            assert t["meta"]["source_url"] is None and "lnorm" in t["legendgrouptitle"]["text"]
        classes = {t["meta"]["impl_class"]: t["line"]["dash"] for t in published}
        assert classes["pytorch"] != classes["fast kernel"] != classes["compiled"]  # PyTorch apart from fast kernels
    sources = [c.value for c in at.caption if c.value.startswith("Sources:")]
    assert sources and "https://github.com/linkedin/Liger-Kernel/blob/" in sources[0]
    assert "https://github.com/Dao-AILab/quack/blob/" in sources[0]
    quotes = at.dataframe[0].value
    h100 = quotes[(quotes["layer"] == "LayerNorm") & (quotes["device"] == "H100 80GB HBM3")].iloc[0]
    assert h100["whose"].startswith("published") and h100["address"].startswith("https://github.com/")
    # the figure quoted is the file's own: torch.nn.LayerNorm forward, 4096 x 16384 fp32 on the H100
    with open(ROOT / "lnorm_core" / "timing" / "gpu_data" / "gpu_norm_measurements.csv", newline="", encoding="utf-8") as f:
        (row,) = [r for r in csv.DictReader(f) if r["norm"] == "layer_norm" and r["provider"] == "huggingface"
                  and r["gpu_name"] == H100 and r["mode"] == "forward" and r["input_shape"] == "4096x16384"]
    assert round(2 * 4096 * 16384 * 4 / (float(row["y_p50"]) / 1e3) / 1e9, 1) == h100["GB/s"]


def test_other_gpus_can_be_chosen():
    at = _app(plot="GPU, published", show=["GroupNorm"], gpus=["NVIDIA B200"])
    assert not at.exception and not _errors(at)
    devices = {t["device"] for t in _traces(at) if t.get("origin") == "published"}
    assert devices == {"NVIDIA B200"}


def test_an_uploaded_cuda_report_joins_the_published_rows():
    at = _upload(_app(plot="GPU, published", show=["LayerNorm"]), _gpu_report())
    assert not at.exception and not _errors(at)
    bandwidth, peak = _charts(at)
    for chart in (bandwidth, peak):
        origins = {(t["meta"]["origin"], t["meta"]["device"]) for t in chart["data"] if t.get("meta", {}).get("origin")}
        assert ("uploaded", H100) in origins and ("published", H100) in origins
    (mine,) = [t for t in peak["data"] if t.get("meta", {}).get("origin") == "uploaded"
               and t["meta"]["device"] == H100]
    # % of the datasheet peak: 8 * 4096 / 2.5e-5 bytes/s = 1.31072 TB/s of 3350 GB/s
    assert abs(mine["y"][-1] - 100 * (8 * 4096 / 2.5e-5 / 1e9) / 3350) < 1e-9


def test_the_costs_view_shows_every_layer_that_fits_in_one_chart_and_one_table():
    at = _app(plot="What would my model cost?")
    assert not at.exception and not _errors(at)
    (chart,) = _charts(at)
    layers = {t["meta"]["layer"] for t in chart["data"] if t.get("meta", {}).get("kind")}
    assert layers == {"RMSNorm(4096)", "LayerNorm(4096)"}  # and the floors, once a row for every layer
    assert {t["meta"]["layer"] for t in chart["data"] if t.get("meta", {}).get("method") == "bound"} == {"every layer"}
    methods = {t["meta"]["method"]: t["marker"]["symbol"] for t in chart["data"] if t.get("meta", {}).get("method")}
    assert set(methods) >= {"measured", "bound"} and len(set(methods.values())) == len(methods)
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["device", "kernel", "RMSNorm(4096)", "LayerNorm(4096)"]
    h100 = table[(table["device"] == "H100 80GB HBM3")]
    assert h100["RMSNorm(4096)"].str.endswith("(bound)").any() and h100["RMSNorm(4096)"].str.endswith(
        "(measured)").any()
    assert table["RMSNorm(4096)"].str.startswith("— outside the sizes measured").any()  # the CPU recording
    assert any(c.value.startswith("Sources:") and "Liger-Kernel" in c.value for c in at.caption)


def test_the_costs_view_says_when_nobody_published_a_layer():
    at = _app(plot="What would my model cost?", model="ResNet-50 stage BatchNorm2d(256), (32, 256, 56, 56)")
    assert not at.exception and not _errors(at)
    assert at.text_input(key="cshape").value == "32, 256, 56, 56"
    notes = "\n".join(c.value for c in at.caption)
    assert "Nobody in the published files timed BatchNorm or InstanceNorm" in notes
    table = at.dataframe[0].value
    assert list(table.columns[2:5]) == ["BatchNorm2d(256)", "InstanceNorm2d(256)", "GroupNorm(32, 256)"]
    gpu = table[table["kernel"].str.startswith("lower bound")]
    assert len(gpu) == 5 and gpu["BatchNorm2d(256)"].str.endswith("(bound)").all()


def test_the_costs_view_times_a_small_shape_now():
    at = _app(plot="What would my model cost?")
    at.text_input(key="cshape").set_value("2, 8, 64")
    at.run()
    at.button(key="measure").click()
    at.run()
    assert not at.exception and not _errors(at)
    report = at.session_state["costs_report"]
    assert {(r["kind"], tuple(r["shape"])) for r in report["results"]} == {
        ("rms", (2, 8, 64)), ("layer", (2, 8, 64)), ("copy", (1024,))}
    table = at.dataframe[0].value
    now = table[table["device"].str.startswith("CPU (this server, now)")]
    assert len(now) == 2 and now.iloc[0]["RMSNorm(64)"].endswith("(measured)")


def test_a_malformed_upload_is_refused_with_a_message():
    bad_row = _gpu_report()
    bad_row["results"][0]["numel"] = 7
    for payload, words in ((b"{not json", "not valid JSON"),
                           (json.dumps({"results": []}).encode(), "has no 'device'"),
                           (json.dumps(bad_row).encode(), "row 0: numel")):
        at = _app()
        at.file_uploader(key="upload").set_value(("bad.json", payload, "application/json"))
        at.run()
        assert not at.exception
        errors = _errors(at)
        assert len(errors) == 1 and errors[0].startswith("bad.json is not a timing report") and words in errors[0]
        assert any(t.get("source") == "recorded" for t in _traces(at))  # the recording is still shown
        assert not any(t.get("source") == "uploaded" for t in _traces(at))


def test_a_bad_link_value_is_reported_and_the_default_shown():
    at = _app(show="LayerNorm2")
    assert not at.exception
    assert any("show='LayerNorm2'" in w.value for w in at.warning)
    assert at.multiselect(key="show").value == ALL_LAYERS


def test_the_run_button_waits_for_a_layer_and_an_implementation():
    at = _app()
    at.multiselect(key="impls").set_value([])
    at.run()
    assert at.button(key="run").disabled
    assert RUN_KEY not in at.session_state


def test_the_shapes_expander_draws_its_table_only_when_open():
    """Closed (the page's first view), nothing inside is drawn: no data grid for the browser to load; a link
    with shapes_open=true opens it on the shapes torch would be given for the chosen sizes."""
    at = _app()
    assert not at.exception
    (box,) = [e for e in at.expander if e.label.startswith("The shapes timed")]
    assert not box.children and not at.dataframe
    at = _app(shapes_open="true", kinds=["LayerNorm", "GroupNorm"])
    (box,) = [e for e in at.expander if e.label.startswith("The shapes timed")]
    table = box.dataframe[0].value
    assert list(table.columns) == ["elements", "LayerNorm", "GroupNorm"]
    for row in table.itertuples(index=False):
        n = int(row.elements.split(" ")[0].replace(",", ""))
        for shape in (row.LayerNorm, row.GroupNorm):  # each shape holds exactly the row's elements
            dims = [int(d) for d in shape.strip("()").split(",") if d.strip()]
            assert math.prod(dims) == n, (shape, n)
