"""The hand computation of every normalization, forward and backward, in numpy.

One recipe serves all five kinds, because each of them is the same five steps
(STEPS) on a different grouping of the elements (see spec.layout):

    pool         x into rows, one reduction group a row     (*x.shape) -> (G, n)
    mean         per row: the sum over n                    (G, n) -> (G,)
    variance     per row: the mean of squared deviations (the second pass, divided by n)
    denominator  sqrt(var + eps); x_hat = (x - mean) / it, back to x's layout
    affine       x_hat * weight + bias

A hand-computation mistake (MISTAKES) is the wrong version of one of these steps, made
inside that step's function, so the forward of all groups and the step-by-step
arithmetic of one group (group_steps) run the same lines. The forward hands the
backward what it needs (x_hat and 1/std) instead of recomputing it, as in karpathy's
llm.c layernorm.py. Everything is float64 unless a dtype is asked for: this is the
truth to compare torch against, not the fast path.
"""

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .spec import Layout, layout

@dataclass(frozen=True)
class Step:
    """One named step of the hand computation: what it does, and its right line of code."""

    title: str
    right: str


# The hand computation of one reduction group, step by step: every kind is these five steps on a
# different pooling. A mistake is the wrong version of exactly one of them (Mistake.step).
STEPS = {
    "pool": Step("take the elements that share one mean and variance (the layer's reduction dims)",
                 "xg = x[..., :]  # LayerNorm((4,)): the last dim; see lc.group_ids for every kind"),
    "mean": Step("their mean: the sum over n", "mean = xg.sum() / n"),
    "variance": Step("their variance: the mean of the squared deviations, divided by n (biased)",
                     "var = ((xg - mean) ** 2).sum() / n  # biased: divide by n, as torch's norms do"),
    "denominator": Step("the denominator: the square root of the variance plus eps; each deviation divided by it",
                        "x_hat = (xg - mean) / np.sqrt(var + eps)  # eps inside the root"),
    "affine": Step("the learnable weight and bias, element by element", "y = x_hat * weight + bias"),
}


@dataclass(frozen=True)
class Mistake:
    """A usual error of hand computation: the wrong version of one named step (a key of STEPS).

    title: its plain name, as the Pitfalls page says it. description: what goes wrong.
    wrong: the line that does it. fix: the line that fixes it.
    """

    step: str
    title: str
    description: str
    wrong: str
    fix: str


MISTAKES = {
    "unbiased": Mistake(
        "variance", "n−1 in the variance (statistics.stdev, torch.std)",
        "divides the variance by n-1 (torch.var's default, statistics.stdev) where normalization divides by n",
        "var = ((x - mean) ** 2).sum() / (n - 1)",
        "var = ((x - mean) ** 2).mean()  # biased: divide by n, as torch's norms do",
    ),
    "std_under_sqrt": Mistake(
        "denominator", "std under the square root",
        "puts the standard deviation under the square root: sqrt(std + eps)",
        "y = (x - mean) / np.sqrt(std + eps)",
        "y = (x - mean) / np.sqrt(var + eps)  # the variance goes under the root",
    ),
    "eps_outside_sqrt": Mistake(
        "denominator", "eps outside the root",
        "adds eps to the standard deviation instead of to the variance: std + eps",
        "y = (x - mean) / (np.sqrt(var) + eps)",
        "y = (x - mean) / np.sqrt(var + eps)  # eps inside the root",
    ),
    "no_eps": Mistake(
        "denominator", "no eps",
        "leaves eps out: fine for most data, a division by zero for a constant group",
        "y = (x - mean) / np.sqrt(var)",
        "y = (x - mean) / np.sqrt(var + eps)  # eps=1e-5 by default",
    ),
    "whole_sample": Mistake(
        "pool", "pooled the whole sample",
        "pools every dim but the batch dim instead of the normalized dims",
        "mean = x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)",
        "mean = x.mean(axis=(-1,), keepdims=True)  # only the dims of normalized_shape",
    ),
    "one_pass": Mistake(
        "variance", "one-pass variance",
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


# ---- the five steps, each with its wrong versions ----------------------------------------------
# Each works on rows, one reduction group a row, so the forward runs them on every group at once
# and group_steps on one group: the page's step-by-step arithmetic is this code, not a copy.


def step_pool(spec, shape, mistakes=()):
    """pool: the Layout of spec on `shape`, or with whole_sample one that pools every dim but the batch dim."""
    lay = layout(spec, shape)
    if "whole_sample" not in mistakes:
        return lay
    # the mistake is in the hand computation: the parameters are still laid out as torch lays them
    total = int(np.prod(lay.shape))
    n_batch = lay.shape[0] if len(lay.shape) > 1 else 1  # (N, *rest) -> (N, prod(rest)); a 1-D x is one sample
    return Layout(lay.shape, tuple(range(len(lay.shape))), n_batch, total // n_batch, lay.param_shape,
                  lay.param_axes, lay.param_broadcast)


def step_mean(rows, centers, mistakes=()):
    """mean: (sum, mean) of each row, (G, n) -> (G,), (G,); RMSNorm does not center: (None, zeros)."""
    if not centers:
        return None, np.zeros(rows.shape[0], rows.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, or a sum past the largest float: NaN, as in torch
        total = rows.sum(axis=1)  # (G, n) -> (G,)
    return total, total / rows.shape[1]


def step_variance(rows, mean, centers, mistakes=()):
    """variance: (deviations, squares, var) of each row: (G, n), (G, n), (G,).

    Right: the mean of the squared deviations, divided by n (biased). unbiased divides by
    n - 1; one_pass squares x itself, E[x^2] - E[x]^2. RMSNorm's "variance" is the mean
    square (its deviations are x itself). In two halves: the pass over the group
    (_squares) and the division of its sum (_variance), which forward_each shares out.
    """
    deviations, squares, total = _squares(rows, mean, centers, mistakes)
    return deviations, squares, _variance(total, mean, rows.shape[1], centers, mistakes)


def _squares(rows, mean, centers, mistakes=()):
    """The variance's pass over each row: (deviations, squares, sum of squares) (G, n), (G, n), (G,)."""
    deviations = _deviations(rows, mean, centers)
    squares = _square(rows, deviations, centers, mistakes)
    with np.errstate(invalid="ignore", over="ignore"):
        return deviations, squares, squares.sum(axis=1)  # (G, n) -> (G,)


def _deviations(rows, mean, centers):
    """x - mean for each row (G, n); RMSNorm's are x itself."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: a poisoned group is NaN, as in torch
        return rows - mean[:, None] if centers else rows


def _square(rows, deviations, centers, mistakes=()):
    """What the variance sums (G, n): the squared deviations; one pass squares x itself."""
    with np.errstate(invalid="ignore", over="ignore"):
        return rows**2 if centers and "one_pass" in mistakes else deviations**2


def _variance(total, mean, n, centers, mistakes=()):
    """The variance from a row's sum of squares: / n; unbiased / (n - 1); one pass subtracts n * mean^2 first."""
    ddof = 1 if "unbiased" in mistakes else 0  # torch's norms use the biased variance: divide by n
    with np.errstate(divide="ignore", invalid="ignore"):
        if centers and "one_pass" in mistakes:
            return (total - n * mean**2) / (n - ddof)  # E[x^2] - E[x]^2
        return total / (n - ddof)


def step_denominator(var, eps, mistakes=()):
    """denominator: (under_root, denominator), elementwise on var: what goes under the square root, and
    what each deviation is divided by. Right: var + eps, sqrt(var + eps)."""
    e = 0.0 if "no_eps" in mistakes else eps
    base = np.sqrt(var) if "std_under_sqrt" in mistakes else var  # the wrong one puts std under the root
    with np.errstate(invalid="ignore"):
        if "eps_outside_sqrt" in mistakes:
            return base, np.sqrt(base) + e
        return base + e, np.sqrt(base + e)  # the right one: sqrt(var + eps)


def step_affine(x_hat, weight, bias):
    """affine: x_hat * weight + bias, a new array (x_hat itself when there is neither); a missing weight or
    bias is skipped. The bias is added in place: one new array, not two (a fresh large array is slow to fill)."""
    if weight is None:
        return x_hat if bias is None else x_hat + bias
    y = x_hat * weight
    if bias is not None:
        y += bias
    return y


def _reciprocal(denominator):
    """1 / denominator, with 1/0 = inf and no warning (a constant group without eps)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / denominator


def forward(spec, x, weight=None, bias=None, mistakes=(), running_mean=None, running_var=None, dtype=np.float64):
    """The forward pass with its intermediate results: see `Forward`.

    Arguments as for `manual_forward`. The five STEPS in order, each with the mistakes asked for.
    """
    mistakes = _check_mistakes(mistakes)
    dtype = np.dtype(dtype).type
    x = _as_array(x, "x", dtype)
    eps = dtype(spec.eps_for(dtype))
    lay = step_pool(spec, x.shape, mistakes)
    shape = lay.shape
    w, b = _params(spec, lay, weight, bias, dtype)
    ids = lay.ids()

    if spec.uses_running_stats:
        # eval with tracked statistics: normalize by the running mean and running (unbiased) variance
        rm, rv = _running(lay, running_mean, running_var, dtype)
        rstd_b = _reciprocal(step_denominator(rv, eps, mistakes)[1])  # (1, C, 1, ...)
        x_hat = (x - rm) * rstd_b
        first = lay.pool(np.broadcast_to(np.arange(shape[1]).reshape(rm.shape), shape))[:, 0]  # (G,) its channel
        mean, var, rstd = rm.ravel()[first], rv.ravel()[first], rstd_b.ravel()[first]  # (G,) per group
    else:
        pooled = _pass(spec, lay, x, mistakes)
        # the deviations are this call's own (unless they are x itself, as RMSNorm's are): x_hat may take their place
        var, rstd, x_hat = _normalize(pooled, eps, spec.centers, mistakes, in_place=True)
        mean = pooled.mean

    y = step_affine(x_hat, w, b)
    return Forward(y=np.ascontiguousarray(y), x_hat=x_hat, mean=mean, var=var, rstd=rstd, ids=ids, layout=lay,
                   uses_running_stats=spec.uses_running_stats, centers=spec.centers)


@dataclass(frozen=True)
class _Pass:
    """What a forward computes before it divides: the same for every mistake of the denominator."""

    layout: Layout
    rows: np.ndarray  # (G, n) x pooled
    mean: np.ndarray  # (G,)
    deviations: np.ndarray  # (G, n)
    total: np.ndarray  # (G,) the sum of squares


def _pass(spec, lay, x, mistakes):
    """The steps pool, mean and the variance's pass over x: a _Pass."""
    rows = lay.pool(x)  # (*x.shape) -> (G, n)
    _, mean = step_mean(rows, spec.centers, mistakes)  # (G,)
    deviations, _, total = _squares(rows, mean, spec.centers, mistakes)  # (G, n), (G,)
    return _Pass(lay, rows, mean, deviations, total)


def _normalize(p, eps, centers, mistakes, in_place):
    """(var, rstd, x_hat): the variance, the denominator and x_hat (x's shape) from a _Pass.

    in_place: x_hat is written over the deviations where they are not x itself.
    """
    var = _variance(p.total, p.mean, p.rows.shape[1], centers, mistakes)  # (G,)
    rstd = _reciprocal(step_denominator(var, eps, mistakes)[1])  # (G,)
    with np.errstate(invalid="ignore"):
        own = in_place and p.deviations is not p.rows
        x_hat = np.multiply(p.deviations, rstd[:, None], out=p.deviations if own else None)
    return var, rstd, p.layout.unpool(x_hat)  # (G, n) -> (*x.shape)


def forward_each(spec, x, weight=None, bias=None, combinations=((),), dtype=np.float64):
    """(combination, y) for each combination of mistakes, in order: manual_forward's y for it, bit for bit.

    What the combinations share is computed once: the pooling, the mean and the deviations for
    each pooling (the layer's, and whole_sample's where its groups differ), and the sum of
    squares for each pooling with and without one_pass. A mistake of the denominator then
    costs one pass over x, not a forward. One y at a time, so that a caller need not hold
    them all. Eval with running statistics runs a forward for each.
    """
    dtype = np.dtype(dtype).type
    x = _as_array(x, "x", dtype)
    eps = dtype(spec.eps_for(dtype))
    groups, sums = {}, {}
    for given in combinations:
        mistakes = _check_mistakes(given)
        if spec.uses_running_stats:
            yield given, forward(spec, x, weight, bias, mistakes, dtype=dtype).y
            continue
        lay = step_pool(spec, x.shape, mistakes)
        if lay not in groups:
            rows = lay.pool(x)  # (*x.shape) -> (G, n)
            _, mean = step_mean(rows, spec.centers, mistakes)
            groups[lay] = rows, mean, _deviations(rows, mean, spec.centers), _params(spec, lay, weight, bias, dtype)
        rows, mean, deviations, (w, b) = groups[lay]
        one_pass = spec.centers and "one_pass" in mistakes
        if (lay, one_pass) not in sums:
            with np.errstate(invalid="ignore", over="ignore"):
                sums[lay, one_pass] = _square(rows, deviations, spec.centers, mistakes).sum(axis=1)
        pooled = _Pass(lay, rows, mean, deviations, sums[lay, one_pass])
        _, _, y = _normalize(pooled, eps, spec.centers, mistakes, in_place=False)
        with np.errstate(invalid="ignore"):  # as step_affine, in place: x_hat is this combination's own
            if w is not None:
                y *= w
            if b is not None:
                y += b
        yield given, np.ascontiguousarray(y)


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


def manual_backward(spec, x, grad_out, weight=None, bias=None, running_mean=None, running_var=None, f=None):
    """Gradients of sum(grad_out * y) in closed form: the forward, then `backward` on its cache.

    f: the float64 `forward` of these same arguments, where the caller has it already (it is
    then not computed again).
    Returns {"input", "weight", "bias"}; None where the spec has no such parameter.
    """
    if f is None:
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


def running_stats_step(spec, x, state, weight=None, bias=None, output=True):
    """One forward of nn.BatchNorm (or a tracking nn.InstanceNorm): (y, new state).

    output=False, in training: only the statistics are computed (the same numbers), and y is None.

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
    if output or not spec.training:
        f = forward(spec, x, weight, bias, running_mean=state.running_mean, running_var=state.running_var)
        if not spec.training:
            return f.y, state
        y, batch_mean, var, lay = f.y, f.mean, f.var, f.layout
    else:  # the forward's own steps up to the variance, and no further
        x = _as_array(x, "x")
        lay = layout(spec, x.shape)
        p = _pass(spec, lay, x, frozenset())
        y, batch_mean, var = None, p.mean, _variance(p.total, p.mean, p.rows.shape[1], spec.centers)
    c = lay.shape[1]
    size = lay.group_size
    unbiased = var * size / (size - 1)  # (G,) the running variance is unbiased, unlike the normalization
    # batch: one group per channel already; instance: groups are (n, c), averaged over n
    batch_mean = batch_mean.reshape(-1, c).mean(axis=0)  # (G,) -> (C,)
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
    return y, new
