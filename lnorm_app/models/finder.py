"""The Pitfalls finder's model: the verdict on a pasted row (which mistake, where it sits) and its group's
arithmetic step by step, the layer's beside the mistake's.

Pure functions of a Config and of pasted text, cached on Config.key() and the text's digest.
"""

import hashlib
from dataclasses import dataclass

import numpy as np

from lnorm_core import group_steps, manual_forward, parse_tensor, which_mistake
from lnorm_core.diagnosis import block_label, index_label, printed_digits

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache
from .explorer import explore


BESIDE = ("unbiased", "std_under_sqrt")  # the forum's mistake: shown beside a right row, or before one is pasted


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
    steps: the GroupSteps; table: its rows for the figure (see _table).
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


_finder_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["finder"] << 20)


def digest(text):
    """A pasted text's key in a cache: its sha256."""
    return hashlib.sha256((text or "").encode("utf-8", "replace")).hexdigest()


def finder(config, wrong_text):
    """The verdict on a pasted row (or whole output) for config's input, and its group step by step (cached).

    An empty wrong_text walks through the first row beside the forum's mistake.
    """
    return _finder_cache.get_or_compute(("finder", digest(wrong_text)) + config.key(),
                                        lambda: _finder(config, wrong_text), config.elements())


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
                   np.asarray(e.f.y[position]), np.asarray(y_wrong[position]), steps, table(steps), printed_as,
                   _input_note(e.x, d))


def group_slice(indices, shape):
    """The elements of a group as a person indexes them: 'x[0, 1, :]', 'x[1, 2:4, :]', 'x[:, 3]' (every dim
    written, 'x[:, :]' for the whole tensor)."""
    label = index_label(np.ravel_multi_index(tuple(np.asarray(indices).T), shape), shape)
    return label if label != "x" else "x[" + ", ".join([":"] * len(shape)) + "]"


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


def table(steps):
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
