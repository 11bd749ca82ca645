"""Which configurations pool the same elements, and when their outputs agree.

Two specs pool alike when their group ids make the same partition of the
elements (whatever the numbering), read in C order, so a spec on (N, L, D) can be
compared with one on the reshape (N, L, D, 1). Pooling alike makes the outputs
equal without affine parameters (if both or neither subtract the mean); with
affine parameters they agree only if the weights are laid out alike too, and
often they are not: LayerNorm's weight has normalized_shape, InstanceNorm's (C,).
"""

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .spec import KIND_TABLE, NormSpec, group_ids, layout


def same_partition(ids_a, ids_b):
    """Whether two id arrays (same number of elements) split the elements alike."""
    a = np.asarray(ids_a).ravel()
    b = np.asarray(ids_b).ravel()
    if a.size != b.size:
        return False
    # the same partition means the pairs (a, b) map one-to-one: as many pairs as labels on each side
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def param_ids(spec, shape):
    """Which weight entry scales each element (an int array of shape), or None without affine."""
    if not spec.has_weight:
        return None
    lay = layout(spec, tuple(shape))
    entries = np.arange(math.prod(lay.param_shape)).reshape(lay.param_broadcast)  # one id per weight entry
    return np.broadcast_to(entries, lay.shape)  # normalized_shape along the trailing dims, or (C,) along dim 1


@dataclass(frozen=True)
class Equivalent:
    """A configuration that pools like another one.

    same_output: the outputs are equal without affine parameters (same pooling, and
    both or neither center). same_with_affine: equal for every weight and bias too,
    which needs the weights laid out alike. note: the caveat in words.
    """

    spec: NormSpec
    shape: tuple
    same_output: bool
    same_with_affine: bool
    note: str


def _candidates(shape):
    """Every spec that is valid on shape: each kind with each of its parameter choices."""
    for k in range(1, len(shape) + 1):
        for kind in (kind for kind, info in KIND_TABLE.items() if info.trailing):
            yield NormSpec(kind, normalized_shape=shape[-k:])
    if len(shape) >= 2:
        yield NormSpec("batch")
        yield NormSpec("instance")
        c = shape[1]
        for g in range(1, c + 1):
            if c % g == 0:
                yield NormSpec("group", num_groups=g)


def _reshapes(shape):
    """The input itself and the reshapes people use to turn one norm into another."""
    shapes = [tuple(shape), tuple(shape) + (1,)]  # (N, L, D) -> (N, L, D, 1): D becomes a spatial dim
    if len(shape) > 3:
        shapes.append(tuple(shape[:2]) + (math.prod(shape[2:]),))  # (N, C, H, W) -> (N, C, H*W)
    if len(shape) >= 2:
        shapes.append((1,) + tuple(shape))  # a batch of one
    return shapes


def _valid(spec, shape):
    """Whether torch accepts spec on shape."""
    try:
        spec.check(shape)
        return True
    except InputError:
        return False


def equivalents(spec, shape):
    """The configurations (on shape or a reshape of it) that pool the same elements as spec.

    Each comes with whether its output equals spec's without and with affine
    parameters. The spec itself is left out. Plain default parameters are used
    for the candidates (eps 1e-5, affine as torch's default).
    """
    shape = tuple(int(d) for d in shape)
    ids = group_ids(spec, shape)
    mine = param_ids(spec.with_(elementwise_affine=True, affine=True), shape)
    found = []
    for other_shape in _reshapes(shape):
        for cand in _candidates(other_shape):
            if (cand == spec and other_shape == shape) or not _valid(cand, other_shape):
                continue
            if other_shape != shape and (cand.kind == spec.kind or not (cand.centers and spec.centers)):
                continue  # on a reshape, only another kind that also centers is news
            if not same_partition(ids, group_ids(cand, other_shape)):
                continue
            same_output = cand.centers == spec.centers
            theirs = param_ids(cand.with_(elementwise_affine=True, affine=True), other_shape)
            same_affine = same_output and same_partition(mine, theirs)
            if same_affine:
                note = "same output with affine parameters too: the weights are laid out alike"
            elif same_output:
                wshape = cand.param_shape(other_shape)
                note = (
                    f"same output without affine; the affine weight then has shape {wshape} "
                    f"instead of {spec.param_shape(shape)}"
                )
            else:
                note = "same groups, different output: one subtracts the mean, the other does not"
            found.append(Equivalent(cand, other_shape, same_output, same_affine, note))
    return found


def outputs_equal(spec_a, x_a, spec_b, x_b, atol=1e-12):
    """Whether the manual outputs of spec_a on x_a and spec_b on x_b agree (x_b a reshape of x_a)."""
    from .manual import manual_forward

    ya = manual_forward(spec_a, x_a).ravel()
    yb = manual_forward(spec_b, x_b).ravel()
    return ya.shape == yb.shape and bool(np.allclose(ya, yb, rtol=0, atol=atol, equal_nan=True))

