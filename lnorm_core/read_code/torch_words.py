"""The torch part of the vocabulary: torch's functions and a tensor's methods and properties (numpy arrays share
the reductions and the shape methods, with numpy's names: axis, keepdims, ddof)."""

import math

import numpy as np
import torch

from ..errors import MAX_ELEMENTS
from . import ops, shapes
from .context import CodeError
from .limits import Unreadable
from .reduce import axes_of, reduce
from .values import CONST, Sym, Val, number, opaque
from .vocabulary import (
    METHODS,
    NAMESPACES,
    PROPERTIES,
    REQUIRED,
    Func,
    dims_arg,
    function,
    to_bool,
    to_float,
    to_int,
    to_ints,
    to_list,
    to_numeric,
)

TORCH_DIM = {"axis": "dim", "keepdims": "keepdim"}


def need_tensor(v, fn, line, what="input"):
    if v.kind != "tensor":
        name = {"number": "float", "int": "int", "list": "list", "array": "numpy.ndarray"}.get(v.kind, v.kind)
        raise CodeError(line, "TypeError", f"{fn}(): argument '{what}' (position 1) must be Tensor, not {name}")
    return v


def estimator(unbiased, correction, line, default_words="torch-default"):
    """(ddof, words key) from torch's unbiased= / correction= arguments."""
    if correction is not None and correction.kind != "none":
        ddof = to_int(correction, line)
        return ddof, "population" if ddof == 0 else "sample" if ddof == 1 else ""
    if unbiased is None or unbiased.kind == "none":
        return 1, default_words
    return (1, "sample") if to_bool(unbiased, line) else (0, "population")


def _reduction(how):
    def impl(ev, line, input, dim=None, keepdim=None, unbiased=None, correction=None, name=""):
        need_tensor(input, name, line)
        axes = axes_of(dims_arg(dim, line), len(input.shape), line)
        keep = False if keepdim is None or keepdim.kind == "none" else to_bool(keepdim, line)
        ddof, words = estimator(unbiased, correction, line) if how in ("var", "std") else (0, "")
        return reduce(ev.ctx, input, axes, keep, how, ddof, name, line, "tensor", words)
    return impl


def _torch_reduction(how):
    name = f"torch.{how}"
    impl = _reduction(how)
    params = [("input", REQUIRED), ("dim", None)]
    params += [("unbiased", None), ("keepdim", None), ("correction", None)] if how in ("var", "std") else [
        ("keepdim", None)]
    return function(name, params, lambda ev, line, **kw: impl(ev, line, name=name, **kw), aliases=TORCH_DIM)


def _method_reduction(how):
    name = f".{how}"
    impl = _reduction(how)
    params = [("dim", None)]
    params += [("unbiased", None), ("keepdim", None), ("correction", None)] if how in ("var", "std") else [
        ("keepdim", None)]
    return Func(name, params, lambda ev, line, this, **kw: impl(ev, line, this, name=f"{name}()", **kw),
                aliases=TORCH_DIM)


def _var_mean(how):
    name = f"torch.{how}_mean"

    def impl(ev, line, input, dim=None, unbiased=None, keepdim=None, correction=None):
        need_tensor(input, name, line)
        axes = axes_of(dims_arg(dim, line), len(input.shape), line)
        keep = False if keepdim is None or keepdim.kind == "none" else to_bool(keepdim, line)
        ddof, words = estimator(unbiased, correction, line)
        spread = reduce(ev.ctx, input, axes, keep, how, ddof, name, line, "tensor", words)
        mean = reduce(ev.ctx, input, axes, keep, "mean", 0, name, line, "tensor")
        return Val("tuple", [spread, mean])
    return function(name, [("input", REQUIRED), ("dim", None), ("unbiased", None), ("keepdim", None),
                           ("correction", None)], impl, aliases=TORCH_DIM)


def elementwise(fn_name, how):
    """sqrt, rsqrt, square on a value: the numbers, and the Sym (a root of a statistic, a square of x - mean)."""
    def apply(ev, line, v):
        ev.ctx.spend(np.size(v.data), line)
        with np.errstate(all="ignore"):
            if how == "sqrt":
                data = np.sqrt(v.data)
                sym = ops.root(ev.ctx, v.sym, line, fn_name)
            elif how == "rsqrt":
                data = 1.0 / np.sqrt(v.data)
                sym = ops.root(ev.ctx, v.sym, line, fn_name)
                sym = sym if sym.role != "stat" else Sym("stat", pool=sym.pool, stat=_inverse(sym.stat))
            else:
                return ops.binary(ev.ctx, "**", v, Val("int", 2), line)
        return Val(v.kind, np.asarray(data, dtype=np.float64), sym, v.dtype)
    return apply


def _inverse(st):
    from dataclasses import replace

    return replace(st, inverse=not st.inverse)


def _torch_elementwise(how):
    name = f"torch.{how}"
    impl = elementwise(name, how)

    def call(ev, line, input):
        return impl(ev, line, need_tensor(input, name, line))
    return function(name, [("input", REQUIRED)], call)


def _pow(ev, line, input, exponent):
    return ops.binary(ev.ctx, "**", need_tensor(input, "torch.pow", line), exponent, line)


def shape_arg(args, line):
    """torch.randn(2, 3) or torch.randn((2, 3)) or torch.randn(x.shape): the shape as ints, within the limits."""
    if len(args) == 1 and args[0].kind in ("list", "tuple"):
        dims = to_ints(args[0], line)
    else:
        dims = tuple(to_int(a, line) for a in args)
    if any(d < 0 for d in dims):
        raise CodeError(line, "RuntimeError", f"Trying to create tensor with negative dimension {min(dims)}")
    if math.prod(dims) > MAX_ELEMENTS:
        raise Unreadable(line, f"a tensor of {math.prod(dims):,} elements: the reader's limit is {MAX_ELEMENTS:,} "
                               "(MAX_ELEMENTS)")
    return dims


TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}  # the dtypes the reader knows, and no other


def _dtype(v, line, default="float32"):
    if v is None or v.kind == "none":
        return default
    if v.kind != "dtype":
        raise Unreadable(line, "a dtype lnorm does not read")
    return v.data


def _as_input(ev, data, dtype, line, made, words):
    """A tensor the snippet makes: the input when it is the first, else a constant."""
    ctx = ev.ctx
    if ctx.x is None:
        data = ctx.made(data, line)
        ctx.set_input(data, dtype, "", line, made)
        ctx.note(line, words)
        return Val("tensor", data, Sym("input", src=np.arange(data.size).reshape(data.shape)), dtype)
    return Val("tensor", data, CONST, dtype)


def _randn(dist):
    name = f"torch.{'randn' if dist == 'normal' else 'rand'}"

    def impl(ev, line, size, dtype=None, requires_grad=None):
        dims = shape_arg(size, line)
        dt = _dtype(dtype, line)
        ctx = ev.ctx
        ev.ctx.spend(math.prod(dims), line)
        if ctx.generator is None:
            ctx.generator = torch.Generator().manual_seed(0 if ctx.seed is None else ctx.seed)
            if ctx.seed is None:
                ctx.note(line, "no torch.manual_seed before it: lnorm draws what torch.manual_seed(0) gives")
        draw = torch.randn if dist == "normal" else torch.rand
        data = draw(dims, generator=ctx.generator, dtype=TORCH_DTYPES[dt]).double().numpy()
        seed = 0 if ctx.seed is None else ctx.seed
        return _as_input(ev, data, dt, line, "randn", f"{name}{dims}: the input, drawn after "
                                                          f"torch.manual_seed({seed})")
    return function(name, [("size", REQUIRED), ("dtype", None), ("requires_grad", None)], impl, takes_rest="size")


def _manual_seed(ev, line, seed):
    ev.ctx.seed = to_int(seed, line)
    ev.ctx.generator = None
    return Val("generator", None)


def _tensor(ev, line, data, dtype=None, requires_grad=None):
    dt = _dtype(dtype, line)
    v = to_numeric(data, line, "tensor", dt)
    if dt == "float32":
        v = Val("tensor", v.data.astype(np.float32).astype(np.float64), v.sym, dt)
    ctx = ev.ctx
    if ctx.input_made == "literal" and v.sym.role == "input" and np.size(v.data) == ctx.x.size:
        ctx.x = np.asarray(v.data).reshape(ctx.x.shape).copy()
        ctx.input_dtype = dt
    return v


def _filled(value):
    def impl(ev, line, size, dtype=None):
        dims = shape_arg(size, line)
        ev.ctx.spend(math.prod(dims), line)
        return Val("tensor", np.full(dims, value, dtype=np.float64), CONST, _dtype(dtype, line))
    return impl


def _like(value):
    def impl(ev, line, input, dtype=None):
        need_tensor(input, "torch.ones_like", line)
        return Val("tensor", np.full(input.shape, value, dtype=np.float64), CONST, _dtype(dtype, line, input.dtype))
    return impl


def _full(ev, line, size, fill_value, dtype=None):
    dims = shape_arg([size], line)
    return Val("tensor", np.full(dims, to_float(fill_value, line)), CONST, _dtype(dtype, line))


def _stack(ev, line, tensors, dim=None):
    items = list(tensors.data) if tensors.kind in ("list", "tuple") else []
    if not items or any(i.kind != "tensor" for i in items):
        raise CodeError(line, "TypeError", "stack(): argument 'tensors' must be a tuple of Tensors")
    v = to_numeric(Val("list", items), line, "tensor", items[0].dtype)
    d = 0 if dim is None else to_int(dim, line)
    return shapes.movedim_value(ev.ctx, v, 0, d, line) if d else v


def _allclose(ev, line, input, other, rtol=None, atol=None, equal_nan=None):
    a, b = np.asarray(input.data), np.asarray(other.data)
    r = 1e-5 if rtol is None else to_float(rtol, line)
    t = 1e-8 if atol is None else to_float(atol, line)
    return Val("bool", bool(np.allclose(a, b, rtol=r, atol=t)))


def _from_numpy(ev, line, ndarray):
    if ndarray.kind != "array":
        raise CodeError(line, "TypeError", "expected np.ndarray")
    return Val("tensor", ndarray.data, ndarray.sym, "float64")


NAMESPACES["torch"] = {
    **{how: _torch_reduction(how) for how in ("mean", "sum", "var", "std")},
    "var_mean": _var_mean("var"), "std_mean": _var_mean("std"),
    **{how: _torch_elementwise(how) for how in ("sqrt", "rsqrt", "square")},
    "pow": function("torch.pow", [("input", REQUIRED), ("exponent", REQUIRED)], _pow),
    "randn": _randn("normal"), "rand": _randn("uniform"),
    "manual_seed": function("torch.manual_seed", [("seed", REQUIRED)], _manual_seed),
    "tensor": function("torch.tensor", [("data", REQUIRED), ("dtype", None), ("requires_grad", None)], _tensor),
    "as_tensor": function("torch.as_tensor", [("data", REQUIRED), ("dtype", None)], _tensor),
    "from_numpy": function("torch.from_numpy", [("ndarray", REQUIRED)], _from_numpy),
    "ones": function("torch.ones", [("size", REQUIRED), ("dtype", None)], _filled(1.0), takes_rest="size"),
    "zeros": function("torch.zeros", [("size", REQUIRED), ("dtype", None)], _filled(0.0), takes_rest="size"),
    "ones_like": function("torch.ones_like", [("input", REQUIRED), ("dtype", None)], _like(1.0)),
    "zeros_like": function("torch.zeros_like", [("input", REQUIRED), ("dtype", None)], _like(0.0)),
    "full": function("torch.full", [("size", REQUIRED), ("fill_value", REQUIRED), ("dtype", None)], _full),
    "stack": function("torch.stack", [("tensors", REQUIRED), ("dim", None)], _stack),
    "allclose": function("torch.allclose", [("input", REQUIRED), ("other", REQUIRED), ("rtol", None),
                                            ("atol", None), ("equal_nan", None)], _allclose),
    "no_grad": function("torch.no_grad", [], lambda ev, line: Val("grad_mode")),
    "inference_mode": function("torch.inference_mode", [], lambda ev, line: Val("grad_mode")),
    "float32": Val("dtype", "float32"), "float": Val("dtype", "float32"),
    "float64": Val("dtype", "float64"), "double": Val("dtype", "float64"),
}


# ---- a tensor's methods and properties ---------------------------------------------------------------------


def shape_ints(args, line):
    """reshape(2, 3) / reshape((2, 3)) / permute(0, 2, 1) / permute((0, 2, 1)): the ints."""
    if len(args) == 1 and args[0].kind in ("list", "tuple"):
        return to_ints(args[0], line)
    return tuple(to_int(a, line) for a in args)


def _convert(dtype):
    def impl(ev, line, this):
        data = this.data.astype(np.float32).astype(np.float64) if dtype == "float32" else this.data
        return Val(this.kind, data, this.sym, dtype)
    return impl


def _to(ev, line, this, dtype):
    return _convert(_dtype(dtype, line))(ev, line, this)


def _item(ev, line, this):
    if np.size(this.data) != 1:
        raise CodeError(line, "RuntimeError", f"a Tensor with {np.size(this.data)} elements cannot be converted to "
                                              "Scalar")
    return Val("number", np.asarray(this.data).reshape(()), this.sym.map(lambda a: np.asarray(a).reshape(())))


def _size(ev, line, this, dim=None):
    if dim is None:
        return Val("tuple", [Val("int", d) for d in this.shape])
    return Val("int", this.shape[shapes.check_dim(to_int(dim, line), len(this.shape), line)])


def _binary_method(op):
    return lambda ev, line, this, other: ops.binary(ev.ctx, op, this, other, line)


def _squeeze(ev, line, this, dim=None):
    return shapes.squeeze_value(ev.ctx, this, None if dim is None else to_int(dim, line), line)


TENSOR_METHODS = {
    **{how: _method_reduction(how) for how in ("mean", "sum", "var", "std")},
    **{how: Func(f".{how}", [], lambda ev, line, this, _h=how: elementwise(f".{_h}()", _h)(ev, line, this))
       for how in ("sqrt", "rsqrt", "square")},
    "pow": Func(".pow", [("exponent", REQUIRED)], lambda ev, line, this, exponent: ops.binary(
        ev.ctx, "**", this, exponent, line)),
    "reshape": Func(".reshape", [("shape", REQUIRED)], lambda ev, line, this, shape: shapes.reshape_value(
        ev.ctx, this, shape_ints(shape, line), line), takes_rest="shape"),
    "view": Func(".view", [("shape", REQUIRED)], lambda ev, line, this, shape: shapes.reshape_value(
        ev.ctx, this, shape_ints(shape, line), line), takes_rest="shape"),
    "permute": Func(".permute", [("dims", REQUIRED)], lambda ev, line, this, dims: shapes.permute_value(
        ev.ctx, this, shape_ints(dims, line), line), takes_rest="dims"),
    "transpose": Func(".transpose", [("dim0", REQUIRED), ("dim1", REQUIRED)], lambda ev, line, this, dim0, dim1:
                      shapes.transpose_value(ev.ctx, this, to_int(dim0, line), to_int(dim1, line), line)),
    "movedim": Func(".movedim", [("source", REQUIRED), ("destination", REQUIRED)],
                    lambda ev, line, this, source, destination: shapes.movedim_value(
                        ev.ctx, this, to_int(source, line), to_int(destination, line), line)),
    "unsqueeze": Func(".unsqueeze", [("dim", REQUIRED)], lambda ev, line, this, dim: shapes.unsqueeze_value(
        ev.ctx, this, to_int(dim, line), line)),
    "squeeze": Func(".squeeze", [("dim", None)], _squeeze),
    "flatten": Func(".flatten", [("start_dim", None), ("end_dim", None)], lambda ev, line, this, start_dim,
                    end_dim: shapes.flatten_value(ev.ctx, this, 0 if start_dim is None else to_int(start_dim, line),
                                                  -1 if end_dim is None else to_int(end_dim, line), line)),
    "t": Func(".t", [], lambda ev, line, this: shapes.transpose_value(ev.ctx, this, 0, -1, line)
              if len(this.shape) == 2 else this),
    **{name: Func(f".{name}", [], lambda ev, line, this: this) for name in ("contiguous", "clone", "detach", "cpu")},
    "float": Func(".float", [], _convert("float32")),
    "double": Func(".double", [], _convert("float64")),
    "to": Func(".to", [("dtype", REQUIRED)], _to),
    "numpy": Func(".numpy", [], lambda ev, line, this: Val("array", this.data, this.sym, "float64")),
    "tolist": Func(".tolist", [], lambda ev, line, this: to_list(this, line)),
    "item": Func(".item", [], _item),
    "size": Func(".size", [("dim", None)], _size),
    "dim": Func(".dim", [], lambda ev, line, this: Val("int", len(this.shape))),
    "numel": Func(".numel", [], lambda ev, line, this: Val("int", int(np.size(this.data)))),
    **{name: Func(f".{name}", [("other", REQUIRED)], _binary_method(op))
       for name, op in (("sub", "-"), ("add", "+"), ("mul", "*"), ("div", "/"))},
}
METHODS["tensor"] = TENSOR_METHODS
PROPERTIES["tensor"] = {
    "shape": lambda ev, this, line: Val("tuple", [Val("int", d) for d in this.shape]),
    "ndim": lambda ev, this, line: Val("int", len(this.shape)),
    "T": lambda ev, this, line: shapes.apply(this, lambda a: np.transpose(np.broadcast_to(a, this.shape))),
    "dtype": lambda ev, this, line: Val("dtype", this.dtype),
}


def number_value(v):
    """A Python float from a one-element value."""
    return number(float(np.asarray(v.data).reshape(-1)[0]), v.sym)


__all__ = ["TENSOR_METHODS", "elementwise", "need_tensor", "number_value", "opaque"]
