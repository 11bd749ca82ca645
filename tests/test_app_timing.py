"""The Timing page through Streamlit's AppTest: the shipped recording, a quick run, uploads good and bad.

AppTest runs the router (app.py) and switches to views/timing.py before the first run.
Runs here are the smallest the page offers (2^8 to 2^10 elements, one layer, one
implementation): a second or two. No test asserts a time.
"""

import json
import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lnorm_app.models import timing as tv
from lnorm_core import timing

APP = str(Path(__file__).resolve().parents[1] / "app.py")
RUN_KEY = "timing_report"


def _app(**params):
    """The Timing page opened with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("views/timing.py")
    return at.run()


def _errors(at):
    return [e.value for e in at.error]


def _traces(at):
    """The meta of every trace of every plotly chart on the page."""
    out = []
    for chart in at.get("plotly_chart"):
        out += [t.get("meta") or {} for t in json.loads(chart.proto.spec)["data"]]
    return out


def _quick_run(at, impls=("native",)):
    """Click Run with the smallest sizes, LayerNorm only."""
    at.multiselect(key="kinds").set_value(["LayerNorm"])
    at.multiselect(key="impls").set_value(list(impls))
    at.select_slider(key="sizes").set_value((2**8, 2**10))
    at.button[0].click()
    return at.run()


def _gpu_report():
    """A report as a CUDA machine writes it: CPU and GPU rows; the GPU overtakes the CPU from 2^10 elements."""
    rows = []
    for numel, cpu_s, gpu_s in ((256, 1e-5, 2e-5), (1024, 4e-5, 2e-5), (4096, 2e-4, 2.5e-5)):
        for device, t in (("cpu", cpu_s), ("cuda", gpu_s)):
            for kind, impl, median in (("layer", "native", t), ("copy", "copy", t / 2)):
                shape = [numel // 256, 256] if kind == "layer" else [numel]
                rows.append({"device": device, "kind": kind, "impl": impl, "shape": shape, "dtype": "float32",
                             "median_s": median, "spread": 0.01, "gbps": 8 * numel / median / 1e9, "numel": numel,
                             "compile_s": None, "ceiling_fraction": 0.5 if impl == "native" else 1.0})
    cpu = {"name": "Test CPU", "type": "cpu", "torch_version": "2.13.0+cu128", "num_threads": 16,
           "date": "2026-01-02T03:04:05+00:00", "datasheet_gbps": None, "ceiling_gbps": 0.4}
    gpu = dict(cpu, name="NVIDIA H100 80GB HBM3", type="cuda", datasheet_gbps=3350.0, ceiling_gbps=3.3)
    return {"device": {k: v for k, v in gpu.items() if k not in ("ceiling_gbps", "datasheet_gbps")},
            "ceiling_gbps": 3.3, "datasheet_gbps": 3350.0, "truncated": False, "devices": [cpu, gpu],
            "results": rows}


def test_default_view_shows_the_shipped_recording_and_says_there_is_no_gpu():
    at = _app()
    assert not at.exception and not _errors(at)
    assert at.title[0].value == "Timing"
    shipped = tv.shipped_sources()
    traces = _traces(at)
    assert any(t.get("source") == "recorded" and t.get("impl") == "native" for t in traces)
    captions = "\n".join(c.value for c in at.caption)
    for s in shipped:
        assert s.label in captions  # device, torch version and date under the plots
    assert len(at.metric) == 3 and "GB/s" in at.metric[0].value
    if "cuda" not in timing.available_devices() and not tv.has_accelerator(shipped):
        info = "\n".join(i.value for i in at.info)
        assert "No GPU on this server" in info and "no GPU recording is shipped" in info
        assert tv.GPU_COMMAND in info
    assert RUN_KEY not in at.session_state  # nothing is run on page load
    assert at.button[0].label == "Run"


def test_a_quick_run_appears_with_a_row_per_kind_impl_and_size_and_stays_across_reruns():
    at = _quick_run(_app())
    assert not at.exception and not _errors(at)
    report = at.session_state[RUN_KEY]
    got = {(r["kind"], r["impl"], r["numel"]) for r in report["results"]}
    assert got == {(k, i, n) for n in (256, 1024) for k, i in (("layer", "native"), ("copy", "copy"))}
    assert "Your run: 4 measurements" in at.success[0].value
    table = at.dataframe[-1].value  # the rows of the run, under its summary
    assert sorted(zip(table["layer"], table["impl"], table["elements"])) == sorted(
        [("LayerNorm", "native", 256), ("LayerNorm", "native", 1024), ("copy", "copy", 256), ("copy", "copy", 1024)])
    assert any(t.get("source") == "your run" for t in _traces(at))
    assert at.selectbox(key="show").value == "LayerNorm"
    at.run()  # another rerun: the run is not repeated and its plot stays
    assert at.session_state[RUN_KEY] is report
    assert any(t.get("source") == "your run" for t in _traces(at))


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
    assert RUN_KEY in at.session_state and not tv.busy()


def test_a_run_of_another_layer_is_plotted_for_that_layer():
    at = _app()
    at.multiselect(key="kinds").set_value(["RMSNorm"])
    at.multiselect(key="impls").set_value(["manual"])
    at.select_slider(key="sizes").set_value((2**8, 2**8))
    at.button[0].click()
    at.run()
    assert not at.exception and not _errors(at)
    assert at.selectbox(key="show").value == "RMSNorm"
    assert any(t.get("source") == "your run" and t.get("impl") == "manual" for t in _traces(at))


def test_an_uploaded_gpu_report_is_plotted_beside_with_its_crossover():
    at = _app(plot="GPU against CPU")
    at.file_uploader(key="upload").set_value(("gpu.json", json.dumps(_gpu_report()).encode(), "application/json"))
    at.run()
    assert not at.exception and not _errors(at)
    assert "uploaded" in at.pills[0].value
    assert any("NVIDIA H100 80GB HBM3 (cuda)" in c.value for c in at.caption)
    crossover = [m.value for m in at.markdown if "GPU is faster from" in m.value]
    assert crossover == ["- native LayerNorm (float32) on cuda: the GPU is faster from 1,024 (2^10) elements on."]
    assert any(t.get("gpu_source") == "uploaded" and t.get("device") == "cuda" for t in _traces(at))


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
    assert at.selectbox(key="show").value == "LayerNorm"


def test_the_run_button_waits_for_a_layer_and_an_implementation():
    at = _app()
    at.multiselect(key="impls").set_value([])
    at.run()
    assert at.button[0].disabled
    assert RUN_KEY not in at.session_state
