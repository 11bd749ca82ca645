"""Practice: exercises on the normalization layers, keyed by torch.nn and checked with lnorm's mistakes.

    from lnorm_core import practice
    ex = practice.draw("row", 7)               # drawn, seeded, from the space the pages cover
    ex.code                                     # 'r_L1_3x4_..._1': a link carries it; parse_exercise reads it
    k = practice.key(ex)                        # torch.nn's answer
    v = practice.check(ex, "[0.91, ...]")       # right or not, and why (v.right, v.headline, v.lines)
    practice.parse_set("g_..~r_..")             # a teacher's set of exercises, checked

numpy and torch only, like the rest of lnorm_core.
"""

from .check import QUESTION_TEXT, Verdict, check
from .draw import PAIRS, draw
from .exercise import (
    DECIMALS,
    KINDS,
    MAX_COLS,
    MAX_PANELS,
    MAX_ROWS,
    MAX_SET,
    Exercise,
    choice_spec,
    layer_spec,
    parse_exercise,
    parse_set,
    set_code,
)
from .keys import QUESTIONS, AcceptKey, BuffersKey, RowKey, SameKey, ShareKey, key, module

__all__ = [
    "AcceptKey", "BuffersKey", "DECIMALS", "Exercise", "KINDS", "MAX_COLS", "MAX_PANELS", "MAX_ROWS", "MAX_SET",
    "PAIRS", "QUESTION_TEXT", "QUESTIONS", "RowKey", "SameKey", "ShareKey", "Verdict", "check", "choice_spec", "draw", "key",
    "layer_spec", "module", "parse_exercise", "parse_set", "set_code",
]
