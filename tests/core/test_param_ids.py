"""lc.param_ids (which weight entry scales each element) against torch's own autograd.

The key is independent of lnorm: torch.nn.functional's layer on a random float64 input with a
random float64 weight and bias, and torch.autograd's Jacobian of every output element with
respect to the weight (and the bias). y_i = x_hat_i * weight[e] + bias[e] for one entry e, so
the gradient of y_i is nonzero at exactly that entry: x_hat_i for the weight (nonzero for a
random input, except in a centered group of one element, where x_hat is 0 exactly) and 1 for
the bias. The weight's shape is written here as torch documents it (normalized_shape, or C).
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from page_links import shapes

EPS = (1e-5, 0.1, 1.0)


def _torch_layer(kind, x, w, b, p):
    """torch.nn.functional's layer of kind on x with weight w and bias b (p: its other parameters)."""
    if kind == "layer":
        return F.layer_norm(x, p["normalized_shape"], w, b, p["eps"])
    if kind == "rms":
        return F.rms_norm(x, p["normalized_shape"], w, p["eps"])
    if kind == "group":
        return F.group_norm(x, p["num_groups"], w, b, p["eps"])
    c = x.shape[1]
    track, own_stats = p["track_running_stats"], p["training"] or not p["track_running_stats"]
    mean = torch.zeros(c, dtype=torch.float64) if track else None  # a fresh layer's running statistics
    var = torch.ones(c, dtype=torch.float64) if track else None
    if kind == "batch":
        return F.batch_norm(x, mean, var, w, b, training=own_stats, momentum=0.1, eps=p["eps"])
    return F.instance_norm(x, mean, var, w, b, use_input_stats=own_stats, momentum=0.1, eps=p["eps"])


@st.composite
def layers(draw):
    """(kind, shape, parameters) of any layer torch has, on a small input of 1 to 6 dims."""
    kind = draw(st.sampled_from(lc.KINDS))
    channels = kind in ("batch", "instance", "group")
    shape = draw(shapes(max_elements=240, small=120).filter(lambda s: len(s) >= 2 or not channels))
    p = {"eps": draw(st.sampled_from(EPS))}
    if kind in ("layer", "rms"):
        p["normalized_shape"] = tuple(shape[-draw(st.integers(1, len(shape))):])
    if kind == "group":
        p["num_groups"] = draw(st.sampled_from([g for g in range(1, shape[1] + 1) if shape[1] % g == 0]))
    if kind in ("batch", "instance"):
        p.update(training=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    return kind, shape, p


def _spec(kind, p):
    """The lnorm spec of the same layer, with its weight and bias on."""
    if kind in ("layer", "rms"):
        return lc.NormSpec(kind, normalized_shape=p["normalized_shape"], eps=p["eps"], elementwise_affine=True)
    return lc.NormSpec(kind, affine=True, **{k: v for k, v in p.items()})


def _jacobians(kind, shape, p, seed):
    """(d y / d weight, d y / d bias or None), each (elements of x, entries of weight), from torch's autograd;
    None where torch refuses the layer on this input."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    wshape = p["normalized_shape"] if kind in ("layer", "rms") else (shape[1],)  # as torch.nn documents it
    w = torch.randn(wshape, generator=gen, dtype=torch.float64)
    b = None if kind == "rms" else torch.randn(wshape, generator=gen, dtype=torch.float64)
    try:
        _torch_layer(kind, x, w, b, p)
    except (RuntimeError, ValueError):  # e.g. one value per channel in training: torch refuses the layer
        return None
    n, entries = x.numel(), math.prod(wshape)
    jw = torch.autograd.functional.jacobian(lambda w_: _torch_layer(kind, x, w_, b, p), w, vectorize=True)
    jb = None
    if b is not None:
        jb = torch.autograd.functional.jacobian(lambda b_: _torch_layer(kind, x, w, b_, p), b, vectorize=True)
        jb = jb.reshape(n, entries).numpy()
    return jw.reshape(n, entries).numpy(), jb


def _group_of_one(kind, shape, p):
    """Whether each element is its own group (then x_hat = 0 and the weight gets no gradient): a centered
    layer that pools one element."""
    spatial = math.prod(shape[2:])
    if kind == "layer":
        return math.prod(p["normalized_shape"]) == 1
    if kind == "group":
        return shape[1] // p["num_groups"] * spatial == 1
    if kind in ("batch", "instance") and (p["training"] or not p["track_running_stats"]):
        return (shape[0] if kind == "batch" else 1) * spatial == 1  # torch refuses these: never reached
    return False


@given(layers(), st.integers(0, 2**16))
@settings(max_examples=60, database=None)
def test_the_entry_named_is_the_one_autograd_finds(layer, seed):
    kind, shape, p = layer
    grads = _jacobians(kind, shape, p, seed)
    assume(grads is not None)
    jw, jb = grads
    ids = lc.param_ids(_spec(kind, p), shape)
    assert ids.shape == tuple(shape)
    named = np.zeros_like(jw, dtype=bool)
    named[np.arange(ids.size), np.ravel(ids)] = True  # element i -> the entry the map names
    assert not jw[~named].any()  # no gradient at any entry but the one named: exactly 0
    if _group_of_one(kind, shape, p):
        assert np.abs(jw).max() < 1e-12  # x_hat = x - mean is 0 (up to torch's rounding): the bias says it below
    else:
        assert (jw[named] != 0).all()  # and the entry named does scale it
    if jb is not None:
        np.testing.assert_array_equal(jb, named.astype(np.float64))  # exactly 1 at the entry, 0 elsewhere


@pytest.mark.parametrize("kind,shape,p", [
    ("layer", (2, 3, 4), {"normalized_shape": (3, 4), "eps": 1e-5}),  # the example: 12 entries, N = 2 each
    ("group", (2, 4, 3, 3), {"num_groups": 2, "eps": 1e-5}),  # per channel, not per group
    ("batch", (3, 2, 2, 1, 2, 2), {"eps": 1e-5, "training": True, "track_running_stats": True}),  # 6-D: F only
    ("instance", (2, 3), {"eps": 1e-5, "training": False, "track_running_stats": True}),  # 2-D, eval: F only
    ("rms", (5,), {"normalized_shape": (5,), "eps": 1e-5}),
])
def test_named_layers(kind, shape, p):
    jw, jb = _jacobians(kind, shape, p, 0)
    ids = lc.param_ids(_spec(kind, p), shape)
    np.testing.assert_array_equal(jw != 0, np.eye(jw.shape[1], dtype=bool)[np.ravel(ids)])
    if jb is not None:
        np.testing.assert_array_equal(jb, np.eye(jw.shape[1])[np.ravel(ids)])


@pytest.mark.parametrize("spec", [
    lc.NormSpec("layer", normalized_shape=(4,), elementwise_affine=False),
    lc.NormSpec("rms", normalized_shape=(4,), elementwise_affine=False),
    lc.NormSpec("batch", affine=False),
    lc.NormSpec("instance"),  # torch's default: affine=False
    lc.NormSpec("group", num_groups=1, affine=False),
], ids=["layer", "rms", "batch", "instance-default", "group"])
def test_no_weight_no_map(spec):
    assert lc.param_ids(spec, (2, 3, 4)) is None
