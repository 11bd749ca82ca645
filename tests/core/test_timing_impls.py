"""lnorm_core.timing.impls: every implementation the harness times computes what torch.nn.functional
computes, on the sweep's shapes and on any shape a model has; expected values from torch directly.
"""

import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lnorm_core import timing

TINY = 2**8  # the smallest size timing accepts
FAST = 0.002  # seconds per measurement: enough for a positive median, not for a figure
EPS = 1e-5


def reference(kind, x, num_groups=8):
    """The expected output, from torch.nn.functional directly (not from timing)."""
    if kind == "layer":
        return F.layer_norm(x, x.shape[-1:], eps=EPS)
    if kind == "rms":
        return F.rms_norm(x, x.shape[-1:], eps=EPS)
    if kind == "batch":
        return F.batch_norm(x, None, None, training=True, eps=EPS)
    if kind == "instance":
        return F.instance_norm(x, eps=EPS)
    return F.group_norm(x, num_groups, eps=EPS)


def seeded(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 3 + 1.5  # off-center, so centering matters


def manual_impls(spec, shape):
    return timing.manual_fn(spec, shape), timing.manual_var_mean_fn(spec, shape)


@pytest.mark.parametrize("kind", timing.KINDS)
@pytest.mark.parametrize("numel", [TINY, 2**12, 2**13])
def test_manual_matches_torch_functional(kind, numel):
    shape = timing.shape_for(kind, numel)
    x = seeded(shape)
    expected = reference(kind, x)
    for fn in manual_impls(timing.spec_for(kind, shape), shape):
        y = fn(x)
        assert y.shape == x.shape
        torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5)


@st.composite
def model_tensors(draw):
    """(kind, shape, num_groups): any shape torch takes for the kind, 2 to 5 dims, channels in dim 1."""
    kind = draw(st.sampled_from(timing.KINDS))
    ndim = draw(st.integers(2 if kind in ("layer", "rms", "batch", "group") else 3, 5))
    shape = [draw(st.integers(1, 5)) for _ in range(ndim)]
    num_groups = 8
    if kind == "group":
        num_groups = draw(st.integers(1, 4))
        shape[1] = num_groups * draw(st.integers(1, 3))
    if kind in ("batch", "group"):
        shape[0] = max(shape[0], 2)  # more than one value per channel, as torch needs in training
    if kind == "instance":
        shape[-1] = max(shape[-1], 2)  # more than one spatial element
    return kind, tuple(shape), num_groups


@settings(max_examples=150, deadline=None)
@given(model_tensors(), st.integers(0, 2**16))
def test_manual_pools_as_torch_does_on_any_models_shape(tensor, seed):
    # the manual forms reshape and reduce as the spec's layout says: group's (N, G, C/G, *S) included
    kind, shape, num_groups = tensor
    x = seeded(shape, seed)
    expected = reference(kind, x, num_groups)
    spec = timing.spec_for(kind, shape, num_groups)
    for fn in manual_impls(spec, shape) + (timing.native_fn(spec),):
        torch.testing.assert_close(fn(x), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", timing.KINDS)
def test_numpy_impl_matches_torch_functional(kind):
    shape = timing.shape_for(kind, 2**12)
    x = seeded(shape, seed=1)
    y = timing.numpy_fn(timing.spec_for(kind, shape))(x)
    torch.testing.assert_close(torch.from_numpy(y).float(), reference(kind, x), atol=1e-5, rtol=1e-5)


def test_native_fn_is_torch_functional():
    for kind in timing.KINDS:
        shape = timing.shape_for(kind, 2**10)
        x = seeded(shape, seed=2)
        torch.testing.assert_close(timing.native_fn(timing.spec_for(kind, shape))(x), reference(kind, x),
                                   atol=0, rtol=0)


def test_native_group_norm_uses_the_specs_own_groups():
    x = seeded((2, 32, 2, 3), seed=3)
    spec = timing.spec_for("group", x.shape, 4)
    torch.testing.assert_close(timing.native_fn(spec)(x), F.group_norm(x, 4, eps=EPS), atol=0, rtol=0)


@pytest.mark.skipif(os.environ.get("LNORM_SLOW_TESTS") != "1",
                    reason="slow: torch.compile takes 5-30 s here; set LNORM_SLOW_TESTS=1 to run it")
def test_compiled_runs_and_reports_compile_time_apart():
    report = timing.run_timing(kinds="layer", impls="compiled", devices="cpu", sizes=(TINY,), min_run_time=FAST)
    rows = [r for r in report["results"] if r["impl"] == "compiled"]
    if not rows:  # no compiler here: it must be said why
        assert report["skipped"] and report["skipped"][0]["impl"] == "compiled"
        return
    (row,) = rows
    assert row["compile_s"] > 0 and row["median_s"] > 0
    shape = timing.shape_for("layer", TINY)
    x = seeded(shape)
    compiled = torch.compile(timing.manual_fn(timing.spec_for("layer", shape), shape), dynamic=False)
    torch.testing.assert_close(compiled(x), reference("layer", x), atol=1e-5, rtol=1e-5)
