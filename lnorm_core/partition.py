"""Which elements go together: partitions of a tensor's elements, and the views that turn x into another input.

    same_partition(ids_a, ids_b)   whether two id arrays split the elements alike (whatever the numbering)
    refines(fine, coarse)          whether each label of fine sits inside one label of coarse
    param_ids(spec, shape)         which weight entry scales each element
    View, as_is, reshaped, permuted  x moved and reshaped into another layer's input, and back
"""

import math
from dataclasses import dataclass

import numpy as np


def same_partition(ids_a, ids_b):
    """Whether two id arrays (same number of elements) split the elements alike."""
    a = np.asarray(ids_a).ravel()
    b = np.asarray(ids_b).ravel()
    if a.size != b.size:
        return False
    # the same partition means the pairs (a, b) map one-to-one: as many pairs as labels on each side
    n_a, n_b, n_pairs = _label_counts(a, b)
    return n_pairs == n_a == n_b


def _label_counts(a, b):
    """(labels in a, labels in b, distinct pairs (a, b)) of two flat label arrays of one size."""
    _, ia = np.unique(a, return_inverse=True)  # labels as 0..n_a-1
    _, ib = np.unique(b, return_inverse=True)
    n_a, n_b = int(ia.max(initial=-1)) + 1, int(ib.max(initial=-1)) + 1
    pairs = ia.astype(np.int64).ravel() * max(n_b, 1) + ib.ravel()  # one int per (a, b) pair
    return n_a, n_b, np.unique(pairs).size


def param_ids(spec, shape):
    """Which weight entry scales each element (an int array of shape), or None without affine."""
    if not spec.has_weight:
        return None
    lay = spec.layout(tuple(shape))
    entries = np.arange(math.prod(lay.param_shape)).reshape(lay.param_broadcast)  # one id per weight entry
    return np.broadcast_to(entries, lay.shape)  # normalized_shape along the trailing dims, or (C,) along dim 1


@dataclass(frozen=True)
class View:
    """How x becomes another layer's input: its dims permuted by perm, then reshaped to shape (the same numbers).

    code: the same in torch, e.g. "x.transpose(1, 2)" or "x.unsqueeze(-1)".
    """

    code: str
    perm: tuple
    shape: tuple

    def apply(self, x):
        """x as the other layer's input: (*x.shape) -> shape."""
        return np.transpose(x, self.perm).reshape(self.shape)

    def undo(self, y, x_shape):
        """The other layer's output back in x's layout: shape -> (*x_shape)."""
        moved = tuple(x_shape[p] for p in self.perm)
        return np.transpose(np.asarray(y).reshape(moved), np.argsort(self.perm))


def as_is(shape):
    """The View that leaves x as it is."""
    return View("x", tuple(range(len(shape))), tuple(shape))


def reshaped(shape, new_shape, code):
    """A View that only reshapes x (no dim moves)."""
    return View(code, tuple(range(len(shape))), tuple(new_shape))


def permuted(shape, perm, code):
    """A View that moves x's dims by perm (a transpose or permute in torch)."""
    return View(code, tuple(perm), tuple(shape[p] for p in perm))


def refines(fine, coarse):
    """Whether each label of `fine` sits inside one label of `coarse` (same elements, any numbering)."""
    a, b = np.asarray(fine).ravel(), np.asarray(coarse).ravel()
    if a.size != b.size:
        return False
    n_fine, _, n_pairs = _label_counts(a, b)
    return n_pairs == n_fine
