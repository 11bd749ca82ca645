"""Three ways to compute a variance, run in a chosen dtype, and how wrong each gets.

    two_pass  mean first, then the mean of squared deviations   (the core's way)
    one_pass  E[x^2] - E[x]^2                                    (cancels when |mean| >> std)
    welford   a running mean and sum of squares, one element at a time (as torch's kernels stream)

On data with a large mean (randn + 1e4 in float32) one_pass loses every digit,
the other two keep most of them. `error_sweep` measures that against float64.
"""

import numpy as np
import torch

from .dtypes import torch_dtype
from .errors import InputError

ALGORITHMS = ("two_pass", "one_pass", "welford")
MAX_SWEEP_ELEMENTS = 2**16  # welford steps one element at a time: bound the row length times rows


def variance(x, algorithm="two_pass", dtype="float32"):
    """The biased variance of each row of x (over the last dim), computed in dtype.

    Returns float64 numpy of x.shape[:-1]. The arithmetic, accumulators included,
    happens in dtype, so the error is the algorithm's in that format.
    """
    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown variance algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    t = torch.as_tensor(np.asarray(x, dtype=np.float64)).to(torch_dtype(dtype))
    n = t.shape[-1]
    if algorithm == "two_pass":
        mean = t.sum(-1, keepdim=True) / n  # (..., n) -> (..., 1)
        var = ((t - mean) ** 2).sum(-1) / n  # (..., n) -> (...)
    elif algorithm == "one_pass":
        var = (t * t).sum(-1) / n - (t.sum(-1) / n) ** 2  # E[x^2] - E[x]^2
    else:
        mean = torch.zeros(t.shape[:-1], dtype=t.dtype)
        m2 = torch.zeros(t.shape[:-1], dtype=t.dtype)  # running sum of squared deviations
        for k in range(n):
            xk = t[..., k]
            delta = xk - mean
            mean = mean + delta / (k + 1)
            m2 = m2 + delta * (xk - mean)
        var = m2 / n
    return var.to(torch.float64).numpy()


def error_sweep(offsets, n=512, dtype="float32", seed=0, algorithms=ALGORITHMS):
    """Relative error of each algorithm's variance, one row of randn(n) + offset per offset.

    The reference is the float64 two-pass variance of the same values after they
    are rounded to dtype, so the error is the algorithm's, not the input's rounding.
    Returns {"offsets": array, algorithm: array of relative errors, ...}.
    """
    offsets = np.asarray(offsets, dtype=np.float64).ravel()
    if offsets.size * n > MAX_SWEEP_ELEMENTS or n < 2:
        raise InputError(f"a sweep takes 2 to {MAX_SWEEP_ELEMENTS} elements in all, got {offsets.size} x {n}")
    if not np.all(np.isfinite(offsets)):
        raise InputError("offsets must be finite numbers")
    gen = torch.Generator().manual_seed(seed)  # its own generator: never the global one
    noise = torch.randn(offsets.size, n, generator=gen, dtype=torch.float64).numpy()
    x = noise + offsets[:, None]  # (offsets, n): the same noise shifted by each offset
    x_in_dtype = torch.as_tensor(x).to(torch_dtype(dtype)).to(torch.float64).numpy()
    ref = x_in_dtype.var(axis=-1)  # float64 two-pass, biased
    out = {"offsets": offsets}
    for alg in algorithms:
        est = variance(x_in_dtype, alg, dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[alg] = np.abs(est - ref) / ref
    return out
