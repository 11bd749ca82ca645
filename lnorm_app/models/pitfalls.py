"""The Pitfalls page's model: the finder for a pasted row (verdict, where it sits, its group step by step,
what was pooled against what the layer pools), every mistake beside torch, BatchNorm train vs eval.

Pure functions of a Config and of pasted text, cached on Config.key() and the text's digest.
"""

import functools
import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np

from lnorm_core import (
    MISTAKES,
    InputError,
    NormSpec,
    Recipe,
    RunningStats,
    check_shape,
    equivalents,
    forward_each,
    group_ids,
    group_steps,
    manual_forward,
    parse_tensor,
    running_stats_step,
    same_partition,
    seeded_tensor,
    torch_forward,
    which_mistake,
)
from lnorm_core.diagnosis import block_label, printed_digits

from ..cache import CACHE_MIB, BoundedCache
from .explorer import EQUIVALENTS_MAX_ELEMENTS, explore

# the combinations people make, beside each mistake alone
COMBINATIONS = (
    ("unbiased", "std_under_sqrt"),  # statistics.stdev under the square root
    ("unbiased", "eps_outside_sqrt"),  # torch.std(x) + eps
    ("unbiased", "no_eps"),  # (x - x.mean()) / x.std()
    ("std_under_sqrt", "no_eps"),
)
PITFALLS = tuple((m,) for m in MISTAKES) + COMBINATIONS  # every mistake alone, then the combinations


HEAD_ELEMENTS = 200  # a mistake's output is kept whole only this far (C order): the figure shows as many


@dataclass(frozen=True)
class Pitfall:
    """One mistake (or combination): how far it is from torch, the lines, and the start of its output.

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
    rows: list


_pitfall_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["pitfalls"] << 20)


def pitfalls(config):
    """Every one of PITFALLS beside torch's output (cached)."""
    return _pitfall_cache.get_or_compute(("pitfalls",) + config.key(), lambda: _pitfalls(config))


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
        return _prints_differently(s, self.steps)


def _prints_differently(a, b):
    """Whether two rounded arrays differ anywhere, NaN against NaN counting as alike."""
    differ = np.flatnonzero(a != b)  # NaN != NaN: those few are looked at again
    return bool(differ.size) and not np.all(np.isnan(a.flat[differ]) & np.isnan(b.flat[differ]))


def _pitfalls(config):
    e = explore(config)
    y_torch = torch_forward(e.spec, e.x, e.weight, e.bias)
    torch_print, scratch = TorchPrint(y_torch), np.empty(y_torch.shape)
    rows = [_pitfall(c, y, torch_print, scratch) for c, y in forward_each(e.spec, e.x, e.weight, e.bias, PITFALLS)]
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
    return _output_cache.get_or_compute(key, compute)


# ---- the finder: a pasted row, its verdict, its group step by step, what was pooled ---------------

BESIDE = ("unbiased", "std_under_sqrt")  # the forum's mistake: shown beside a right row, or before one is pasted
WHOLE_SAMPLE = "the whole sample (every dim but the batch dim)"


@dataclass(frozen=True)
class Finding:
    """The finder's answer for a pasted row, and the group to walk through step by step.

    wrong: the pasted numbers as parsed (None when nothing was pasted). diagnosis: which_mistake's
    Diagnosis (None when nothing was pasted). mistakes: the combination the steps are taken with
    (the first match, else BESIDE). position: the block the steps are about (where, nearest, or the
    first row). block_label: it as a person indexes it, e.g. 'y[0, 1, :]'. group_label: the layer's
    group of its first element, e.g. 'x[0, 1, :]'; group_size: its n; block_groups: how many of the
    layer's groups the block touches. right_block, mistake_block: the right output and the
    mistake's at position. input_note: how the input was read (a rounded print or exact).
    steps: the GroupSteps; table: its rows for the figure (see step_rows).
    """

    wrong: np.ndarray
    diagnosis: object
    mistakes: tuple
    position: tuple
    block_label: str
    group_label: str
    group_size: int
    block_groups: int
    right_block: np.ndarray
    mistake_block: np.ndarray
    steps: object
    table: tuple
    printed_as: str = ""
    input_note: str = ""


_finder_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["finder"] << 20)


def digest(text):
    """A pasted text's key in a cache: its sha256."""
    return hashlib.sha256((text or "").encode("utf-8", "replace")).hexdigest()


def finder(config, wrong_text):
    """The verdict on a pasted row (or whole output) for config's input, and its group step by step (cached).

    An empty wrong_text walks through the first row beside the forum's mistake.
    """
    return _finder_cache.get_or_compute(("finder", digest(wrong_text)) + config.key(),
                                        lambda: _finder(config, wrong_text))


def _finder(config, wrong_text):
    e = explore(config)
    shape = e.x.shape
    d = wrong = None
    mistakes, position = BESIDE, ()
    if wrong_text and wrong_text.strip():
        wrong = parse_tensor(wrong_text)
        d = which_mistake(e.spec, e.x, wrong, e.weight, e.bias)
        if d.verdict == "match":
            mistakes, position = d.mistakes[0], d.where
        else:
            position = d.where if d.verdict == "correct" else d.nearest
    else:
        position = tuple(0 for _ in shape[:-1])  # the first row, y[0, ..., 0, :]
    block_ndim = len(shape) - len(position)
    steps = group_steps(e.spec, e.x, position, e.weight, e.bias, mistakes)
    y_wrong = manual_forward(e.spec, e.x, e.weight, e.bias, mistakes=mistakes)
    ids_block = e.f.ids[position]
    printed_as = printed_digits(wrong) if wrong is not None else ""
    return Finding(wrong, d, tuple(mistakes), tuple(position), block_label(position, block_ndim),
                   group_slice(steps.indices, shape), steps.n, int(np.unique(ids_block).size),
                   np.asarray(e.f.y[position]), np.asarray(y_wrong[position]), steps, step_rows(steps), printed_as,
                   _input_note(e.x, d))


def group_slice(indices, shape):
    """The elements of a group as a person indexes them: 'x[0, 1, :]', 'x[1, 2:4, :]', 'x[:, 3]'."""
    parts = []
    for dim, size in enumerate(shape):
        values = np.unique(indices[:, dim])
        if values.size == size and size > 1:
            parts.append(":")
        elif values.size == 1:
            parts.append(str(int(values[0])))
        elif np.array_equal(values, np.arange(values[0], values[0] + values.size)):
            parts.append(f"{int(values[0])}:{int(values[-1]) + 1}")
        else:
            parts.append("...")
    return "x[" + ", ".join(parts) + "]"


def _input_note(x, d):
    """How the input was read, in words: exact, or a rounded print whose rounding was allowed for."""
    if d is None or not d.input_rounding:
        return ""
    return (f"Your tensor looks like a print rounded to {printed_digits(x)}, so the numbers your code used may "
            f"differ from it by up to {d.input_rounding:g}; each output was allowed to move by as much as that "
            f"can move it (at most {d.tolerance:.2g} here).")


MAX_SHOWN = 8  # numbers of one step written out; a longer group shows its first and last ones


def numbers(value):
    """A step's numbers as torch prints them: 4 decimals, a long group shortened with '...'."""
    a = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if np.ndim(value) == 0:
        return f"{float(value):.4f}"
    shown = [f"{v:.4f}" for v in a] if a.size <= MAX_SHOWN else (
        [f"{v:.4f}" for v in a[: MAX_SHOWN - 2]] + ["...", f"{a[-1]:.4f}"])
    return "[" + ", ".join(shown) + "]" + (f"  ({a.size} values)" if a.size > MAX_SHOWN else "")


@dataclass(frozen=True)
class StepRow:
    """One line of the step-by-step table: the named step, the layer's line and numbers, the mistake's,
    and whether they differ ("first", "differs" or "same")."""

    step: str
    right_label: str
    right_numbers: str
    wrong_label: str
    wrong_numbers: str
    status: str


def step_rows(steps):
    """The GroupSteps as table rows, the right and the wrong version of each result side by side."""
    wrong = {v.name: v for v in steps.wrong}
    right = {v.name: v for v in steps.right}
    names = list(right) + [n for n in wrong if n not in right]
    rows = []
    for name in names:
        r, w = right.get(name), wrong.get(name)
        status = "first" if name == steps.first_difference else "differs" if name in steps.differences else "same"
        step = (r or w).step
        rows.append(StepRow(step, r.label if r else "(not computed)", numbers(r.value) if r else "",
                            w.label if w else "(not computed)", numbers(w.value) if w else "", status))
    return tuple(rows)


@dataclass(frozen=True)
class Pooling:
    """Two partitions of the same tensor: the layer's groups and another pooling's.

    layer_ids, other_ids: the group of each element (x's shape, int32) in each. focus: the element whose
    groups are compared cell by cell; membership: per element (int8), 0 elsewhere, 1 in both of its groups,
    2 only in the layer's, 3 only in the other's. layer_name, other_name: in words. same: whether
    the two partitions are the same. layer_size, other_size: the sizes of the focus element's two
    groups. also: other layers that pool like the other pooling, as labels (the equivalence named).
    layer_group, other_group: the focus element's two groups as a person indexes them ('x[0, 1, :]').
    """

    layer_ids: np.ndarray
    other_ids: np.ndarray
    focus: tuple
    membership: np.ndarray
    layer_name: str
    other_name: str
    same: bool
    layer_size: int
    other_size: int
    also: tuple
    layer_group: str = ""
    other_group: str = ""


_pooling_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["pooling"] << 20)


def layer_name(spec):
    """A layer as people name it, without its eps: 'LayerNorm((3, 4))', 'GroupNorm(2)', 'BatchNorm'."""
    if spec.info.trailing:
        return f"{spec.class_name}({spec.normalized_shape})"
    return f"GroupNorm({spec.num_groups})" if spec.kind == "group" else spec.class_name


def against_choices(config):
    """What the layer's groups can be set against: the whole sample, then every other layer valid on the shape."""
    e = explore(config)
    return [WHOLE_SAMPLE] + [layer_name(s) for s in _other_layers(e.spec, e.x.shape)]


def _other_layers(spec, shape):
    """The layers other than spec that torch accepts on shape (LayerNorm over each suffix, Batch-, Instance-,
    GroupNorm with each divisor), with default parameters."""
    cands = [NormSpec("layer", normalized_shape=shape[-k:]) for k in range(1, len(shape) + 1)]
    if len(shape) >= 2:
        cands += [NormSpec("batch"), NormSpec("instance")]
        cands += [NormSpec("group", num_groups=g) for g in range(1, shape[1] + 1) if shape[1] % g == 0]
    out = []
    for c in cands:
        try:
            c.check(shape)
        except InputError:
            continue
        if layer_name(c) != layer_name(spec):
            out.append(c)  # the layer itself left out
    return out


def pooling(config, against, focus):
    """The layer's groups against `against` (one of against_choices) around the element `focus` (cached)."""
    key = ("pooling", str(against), tuple(int(i) for i in focus)) + config.key()
    return _pooling_cache.get_or_compute(key, lambda: _pooling(config, against, tuple(int(i) for i in focus)))


def _same_groups(lay, other_ids):
    """Whether other_ids split x as lay's groups do, in two passes: each of lay's groups lies in one other group,
    and there are as many groups on each side."""
    rows = lay.pool(other_ids)  # (G, n): the other pooling's id of each element of each of lay's groups
    groups = np.count_nonzero(np.bincount(other_ids.ravel()))  # ids are >= 0: counted, not sorted (np.unique)
    return bool((rows.min(axis=1) == rows.max(axis=1)).all()) and lay.num_groups == groups


def _pooling(config, against, focus):
    e = explore(config)
    shape = e.x.shape
    layer_ids = e.f.ids
    if against == WHOLE_SAMPLE:
        other_ids = Recipe.from_mistakes(("whole_sample",)).layout(e.spec, shape).ids()
        like = NormSpec("layer", normalized_shape=shape[1:]) if len(shape) > 1 else NormSpec("layer",
                                                                                         normalized_shape=shape)
        other_name = "the whole sample"
    else:
        others = {layer_name(s): s for s in _other_layers(e.spec, shape)}
        if against not in others:
            raise InputError(f"{against!r} is not a layer to compare with here; choose one of "
                             f"{', '.join(against_choices(config))}")
        like = others[against]
        other_ids = group_ids(like, shape)
        other_name = against
    small = e.x.size <= EQUIVALENTS_MAX_ELEMENTS  # equivalents and same_partition search every pairing
    also = []
    if against == WHOLE_SAMPLE and small and same_partition(other_ids, group_ids(like, shape)):
        also.append(layer_name(like))
    also += [layer_name(q.spec) for q in (equivalents(like, shape) if small else [])
             if q.shape == shape and q.spec.centers and layer_name(q.spec) not in also]  # on this very shape
    also = [name for name in also if name != layer_name(e.spec)]
    same = same_partition(layer_ids, other_ids) if small else _same_groups(e.f.layout, other_ids)
    return two_poolings(layer_ids, other_ids, focus, layer_name(e.spec), other_name, same, also)


def two_poolings(layer_ids, other_ids, focus, layer_label, other_label, same, also=()):
    """The Pooling of two partitions of one tensor (group ids of its shape) around the element focus."""
    mine, theirs = layer_ids == layer_ids[focus], other_ids == other_ids[focus]
    membership = mine.view(np.int8) * np.int8(2)  # 2 only the layer's, 3 only the other's, 1 both, 0 neither
    membership += theirs.view(np.int8) * np.int8(3)
    membership[mine & theirs] = 1
    shape = layer_ids.shape
    # kept as int32 and int8 (9 MB at 1024 x 1024, 24 MB as int64): one result fits its cache, and a rerun or a
    # new session on the same input does not compute it again
    return Pooling(layer_ids.astype(np.int32), other_ids.astype(np.int32), focus, membership, layer_label,
                   other_label, same, int(mine.sum()), int(theirs.sum()), tuple(also),
                   group_slice(np.argwhere(mine), shape), group_slice(np.argwhere(theirs), shape))


# ---- BatchNorm train vs eval, step by step -------------------------------------------------


@dataclass(frozen=True)
class Steps:
    """Training steps of a BatchNorm on seeded batches, then eval on the last batch.

    shape: the batches' shape (batch k is seeded_tensor(shape, seed + 100 + k); they are not kept).
    states: the running statistics after each step (states[0] is torch's initial).
    y_train, y_eval: the last batch's output in training and in eval mode.
    running_mean, running_var: the states stacked, (steps + 1, C); the variance is unbiased.
    diff: y_eval - y_train; max_abs_diff: its largest |value|.
    """

    spec: NormSpec
    shape: tuple
    states: list
    y_train: np.ndarray
    y_eval: np.ndarray
    running_mean: np.ndarray = None
    running_var: np.ndarray = None
    diff: np.ndarray = None
    max_abs_diff: float = None


_steps_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["steps"] << 20)


def batch_steps(config, steps):
    """`steps` training steps of BatchNorm on the config's shape, then eval (cached)."""
    if not 1 <= int(steps) <= 50:
        raise InputError(f"steps must be between 1 and 50, got {steps!r}")
    key = ("steps", int(steps)) + config.key()
    return _steps_cache.get_or_compute(key, lambda: _batch_steps(config, int(steps)))


def _batch_steps(config, steps):
    cfg = replace(config, kind="batch", track_running_stats=True, training=True, source="random")
    spec = cfg.spec()
    shape = spec.check(check_shape(cfg.shape))
    weight, bias = cfg.params(spec, shape)
    state = RunningStats.initial(shape[1])
    states, y = [state], None
    for k in range(steps):
        xb = seeded_tensor(shape, cfg.seed + 100 + k, cfg.dist, cfg.offset, cfg.scale)
        # the steps before the last move the buffers only: no output is computed for them
        y, state = running_stats_step(spec, xb, state, weight, bias, output=k == steps - 1)
        states.append(state)
    y_eval, _ = running_stats_step(spec.with_(training=False), xb, state, weight, bias)
    running_mean = np.stack([s.running_mean for s in states])  # steps + 1 of (C,) -> (steps + 1, C)
    running_var = np.stack([s.running_var for s in states])
    diff = y_eval - y
    return Steps(spec, tuple(shape), states, y, y_eval, running_mean, running_var, diff, float(np.abs(diff).max()))
