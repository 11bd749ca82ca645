"""Numbers typed into a snippet: a row someone copied from a print is matched to the row of the input it equals.

A list (or nested lists) of at least two number literals is the person's own copy of part of a tensor when it equals
a block x[idx] of the tensor the reading is given, to the digits typed: it is then read as those elements of the
input, and the answer can say "your `row` is x[0, 1, :]". With no tensor given, the first such list is the input.
"""

import ast

import numpy as np

from ..diagnosis import printed_resolution
from .context import Binding, index_label
from .values import CONST, Sym, Val


def literal_numbers(node):
    """The numbers of a list or tuple literal of number literals (nested lists of one length each), else None."""
    def read(n, depth):
        if depth > 6:
            return None
        if isinstance(n, (ast.List, ast.Tuple)) and n.elts:
            items = [read(e, depth + 1) for e in n.elts]
            if any(i is None for i in items):
                return None
            kinds = {isinstance(i, list) for i in items}
            if len(kinds) > 1 or (True in kinds and len({_shape(i) for i in items}) > 1):
                return None
            return items
        sign = 1.0
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            sign = -1.0 if isinstance(n.op, ast.USub) else 1.0
            n = n.operand
        if isinstance(n, ast.Constant) and isinstance(n.value, float) or (
                isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool)
                and abs(n.value) < 2**53):
            return sign * float(n.value)
        return None

    numbers = read(node, 0)
    if not isinstance(numbers, list) or len(np.ravel(numbers)) < 2:
        return None
    if not any(isinstance(_first(e), float) and _has_float(node) for e in numbers):
        return None
    return numbers


def _first(e):
    return _first(e[0]) if isinstance(e, list) else e


def _has_float(node):
    """Whether a literal holds a float (a list of whole numbers is a shape or indices, not a row)."""
    return any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(node))


def _shape(items):
    return tuple(np.shape(items))


def read_literal(ev, numbers, node, line):
    """A list literal of numbers as a Val: elements of the input where it equals a block of it, else constants."""
    ctx = ev.ctx
    values = np.asarray(numbers, dtype=np.float64)
    kind = "list" if isinstance(node, ast.List) else "tuple"
    key = (node.lineno, node.col_offset)
    src = None
    if ctx.forced is not None:
        return _forced(ctx, values, kind, key, line)
    if ctx.x is not None:
        src = _match(ctx, ctx.x, values, line, key)
    elif ctx.given is not None and _block_of(ctx.given, values) is not None:
        ctx.set_input(ctx.given, "float64", "x", line, "given")
        src = _match(ctx, ctx.x, values, line, key)
    else:
        ctx.set_input(values, "float64", "", line, "literal")
        ctx.bindings.append(Binding(line, "", "input", "the input", key))
        src = np.arange(values.size).reshape(values.shape)
        words = "the input" if ctx.given is None else "the input (they equal no block of the tensor given)"
        ctx.note(line, f"the numbers typed here are {words}, of shape {values.shape}")
    v = nested(values, src, kind)
    v.extra["literal"] = True
    return v


def _block_of(x, values):
    """(index, how many blocks match): the first block x[idx] the typed numbers equal to their digits, or None."""
    shape = values.shape
    k = x.ndim - len(shape)
    if k < 0 or x.shape[k:] != shape:
        return None
    half, _ = printed_resolution(values)
    tol = half + 1e-12 * np.abs(values)
    blocks = x.reshape((-1,) + shape)
    close = np.all(np.abs(blocks - values) <= tol, axis=tuple(range(1, len(shape) + 1)))
    found = np.flatnonzero(close)
    if found.size == 0:
        return None
    lead = x.shape[:k]
    return (tuple(int(i) for i in np.unravel_index(found[0], lead)) if lead else ()), int(found.size)


def _forced(ctx, values, kind, key, line):
    """output(x): a literal read as part of the input stands for that part of the new x."""
    index = ctx.forced.get(key)
    if index is None:
        return nested(values, None, kind)
    if index == "input":
        if ctx.x is None:
            ctx.set_input(ctx.made(values, line), "float64", "", line, "literal")
        data = ctx.x
        src = np.arange(data.size).reshape(data.shape)
    else:
        if ctx.x is None:
            ctx.set_input(ctx.given, "float64", "x", line, "given")
        src = np.arange(ctx.x.size).reshape(ctx.x.shape)[index]
        data = ctx.x[index]
    v = nested(np.asarray(data), src, kind)
    v.extra["literal"] = True
    return v


def _match(ctx, x, values, line, key=()):
    """The flat indices of the block of x that the typed numbers equal (a Binding noted), or None."""
    found = _block_of(x, values)
    if found is None:
        return None
    index, count = found
    src = np.arange(x.size).reshape(x.shape)[index]
    label = index_label(np.asarray(src).ravel(), x.shape, ctx.input_name or "x")
    ctx.bindings.append(Binding(line, "", index, label, key))
    if ctx.seen is ctx.x:
        ctx.seen = ctx.x.copy()
    ctx.seen[index] = values
    ctx.note(line, f"these numbers are {label}" + (f" (and {count - 1} more blocks equal them)" if count > 1 else ""))
    return src


def nested(values, src, kind="list"):
    """Nested lists of number Vals (each with its input element where src is given)."""
    if values.ndim == 0:
        sym = CONST if src is None else Sym("input", src=np.asarray(src))
        return Val("number", np.asarray(values, dtype=np.float64), sym)
    return Val(kind, [nested(values[i], None if src is None else src[i], "list") for i in range(values.shape[0])])
