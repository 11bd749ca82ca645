"""The manual core against torch.nn: forward, backward, groups, mistakes, running statistics.

Every expected value comes from torch.nn's modules and autograd, from an
independent float64 construction in the test, or from a worked example.
"""

import itertools
import math
import statistics

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from torch_modules import module_for, params_of

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def spec_and_shape(draw):
    """A valid (NormSpec, shape) pair over every kind, 1 to 5 dims and the parameters torch names."""
    kind = draw(st.sampled_from(lc.KINDS))
    min_dims = {"layer": 1, "rms": 1, "batch": 2, "instance": 3, "group": 2}[kind]
    ndim = draw(st.integers(min_dims, 5))
    shape = list(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1, 1e-12]))
    if kind in ("layer", "rms"):
        k = draw(st.integers(1, ndim))
        params = dict(normalized_shape=tuple(shape[-k:]), elementwise_affine=draw(st.booleans()))
        if kind == "layer":
            params["bias"] = draw(st.booleans())
        else:
            params["eps"] = draw(st.sampled_from([None, 1e-5, 0.1]))
    elif kind == "group":
        shape[1] = draw(st.sampled_from([1, 2, 4, 6]))
        params = dict(num_groups=draw(st.sampled_from([g for g in (1, 2, 3, 6) if shape[1] % g == 0])),
                      affine=draw(st.booleans()))
    else:
        params = dict(affine=draw(st.booleans()), momentum=draw(st.sampled_from([0.1, 0.5, None])),
                      track_running_stats=draw(st.booleans()), training=draw(st.booleans()))
        if kind == "batch":
            shape[0] = max(shape[0], 2)  # training needs more than one value per channel
        else:
            shape[-1] = max(shape[-1], 2)  # and InstanceNorm more than one spatial element
    params.setdefault("eps", eps)
    spec = lc.NormSpec(kind, **params)
    if kind == "group":
        # torch refuses a GroupNorm whose N * C/G * spatial is 1 (test_refusals_carry_torchs_words)
        assume(shape[0] * (shape[1] // spec.num_groups) * math.prod(shape[2:]) > 1)
    return spec, tuple(shape)


def _x(shape, seed=1, offset=0.0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 2 + offset).numpy()


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
    x = _x(shape)
    grad_out = _x(shape, seed=2)
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
@given(spec_and_shape(), st.lists(st.sampled_from([()] + list(lc.mistake_combinations(3))), min_size=1, max_size=6),
       st.sampled_from(["float64", "float32"]), st.booleans())
def test_forward_each_gives_manual_forwards_output_bit_for_bit(case, combinations, dtype, params):
    """Sharing the pooling, mean and sum of squares between mistakes changes no bit of any output."""
    spec, shape = case
    x = _x(shape, offset=0.5)
    weight, bias = params_of(module_for(spec, shape)) if params else (None, None)
    got = list(lc.forward_each(spec, x, weight, bias, combinations, dtype=dtype))
    assert [c for c, _ in got] == combinations
    for mistakes, y in got:
        expected = lc.manual_forward(spec, x, weight, bias, mistakes=mistakes, dtype=dtype)
        assert y.dtype == expected.dtype and y.flags.c_contiguous
        assert np.array_equal(y, expected, equal_nan=True), mistakes


def _expected_key(spec, index, shape):
    """The reduction group of one element, by the definition of each norm (a tuple key)."""
    if spec.kind in ("layer", "rms"):
        return index[: len(shape) - len(spec.normalized_shape)]  # everything but the normalized dims
    if spec.kind == "batch":
        return (index[1],)  # one group per channel
    if spec.kind == "instance":
        return index[:2]  # one group per (sample, channel)
    return (index[0], index[1] // (shape[1] // spec.num_groups))  # per (sample, channel group)


@SETTINGS
@given(spec_and_shape())
def test_group_ids_give_the_partition_of_the_definition(case):
    spec, shape = case
    ids = lc.group_ids(spec, shape)
    assert ids.shape == shape
    mapping = {}
    for index in itertools.product(*(range(d) for d in shape)):
        mapping.setdefault(_expected_key(spec, index, shape), set()).add(int(ids[index]))
    # each defined group is exactly one id, and no id serves two groups
    assert all(len(v) == 1 for v in mapping.values())
    assert len({next(iter(v)) for v in mapping.values()}) == len(mapping) == len(np.unique(ids))


@SETTINGS
@given(spec_and_shape())
def test_each_mistake_differs_from_torch_where_it_must(case):
    spec, shape = case
    spec = spec.with_(training=True) if spec.kind in ("batch", "instance") else spec
    x = _x(shape, offset=0.5)
    right = lc.manual_forward(spec, x)
    np.testing.assert_allclose(right, lc.torch_forward(spec, x), rtol=0, atol=1e-9)
    _, _, n = lc.reduction_layout(spec, shape)
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
    x = _x((4, 256), offset=1e4)
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


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("cls,shape", [(torch.nn.BatchNorm1d, (5, 3)), (torch.nn.BatchNorm2d, (4, 3, 2, 2)),
                                       (torch.nn.InstanceNorm1d, (4, 3, 5))])
def test_running_statistics_over_steps_then_eval(cls, shape, momentum):
    kind = "batch" if "Batch" in cls.__name__ else "instance"
    module = cls(3, momentum=momentum, track_running_stats=True, affine=True, dtype=torch.float64)
    spec = lc.NormSpec(kind, momentum=momentum, track_running_stats=True, affine=True)
    weight, bias = params_of(module)
    state = lc.RunningStats.initial(3)
    for step in range(4):
        xb = _x(shape, seed=10 + step, offset=step)
        quiet = lc.running_stats_step(spec, xb, state, weight, bias, output=False)  # the buffers only
        y, state = lc.running_stats_step(spec, xb, state, weight, bias)
        assert quiet[0] is None and all(np.array_equal(getattr(quiet[1], k), getattr(state, k))
                                        for k in ("running_mean", "running_var", "num_batches_tracked"))
        y_ref = module(torch.tensor(xb)).detach().numpy()
        np.testing.assert_allclose(y, y_ref, atol=1e-9)
        np.testing.assert_allclose(state.running_mean, module.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(state.running_var, module.running_var.numpy(), atol=1e-12)
        assert state.num_batches_tracked == int(module.num_batches_tracked)
    module.eval()
    xe = _x(shape, seed=99)
    y_eval, same = lc.running_stats_step(spec.with_(training=False), xe, state, weight, bias)
    np.testing.assert_allclose(y_eval, module(torch.tensor(xe)).detach().numpy(), atol=1e-9)
    assert same is state
    y_train = lc.manual_forward(spec, xe, weight, bias)
    assert not np.allclose(y_eval, y_train)  # eval uses the running stats, not this batch's


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
    ("layer", dict(normalized_shape=(4,), eps=-1e-5), "eps"),
    ("layer", dict(normalized_shape=(4,), eps=float("nan")), "eps"),
    ("layer", dict(normalized_shape=(4,), eps="x"), "eps"),
    ("layer", dict(normalized_shape=(0,)), "normalized_shape"),
    ("layer", dict(normalized_shape=()), "at least 1-dimensional"),
    ("layer", dict(), "normalized_shape"),
    ("batch", dict(momentum=1.5), "momentum"),
    ("batch", dict(momentum=-0.1), "momentum"),
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


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("spec,shape", [
    (lc.NormSpec("layer", normalized_shape=(64,)), (8, 64)),
    (lc.NormSpec("rms", normalized_shape=(64,)), (8, 64)),
    (lc.NormSpec("batch"), (8, 4, 16)),
    (lc.NormSpec("instance", affine=True), (2, 4, 32)),
    (lc.NormSpec("group", num_groups=2), (2, 4, 32)),
])
def test_torch_in_each_dtype_is_within_its_tolerance(spec, shape, dtype):
    x = _x(shape)
    truth = lc.manual_forward(spec, x)
    y = lc.torch_forward(spec, x, dtype=dtype)
    result = lc.compare(y, truth, dtype)
    assert result.passed, (result.max_abs, result.max_ulps)
    # and the error is real: the output is rounded to the dtype, so below float64 it is not 0
    if dtype != "float64":
        assert result.max_abs > 0
    g = lc.torch_backward(spec, x, _x(shape, seed=3), dtype=dtype)["input"]
    g_truth = lc.manual_backward(spec, x, _x(shape, seed=3))["input"]
    scale = max(1.0, float(np.abs(g_truth).max()))
    assert lc.compare(g / scale, g_truth / scale, dtype).passed


TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
                "bfloat16": torch.bfloat16}
INT_VIEWS = {torch.float64: torch.int64, torch.float32: torch.int32, torch.float16: torch.int16,
             torch.bfloat16: torch.int16}


@settings(max_examples=300)
@given(dtype=st.sampled_from(sorted(TORCH_DTYPES)), value=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
       negative=st.booleans())
def test_ulp_is_the_step_to_the_next_number_of_the_dtype(dtype, value, negative):
    # the next number up of dtype, read off its bits (one more in the integer view), minus the number
    t = torch.tensor([value], dtype=torch.float64).to(TORCH_DTYPES[dtype])
    assume(torch.isfinite(t).all() and not (t == torch.finfo(t.dtype).max).all())
    bits = t.view(INT_VIEWS[t.dtype])
    step = ((bits + 1).view(t.dtype).double() - t.double()).item()
    x = t.double().item() * (-1 if negative else 1)
    assert lc.ulp(x, dtype) == step
    assert lc.ulp(np.array([[x, x]]), dtype).tolist() == [[step, step]]


def _compare_by_hand(a, e, atol, rtol, dtype):
    """compare's numbers, one element at a time in plain Python: (errors, max abs, max rel, max ULPs, passed)."""
    info = {"float64": (52, -1022), "float32": (23, -126), "float16": (10, -14), "bfloat16": (7, -126)}[dtype]
    bits, emin = info
    errs, rels, ulps, ok = [], [], [], True
    for x, y in zip(a, e):
        if x == y or (math.isnan(x) and math.isnan(y)):
            err = 0.0
        else:
            err = abs(x - y)
            err = math.inf if math.isnan(err) else err
        errs.append(err)
        size = abs(y) if math.isfinite(y) else 0.0
        if err:
            rel = math.inf if y == 0 else err / abs(y)
            if not math.isnan(rel):
                rels.append(rel)
            exponent = math.frexp(size)[1] - 1 if size else emin  # size = m * 2**(exponent), 1 <= m < 2
            ulps.append(err / 2.0 ** (max(exponent, emin) - bits))
        ok = ok and err <= atol + rtol * size
    return errs, max(errs, default=0.0), max(rels, default=0.0), max(ulps, default=0.0), ok


SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e-310, 1e300])


@settings(max_examples=300)
@given(pairs=st.lists(st.tuples(st.one_of(SPECIAL, st.floats(-1e6, 1e6)), st.one_of(SPECIAL, st.floats(-1e6, 1e6))),
                      min_size=1, max_size=8),
       nudge=st.booleans(), dtype=st.sampled_from(sorted(TORCH_DTYPES)))
def test_compare_agrees_with_an_element_by_element_computation(pairs, nudge, dtype):
    # nudge: the actual values a few float32 steps off the expected ones, where most real comparisons are
    a = [np.nextafter(np.float32(y), np.float32(np.inf)) if nudge and abs(y) < 1e38 else x for x, y in pairs]
    a = [float(v) for v in a]
    e = [y for _, y in pairs]
    c = lc.compare(a, e, dtype)
    errs, max_abs, max_rel, max_ulps, ok = _compare_by_hand(a, e, c.atol, c.rtol, dtype)
    assert c.abs_err.tolist() == errs and c.max_abs == max_abs and c.passed == ok
    assert c.max_rel == max_rel or (math.isnan(c.max_rel) and not max_rel)
    assert c.max_ulps == max_ulps or (math.isnan(c.max_ulps) and not max_ulps)


def test_compare_keeps_a_scalar_as_a_scalar():
    c = lc.compare(1.0 + 2**-20, 1.0, "float32")
    assert c.abs_err.shape == () and c.max_abs == 2**-20 and c.max_ulps == 8.0


def test_ulp_and_compare_against_hand_values():
    assert lc.ulp(1.0, "float32") == 2.0**-23
    assert lc.ulp(1.0, "bfloat16") == 2.0**-7
    assert lc.ulp(3.0, "float16") == 2.0**-9
    assert lc.ulp(0.0, "float32") == 2.0**-149  # the smallest subnormal step
    c = lc.compare([1.0 + 2**-22, np.nan, np.inf], [1.0, np.nan, np.inf], "float32")
    assert c.max_ulps == 2.0 and c.max_abs == 2**-22 and c.passed
    assert not lc.compare([np.nan], [1.0], "float32").passed


def test_equivalences_the_issue_names():
    n, seq, d = 2, 3, 4
    layer = lc.NormSpec("layer", normalized_shape=(d,))
    found = {(e.spec.kind, e.shape): e for e in lc.equivalents(layer, (n, seq, d))}
    inst = found[("instance", (n, seq, d, 1))]
    assert inst.same_output and not inst.same_with_affine  # weight (L,) against (D,)
    x = _x((n, seq, d))
    assert lc.outputs_equal(layer, x, lc.NormSpec("instance"), x.reshape(n, seq, d, 1))

    c, h = 4, 3
    g1 = lc.NormSpec("group", num_groups=1)
    assert any(e.spec == lc.NormSpec("layer", normalized_shape=(c, h)) for e in lc.equivalents(g1, (n, c, h)))
    gc = lc.NormSpec("group", num_groups=c)
    eq = {e.spec.kind: e for e in lc.equivalents(gc, (n, c, h)) if e.shape == (n, c, h)}
    assert eq["instance"].same_output and eq["instance"].same_with_affine  # both weights are (C,)
    x = _x((n, c, h))
    assert lc.outputs_equal(gc, x, lc.NormSpec("instance"), x)
    assert not lc.outputs_equal(gc, x, lc.NormSpec("batch"), x)
    # an independent construction of the partitions
    by_sample = np.repeat(np.arange(n), c * h).reshape(n, c, h)
    assert lc.same_partition(lc.group_ids(g1, (n, c, h)), by_sample)
    assert lc.same_partition(by_sample, by_sample + 7)
    assert not lc.same_partition(by_sample, np.zeros_like(by_sample))


def test_variance_algorithms_on_shifted_data():
    sweep = lc.error_sweep([0.0, 1e4], n=512, dtype="float32", seed=0)
    # an independent reference: numpy's float64 variance of the float32-rounded data
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 512, generator=gen, dtype=torch.float64) + torch.tensor([[0.0], [1e4]], dtype=torch.float64))
    x32 = x.float().double().numpy()
    ref = x32.var(axis=1)
    for alg in lc.ALGORITHMS:
        direct = lc.variance(x32, alg, "float32")
        np.testing.assert_allclose(np.abs(direct - ref) / ref, sweep[alg], rtol=1e-6)
    assert sweep["one_pass"][1] > 0.1  # catastrophic cancellation
    assert sweep["two_pass"][1] < 1e-4 and sweep["welford"][1] < 1e-2
    assert all(sweep[a][0] < 1e-5 for a in lc.ALGORITHMS)


def test_nan_poisons_its_group_only():
    spec = lc.NormSpec("layer", normalized_shape=(3,))
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 4.0]])
    y = lc.manual_forward(spec, x)
    y_ref = F.layer_norm(torch.tensor(x), (3,)).numpy()
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    np.testing.assert_allclose(y, y_ref, equal_nan=True, atol=1e-12)


@settings(max_examples=60, derandomize=True)
@given(kind=st.sampled_from(lc.KINDS), shape=st.lists(st.integers(1, 4), min_size=2, max_size=5).map(tuple))
def test_layout_view_and_reduce_dims_pool_as_torch_does(kind, shape):
    """x.reshape(layout.view), reduced over layout.reduce_dims with keepdim, gives the statistics torch uses:
    normalizing with them, written here in torch, equals torch.nn's module without affine."""
    c = shape[1]
    params = {"normalized_shape": shape[-2:]} if kind in ("layer", "rms") else {"affine": False}
    if kind in ("layer", "rms"):
        params["elementwise_affine"] = False
    if kind == "group":
        params["num_groups"] = max(d for d in (1, 2) if c % d == 0)
    spec = lc.NormSpec(kind, **params)
    try:
        lay = spec.layout(shape)
    except lc.InputError:
        return  # torch refuses this one (tests/core/test_spec.py checks where)
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 3.0
    v = x.reshape(lay.view)
    mean = v.mean(dim=lay.reduce_dims, keepdim=True) if spec.centers else torch.zeros(())
    var = ((v - mean) ** 2).mean(dim=lay.reduce_dims, keepdim=True)  # biased, as torch's norms
    eps = spec.eps if spec.eps is not None else torch.finfo(torch.float64).eps
    mine = ((v - mean) / torch.sqrt(var + eps)).reshape(shape)
    with torch.no_grad():
        theirs = module_for(spec, shape)(x)
    assert torch.allclose(mine, theirs, rtol=1e-10, atol=1e-10)
