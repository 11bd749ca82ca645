"""Which hand-computation mistake reproduces a wrong output: the finder behind the Pitfalls page."""

import itertools

import numpy as np

from .errors import InputError
from .manual import MISTAKES, manual_forward

# mistakes that cannot be made together: they are two answers to where eps goes
_EXCLUSIVE = ({"eps_outside_sqrt", "no_eps"},)


def mistake_combinations(max_size=3):
    """Every combination of up to max_size mistakes that can be made together, smallest first."""
    names = list(MISTAKES)
    out = []
    for size in range(1, max_size + 1):
        for combo in itertools.combinations(names, size):
            if not any(pair <= set(combo) for pair in _EXCLUSIVE):
                out.append(combo)
    return out


def which_mistake(spec, x, wrong, weight=None, bias=None):
    """The smallest mistake combinations whose output reproduces `wrong`, as printed.

    The tolerance is half a unit in the last decimal the person pasted (e.g. 5e-5
    for torch's 4 decimals), read off the numbers themselves. Returns
    ("correct", []) when wrong is in fact right, ("match", [combos]) or ("none", []).
    """
    x = np.asarray(x, dtype=np.float64)
    wrong = np.asarray(wrong, dtype=np.float64)
    if wrong.shape != x.shape:
        raise InputError(f"the wrong output has shape {wrong.shape}, the input {x.shape}: they must match")
    tol = _print_tolerance(wrong)
    close = lambda y: bool(np.allclose(y, wrong, rtol=0, atol=tol, equal_nan=True))  # noqa: E731
    if close(manual_forward(spec, x, weight, bias)):
        return "correct", []
    found = []
    for combo in mistake_combinations():
        if found and len(combo) > len(found[0]):
            break  # the smallest explanation wins
        if close(manual_forward(spec, x, weight, bias, mistakes=combo)):
            found.append(combo)
    return ("match", found) if found else ("none", [])


def _print_tolerance(values):
    """Half a unit in the last printed decimal, judged from the values: 4 decimals -> 5e-5 (+ slack)."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return 1e-12
    for decimals in range(0, 17):
        if np.allclose(finite, np.round(finite, decimals), rtol=0, atol=1e-12):
            return 0.5 * 10.0**-decimals + 1e-12
    return 1e-9
