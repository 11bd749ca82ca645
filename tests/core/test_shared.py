"""forward_each, the fast path for many recipes, gives manual_forward's outputs bit for bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from norm_cases import recipes, spec_and_shape, x_of
from torch_modules import module_for, params_of


@settings(max_examples=120, derandomize=True)
@given(spec_and_shape(), st.data(), st.sampled_from(["float64", "float32"]), st.booleans())
def test_forward_each_gives_manual_forwards_output_bit_for_bit(case, data, dtype, params):
    """Sharing the pooling, mean and sum of squares between recipes changes no bit of any output."""
    spec, shape = case
    items = st.one_of(st.sampled_from([()] + list(lc.mistake_combinations(3))), recipes(len(shape)))
    combinations = data.draw(st.lists(items, min_size=1, max_size=6))
    x = x_of(shape, offset=0.5)
    weight, bias = params_of(module_for(spec, shape)) if params else (None, None)
    got = list(lc.forward_each(spec, x, weight, bias, combinations, dtype=dtype))
    assert [c for c, _ in got] == combinations
    for given_, y in got:
        how = dict(recipe=given_) if isinstance(given_, lc.Recipe) else dict(mistakes=given_)
        expected = lc.manual_forward(spec, x, weight, bias, dtype=dtype, **how)
        assert y.dtype == expected.dtype and y.flags.c_contiguous
        assert np.array_equal(y, expected, equal_nan=True), given_
