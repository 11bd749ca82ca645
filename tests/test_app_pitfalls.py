"""The Pitfalls page through Streamlit's AppTest: default view, controls, deep links, bad input.

The worked example is the forum's: LayerNorm(4) of [-2.1918, 1.2574, -0.3838, 1.3870].
Its expected numbers come from Python's statistics module and from torch, never
from lnorm_core.
"""

import base64
import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

import lnorm_core as lc

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EXAMPLE = [-2.1918, 1.2574, -0.3838, 1.3870]
EPS = 1e-5


def _app(**params):
    """The Pitfalls page opened with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("views/pitfalls.py")
    return at.run()


def _example(**params):
    return _app(source="paste", paste=str(EXAMPLE), **params)


def _errors(at):
    return [e.value for e in at.error]


def _fmt(values):
    """Numbers with 4 decimals, as torch prints them."""
    return [f"{v:.4f}" for v in values]


def _expander(at, label):
    """The expander of one mistake combination, by its name."""
    found = [e for e in at.expander if e.label.startswith(f"**{label}**")]
    assert len(found) == 1, [e.label for e in at.expander]
    return found[0]


def _array(value):
    """A figure's data array from its JSON: a list, or plotly's binary encoding of a numpy array."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def _figures(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _seeded(shape, seed=0):
    """torch.manual_seed(seed); torch.randn(*shape), on its own generator, as float64."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).double()



def _stdev_under_sqrt(x):
    """statistics.stdev (n - 1) under the square root: the forum's wrong LayerNorm."""
    m, s = statistics.mean(x), statistics.stdev(x)
    return [(v - m) / math.sqrt(s + EPS) for v in x]


def _pvariance(x):
    """statistics.pvariance (n) under the square root: torch's LayerNorm."""
    m, v = statistics.mean(x), statistics.pvariance(x)
    return [(xi - m) / math.sqrt(v + EPS) for xi in x]


def test_the_hand_computations_agree_with_the_forum_and_torch():
    # the expected numbers of this file, checked against the forum's and torch's
    assert _fmt(_stdev_under_sqrt(EXAMPLE)) == ["-1.7049", "0.9572", "-0.3095", "1.0572"]
    torch_y = F.layer_norm(torch.tensor(EXAMPLE, dtype=torch.float64), (4,), eps=EPS).tolist()
    assert _fmt(_pvariance(EXAMPLE)) == _fmt(torch_y) == ["-1.5194", "0.8530", "-0.2758", "0.9422"]


def test_default_view():
    at = _app()
    assert not at.exception and not _errors(at)
    assert at.title[0].value == "Pitfalls"
    assert at.header[0].value == "LayerNorm((4,), eps=1e-05) on an input of shape (2, 3, 4)"
    x = _seeded((2, 3, 4))
    y = F.layer_norm(x, (4,), eps=EPS)
    torch_code = at.code[1].value  # the input, then torch's output
    assert f"{y[0, 0, 0].item():.4f}" in torch_code and f"{y[1, 2, 3].item():.4f}" in torch_code
    assert len(at.expander) == len(lc.MISTAKES) + 4  # each mistake alone, and four combinations
    assert at.slider(key="steps").value == 5
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert any(t.startswith("Each mistake's output minus torch's") for t in titles)
    assert any(t.startswith("Running statistics") for t in titles)
    assert any(t.startswith("eval output − train output") for t in titles)


def test_the_worked_example_shows_the_stdev_combination_beside_torch():
    at = _example()
    assert not at.exception and not _errors(at)
    wrong = _fmt(_stdev_under_sqrt(EXAMPLE))
    right = _fmt(_pvariance(EXAMPLE))
    box = _expander(at, "unbiased + std_under_sqrt")
    assert "-1.7049" in box.label
    codes = [c.value for c in box.code]
    assert all(v in codes[0] for v in wrong)  # this mistake's output
    assert all(v in codes[1] for v in right)  # torch's
    assert any("n - 1" in c for c in codes) and any("np.sqrt(var + eps)" in c for c in codes)  # line and fix
    assert all(v in at.code[1].value for v in right)  # torch's output at the top of the page


def test_which_mistake_names_the_stdev_combination():
    at = _example(wrong="[-1.7049, 0.9572, -0.3095, 1.0572]")
    assert not at.exception and not _errors(at)
    found = [w.value for w in at.warning if "Your output is what" in w.value]
    assert len(found) == 1 and "unbiased + std_under_sqrt" in found[0]


def test_which_mistake_says_when_the_output_is_correct():
    right = ", ".join(_fmt(_pvariance(EXAMPLE)))
    at = _example(wrong=f"tensor([{right}], grad_fn=<NativeLayerNormBackward0>)")
    assert not at.exception and not _errors(at)
    assert any("correct" in s.value for s in at.success)


def test_which_mistake_says_when_nothing_reproduces_the_output():
    at = _example(wrong="[1.0, 2.0, 3.0, 4.0]")
    assert not at.exception and not _errors(at)
    assert any("No mistake" in w.value for w in at.warning)


def test_typing_a_wrong_output_in_the_box():
    at = _example()
    at.text_area(key="wrong").input("[-1.7049, 0.9572, -0.3095, 1.0572]").run()
    assert not at.exception
    assert any("unbiased + std_under_sqrt" in w.value for w in at.warning)


def test_changing_the_steps_moves_the_running_statistics():
    at = _app()
    at.slider(key="steps").set_value(12).run()
    assert not at.exception and not _errors(at)
    running = [f for f in _figures(at) if f["layout"]["title"]["text"].startswith("Running statistics")][0]
    assert running["data"][0]["name"] == "channel 0"
    assert any("after 12 steps" in m.value for m in at.markdown)


def test_changing_the_layer_changes_the_pitfalls():
    at = _app()
    at.sidebar.selectbox(key="kind").set_value("RMSNorm").run()
    assert not at.exception and not _errors(at)
    assert at.header[0].value.startswith("RMSNorm((4,)")
    x = _seeded((2, 3, 4))
    y = F.rms_norm(x, (4,), eps=EPS)  # the eps control keeps its value across layers
    assert f"{y[0, 0, 0].item():.4f}" in at.code[1].value


def test_a_deep_link_opens_rmsnorm_with_its_steps():
    at = _app(kind="RMSNorm", shape="2,5,8", steps="3")
    assert not at.exception and not _errors(at)
    assert at.header[0].value == "RMSNorm((8,), eps=None) on an input of shape (2, 5, 8)"
    assert at.slider(key="steps").value == 3
    assert any("after 3 steps" in m.value for m in at.markdown)


def test_a_one_dimensional_paste_explains_why_batchnorm_needs_two_dims():
    at = _example()
    assert any("BatchNorm needs a batch dim and a channel dim" in i.value for i in at.info)






@pytest.mark.parametrize("wrong, words", [
    ("[-1.7049, 0.9572", "["),  # an unclosed bracket
    ("[-1.7049, 0.9572, -0.3095]", "shape"),  # three numbers for an input of four
    ("[-1.7049, abc, -0.3095, 1.0572]", "abc"),
])
def test_a_malformed_wrong_output_shows_an_error_and_the_page_goes_on(wrong, words):
    at = _example(wrong=wrong)
    assert not at.exception
    errors = _errors(at)
    assert len(errors) == 1 and words in errors[0]
    assert any("BatchNorm needs" in i.value for i in at.info)  # the section after it is still drawn


def test_batchnorm_steps_match_torch_train_then_eval():
    steps = 3
    bn = torch.nn.BatchNorm1d(3).double()  # momentum 0.1, eps 1e-5, as the sidebar's defaults
    bn.train()
    means = [bn.running_mean.clone()]
    for k in range(steps):
        batch = _seeded((2, 3, 4), seed=100 + k)  # batch k is seeded with seed + 100 + k
        with torch.no_grad():
            y_train = bn(batch)
        means.append(bn.running_mean.clone())
    bn.eval()
    with torch.no_grad():
        y_eval = bn(batch)
    diff = y_eval - y_train

    at = _app(steps=str(steps))
    assert not at.exception and not _errors(at)
    assert any(f"up to **{diff.abs().max().item():.4f}**" in m.value for m in at.markdown)
    codes = {c.value for c in at.code}
    assert any(f"{diff[0, 0, 0].item():.4f}" in c and f"{diff[1, 2, 3].item():.4f}" in c for c in codes)
    running = [f for f in _figures(at) if f["layout"]["title"]["text"].startswith("Running statistics")][0]
    channel0 = [t for t in running["data"] if t["name"] == "channel 0" and t.get("xaxis", "x") == "x"][0]
    expected = [m[0].item() for m in means]  # torch's running_mean of channel 0 after each step
    assert _array(channel0["y"]) == pytest.approx(expected, abs=1e-12)


def test_a_large_tensor_shows_a_part_of_the_pitfalls_and_says_so():
    at = _app(shape="1024, 1024", steps="1")
    assert not at.exception and not _errors(at)
    assert any("this figure shows the first" in i.value and "of 1,048,576 elements" in i.value for i in at.info)
