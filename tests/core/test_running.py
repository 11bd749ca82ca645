"""Running statistics step by step against torch.nn's modules, in training and then in eval."""

import numpy as np
import pytest
import torch

import lnorm_core as lc
from norm_cases import x_of
from torch_modules import params_of


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
        xb = x_of(shape, seed=10 + step, offset=step)
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
    xe = x_of(shape, seed=99)
    y_eval, same = lc.running_stats_step(spec.with_(training=False), xe, state, weight, bias)
    np.testing.assert_allclose(y_eval, module(torch.tensor(xe)).detach().numpy(), atol=1e-9)
    assert same is state
    y_train = lc.manual_forward(spec, xe, weight, bias)
    assert not np.allclose(y_eval, y_train)  # eval uses the running stats, not this batch's
