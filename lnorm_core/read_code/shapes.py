"""Indexing and reshaping the reader's values: the same index or reshape on the numbers and on their Sym."""

import math

import numpy as np

from .context import CodeError
from .limits import Unreadable
from .values import Val


def index_value(ctx, v, key, line):
    """v[key] for a tensor or array: key a Python index of ints, slices, None and Ellipsis (no lists, no masks)."""
    parts = key if isinstance(key, tuple) else (key,)
    shape = v.shape
    dim = 0
    used = sum(1 for p in parts if p is not None and p is not Ellipsis)
    if used > len(shape):
        raise CodeError(line, "IndexError", f"too many indices for tensor of dimension {len(shape)}"
                        if v.kind == "tensor" else f"too many indices for array: array is {len(shape)}-dimensional,"
                                                   f" but {used} were indexed")
    for p in parts:
        if p is Ellipsis:
            dim += len(shape) - used
        elif p is None:
            continue
        elif isinstance(p, int):
            size = shape[dim]
            if not -size <= p < size:
                axis = "dimension" if v.kind == "tensor" else "axis"
                raise CodeError(line, "IndexError", f"index {p} is out of bounds for {axis} {dim} with size {size}")
            dim += 1
        elif isinstance(p, slice):
            dim += 1
        else:
            raise Unreadable(line, "an index that is not whole numbers, slices, None or ...")
    data = np.asarray(v.data[key], dtype=np.float64)
    return Val(v.kind, data, v.sym.map(lambda a: np.asarray(np.broadcast_to(a, shape)[key])), v.dtype)


def reshape_value(ctx, v, dims, line, how="view"):
    """v.reshape(dims) / v.view(dims), with one -1 inferred; torch's (numpy's) words where it cannot be."""
    dims = tuple(int(d) for d in dims)
    size = math.prod(v.shape)
    known = math.prod(d for d in dims if d != -1)
    if dims.count(-1) > 1:
        raise CodeError(line, "RuntimeError", "only one dimension can be inferred")
    if any(d < -1 for d in dims) or (-1 in dims and (known == 0 or size % known)) or (
            -1 not in dims and known != size):
        if v.kind == "tensor":
            raise CodeError(line, "RuntimeError", f"shape '{list(dims)}' is invalid for input of size {size}")
        raise CodeError(line, "ValueError", f"cannot reshape array of size {size} into shape "
                                            f"{tuple(dims) if len(dims) != 1 else '(' + str(dims[0]) + ',)'}")
    new = tuple(size // known if d == -1 else d for d in dims)
    return apply(v, lambda a: np.reshape(np.broadcast_to(a, v.shape), new))


def apply(v, fn):
    """A value with fn (a shape change: reshape, transpose, ...) applied to its numbers and its Sym."""
    return Val(v.kind, np.asarray(fn(v.data), dtype=np.float64), v.sym.map(fn), v.dtype)


def check_dim(d, ndim, line, kind="tensor", extra=0):
    """A dim in range (ndim + extra for unsqueeze), as a non-negative int, or torch's words."""
    n = max(ndim + extra, 1)
    if not -n <= d < n:
        raise CodeError(line, "IndexError", f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                                            f"but got {d})")
    return d % n


def permute_value(ctx, v, dims, line):
    """v.permute(dims)."""
    nd = len(v.shape)
    if len(dims) != nd:
        raise CodeError(line, "RuntimeError", f"permute(sparse_coo): number of dimensions in the tensor input does "
                                              f"not match the length of the desired ordering of dimensions i.e. "
                                              f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    axes = tuple(check_dim(d, nd, line) for d in dims)
    return apply(v, lambda a: np.transpose(np.broadcast_to(a, v.shape), axes))


def transpose_value(ctx, v, d0, d1, line):
    """v.transpose(d0, d1)."""
    nd = len(v.shape)
    a0, a1 = check_dim(d0, nd, line), check_dim(d1, nd, line)
    return apply(v, lambda a: np.swapaxes(np.broadcast_to(a, v.shape), a0, a1))


def movedim_value(ctx, v, src, dst, line):
    """v.movedim(src, dst)."""
    nd = len(v.shape)
    s, d = check_dim(src, nd, line), check_dim(dst, nd, line)
    return apply(v, lambda a: np.moveaxis(np.broadcast_to(a, v.shape), s, d))


def unsqueeze_value(ctx, v, d, line):
    """v.unsqueeze(d)."""
    axis = check_dim(d, len(v.shape), line, extra=1)
    return apply(v, lambda a: np.expand_dims(np.broadcast_to(a, v.shape), axis))


def squeeze_value(ctx, v, d, line):
    """v.squeeze() or v.squeeze(d) (a dim that is not 1 stays, as in torch)."""
    shape = v.shape
    if d is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        axis = check_dim(d, len(shape), line)
        axes = (axis,) if shape and shape[axis] == 1 else ()
    return apply(v, lambda a: np.squeeze(np.broadcast_to(a, shape), axis=axes))


def flatten_value(ctx, v, start, end, line):
    """v.flatten(start, end)."""
    shape = v.shape
    nd = len(shape)
    if nd == 0:
        return reshape_value(ctx, v, (1,), line)
    s, e = check_dim(start, nd, line), check_dim(end, nd, line)
    new = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
    return reshape_value(ctx, v, new, line)
