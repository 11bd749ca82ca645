"""Reductions on the reader's values: mean, sum, var and std over dims, their numbers and which elements they pool.

A reduction of the input (or of its squared deviations) is recorded in the reading's Pools, so each statistic knows
the elements it pooled; its note says so in words: "torch.std over x[0, :, :]: 12 values, divided by n − 1".
"""

import math

import numpy as np

from .context import CodeError
from .pools import Pools
from .values import CONST, Stat, Sym, Val, opaque

ESTIMATOR_WORDS = {  # (how the call chose it) -> words; n - 1 or n
    "torch-default": "divided by n − 1 (torch's default)",
    "numpy-default": "divided by n (numpy's default, ddof=0)",
    "sample": "divided by n − 1 (the sample estimator)",
    "population": "divided by n (the population estimator)",
}


def axes_of(dims, ndim, line, kind="tensor"):
    """dims (None, an int or a sequence) as a sorted tuple of axes in range, or torch's (numpy's) error."""
    if dims is None:
        return tuple(range(ndim))
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            if kind == "tensor":
                raise CodeError(line, "IndexError", f"Dimension out of range (expected to be in range of "
                                                    f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
            raise CodeError(line, "AxisError", f"axis {d} is out of bounds for array of dimension {ndim}")
        out.append(d % max(ndim, 1))
    if len(set(out)) != len(out):
        raise CodeError(line, "RuntimeError", f"dim {out[0]} appears multiple times in the list of dims")
    return tuple(sorted(out))


def reduce(ctx, v, axes, keepdim, how, ddof=0, fn="", line=0, kind=None, estimator=""):
    """how ("mean", "sum", "var", "std") of v over axes (a tuple from axes_of), as a Val of `kind`.

    ddof: the variance's divisor is n - ddof. estimator: a key of ESTIMATOR_WORDS, for the note.
    """
    shape = v.shape
    ctx.spend(math.prod(shape) * (2 if how in ("var", "std") else 1), line)
    axes = tuple(axes) if shape else ()
    n = math.prod(shape[a] for a in axes) if axes else 1
    with np.errstate(all="ignore"):
        if how == "mean":
            data = np.mean(v.data, axis=axes, keepdims=keepdim) if n else np.full(_kept(shape, axes, keepdim),
                                                                                   np.nan)
        elif how == "sum":
            data = np.sum(v.data, axis=axes, keepdims=keepdim)
        else:
            data = (np.var if how == "var" else np.std)(v.data, axis=axes, ddof=ddof, keepdims=keepdim)
    data = np.asarray(data, dtype=np.float64)
    sym = _reduced_sym(ctx, v.sym, shape, axes, keepdim, how, ddof, n, fn, line, estimator)
    return Val(kind or v.kind, data, sym, v.dtype)


def _kept(shape, axes, keepdim):
    return tuple(1 if i in axes else d for i, d in enumerate(shape)) if keepdim else tuple(
        d for i, d in enumerate(shape) if i not in axes)


def _reduced_sym(ctx, sym, shape, axes, keepdim, how, ddof, n, fn, line, estimator):
    """The Sym of a reduction: a statistic pooling the elements it read, or opaque."""
    role = sym.role
    if role == "const":
        return CONST
    if role == "opaque":
        return sym
    if role not in ("input", "sq"):
        what = {"dev": "x − mean", "stat": "a statistic", "norm": "normalized values", "affine": "normalized values",
                "ref": "torch's output"}.get(role, role)
        return opaque(f"the {how} of {what}", line)
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    local = np.broadcast_to(np.arange(math.prod(kept)).reshape(kept), shape)
    src = np.broadcast_to(sym.src, shape)
    r = ctx.pools.add(src, local)
    if r is None:
        return opaque("it pools an element of x twice (x broadcast or repeated)", line)
    ids = Pools.ids(r, np.arange(math.prod(kept))).reshape(kept)
    if not keepdim:
        ids = ids.reshape(_kept(shape, axes, False))
    flat = np.asarray(src).reshape(-1)[np.asarray(local).reshape(-1) == 0]  # the elements of the first pool
    groups = math.prod(kept)
    where = f"{ctx.label(flat)}" + (f" (one of {groups} groups)" if groups > 1 else "")
    stat = _stat_of(ctx, sym, shape, axes, how, ddof, n, fn, line, estimator, where)
    if isinstance(stat, Sym):
        return stat
    stat = Stat(**{**stat, "kept": keepdim or not ids.shape})
    return Sym("stat", pool=ids, stat=stat)


def _stat_of(ctx, sym, shape, axes, how, ddof, n, fn, line, estimator, where):
    """The fields of the Stat a reduction makes (or an opaque Sym where it is none of the steps)."""
    common = dict(n=n, fn=fn, line=line)
    if sym.role == "input":
        if how in ("mean", "sum"):
            ctx.note(line, f"{fn} over {where}: {n} values", key=fn)
            return dict(what=how, **common)
        words = ESTIMATOR_WORDS.get(estimator, f"divided by n − {ddof}" if ddof else "divided by n")
        ctx.note(line, f"{fn} over {where}: {n} values, {words}", key=fn)
        roots = 1 if how == "std" else 0
        return dict(what="var", ddof=ddof, roots=roots, root_lines=(line,) * roots, ddof_line=line, **common)
    # sq: the squares of x (not centred) or of its deviations from a mean
    if how in ("var", "std"):
        return opaque(f"the {how} of squares", line)
    if sym.mean is None or np.all(np.asarray(sym.mean) < 0):
        ctx.note(line, f"{fn} of the squares over {where}: {n} values", key=fn)
        return dict(what="ms" if how == "mean" else "sumx2", ddof=0, ddof_line=line, **common)
    if not _centred_on_own_mean(ctx, sym, shape, axes, n):
        return opaque("the squared deviations are from the mean of other elements", line)
    if how == "mean":
        ctx.note(line, f"{fn} of the squared deviations over {where}: {n} values, divided by n (biased)", key=fn)
        return dict(what="var", ddof=0, ddof_line=line, **common)
    ctx.note(line, f"{fn} of the squared deviations over {where}: {n} values", key=fn)
    return dict(what="sumsq", ddof=0, **common)


def _centred_on_own_mean(ctx, sym, shape, axes, n):
    """Whether each group's squared deviations are from one mean, and that mean pools the group itself."""
    mean = np.broadcast_to(sym.mean, shape)
    if np.any(mean < 0):
        return False
    if np.any(np.min(mean, axis=axes, keepdims=True) != np.max(mean, axis=axes, keepdims=True)):
        return False
    if not np.all(ctx.pools.contains(mean, np.broadcast_to(sym.src, shape))):
        return False
    return all(ctx.pools.size(int(p)) == n for p in np.unique(mean))
