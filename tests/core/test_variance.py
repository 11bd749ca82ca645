"""The variance algorithms against numpy's float64 variance of the same rounded data."""

import numpy as np
import torch

import lnorm_core as lc


def test_variance_algorithms_on_shifted_data():
    sweep = lc.error_sweep([0.0, 1e4], n=512, dtype="float32", seed=0)
    # an independent reference: numpy's float64 variance of the float32-rounded data
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 512, generator=gen, dtype=torch.float64) + torch.tensor([[0.0], [1e4]], dtype=torch.float64))
    x32 = x.float().double().numpy()
    ref = x32.var(axis=1)
    for alg in lc.ALGORITHMS:
        direct = lc.variance(x32, alg, "float32")
        np.testing.assert_allclose(np.abs(direct - ref) / ref, sweep[alg], rtol=1e-6)
    assert sweep["one_pass"][1] > 0.1  # catastrophic cancellation
    assert sweep["two_pass"][1] < 1e-4 and sweep["welford"][1] < 1e-2
    assert all(sweep[a][0] < 1e-5 for a in lc.ALGORITHMS)
