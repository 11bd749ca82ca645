"""Layouts: the groups of each kind as its definition says, and view/reduce_dims pooling as torch does."""

import itertools
import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from norm_cases import spec_and_shape
from torch_modules import module_for

SETTINGS = settings(max_examples=80, derandomize=True)


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


@SETTINGS
@given(spec_and_shape(), st.data())
def test_pool_puts_each_group_in_a_row_and_unpool_undoes_it(case, data):
    spec, shape = case
    lay = spec.layout(shape)
    dims = data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))
    for lay in (lay, lay.pooled_over(dims)):
        x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
        rows = lay.pool(x)
        ids = lay.ids()
        assert rows.shape == (lay.num_groups, lay.group_size)
        assert np.array_equal(lay.unpool(rows), x)
        for g in range(lay.num_groups):  # row g holds exactly the elements whose id is g
            assert sorted(rows[g]) == sorted(x[ids == g])
    kept = [d for d in range(len(shape)) if d not in dims]  # pooled over dims: one group per index of the others
    assert lay.num_groups == math.prod(shape[d] for d in kept)


def test_layouts_that_pool_alike_are_equal_groupings_whatever_their_view():
    shape = (2, 3, 5)
    one_group = lc.NormSpec("group", num_groups=1).layout(shape)  # view (2, 1, 3, 5), reduced (2, 3)
    whole = lc.NormSpec("layer", normalized_shape=(3, 5)).layout(shape)  # view (2, 3, 5), reduced (1, 2)
    assert one_group.view != whole.view and one_group.groups_equal(whole)
    assert not one_group.groups_equal(lc.NormSpec("instance").layout(shape))
    assert one_group.groups_equal(one_group.pooled_over((-2, -1)))
    assert lc.NormSpec("batch").layout(shape).buffer_shape == (3,)
    assert lc.NormSpec("batch", track_running_stats=False).layout(shape).buffer_shape is None
