"""The code reader: a person's snippet read with ast and an evaluator of a fixed vocabulary, never run.

    import lnorm_core as lc
    r = lc.read_code(code, spec, x=x)     # r.verdict, r.mistakes, r.line(name), r.notes, r.output(x), r.problems

python -m lnorm_core.read_code snippet.py --shape 2,3,4 --layer "LayerNorm(4)" prints the same.
"""

from .limits import (
    MAX_AST_DEPTH,
    MAX_AST_NODES,
    MAX_BRACKETS,
    MAX_CALL_DEPTH,
    MAX_CODE_CHARS,
    MAX_CODE_LINES,
    MAX_LIST,
    MAX_LOOP_ITERATIONS,
    MAX_STEPS,
    MAX_WORK,
)
from .layers import layer_name
from .reading import ALL_MISTAKES, READER_MISTAKES, Reading, read_code, vocabulary

__all__ = ["ALL_MISTAKES", "MAX_AST_DEPTH", "MAX_AST_NODES", "MAX_BRACKETS", "MAX_CALL_DEPTH", "MAX_CODE_CHARS",
           "MAX_CODE_LINES", "MAX_LIST", "MAX_LOOP_ITERATIONS", "MAX_STEPS", "MAX_WORK", "READER_MISTAKES",
           "Reading", "layer_name", "read_code", "vocabulary"]
