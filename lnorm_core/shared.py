"""forward_each: many recipes on one input, the work they share done once (the Pitfalls page's every mistake).

It computes what manual_forward computes, bit for bit (tests/core/test_shared.py holds the two
equal over every kind, shape and recipe), from the same step functions, but shares between
the recipes what they have in common: the pooling, the mean and the deviations for each
grouping (the layer's, the whole sample's where its groups differ), and the sum of squares
for each grouping with and without one pass. A mistake of the denominator then costs one
pass over x, not a forward.
"""

import numpy as np

from .inputs import affine_params, as_array
from .manual import (
    deviations,
    divide_squares,
    forward,
    reciprocal,
    row_sums,
    scale_rows,
    squares,
    step_affine,
    step_denominator,
    step_mean,
)
from .recipe import Recipe


def forward_each(spec, x, weight=None, bias=None, combinations=((),), dtype=np.float64):
    """(combination, y) for each combination, in order: manual_forward's y for it, bit for bit.

    combinations: each a tuple of MISTAKES names (() for the right layer) or an lc.Recipe.
    One y at a time, so that a caller need not hold them all. Eval with running statistics
    pools nothing of x: a forward runs for each.
    """
    dtype = np.dtype(dtype).type
    x = as_array(x, "x", dtype)
    eps = dtype(spec.eps_for(dtype))
    pooled, sums = {}, {}  # grouping -> (rows, mean, deviations); (grouping, one pass) -> sum of squares
    for given in combinations:
        recipe = given if isinstance(given, Recipe) else Recipe.from_mistakes(given)
        if spec.uses_running_stats:
            yield given, forward(spec, x, weight, bias, dtype=dtype, recipe=recipe).y
            continue
        lay = recipe.layout(spec, x.shape)
        if lay.pooling not in pooled:
            rows = lay.pool(x)  # (*x.shape) -> (G, n)
            _, mean = step_mean(rows, spec.centers)  # (G,)
            pooled[lay.pooling] = rows, mean, deviations(rows, mean, spec.centers)
        rows, mean, xc = pooled[lay.pooling]
        one_pass = spec.centers and recipe.one_pass
        if (lay.pooling, one_pass) not in sums:
            sums[lay.pooling, one_pass] = row_sums(squares(rows, xc, spec.centers, recipe))  # (G, n) -> (G,)
        var = divide_squares(sums[lay.pooling, one_pass], mean, rows.shape[1], spec.centers, recipe)  # (G,)
        rstd = reciprocal(step_denominator(var, eps, recipe)[1])  # (G,)
        x_hat = lay.unpool(scale_rows(xc, rstd, in_place=False))  # (G, n) -> (*x.shape), this recipe's own
        w, b = affine_params(spec, lay, weight, bias, dtype) if recipe.affine else (None, None)
        yield given, np.ascontiguousarray(_affine_in_place(x_hat, w, b))


def _affine_in_place(x_hat, w, b):
    """step_affine's numbers written over x_hat (this recipe's own array): no new array of x's size."""
    if w is None:
        return step_affine(x_hat, None, b) if b is None else np.add(x_hat, b, out=x_hat)
    x_hat *= w
    if b is not None:
        x_hat += b
    return x_hat
