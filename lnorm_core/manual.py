"""The hand computation of every normalization, forward and backward, in numpy.

One recipe serves all five kinds, because each of them is the same three steps
on a different grouping of the elements (see spec.layout):

    pool  x into rows, one reduction group a row     (*x.shape) -> (G, n)
    stats per row: mean, then the mean of squared deviations (two passes)
    scale (x - mean) / sqrt(var + eps), back to x's layout, then weight and bias

The forward hands the backward what it needs (x_hat and 1/std) instead of
recomputing it, as in karpathy's llm.c layernorm.py. Everything is float64 unless
a dtype is asked for: this is the truth to compare torch against, not the fast path.
"""

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .spec import Layout, layout

Mistake = namedtuple("Mistake", "description wrong fix")

# The usual errors of hand computation: what goes wrong, the line that does it, the line that fixes it.
MISTAKES = {
    "unbiased": Mistake(
        "divides the variance by n-1 (torch.var's default, statistics.stdev) where normalization divides by n",
        "var = ((x - mean) ** 2).sum() / (n - 1)",
        "var = ((x - mean) ** 2).mean()  # biased: divide by n, as torch's norms do",
    ),
    "std_under_sqrt": Mistake(
        "puts the standard deviation under the square root: sqrt(std + eps)",
        "y = (x - mean) / np.sqrt(std + eps)",
        "y = (x - mean) / np.sqrt(var + eps)  # the variance goes under the root",
    ),
    "eps_outside_sqrt": Mistake(
        "adds eps to the standard deviation instead of to the variance: std + eps",
        "y = (x - mean) / (np.sqrt(var) + eps)",
        "y = (x - mean) / np.sqrt(var + eps)  # eps inside the root",
    ),
    "no_eps": Mistake(
        "leaves eps out: fine for most data, a division by zero for a constant group",
        "y = (x - mean) / np.sqrt(var)",
        "y = (x - mean) / np.sqrt(var + eps)  # eps=1e-5 by default",
    ),
    "whole_sample": Mistake(
        "pools every dim but the batch dim instead of the normalized dims",
        "mean = x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)",
        "mean = x.mean(axis=(-1,), keepdims=True)  # only the dims of normalized_shape",
    ),
    "one_pass": Mistake(
        "computes the variance in one pass, E[x^2] - E[x]^2, which cancels catastrophically when the mean is large",
        "var = (x ** 2).mean() - x.mean() ** 2",
        "var = ((x - mean) ** 2).mean()  # two passes: subtract the mean first",
    ),
}


@dataclass(frozen=True)
class Forward:
    """What a forward computed, per reduction group, and what the backward needs.

    y: the output (x's shape). x_hat: the normalized input before weight and bias.
    mean, var, rstd: one value per group, shape (G,) (mean is 0 for RMSNorm, var is
    then the mean square; with running statistics they are the running ones).
    ids: the group of each element (x's shape), so stat[ids] draws a statistic per element.
    layout: the spec's Layout of x (how it pools, where its parameters run): the backward
    takes it from here, with x_hat and rstd, instead of computing them again.
    uses_running_stats: whether the statistics were the running ones (eval mode).
    centers: whether the mean was subtracted (every kind but RMSNorm).
    """

    y: np.ndarray
    x_hat: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    rstd: np.ndarray
    ids: np.ndarray
    layout: Layout = None
    uses_running_stats: bool = False
    centers: bool = True

    def per_element(self, stat):
        """A per-group statistic (G,) spread over x's shape, e.g. f.per_element(f.mean)."""
        return stat[self.ids]


def _as_array(x, name="x", dtype=np.float64):
    """x (array-like or torch tensor) as a numpy array of `dtype`."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array of numbers") from None


def _check_mistakes(mistakes):
    """The mistakes as a frozenset of known names."""
    if isinstance(mistakes, str):
        mistakes = (mistakes,)
    unknown = [m for m in mistakes if m not in MISTAKES]
    if unknown:
        raise InputError(f"unknown mistake {unknown[0]!r}; choose among {', '.join(MISTAKES)}")
    return frozenset(mistakes)


def _layout(spec, shape, mistakes):
    """The Layout of spec, or, for the whole_sample mistake, one that pools every dim but the batch dim."""
    lay = layout(spec, shape)
    if "whole_sample" in mistakes:  # the mistake is in the hand computation, the parameters are still torch's
        total = int(np.prod(lay.shape))
        n_batch = lay.shape[0] if len(lay.shape) > 1 else 1  # (N, *rest) -> (N, prod(rest)); a 1-D x is one sample
        return Layout(lay.shape, tuple(range(len(lay.shape))), n_batch, total // n_batch, lay.param_shape,
                      lay.param_axes, lay.param_broadcast)
    return lay


def _params(spec, lay, weight, bias, dtype):
    """weight and bias as arrays that broadcast against x (None where the spec has none)."""
    pshape, bshape = lay.param_shape, lay.param_broadcast
    out = []
    for name, value, present, init in (
        ("weight", weight, spec.has_weight, 1.0),
        ("bias", bias, spec.has_bias, 0.0),
    ):
        if not present:
            if value is not None:
                raise InputError(f"{spec.class_name} with these settings has no {name}; pass {name}=None")
            out.append(None)
            continue
        arr = np.full(pshape, init, dtype=dtype) if value is None else _as_array(value, name, dtype)
        if arr.shape != tuple(pshape):
            raise InputError(f"{name} has shape {tuple(arr.shape)}, expected {tuple(pshape)}")
        out.append(arr.reshape(bshape))
    return out


def _running(lay, running_mean, running_var, dtype):
    """running_mean and running_var as (1, C, 1, ...) arrays; torch's initial zeros and ones if None."""
    c = lay.shape[1]
    rm = np.zeros(c, dtype) if running_mean is None else _as_array(running_mean, "running_mean", dtype)
    rv = np.ones(c, dtype) if running_var is None else _as_array(running_var, "running_var", dtype)
    for name, arr in (("running_mean", rm), ("running_var", rv)):
        if arr.shape != (c,):
            raise InputError(f"{name} has shape {tuple(arr.shape)}, expected ({c},)")
    return rm.reshape(lay.param_broadcast), rv.reshape(lay.param_broadcast)


def _rstd(var, eps, mistakes):
    """1 / the denominator, with the eps-and-root mistakes applied where asked for."""
    base = np.sqrt(var) if "std_under_sqrt" in mistakes else var  # the wrong one puts std under the root
    e = 0.0 if "no_eps" in mistakes else eps
    with np.errstate(divide="ignore", invalid="ignore"):
        if "eps_outside_sqrt" in mistakes:
            return 1.0 / (np.sqrt(base) + e)
        return 1.0 / np.sqrt(base + e)  # the right one: 1 / sqrt(var + eps)


def forward(spec, x, weight=None, bias=None, mistakes=(), running_mean=None, running_var=None, dtype=np.float64):
    """The forward pass with its intermediate results: see `Forward`.

    Arguments as for `manual_forward`.
    """
    mistakes = _check_mistakes(mistakes)
    dtype = np.dtype(dtype).type
    x = _as_array(x, "x", dtype)
    eps = dtype(spec.eps_for(dtype))
    lay = _layout(spec, x.shape, mistakes)
    shape, groups, size = lay.shape, lay.num_groups, lay.group_size
    w, b = _params(spec, lay, weight, bias, dtype)
    ids = lay.ids()

    if spec.uses_running_stats:
        # eval with tracked statistics: normalize by the running mean and running (unbiased) variance
        rm, rv = _running(lay, running_mean, running_var, dtype)
        rstd_b = _rstd(rv, eps, mistakes)  # (1, C, 1, ...)
        x_hat = (x - rm) * rstd_b
        first = lay.pool(np.broadcast_to(np.arange(shape[1]).reshape(rm.shape), shape))[:, 0]  # (G,) its channel
        mean, var, rstd = rm.ravel()[first], rv.ravel()[first], rstd_b.ravel()[first]  # (G,) per group
    else:
        rows = lay.pool(x)  # (*x.shape) -> (G, n)
        ddof = 1 if "unbiased" in mistakes else 0  # torch's norms use the biased variance: divide by n
        if spec.centers:
            mean = rows.mean(axis=1)  # (G, n) -> (G,)
            with np.errstate(divide="ignore", invalid="ignore"):
                if "one_pass" in mistakes:
                    var = ((rows**2).sum(axis=1) - size * mean**2) / (size - ddof)  # E[x^2] - E[x]^2
                else:
                    var = ((rows - mean[:, None]) ** 2).sum(axis=1) / (size - ddof)  # second pass
        else:
            mean = np.zeros(groups, dtype)  # RMSNorm does not center
            with np.errstate(divide="ignore", invalid="ignore"):
                var = (rows**2).sum(axis=1) / (size - ddof)  # (G, n) -> (G,) the mean square
        rstd = _rstd(var, eps, mistakes)  # (G,)
        x_hat = lay.unpool((rows - mean[:, None]) * rstd[:, None])  # (G, n) -> (*x.shape)

    y = x_hat
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return Forward(y=np.ascontiguousarray(y), x_hat=x_hat, mean=mean, var=var, rstd=rstd, ids=ids, layout=lay,
                   uses_running_stats=spec.uses_running_stats, centers=spec.centers)


def manual_forward(spec, x, weight=None, bias=None, mistakes=(), running_mean=None, running_var=None, dtype=np.float64):
    """The normalization computed by hand: float64 numpy, two passes.

    spec: a NormSpec. x: the input (array-like or torch tensor).
    weight, bias: the affine parameters, of shape normalized_shape (layer, rms) or
        (C,) (batch, instance, group); None means torch's initial ones and zeros.
    mistakes: names from MISTAKES to make on purpose, alone or combined,
        e.g. ("unbiased", "std_under_sqrt").
    running_mean, running_var: the statistics used in eval mode with
        track_running_stats (default torch's initial zeros and ones).
    dtype: the numpy dtype of the arithmetic (float64 unless you want to watch
        float32 or float16 go wrong, e.g. with the one_pass mistake).

    Returns y with the shape of x.
    """
    return forward(spec, x, weight, bias, mistakes, running_mean, running_var, dtype).y


def backward(f, grad_out, weight=None):
    """Gradients of sum(grad_out * y) in closed form, from the forward's cache `f` (no autograd).

    f: the Forward of the same input (its x_hat, rstd and layout; nothing is recomputed).
    With x_hat = (x - mean) * rstd, y = x_hat * weight + bias, a group of n
    elements and g = grad_out * weight:

        d input  = rstd * (g - mean(g) - x_hat * mean(g * x_hat))   (means over the group)
        RMSNorm:   rstd * (g - x_hat * mean(g * x_hat))               (no mean was subtracted)
        eval with running statistics: rstd * g                         (the statistics are constants)
        d weight = sum of grad_out * x_hat over every dim but the weight's
        d bias   = sum of grad_out over every dim but the bias's

    Returns {"input", "weight", "bias"}; weight and bias are None here (manual_backward fills
    them where the spec has them).
    """
    lay = f.layout
    g_out = _as_array(grad_out, "grad_out")
    if g_out.shape != lay.shape:
        raise InputError(f"grad_out has shape {tuple(g_out.shape)}, expected {tuple(lay.shape)}")
    w = None if weight is None else _as_array(weight, "weight").reshape(lay.param_broadcast)
    g = g_out * w if w is not None else g_out  # d loss / d x_hat

    if f.uses_running_stats:
        d_input = g * f.per_element(f.rstd)  # the running statistics do not depend on x
    else:
        g_rows = lay.pool(g)  # (*x.shape) -> (G, n)
        xh_rows = lay.pool(f.x_hat)  # (*x.shape) -> (G, n)
        proj = (g_rows * xh_rows).mean(axis=1, keepdims=True)  # (G, n) -> (G, 1)
        d_rows = g_rows - xh_rows * proj
        if f.centers:
            d_rows = d_rows - g_rows.mean(axis=1, keepdims=True)  # (G, n) -> (G, 1)
        d_input = lay.unpool(d_rows * f.rstd[:, None])  # (G, n) -> (*x.shape)

    other = tuple(a for a in range(len(lay.shape)) if a not in lay.param_axes)  # sum over all but the parameter dims
    return {"input": np.ascontiguousarray(d_input), "weight": (g_out * f.x_hat).sum(axis=other),
            "bias": g_out.sum(axis=other)}


def manual_backward(spec, x, grad_out, weight=None, bias=None, running_mean=None, running_var=None):
    """Gradients of sum(grad_out * y) in closed form: the forward, then `backward` on its cache.

    Returns {"input", "weight", "bias"}; None where the spec has no such parameter.
    """
    f = forward(spec, x, weight, bias, running_mean=running_mean, running_var=running_var)
    w, _ = _params(spec, f.layout, weight, bias, np.float64)
    grads = backward(f, grad_out, None if w is None else w.reshape(f.layout.param_shape))
    return {"input": grads["input"], "weight": grads["weight"] if spec.has_weight else None,
            "bias": grads["bias"] if spec.has_bias else None}


@dataclass(frozen=True)
class RunningStats:
    """BatchNorm's (and tracking InstanceNorm's) buffers, as torch.nn keeps them."""

    running_mean: np.ndarray
    running_var: np.ndarray
    num_batches_tracked: int = 0

    @classmethod
    def initial(cls, num_features):
        """torch's initial buffers: zeros, ones and a count of 0."""
        return cls(np.zeros(num_features), np.ones(num_features), 0)


def running_stats_step(spec, x, state, weight=None, bias=None):
    """One forward of nn.BatchNorm (or a tracking nn.InstanceNorm): (y, new state).

    In training, y uses this batch's statistics and the buffers move towards them:
        factor = momentum, or 1 / num_batches_tracked when momentum is None (the cumulative average)
        running_mean = (1 - factor) * running_mean + factor * batch mean
        running_var  = (1 - factor) * running_var  + factor * UNBIASED batch variance (n / (n-1))
    InstanceNorm averages each instance's statistics over the batch first, and, as
    torch does, never counts batches: its momentum=None means a factor of 0 (the
    buffers stay where they are), not the cumulative average.
    In eval, y uses the running statistics and the state is returned unchanged.
    """
    if not spec.keeps_running_stats:
        raise InputError("running statistics belong to BatchNorm and InstanceNorm with track_running_stats=True")
    f = forward(spec, x, weight, bias, running_mean=state.running_mean, running_var=state.running_var)
    if not spec.training:
        return f.y, state
    shape = f.y.shape
    c = shape[1]
    size = f.layout.group_size
    unbiased = f.var * size / (size - 1)  # (G,) the running variance is unbiased, unlike the normalization
    # batch: one group per channel already; instance: groups are (n, c), averaged over n
    batch_mean = f.mean.reshape(-1, c).mean(axis=0)  # (G,) -> (C,)
    batch_var = unbiased.reshape(-1, c).mean(axis=0)  # (G,) -> (C,)
    if spec.kind == "batch":
        count = state.num_batches_tracked + 1
        factor = spec.momentum if spec.momentum is not None else 1.0 / count
    else:  # torch's InstanceNorm: no count, and momentum None passes 0.0
        count = state.num_batches_tracked
        factor = spec.momentum if spec.momentum is not None else 0.0
    new = RunningStats(
        running_mean=(1 - factor) * np.asarray(state.running_mean) + factor * batch_mean,
        running_var=(1 - factor) * np.asarray(state.running_var) + factor * batch_var,
        num_batches_tracked=count,
    )
    return f.y, new
