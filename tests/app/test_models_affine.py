"""The Weight and bias tab's model: what it says of weight and bias, against torch.nn's own modules.

weight.shape, bias and how many elements each entry scales come from torch.nn's module for the
layer (tests/torch_modules.py), built here; the maps of the Same pooling tab are held to the
sentences that tab writes: a picture wherever a sentence says the affine differs, and only there.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from lnorm_app.config import Config
from lnorm_core import divisors, suffixes
from lnorm_app.models.affine import same_pooling_maps, weight_and_bias
from lnorm_app.models.explorer import explore, same_pooling
from page_links import shapes
from torch_modules import module_for, param_shapes

CONFIGS = {
    "layer (3, 4) on (2, 3, 4)": Config(shape=(2, 3, 4), normalized_shape=(3, 4), init="random"),
    "layer whole input": Config(shape=(3, 4), normalized_shape=(3, 4)),
    "rms": Config(kind="rms", shape=(2, 5, 8), normalized_shape=(8,)),
    "batch 4-D": Config(kind="batch", shape=(2, 4, 3, 3)),
    "batch 2-D eval": Config(kind="batch", shape=(5, 3), training=False),
    "instance with affine": Config(kind="instance", shape=(2, 3, 5), affine=True),
    "group": Config(kind="group", shape=(2, 4, 3, 3), num_groups=2, init="random"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_what_the_tab_says_of_weight_and_bias_is_torch_nns(name):
    e, w = explore(CONFIGS[name]), weight_and_bias(CONFIGS[name])
    torch_shapes = param_shapes(module_for(e.spec, e.x.shape))
    wshape = torch_shapes["weight"]
    first = w.lines[0]
    assert first.startswith(f"`weight.shape == {wshape}`: {math.prod(wshape):,} entr")
    assert f"each is used by {e.x.size // math.prod(wshape):,} element" in first
    assert w.map.param_shape == wshape and w.map.ids.shape == e.x.shape
    if torch_shapes.get("bias") is not None:
        assert w.lines[1].startswith(f"`bias.shape == {torch_shapes['bias']}` too")
    else:
        assert "bias" not in torch_shapes and w.lines[1].startswith("RMSNorm has no bias")
    if w.weight is not None:  # the sidebar's random draw, one value per entry
        np.testing.assert_array_equal(w.weight, np.ravel(e.weight))


def test_the_issues_example():
    w = weight_and_bias(CONFIGS["layer (3, 4) on (2, 3, 4)"])
    assert w.lines[0] == ("`weight.shape == (3, 4)`: 12 entries, one per position in dims 1 and 2 (normalized_shape); "
                          "each is used by 2 elements, one per index of the leading dim (2,).")
    assert w.lines[2].startswith("The groups and the entries cross: each of the 2 groups")


def test_group_norm_weight_is_per_channel_not_per_group():
    w = weight_and_bias(CONFIGS["group"])
    assert "one per channel (dim 1)" in w.lines[0] and "the weight is per channel, not per group" in w.lines[2]


@pytest.mark.parametrize("config,words", [
    (Config(affine=False), "elementwise_affine=False: it has no weight and no bias"),
    (Config(kind="rms", shape=(2, 4), normalized_shape=(4,), affine=False), "elementwise_affine=False"),
    (Config(kind="batch", shape=(2, 4), affine=False), "affine=False: it has no weight and no bias"),
    (Config(kind="instance", shape=(2, 3, 5), affine=False), "nn.InstanceNorm has affine=False by default"),
], ids=["layer", "rms", "batch", "instance-default"])
def test_without_weight_the_tab_says_so(config, words):
    w = weight_and_bias(config)
    assert w.map is None and words in w.no_weight
    assert param_shapes(module_for(explore(config).spec, explore(config).x.shape))["weight"] is None


def test_same_pooling_draws_layer_norm_against_instance_norm_once():
    """LayerNorm((8,)) and InstanceNorm1d(5) on (2, 5, 8): one weight per feature (dim 2) against one per token
    (dim 1); the equivalents whose weights lie the same way point back to the drawing."""
    config = Config(shape=(2, 5, 8), normalized_shape=(8,))
    maps = same_pooling_maps(config)
    (pair,) = maps.claim
    assert (pair.a.name, pair.b.name, pair.kind) == ("nn.LayerNorm((8,))", "nn.InstanceNorm1d(5, affine=True)", "layer")
    np.testing.assert_array_equal(pair.a.ids, np.broadcast_to(np.arange(8), (2, 5, 8)))
    np.testing.assert_array_equal(pair.b.ids, np.broadcast_to(np.arange(5)[:, None], (2, 5, 8)))
    names = [lc_name(eq) for eq in same_pooling(config).equivalents]
    drawn = dict(zip(names, maps.equivalents))
    assert drawn["RMSNorm on x"] is None  # the same groups, a different output: nothing about affine
    assert drawn["InstanceNorm on x"].drawn_above == "in the box above"
    assert drawn["GroupNorm on x.unsqueeze(-1)"].drawn_above == "in the box above"


def lc_name(eq):
    return f"{eq.spec.class_name} on {eq.how}"


@st.composite
def small_configs(draw):
    """A Config torch accepts on an input small enough for Same pooling's search."""
    kind = draw(st.sampled_from(lc.KINDS))
    shape = draw(shapes(max_elements=400, small=120).filter(lambda s: len(s) <= 5))
    params = dict(kind=kind, shape=shape, seed=draw(st.integers(0, 100)), affine=draw(st.booleans()))
    if kind in ("layer", "rms"):
        params["normalized_shape"] = draw(st.sampled_from(suffixes(shape)))
    if kind == "group":
        params["num_groups"] = draw(st.sampled_from(divisors(shape[1] if len(shape) > 1 else 1)))
    config = Config(**params)
    try:
        explore(config)
    except lc.InputError:
        assume(False)
    return config


def test_claim_on_one_channel_of_two_pixels_says_the_fitted_weight_fits_by_luck():
    """Found by the property below: on (1, 1, 1, 2) the one-channel claim said InstanceNorm's weight "cannot copy"
    LayerNorm's beside a gap of 0. With two elements x̂ is (-1, 1), so torch's InstanceNorm2d(1) fits any
    LayerNorm((1, 2)) weight and bias exactly; the callout must say that is the input's size, not the layers."""
    config = Config(kind="layer", shape=(1, 1, 1, 2), normalized_shape=(2,))
    first = same_pooling(config).claim[1][0]
    assert "can give every output InstanceNorm2d(1) can" in first
    assert "on this small input a fitted weight happens to fit" in first
    x = torch.from_numpy(lc.seeded_tensor((1, 1, 1, 2), 0))
    layer = torch.nn.LayerNorm((1, 2), dtype=torch.float64)
    inst = torch.nn.InstanceNorm2d(1, affine=True, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, 2.0]])), layer.bias.copy_(torch.tensor([[1.0, -1.0]]))
        y = layer(x).flatten()  # x̂ = (-1, 1) or (1, -1): y = ±w·x̂ + b, two equations in InstanceNorm's w and b
        xh = torch.nn.InstanceNorm2d(1, dtype=torch.float64)(x).flatten()
        w = (y[1] - y[0]) / (xh[1] - xh[0])
        inst.weight.fill_(float(w)), inst.bias.fill_(float(y[0] - w * xh[0]))
        torch.testing.assert_close(inst(x).flatten(), y)


def test_claim_on_two_features_a_token_says_a_fitted_weight_fits_by_luck():
    """On (1, 3, 2) the claim said "they differ" and "still misses by up to 5.6e-17": with two features a token,
    each token's x̂ is (-1, 1) or (1, -1), so InstanceNorm1d(3)'s weight and bias for that token fit any
    LayerNorm((2,)) weight exactly, which torch shows below. The claim must say that is the input's size."""
    first = same_pooling(Config(kind="layer", shape=(1, 3, 2), normalized_shape=(2,))).claim[1][0]
    assert "With affine they differ" in first and "on this small input a fitted weight happens to fit" in first
    x = torch.from_numpy(lc.seeded_tensor((1, 3, 2), 0))
    layer = torch.nn.LayerNorm((2,), dtype=torch.float64)
    inst = torch.nn.InstanceNorm1d(3, affine=True, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, 2.0])), layer.bias.copy_(torch.tensor([1.0, -1.0]))
        y, xh = layer(x)[0], torch.nn.InstanceNorm1d(3, dtype=torch.float64)(x)[0]
        w = (y[:, 1] - y[:, 0]) / (xh[:, 1] - xh[:, 0])  # per token: two equations in its weight and bias
        inst.weight.copy_(w), inst.bias.copy_(y[:, 0] - w * xh[:, 0])
        torch.testing.assert_close(inst(x)[0], y)


@given(small_configs())
@settings(max_examples=25, database=None, derandomize=True)
def test_a_picture_wherever_the_text_says_the_affine_differs(config):
    same, maps = same_pooling(config), same_pooling_maps(config)
    assert len(maps.equivalents) == len(same.equivalents)
    for eq, pair in zip(same.equivalents, maps.equivalents):
        says = any(c.startswith("With affine") for c in eq.pair.conditions)  # "...they differ", "... can give"
        assert (pair is not None) == says, eq.pair.conditions
    if same.claim:
        assert len(maps.claim) == 1  # the first pair of the claim: the same groups, and with affine...
        first = same.claim[1][0]
        if same.claim_pairs[0].b_covers_a:  # ...one weight copies the other's (one channel): "can give every output"
            assert "can give every output" in first and "With affine they differ" not in first
        else:  # ...they differ
            assert "With affine they differ" in first
    drawn = [p for p in maps.claim + maps.equivalents if p is not None and not p.drawn_above]
    keys = {(p.a.ids.tobytes(), p.b.ids.tobytes()) for p in drawn}
    assert len(keys) == len(drawn)  # each picture once
