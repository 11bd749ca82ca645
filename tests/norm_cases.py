"""Strategies and inputs the core's tests share: valid (spec, shape) pairs over every kind, and recipes."""

import math

import torch
from hypothesis import assume
from hypothesis import strategies as st

import lnorm_core as lc


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


def x_of(shape, seed=1, offset=0.0):
    """A seeded float64 input: randn * 2 + offset."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 2 + offset).numpy()


@st.composite
def recipes(draw, ndim=None):
    """Any recipe: a pool (the layer's, the whole sample, or dims of x when ndim is given), either estimator,
    one pass or two, std or var under the root, eps anywhere, affine or not."""
    pools = ["layer", "whole_sample"]
    if ndim:
        pools.append(tuple(draw(st.sets(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim))))
    return lc.Recipe(pool=draw(st.sampled_from(pools)), ddof=draw(st.sampled_from([0, 1])),
                     one_pass=draw(st.booleans()), under_root=draw(st.sampled_from(["var", "std"])),
                     eps=draw(st.sampled_from(["inside", "outside", "none"])), affine=draw(st.booleans()))


@st.composite
def trained_specs(draw):
    """(NormSpec in training, shape) over every kind, that torch accepts."""
    kind = draw(st.sampled_from(lc.KINDS))
    ndim = draw(st.integers(1 if kind in ("layer", "rms") else 3, 4))
    shape = tuple(draw(st.lists(st.integers(2, 4), min_size=ndim, max_size=ndim)))
    if kind in ("layer", "rms"):
        spec = lc.NormSpec(kind, normalized_shape=shape[-draw(st.integers(1, ndim)):])
    elif kind == "group":
        spec = lc.NormSpec("group", num_groups=draw(st.sampled_from([g for g in (1, 2, 4) if shape[1] % g == 0])))
    else:
        spec = lc.NormSpec(kind, affine=True, track_running_stats=False)
    return spec, shape
