"""Two layers on one input (compare_layers, layernorm_vs_instancenorm) against torch.nn: the gaps lnorm gives are
torch's, the fitted weight is numpy's least squares, and the views are the torch code they show."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from lnorm_core.manual import forward
from lnorm_core.pairs import affine_output, compare_layers, layernorm_vs_instancenorm, plain
from norm_cases import spec_and_shape, x_of
from torch_modules import check_pair_against_torch, module_with

S = lc.NormSpec
SEED = 0


def test_the_fitted_weight_is_numpys_least_squares():
    """B's weight and bias in the affine counterexample: the least-squares fit, entry by entry (numpy's lstsq)."""
    x = lc.seeded_tensor((2, 5, 8), SEED)
    pair = compare_layers(S("layer", normalized_shape=(8,)), x, S("instance"), seed=SEED)
    gap = pair.gaps["affine"]
    # independent: LayerNorm's output with its random weight, by torch; InstanceNorm's x_hat, by torch
    ya = module_with(S("layer", normalized_shape=(8,)), x.shape, gap.weight_a, gap.bias_a)(torch.from_numpy(x))
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
        check_pair_against_torch(pair, x)
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
        check_pair_against_torch(pair, x)
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
    check_pair_against_torch(pair, x)
    # by hand: LayerNorm's weight = GroupNorm's repeated along the last dim gives torch the same numbers
    g = module_with(S("group", num_groups=1, affine=True), x.shape, [1.5, -2.0, 0.5, 3.0], [0.1, 0.2, 0.3, 0.4])
    w = np.repeat([[1.5], [-2.0], [0.5], [3.0]], 3, axis=1)
    b = np.repeat([[0.1], [0.2], [0.3], [0.4]], 3, axis=1)
    ln = module_with(S("layer", normalized_shape=(4, 3)), x.shape, w, b)
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


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(case=spec_and_shape(), seed=st.integers(0, 2**16), offset=st.sampled_from([0.0, 1e4]))
def test_an_output_from_x_hat_is_the_forwards_output_to_the_bit(case, seed, offset):
    """affine_output (a comparison's fast path: the weight and bias applied to the x_hat of plain(spec)) gives what
    the whole forward gives, bit for bit, for every kind, mode and affine setting; in eval with running statistics
    it is that forward."""
    spec, shape = case
    spec = spec.with_affine()
    x = x_of(shape, seed, offset)
    pshape = spec.param_shape(shape)
    w, b = lc.seeded_tensor(pshape, seed + 1), lc.seeded_tensor(pshape, seed + 2) if spec.has_bias else None
    x_hat = forward(plain(spec), x).x_hat
    np.testing.assert_array_equal(affine_output(spec, x, x_hat, w, b), forward(spec, x, w, b).y, strict=True)
