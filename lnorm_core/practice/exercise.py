"""An exercise: what is asked, on which layer and input, written as one short code that a link carries.

    ex = parse_exercise("g_L1_2x3x4_17_0-1-2")   # which elements share a mean with x[0, 1, 2]? LayerNorm((4,))
    ex.code                                      # 'g_L1_2x3x4_17_0-1-2': the same exercise, exactly
    ex.spec, ex.x()                              # the layer (a NormSpec) and the input it is asked on
    parse_set("g_L1_2x3x4_17_0-1-2~b_B_4x2_3_1_0.1")   # a set: codes joined by '~'

A code is fields joined by '_': the kind's letter, the layer, the shape, the input's seed, then the
kind's own fields. Every field is read with a fixed pattern and checked against the limits and
against what torch accepts before anything is computed, so a crafted or broken link gets an
InputError that says what is wrong, never a traceback. Codes hold letters, digits, '_', '-', '.'
and '~' only: they need no escaping in a URL.

The layer: "L3" LayerNorm over the last 3 dims, "R1" RMSNorm over the last dim, "G2" GroupNorm(2),
"B" BatchNorm, "I" InstanceNorm, "It" InstanceNorm(track_running_stats=True); a "which does torch
accept" exercise names only "L", "R" or "G": its choices are the parameter.
"""

import math
import re
from dataclasses import dataclass

import numpy as np

from .. import InputError, NormSpec, View, seeded_tensor

KINDS = {"g": "share", "r": "row", "a": "accept", "s": "same", "b": "buffers"}  # code letter -> kind
LETTERS = {kind: letter for letter, kind in KINDS.items()}
MAX_ROWS, MAX_COLS, MAX_PANELS = 6, 8, 4  # a tensor small enough to click: 6 x 8 cells a panel, 4 panels
MAX_CODE = 120  # characters of one exercise's code
MAX_SET = 20  # exercises in one set
MAX_CHOICES, MAX_CHOICE_DIM = 8, 64
MAX_SEED = 2**31 - 1
DECIMALS = {"row": 2, "buffers": 1}  # a tensor to compute with by hand is rounded: its print is the tensor
VIEWS = {"n": ("x", None), "t": ("x.transpose(1, 2)", (0, 2, 1)), "p": ("x.permute(0, 2, 3, 1)", (0, 2, 3, 1))}
FIELDS = {"share": 5, "row": 5, "accept": 5, "same": 6, "buffers": 6}  # fields of each kind's code

_LAYER = re.compile(r"(L|R|G)([1-9][0-9]?)?|B|It|I")
_SHAPE = re.compile(r"[1-9][0-9]?(x[1-9][0-9]?){0,3}")
_INDEX = re.compile(r"(0|[1-9][0-9]?)(-(0|[1-9][0-9]?)){0,3}|")
_SEED = re.compile(r"0|[1-9][0-9]{0,9}")
_MOMENTUM = re.compile(r"0\.[0-9]{1,4}|1(\.0{1,4})?")
_CHOICE = re.compile(r"[1-9][0-9]?(-[1-9][0-9]?){0,3}")


@dataclass(frozen=True)
class Exercise:
    """One exercise, as its code says it.

    kind: "share" (which elements share a mean with the marked one), "row" (what does y[where]
        print), "accept" (which normalized_shape or num_groups does torch accept), "same" (two
        layers: same pooling, same output?) or "buffers" (BatchNorm's running_var after one step).
    layer: the layer's code (see the module's docstring); shape: the input's; seed: the input is
        seeded_tensor(shape, seed), rounded to DECIMALS[kind] decimals where it is computed by hand.
    where: share: the marked element; row: the leading index of the row y[where]; buffers: (channel,).
    other, view: same: the second layer's code and how x becomes its input ("n" as it is,
        "t" x.transpose(1, 2), "p" x.permute(0, 2, 3, 1)).
    choices: accept: the normalized_shapes (tuples) or num_groups (ints) offered.
    momentum: buffers: BatchNorm's momentum.
    """

    kind: str
    layer: str
    shape: tuple
    seed: int
    where: tuple = ()
    other: str = ""
    view: str = ""
    choices: tuple = ()
    momentum: float = None

    @property
    def code(self):
        """The exercise as its link writes it: parse_exercise(ex.code) == ex."""
        fields = [LETTERS[self.kind], self.layer, "x".join(map(str, self.shape)), str(self.seed)]
        if self.kind == "same":
            fields += [self.other, self.view]
        elif self.kind == "accept":
            fields.append(".".join("-".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in self.choices))
        elif self.kind == "buffers":
            fields += [str(self.where[0]), _momentum_text(self.momentum)]
        else:
            fields.append("-".join(map(str, self.where)))
        return "_".join(fields)

    @property
    def spec(self):
        """The layer asked about (for "accept", with its first choice), as a NormSpec."""
        if self.kind == "accept":
            return choice_spec(self.layer, self.choices[0])
        return layer_spec(self.layer, self.shape, self.momentum)

    @property
    def view_of_x(self):
        """How x becomes the second layer's input, as an lnorm_core View (same only)."""
        code, perm = VIEWS[self.view or "n"]
        perm = perm or tuple(range(len(self.shape)))
        return View(code, perm, tuple(self.shape[p] for p in perm))

    @property
    def other_spec(self):
        """The second layer, on the view's shape (same only)."""
        return layer_spec(self.other, self.view_of_x.shape)

    def x(self):
        """The input: the seeded draw, rounded where it is computed by hand (then its print is exact)."""
        x = seeded_tensor(self.shape, self.seed)
        decimals = DECIMALS.get(self.kind)
        return x if decimals is None else np.round(x, decimals)


def layer_spec(code, shape, momentum=None):
    """The NormSpec a layer code stands for on an input of shape (its normalized_shape counted from the end)."""
    letter, count = code[0], code[1:]
    if letter in "LRG" and not count:
        raise InputError(f"layer {code} needs its parameter here, e.g. {code}1")
    if letter in "LR":
        k = int(count)
        if k > len(shape):
            raise InputError(f"layer {code}: normalized_shape over the last {k} dims of a {len(shape)}-D input")
        return NormSpec("layer" if letter == "L" else "rms", normalized_shape=tuple(shape[-k:]))
    if letter == "G":
        return NormSpec("group", num_groups=int(count))
    if letter == "B":
        return NormSpec("batch", momentum=0.1 if momentum is None else momentum)
    return NormSpec("instance", track_running_stats=count == "t")


def choice_spec(layer, choice):
    """The layer of an "accept" exercise with one of its choices: LayerNorm(choice), RMSNorm(choice), GroupNorm."""
    if layer == "G":
        return NormSpec("group", num_groups=choice)
    return NormSpec("layer" if layer == "L" else "rms", normalized_shape=choice)


def _momentum_text(m):
    """A momentum as its code writes it: 0.1 -> '0.1', 1.0 -> '1'."""
    return "1" if m == 1 else f"{m:.4f}".rstrip("0")


def _field(pattern, text, what):
    """text if it matches pattern whole, else InputError naming the field."""
    if pattern.fullmatch(text) is None:
        raise InputError(f"the exercise's {what} {text!r} cannot be read")
    return text


def _ints(text, sep):
    return tuple(int(v) for v in text.split(sep)) if text else ()


def parse_exercise(code):
    """The Exercise a code stands for, checked; InputError (saying what is wrong) for anything else."""
    code = str(code).strip()
    if not code:
        raise InputError("the exercise's code is empty")
    if len(code) > MAX_CODE:
        raise InputError(f"an exercise's code has at most {MAX_CODE} characters, this one {len(code)}")
    fields = code.split("_")
    kind = KINDS.get(fields[0])
    if kind is None:
        raise InputError(f"an exercise's code starts with one of {', '.join(KINDS)}, not {fields[0][:8]!r}")
    if len(fields) != FIELDS[kind]:
        raise InputError(f"a {kind!r} exercise's code has {FIELDS[kind]} fields joined by '_', this one "
                         f"{len(fields)}")
    layer = _field(_LAYER, fields[1], "layer")
    shape = _ints(_field(_SHAPE, fields[2], "shape"), "x")
    seed = int(_field(_SEED, fields[3], "seed"))
    if seed > MAX_SEED:
        raise InputError(f"the exercise's seed is at most {MAX_SEED}, got {seed}")
    extra = {}
    if kind == "same":
        extra = dict(other=_field(_LAYER, fields[4], "second layer"), view=fields[5])
    elif kind == "accept":
        choices = fields[4].split(".")
        extra["choices"] = tuple(_ints(_field(_CHOICE, c, "choice"), "-") for c in choices)
        if layer == "G":
            extra["choices"] = tuple(c[0] if len(c) == 1 else c for c in extra["choices"])
    elif kind == "buffers":
        channel = _field(_INDEX, fields[4], "channel")
        extra = dict(where=_ints(channel, "-"), momentum=float(_field(_MOMENTUM, fields[5], "momentum")))
    else:
        extra["where"] = _ints(_field(_INDEX, fields[4], "index"), "-")
    ex = Exercise(kind, layer, shape, seed, **extra)
    check_exercise(ex)
    return ex


def check_panels(shape):
    """Refuse a shape too large to click: at most MAX_ROWS x MAX_COLS cells a panel and MAX_PANELS panels."""
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape[-2:]
    panels = math.prod(shape[:-2])
    if len(shape) > 4 or rows > MAX_ROWS or cols > MAX_COLS or panels > MAX_PANELS:
        raise InputError(f"an exercise's tensor is drawn as at most {MAX_PANELS} panels of {MAX_ROWS} x {MAX_COLS} "
                         f"cells (1 to 4 dims); {tuple(shape)} is larger")


def check_exercise(ex):
    """Refuse an exercise that cannot be asked: outside the limits, or a layer torch refuses on its input."""
    shape = tuple(ex.shape)
    check_panels(shape)
    letter = ex.layer[0]
    if ex.kind == "accept":
        _check_choices(ex)
        return
    if letter in "BIG" and len(shape) < (3 if letter == "I" else 2):
        raise InputError(f"{ex.layer}: this layer takes (N, C, L) input or more dims here, not {shape}")
    spec = ex.spec
    spec.check(shape)  # torch's own words where it refuses
    if ex.kind == "share":
        _check_index(ex.where, shape, len(shape), "the marked element")
    elif ex.kind == "row":
        _check_index(ex.where, shape, len(shape) - 1, "the row")
    elif ex.kind == "buffers":
        if spec.kind != "batch" or len(shape) > 3:
            raise InputError("a buffers exercise asks about BatchNorm1d, on (N, C) or (N, C, L)")
        _check_index(ex.where, shape[1:2], 1, "the channel")
        if not 0 < ex.momentum <= 1:
            raise InputError(f"momentum must be above 0 and at most 1, got {ex.momentum}")
    elif ex.kind == "same":
        if ex.view not in VIEWS:
            raise InputError(f"the view is one of {', '.join(VIEWS)}, not {ex.view[:8]!r}")
        if ex.view != "n" and len(shape) != len(VIEWS[ex.view][1]):
            raise InputError(f"{VIEWS[ex.view][0]} takes a {len(VIEWS[ex.view][1])}-D input, not {shape}")
        other_shape = ex.view_of_x.shape
        if ex.other[0] in "BIG" and len(other_shape) < (3 if ex.other[0] == "I" else 2):
            raise InputError(f"{ex.other}: this layer takes (N, C, L) input or more dims here, not {other_shape}")
        ex.other_spec.check(other_shape)


def _check_index(index, shape, length, what):
    """Refuse an index that is not `length` ints inside shape."""
    if len(index) != length or any(not 0 <= i < d for i, d in zip(index, shape)):
        raise InputError(f"{what} {list(index)} is no index of length {length} into {tuple(shape)}")


def _check_choices(ex):
    if ex.layer not in ("L", "R", "G"):
        raise InputError(f"an accept exercise asks about L (LayerNorm), R (RMSNorm) or G (GroupNorm), not {ex.layer}")
    if not 2 <= len(ex.choices) <= MAX_CHOICES or len(set(ex.choices)) != len(ex.choices):
        raise InputError(f"an accept exercise offers 2 to {MAX_CHOICES} different choices")
    for c in ex.choices:
        dims = c if isinstance(c, tuple) else (c,)
        if ex.layer == "G" and isinstance(c, tuple):
            raise InputError("GroupNorm's choices are numbers of groups, one number each")
        if max(dims) > MAX_CHOICE_DIM:
            raise InputError(f"a choice's sizes are at most {MAX_CHOICE_DIM}, got {list(dims)}")
    if ex.layer == "G" and len(ex.shape) < 2:
        raise InputError(f"GroupNorm takes (N, C, *) input, not {tuple(ex.shape)}")


def parse_set(text):
    """The exercises of a set's code (codes joined by '~'), each checked; InputError naming the one that fails."""
    text = str(text).strip()
    if not text:
        raise InputError("the set is empty")
    if len(text) > MAX_SET * (MAX_CODE + 1):
        raise InputError(f"a set's code has at most {MAX_SET * (MAX_CODE + 1)} characters, this one {len(text)}")
    codes = text.split("~")
    if len(codes) > MAX_SET:
        raise InputError(f"a set holds at most {MAX_SET} exercises, this one {len(codes)}")
    out = []
    for i, code in enumerate(codes, 1):
        try:
            out.append(parse_exercise(code))
        except InputError as e:
            raise InputError(f"exercise {i} of the set: {e}") from None
    return tuple(out)


def set_code(exercises):
    """A set's code: the exercises' codes joined by '~' (parse_set reads it back)."""
    exercises = tuple(exercises)
    if not 1 <= len(exercises) <= MAX_SET:
        raise InputError(f"a set holds 1 to {MAX_SET} exercises")
    return "~".join(ex.code for ex in exercises)
