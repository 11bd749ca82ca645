"""Torch's refusals, in train and in eval: lnorm refuses exactly where torch.nn refuses, with torch's words.

A hypothesis property over the same space as the pages and beyond (every kind, 1 to 6 dims with
dims of size 1, normalized_shape and num_groups valid or not, eps from the sidebar's list with 0,
negative, infinite and NaN eps, any momentum, affine, train and eval, with and without running
statistics): build the torch.nn module and call it; where it raises, NormSpec.check (through
manual_forward and torch_forward) raises a TorchRefusal carrying torch's message; where it
computes, lnorm computes the same output, and in training the same running statistics.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from page_links import EPS_CHOICES, MOMENTA, shapes, torch_module

SETTINGS = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def layers(draw):
    """(kind, shape, layer parameters as page_links.torch_module takes them): torch may refuse or not."""
    kind = draw(st.sampled_from(lc.KINDS))
    shape = draw(shapes(max_elements=4096, small=64))
    layer = {"affine": draw(st.booleans())}
    if kind in ("layer", "rms"):
        suffix = tuple(shape[-draw(st.integers(1, len(shape))):])
        other = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))  # often not a suffix
        layer["normalized_shape"] = draw(st.sampled_from([suffix, other]))
    if kind == "group":
        c = shape[1] if len(shape) > 1 else 1
        layer["num_groups"] = draw(st.one_of(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]),
                                             st.integers(1, 8)))
    eps = draw(st.sampled_from((["None"] if kind == "rms" else []) + EPS_CHOICES + ["-0.5", "-1e-05", "inf", "nan"]))
    layer["eps"] = None if eps == "None" else float(eps)
    if kind in ("batch", "instance"):
        layer.update(training=draw(st.booleans()), track_running_stats=draw(st.booleans()),
                     momentum=draw(st.one_of(MOMENTA, st.sampled_from([None, math.inf, math.nan]))))
    return kind, shape, layer


def spec_of(kind, layer):
    """The NormSpec for the same layer."""
    if kind in ("layer", "rms"):
        return lc.NormSpec(kind, normalized_shape=layer["normalized_shape"], eps=layer["eps"],
                           elementwise_affine=layer["affine"])
    if kind == "group":
        return lc.NormSpec("group", num_groups=layer["num_groups"], eps=layer["eps"], affine=layer["affine"])
    return lc.NormSpec(kind, eps=layer["eps"], affine=layer["affine"], training=layer["training"],
                       track_running_stats=layer["track_running_stats"], momentum=layer["momentum"])


def torch_says(kind, shape, layer, x):
    """(output, None, module) where torch.nn computes, (None, its message, module) where it refuses."""
    module = None
    try:
        module = torch_module(kind, layer, shape)
        with torch.no_grad():
            return module(x), None, module
    except (RuntimeError, ValueError, IndexError) as e:
        return None, str(e), module


@SETTINGS
@given(layers(), st.integers(0, 2**16))
def test_lnorm_refuses_exactly_where_torch_nn_refuses(case, seed):
    kind, shape, layer = case
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    spec = spec_of(kind, layer)
    y, refusal, module = torch_says(kind, shape, layer, x)
    if refusal:
        for call in (lambda: lc.manual_forward(spec, x.numpy()), lambda: lc.torch_forward(spec, x.numpy()),
                     lambda: lc.group_ids(spec, shape)):
            with pytest.raises(lc.TorchRefusal) as ours:
                call()
            assert refusal in str(ours.value), f"{spec} on {shape}: torch says {refusal!r}, lnorm {ours.value}"
        assert lc.refusal_help(spec, shape).torch_message == str(ours.value)
        return
    mine = lc.manual_forward(spec, x.numpy())
    np.testing.assert_allclose(mine, y.numpy(), rtol=1e-7, atol=1e-9, equal_nan=True,
                               err_msg=f"{spec} on {shape}")
    if spec.keeps_running_stats and spec.training and callable(getattr(module, "train", None)):
        _, state = lc.running_stats_step(spec, x.numpy(), lc.RunningStats.initial(shape[1]), output=False)
        for name in ("running_mean", "running_var"):  # the buffers torch moved, by this momentum
            np.testing.assert_allclose(getattr(state, name), getattr(module, name).numpy(), rtol=1e-7, atol=1e-9,
                                       equal_nan=True, err_msg=f"{name} of {spec} on {shape}")
        assert state.num_batches_tracked == int(module.num_batches_tracked)


# ---- what the property found, one test each --------------------------------------------------------


def _refusal(kind, shape, **layer):
    layer.setdefault("affine", True)
    layer.setdefault("eps", 1e-5)
    x = torch.randn(shape, dtype=torch.float64)
    y, refusal, _ = torch_says(kind, shape, layer, x)
    assert refusal, f"torch.nn computes {kind} on {shape} with {layer}"
    with pytest.raises(lc.InputError) as ours:
        lc.manual_forward(spec_of(kind, layer), x.numpy())
    assert refusal in str(ours.value)
    return refusal


def test_batchnorm_eval_without_running_stats_refuses_one_value_per_channel():
    """In eval without running statistics nn.BatchNorm still normalizes with the batch: (1, 3) has one value
    per channel, and torch refuses it as in training (lnorm computed it)."""
    words = _refusal("batch", (1, 3), training=False, track_running_stats=False, momentum=0.1)
    assert "Expected more than 1 value per channel when training" in words


def test_batchnorm_eps_0_in_training_is_refused_with_torchs_words():
    """The sidebar offers eps=0; F.batch_norm refuses it in training (a batch's variance may be 0)."""
    for training, track in ((True, True), (True, False), (False, False)):
        words = _refusal("batch", (4, 3), eps=0.0, training=training, track_running_stats=track, momentum=0.1)
        assert words == "batch_norm eps must be positive during training, but got 0.0"


def test_batchnorm_eps_0_in_eval_with_running_stats_computes():
    """Eval with running statistics divides by sqrt(running_var + 0) = 1: torch computes, so does lnorm."""
    layer = dict(eps=0.0, affine=False, training=False, track_running_stats=True, momentum=0.1)
    x = torch.randn(4, 3, dtype=torch.float64)
    y, refusal, _ = torch_says("batch", (4, 3), layer, x)
    assert refusal is None
    np.testing.assert_allclose(lc.manual_forward(spec_of("batch", layer), x.numpy()), y.numpy())


@pytest.mark.parametrize("kind", ["batch", "instance"])
@pytest.mark.parametrize("training,track", [(True, False), (False, True), (False, False)])
def test_one_dim_input_to_batch_and_instance_norm_gets_torchs_words(kind, training, track):
    """nn.BatchNorm1d and nn.InstanceNorm1d say "expected 2D or 3D input (got 1D input)"; lnorm said
    "Expected at least 2 dimensions ..." (torch's group_norm words, which GroupNorm keeps)."""
    words = _refusal(kind, (5,), training=training, track_running_stats=track, momentum=0.1)
    assert words == "expected 2D or 3D input (got 1D input)"


def test_instancenorm_eval_with_running_stats_takes_one_spatial_element():
    """Eval with running statistics uses no statistic of the input, so (2, 3, 1) is fine for torch and lnorm."""
    layer = dict(eps=1e-5, affine=False, training=False, track_running_stats=True, momentum=0.1)
    x = torch.randn(2, 3, 1, dtype=torch.float64)
    y, refusal, _ = torch_says("instance", (2, 3, 1), layer, x)
    assert refusal is None
    np.testing.assert_allclose(lc.manual_forward(spec_of("instance", layer), x.numpy()), y.numpy())
    assert math.isclose(float(y[0, 0, 0]), float(x[0, 0, 0]) / math.sqrt(1 + 1e-5))


# ---- one name for a layer: torch's own -----------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(layers(), st.booleans())
def test_a_layers_name_is_torchs_repr_and_its_short_name_builds_the_same_module(case, training):
    kind, shape, layer = case
    spec = spec_of(kind, layer)
    try:
        module = torch_module(kind, layer, shape)
    except (RuntimeError, ValueError):
        return  # torch refuses to build it
    if not isinstance(module, torch.nn.Module) or spec.nn_class(len(shape)) is None:
        return  # a functional call: no module prints a name
    assert spec.torch_name(shape) == repr(module)
    names = {"torch": torch, "nan": math.nan, "inf": math.inf}  # torch prints eps=nan, eps=inf as they are
    rebuilt = eval("torch.nn." + spec.torch_name(shape, short=True), names)  # noqa: S307 - the test's own text
    assert repr(rebuilt) == repr(module)
