"""Every exercise's key, computed with torch.nn itself: its modules, their outputs, their buffers, their errors.

Nothing here asks lnorm's own core: which elements share a mean is what torch's output says
(the outputs that move when one input moves), the row is torch's output, what torch accepts is
whether the module runs, and running_var is the module's buffer after one training step. The
explanations (lnorm_core.practice.check) then say why, with lnorm's equivalences and mistakes.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .exercise import Exercise, choice_spec

SAME_TOL = 1e-9  # two float64 outputs this close (relative to their size) are the same up to rounding


def module(spec, shape, affine=False):
    """The float64 torch.nn module for spec on an input of shape, with or without its affine parameters.

    InstanceNorm and BatchNorm get the class for the input's dims (1d, 2d, 3d); a fresh module
    holds torch's initial weight and bias (ones and zeros) and running statistics (0 and 1).
    """
    f64 = dict(dtype=torch.float64)
    if spec.kind == "layer":
        return nn.LayerNorm(spec.normalized_shape, spec.eps, elementwise_affine=affine, **f64)
    if spec.kind == "rms":
        return nn.RMSNorm(spec.normalized_shape, spec.eps, elementwise_affine=affine, **f64)
    if spec.kind == "group":
        return nn.GroupNorm(spec.num_groups, shape[1], spec.eps, affine=affine, **f64)
    cls = getattr(nn, spec.nn_class(len(shape)))  # BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d
    return cls(shape[1], spec.eps, spec.momentum, affine=affine, track_running_stats=spec.track_running_stats,
               **f64)


def _run(m, x):
    """m(x) without autograd, as float64 numpy."""
    with torch.no_grad():
        return m(x).numpy()


def moved_by(m, x, flat):
    """The flat indices of the outputs of m that change when the input x.flat[flat] changes (by +1).

    A normalization's output depends on exactly the inputs of its own group, through their mean
    and variance: these are the elements that share a mean and a variance with x.flat[flat].
    The element itself is always one of them (a group of one has output 0 whatever its input).
    """
    y = _run(m, x)
    bumped = x.clone()
    bumped.view(-1)[flat] += 1.0
    moved = np.flatnonzero(_run(m, bumped).ravel() != y.ravel())
    return tuple(sorted(set(moved.tolist()) | {int(flat)}))


def groups(m, x):
    """The partition torch's module makes of x: for each element, the smallest flat index of its group."""
    label = np.full(x.numel(), -1)
    for j in range(x.numel()):
        if label[j] < 0:
            label[list(moved_by(m, x, j))] = j
    return label


def _tensor(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


@dataclass(frozen=True)
class ShareKey:
    """The elements that share a mean and a variance with the marked one (flat indices, it among them)."""

    cells: tuple


def share_key(ex: Exercise):
    x = _tensor(ex.x())
    flat = int(np.ravel_multi_index(ex.where, ex.shape))
    return ShareKey(moved_by(module(ex.spec, ex.shape), x, flat))


@dataclass(frozen=True)
class RowKey:
    """torch's output y (the whole of it) and the row asked, y[where]."""

    y: np.ndarray
    row: np.ndarray


def row_key(ex: Exercise):
    y = _run(module(ex.spec, ex.shape), _tensor(ex.x()))
    return RowKey(y, y[ex.where])


@dataclass(frozen=True)
class AcceptKey:
    """For each choice, whether torch accepts it on the input, and torch's message where it refuses ("" if not)."""

    accepted: tuple
    messages: tuple


def accept_key(ex: Exercise):
    x = _tensor(ex.x())
    accepted, messages = [], []
    for choice in ex.choices:
        try:
            _run(module(choice_spec(ex.layer, choice), ex.shape), x)  # GroupNorm refuses when it is built
        except (RuntimeError, ValueError) as e:
            accepted.append(False)
            messages.append(str(e))
        else:
            accepted.append(True)
            messages.append("")
    return AcceptKey(tuple(accepted), tuple(messages))


QUESTIONS = ("pooling", "no affine", "affine", "eval")  # what a "same or different" exercise asks, in order


@dataclass(frozen=True)
class SameKey:
    """Two layers, A on x and B on view(x): for each of QUESTIONS, whether they are the same.

    pooling: torch's two partitions of x are the same. no affine: the outputs agree in training
    mode without weight and bias. affine: they agree for any weight and bias (the outputs agree
    without affine, and each weight entry scales the same elements in both). eval: fresh modules
    in eval mode, without affine, give the same output. gaps: the largest |y_A - y_B| without
    affine and in eval.
    """

    answers: dict
    gaps: dict


def _outputs_same(a, b):
    gap = float(np.max(np.abs(a - b)))
    return gap <= SAME_TOL * max(1.0, float(np.max(np.abs(a)))), gap


def _param_groups(spec, shape, x):
    """The partition of x's elements by the affine entry that shifts (or, without a bias, scales) them."""
    m = module(spec, shape, affine=True)
    p = m.bias if getattr(m, "bias", None) is not None else m.weight
    y = _run(m, x)
    label = np.full(x.numel(), -1)
    for j in range(p.numel()):
        with torch.no_grad():
            p.view(-1)[j] += 1.0
            moved = np.flatnonzero(_run(m, x).ravel() != y.ravel())
            p.view(-1)[j] -= 1.0
        label[moved] = moved.min() if moved.size else -1
    return label


def _same_partition(a, b):
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def same_key(ex: Exercise):
    view = ex.view_of_x
    x = ex.x()
    xa, xb = _tensor(x), _tensor(view.apply(x))
    spec_a, spec_b = ex.spec, ex.other_spec
    undo = lambda flat: np.asarray(view.undo(np.asarray(flat).reshape(view.shape), x.shape)).ravel()  # noqa: E731
    index_b = undo(np.arange(x.size))  # which flat element of view(x) each element of x is
    ma, mb = module(spec_a, x.shape), module(spec_b, view.shape)
    pooling = _same_partition(groups(ma, xa), groups(mb, xb)[index_b])
    plain, gap = _outputs_same(_run(ma, xa), undo(_run(mb, xb)).reshape(x.shape))
    weights = _same_partition(_param_groups(spec_a, x.shape, xa), _param_groups(spec_b, view.shape, xb)[index_b])
    fresh_a, fresh_b = module(spec_a, x.shape).eval(), module(spec_b, view.shape).eval()  # initial buffers 0 and 1
    in_eval, eval_gap = _outputs_same(_run(fresh_a, xa), undo(_run(fresh_b, xb)).reshape(x.shape))
    answers = {"pooling": pooling, "no affine": plain, "affine": plain and weights, "eval": in_eval}
    return SameKey(answers, {"no affine": gap, "eval": eval_gap})


@dataclass(frozen=True)
class BuffersKey:
    """BatchNorm's buffers after one training step: running_var[c] (the key), and what usual slips give instead.

    before, after: (running_mean, running_var) of the module before and after the step.
    values: the channel's n values; candidates: {slip: the number it gives}, from torch's own var and mean.
    """

    value: float
    before: tuple
    after: tuple
    values: np.ndarray
    candidates: dict


def buffers_key(ex: Exercise):
    x = _tensor(ex.x())
    m = module(ex.spec, ex.shape)
    before = (m.running_mean.numpy().copy(), m.running_var.numpy().copy())
    m.train()
    _run(m, x)
    after = (m.running_mean.numpy().copy(), m.running_var.numpy().copy())
    c, mom = ex.where[0], ex.momentum
    values = x.transpose(0, 1)[c].reshape(-1)  # channel c over the batch (and the length)
    unbiased, biased = float(values.var(correction=1)), float(values.var(correction=0))
    old = float(before[1][c])
    candidates = {
        "biased": (1 - mom) * old + mom * biased,
        "no momentum": unbiased,
        "no momentum, biased": biased,
        "momentum the other way": mom * old + (1 - mom) * unbiased,
        "momentum the other way, biased": mom * old + (1 - mom) * biased,
        "running_mean": float(after[0][c]),
        "std": (1 - mom) * old + mom * unbiased ** 0.5,
    }
    return BuffersKey(float(after[1][c]), before, after, values.numpy(), candidates)


KEYS = {"share": share_key, "row": row_key, "accept": accept_key, "same": same_key, "buffers": buffers_key}


def key(ex: Exercise):
    """The exercise's key, from torch.nn (a ShareKey, RowKey, AcceptKey, SameKey or BuffersKey)."""
    return KEYS[ex.kind](ex)
