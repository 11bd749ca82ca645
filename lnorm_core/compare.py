"""How far one answer is from another: absolute, relative and in ULPs of a dtype.

The tolerances are per dtype and stated with their reason, so a pass or a fail on
the compare page can be argued with. Each dtype's format (mantissa bits, smallest
normal exponent) is its row of lnorm_core.dtypes.DTYPE_TABLE.
"""

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from .dtypes import dtype_info
from .errors import InputError

Tolerance = namedtuple("Tolerance", "atol rtol why")

# |actual - expected| <= atol + rtol * |expected| passes. A normalized output is of
# order 1 and each element comes out of a reduction over its group, so the bound
# is a few units in the last place at 1, with room for the sum's rounding.
TOLERANCES = {
    "float64": Tolerance(1e-9, 1e-9, "float64 rounds at 1.1e-16; 1e-9 leaves room for reductions over a million elements"),
    "float32": Tolerance(1e-5, 1e-5, "float32 rounds at 6e-8; torch accumulates in float32, so 1e-5 is about 100 ULPs at 1"),
    "float16": Tolerance(1e-2, 1e-2, "float16 rounds at 4.9e-4; torch computes in float32 and rounds the output, 1e-2 is ~10 ULPs at 1"),
    "bfloat16": Tolerance(5e-2, 2e-2, "bfloat16 keeps 8 bits (rounds at 3.9e-3); the output alone is off by up to 1.6e-2 at |y| = 4"),
}


def ulp(values, dtype):
    """The spacing of `dtype` at each value: 2**(exponent - mantissa bits), subnormals included."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    step = _ulp_of_magnitude(v, dtype, np.empty(v.shape))
    if not np.all(np.isfinite(v)):
        step = np.where(np.isfinite(v), step, v)  # inf and NaN as they are
    return step


def _ulp_of_magnitude(v, dtype, out):
    """ulp of finite values v >= 0, written into out: float64's spacing, scaled to dtype's mantissa, floored at
    dtype's smallest subnormal step (both powers of two: exact)."""
    d = dtype_info(dtype)
    np.spacing(v, out=out)  # 2**(exponent - 52), and 2**-1074 at 0 and below float64's normal range
    out *= 2.0 ** (52 - d.mantissa_bits)
    return np.maximum(out, 2.0 ** (d.min_exponent - d.mantissa_bits), out=out)


@dataclass(frozen=True)
class Comparison:
    """The distance from `actual` to `expected` (both as float64 arrays).

    abs_err: |actual - expected| per element (0 where both are NaN, inf where only one is).
    max_abs, max_rel (over non-zero expected values), max_ulps (in the dtype), and
    passed: every element within atol + rtol * |expected| of the dtype's tolerance.
    """

    abs_err: np.ndarray
    max_abs: float
    max_rel: float
    max_ulps: float
    atol: float
    rtol: float
    passed: bool
    dtype: str


def _biggest(arr):
    """The largest value, NaN left out (NaN when every value is NaN, 0 when there is none)."""
    if not arr.size:
        return 0.0
    top = np.max(arr)  # NaN as soon as one is NaN
    if not np.isnan(top):
        return float(top)
    return math.nan if np.all(np.isnan(arr)) else float(np.nanmax(arr))


def compare(actual, expected, dtype="float64", tolerance=None):
    """Compare `actual` (e.g. torch in `dtype`) with `expected` (e.g. the float64 core).

    NaN against NaN and inf against the same inf count as equal: a NaN that torch
    propagates through a group is the right answer when the core propagates it too.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise InputError(f"cannot compare shapes {a.shape} and {e.shape}")
    name = dtype_info(dtype).name
    tol = tolerance or TOLERANCES[name]
    shape, a, e = a.shape, a.ravel(), e.ravel()  # 1-D: a 0-d difference would be a scalar, not an array
    # four arrays of the input's size (err, |e|, one scratch, and a when it was not float64): a fresh large
    # array costs more to fill than the arithmetic on it
    with np.errstate(invalid="ignore"):
        err = np.subtract(a, e)  # NaN where either is NaN, or where both are the same infinity
    np.abs(err, out=err)
    odd = np.isnan(err)
    if odd.any():  # equal infinities and NaN against NaN are 0; NaN on one side only is inf
        ao, eo = a[odd], e[odd]
        err[odd] = np.where((ao == eo) | (np.isnan(ao) & np.isnan(eo)), 0.0, np.inf)
    size = np.abs(e)
    zero = err == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scratch = np.divide(err, size)  # relative: inf where expected is 0 (and the error is not)
        scratch[zero] = 0.0
        max_rel = _biggest(scratch)
        if not np.all(np.isfinite(size)):
            size[~np.isfinite(size)] = 0.0  # from here on, |expected| where it is finite, else 0
        np.divide(err, _ulp_of_magnitude(size, name, scratch), out=scratch)  # in ULPs
        scratch[zero] = 0.0
        max_ulps = _biggest(scratch)
        bound = np.multiply(size, tol.rtol, out=scratch)
        bound += tol.atol
    passed = bool(np.all(err <= bound))
    return Comparison(err.reshape(shape), _biggest(err), max_rel, max_ulps, tol.atol, tol.rtol, passed, name)
