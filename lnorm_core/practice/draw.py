"""Exercises drawn, seeded, from the space the other pages cover: layer, shape, parameters.

    draw("share", 17)       # the same Exercise for the same kind and seed, on every machine

Each draw uses its own numpy Generator (never the global random state), keeps the tensor small
enough to click (exercise.check_panels) and asks only what torch accepts (exercise.check_exercise).
The draw is written into the exercise's code in full, so a link stays exact even if the drawing
here changes.
"""

import numpy as np

from .exercise import KINDS, MAX_CHOICES, MAX_SEED, Exercise, check_exercise

# "same or different": two layers on one input, and the input each takes (a template of its shape)
PAIRS = (
    ("L1", "I", "n", "NLD"),  # LayerNorm(D) and InstanceNorm1d(L) on x: the same groups
    ("L1", "I", "t", "NLD"),  # LayerNorm(D) and InstanceNorm1d(D) on x.transpose(1, 2): the usual claim
    ("G1", "L3", "n", "NCHW"),  # GroupNorm(1, C) and LayerNorm((C, H, W)): alike but for the weight
    ("I", "L2", "n", "NCHW"),  # InstanceNorm2d and LayerNorm((H, W))
    ("I", "L3", "n", "NCHW"),  # InstanceNorm2d and LayerNorm((C, H, W))
    ("I", "L1", "p", "NCHW"),  # InstanceNorm2d and channels-last LayerNorm((C,)) (ConvNeXt)
    ("GC", "I", "n", "NCL"),  # GroupNorm(C, C) and InstanceNorm1d
    ("L1", "G1", "n", "ND"),  # LayerNorm(D) and GroupNorm(1, D) on (N, D)
    ("L1", "R1", "n", "NLD"),  # LayerNorm and RMSNorm: the same groups, one subtracts the mean
    ("B", "I", "n", "1CL"),  # BatchNorm1d and InstanceNorm1d on a batch of one
    ("I", "It", "n", "NCL"),  # InstanceNorm1d with and without running statistics
    ("B", "G1", "n", "NCL"),  # BatchNorm1d and GroupNorm(1)
)


def draw(kind, seed):
    """An Exercise of kind ("share", "row", "accept", "same", "buffers") drawn from seed (a whole number >= 0)."""
    if kind not in KINDS.values():
        raise ValueError(f"kind is one of {', '.join(KINDS.values())}, not {kind!r}")
    rng = np.random.default_rng(int(seed))
    ex = _DRAWS[kind](rng, int(rng.integers(0, MAX_SEED)))
    check_exercise(ex)
    return ex


def _size(rng, low, high):
    return int(rng.integers(low, high + 1))


def _index(rng, shape):
    return tuple(int(rng.integers(0, d)) for d in shape)


def _share(rng, seed):
    layer = str(rng.choice(["L", "G", "B", "I"]))
    if layer == "L":
        ndim = _size(rng, 2, 3)
        shape = (_size(rng, 2, 4), _size(rng, 2, 4), _size(rng, 3, 6))[-ndim:]
        code = f"L{_size(rng, 1, ndim - 1 if ndim > 2 and rng.random() < 0.7 else ndim)}"
    else:
        shape = _vision(rng) if rng.random() < 0.4 else (_size(rng, 2, 4), _size(rng, 2, 6), _size(rng, 2, 6))
        c = shape[1]
        code = {"B": "B", "I": "I"}.get(layer) or f"G{rng.choice([g for g in range(1, c + 1) if c % g == 0])}"
    return Exercise("share", code, shape, seed, where=_index(rng, shape))


def _vision(rng):
    """(N, C, H, W) with N * C <= 4 panels."""
    n, c = [(1, 4), (2, 2), (1, 2), (2, 1)][int(rng.integers(0, 4))]
    return (n, c, _size(rng, 2, 4), _size(rng, 2, 5))


def _row(rng, seed):
    layer = str(rng.choice(["L1", "L1", "L2", "G", "I"]))
    if layer.startswith("L"):
        shape = (_size(rng, 2, 3), _size(rng, 2, 3), _size(rng, 3, 5))
        if layer == "L1" and rng.random() < 0.3:
            shape = shape[1:]
    else:
        shape = (2, 4, _size(rng, 3, 4)) if layer == "G" else (2, _size(rng, 2, 3), _size(rng, 3, 5))
        layer = "G2" if layer == "G" else "I"
    return Exercise("row", layer, shape, seed, where=_index(rng, shape[:-1]))


def _accept(rng, seed):
    if rng.random() < 0.3:
        c = int(rng.choice([4, 6]))
        shape = (2, c, _size(rng, 2, 4))
        pool = list(range(1, c + 1)) + [2 * c]
        choices = sorted(int(g) for g in rng.choice(pool, size=min(5, len(pool)), replace=False))
        return Exercise("accept", "G", shape, seed, choices=tuple(choices))
    ndim = _size(rng, 2, 3)
    shape = (_size(rng, 2, 4), _size(rng, 2, 5), _size(rng, 2, 5))[-ndim:]  # at most 4 panels
    suffixes = [shape[-k:] for k in range(1, ndim + 1)]
    wrong = [shape[:1], shape[:2], shape[-2:-1], tuple(reversed(shape[-2:])), (shape[-1] + 1,)]
    pool = list(dict.fromkeys(suffixes[:2] + wrong))  # distinct, in a fixed order
    picked = rng.choice(len(pool), size=min(len(pool), MAX_CHOICES - 3), replace=False)
    return Exercise("accept", str(rng.choice(["L", "L", "R"])), shape, seed,
                    choices=tuple(tuple(int(d) for d in pool[i]) for i in sorted(picked)))


def _same(rng, seed):
    a, b, view, template = PAIRS[int(rng.integers(0, len(PAIRS)))]
    sizes = {"N": _size(rng, 2, 3), "L": _size(rng, 3, 5), "D": _size(rng, 3, 6), "C": _size(rng, 2, 4),
             "H": _size(rng, 2, 4), "W": _size(rng, 2, 5), "1": 1}
    if template == "NCHW":
        sizes["N"], sizes["C"] = [(1, 4), (2, 2), (1, 2), (1, 3)][int(rng.integers(0, 4))]
    shape = tuple(sizes[t] for t in template)
    a, b = (f"G{sizes['C']}" if code == "GC" else code for code in (a, b))
    return Exercise("same", a, shape, seed, other=b, view=view)


def _buffers(rng, seed):
    shape = (_size(rng, 2, 4), _size(rng, 2, 3)) if rng.random() < 0.5 else (2, _size(rng, 2, 3), _size(rng, 2, 3))
    momentum = float(rng.choice([0.1, 0.1, 0.2, 0.3, 0.05]))  # not 0.5: either way round gives the same
    return Exercise("buffers", "B", shape, seed, where=(int(rng.integers(0, shape[1])),), momentum=momentum)


_DRAWS = {"share": _share, "row": _row, "accept": _accept, "same": _same, "buffers": _buffers}
