"""The Compare page through Streamlit's AppTest: default view, controls, deep links, bad input.

AppTest runs the router (app.py) and switches to views/compare.py before the
first run, so a test's query parameters are a deep link to the page. Expected
messages come from torch itself; expected numbers are not taken from the page's core.
"""

import base64
import json

import numpy as np
import pytest
from apptest import open_page

import lnorm_core as lc

PARTS = ["output", "grad input", "grad weight", "grad bias"]


def _app(**params):
    """The Compare page opened with these query parameters."""
    return open_page("views/compare.py", params)


def _errors(at):
    return [e.value for e in at.error]


def _rows(at):
    """The comparison table (Markdown) as {part: row}, its numbers read back as floats."""
    (table,) = [m.value for m in at.markdown if m.value.startswith("| part |")]
    lines = table.splitlines()
    head = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        row = dict(zip(head, (v.strip() for v in line.strip().strip("|").split("|"))))
        for key in ("max abs error", "max rel error", "max ULPs"):
            row[key] = float(row[key])
        row["result"] = row["result"].strip("*")
        rows[row["part"]] = row
    return rows


def _figures(at):
    """The plotly figures on the page, as dicts."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _array(value):
    """A figure's data array from its JSON: a list, or plotly's binary encoding of a numpy array."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


VARIANCE = "Three ways to compute a variance"


def _variance_figure(at):
    figs = [f for f in _figures(at) if "Variance" in f["layout"]["title"]["text"]]
    assert len(figs) == 1
    return figs[0]



def test_default_view():
    at = _app()
    assert not at.exception and not _errors(at)
    assert at.title[0].value == "Compare"
    assert at.segmented_control(key="dtype").value == "float32"
    assert at.segmented_control(key="device").value == "cpu"
    assert "pass" in at.success[0].value and "float32" in at.success[0].value
    rows = _rows(at)
    assert list(rows) == PARTS
    assert all(r["result"] == "pass" for r in rows.values())
    assert rows["output"]["shape"] == "(2, 3, 4)" and rows["grad weight"]["shape"] == "(4,)"
    assert 0 < rows["output"]["max abs error"] < 1e-5  # float32 against float64: a few ULPs of float32
    assert lc.TOLERANCES["float32"].why in "\n".join(c.value for c in at.caption)
    figs = _figures(at)
    assert len(figs) == 1  # the open tab's error heatmap: the variance sweep is in the other tab
    assert figs[0]["data"][0]["type"] == "heatmap"


def test_the_variance_tab():
    at = _app(topic=VARIANCE)
    assert not at.exception and not _errors(at)
    assert [t.label for t in at.tabs][:2] == ["torch against the hand computation", VARIANCE]
    (fig,) = _figures(at)
    assert fig["layout"]["title"]["text"].startswith("Variance in float32")
    assert "one-pass is more than 10% off" in "\n".join(m.value for m in at.markdown)
    assert not [m for m in at.markdown if m.value.startswith("| part |")]  # the other tab is not drawn


def test_float64_passes_with_errors_near_its_rounding():
    at = _app(dtype="float64")
    assert not at.exception and not _errors(at)
    assert at.success and "pass" in at.success[0].value and "float64" in at.success[0].value
    rows = _rows(at)
    assert all(r["result"] == "pass" for r in rows.values())
    assert rows["output"]["max abs error"] < 1e-12


def test_changing_the_dtype_to_bfloat16_changes_the_numbers():
    at = _app()
    before = _rows(at)["output"]["max abs error"]
    at.segmented_control(key="dtype").set_value("bfloat16").run()
    assert not at.exception and not _errors(at)
    after = _rows(at)["output"]["max abs error"]
    # bfloat16 keeps 8 bits: its output is off by more than float32's 2**-23 relative rounding allows
    assert after > 1e-4 > before
    assert lc.TOLERANCES["bfloat16"].why in "\n".join(c.value for c in at.caption)
    at.session_state["topic"] = VARIANCE  # the other tab follows the dtype
    at.run()
    assert "bfloat16" in _variance_figure(at)["layout"]["title"]["text"]


def test_changing_the_largest_offset_redraws_the_sweep():
    at = _app(topic=VARIANCE)
    at.select_slider(key="max_offset").set_value("1e3").run()
    assert not at.exception
    fig = _variance_figure(at)
    two_pass = [t for t in fig["data"] if t.get("legendgroup") == "two_pass"][0]
    assert _array(two_pass["x"]).max() == pytest.approx(1e3)


def test_a_deep_link_opens_float16_rmsnorm():
    at = _app(dtype="float16", kind="RMSNorm")
    assert not at.exception and not _errors(at)
    assert at.segmented_control(key="dtype").value == "float16"
    assert at.selectbox(key="kind").value == "RMSNorm"
    assert list(_rows(at)) == ["output", "grad input", "grad weight"]  # RMSNorm has no bias
    assert "float16" in (at.success[0].value if at.success else at.warning[0].value)


def test_a_deep_link_to_the_weight_gradient_tab():
    at = _app(part="grad weight")
    assert not at.exception
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert any(t.startswith("grad weight:") for t in titles)


def test_a_link_with_an_unknown_dtype_says_so_and_uses_the_default():
    at = _app(dtype="float8")
    assert not at.exception
    assert any("dtype='float8'" in w.value for w in at.warning)
    assert at.segmented_control(key="dtype").value == "float32"


def test_a_large_tensor_shows_a_part_and_says_so():
    at = _app(shape="1024, 1024")
    assert not at.exception and not _errors(at)
    heat = _figures(at)[0]
    assert "one row and column in every" in heat["layout"]["title"]["text"]
    assert any("Large tensor" in i.value for i in at.info)


def test_a_ragged_paste_shows_which_row():
    at = _app(source="paste", paste="[[1,2],[3]]")
    assert not at.exception
    errors = _errors(at)
    assert len(errors) == 1 and "row 2" in errors[0]
    at.session_state["topic"] = VARIANCE  # the variance sweep does not depend on the input: it is still drawn
    at.run()
    assert _variance_figure(at)

