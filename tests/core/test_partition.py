"""Partitions of a tensor's elements, against a definition written here with Python sets."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from lnorm_core.partition import refines

LABELS = st.lists(st.integers(0, 4), min_size=1, max_size=30)


def _blocks(labels):
    """The partition as a set of frozensets of positions."""
    out = {}
    for i, label in enumerate(labels):
        out.setdefault(label, set()).add(i)
    return {frozenset(b) for b in out.values()}


@settings(max_examples=200, derandomize=True)
@given(LABELS, st.data())
def test_same_partition_and_refines_match_their_definitions(a, data):
    b = data.draw(st.lists(st.integers(0, 4), min_size=len(a), max_size=len(a)))
    assert lc.same_partition(a, b) == (_blocks(a) == _blocks(b))
    fine_in_coarse = all(any(f <= c for c in _blocks(b)) for f in _blocks(a))
    assert refines(a, b) == fine_in_coarse
    renamed = [7 * v + 100 for v in a]  # the numbering does not matter
    assert lc.same_partition(a, renamed) and refines(a, renamed) and refines(renamed, a)
    assert not lc.same_partition(a, a + [0])  # nor do arrays of other sizes split alike


def test_param_ids_say_which_weight_entry_scales_each_element():
    layer = lc.param_ids(lc.NormSpec("layer", normalized_shape=(3, 4)), (2, 3, 4))
    np.testing.assert_array_equal(layer[1], np.arange(12).reshape(3, 4))  # one entry per position of (3, 4)
    group = lc.param_ids(lc.NormSpec("group", num_groups=1), (2, 3, 4))
    np.testing.assert_array_equal(group[1], np.repeat(np.arange(3), 4).reshape(3, 4))  # one entry per channel
    assert lc.param_ids(lc.NormSpec("instance"), (2, 3, 4)) is None  # no affine by default
