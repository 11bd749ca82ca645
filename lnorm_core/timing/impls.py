"""The implementations a run times, each a function of one input tensor x (no affine parameters).

Each is built once per (spec, shape), before any timed call, so a timed call does no Python work
beyond the implementation's own (sizes.spec_for makes the spec):
    native           torch.nn.functional, called as lnorm_core.reference calls it
    manual           the same math in torch ops as a person writes it, pooling as the spec's
                     layout says: x reshaped to layout.view, statistics over layout.reduce_dims
    manual_var_mean  manual with torch.var_mean for the statistics
    numpy            lnorm's float64 core, lnorm_core.manual.manual_forward
    compiled         torch.compile of manual
"""

import types

import torch

from ..errors import InputError
from ..manual import manual_forward
from ..reference import functional

IMPLS = ("native", "manual", "manual_var_mean", "numpy", "compiled")
IMPL_DESCRIPTIONS = {
    "native": "torch.nn.functional: layer_norm, rms_norm, batch_norm(training=True), instance_norm, group_norm",
    "manual": "the same math in torch ops as a person writes it: mean, mean of (x - mean)**2, rsqrt, in place",
    "manual_var_mean": "torch.var_mean(unbiased=False) for the statistics: the slow path on CPU",
    "numpy": "lnorm_core.manual.manual_forward, the float64 numpy core (CPU only; float32 input converted)",
    "compiled": "torch.compile of the manual implementation; compile time reported apart as compile_s",
    "copy": "y.copy_(x): the memory-bandwidth ceiling, read x once and write y once",
    "h2d": "host-to-device copy of x from pinned memory (pageable where pinning fails): measured apart",
}
# The default set: compiled takes seconds to compile per shape, manual_var_mean is a known slow path.
DEFAULT_IMPLS = ("native", "manual", "numpy")


def native_fn(spec):
    """torch.nn.functional's call for the spec, e.g. F.group_norm(x, spec.num_groups, eps=spec.eps)."""
    return lambda x: functional(spec, x)


def manual_fn(spec, shape):
    """The normalization in torch ops on input of `shape`, as a person writes it in its fast form.

    Two passes: the mean, then the mean of squared deviations (the biased variance, divided by n,
    as every torch norm uses), then one rsqrt; the scaling happens in place on the centered copy,
    so the only full-size allocations are (x - mean) and its square. A kind that does not center
    (RMSNorm) takes the mean square instead, and scales x by its rsqrt.
    """
    lay = spec.layout(shape)
    view, dims, eps = lay.view, lay.reduce_dims, spec.eps

    if not spec.centers:
        def manual_rms(x):
            x = x.reshape(view)
            ms = (x * x).mean(dim=dims, keepdim=True)  # (R, D) -> (R, 1): mean square, no centering
            return (x * ms.add_(eps).rsqrt_()).view(shape)

        return manual_rms

    def manual_norm(x):
        x = x.reshape(view)  # group: (N, C, H, W) -> (N, G, C/G, H, W); the others keep their shape
        mean = x.mean(dim=dims, keepdim=True)  # first pass: one mean a group, e.g. (N, C, H, W) -> (1, C, 1, 1)
        xc = x - mean  # the centered copy, scaled in place below
        var = (xc * xc).mean(dim=dims, keepdim=True)  # second pass: biased variance (divide by n)
        return xc.mul_(var.add_(eps).rsqrt_()).view(shape)

    return manual_norm


def manual_var_mean_fn(spec, shape):
    """The manual normalization with torch.var_mean(unbiased=False) for the statistics.

    One call for both statistics, and the slow path on CPU (several times the manual two-pass
    form there). A kind that does not center has no mean to subtract: its mean square comes out
    as var + mean**2.
    """
    lay = spec.layout(shape)
    view, dims, eps, centers = lay.view, lay.reduce_dims, spec.eps, spec.centers

    def manual_var_mean_norm(x):
        x = x.reshape(view)
        var, mean = torch.var_mean(x, dim=dims, unbiased=False, keepdim=True)  # biased variance
        if not centers:
            return (x * (var + mean * mean).add_(eps).rsqrt_()).view(shape)  # E[x^2] = Var[x] + E[x]^2
        return (x - mean).mul_(var.add_(eps).rsqrt_()).view(shape)

    return manual_var_mean_norm


def numpy_fn(spec):
    """The float64 numpy core (lnorm_core.manual.manual_forward) for the spec: a function of a CPU tensor."""
    return lambda x: manual_forward(spec, x.numpy())  # float32 -> float64 inside the core, timed with it


def _fresh(fn):
    """A copy of `fn` with its own code object.

    torch.compile keeps its compiled graphs on the code object, so closures from
    one factory would share a cache and hit its recompile limit across shapes and
    dtypes (then silently run eager). A fresh code object gives each measurement
    its own static-shape graph without torch.compiler.reset(), which would throw
    away every other user's compiled code in this process.
    """
    return types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)


def impl_fn(spec, impl, shape):
    """The function of x to time for `impl` on input of `shape` (compiled: compiles lazily, on its first call)."""
    if impl == "native":
        return native_fn(spec)
    if impl == "manual":
        return manual_fn(spec, shape)
    if impl == "manual_var_mean":
        return manual_var_mean_fn(spec, shape)
    if impl == "numpy":
        return numpy_fn(spec)
    if impl == "compiled":
        return torch.compile(_fresh(manual_fn(spec, shape)), dynamic=False)
    raise InputError(f"unknown impl {impl!r}")
