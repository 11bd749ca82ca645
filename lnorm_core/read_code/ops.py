"""Arithmetic and reductions on the reader's values: the numbers in float64, and the Sym of each result.

The rules of the Sym algebra are the steps of a normalization, each in the forms people write it:

    x - mean                    -> dev          (x: input; mean: a stat that is a mean)
    dev ** 2, dev * dev         -> sq           x ** 2 -> sq, not centred
    mean of sq                  -> var (n)      sum of sq -> sumsq; sumsq / n -> var; sumsq / (n - 1) -> var, n - 1
    mean of x ** 2 - mean ** 2  -> var, one pass
    sqrt, ** 0.5                -> one more root; rsqrt, ** -0.5 -> a root and 1 / it
    var + eps                   -> eps goes in where the roots stand then (inside: before the root)
    dev / denominator           -> norm         dev * rsqrt(...) -> norm; x / denominator -> norm, not centred
    norm * w + b                -> affine

Anything else made from the input is opaque: it is computed, but the reader has no step for it.
"""

import math

import numpy as np

from .context import CodeError
from ..errors import MAX_ELEMENTS
from .limits import MAX_INT, Unreadable
from .values import CONST, Stat, Sym, Val, opaque, replace_stat

FLOATS = ("tensor", "array", "number")
OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}
SYMBOLS = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "Pow": "**", "FloorDiv": "//", "Mod": "%"}


def result_kind(a, b, line):
    """The kind and dtype of a op b: a tensor where either is one, else a numpy array, else a Python float."""
    kinds = {a.kind, b.kind}
    if "tensor" in kinds and "array" in kinds:
        raise CodeError(line, "TypeError", "a torch tensor and a numpy array in one operation: convert one first")
    if "tensor" in kinds:
        dtypes = {v.dtype for v in (a, b) if v.kind == "tensor"}
        return "tensor", "float64" if "float64" in dtypes else "float32"
    if "array" in kinds:
        return "array", "float64"
    return "number", "float64"


def broadcast_shape(a, b, kind, line):
    """The broadcast shape of two shapes, or the error torch (or numpy) raises, in its words."""
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        pass
    if kind != "tensor":
        raise CodeError(line, "ValueError", "operands could not be broadcast together with shapes "
                                            f"{_np_shape(a)} {_np_shape(b)} ")
    n = max(len(a), len(b))
    for i in range(1, n + 1):  # torch looks from the last dim
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and da != 1 and db != 1:
            raise CodeError(line, "RuntimeError", f"The size of tensor a ({da}) must match the size of tensor b "
                                                  f"({db}) at non-singleton dimension {n - i}")
    raise CodeError(line, "RuntimeError", f"shapes {a} and {b} cannot be broadcast")


def _np_shape(shape):
    return "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def python_int(ctx, op, a, b, line):
    """int op int, as Python computes it, kept within MAX_INT (past it, a float: the number it stands for)."""
    if op in ("/",) or (op == "**" and b < 0):
        return _python_float(op, float(a), float(b), line)
    if op in ("//", "%") and b == 0:
        raise CodeError(line, "ZeroDivisionError", "integer division or modulo by zero")
    if op == "**" and (abs(a) > 1 and b * max(math.log2(abs(a)), 1) > 53):
        return _python_float(op, float(a), float(b), line)
    value = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "//": lambda: a // b,
             "%": lambda: a % b, "**": lambda: a**b}[op]()
    return Val("int", value) if abs(value) <= MAX_INT else Val("number", np.float64(value))


def _python_float(op, a, b, line):
    if op == "/" and b == 0:
        raise CodeError(line, "ZeroDivisionError", "float division by zero")
    with np.errstate(all="ignore"):
        return Val("number", np.asarray(OPS[op](np.float64(a), np.float64(b))))


def as_float(v):
    """An int or bool as a Python float value; numeric values as they are."""
    if v.kind in ("int", "bool"):
        return Val("number", np.asarray(float(v.data)))
    return v


def binary(ctx, op, a, b, line):
    """a op b for numbers, tensors and arrays: (data, Sym) of the result, as a Val."""
    if a.kind in ("int", "bool") and b.kind in ("int", "bool"):
        return python_int(ctx, op, int(a.data), int(b.data), line)
    if op in ("//", "%"):
        raise CodeError(line, "TypeError", f"the reader computes {op} on whole numbers only")
    a, b = as_float(a), as_float(b)
    if not (a.numeric and b.numeric):
        names = {"list": "list", "tuple": "tuple", "str": "str", "none": "NoneType"}
        raise CodeError(line, "TypeError", f"unsupported operand type(s) for {op}: "
                                           f"'{names.get(a.kind, a.kind)}' and '{names.get(b.kind, b.kind)}'")
    kind, dtype = result_kind(a, b, line)
    try:
        shape = broadcast_shape(a.shape, b.shape, kind, line)
    except CodeError as e:
        lost = [v.sym.stat for v in (a, b) if v.sym.role == "stat" and not v.sym.stat.kept]
        if lost:  # a statistic reduced without keepdim: that is the mistake, on its line
            e.mistake = ("no_keepdim", lost[0].line)
        raise
    if math.prod(shape) > MAX_ELEMENTS:
        raise Unreadable(line, f"a result of {math.prod(shape):,} elements: the reader's limit is {MAX_ELEMENTS:,} "
                               "(MAX_ELEMENTS)")
    ctx.spend(math.prod(shape), line)
    if kind == "number" and op == "/" and float(b.data) == 0:
        raise CodeError(line, "ZeroDivisionError", "float division by zero")
    with np.errstate(all="ignore"):
        data = np.asarray(OPS[op](a.data, b.data), dtype=np.float64)
    sym = combine(ctx, op, a, b, shape, line)
    return Val(kind, data, sym, dtype)


def _scalar(v):
    """The one number of a constant value (None where it has more than one)."""
    if v.sym.role != "const" or np.size(v.data) != 1:
        return None
    return float(np.asarray(v.data).reshape(-1)[0])


def combine(ctx, op, a, b, shape, line):
    """The Sym of a op b (see the module's docstring)."""
    sa, sb = a.sym.broadcast(shape), b.sym.broadcast(shape)
    ra, rb = sa.role, sb.role
    if ra == "const" and rb == "const":
        return CONST
    for s in (sa, sb):
        if s.role in ("opaque", "ref"):
            return s if s.role == "opaque" else opaque("it computes further with torch's own output", line)
    ca, cb = _scalar(a), _scalar(b)
    if op == "-" and ra == "input" and rb == "stat" and sb.stat.what == "mean" and not sb.stat.inverse:
        ctx.note(line, f"subtracts the mean ({sb.stat.fn}, line {sb.stat.line}) from each element")
        return Sym("dev", src=sa.src, mean=sb.pool, mstat=sb.stat)
    if op == "*" and ra == rb and ra in ("dev", "input") and np.array_equal(sa.src, sb.src) and (
            ra == "input" or np.array_equal(sa.mean, sb.mean)):
        return _square(sa, line)
    if op == "**" and ra in ("dev", "input") and cb == 2:
        return _square(sa, line)
    if ra in ("dev", "input") and rb == "stat" and (
            (op == "/" and sb.stat.is_denominator and not sb.stat.inverse)
            or (op == "*" and sb.stat.is_denominator and sb.stat.inverse)):
        return _normalized(ctx, sa, sb, line)
    if ra == "stat" and rb in ("dev", "input") and op == "*" and sa.stat.is_denominator and sa.stat.inverse:
        return _normalized(ctx, sb, sa, line)
    if ra in ("norm", "affine") and rb == "const":
        return _affine(ctx, op, sa, sb, a, b, shape, line)
    if rb in ("norm", "affine") and ra == "const" and op in ("*", "+"):
        return _affine(ctx, op, sa, sb, a, b, shape, line)
    if ra == "stat" and rb == "const":
        return _stat_const(ctx, op, sa, cb, line)
    if ra == "const" and rb == "stat":
        if op == "/" and ca == 1.0:
            return replace_stat(sb, inverse=not sb.stat.inverse)
        if op in ("+", "*"):
            return _stat_const(ctx, op, sb, ca, line)
        return opaque(f"a number {op} a statistic", line)
    if ra == "stat" and rb == "stat":
        return _stat_stat(ctx, op, sa, sb, line)
    return opaque(f"{_word(ra)} {op} {_word(rb)}", line)


def _word(role):
    return {"input": "the input", "const": "a number", "stat": "a statistic", "dev": "x - mean",
            "sq": "a square", "norm": "a normalized value", "affine": "a normalized value"}.get(role, role)


def _square(s, line):
    return Sym("sq", src=s.src, mean=s.mean, mstat=s.mstat, lines=(("sq", line),))


def _normalized(ctx, top, den, line):
    """x - mean (or x) divided by a denominator: a normalized value."""
    mean = top.mean if top.role == "dev" else np.full(top.src.shape, -1, dtype=np.int64)
    how = "multiplies by" if den.stat.inverse else "divides by"
    ctx.note(line, f"{how} {denominator_words(den.stat)}")
    return Sym("norm", src=top.src, mean=mean, pool=den.pool, stat=den.stat, mstat=top.mstat,
               lines=(("div", line),))


def denominator_words(st):
    """A denominator in the symbols of code: 'sqrt(var + eps)', 'sqrt(std + eps)', 'std + eps', 'std'."""
    base = "ms" if st.what == "ms" else "var"
    inner = base
    for r in range(st.roots):
        if st.eps_at == r:
            inner = f"{inner} + eps"
        inner = f"sqrt({inner})"
    if st.eps_at == st.roots:
        inner = f"{inner} + eps"
    inner = inner.replace("sqrt(var)", "std")
    if st.eps_at is None and st.roots == 1:
        inner = "std" if base == "var" else "sqrt(ms)"
    return f"1 / {inner}" if st.inverse else inner


def _affine(ctx, op, sa, sb, a, b, shape, line):
    """norm * w, norm + b (either side): the weight and bias, per element."""
    norm, c = (sa, b) if sa.role in ("norm", "affine") else (sb, a)
    values = np.broadcast_to(np.asarray(c.data, dtype=np.float64), shape)
    weight = norm.weight if norm.weight is not None else np.ones(shape)
    bias = norm.bias if norm.bias is not None else np.zeros(shape)
    if op == "*":
        if norm.bias is not None:
            return opaque("a weight applied after the bias", line)
        ctx.note(line, "multiplies by a weight (affine)")
        return Sym("affine", src=norm.src, mean=norm.mean, pool=norm.pool, stat=norm.stat, mstat=norm.mstat,
                   weight=weight * values, bias=bias, lines=norm.lines + (("weight", line),))
    if op in "+-":
        if norm is sb and op == "-":
            return opaque("a number minus a normalized value", line)
        ctx.note(line, "adds a bias (affine)")
        return Sym("affine", src=norm.src, mean=norm.mean, pool=norm.pool, stat=norm.stat, mstat=norm.mstat,
                   weight=weight, bias=bias + (values if op == "+" else -values),
                   lines=norm.lines + (("bias", line),))
    return opaque(f"a normalized value {op} a number", line)


def _stat_const(ctx, op, s, c, line):
    """A statistic with a number: eps added, a sum divided by n or n - 1, a power."""
    st = s.stat
    if c is None:
        return opaque(f"a statistic {op} numbers that are not one number", line)
    if op == "+" and st.what in ("var", "ms") and st.eps_at is None and not st.inverse:
        ctx.note(line, f"adds eps = {c:g} to the {_stage(st)}")
        return replace_stat(s, eps_at=st.roots, eps=c, eps_line=line)
    if op == "/" and st.what in ("sum", "sumx2", "sumsq"):
        what = {"sum": "mean", "sumx2": "ms", "sumsq": "var"}[st.what]
        if c == st.n:
            ctx.note(line, f"divides the sum by n = {st.n}" + (" (biased)" if what == "var" else ""))
            return replace_stat(s, what=what, ddof=0, ddof_line=line if what == "var" else st.ddof_line)
        if c == st.n - 1 and what in ("var", "ms"):
            ctx.note(line, f"divides the sum of squares by n − 1 = {st.n - 1}")
            return replace_stat(s, what=what, ddof=1, ddof_line=line)
        return opaque(f"divides a sum of {st.n} values by {c:g}, neither n nor n − 1", line)
    if op == "**":
        if c == 0.5:
            return root(ctx, s, line, "** 0.5")
        if c == -0.5:
            return replace_stat(root(ctx, s, line, "** -0.5"), inverse=not st.inverse)
        if c == 2 and st.what == "mean" and st.roots == 0:
            return replace_stat(s, what="mean2")
        if c == 2 and st.what == "var" and st.roots == 1 and st.eps_at is None:
            return replace_stat(s, roots=0, root_lines=())
        if c == -1:
            return replace_stat(s, inverse=not st.inverse)
    if op == "*" and c == 1.0:
        return s
    return opaque(f"a statistic {op} {c:g}", line)


def _stage(st):
    return ("variance" if st.what == "var" else "mean square") if st.roots == 0 else (
        "standard deviation" if st.roots == 1 else "square root of the standard deviation")


def _stat_stat(ctx, op, a, b, line):
    """Two statistics: the one-pass variance E[x^2] - E[x]^2 over the same pools."""
    if op == "-" and a.stat.what == "ms" and b.stat.what == "mean2" and _same_pools(ctx, a.pool, b.pool):
        ctx.note(line, "one pass: the mean of the squares minus the squared mean, E[x^2] − E[x]^2")
        st = a.stat
        return Sym("stat", pool=a.pool, stat=Stat("var", n=st.n, ddof=st.ddof, one_pass=True, kept=st.kept,
                                                  fn=st.fn, line=line, ddof_line=st.ddof_line or line))
    return opaque(f"a statistic {op} a statistic", line)


def _same_pools(ctx, a, b):
    """Whether two arrays of pool ids hold the same elements at every position."""
    if np.array_equal(a, b):
        return True
    flat_a, flat_b = np.ravel(a), np.ravel(b)
    pairs = set(zip(flat_a.tolist()[:4096], flat_b.tolist()[:4096]))
    return all(np.array_equal(ctx.pools.elements(p), ctx.pools.elements(q)) for p, q in pairs)


def root(ctx, s, line, how):
    """A square root of a statistic: one more root (a variance's is its std)."""
    if s.role == "const":
        return CONST
    if s.role != "stat" or s.stat.what not in ("var", "ms") or s.stat.inverse:
        return opaque(f"{how} of {_word(s.role)}", line)
    st = s.stat
    ctx.note(line, f"takes the square root of the {_stage(st)}" + (" + eps" if st.eps_at == st.roots else ""))
    return replace_stat(s, roots=st.roots + 1, root_lines=st.root_lines + (line,))


def negate(v, line):
    """-v: numbers only (a negated input is opaque)."""
    if v.kind in ("int", "bool"):
        return Val("int", -int(v.data))
    if not v.numeric:
        raise CodeError(line, "TypeError", f"bad operand type for unary -: '{v.kind}'")
    sym = CONST if v.sym.role == "const" else opaque("-x", line)
    return Val(v.kind, -v.data, sym, v.dtype)
