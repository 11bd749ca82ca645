"""The hand computation against torch.nn: forward and backward, each mistake where it must differ, refusals.

Every expected value comes from torch.nn's modules and autograd, from an
independent float64 construction in the test, or from a worked example.
"""

import math
import statistics

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings

import lnorm_core as lc
from norm_cases import spec_and_shape, x_of
from torch_modules import module_for, params_of

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _torch_forward_backward(spec, shape, x, grad_out, module):
    """torch.nn's output and autograd gradients (input, weight, bias) as numpy."""
    xt = torch.tensor(x, requires_grad=True)
    y = module(xt)
    y.backward(torch.tensor(grad_out))
    w = getattr(module, "weight", None)
    b = getattr(module, "bias", None)
    grad = lambda p: None if p is None else p.grad.double().numpy()  # noqa: E731
    return y.detach().numpy(), {"input": xt.grad.numpy(), "weight": grad(w), "bias": grad(b)}


def _running(module):
    rm = getattr(module, "running_mean", None)
    rv = getattr(module, "running_var", None)
    return (None if rm is None else rm.numpy().copy()), (None if rv is None else rv.numpy().copy())


@SETTINGS
@given(spec_and_shape())
def test_forward_and_backward_equal_torch_autograd(case):
    spec, shape = case
    x = x_of(shape)
    grad_out = x_of(shape, seed=2)
    module = module_for(spec, shape)
    weight, bias = params_of(module)
    running_mean, running_var = _running(module)
    y_ref, g_ref = _torch_forward_backward(spec, shape, x, grad_out, module)

    y = lc.manual_forward(spec, x, weight, bias, running_mean=running_mean, running_var=running_var)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-9)
    g = lc.manual_backward(spec, x, grad_out, weight, bias, running_mean=running_mean, running_var=running_var)
    for key in ("input", "weight", "bias"):
        if g_ref[key] is None:
            assert g[key] is None, key
        else:
            np.testing.assert_allclose(g[key], g_ref[key], rtol=1e-9, atol=1e-9, err_msg=key)
    # torch_forward (the page's reference) agrees with the module too
    y_f = lc.torch_forward(spec, x, weight, bias, running_mean=running_mean, running_var=running_var)
    np.testing.assert_allclose(y_f, y_ref, rtol=0, atol=1e-12)


@SETTINGS
@given(spec_and_shape())
def test_each_mistake_differs_from_torch_where_it_must(case):
    spec, shape = case
    spec = spec.with_(training=True) if spec.kind in ("batch", "instance") else spec
    x = x_of(shape, offset=0.5)
    right = lc.manual_forward(spec, x)
    np.testing.assert_allclose(right, lc.torch_forward(spec, x), rtol=0, atol=1e-9)
    n = spec.layout(shape).group_size
    for mistake in ("unbiased", "std_under_sqrt", "eps_outside_sqrt", "no_eps"):
        wrong = lc.manual_forward(spec, x, mistakes=(mistake,))
        # a group of one element normalizes to 0 whatever the variance formula (or to NaN with n-1)
        # and eps's place only shows where eps is not lost in the variance (not 1e-12, not RMSNorm's 1.2e-7)
        tiny_eps = spec.eps_for("float64") < 1e-6
        if n > 1 and not (tiny_eps and mistake in ("no_eps", "eps_outside_sqrt")):
            assert not np.allclose(wrong, right, rtol=0, atol=1e-12, equal_nan=True), mistake
    whole = lc.manual_forward(spec, x, mistakes=("whole_sample",))
    n_batch = shape[0] if len(shape) > 1 else 1
    whole_ids = np.repeat(np.arange(n_batch), x.size // n_batch).reshape(shape)
    if not lc.same_partition(whole_ids, lc.group_ids(spec, shape)):
        # two elements normalize to about (-1, +1) in any grouping, so only larger groups must show it
        if n > 2 or x.size // n_batch > 2:
            assert not np.allclose(whole, right, rtol=0, atol=1e-9)
    else:
        np.testing.assert_allclose(whole, right, rtol=0, atol=1e-12)


def test_one_pass_cancels_on_a_large_mean_and_two_pass_does_not():
    spec = lc.NormSpec("layer", normalized_shape=(256,))
    x = x_of((4, 256), offset=1e4)
    truth = lc.torch_forward(spec, x)  # float64 torch
    two = lc.manual_forward(spec, x, dtype=np.float32)
    one = lc.manual_forward(spec, x, mistakes=("one_pass",), dtype=np.float32)
    assert np.abs(two - truth).max() < 1e-2
    assert not np.allclose(one, truth, rtol=0, atol=0.1)  # far off, or NaN from a negative variance


def test_worked_example_statistics_module():
    """The forum question: statistics.stdev under the root vs statistics.pvariance, by hand."""
    x = [-2.1918, 1.2574, -0.3838, 1.3870]
    eps = 1e-5
    mean = statistics.fmean(x)
    wrong = [(v - mean) / math.sqrt(statistics.stdev(x) + eps) for v in x]
    right = [(v - mean) / math.sqrt(statistics.pvariance(x) + eps) for v in x]
    spec = lc.NormSpec("layer", normalized_shape=(4,))
    np.testing.assert_allclose(lc.manual_forward(spec, x, mistakes=("unbiased", "std_under_sqrt")), wrong, atol=1e-12)
    np.testing.assert_allclose(lc.manual_forward(spec, x), right, atol=1e-12)
    # and the numbers the issue quotes, to the 4 decimals torch prints
    np.testing.assert_allclose(np.round(wrong, 4), [-1.7049, 0.9572, -0.3095, 1.0572])
    np.testing.assert_allclose(np.round(right, 4), [-1.5194, 0.8530, -0.2758, 0.9422])
    y = torch.nn.LayerNorm(4)(torch.tensor(x))
    np.testing.assert_allclose(np.round(y.detach().numpy(), 4), [-1.5194, 0.8530, -0.2758, 0.9422])


def test_rms_eps_none_follows_torch_in_each_dtype():
    x = np.full((2, 4), 1e-5)  # tiny values: the eps dominates, so the wrong one shows
    spec = lc.NormSpec("rms", normalized_shape=(4,))
    for dtype, np_dtype in ((torch.float64, np.float64), (torch.float32, np.float32)):
        y_ref = F.rms_norm(torch.tensor(x, dtype=dtype), (4,)).double().numpy()
        y = lc.manual_forward(spec, x, dtype=np_dtype)
        np.testing.assert_allclose(y, y_ref, rtol=1e-6)
    assert spec.eps_for("float16") == spec.eps_for("bfloat16") == float(torch.finfo(torch.float32).eps)


TORCH_REFUSALS = [
    (lc.NormSpec("layer", normalized_shape=(2,)), (4, 2, 3), lambda x: F.layer_norm(x, (2,))),
    (lc.NormSpec("layer", normalized_shape=(2, 3, 4, 5)), (4, 2, 3), lambda x: F.layer_norm(x, (2, 3, 4, 5))),
    (lc.NormSpec("rms", normalized_shape=(2,)), (4, 2, 3), lambda x: F.rms_norm(x, (2,))),
    (lc.NormSpec("rms", normalized_shape=(2, 3)), (3,), lambda x: F.rms_norm(x, (2, 3))),
    (lc.NormSpec("group", num_groups=3), (2, 4, 3), lambda x: torch.nn.GroupNorm(3, x.shape[1])(x)),
    (lc.NormSpec("batch"), (1, 3), lambda x: F.batch_norm(x, None, None, training=True)),
    (lc.NormSpec("batch"), (1, 3, 1), lambda x: F.batch_norm(x, None, None, training=True)),
    (lc.NormSpec("instance"), (2, 3, 1), lambda x: F.instance_norm(x)),
    (lc.NormSpec("group", num_groups=2), (1, 2), lambda x: F.group_norm(x, 2)),
]


@pytest.mark.parametrize("spec,shape,call", TORCH_REFUSALS)
def test_refusals_carry_torchs_words(spec, shape, call):
    with pytest.raises((RuntimeError, ValueError)) as torch_error:
        call(torch.randn(shape))
    with pytest.raises(lc.InputError) as ours:
        lc.manual_forward(spec, np.zeros(shape))
    assert str(torch_error.value) in str(ours.value)
    with pytest.raises(lc.InputError):
        lc.group_ids(spec, shape)


@pytest.mark.parametrize("kind,params,words", [
    ("layer", dict(normalized_shape=(4,), eps="x"), "eps"),
    ("layer", dict(normalized_shape=(0,)), "normalized_shape"),
    ("layer", dict(normalized_shape=()), "at least 1-dimensional"),
    ("layer", dict(), "normalized_shape"),
    ("batch", dict(momentum="fast"), "momentum"),
    ("group", dict(num_groups=0), "num_groups"),
    ("group", dict(num_groups=2.5), "num_groups"),
    ("group", dict(), "num_groups"),
    ("softmax", dict(), "unknown kind"),
])
def test_invalid_parameters_are_refused(kind, params, words):
    with pytest.raises(lc.InputError, match=words):
        lc.NormSpec(kind, **params)


def test_bad_weight_shape_and_unknown_mistake():
    spec = lc.NormSpec("layer", normalized_shape=(4,))
    with pytest.raises(lc.InputError, match=r"weight has shape \(3,\), expected \(4,\)"):
        lc.manual_forward(spec, np.zeros((2, 4)), weight=np.ones(3))
    with pytest.raises(lc.InputError, match="unknown mistake"):
        lc.manual_forward(spec, np.zeros((2, 4)), mistakes=("typo",))


def test_nan_poisons_its_group_only():
    spec = lc.NormSpec("layer", normalized_shape=(3,))
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 4.0]])
    y = lc.manual_forward(spec, x)
    y_ref = F.layer_norm(torch.tensor(x), (3,)).numpy()
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    np.testing.assert_allclose(y, y_ref, equal_nan=True, atol=1e-12)


