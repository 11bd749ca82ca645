"""The Compare page's model: torch in a dtype and on a device against the float64 core, and the variance sweep."""

from dataclasses import dataclass

import numpy as np

from lnorm_core import (
    ALGORITHMS,
    InputError,
    compare,
    error_sweep,
    manual_backward,
    seeded_tensor,
    torch_backward,
    torch_forward,
)

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache
from .explorer import explore


@dataclass(frozen=True)
class Comparisons:
    """torch (dtype, device) against the float64 core: forward and each gradient.

    y_torch, y_core: the outputs. forward: a compare.Comparison. grads: {"input",
    "weight", "bias"} -> Comparison (absent where the spec has no such parameter).
    """

    dtype: str
    device: str
    y_torch: np.ndarray
    y_core: np.ndarray
    forward: object
    grads: dict

    @property
    def parts(self):
        """[(name, Comparison)]: the output, then the gradients of input, weight and bias that exist."""
        return [("output", self.forward)] + [(f"grad {k}", self.grads[k]) for k in GRAD_NAMES if k in self.grads]

    @property
    def passed(self):
        """Whether the output and every gradient are within the dtype's tolerance."""
        return all(c.passed for _, c in self.parts)


GRAD_NAMES = ("input", "weight", "bias")
_compare_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["compare"] << 20)


def compare_with_torch(config, dtype="float32", device="cpu"):
    """torch in dtype on device against the float64 core, forward and backward (cached).

    The upstream gradient is seeded: torch.manual_seed(seed + 3); torch.randn(*x.shape).
    """
    key = ("compare", dtype, device) + config.key()
    return _compare_cache.get_or_compute(key, lambda: _compare(config, dtype, device), config.elements())


def _compare(config, dtype, device):
    e = explore(config)
    grad_out = seeded_tensor(e.x.shape, config.seed + 3)
    y_torch = torch_forward(e.spec, e.x, e.weight, e.bias, dtype=dtype, device=device)
    g_torch = torch_backward(e.spec, e.x, grad_out, e.weight, e.bias, dtype=dtype, device=device)
    g_core = manual_backward(e.spec, e.x, grad_out, e.weight, e.bias, f=e.f)  # explore's forward, not a second
    grads = {k: compare(g_torch[k], g_core[k], dtype) for k in g_core if g_core[k] is not None}
    return Comparisons(dtype, device, y_torch, e.f.y, compare(y_torch, e.f.y, dtype), grads)


_sweep_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["sweep"] << 20)


class Sweep(dict):
    """error_sweep's {"offsets": ..., algorithm: ...}, as a dict that can be weakly referenced: its figure is
    built once for it and shared (lnorm_app.cache.derived), where a plain dict's would be built on every rerun."""


def variance_sweep(max_offset=1e6, dtype="float32", n=512, seed=0, points=25):
    """error_sweep over offsets 0 and 10**k up to max_offset (cached): a Sweep."""
    if not (1.0 <= float(max_offset) <= 1e12):
        raise InputError(f"the largest offset must be between 1 and 1e12, got {max_offset!r}")
    offsets = np.concatenate([[0.0], np.logspace(0, np.log10(float(max_offset)), points - 1)])
    key = ("sweep", float(max_offset), dtype, n, seed, points)
    return _sweep_cache.get_or_compute(key, lambda: _quiet_sweep(offsets, n, dtype, seed), n)


def _quiet_sweep(offsets, n, dtype, seed):
    """error_sweep without numpy's warnings: an overflow to inf, and its NaN, are results to plot."""
    with np.errstate(invalid="ignore", over="ignore"):
        return Sweep(error_sweep(offsets, n, dtype, seed, ALGORITHMS))


def breakdown_offset(sweep, algorithm="one_pass", threshold=1e-2):
    """The smallest offset of a sweep where algorithm's relative error exceeds threshold or is
    not a number (an overflow, or 0/0), or None where it never does."""
    err = np.asarray(sweep[algorithm], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~(err <= threshold)  # NaN and inf count as broken
    return float(sweep["offsets"][np.argmax(bad)]) if bad.any() else None
