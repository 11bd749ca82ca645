"""One group's arithmetic step by step (group_steps), checked against the statistics module and torch."""

import math
import statistics

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from torch_modules import module_for, params_of

EPS = 1e-5
LAYER4 = lc.NormSpec("layer", normalized_shape=(4,))
SETTINGS = settings(max_examples=40, deadline=None)


def _randn(*shape, seed=0):
    """torch.manual_seed(seed); torch.randn(*shape): float32, as the student's tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_group_steps_of_a_layernorm_row_by_the_statistics_module():
    x = _randn(2, 3, 4).double()
    w, b = _randn(4, seed=1).double(), _randn(4, seed=2).double()
    s = lc.group_steps(LAYER4, x, (1, 2), weight=w, bias=b, mistakes=("unbiased", "std_under_sqrt"))
    row = x[1, 2].tolist()
    mean, pvar = statistics.fmean(row), statistics.pvariance(row)
    assert s.n == 4 and s.element == (1, 2, 0)
    assert s.indices.tolist() == [[1, 2, k] for k in range(4)]
    np.testing.assert_allclose(s.value("values"), row, rtol=0, atol=0)
    assert s.value("sum") == pytest.approx(math.fsum(row), abs=1e-12)
    assert s.value("mean") == pytest.approx(mean, abs=1e-12)
    np.testing.assert_allclose(s.value("deviations"), [v - mean for v in row], atol=1e-12)
    assert s.value("variance") == pytest.approx(pvar, rel=1e-12)  # biased: divide by n
    assert s.value("under_root") == pytest.approx(pvar + EPS, rel=1e-12)
    assert s.value("denominator") == pytest.approx(math.sqrt(pvar + EPS), rel=1e-12)
    np.testing.assert_allclose(s.value("x_hat"), [(v - mean) / math.sqrt(pvar + EPS) for v in row], atol=1e-12)
    np.testing.assert_allclose(s.value("output"), F.layer_norm(x, (4,), w, b, EPS)[1, 2].numpy(), atol=1e-12)
    # the same steps with statistics.stdev under the root
    stdev = statistics.stdev(row)
    assert s.value("variance", wrong=True) == pytest.approx(statistics.variance(row), rel=1e-12)
    assert s.value("under_root", wrong=True) == pytest.approx(stdev + EPS, rel=1e-12)
    wrong = [(v - mean) / math.sqrt(stdev + EPS) * wi + bi for v, wi, bi in zip(row, w.tolist(), b.tolist())]
    np.testing.assert_allclose(s.value("output", wrong=True), wrong, atol=1e-12)
    assert s.first_difference == "variance"
    assert s.steps_changed == ("variance", "denominator")
    assert "mean" not in s.differences and "sum" not in s.differences


def test_group_steps_of_the_whole_sample_pools_twelve_values():
    x = _randn(2, 3, 4).double()
    s = lc.group_steps(LAYER4, x, (0, 1), mistakes=("whole_sample",))
    assert s.first_difference == "values" and s.steps_changed == ("pool",)
    sample = x[0].reshape(-1).tolist()
    np.testing.assert_allclose(s.value("values", wrong=True), sample, atol=0)
    assert s.value("variance", wrong=True) == pytest.approx(statistics.pvariance(sample), rel=1e-12)
    whole = F.layer_norm(x, (3, 4), eps=EPS)[0].reshape(-1).numpy()  # pooling the whole sample is LayerNorm((3, 4))
    np.testing.assert_allclose(s.value("output", wrong=True), whole, atol=1e-12)


def test_group_steps_of_rmsnorm_and_groupnorm_and_batchnorm_in_eval():
    x = _randn(2, 4, 3, seed=7).double()
    rms = lc.group_steps(lc.NormSpec("rms", normalized_shape=(3,), eps=EPS), x, (1, 3))
    row = x[1, 3].tolist()
    assert rms.value("variance") == pytest.approx(statistics.fmean([v * v for v in row]), rel=1e-12)
    assert "mean" not in [v.name for v in rms.right]
    np.testing.assert_allclose(rms.value("output"), F.rms_norm(x, (3,), eps=EPS)[1, 3].numpy(), atol=1e-12)

    gn = lc.group_steps(lc.NormSpec("group", num_groups=2), x, (1, 3))  # channels 2 and 3 of sample 1
    np.testing.assert_allclose(gn.value("values"), x[1, 2:4].reshape(-1).numpy(), atol=0)
    np.testing.assert_allclose(gn.value("output"), F.group_norm(x, 2, eps=EPS)[1, 2:4].reshape(-1).numpy(),
                               atol=1e-12)

    rm, rv = torch.tensor([0.5, -1.0, 0.0, 2.0], dtype=torch.float64), torch.tensor([4.0, 1.0, 0.25, 9.0],
                                                                                    dtype=torch.float64)
    bn = lc.NormSpec("batch", training=False)
    s = lc.group_steps(bn, x, 3, running_mean=rm, running_var=rv)  # group 3: channel 3
    assert s.value("mean") == 2.0 and s.value("variance") == 9.0
    expected = F.batch_norm(x, rm, rv, training=False, eps=EPS)[:, 3].reshape(-1).numpy()
    np.testing.assert_allclose(s.value("output"), expected, atol=1e-12)


@pytest.mark.parametrize("mistake", list(lc.MISTAKES))
def test_each_mistake_first_changes_its_own_step(mistake):
    assert lc.MISTAKES[mistake].step in lc.STEPS
    x = _randn(2, 3, 4).double() + 1e7  # a mean of 1e7: E[x^2] - E[x]^2 cancels even in float64
    s = lc.group_steps(LAYER4, x, (0, 0), mistakes=(mistake,))
    assert s.first_difference is not None
    first = [v for v in s.right if v.name == s.first_difference][0]
    assert first.step == lc.MISTAKES[mistake].step


@SETTINGS
@given(st.sampled_from(["layer", "rms", "batch", "instance", "group"]), st.integers(0, 10_000),
       st.sampled_from([(2, 4, 3), (3, 2, 5), (2, 2, 2, 3)]))
def test_group_steps_give_torch_outputs_for_any_group(kind, seed, shape):
    if kind in ("layer", "rms"):
        spec = lc.NormSpec(kind, normalized_shape=shape[-1:], eps=EPS)
    elif kind == "group":
        spec = lc.NormSpec("group", num_groups=2)
    else:
        spec = lc.NormSpec(kind, affine=True)
    x = _randn(*shape, seed=seed).double()
    module = module_for(spec, shape)
    weight, bias = params_of(module)
    y = module(x).detach().numpy()
    ids = lc.group_ids(spec, shape)
    group = seed % int(ids.max() + 1)
    s = lc.group_steps(spec, x, group, weight, bias)
    idx = tuple(s.indices.T)
    assert (ids[idx] == group).all() and s.n == (ids == group).sum()
    np.testing.assert_allclose(s.value("values"), x.numpy()[idx], atol=0)
    np.testing.assert_allclose(s.value("output"), y[idx], rtol=0, atol=1e-9)


def test_group_steps_refuse_a_group_that_does_not_exist():
    with pytest.raises(lc.InputError, match="there are 6 groups"):
        lc.group_steps(LAYER4, _randn(2, 3, 4), 6)
    with pytest.raises(lc.InputError, match="no index"):
        lc.group_steps(LAYER4, _randn(2, 3, 4), (2, 0))
