"""The Explorer page through Streamlit's AppTest: default view, controls, deep links, bad input.

The page is the app's default page, so AppTest.from_file(app.py) runs it. The
tabs render lazily: the view query parameter picks which one runs.
"""

import base64
import json
import math

import numpy as np
import pytest
import torch
from apptest import open_page
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import element_tree

import lnorm_core as lc
from lnorm_app import figures

TABS = ["Groups", "3-D cube", "Input → output", "Weight and bias", "Same pooling", "Reproduce in PyTorch"]


def _app(**params):
    return open_page(None, params)


def _text(at):
    """Everything the page wrote as markdown or caption."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def _errors(at):
    return [e.value for e in at.error]


def test_default_view():
    at = _app()
    assert not at.exception
    assert at.title[0].value == "Explorer"
    assert f"{torch.nn.LayerNorm(4)!r} on (2, 3, 4): 6 groups of 4 elements each" in _text(at)
    assert len(at.get("plotly_chart")) == 1  # the Groups tab
    assert not _errors(at)


def test_changing_the_layer_to_groupnorm():
    at = _app()
    at.sidebar.selectbox(key="kind").set_value("GroupNorm").run()
    assert not at.exception
    assert f"{torch.nn.GroupNorm(1, 3)!r} on (2, 3, 4): 2 groups of 12 elements each" in _text(at)
    assert len(at.get("plotly_chart")) == 1


def test_a_deep_link_opens_its_view():
    at = _app(kind="GroupNorm", shape="2,4,3", groups="2")
    assert not at.exception and not _errors(at)
    assert f"{torch.nn.GroupNorm(2, 4)!r} on (2, 4, 3): 4 groups of 6 elements each" in _text(at)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize("view", TABS)
@pytest.mark.parametrize("params", [
    {},
    {"kind": "GroupNorm", "shape": "2,4,3,3", "groups": "2", "init": "random"},
    {"kind": "RMSNorm", "shape": "2,5,8"},
    {"kind": "BatchNorm", "shape": "4,3", "mode": "eval"},
    {"kind": "InstanceNorm", "shape": "2,3,5"},
], ids=["layer", "group", "rms", "batch-eval", "instance"])
def test_every_tab_renders(view, params):
    at = _app(view=view, **params)
    assert not at.exception and not _errors(at)


def test_input_to_output_tab_shows_the_check_from_the_core():
    at = _app(view="Input → output")
    assert len(at.get("plotly_chart")) == 1
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["max |mean of x̂|"]) < 1e-12
    assert float(metrics["max |var of x̂ − v/(v+eps)|"]) < 1e-12
    table = at.dataframe[0].value
    assert list(table["group"]) == [0, 1, 2, 3, 4, 5]


def test_the_slice_slider_moves_the_stages_figure():
    at = _app(view="Input → output", kind="GroupNorm", shape="2,4,3,3", groups="2")
    assert "slices 1–3 of 8" in at.info[0].value
    at.slider(key="slice").set_value(6).run()
    assert not at.exception
    assert "slices 6–8 of 8" in at.info[0].value
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "x[1, 1, :, :]" in spec["layout"]["yaxis"]["title"]["text"]  # slice 6 of (2, 4) slices


def test_reproduce_tab_shows_code_and_downloads():
    at = _app(view="Reproduce in PyTorch", kind="GroupNorm", shape="2,4,3,3", groups="2")
    assert not at.exception
    codes = [c.value for c in at.code]
    assert len(codes) == 2
    assert "torch.manual_seed(0)" in codes[0] and "nn.GroupNorm(2, 4" in codes[0]
    assert "np.sqrt(var + eps)" in codes[1]
    buttons = at.get("download_button")
    assert len(buttons) == 6  # the notebook and 5 files of numbers (4-D: no CSV of the tensor itself)
    assert "notebook (.ipynb)" in buttons[0].proto.label


def test_same_pooling_tab_lists_the_equivalents_with_their_conditions():
    at = _app(view="Same pooling")
    text = _text(at)
    assert "**`nn.InstanceNorm1d(3)` on `x`** (2, 3, 4): the same output without affine" in text
    assert "InstanceNorm1d(3) takes dim 1 of (2, 3, 4) (size 3) as its channels" in text
    assert "**`nn.RMSNorm((4,), eps=1e-05)` on `x`** (2, 3, 4): the same groups, a different output" in text
    # the counterexample's number is the one torch gives: LayerNorm and RMSNorm on the page's input
    x = torch.from_numpy(lc.seeded_tensor((2, 3, 4), 0))
    gap = float((torch.nn.LayerNorm(4, elementwise_affine=False, dtype=torch.float64)(x)
                 - torch.nn.RMSNorm(4, eps=1e-5, elementwise_affine=False, dtype=torch.float64)(x)).abs().max())
    assert f"here they differ by up to {gap:.2g}, without affine" in text
    assert "`nn.LayerNorm((4,))`" not in text  # never its own equivalent


@pytest.mark.parametrize("params,words", [
    ({"shape": "2,5,8", "ns": "(8,)"},
     ["LayerNorm is InstanceNorm? On (batch, seq, dim) = (2, 5, 8)", "`nn.InstanceNorm1d(5)` on `x` as it is",
      "`nn.InstanceNorm1d(8)` on `x.transpose(1, 2)`", "pools each feature over the 5 tokens: 16 groups of 5"]),
    ({"kind": "InstanceNorm", "shape": "2,4,3,3"},
     ["LayerNorm is InstanceNorm? On (N, C, H, W) = (2, 4, 3, 3)", "`nn.LayerNorm((3, 3))` on `x` pools the same",
      "`nn.LayerNorm((4, 3, 3))`", "the groups of GroupNorm(1, 4)", "`x.permute(0, 2, 3, 1)`"]),
], ids=["batch-seq-dim", "n-c-h-w"])
def test_the_layernorm_is_instancenorm_callout_on_the_presets(params, words):
    at = _app(view="Same pooling", **params)
    assert not at.exception and not _errors(at)
    text = _text(at)
    for w in words:
        assert w in text, w


def test_the_callout_with_one_channel_says_layernorm_over_the_sample_pools_as_instancenorm():
    """With C = 1 a sample is its one channel: LayerNorm((1, H, W)) pools InstanceNorm2d(1)'s groups, and
    LayerNorm((H, W))'s weight can copy InstanceNorm's single one. torch says both; the callout must too."""
    at = _app(view="Same pooling", kind="InstanceNorm", shape="2,1,3,3")
    assert not at.exception and not _errors(at)
    text = _text(at)
    assert "the same groups as InstanceNorm's here" in text and "not InstanceNorm's" not in text
    assert "With affine, LayerNorm((3, 3)) can give every output InstanceNorm2d(1) can" in text
    assert "over its 1 channel:" in text
    assert "a group of one element is its own mean, so without affine every output is 0" in text
    x = torch.from_numpy(lc.seeded_tensor((2, 1, 3, 3), 0))
    inst = torch.nn.InstanceNorm2d(1, affine=True, dtype=torch.float64)
    with torch.no_grad():
        inst.weight.fill_(1.7), inst.bias.fill_(-0.3)
        whole = torch.nn.LayerNorm((1, 3, 3), elementwise_affine=False, dtype=torch.float64)
        torch.testing.assert_close(whole(x), torch.nn.InstanceNorm2d(1, dtype=torch.float64)(x))
        pixels = torch.nn.LayerNorm((3, 3), dtype=torch.float64)
        pixels.weight.fill_(1.7), pixels.bias.fill_(-0.3)  # the copy: InstanceNorm's one weight on every pixel
        torch.testing.assert_close(pixels(x), inst(x))
        channels_last = torch.nn.LayerNorm((1,), elementwise_affine=False, dtype=torch.float64)
        assert channels_last(x.permute(0, 2, 3, 1)).abs().max() == 0


def _chart_data(at, k):
    """The traces of the page's k-th plotly chart, as the browser gets them."""
    return json.loads(at.get("plotly_chart")[k].proto.spec)["data"]


def test_weight_and_bias_tab_layer_norm_3_4_with_random_weights():
    at = _app(view="Weight and bias", shape="2,3,4", ns="(3, 4)", init="random", seed="2")
    assert not at.exception and not _errors(at)
    text = _text(at)
    assert "`weight.shape == (3, 4)`: 12 entries" in text and "each is used by 2 elements" in text
    assert "`bias.shape == (3, 4)` too" in text
    assert len(at.get("plotly_chart")) == 3  # the weight's entries, the groups beside them, y = x̂ · weight + bias
    entries = [_typed_array(t["z"]) for t in _chart_data(at, 0) if t["type"] == "heatmap"]
    groups = [_typed_array(t["z"]) for t in _chart_data(at, 1) if t["type"] == "heatmap"]
    for n in range(2):  # each sample x[n] meets all 12 entries, in place, and is one group
        np.testing.assert_array_equal(entries[n], np.arange(12).reshape(3, 4))
        np.testing.assert_array_equal(groups[n], np.full((3, 4), n))
    # the third chart draws torch's seeded weight on every element: torch.manual_seed(seed + 1)
    torch.manual_seed(3)
    weight = torch.randn(3, 4).double().numpy()
    drawn = [_typed_array(t["z"]) for t in _chart_data(at, 2) if t["type"] == "heatmap"]
    np.testing.assert_array_equal(drawn[1], weight)  # x[0]: x̂, weight, bias, y
    np.testing.assert_array_equal(drawn[5], weight)  # x[1]: the same 12 weights again


@pytest.mark.parametrize("params,words,charts", [
    ({"kind": "RMSNorm", "shape": "2,5,8"}, ["`weight.shape == (8,)`", "RMSNorm has no bias",
                                             "torch's initial ones, so here y = x̂"], 2),
    ({"kind": "BatchNorm", "shape": "2,4,3,3"}, ["`weight.shape == (4,)`: 4 entries, one per channel (dim 1)",
                                                 "the 9 elements of its channel in each of the N = 2 samples"], 2),
    ({"kind": "InstanceNorm", "shape": "2,3,5", "affine": "true", "init": "random"},
     ["one per channel (dim 1)", "each entry is shared by the 2 groups of its channel"], 3),
    ({"kind": "GroupNorm", "shape": "2,4,3", "groups": "2"}, ["the weight is per channel, not per group"], 2),
], ids=["rms", "batch", "instance", "group"])
def test_weight_and_bias_tab_per_layer(params, words, charts):
    at = _app(view="Weight and bias", **params)
    assert not at.exception and not _errors(at)
    text = _text(at)
    for w in words:
        assert w in text, w
    assert len(at.get("plotly_chart")) == charts


def test_weight_and_bias_tab_of_batch_norm_names_each_channels_entry():
    at = _app(view="Weight and bias", kind="BatchNorm", shape="2,4,3,3")
    titles = [a["text"] for a in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["annotations"]]
    assert titles[:4] == [f"x[0, {c}, :, :]<br>→ w{c}" for c in range(4)]


@pytest.mark.parametrize("params,words", [
    ({"affine": "false"}, "This LayerNorm has elementwise_affine=False: it has no weight and no bias"),
    ({"kind": "InstanceNorm", "shape": "2,3,5"}, "nn.InstanceNorm has affine=False by default"),
], ids=["layer-affine-off", "instance-default"])
def test_weight_and_bias_tab_without_weight_says_so(params, words):
    at = _app(view="Weight and bias", **params)
    assert not at.exception and not _errors(at)
    assert any(words in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_same_pooling_draws_the_two_weights_where_it_says_they_differ():
    at = _app(view="Same pooling", shape="2,5,8", ns="(8,)")
    assert not at.exception and not _errors(at)
    assert len(at.get("plotly_chart")) == 2  # LayerNorm((8,)) beside InstanceNorm1d(5), under the claim
    layer = [_typed_array(t["z"]) for t in _chart_data(at, 0) if t["type"] == "heatmap"]
    inst = [_typed_array(t["z"]) for t in _chart_data(at, 1) if t["type"] == "heatmap"]
    np.testing.assert_array_equal(layer[0], np.broadcast_to(np.arange(8), (5, 8)))  # one weight per feature
    np.testing.assert_array_equal(inst[0], np.broadcast_to(np.arange(5)[:, None], (5, 8)))  # one per token
    # the equivalents whose weights lie the same way point back to it: InstanceNorm1d(5), GroupNorm(5, 5), ...
    assert [c.value for c in at.caption].count("Their weights are laid out as drawn in the box above.") == 4


def test_same_pooling_draws_one_layers_weights_beside_several_others():
    """Regression (found by drawing links): LayerNorm over the whole (1, 4, 1, 2) is drawn beside two other
    layouts, and the same figure twice on one page made Streamlit refuse the second as a duplicate element."""
    at = _app(view="Same pooling", shape="1,4,1,2", ns="(1, 4, 1, 2)")
    assert not at.exception and not _errors(at)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 6 and specs[2] == specs[4]  # the claim's two, then the LayerNorm's map beside each


def test_cube_group_out_of_range_after_a_new_shape():
    at = _app(view="3-D cube")
    at.number_input(key="highlight").set_value(5).run()
    assert not at.exception
    at.sidebar.text_input(key="shape").set_value("2, 4").run()  # LayerNorm((4,)) now has 2 groups
    assert not at.exception and not _errors(at)
    assert at.number_input(key="highlight").value == 0


def test_the_largest_preset_shows_a_part_and_says_so():
    at = _app()
    at.sidebar.selectbox(key="preset").set_value("the largest (1024, 1024)").run()
    assert not at.exception and not _errors(at)
    assert "on (1024, 1024): 1024 groups of 1024 elements each" in _text(at)
    # the smallest stride whose view fits the cell budget: 1024 / 5 -> 205 x 205 = 42,025 cells is over 40,000
    stride = next(k for k in range(1, 1024) if math.ceil(1024 / k) ** 2 <= figures.MAX_CELLS)
    assert stride == 6 and any(f"shows every {stride}th row and column" in i.value for i in at.info)


def test_same_pooling_on_a_large_tensor_says_it_was_not_searched():
    at = _app(view="Same pooling", shape="1024,1024", ns="(1024,)")
    assert not at.exception
    assert "up to 4,096 elements" in at.info[0].value


# ---- bad input: a message on the page, never an exception ------------------------------------


def test_ragged_paste():
    at = _app(source="paste", paste="[[1,2],[3]]")
    assert not at.exception
    assert any("row 2" in e for e in _errors(at))
    assert not at.get("plotly_chart")


# ---- torch's refusals: its words, what they mean here, and buttons that apply what it accepts ------


@pytest.fixture
def typed_selectbox_values(monkeypatch):
    """Let AppTest send a select box's typed value (accept_new_options) back, as the browser does.

    AppTest looks the current value up among the options to send its state, so a page whose
    normalized_shape box holds a typed "(2,)" cannot be rerun by a click; the browser sends
    the typed text itself as the widget's string value, and so does this.
    """
    def state(self):
        ws = WidgetState()
        ws.id = self.id
        if self.value is not None:
            ws.string_value = str(element_tree._format_value_for_widget(self.format_func, self.value))
        return ws

    monkeypatch.setattr(element_tree.Selectbox, "_widget_state", property(state))


def _texts(at):
    return [t.value for t in at.text]


def _typed_array(value):
    """An array as plotly sends it to the browser: a list, or {"dtype", "bdata" (base64), "shape"}."""
    if not isinstance(value, dict):
        return np.asarray(value)
    flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return flat.reshape([int(d) for d in str(value.get("shape", flat.size)).split(",")])


def _torch_refusal(module, shape):
    """What torch.nn says when module runs on an input of shape."""
    with pytest.raises((RuntimeError, ValueError)) as e:
        module(torch.randn(*shape))
    return str(e.value)


def test_normalized_shape_torch_refuses_with_its_words_their_meaning_and_the_choices():
    at = _app(shape="4,2,3", ns="(2,)")
    assert not at.exception
    words = _torch_refusal(torch.nn.LayerNorm(2), (4, 2, 3))
    assert words == "Given normalized_shape=[2], expected input with shape [*, 2], but got input of size[4, 2, 3]"
    assert any(words in e for e in _errors(at))
    assert any("for (4, 2, 3) that is (3,), (2, 3) or (4, 2, 3); (2,) is the middle dim" in t for t in _texts(at))
    assert [b.label for b in at.button] == ["(3,)", "(2, 3)", "(4, 2, 3)"]
    assert not at.get("plotly_chart")


def test_a_choice_button_applies_it_and_the_page_shows_the_layer(typed_selectbox_values):
    at = _app(shape="4,2,3", ns="(2,)")
    at.button(key="fix-ns=(2, 3)").click().run()
    assert not at.exception and not _errors(at) and not at.button
    assert f"{torch.nn.LayerNorm((2, 3))!r} on (4, 2, 3): 4 groups of 6 elements each" in _text(at)
    assert at.sidebar.selectbox(key="ns").value == "(2, 3)"
    assert at.query_params["ns"] == ["(2, 3)"] or at.query_params["ns"] == "(2, 3)"
    assert len(at.get("plotly_chart")) == 1
    # the groups drawn are torch's: LayerNorm((2, 3)) normalizes each of the 4 samples over 6 values
    data = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    ids = np.array([_typed_array(t["z"]) for t in data if t["type"] == "heatmap"])
    assert ids.shape == (4, 2, 3) and all((ids[n] == n).all() for n in range(4))


def test_num_groups_that_does_not_divide_the_channels(typed_selectbox_values):
    at = _app(kind="GroupNorm", shape="2,4,3", groups="3")
    assert not at.exception
    assert any(_torch_refusal(lambda x: torch.nn.GroupNorm(3, 4)(x), (2, 4, 3)) in e for e in _errors(at))
    assert any("num_groups must divide 4: 1, 2 or 4" in t for t in _texts(at))
    assert [b.label for b in at.button] == ["num_groups=1", "num_groups=2", "num_groups=4"]
    at.button(key="fix-groups=2").click().run()
    assert not at.exception and not _errors(at)
    assert f"{torch.nn.GroupNorm(2, 4)!r} on (2, 4, 3): 4 groups of 6 elements each" in _text(at)


def test_batch_norm_with_one_value_per_channel_offers_eval_mode():
    at = _app(kind="BatchNorm", shape="1,3")
    assert any(_torch_refusal(torch.nn.BatchNorm1d(3), (1, 3)) in e for e in _errors(at))
    assert any("each of the 3 channels has one value" in t for t in _texts(at))
    at.button(key="fix-mode=eval-track=True").click().run()
    assert not at.exception and not _errors(at)
    assert "on (1, 3): 3 groups of 1 element each (eval mode" in _text(at)
    assert at.query_params["mode"] in ("eval", ["eval"])


@pytest.mark.parametrize("view", TABS)
def test_batch_norm_in_eval_on_one_sample_opens_every_tab(view):
    """The fix above: in eval mode with running statistics torch accepts (1, 3), though training is refused."""
    at = _app(kind="BatchNorm", shape="1,3", mode="eval", view=view)
    assert not at.exception and not _errors(at)
    if view == "Same pooling":
        assert any("in training mode torch refuses this input" in i.value for i in at.info)


def test_a_pasted_tensor_is_not_offered_a_new_shape_but_told_it():
    at = _app(kind="BatchNorm", source="paste", paste="[[1.0, 2.0, 3.0]]")
    assert [b.label for b in at.button] == ["eval mode, with running statistics", "LayerNorm((3,))"]
    assert any("In your own code: shape (2, 3): a batch of 2 samples" in t for t in _texts(at))


def test_a_negative_eps_is_computed_as_torch_computes_it_with_a_note():
    at = _app(eps="-0.5", view="Input → output")
    assert not at.exception and not _errors(at) and not at.warning
    assert any("eps = -0.5 is negative" in i.value for i in at.info)
    assert f"{torch.nn.LayerNorm(4, eps=-0.5)!r} on (2, 3, 4)" in _text(at)  # (tests/core/test_spec.py: its numbers)


def test_what_is_not_torchs_refusal_keeps_the_plain_message():
    at = _app(eps="abc")  # lnorm's own check of a parameter: no torch words to explain, and no blank page
    assert not at.button and not _errors(at)
    assert [w.value for w in at.warning] == ["eps: 'abc' is not a number — using the default instead."]
    assert lc.refusal_help(lc.NormSpec("layer", normalized_shape=(4,)), (2, 3, 4)) is None
