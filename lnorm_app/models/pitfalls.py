"""The Pitfalls page's every mistake: each of the usual mistakes, alone and in the combinations people make,
beside torch's output (the finder, the pooling picture and BatchNorm's steps have models of their own).

Pure functions of a Config, cached on Config.key().
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from lnorm_core import (
    MISTAKES,
    InputError,
    NormSpec,
    forward_each,
    torch_forward,
)

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache
from .explorer import explore

# the combinations people make, beside each mistake alone
COMBINATIONS = (
    ("unbiased", "std_under_sqrt"),  # statistics.stdev under the square root
    ("unbiased", "eps_outside_sqrt"),  # torch.std(x) + eps
    ("unbiased", "no_eps"),  # (x - x.mean()) / x.std()
    ("std_under_sqrt", "no_eps"),
)
PITFALLS = tuple((m,) for m in MISTAKES) + COMBINATIONS  # every mistake alone, then the combinations


HEAD_ELEMENTS = 200  # a mistake's output is kept whole only this far (C order): the figure shows as many


@dataclass(frozen=True, eq=False)
class Pitfall:
    """One mistake (or combination): how far it is from torch, the lines, and the start of its output. Equal only
    to itself, and hashed so: a tuple of them is a key, and the figure of a cached Pitfalls is built once.

    y_head, diff_head: its output and output − torch's, flattened, the first HEAD_ELEMENTS only (a
    1024 x 1024 input would hold 16 MB a mistake; pitfall_output gives one mistake's whole arrays).
    max_abs and visible are over every element.
    """

    mistakes: tuple
    shape: tuple
    y_head: np.ndarray
    diff_head: np.ndarray
    max_abs: float
    wrong_lines: tuple
    fixes: tuple
    description: str
    visible: bool = True  # whether the output differs from torch's as printed with 4 decimals

    @property
    def size(self):
        """How many elements the output has."""
        return int(np.prod(self.shape))

    @property
    def whole(self):
        """The whole output in its shape, where the head holds all of it (else None)."""
        return self.y_head.reshape(self.shape) if self.y_head.size == self.size else None


@dataclass(frozen=True)
class Pitfalls:
    """The right answer (torch's, and the core's) and each pitfall beside it."""

    spec: NormSpec
    x: np.ndarray
    y_torch: np.ndarray
    rows: tuple  # of Pitfall


_pitfall_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["pitfalls"] << 20)


def pitfalls(config):
    """Every one of PITFALLS beside torch's output (cached)."""
    return _pitfall_cache.get_or_compute(("pitfalls",) + config.key(), lambda: _pitfalls(config), config.elements())


def _output(spec, x, weight, bias, mistakes, y_torch):
    """(y, y − y_torch): one mistake's whole output (manual_forward's) and its difference from torch's."""
    [(_, y)] = forward_each(spec, x, weight, bias, [mistakes])  # the output alone: no group ids, no x_hat kept
    return y, y - y_torch


def _pitfall(mistakes, y, torch_print, scratch):
    """One Pitfall from its output y (used up: it is overwritten), against torch's (a TorchPrint, shared by every
    mistake). scratch: an array of y's shape to hold the difference (one for every mistake: a fresh large array
    costs more to fill than the arithmetic)."""
    head = lambda a: a.ravel()[:HEAD_ELEMENTS].copy()  # noqa: E731 - a copy: the whole array is let go
    y_head = head(y)
    diff = np.subtract(y, torch_print.y, out=scratch)
    diff_head = head(diff)
    size = np.abs(diff, out=diff)
    max_abs = float(size.max()) if size.size else float("nan")  # NaN as soon as one difference is NaN
    if not math.isfinite(max_abs):  # NaN or inf somewhere: the largest finite-or-inf |diff|, NaN when none is finite
        with np.errstate(invalid="ignore"):
            max_abs = float(np.nanmax(size)) if np.isfinite(size).any() else float("nan")
    # as torch prints: two numbers 1e-4 or more apart never round to the same 4 decimals (rounding is monotone)
    visible = max_abs >= 1e-4 or torch_print.differs(y, in_place=True)
    ms = [MISTAKES[m] for m in mistakes]
    return Pitfall(tuple(mistakes), tuple(y.shape), y_head, diff_head, max_abs, tuple(m.wrong for m in ms),
                   tuple(m.fix for m in ms), "; and ".join(m.description for m in ms), visible)


class TorchPrint:
    """torch's output, and whether another output prints differently with 4 decimals, as torch prints.

    np.round(a, 4) is rint(a * 1e4) / 1e4, and two different integers below 2**53 stay different
    once divided by 1e4: two numbers print alike exactly when rint(a * 1e4) are equal. So torch's
    side is scaled and rounded once, and each output costs one new array, not two.
    """

    def __init__(self, y):
        self.y = y

    @functools.cached_property
    def steps(self):
        """rint(y * 1e4): the printed number, in units of its last decimal."""
        with np.errstate(over="ignore"):  # past 1.8e304 the scaled number is inf, as in np.round
            return np.rint(self.y * 1e4)

    def differs(self, y, in_place=False):
        """Whether y prints differently from torch's output (NaN against NaN prints alike); in_place: y may be
        overwritten."""
        with np.errstate(over="ignore", invalid="ignore"):
            s = np.multiply(y, 1e4, out=y if in_place else None)
            np.rint(s, out=s)
        return prints_differently(s, self.steps)


def prints_differently(a, b):
    """Whether two rounded arrays differ anywhere, NaN against NaN counting as alike."""
    differ = np.flatnonzero(a != b)  # NaN != NaN: those few are looked at again
    return bool(differ.size) and not np.all(np.isnan(a.flat[differ]) & np.isnan(b.flat[differ]))


def _pitfalls(config):
    e = explore(config)
    y_torch = torch_forward(e.spec, e.x, e.weight, e.bias)
    torch_print, scratch = TorchPrint(y_torch), np.empty(y_torch.shape)
    rows = tuple(_pitfall(c, y, torch_print, scratch) for c, y in forward_each(e.spec, e.x, e.weight, e.bias,
                                                                                PITFALLS))
    return Pitfalls(e.spec, e.x, y_torch, rows)


_output_cache = BoundedCache(max_entries=4, max_bytes=CACHE_MIB["pitfall_output"] << 20)


def pitfall_output(config, mistakes):
    """(y, y − torch's y): the whole output of one of PITFALLS, and its difference from torch's (cached)."""
    mistakes = tuple(mistakes)
    if mistakes not in PITFALLS:
        raise InputError(f"no pitfall {'+'.join(mistakes)!r}; choose one of "
                         + ", ".join("+".join(p) for p in PITFALLS))
    key = ("pitfall output", mistakes) + config.key()

    def compute():
        e, result = explore(config), pitfalls(config)
        return _output(e.spec, e.x, e.weight, e.bias, mistakes, result.y_torch)
    return _output_cache.get_or_compute(key, compute, config.elements())
