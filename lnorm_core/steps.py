"""The arithmetic of one reduction group, step by step, right and as a mistake makes it.

group_steps runs the forward's own step functions (manual.step_mean ... step_affine)
on one group, keeping every intermediate number, so what a person reads is what the
forward computes, and the wrong version comes out of the same lines:

    import lnorm_core as lc
    s = lc.group_steps(spec, x, (0, 1), mistakes=("unbiased", "std_under_sqrt"))
    s.first_difference            # 'variance': n-1 is the first number that differs
    [(v.name, v.value) for v in s.right]
"""

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .inputs import affine_params, as_array, running_buffers
from .manual import QUIET, reciprocal, step_affine, step_denominator, step_mean, step_variance
from .recipe import RIGHT, Recipe, as_recipe


@dataclass(frozen=True)
class StepValue:
    """One intermediate result of one group's arithmetic.

    name: what it is, the same in the right and the wrong version ("values", "sum", "mean",
        "deviations", "squares", "variance", "under_root", "denominator", "x_hat", "weight",
        "bias", "output"). step: the key of STEPS it belongs to. label: how it is computed,
        in the symbols of the code (e.g. "var = sum((x - mean)^2) / (n - 1)").
    value: its numbers, a float or a 1-D array in the order of the group's elements.
    """

    name: str
    step: str
    label: str
    value: object


@dataclass(frozen=True)
class GroupSteps:
    """The arithmetic of the reduction group holding one element, right and with mistakes.

    element: the index of that element in x. indices: the group's elements, (n, x.ndim), in
        the order the group is pooled; n: how many. right: the layer's steps, a tuple of StepValue.
    mistakes: the MISTAKES names of the recipe asked for; wrong: the same steps as that recipe takes them
        (() for torch's), over wrong_indices (its own group of that element: more elements for whole_sample).
    first_difference: the name of the first StepValue whose numbers differ (None when none do);
        differences: every name that differs. steps_changed: the STEPS the recipe takes otherwise.
    recipe: the lc.Recipe of the wrong version.
    """

    element: tuple
    indices: np.ndarray
    right: tuple
    mistakes: tuple = ()
    wrong: tuple = ()
    wrong_indices: np.ndarray = None
    first_difference: str = None
    differences: tuple = ()
    steps_changed: tuple = ()
    recipe: Recipe = RIGHT

    @property
    def n(self):
        """How many elements the layer pools into this group."""
        return len(self.indices)

    def value(self, name, wrong=False):
        """The numbers of one named result, e.g. s.value("variance"), or of the wrong version."""
        for v in self.wrong if wrong else self.right:
            if v.name == name:
                return v.value
        raise KeyError(name)


def group_steps(spec, x, group, weight=None, bias=None, mistakes=(), running_mean=None, running_var=None,
                recipe=None):
    """The arithmetic of one reduction group: its n values, sum, mean, deviations, squares, variance,
    what goes under the root, the denominator, each x_hat, then weight, bias and the outputs.

    spec, x, weight, bias, running_mean, running_var: as for manual_forward.
    group: which group: an int (a group id of lc.group_ids), or an index into x, full
        (one element) or leading (the block y[idx], e.g. Diagnosis.where): the group of
        its first element.
    mistakes: a combination of MISTAKES names (or recipe: an lc.Recipe); the same steps are then
        taken that way too, and the first whose numbers differ is named.
    """
    recipe = as_recipe(recipe, mistakes)
    x = as_array(x, "x")
    element = _element(spec.layout(x.shape), group)
    right, indices = _steps(spec, x, element, weight, bias, RIGHT, running_mean, running_var)
    if recipe == RIGHT:
        return GroupSteps(element, indices, right)
    wrong, wrong_indices = _steps(spec, x, element, weight, bias, recipe, running_mean, running_var)
    differs = [r.name for r in right if _differs(r, wrong)] + [w.name for w in wrong if w.name not in
                                                              {r.name for r in right}]
    order = [r.name for r in right] + [w.name for w in wrong]
    differs = tuple(sorted(set(differs), key=order.index))
    return GroupSteps(element, indices, right, recipe.mistakes, wrong, wrong_indices,
                      differs[0] if differs else None, differs, recipe.steps_changed, recipe)


def _element(lay, group):
    """The index of the element a `group` argument names (an int group id, or a full or leading index)."""
    shape = lay.shape
    if isinstance(group, (int, np.integer)) and not isinstance(group, bool):
        if not 0 <= group < lay.num_groups:
            raise InputError(f"group {group} does not exist: there are {lay.num_groups} groups (0 to "
                             f"{lay.num_groups - 1})")
        first = lay.pool(np.arange(math.prod(shape)).reshape(shape))[group, 0]  # its first element, flat
        return tuple(int(i) for i in np.unravel_index(first, shape))
    try:
        index = tuple(int(i) for i in group)
    except (TypeError, ValueError):
        raise InputError(f"group must be a group id or an index into x, got {group!r}") from None
    if len(index) > len(shape) or any(not 0 <= i < d for i, d in zip(index, shape)):
        raise InputError(f"{list(index)} is no index into x of shape {tuple(shape)}")
    return index + (0,) * (len(shape) - len(index))  # a leading index: the first element of its block


def _steps(spec, x, element, weight, bias, recipe, running_mean, running_var):
    """(StepValues, indices) of the group holding `element`, its steps taken as `recipe` takes them."""
    shape = x.shape
    lay = recipe.layout(spec, shape)
    flat = lay.pool(np.arange(x.size).reshape(shape))  # (G, n) flat index of each pooled element
    g = int(np.flatnonzero((flat == np.ravel_multi_index(element, shape)).any(axis=1))[0])
    members = flat[g]  # (n,)
    indices = np.stack(np.unravel_index(members, shape), axis=1)  # (n, ndim)
    values = x.reshape(-1)[members][None, :]  # (1, n): the group as one row, as the forward pools it
    n = values.shape[1]
    eps = spec.eps_for(np.float64)
    w, b = affine_params(spec, lay, weight, bias) if recipe.affine else (None, None)
    take = lambda p: None if p is None else np.broadcast_to(p, shape).reshape(-1)[members]  # noqa: E731
    label = _Labels(spec, recipe, n, eps)
    out = [StepValue("values", "pool", label.values, values[0])]

    if spec.uses_running_stats:  # eval: the statistics are the running ones, not computed from the group
        rm, rv = running_buffers(lay, running_mean, running_var)
        mean, var = take(rm)[None, :], take(rv)[None, :]  # (1, n): each element's channel's running statistics
        deviations = values - mean
        channels = sorted({int(c) for c in indices[:, 1]})
        which = f"[{channels[0]}]" if len(channels) == 1 else "[c] of each element's channel c"
        out += [StepValue("mean", "mean", f"mean = running_mean{which} (eval: not this input's)", _one(mean)),
                StepValue("deviations", "variance", "x - mean", deviations[0]),
                StepValue("variance", "variance", f"var = running_var{which} (eval: the running, unbiased one)",
                          _one(var))]
    else:
        total, mean = step_mean(values, spec.centers)
        deviations, squares, var = step_variance(values, mean, spec.centers, recipe)
        var = var[:, None]  # (1,) -> (1, 1): one variance for the whole row
        if spec.centers:
            out += [StepValue("sum", "mean", "sum = x_1 + ... + x_n", _one(total)),
                    StepValue("mean", "mean", f"mean = sum / n  (n = {n})", _one(mean)),
                    StepValue("deviations", "variance", "x - mean", deviations[0])]
        out += [StepValue("squares", "variance", label.squares, squares[0]),
                StepValue("variance", "variance", label.variance, _one(var))]
    under_root, denominator = step_denominator(var, eps, recipe)  # (1, 1), or (1, n) in eval
    with np.errstate(**QUIET):
        x_hat = deviations * reciprocal(denominator)  # (1, n)
    out += [StepValue("under_root", "denominator", label.under_root, _one(under_root)),
            StepValue("denominator", "denominator", label.denominator, _one(denominator)),
            StepValue("x_hat", "denominator", label.x_hat, x_hat[0])]
    wg, bg = take(w), take(b)
    y = step_affine(x_hat[0], wg, bg)
    if wg is not None:
        out.append(StepValue("weight", "affine", "weight, for each of these elements", wg))
    if bg is not None:
        out.append(StepValue("bias", "affine", "bias, for each of these elements", bg))
    out.append(StepValue("output", "affine", label.output(wg is not None, bg is not None), y))
    return tuple(out), indices


def _one(a):
    """A statistic of the group as one float where it is one number, else the 1-D array of its values."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    return float(a[0]) if a.size == 1 or np.all(a == a[0]) else a


class _Labels:
    """How each result is computed, in the symbols of the code, as the recipe takes it."""

    def __init__(self, spec, recipe, n, eps):
        if recipe.pool == "layer":
            pooled = ""
        elif recipe.pool == "whole_sample":
            pooled = " (every dim but the batch dim)"
        else:
            pooled = f" (dims {', '.join(str(d) for d in recipe.pool)})"
        self.values = f"the {n} values of x pooled into one group{pooled}"
        centred = spec.centers and not spec.uses_running_stats
        divisor = "(n - 1)" if recipe.ddof else "n"
        if centred and recipe.one_pass:
            self.squares = "x^2 (one pass: x itself squared)"
            self.variance = f"var = (sum(x^2) - n * mean^2) / {divisor}  (one pass: E[x^2] - E[x]^2)"
        elif centred:
            self.squares = "(x - mean)^2"
            self.variance = f"var = sum((x - mean)^2) / {divisor}" + ("" if recipe.ddof else "  (biased)")
        else:  # RMSNorm: the mean square
            self.squares = "x^2 (RMSNorm does not subtract the mean)"
            self.variance = f"ms = sum(x^2) / {divisor}  (the mean square)"
        var = "var" if spec.centers else "ms"
        std = recipe.under_root == "std"
        inner = f"sqrt({var})" if std else var  # the std where the recipe puts it
        if recipe.eps == "none":
            self.under_root = f"{inner}  (no eps)"
            self.denominator = f"sqrt({inner})"
        elif recipe.eps == "outside":
            self.under_root = f"{inner}  (eps comes after the root)"
            self.denominator = f"sqrt({inner}) + eps  (eps = {eps:g})"
        else:
            self.under_root = f"{inner} + eps  (eps = {eps:g})" + ("; std + eps" if std else "")
            self.denominator = f"sqrt({inner} + eps)"
        self.x_hat = ("x_hat = (x - mean) / denominator" if spec.centers else "x_hat = x / denominator")

    @staticmethod
    def output(has_weight, has_bias):
        """The last line: y = x_hat, times weight, plus bias, as far as the layer has them."""
        return "y = x_hat" + (" * weight" if has_weight else "") + (" + bias" if has_bias else "")


def _differs(r, wrong):
    """Whether the wrong version's result of the same name has other numbers (or is missing)."""
    other = [w for w in wrong if w.name == r.name]
    if not other:
        return True
    a = np.atleast_1d(np.asarray(r.value, dtype=np.float64))
    b = np.atleast_1d(np.asarray(other[0].value, dtype=np.float64))
    return a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)

