"""The hand computation of every normalization, forward and backward, in numpy: one recipe, top to bottom.

Every kind is the same five steps (lc.STEPS) on a different grouping of the elements
(spec.layout): pool, mean, variance, denominator, affine. `forward` takes them in order for any
lc.Recipe, torch's by default, a mistake's or a person's otherwise; the step functions are
also what group_steps runs on one group and forward_each on many recipes, so every page shows
numbers from these lines. As in karpathy's llm.c layernorm.py, the forward hands the backward
its cache (mean, rstd, x_hat, layout) instead of recomputing it. Float64 unless a dtype is
asked for: this is the truth to compare torch against, not the fast path.

NaN and inf propagate as in torch (a NaN poisons its group), without numpy's warnings.
"""

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .inputs import affine_params, as_array, running_buffers
from .layout import Layout
from .recipe import RIGHT, as_recipe

QUIET = dict(divide="ignore", invalid="ignore", over="ignore")  # numpy's warnings on NaN, inf and 1/0, silenced


@dataclass(frozen=True)
class Forward:
    """What a forward computed, and the cache its backward takes.

    y: the output (x's shape). x_hat: the normalized input before weight and bias.
    mean, var, rstd: one value per group, shape (G,) (mean is 0 for RMSNorm, var is
    then the mean square; with running statistics they are the running ones).
    ids: the group of each element (x's shape), so stat[ids] draws a statistic per element.
    layout: how x was pooled and where the parameters run.
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


def forward(spec, x, weight=None, bias=None, mistakes=(), running_mean=None, running_var=None, dtype=np.float64,
            recipe=None):
    """The forward pass with its cache (a Forward). Arguments as for `manual_forward`."""
    recipe = as_recipe(recipe, mistakes)
    dtype = np.dtype(dtype).type
    x = as_array(x, "x", dtype)
    eps = dtype(spec.eps_for(dtype))
    lay = recipe.layout(spec, x.shape)  # the pool step: which elements share one mean and variance
    w, b = affine_params(spec, lay, weight, bias, dtype) if recipe.affine else (None, None)
    if spec.uses_running_stats:
        return _running_forward(spec, x, w, b, eps, lay, recipe, running_mean, running_var, dtype)

    rows = lay.pool(x)  # (*x.shape) -> (G, n): one group a row
    _, mean = step_mean(rows, spec.centers)  # (G, n) -> (G,): 0 for RMSNorm
    xc, _, var = step_variance(rows, mean, spec.centers, recipe)  # (G, n), (G,): x - mean; var biased, / n
    _, denominator = step_denominator(var, eps, recipe)  # (G,): sqrt(var + eps)
    rstd = reciprocal(denominator)  # (G,)
    x_hat = lay.unpool(scale_rows(xc, rstd, in_place=xc is not rows))  # (G, n) -> (*x.shape): (x - mean) * rstd
    y = step_affine(x_hat, w, b)  # (*x.shape): x_hat * weight + bias
    return Forward(np.ascontiguousarray(y), x_hat, mean, var, rstd, lay.ids(), lay, False, spec.centers)


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

    Returns {"input", "weight", "bias"} (manual_backward leaves out what the spec does not have).
    """
    lay = f.layout
    g_out = as_array(grad_out, "grad_out")
    if g_out.shape != lay.shape:
        raise InputError(f"grad_out has shape {tuple(g_out.shape)}, expected {tuple(lay.shape)}")
    g = g_out if weight is None else g_out * as_array(weight, "weight").reshape(lay.param_broadcast)  # d / d x_hat

    if f.uses_running_stats:
        d_input = g * f.per_element(f.rstd)  # the running statistics do not depend on x
    else:
        g_rows = lay.pool(g)  # (*x.shape) -> (G, n)
        xh_rows = lay.pool(f.x_hat)  # (*x.shape) -> (G, n)
        d_rows = g_rows - xh_rows * (g_rows * xh_rows).mean(axis=1, keepdims=True)  # (G, n); mean: (G, n) -> (G, 1)
        if f.centers:
            d_rows = d_rows - g_rows.mean(axis=1, keepdims=True)  # (G, n) -> (G, 1)
        d_input = lay.unpool(d_rows * f.rstd[:, None])  # (G, n) -> (*x.shape)

    other = lay.reduced_axes()  # every dim but the parameters'
    return {"input": np.ascontiguousarray(d_input), "weight": (g_out * f.x_hat).sum(axis=other),
            "bias": g_out.sum(axis=other)}


# ---- the five steps, each as the recipe takes it -------------------------------------------------
# Each works on rows, one reduction group a row, so the forward runs them on every group at once and
# group_steps on one group: the page's step-by-step arithmetic is this code, not a copy.


@np.errstate(**QUIET)
def step_mean(rows, centers):
    """mean: (sum, mean) of each row, (G, n) -> (G,), (G,); RMSNorm does not center: (None, zeros)."""
    if not centers:
        return None, np.zeros(rows.shape[0], rows.dtype)
    total = rows.sum(axis=1)  # (G, n) -> (G,)
    return total, total / rows.shape[1]


def step_variance(rows, mean, centers, recipe=RIGHT):
    """variance: (deviations, squares, var) of each row: (G, n), (G, n), (G,).

    Right: the mean of the squared deviations, divided by n (biased). ddof=1 divides by n - 1;
    one_pass squares x itself, E[x^2] - E[x]^2. RMSNorm's "variance" is the mean square (its
    deviations are x itself). In two halves, the pass over the group and the division of its
    sum, which forward_each shares out between recipes.
    """
    xc = deviations(rows, mean, centers)  # (G, n)
    sq = squares(rows, xc, centers, recipe)  # (G, n)
    return xc, sq, divide_squares(row_sums(sq), mean, rows.shape[1], centers, recipe)  # (G, n) -> (G,)


@np.errstate(**QUIET)
def deviations(rows, mean, centers):
    """x - mean for each row (G, n); RMSNorm's are x itself."""
    return rows - mean[:, None] if centers else rows


@np.errstate(**QUIET)
def squares(rows, xc, centers, recipe=RIGHT):
    """What the variance sums (G, n): the squared deviations; one pass squares x itself."""
    return rows**2 if centers and recipe.one_pass else xc**2


@np.errstate(**QUIET)
def row_sums(a):
    """The sum of each row, (G, n) -> (G,)."""
    return a.sum(axis=1)


@np.errstate(**QUIET)
def divide_squares(total, mean, n, centers, recipe=RIGHT):
    """The variance from each row's sum of squares: / n; ddof=1: / (n - 1); one pass subtracts n * mean^2 first."""
    if centers and recipe.one_pass:
        return (total - n * mean**2) / (n - recipe.ddof)  # E[x^2] - E[x]^2
    return total / (n - recipe.ddof)


@np.errstate(**QUIET)
def step_denominator(var, eps, recipe=RIGHT):
    """denominator: (under_root, denominator), elementwise on var: what goes under the square root, and what
    each deviation is divided by. Right: var + eps, sqrt(var + eps)."""
    inner = np.sqrt(var) if recipe.under_root == "std" else var  # the wrong one puts the std under the root
    if recipe.eps == "none":
        return inner, np.sqrt(inner)
    if recipe.eps == "outside":
        return inner, np.sqrt(inner) + eps
    return inner + eps, np.sqrt(inner + eps)


@np.errstate(**QUIET)
def reciprocal(denominator):
    """1 / denominator, with 1/0 = inf (a constant group without eps)."""
    return 1.0 / denominator


@np.errstate(**QUIET)
def scale_rows(xc, rstd, in_place):
    """(G, n) * (G,) -> (G, n): each row times its rstd; in_place writes over xc (where it is this call's own)."""
    return np.multiply(xc, rstd[:, None], out=xc if in_place else None)


@np.errstate(**QUIET)
def step_affine(x_hat, weight, bias):
    """affine: x_hat * weight + bias, a new array (x_hat itself when there is neither); a missing weight or
    bias is skipped. The bias is added in place: one new array, not two (a fresh large array is slow to fill)."""
    if weight is None:
        return x_hat if bias is None else x_hat + bias
    y = x_hat * weight
    if bias is not None:
        y += bias
    return y


def _running_forward(spec, x, w, b, eps, lay, recipe, running_mean, running_var, dtype):
    """Eval with tracked statistics: x normalized by the running mean and the running (unbiased) variance."""
    rm, rv = running_buffers(lay, running_mean, running_var, dtype)  # (C,) -> (1, C, 1, ...)
    rstd_c = reciprocal(step_denominator(rv, eps, recipe)[1])  # (1, C, 1, ...)
    with np.errstate(**QUIET):
        x_hat = (x - rm) * rstd_c  # (*x.shape)
    channels = np.broadcast_to(np.arange(lay.shape[1]).reshape(rm.shape), lay.shape)  # (*x.shape) each one's channel
    first = lay.pool(channels)[:, 0]  # (G,): the channel of each group's first element
    y = step_affine(x_hat, w, b)
    return Forward(np.ascontiguousarray(y), x_hat, rm.ravel()[first], rv.ravel()[first], rstd_c.ravel()[first],
                   lay.ids(), lay, True, spec.centers)


# ---- the public entry points ---------------------------------------------------------------------


def manual_forward(spec, x, weight=None, bias=None, mistakes=(), running_mean=None, running_var=None, dtype=np.float64,
                   recipe=None):
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
    recipe: an lc.Recipe to take the steps by instead of mistakes (e.g. a pool over dims of your choice).

    Returns y with the shape of x.
    """
    return forward(spec, x, weight, bias, mistakes, running_mean, running_var, dtype, recipe).y


def manual_backward(spec, x, grad_out, weight=None, bias=None, running_mean=None, running_var=None, f=None):
    """Gradients of sum(grad_out * y) in closed form: the forward, then `backward` on its cache.

    f: the float64 `forward` of these same arguments, where the caller has it already (it is
    then not computed again).
    Returns {"input", "weight", "bias"}; None where the spec has no such parameter.
    """
    if f is None:
        f = forward(spec, x, weight, bias, running_mean=running_mean, running_var=running_var)
    w, _ = affine_params(spec, f.layout, weight, bias)
    grads = backward(f, grad_out, w)
    return {"input": grads["input"], "weight": grads["weight"] if spec.has_weight else None,
            "bias": grads["bias"] if spec.has_bias else None}

