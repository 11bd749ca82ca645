"""compare and ulp against element-by-element computations, and torch in each dtype against its tolerance."""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from norm_cases import x_of


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("spec,shape", [
    (lc.NormSpec("layer", normalized_shape=(64,)), (8, 64)),
    (lc.NormSpec("rms", normalized_shape=(64,)), (8, 64)),
    (lc.NormSpec("batch"), (8, 4, 16)),
    (lc.NormSpec("instance", affine=True), (2, 4, 32)),
    (lc.NormSpec("group", num_groups=2), (2, 4, 32)),
])
def test_torch_in_each_dtype_is_within_its_tolerance(spec, shape, dtype):
    x = x_of(shape)
    truth = lc.manual_forward(spec, x)
    y = lc.torch_forward(spec, x, dtype=dtype)
    result = lc.compare(y, truth, dtype)
    assert result.passed, (result.max_abs, result.max_ulps)
    # and the error is real: the output is rounded to the dtype, so below float64 it is not 0
    if dtype != "float64":
        assert result.max_abs > 0
    g = lc.torch_backward(spec, x, x_of(shape, seed=3), dtype=dtype)["input"]
    g_truth = lc.manual_backward(spec, x, x_of(shape, seed=3))["input"]
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
