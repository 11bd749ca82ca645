"""Checking an answer against torch's key, and saying why: which cells, which mistake, which condition.

    v = check(ex, answer)      # v.right, v.headline (one sentence), v.lines (the explanation), v.detail

The answer of each kind: share, the picked elements (flat indices or index tuples); row and
buffers, the text typed (read with parse_tensor, never run); accept, the indices of the chosen
choices; same, one True (same) / False (different) / None (no answer) per QUESTIONS.
"""

from dataclasses import dataclass

import numpy as np

from .. import MISTAKES, InputError, compare_layers, group_steps, parse_tensor, refusal_help, which_mistake
from .exercise import Exercise, choice_spec
from .keys import QUESTIONS, accept_key, buffers_key, row_key, same_key, share_key

PRINT_TOL = 5e-5  # an answer to 4 decimals is right within half a unit of the 4th decimal
BESIDE = ("unbiased",)  # the mistake a right (or unexplained) row's steps are shown beside


@dataclass(frozen=True)
class Verdict:
    """An answer checked: right or not, in one sentence (headline), the explanation (lines), and what the
    pictures need (detail, one of the *Detail classes below)."""

    right: bool
    headline: str
    lines: tuple
    detail: object = None


@dataclass(frozen=True)
class ShareDetail:
    """Flat indices: the key's cells, and the picked ones that are right, missed and extra."""

    cells: tuple
    right: tuple
    missed: tuple
    extra: tuple


@dataclass(frozen=True)
class RowDetail:
    """typed: the numbers read; key: torch's row; mistakes: what the steps are shown beside (the mistake the
    numbers show, else BESIDE); found_at: the row the typed numbers belong to (None if none); steps: GroupSteps."""

    typed: np.ndarray
    key: np.ndarray
    mistakes: tuple
    found_at: tuple
    steps: object
    diagnosis: object = None


@dataclass(frozen=True)
class Choice:
    """One choice of an accept exercise: its label, whether it was chosen, torch's verdict, torch's words."""

    label: str
    chosen: bool
    accepted: bool
    message: str = ""
    meaning: str = ""


@dataclass(frozen=True)
class Answer:
    """One question of a same exercise: the question, the answer given (None: none), torch's key."""

    question: str
    given: object
    key: bool


def _index_text(index):
    return "[" + ", ".join(str(i) for i in index) + "]"


def _numbers(a):
    return "[" + ", ".join(f"{v:.4f}" for v in np.ravel(a)) + "]"


def _read_number(text, what):
    """One number typed (parse_tensor reads it; a one-element list too)."""
    value = np.asarray(parse_tensor(str(text)), dtype=np.float64)
    if value.size != 1:
        raise InputError(f"{what} is one number; {value.size} were typed")
    if not np.isfinite(value).all():
        raise InputError(f"{what} is a finite number, not {float(value.ravel()[0])}")
    return float(value.ravel()[0])


def _flat(p, shape, size):
    """A picked element (a flat index or an index tuple) as its flat index; InputError outside the tensor."""
    if isinstance(p, (tuple, list)):
        index = tuple(int(i) for i in p)
        if len(index) == len(shape) and all(0 <= i < d for i, d in zip(index, shape)):
            return int(np.ravel_multi_index(index, shape))
    elif 0 <= int(p) < size:
        return int(p)
    raise InputError(f"element {p!r} is not in a tensor of shape {shape}")


def check_share(ex: Exercise, picked, k=None):
    k = k or share_key(ex)
    focus = int(np.ravel_multi_index(ex.where, ex.shape))
    shape, size = tuple(ex.shape), int(np.prod(ex.shape))
    flat = set()
    for p in picked:
        flat.add(_flat(p, shape, size))
    flat.add(focus)  # the marked element shares with itself
    cells = set(k.cells)
    right, missed, extra = sorted(flat & cells), sorted(cells - flat), sorted(flat - cells)
    lay = ex.spec.layout(ex.shape)
    where = f"x{_index_text(ex.where)}"
    if not missed and not extra:
        headline = f"Right: the {len(cells)} elements of {where}'s group, and no other."
    else:
        parts = [f"{len(missed)} missed" if missed else "", f"{len(extra)} extra" if extra else ""]
        headline = f"Not quite: {' and '.join(p for p in parts if p)} (of {len(cells)} in {where}'s group)."
    lines = (f"{ex.spec.torch_name(ex.shape, short=True)} on {tuple(ex.shape)} makes {lay.num_groups} groups of {lay.group_size}: the "
             f"elements of one group share one mean and one variance.",
             f"torch says so itself: when {where} changes, exactly the outputs of its group change.")
    return Verdict(not missed and not extra, headline, lines, ShareDetail(tuple(k.cells), tuple(right),
                                                                          tuple(missed), tuple(extra)))


def check_row(ex: Exercise, text, k=None):
    k = k or row_key(ex)
    typed = np.asarray(parse_tensor(str(text)), dtype=np.float64)
    label = "y[" + ", ".join([str(i) for i in ex.where] + [":"]) + "]"
    if typed.size != k.row.size:
        raise InputError(f"{label} has {k.row.size} numbers; {typed.size} were typed")
    typed = typed.reshape(k.row.shape)
    if not np.isfinite(typed).all():
        raise InputError(f"{label} holds finite numbers only; type each to 4 decimals")
    spec, x = ex.spec, ex.x()
    right = bool(np.all(np.abs(typed - k.row) <= PRINT_TOL * (1 + 1e-9)))
    lines = [f"torch's {label} = {_numbers(k.row)}", f"yours{' ' * (len(label) + 5)}= {_numbers(typed)}"]
    mistakes, found_at, d = BESIDE, (ex.where if right else None), None
    if right:
        headline = f"Right: these are torch's numbers for {label}."
    else:
        d = which_mistake(spec, x, typed, input_rounding=0)
        here = [c for c, positions in d.found if ex.where in positions]
        if d.verdict == "correct":
            found_at = ex.where if ex.where in d.positions else d.where
            headline = ("Nearly: these are torch's numbers rounded to fewer decimals; type each to 4."
                        if found_at == ex.where else f"These are torch's numbers for {d.label(found_at)}, not {label}.")
        elif d.verdict == "match":
            mistakes = here[0] if here else d.mistakes[0]
            found_at = ex.where if here else [p for c, ps in d.found if c == mistakes for p in ps][0]
            named = " + ".join(MISTAKES[m].title.split(" (")[0] for m in mistakes)
            headline = f"Your numbers are what {named} gives" + (
                "." if found_at == ex.where else f", for {d.label(found_at)}.")
            lines += [f"{MISTAKES[m].title}: it {MISTAKES[m].description}. The line that does it: "
                      f"`{MISTAKES[m].wrong}`; the fix: `{MISTAKES[m].fix}`" for m in mistakes]
        else:
            headline = f"Not torch's numbers for {label}, and none of the usual mistakes gives them."
    steps = group_steps(spec, x, ex.where, mistakes=mistakes)
    return Verdict(right, headline, tuple(lines), RowDetail(typed, k.row, tuple(mistakes), found_at, steps, d))


def check_accept(ex: Exercise, chosen, k=None):
    k = k or accept_key(ex)
    chosen = {int(i) for i in chosen}
    if any(not 0 <= i < len(ex.choices) for i in chosen):
        raise InputError(f"choose among the {len(ex.choices)} choices")
    choices = []
    for i, (c, ok, message) in enumerate(zip(ex.choices, k.accepted, k.messages)):
        help_ = None if ok else refusal_help(choice_spec(ex.layer, c), ex.shape)
        choices.append(Choice(str(c), i in chosen, ok, message, help_.meaning if help_ else ""))
    right = all(c.chosen == c.accepted for c in choices)
    wrong = sum(c.chosen != c.accepted for c in choices)
    accepted = [c.label for c in choices if c.accepted]
    headline = ("Right: " if right else f"Not quite: {wrong} of the {len(choices)} choices the other way round. ") + (
        f"torch accepts {', '.join(accepted)}." if accepted else "torch accepts none of them.")
    lines = tuple(f"{c.label}: torch accepts it" if c.accepted else f"{c.label}: torch refuses it" for c in choices)
    return Verdict(right, headline, lines, tuple(choices))


QUESTION_TEXT = {
    "pooling": "Do they pool the same elements (one mean and variance over the same cells)?",
    "no affine": "The same output without affine, in training mode?",
    "affine": "The same output with affine, whatever the learned weight and bias?",
    "eval": "The same output in eval mode (fresh layers, model.eval(), no affine)?",
}


def check_same(ex: Exercise, given, k=None):
    k = k or same_key(ex)
    given = tuple(given)
    if len(given) != len(QUESTIONS):
        raise InputError(f"answer each of the {len(QUESTIONS)} questions")
    answers = tuple(Answer(QUESTION_TEXT[q], g, k.answers[q]) for q, g in zip(QUESTIONS, given))
    wrong = sum(a.given is not a.key for a in answers)
    headline = "Right: all four." if not wrong else f"Not quite: {wrong} of 4 answered otherwise than torch."
    pair = compare_layers(ex.spec, ex.x(), ex.other_spec, ex.view_of_x)
    lines = list(pair.conditions)
    if "eval" not in pair.gaps:
        lines.append("Neither layer keeps running statistics, so eval() changes nothing: the answer in eval mode is "
                     "the one without affine.")
    return Verdict(not wrong, headline, tuple(lines), answers)


SLIP_NAMES = {"biased": "the biased variance (divided by n)", "no momentum": "the batch's variance alone",
              "no momentum, biased": "the batch's biased variance alone",
              "momentum the other way": "the momentum the other way round",
              "momentum the other way, biased": "the momentum the other way round and the biased variance",
              "running_mean": "the running mean", "std": "the standard deviation"}
SLIPS = {
    "biased": "You used the biased variance, divided by n = {n}. BatchNorm normalizes with it, but its running_var "
              "keeps the unbiased one, divided by n − 1 = {n1}: {unbiased:.4f}, not {biased:.4f}.",
    "no momentum": "That is the batch's (unbiased) variance itself: running_var moves only one momentum step towards "
                   "it from its old value.",
    "no momentum, biased": "That is the batch's biased variance itself: running_var keeps the unbiased one "
                           "({unbiased:.4f}), and moves only one momentum step towards it.",
    "momentum the other way": "Your momentum weighs the old value: torch's momentum is the weight of the new batch "
                              "statistic, (1 − momentum) · old + momentum · new, the opposite of an optimizer's.",
    "momentum the other way, biased": "Two slips: the momentum weighs the old value, and the variance is the biased "
                                      "one ({biased:.4f}) where running_var keeps the unbiased {unbiased:.4f}.",
    "running_mean": "That is running_mean[{c}], the mean's buffer, not the variance's.",
    "std": "You used the standard deviation; the buffer holds the variance.",
}


def check_buffers(ex: Exercise, text, k=None):
    k = k or buffers_key(ex)
    typed = _read_number(text, f"running_var[{ex.where[0]}]")
    c, m, n = ex.where[0], ex.momentum, k.values.size
    unbiased, biased = float(np.var(k.values, ddof=1)), float(np.var(k.values))
    right = abs(typed - k.value) <= PRINT_TOL * (1 + 1e-9)
    old = float(k.before[1][c])
    lines = [f"channel {c} holds n = {n} values over the batch: {_numbers(k.values)}; their variance divided by "
             f"n − 1 is {unbiased:.4f} (by n: {biased:.4f}).",
             f"torch: running_var[{c}] = (1 − {m:g}) · {old:g} + {m:g} · {unbiased:.4f} = {k.value:.4f}"]
    if right:
        return Verdict(True, f"Right: running_var[{c}] is {k.value:.4f}.", tuple(lines), (None, k))
    slip = next((s for s, v in k.candidates.items() if abs(typed - v) <= PRINT_TOL * (1 + 1e-9)), None)
    if slip is None:
        headline = f"Not torch's: running_var[{c}] is {k.value:.4f}, you typed {typed:.4f}."
    else:
        headline = f"Not torch's: {typed:.4f} is what {SLIP_NAMES[slip]} gives; running_var[{c}] is {k.value:.4f}."
        lines.insert(0, SLIPS[slip].format(n=n, n1=n - 1, unbiased=unbiased, biased=biased, c=c))
    return Verdict(False, headline, tuple(lines), (slip, k))


CHECKS = {"share": check_share, "row": check_row, "accept": check_accept, "same": check_same,
          "buffers": check_buffers}


def check(ex: Exercise, answer, key=None):
    """The Verdict on an answer to ex (its form per kind: see the module's docstring); InputError for an answer
    that cannot be read. key: torch's key of ex (lnorm_core.practice.key), where the caller has it already."""
    return CHECKS[ex.kind](ex, answer, key)
