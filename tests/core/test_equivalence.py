"""Equivalences and their conditions against torch.nn: where lnorm says "same output", torch's two modules agree
on the reshape; where it says "differ", torch's modules differ by the number lnorm gives, for its counterexample.

The modules come from tests/torch_modules.py (torch.nn's classes, built directly); the view of x
is made in torch by running the code lnorm shows ("x.transpose(1, 2)"), so the reshape is
checked too. The least-squares fit of B's weight is checked against numpy's lstsq.
"""

import numpy as np
import pytest
import torch

import lnorm_core as lc
from lnorm_core.equivalence import compare_layers, layernorm_vs_instancenorm
from norm_cases import x_of
from torch_modules import module_for

S = lc.NormSpec
SEED = 0


def _module(spec, shape, weight=None, bias=None, eval_mode=False):
    """torch.nn's module for spec with the given weight and bias (ones and zeros where None), in train or eval."""
    m = module_for(spec, shape)
    with torch.no_grad():
        if getattr(m, "weight", None) is not None:
            m.weight.copy_(torch.ones_like(m.weight) if weight is None else torch.from_numpy(np.asarray(weight)))
        if getattr(m, "bias", None) is not None:
            m.bias.copy_(torch.zeros_like(m.bias) if bias is None else torch.from_numpy(np.asarray(bias)))
    m.train(not eval_mode)
    return m


def _torch_outputs(pair, x, gap):
    """torch's y_a and y_b (back in x's layout) for the setting of one Gap of pair."""
    xt = torch.from_numpy(x)
    xb = eval(pair.view.code, {"x": xt})  # noqa: S307 - the code the page shows, run in torch
    assert tuple(xb.shape) == pair.view.shape
    np.testing.assert_array_equal(xb.numpy(), pair.view.apply(x))
    a = pair.spec_a.with_(training=True)
    b = pair.spec_b.with_(training=True)
    if not gap.what.startswith("affine"):  # no affine: the plain modules
        a = a.with_(elementwise_affine=False) if a.info.trailing else a.with_(affine=False)
        b = b.with_(elementwise_affine=False) if b.info.trailing else b.with_(affine=False)
    else:
        a = a.with_(elementwise_affine=True) if a.info.trailing else a.with_(affine=True)
        b = b.with_(elementwise_affine=True) if b.info.trailing else b.with_(affine=True)
    ma = _module(a, x.shape, gap.weight_a, gap.bias_a, eval_mode=gap.eval_a)
    mb = _module(b, pair.view.shape, gap.weight_b, gap.bias_b, eval_mode=gap.eval_b)
    with torch.no_grad():
        ya = ma(xt).numpy()
        yb = pair.view.undo(mb(xb).numpy(), x.shape)
    return ya, yb


def _check_pair_against_torch(pair, x):
    for name, gap in pair.gaps.items():
        ya, yb = _torch_outputs(pair, x, gap)
        torch_gap = float(np.max(np.abs(ya - yb)))
        np.testing.assert_allclose(torch_gap, gap.max_abs, rtol=1e-6, atol=1e-9, err_msg=name)
        if name == "no affine":
            assert (torch_gap < 1e-9) == pair.same_output, (name, torch_gap)
        if name == "affine" and pair.same_output:
            assert (torch_gap < 1e-9) == pair.b_covers_a, (name, torch_gap)
        if name == "affine reversed" and pair.same_output:
            assert (torch_gap < 1e-9) == pair.a_covers_b, (name, torch_gap)


CASES = {
    "LayerNorm(8) on (batch, seq, dim)": (S("layer", normalized_shape=(8,)), (2, 5, 8)),
    "InstanceNorm on (N, C, H, W)": (S("instance"), (2, 4, 3, 3)),
    "GroupNorm(1) on (N, C, L)": (S("group", num_groups=1), (2, 4, 3)),
    "BatchNorm with one sample": (S("batch"), (1, 3, 4)),
    "LayerNorm((2, 3)) on (4, 2, 3)": (S("layer", normalized_shape=(2, 3)), (4, 2, 3)),
    "RMSNorm(4) on (2, 3, 4)": (S("rms", normalized_shape=(4,)), (2, 3, 4)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_equivalent_agrees_with_torch_as_lnorm_says(name):
    spec, shape = CASES[name]
    x = lc.seeded_tensor(shape, SEED)
    found = lc.equivalents(spec, shape, x=x, seed=SEED)
    assert found
    for eq in found:
        pair = eq.pair
        assert pair.same_pooling  # an equivalent pools alike, by definition
        assert eq.same_output == pair.same_output and eq.same_with_affine == pair.same_with_affine
        assert eq.how == pair.view.code and eq.shape == pair.view.shape
        _check_pair_against_torch(pair, x)


@pytest.mark.parametrize("name", list(CASES))
def test_what_differs_differs_by_a_visible_amount(name):
    """A "differ" claim comes with a counterexample that is not rounding: at least 1e-3 here."""
    spec, shape = CASES[name]
    x = lc.seeded_tensor(shape, SEED)
    for eq in lc.equivalents(spec, shape, x=x, seed=SEED):
        gaps = eq.pair.gaps
        if not eq.same_output:
            assert gaps["no affine"].max_abs > 1e-3
        else:  # with affine: where a layer cannot stand for the other, a fitted weight misses visibly
            assert (gaps["affine"].max_abs < 1e-9) == eq.pair.b_covers_a
            assert (gaps["affine reversed"].max_abs < 1e-9) == eq.pair.a_covers_b
        if "eval" in gaps:
            assert gaps["eval"].max_abs > 1e-3  # a fresh layer's running statistics are not this input's


@pytest.mark.parametrize("spec", [
    S("layer", normalized_shape=(4,)),
    S("layer", normalized_shape=(4,), eps=1e-3),
    S("layer", normalized_shape=(4,), elementwise_affine=False),
    S("rms", normalized_shape=(4,)),
    S("group", num_groups=3, affine=False),
    S("instance", affine=True, track_running_stats=True, training=False),
    S("batch", training=False),
    S("batch", momentum=None),
], ids=lambda s: f"{s.label()}-{s.affine}-{s.training}")
def test_a_layer_is_never_its_own_equivalent(spec):
    shape = (2, 3, 4)
    for eq in lc.equivalents(spec, shape):
        same_layer = (eq.spec.kind == spec.kind and eq.spec.normalized_shape == spec.normalized_shape
                      and eq.spec.num_groups == spec.num_groups and eq.shape == shape)
        assert not same_layer, eq


def test_the_fitted_weight_is_numpys_least_squares():
    """B's weight and bias in the affine counterexample: the least-squares fit, entry by entry (numpy's lstsq)."""
    x = lc.seeded_tensor((2, 5, 8), SEED)
    pair = compare_layers(S("layer", normalized_shape=(8,)), x, S("instance"), seed=SEED)
    gap = pair.gaps["affine"]
    # independent: LayerNorm's output with its random weight, by torch; InstanceNorm's x_hat, by torch
    ya = _module(S("layer", normalized_shape=(8,)), x.shape, gap.weight_a, gap.bias_a)(torch.from_numpy(x))
    x_hat = torch.nn.functional.instance_norm(torch.from_numpy(x), eps=1e-5).numpy()
    ya = ya.detach().numpy()
    for c in range(5):  # InstanceNorm1d(5)'s weight entry c scales the elements x[:, c, :]
        design = np.stack([x_hat[:, c, :].ravel(), np.ones(16)], axis=1)
        (w, b), *_ = np.linalg.lstsq(design, ya[:, c, :].ravel(), rcond=None)
        np.testing.assert_allclose([gap.weight_b[c], gap.bias_b[c]], [w, b], rtol=1e-9, atol=1e-12)


def test_layernorm_is_instancenorm_on_batch_seq_dim():
    x = lc.seeded_tensor((2, 5, 8), SEED)
    same, transposed = layernorm_vs_instancenorm(x, seed=SEED)
    assert same.view.code == "x" and same.spec_b.kind == "instance" and same.view.shape == (2, 5, 8)
    assert same.same_pooling and same.same_output and not same.same_with_affine
    assert transposed.view.code == "x.transpose(1, 2)" and not transposed.same_pooling
    assert transposed.groups_b == (16, 5)  # each of the 2 x 8 features over the 5 tokens
    for pair in (same, transposed):
        _check_pair_against_torch(pair, x)
    # and torch itself, written out as a person would: LayerNorm(8) == InstanceNorm1d(5) on x, != on x.transpose
    xt = torch.from_numpy(x)
    ln = torch.nn.LayerNorm(8, elementwise_affine=False, dtype=torch.float64)(xt)
    torch.testing.assert_close(torch.nn.InstanceNorm1d(5, dtype=torch.float64)(xt), ln, rtol=0, atol=1e-12)
    other = torch.nn.InstanceNorm1d(8, dtype=torch.float64)(xt.transpose(1, 2)).transpose(1, 2)
    assert float((other - ln).abs().max()) == pytest.approx(transposed.gaps["no affine"].max_abs, rel=1e-9)


def test_layernorm_is_instancenorm_on_n_c_h_w():
    x = lc.seeded_tensor((2, 4, 3, 3), SEED)
    pairs = layernorm_vs_instancenorm(x, seed=SEED)
    assert [p.spec_b.normalized_shape for p in pairs] == [(3, 3), (4, 3, 3), (4,)]
    assert [p.same_pooling for p in pairs] == [True, False, False]
    assert pairs[2].view.code == "x.permute(0, 2, 3, 1)"
    for pair in pairs:
        _check_pair_against_torch(pair, x)
    # LayerNorm((C, H, W)) pools as GroupNorm(1, C): torch's two modules agree
    xt = torch.from_numpy(x)
    torch.testing.assert_close(torch.nn.LayerNorm((4, 3, 3), elementwise_affine=False, dtype=torch.float64)(xt),
                               torch.nn.GroupNorm(1, 4, affine=False, dtype=torch.float64)(xt), rtol=0, atol=1e-12)


def test_a_finer_weight_covers_a_coarser_one_and_not_back():
    """GroupNorm(1, 4) on (2, 4, 3) pools as LayerNorm((4, 3)); LayerNorm's (4, 3) weight can repeat
    GroupNorm's (4,) one, so it gives every GroupNorm output, but GroupNorm cannot give LayerNorm's."""
    x = lc.seeded_tensor((2, 4, 3), SEED)
    pair = compare_layers(S("group", num_groups=1), x, S("layer", normalized_shape=(4, 3)), seed=SEED)
    assert pair.same_output and pair.b_covers_a and not pair.a_covers_b and not pair.same_with_affine
    _check_pair_against_torch(pair, x)
    # by hand: LayerNorm's weight = GroupNorm's repeated along the last dim gives torch the same numbers
    g = _module(S("group", num_groups=1, affine=True), x.shape, [1.5, -2.0, 0.5, 3.0], [0.1, 0.2, 0.3, 0.4])
    w = np.repeat([[1.5], [-2.0], [0.5], [3.0]], 3, axis=1)
    b = np.repeat([[0.1], [0.2], [0.3], [0.4]], 3, axis=1)
    ln = _module(S("layer", normalized_shape=(4, 3)), x.shape, w, b)
    xt = torch.from_numpy(x)
    torch.testing.assert_close(ln(xt), g(xt), rtol=0, atol=1e-12)
    assert "LayerNorm((4, 3)) can give every output GroupNorm(1, 4) can" in " ".join(pair.conditions)


def test_the_conditions_say_when_and_give_the_numbers():
    x = lc.seeded_tensor((2, 5, 8), SEED)
    pair = compare_layers(S("layer", normalized_shape=(8,)), x, S("instance"), seed=SEED)
    text = " ".join(pair.conditions)
    assert "Same output without affine" in text
    assert "InstanceNorm1d(5) takes dim 1 of (2, 5, 8) (size 5) as its channels" in text
    assert f"miss by up to {pair.gaps['affine'].max_abs:.2g}" in text
    assert "affine=False by default" in text
    batch = compare_layers(S("layer", normalized_shape=(4,)), lc.seeded_tensor((1, 3, 4), SEED), S("batch"))
    assert "Only in training mode: in eval() BatchNorm1d(3)" in " ".join(batch.conditions)
    rms = compare_layers(S("layer", normalized_shape=(8,)), x, S("rms", normalized_shape=(8,)))
    assert "without subtracting the mean" in " ".join(rms.conditions) and not rms.same_output


def test_views_are_the_torch_code_they_show():
    x = lc.seeded_tensor((2, 4, 3, 3), SEED)
    xt = torch.from_numpy(x)
    for eq in lc.equivalents(S("group", num_groups=4), x.shape, x=x):
        moved = eval(eq.how, {"x": xt})  # noqa: S307
        np.testing.assert_array_equal(moved.numpy(), eq.pair.view.apply(x))
        np.testing.assert_array_equal(eq.pair.view.undo(moved.numpy(), x.shape), x)


def test_a_layer_torch_refuses_in_training_has_nothing_to_compare():
    """BatchNorm in eval on one sample: torch accepts it (running statistics) but refuses it in training."""
    x = lc.seeded_tensor((1, 3), SEED)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        torch.nn.BatchNorm1d(3)(torch.from_numpy(x))
    assert lc.equivalents(S("batch", training=False), x.shape, x=x) == []
    # and the claim on a 4-D input with one pixel: InstanceNorm2d is refused there
    assert layernorm_vs_instancenorm(lc.seeded_tensor((2, 3, 1, 1), SEED)) == []


def test_equivalences_the_issue_names():
    n, seq, d = 2, 3, 4
    layer = lc.NormSpec("layer", normalized_shape=(d,))
    found = {(e.spec.kind, e.shape): e for e in lc.equivalents(layer, (n, seq, d))}
    inst = found[("instance", (n, seq, d, 1))]
    assert inst.same_output and not inst.same_with_affine  # weight (L,) against (D,)
    x = x_of((n, seq, d))
    assert lc.outputs_equal(layer, x, lc.NormSpec("instance"), x.reshape(n, seq, d, 1))

    c, h = 4, 3
    g1 = lc.NormSpec("group", num_groups=1)
    assert any(e.spec == lc.NormSpec("layer", normalized_shape=(c, h)) for e in lc.equivalents(g1, (n, c, h)))
    gc = lc.NormSpec("group", num_groups=c)
    eq = {e.spec.kind: e for e in lc.equivalents(gc, (n, c, h)) if e.shape == (n, c, h)}
    assert eq["instance"].same_output and eq["instance"].same_with_affine  # both weights are (C,)
    x = x_of((n, c, h))
    assert lc.outputs_equal(gc, x, lc.NormSpec("instance"), x)
    assert not lc.outputs_equal(gc, x, lc.NormSpec("batch"), x)
    # an independent construction of the partitions
    by_sample = np.repeat(np.arange(n), c * h).reshape(n, c, h)
    assert lc.same_partition(lc.group_ids(g1, (n, c, h)), by_sample)
    assert lc.same_partition(by_sample, by_sample + 7)
    assert not lc.same_partition(by_sample, np.zeros_like(by_sample))
