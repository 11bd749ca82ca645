"""Which configurations pool the same elements as a layer, on its input or a reshape of it.

Two specs pool alike when their group ids make the same partition of the elements (whatever the
numbering), read in C order, so a spec on (N, L, D) can be compared with one on the reshape
(N, L, D, 1). Pooling alike makes the outputs equal without affine parameters (if both or neither
subtract the mean); with affine parameters they agree only if the weights are laid out alike too,
and often they are not: LayerNorm's weight has normalized_shape, InstanceNorm's (C,).
equivalents(spec, shape, x=x) lists them, each with its LayerPair (lnorm_core.pairs): when the
outputs agree, with numbers on x.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from .layers import valid_layers
from .manual import manual_forward
from .pairs import compare_layers, plain
from .partition import as_is, param_ids, reshaped, same_partition
from .spec import NormSpec, group_ids


@dataclass(frozen=True)
class Equivalent:
    """A configuration that pools like another one.

    same_output: the outputs are equal without affine parameters (same pooling, and
    both or neither center). same_with_affine: equal for every weight and bias too,
    which needs the weights laid out alike. note: the caveat in words.
    how: the code that turns x into this layer's input, e.g. "x" or "x.unsqueeze(-1)".
    pair: with an input x given to equivalents, the LayerPair: when the outputs are
    equal and when not, with numbers on x.
    """

    spec: NormSpec
    shape: tuple
    same_output: bool
    same_with_affine: bool
    note: str
    how: str = "x"
    pair: object = None


def _reshapes(shape):
    """The input itself and the reshapes people use to turn one norm into another, as Views."""
    shape = tuple(shape)
    views = [as_is(shape), reshaped(shape, shape + (1,), "x.unsqueeze(-1)")]  # (N, L, D) -> (N, L, D, 1)
    if len(shape) > 3:
        views.append(reshaped(shape, shape[:2] + (math.prod(shape[2:]),), "x.flatten(2)"))  # (N, C, H*W)
    if len(shape) >= 2:
        views.append(reshaped(shape, (1,) + shape, "x.unsqueeze(0)"))  # a batch of one
    return views


def equivalents(spec, shape, x=None, seed=0):
    """The configurations (on shape or a reshape of it) that pool the same elements as spec.

    Each comes with whether its output equals spec's without and with affine
    parameters. The spec itself (the same kind pooling the same way, whatever its
    eps, affine or mode) is left out. The candidates take spec's eps and torch's
    defaults otherwise (affine as torch's default). With x (of shape), each also
    carries its LayerPair (compare_layers): when the outputs agree, with numbers on x.
    Empty where torch refuses spec in training mode on shape (BatchNorm in eval on one
    sample): such a layer uses only its running statistics and pools nothing.
    """
    shape = tuple(int(d) for d in shape)
    return [Equivalent(cand, view.shape, same_output, same_affine, note, view.code,
                       compare_layers(spec, x, cand, view, seed) if x is not None else None)
            for cand, view, same_output, same_affine, note in _pooling_alike(spec, shape)]


@functools.lru_cache(maxsize=64)
def _pooling_alike(spec, shape):
    """The layers that pool like spec on shape, and how: ((candidate, view, same output, same with affine, note)).

    Which these are depends on the layers and the shape alone, not on x: a new input of the same shape (a new
    seed) finds them worked out (cached), and only the numbers on it are computed.
    """
    if not plain(spec).accepts(shape):
        return ()  # torch refuses this layer in training on this input (eval only): it pools nothing to compare
    ids = group_ids(spec, shape)
    mine = param_ids(spec.with_affine(), shape)
    found = []
    for view in _reshapes(shape):
        other_shape = view.shape
        for cand in valid_layers(other_shape, spec.eps):
            if cand.same_layer(spec) and other_shape == shape:
                continue  # the layer itself, whatever its eps, affine or mode
            if other_shape != shape and (cand.kind == spec.kind or not (cand.centers and spec.centers)):
                continue  # on a reshape, only another kind that also centers is news
            if not same_partition(ids, group_ids(cand, other_shape)):
                continue
            same_output = cand.centers == spec.centers
            theirs = param_ids(cand.with_affine(), other_shape)
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
            found.append((cand, view, same_output, same_affine, note))
    return tuple(found)


def outputs_equal(spec_a, x_a, spec_b, x_b, atol=1e-12):
    """Whether the manual outputs of spec_a on x_a and spec_b on x_b agree (x_b a reshape of x_a)."""
    ya = manual_forward(spec_a, x_a).ravel()
    yb = manual_forward(spec_b, x_b).ravel()
    return ya.shape == yb.shape and bool(np.allclose(ya, yb, rtol=0, atol=atol, equal_nan=True))


# ---- when two layers give the same output, with numbers on an input ------------------------------


