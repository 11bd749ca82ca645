"""How far one answer is from another: absolute, relative and in ULPs of a dtype.

The tolerances are per dtype and stated with their reason, so a pass or a fail on
the compare page can be argued with. Each dtype's format (mantissa bits, smallest
normal exponent) is its row of lnorm_core.dtypes.DTYPE_TABLE.
"""

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
    d = dtype_info(dtype)
    bits, emin = d.mantissa_bits, d.min_exponent
    v = np.abs(np.asarray(values, dtype=np.float64))
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(v, where=v > 0, out=np.full(v.shape, float(emin))))
    return np.exp2(np.maximum(exponent, emin) - bits)


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
    same = (a == e) | (np.isnan(a) & np.isnan(e))  # equal, same infinities, or both NaN
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(a - e))
    err = np.where(np.isnan(err), np.inf, err)  # NaN on one side only
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / np.abs(e))
        ulps = np.where(err == 0, 0.0, err / ulp(np.where(np.isfinite(e), e, 0.0), name))
    finite_e = np.where(np.isfinite(e), np.abs(e), 0.0)
    passed = bool(np.all(err <= tol.atol + tol.rtol * finite_e))
    biggest = lambda arr: float(np.nanmax(arr)) if arr.size else 0.0  # noqa: E731
    return Comparison(err, biggest(err), biggest(rel), biggest(ulps), tol.atol, tol.rtol, passed, name)
