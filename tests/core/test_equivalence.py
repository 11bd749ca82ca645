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
from lnorm_core.pairs import layernorm_vs_instancenorm
from norm_cases import x_of
from torch_modules import check_pair_against_torch

S = lc.NormSpec
SEED = 0


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
        check_pair_against_torch(pair, x)


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
], ids=lambda s: f"{s.kind}-{s.normalized_shape or s.num_groups}-{s.affine}-{s.training}")
def test_a_layer_is_never_its_own_equivalent(spec):
    shape = (2, 3, 4)
    for eq in lc.equivalents(spec, shape):
        same_layer = (eq.spec.kind == spec.kind and eq.spec.normalized_shape == spec.normalized_shape
                      and eq.spec.num_groups == spec.num_groups and eq.shape == shape)
        assert not same_layer, eq


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
