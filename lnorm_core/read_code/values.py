"""The values the reader computes with: numbers in float64 numpy, each with where it came from (its Sym).

A Sym says, for every element of a value, what it is in the recipe of a normalization:

    const    no element of the input in it (a literal, eps, a weight)
    input    an element of the input: src holds its flat index into x
    stat     a statistic: pool holds, per element, the id of the elements it pools (see Pools); stat says
             which (a mean, a sum, a variance with its estimator, the roots taken of it, where eps went)
    dev      x - mean: src, and mean, the pool of the mean subtracted
    sq       dev ** 2, or x ** 2 (mean -1: not centred)
    norm     dev / denominator: src, mean, pool (the denominator's), stat (the denominator's), mstat (the mean's)
    affine   norm * weight + bias: as norm, with weight and bias per element
    ref      torch's own layer (nn.LayerNorm(...)(x), F.group_norm(...)): spec
    opaque   made from the input in a way the reader has no step for: why, line

Every array of a Sym has the shape of the value's data, so a reshape, a transpose or an index of the value does the
same to its Sym, and broadcasting broadcasts both.
"""

from dataclasses import dataclass, field, fields, replace

import numpy as np

ARRAYS = ("src", "mean", "pool", "weight", "bias")  # the per-element fields of a Sym


@dataclass(frozen=True)
class Stat:
    """What a statistic is, and the lines that made it.

    what: "mean", "sum", "ms" (the mean of x^2), "sumx2" (the sum of x^2), "sumsq" (the sum of squared deviations),
        "var" (a variance: two-pass, or one_pass), "mean2" (a mean, squared).
    n: the elements each one pools. ddof: a variance's divisor is n - ddof. one_pass: E[x^2] - E[x]^2.
    roots: square roots taken of the variance (1: a std). eps_at: how many roots had been taken when eps was added
        (None: no eps). inverse: 1 / it. kept: the reduction kept its dims (keepdim=True), so it lines up with x.
    fn: the call that made it, as written ("torch.std", "statistics.stdev"). line: that line.
    ddof_line: the line that chose the estimator. root_lines: the line of each root. eps_line: where eps went in.
    """

    what: str
    n: int = 0
    ddof: int = 0
    one_pass: bool = False
    roots: int = 0
    eps_at: int = None
    eps: float = None
    inverse: bool = False
    kept: bool = True
    fn: str = ""
    line: int = 0
    ddof_line: int = 0
    root_lines: tuple = ()
    eps_line: int = 0

    def same_kind(self, other):
        """Whether two statistics are the same step (their lines aside): rows of one loop may be stacked."""
        keys = ("what", "n", "ddof", "one_pass", "roots", "eps_at", "eps", "inverse", "kept")
        return other is not None and all(getattr(self, k) == getattr(other, k) for k in keys)

    @property
    def is_denominator(self):
        """A variance (or mean square) under at least one root: what a deviation is divided by."""
        return self.what in ("var", "ms") and self.roots >= 1


@dataclass(frozen=True)
class Sym:
    """Where each element of a value came from (see the module's docstring)."""

    role: str
    src: np.ndarray = None
    mean: np.ndarray = None
    pool: np.ndarray = None
    weight: np.ndarray = None
    bias: np.ndarray = None
    stat: Stat = None
    mstat: Stat = None
    lines: tuple = ()  # (name, line) pairs: "div", "weight", "bias"
    why: str = ""
    line: int = 0
    spec: object = None

    def line_of(self, name):
        """The line recorded under `name` (0 when none)."""
        return dict(self.lines).get(name, 0)

    def with_line(self, name, line):
        """A copy with one more named line."""
        return replace(self, lines=self.lines + ((name, line),))

    def map(self, fn):
        """The same Sym with fn applied to each per-element array (a reshape, an index, a transpose)."""
        changes = {k: fn(getattr(self, k)) for k in ARRAYS if getattr(self, k) is not None}
        return replace(self, **changes) if changes else self

    def broadcast(self, shape):
        """The Sym of the value broadcast to `shape`."""
        return self.map(lambda a: np.broadcast_to(a, shape))


CONST = Sym("const")


def opaque(why, line):
    """A value made from the input in a way the reader has no step for."""
    return Sym("opaque", why=why, line=line)


def replace_stat(sym, **changes):
    """The Sym with some fields of its Stat changed."""
    return replace(sym, stat=replace(sym.stat, **changes))


def stack(syms, line):
    """The Sym of values stacked along a new first dim (torch.stack, a list made into a tensor)."""
    first = syms[0]
    if all(s.role == "const" for s in syms):
        return CONST
    if first.role in ("opaque", "ref"):
        return first
    if any(s.role != first.role for s in syms):
        return opaque("its items are of different kinds (some from the input, some not)", line)
    for s in syms[1:]:
        for name in ("stat", "mstat"):
            a, b = getattr(first, name), getattr(s, name)
            if (a is None) != (b is None) or (a is not None and not a.same_kind(b)):
                return opaque("its items are computed in different ways", line)
    arrays = {}
    for k in ARRAYS:
        parts = [getattr(s, k) for s in syms]
        if all(p is not None for p in parts):
            arrays[k] = np.stack([np.asarray(p) for p in parts])
        elif any(p is not None for p in parts):
            return opaque("its items are computed in different ways", line)
    return replace(first, **arrays)


@dataclass
class Val:
    """A value of the snippet.

    kind: "tensor", "array" (numpy), "number" (a Python float, or a numpy scalar), "int", "bool", "str", "none",
        "list", "tuple", "slice", "ellipsis", "namespace" (torch, np, ...), "function" (the vocabulary's), "method"
        (a bound one), "userfunc" (a def of the snippet), "layer" (an nn module), "dtype", "generator".
    data: a float64 ndarray for tensor, array and number; a Python value for int, bool, str; a list of Val for
        list and tuple; the object itself for the others.
    sym: where a tensor, array or number came from. dtype: the dtype of the person's own run ("float32" for
        torch's default, "float64" for numpy and Python floats).
    """

    kind: str
    data: object = None
    sym: Sym = CONST
    dtype: str = "float64"
    extra: dict = field(default_factory=dict)

    @property
    def numeric(self):
        """Whether this is a tensor, an array or a number (a float64 ndarray with a Sym)."""
        return self.kind in ("tensor", "array", "number")

    @property
    def shape(self):
        """The shape of a numeric value."""
        return tuple(np.shape(self.data))


def number(value, sym=CONST):
    """A Python float (0-d float64) with its Sym."""
    return Val("number", np.asarray(value, dtype=np.float64), sym)


def const_int(value):
    """A Python int."""
    return Val("int", int(value))


NONE = Val("none")


def sym_fields():
    """The names of a Sym's fields (for tests and notes)."""
    return tuple(f.name for f in fields(Sym))
