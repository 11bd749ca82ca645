"""Which hand-computation mistake reproduces a wrong output: the finder behind the Pitfalls page.

A person usually computes one row by hand, not the whole output, so `wrong` may be
the whole output y or any block y[idx] of it for a leading index idx: one row
y[i, j] of a (N, L, D) output, one sample y[i]. Every block of that shape in every
candidate output is compared, so the answer also says where the row sits.

Tolerance. A pasted number is rounded to its last printed digit, so it is matched
within half a unit of that digit (5e-5 for torch's 4 decimals). The input may be
a print too: its numbers were rounded, and the person's own code computed from
the unrounded tensor. An input whose numbers all have 4 to 8 decimals (torch
prints 4, numpy up to 8), or 5 to 9 significant digits in scientific notation, is
taken as such a print: each true value lies within delta = half a unit of its last
digit, and each output's tolerance grows by how far that can move it. The bound
is exact interval arithmetic through one group's statistics (no linearisation):

    x_i - mean   moves by at most 2 delta (n - 1) / n      (RMSNorm: x_i by delta)
    var          moves within [-2 delta S, 2 delta S + n delta^2] / (n - ddof),
                 S = sum_j |x_j - mean|                    (RMSNorm: sum_j |x_j|)
    denominator  lies in [D(var - ...), D(var + ...)], as every denominator grows with var
    y_i          lies between the four corners (x_i - mean +- ...) / (D_lo, D_hi), times |weight_i|

so a row computed from the unrounded tensor is found from the rounded print
(tests/core/test_diagnosis.py checks the bound against the true outputs).
"""

import itertools
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .inputs import as_array
from .manual import forward, step_denominator
from .recipe import MISTAKES, Recipe
# an input taken as a rounded print: torch's 4 decimals up to numpy's 8, or 5 to 9 significant digits
INPUT_DECIMALS = (4, 8)
INPUT_SIGNIFICANT = (5, 9)
_SLACK = 1e-12  # float64 arithmetic on both sides: relative slack on every comparison


def mistake_combinations(max_size=3):
    """Every combination of up to max_size mistakes that can be made together (no two change the same choice
    of the recipe, as no_eps and eps_outside_sqrt both say where eps goes), smallest first."""
    return [combo for size in range(1, max_size + 1) for combo in itertools.combinations(MISTAKES, size)
            if _compatible(combo)]


def _compatible(combo):
    """Whether the mistakes of combo can be made together."""
    try:
        Recipe.from_mistakes(combo)
    except InputError:
        return False
    return True


def index_label(flat, shape, name="x"):
    """Flat indices into an array of `shape` as a person indexes them: 'x[0, 1, :]', 'x[1, 2:4, :]', 'x[:, 3]'."""
    if flat.size == 0:
        return f"no element of {name}"
    idx = np.unravel_index(flat.ravel(), shape)
    parts = []
    for dim, size in enumerate(shape):
        values = np.unique(idx[dim])
        if values.size == size and size > 1:
            parts.append(":")
        elif values.size == 1:
            parts.append(str(int(values[0])))
        elif np.array_equal(values, np.arange(values[0], values[0] + values.size)):
            parts.append(f"{int(values[0])}:{int(values[-1]) + 1}")
        else:
            parts.append("...")
    if all(p == ":" for p in parts):
        return name
    return f"{name}[" + ", ".join(parts) + "]"


def block_label(position, block_ndim):
    """Where a block sits in y, as a person indexes it: (0, 1) with one block dim -> 'y[0, 1, :]'; () -> 'y'."""
    if not position:
        return "y"
    return "y[" + ", ".join([str(i) for i in position] + [":"] * block_ndim) + "]"


@dataclass(frozen=True)
class Diagnosis:
    """which_mistake's answer.

    verdict: "correct" (the right output, to the decimals pasted), "match" (a mistake
        reproduces it) or "none".
    mistakes: the smallest combinations of MISTAKES names that reproduce it, smallest first
        (empty unless verdict is "match").
    positions: every leading index idx where y[idx] (of the right output for "correct", of a
        reported mistake's output for "match") equals the pasted block; () for the whole output.
    found: (combination, its positions) for each reported combination (((), positions) for "correct").
    block_shape, output_shape: the pasted block's shape (leading 1s dropped) and y's.
    print_tolerance: half a unit of the pasted numbers' last digit (the largest, where it varies).
    input_rounding: half a unit of the input's last digit where it was taken as a rounded print, else 0.
    tolerance: the largest tolerance any element was matched with (print and input rounding).
    nearest, nearest_distance: the block of the right output closest to the pasted one, and
        the largest |difference| there (useful when the verdict is "none").
    exact: the combinations reported fit the input's digits as they stand (True), or only once the input's
        rounding is allowed for (False). Where the input is a rounded print, exact fits are preferred.
    fits: (combination, the largest |difference| at its closest position) for each combination that fits, of the
        smallest size and the next, the closest first; a larger combination is kept only where it fits more
        closely than every smaller one inside it.
    """

    verdict: str
    mistakes: tuple = ()
    positions: tuple = ()
    found: tuple = ()
    block_shape: tuple = ()
    output_shape: tuple = ()
    print_tolerance: float = 0.0
    input_rounding: float = 0.0
    tolerance: float = 0.0
    nearest: tuple = None
    nearest_distance: float = float("nan")
    exact: bool = True
    fits: tuple = ()

    @property
    def closer(self):
        """Where several combinations fit: (the closest, its largest |difference|, the next, its), else None."""
        if len(self.fits) < 2:
            return None
        (a, da), (b, db) = self.fits[:2]
        return a, da, b, db

    @property
    def where(self):
        """The first matching position (a leading index tuple), or None when nothing matched."""
        return self.positions[0] if self.positions else None

    @property
    def where_label(self):
        """The first matching block as a person indexes it, e.g. 'y[0, 1, :]' (None when nothing matched)."""
        return None if self.where is None else self.label(self.where)

    def label(self, position):
        """Any position as a person indexes it: 'y[0, 1, :]', or 'y' for the whole output."""
        return block_label(position, len(self.block_shape))


def which_mistake(spec, x, wrong, weight=None, bias=None, input_rounding=None, max_size=3):
    """Which mistakes reproduce `wrong`, the whole output or one block of it, and where it sits.

    spec, x, weight, bias: as for manual_forward. wrong: what the person's code printed:
        the whole output y, or a block y[idx] for a leading index idx (one row y[i, j],
        one sample y[i], ...); leading dims of size 1 (a row printed as [[...]]) are dropped.
    input_rounding: half a unit of the input's last digit; None reads it off x (see the
        module's docstring: 4 to 8 decimals count as a rounded print), 0 takes x as exact.
    max_size: the largest combination of mistakes tried.

    Returns a Diagnosis: the verdict, the smallest combinations that reproduce `wrong`
    (the closest first), every position where it matches, and which combinations fit how closely (d.fits).
    Where the input is a rounded print, combinations that fit its digits as they stand are preferred to those
    that fit only once its rounding is allowed for (d.exact). InputError when `wrong`
    has a shape that is no block of the output.

    The smallest explanation anywhere wins, so a block that carries little information can
    be placed elsewhere: a group of two normalizes to about (-1, 1) (or +-0.71 with n - 1)
    whatever its numbers, and every row of two looks alike.
    """
    x = as_array(x, "x")
    wrong = as_array(wrong, "the pasted output")
    out_shape = spec.check(x.shape)
    block = _block_shape(wrong.shape, out_shape)
    wrong = wrong.reshape(block)
    lead = out_shape[: len(out_shape) - len(block)]

    print_tol = _print_tolerance(wrong)  # (*block)
    delta = _input_delta(x) if input_rounding is None else np.full(x.shape, float(input_rounding))
    rounded = bool(np.any(delta > 0))
    common = dict(block_shape=block, output_shape=out_shape,
                  print_tolerance=float(np.max(print_tol, initial=0.0)),
                  input_rounding=float(np.max(delta, initial=0.0)))

    largest_tol = [0.0]

    exotic = not np.isfinite(wrong).all()  # a pasted nan or inf matches the same nan or inf
    tol_block = print_tol + _SLACK * np.abs(np.where(np.isfinite(wrong), wrong, 0.0))  # (*block)

    def matches(mistakes, slack=True):
        """(positions where y[idx] matches, the largest |difference| at the closest of them, y)."""
        f = forward(spec, x, weight, bias, mistakes)
        yb = f.y.reshape((-1,) + block)  # (*out) -> (P, *block): one candidate block a row
        tol = tol_block
        if rounded and slack:
            tol = tol + _input_effect(spec, x, f, delta, weight, mistakes).reshape((-1,) + block)
        with np.errstate(invalid="ignore"):
            diff = np.abs(yb - wrong)
            ok = diff <= tol
            if exotic:
                same = (yb == wrong) | (np.isnan(yb) & np.isnan(wrong))
                ok |= same
                diff = np.where(same, 0.0, diff)
        hit = ok.reshape(ok.shape[0], -1).all(axis=1)  # (P,)
        distance = float("nan")
        if hit.any():
            used = np.broadcast_to(tol, yb.shape)[hit]
            largest_tol[0] = max(largest_tol[0], float(np.max(used[np.isfinite(used)], initial=0.0)))
            distance = float(np.nanmax(diff[hit].reshape(int(hit.sum()), -1), axis=1, initial=0.0).min())
        return tuple(_positions(np.flatnonzero(hit), lead)), distance, f.y

    right, _, y_right = matches(())
    nearest, distance = _nearest(y_right, wrong, block, lead)
    common.update(nearest=nearest, nearest_distance=distance)
    if right:
        return Diagnosis("correct", (), right, (((), right),), tolerance=largest_tol[0], **common)
    # where the input is a rounded print, the combinations that fit its digits as they stand (as when the person
    # typed those very digits in) come first; only when none does is the rounding allowed for
    tiers = [False, True] if rounded else [True]
    for slack in tiers:
        found, fits = _fitting(matches, max_size, slack)
        if found:
            break
    if not found:
        return Diagnosis("none", **common)
    positions = tuple(sorted({p for _, ps in found for p in ps}))
    return Diagnosis("match", tuple(c for c, _ in found), positions, tuple(found), tolerance=largest_tol[0],
                     exact=not (rounded and slack), fits=fits, **common)


def _fitting(matches, max_size, slack):
    """(found, fits) with or without the input's rounding: found, the smallest combinations that fit, the closest
    first, with their positions; fits, (combination, distance) of those and of the next size up, closest first,
    without a larger combination that fits no closer than a smaller one inside it."""
    found, fits, size = [], [], None
    for combo in mistake_combinations(max_size):
        if size is not None and len(combo) > size + 1:
            break  # one size past the smallest is enough to say which fits more closely
        positions, distance, _ = matches(combo, slack)
        if not positions:
            continue
        if size is None:
            size = len(combo)
        if len(combo) == size:
            found.append((combo, positions, distance))
            fits.append((combo, distance))
        elif not any(set(c) < set(combo) and d <= distance * (1 + 1e-9) + 1e-15 for c, d in fits):
            fits.append((combo, distance))  # it fits more closely than every smaller combination inside it
    found.sort(key=lambda f: f[2])
    fits.sort(key=lambda f: (f[1], len(f[0])))
    return [(c, p) for c, p, _ in found], tuple(fits)


def _block_shape(shape, out_shape):
    """The block of the output that `shape` is (its trailing dims), leading 1s dropped where needed."""
    shape = tuple(shape)
    while True:
        if len(shape) <= len(out_shape) and tuple(out_shape[len(out_shape) - len(shape):]) == shape:
            return shape
        if not shape or shape[0] != 1:
            break
        shape = shape[1:]
    blocks = [tuple(out_shape[k:]) for k in range(len(out_shape))]
    names = ["the whole output y"] + [f"y[{', '.join('ijklmn'[:k])}]" for k in range(1, len(out_shape))]
    choices = "; ".join(f"{s} for {name}" for s, name in zip(blocks, names))
    raise InputError(f"the pasted output has shape {tuple(shape)}, which is no block of the output {tuple(out_shape)}: "
                     f"paste {choices}")


def _positions(flat, lead):
    """Flat block numbers as leading index tuples (C order)."""
    if not lead:
        return [()] if len(flat) else []
    return [tuple(int(i) for i in idx) for idx in zip(*np.unravel_index(flat, lead))]


def _nearest(y, wrong, block, lead):
    """(position, largest |difference|) of the block of y closest to wrong (NaN where nothing is finite)."""
    yb = y.reshape((-1,) + block)
    with np.errstate(invalid="ignore"):
        d = np.abs(yb - wrong).reshape(yb.shape[0], -1)
    d = np.where(np.isnan(d), np.inf, d).max(axis=1, initial=0.0)  # (P,)
    k = int(np.argmin(d))
    return _positions([k], lead)[0], float(d[k]) if np.isfinite(d[k]) else float("nan")


# ---- how finely numbers were printed ---------------------------------------------------------


def printed_resolution(values):
    """(half a unit of each value's last printed digit, how it was read), from the numbers themselves.

    Read in this order: a fixed number of decimals (0 to 8: '-1.7049' -> 5e-5 for every value),
    a number of significant digits (1 to 9, scientific notation: '1.2345e-05' -> 5e-10), else a
    full-precision float: float32's (values exact in float32: 1e-6 relative) or float64's (1e-9).
    how: ("decimals", 4), ("significant", 5), ("float32", None) or ("float64", None).
    """
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    mag = np.abs(v)
    if finite.size == 0:
        return np.zeros(v.shape), ("decimals", 0)
    sample = finite[:64]  # most readings fail on the first numbers: try them there before on every number
    for d in range(0, 9):
        if _fits(sample, np.round(sample, d)) and _fits(finite, np.round(finite, d)):
            return np.full(v.shape, 0.5 * 10.0**-d), ("decimals", d)
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.where(mag > 0, mag, 1.0)))
    finite_exp = exponent[np.isfinite(v)]
    for s in range(1, 10):
        if _whole_mantissas(sample, finite_exp[:64], s) and _whole_mantissas(finite, finite_exp, s):
            return 0.5 * 10.0 ** (exponent - s + 1), ("significant", s)
    if np.array_equal(finite.astype(np.float32).astype(np.float64), finite):
        return 1e-6 * np.maximum(mag, 1.0), ("float32", None)
    return 1e-9 * np.maximum(mag, 1.0), ("float64", None)


def _whole_mantissas(values, exponents, s):
    """Whether each value has s significant digits: value / 10**(exponent - s + 1) is a whole number."""
    mantissa = values / 10.0 ** (exponents - s + 1)  # below 10**s, exact to ~1e-7 in float64
    return bool(np.all(np.abs(mantissa - np.rint(mantissa)) <= 1e-6))


def _fits(values, printed):
    """Whether values equal their printed form (to 1e-12 relative: parsing and numpy's rounding)."""
    return bool(np.all(np.abs(values - printed) <= 1e-12 * np.maximum(np.abs(values), 1e-300)))


def _print_tolerance(wrong):
    """Half a unit of the pasted numbers' last digit, per element, with a little slack."""
    half, _ = printed_resolution(wrong)
    return np.where(np.isfinite(half), half, 0.0) + _SLACK


def _input_delta(x):
    """Half a unit of the input's last digit where the input looks like a rounded print, else zeros."""
    half, (how, digits) = printed_resolution(x)
    low, high = INPUT_DECIMALS if how == "decimals" else INPUT_SIGNIFICANT if how == "significant" else (1, 0)
    if digits is not None and low <= digits <= high:
        return np.where(np.isfinite(x), half, 0.0)
    return np.zeros(x.shape)


def _input_effect(spec, x, f, delta, weight, mistakes):
    """How far each output of forward f can move when each x_i moves by up to delta_i (x's shape).

    An interval bound through the group's deviation, variance and denominator (see the
    module's docstring); inf where the denominator can reach 0.
    """
    lay = f.layout
    recipe = Recipe.from_mistakes(mistakes)
    eps = spec.eps_for(np.float64)
    w = 1.0 if weight is None or not spec.has_weight else np.abs(np.asarray(weight, dtype=np.float64)).reshape(
        lay.param_broadcast)
    if f.uses_running_stats:  # the statistics are the running ones: only x_i - running_mean moves
        with np.errstate(divide="ignore", invalid="ignore"):
            return w * delta * f.per_element(f.rstd)
    rows = lay.pool(x)  # (*x.shape) -> (G, n)
    d = lay.pool(delta).max(axis=1)  # (G,) the largest rounding in each group
    n = lay.group_size
    ddof = recipe.ddof
    dev = rows - f.mean[:, None] if f.centers else rows  # (G, n)
    spread = np.abs(dev).sum(axis=1)  # (G,) S = sum_j |x_j - mean|
    with np.errstate(divide="ignore", invalid="ignore"):
        var_down = 2 * d * spread / (n - ddof)  # (G,)
        var_up = (2 * d * spread + n * d**2) / (n - ddof)
        d_lo = step_denominator(np.maximum(f.var - var_down, 0.0), eps, recipe)[1]  # (G,) every D grows with var
        d_hi = step_denominator(f.var + var_up, eps, recipe)[1]
        move = d * (2 * (n - 1) / n if f.centers else 1.0)  # (G,) how far x_i - mean can move
        base = dev * f.rstd[:, None]  # (G, n) the output before weight
        corners = [(dev + s * move[:, None]) / den[:, None] for s in (-1, 1) for den in (d_lo, d_hi)]
        effect = np.max([np.abs(c - base) for c in corners], axis=0)  # (G, n)
    effect = np.where(np.isnan(effect) | (d_lo[:, None] <= 0), np.inf, effect)
    effect = np.where(d[:, None] == 0, 0.0, effect)  # a group with exact numbers moves by nothing
    return w * lay.unpool(effect)


def printed_digits(values):
    """How the values were printed, in words: '4 decimals', '5 significant digits', 'full float32 precision'."""
    _, (how, digits) = printed_resolution(values)
    if how == "decimals":
        return f"{digits} decimal{'s' if digits != 1 else ''}"
    if how == "significant":
        return f"{digits} significant digits"
    return f"full {how} precision"
