"""Every layer valid on a shape: lc.valid_layers is exactly what torch.nn runs, of each kind's choices."""

import pytest
import torch

import lnorm_core as lc
from torch_modules import module_for

SHAPES = [(3,), (1, 3), (2, 3), (2, 4, 3), (1, 4, 1), (2, 3, 1), (1, 2, 1, 1), (2, 6, 2, 2)]


def _runs(spec, shape):
    """Whether torch.nn's module for spec runs on a randn input of shape (in training)."""
    try:
        module_for(spec, shape)(torch.randn(*shape, dtype=torch.float64))
    except (RuntimeError, ValueError, IndexError):
        return False
    return True


@pytest.mark.parametrize("shape", SHAPES)
def test_valid_layers_are_those_torch_runs(shape):
    c = shape[1] if len(shape) > 1 else 1
    tried = [lc.NormSpec(kind, normalized_shape=shape[-k:]) for kind in ("layer", "rms")
             for k in range(1, len(shape) + 1)]
    tried += [lc.NormSpec("batch")] if len(shape) in (2, 3, 4, 5) else []
    # nn.InstanceNorm1d reads a 2-D input as one unbatched (C, L); lnorm reads (N, C) as F.instance_norm does
    tried += [lc.NormSpec("instance")] if len(shape) in (3, 4, 5) else []
    tried += [lc.NormSpec("group", num_groups=g) for g in range(1, c + 2)]
    expected = {s for s in tried if len(shape) > 1 or s.info.trailing if _runs(s, shape)}
    assert set(lc.valid_layers(shape)) == expected
    assert lc.suffixes(shape) == [tuple(shape[-k:]) for k in range(1, len(shape) + 1)]
    assert lc.divisors(c) == [g for g in range(1, c + 1) if _runs(lc.NormSpec("group", num_groups=g), (2, c))]


def test_valid_layers_take_an_eps_and_drop_what_torch_refuses_with_it():
    layers = lc.valid_layers((4, 3), eps=0.0)
    assert all(s.eps == 0.0 for s in layers)
    assert "batch" not in {s.kind for s in layers}  # F.batch_norm needs eps > 0 in training
    assert [s.kind for s in lc.valid_layers((4, 3), kinds=("group",))] == ["group", "group"]
