"""The implementations a run times, each a function of one input tensor x (no affine parameters).

native: torch.nn.functional; manual and manual_var_mean: the same math in torch ops as a person
writes it; numpy: lnorm's float64 core; compiled: torch.compile of manual.
"""

import types

import torch
import torch.nn.functional as F

from ..errors import InputError
from ..manual import manual_forward
from ..spec import KIND_TABLE, KINDS, NormSpec
from .sizes import NUM_GROUPS

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

EPS = 1e-5  # torch.nn's default eps, passed explicitly to every kind (rms_norm's None would differ)


def _reduce_dims(kind, ndim):
    """The dims a kind pools for its statistics (group pools after its reshape, like layer)."""
    if kind == "batch":
        return (0,) + tuple(range(2, ndim))  # (N, C, H, W) -> (1, C, 1, 1): one mean per channel
    if kind == "instance":
        return tuple(range(2, ndim))  # (N, C, H, W) -> (N, C, 1, 1): one per (sample, channel)
    return (-1,)  # layer, rms: (R, D) -> (R, 1); group: (N, G, C/G*H*W) -> (N, G, 1)


def _check_kind(kind):
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")


def native_fn(kind, num_groups=NUM_GROUPS):
    """The torch.nn.functional call for `kind`, without affine parameters (group: num_groups groups)."""
    _check_kind(kind)
    if kind == "layer":
        return lambda x: F.layer_norm(x, x.shape[-1:], eps=EPS)
    if kind == "rms":
        return lambda x: F.rms_norm(x, x.shape[-1:], eps=EPS)
    if kind == "batch":
        return lambda x: F.batch_norm(x, None, None, training=True, eps=EPS)
    if kind == "instance":
        return lambda x: F.instance_norm(x, eps=EPS)
    return lambda x: F.group_norm(x, num_groups, eps=EPS)


def manual_fn(kind):
    """The normalization in torch ops, as a person writes it in its fast form (no affine).

    Two passes: the mean, then the mean of squared deviations (the biased variance,
    divided by n, as every torch norm uses), then one rsqrt; the scaling happens in
    place on the centered copy, so the only full-size allocations are (x - mean)
    and its square.
    """
    _check_kind(kind)

    def manual_norm(x):
        shape = x.shape
        if kind == "group":
            x = x.reshape(shape[0], NUM_GROUPS, -1)  # (N, C, H, W) -> (N, G, C/G*H*W): a row per group
        dims = _reduce_dims(kind, x.dim())
        if kind == "rms":
            ms = (x * x).mean(dim=dims, keepdim=True)  # (R, D) -> (R, 1): mean square, no centering
            return x * ms.add_(EPS).rsqrt_()
        mean = x.mean(dim=dims, keepdim=True)  # first pass
        xc = x - mean  # the centered copy, scaled in place below
        var = (xc * xc).mean(dim=dims, keepdim=True)  # second pass: biased variance (divide by n)
        return xc.mul_(var.add_(EPS).rsqrt_()).view(shape)

    return manual_norm


def manual_var_mean_fn(kind):
    """The manual normalization with torch.var_mean(unbiased=False) for the statistics.

    One call for both statistics, and the slow path on CPU (several times the
    manual two-pass form there). RMSNorm has no mean to subtract: its mean square
    comes out as var + mean**2.
    """
    _check_kind(kind)

    def manual_var_mean_norm(x):
        shape = x.shape
        if kind == "group":
            x = x.reshape(shape[0], NUM_GROUPS, -1)  # (N, C, H, W) -> (N, G, C/G*H*W)
        dims = _reduce_dims(kind, x.dim())
        var, mean = torch.var_mean(x, dim=dims, unbiased=False, keepdim=True)  # biased variance
        if kind == "rms":
            return x * (var + mean * mean).add_(EPS).rsqrt_()  # E[x^2] = Var[x] + E[x]^2
        return (x - mean).mul_(var.add_(EPS).rsqrt_()).view(shape)

    return manual_var_mean_norm


def numpy_fn(kind, shape):
    """The float64 numpy core (lnorm_core.manual.manual_forward) for `kind` at `shape`: a function of a CPU tensor."""
    _check_kind(kind)
    if KIND_TABLE[kind].trailing:  # rows of features; the others take (N, C, H, W)
        spec = NormSpec(kind=kind, normalized_shape=(shape[-1],), eps=EPS, elementwise_affine=False)
    else:
        spec = NormSpec(kind=kind, eps=EPS, affine=False, num_groups=NUM_GROUPS if kind == "group" else None)
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


def impl_fn(kind, impl, shape, num_groups=NUM_GROUPS):
    """The function of x to time for `impl` (compiled: compiles lazily, on its first call).

    num_groups: GroupNorm's groups for native; the other implementations use NUM_GROUPS.
    """
    if impl == "native":
        return native_fn(kind, num_groups)
    if impl == "manual":
        return manual_fn(kind)
    if impl == "manual_var_mean":
        return manual_var_mean_fn(kind)
    if impl == "numpy":
        return numpy_fn(kind, shape)
    if impl == "compiled":
        return torch.compile(_fresh(manual_fn(kind)), dynamic=False)
    raise InputError(f"unknown impl {impl!r}")
