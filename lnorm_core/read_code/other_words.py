"""numpy, statistics and math in the reader's vocabulary, and a numpy array's methods and properties."""

import numpy as np

from . import ops, shapes
from .context import CodeError
from .limits import Unreadable
from .reduce import axes_of, reduce
from .torch_words import shape_ints, elementwise
from .values import CONST, Val
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
    to_list,
    to_numeric,
)

NUMPY_AXIS = {"dim": "axis", "keepdim": "keepdims"}


def as_array(v, fn, line):
    """numpy's view of its argument: an array, or a list / number made into one (a tensor is not read here)."""
    if v.kind == "tensor":
        raise Unreadable(line, f"{fn} on a torch tensor: lnorm reads numpy on numpy arrays (call .numpy() first)")
    if v.kind == "array":
        return v
    return to_numeric(v, line, "array")


def _np_reduction(how, method=False):
    name = f".{how}()" if method else f"np.{how}"

    def impl(ev, line, a, axis=None, ddof=None, keepdims=None):
        a = as_array(a, name, line)
        axes = axes_of(dims_arg(axis, line), len(a.shape), line, kind="array")
        keep = False if keepdims is None or keepdims.kind == "none" else to_bool(keepdims, line)
        d = 0 if ddof is None else to_int(ddof, line)
        words = ("numpy-default" if ddof is None else "sample" if d == 1 else "population" if d == 0 else "")
        # a numpy scalar (0-d) is indexed and broadcast as a 0-d array is
        return reduce(ev.ctx, a, axes, keep, how, d, name, line, "array", words if how in ("var", "std") else "")

    params = [("axis", None)] + ([("ddof", None)] if how in ("var", "std") else []) + [("keepdims", None)]
    if method:
        return Func(name, params, impl, aliases=NUMPY_AXIS)
    return function(name, [("a", REQUIRED)] + params, impl)


def _np_elementwise(how):
    name = f"np.{how}"
    inner = elementwise(name, how)

    def impl(ev, line, x):
        v = as_array(x, name, line) if x.kind != "number" else x
        out = inner(ev, line, v)
        return out
    return function(name, [("x", REQUIRED)], impl)


def _np_power(ev, line, x1, x2):
    return ops.binary(ev.ctx, "**", as_array(x1, "np.power", line) if x1.kind != "number" else x1, x2, line)


def _np_array(ev, line, object, dtype=None):
    v = to_numeric(object, line, "array") if object.kind != "tensor" else Val("array", object.data, object.sym)
    return Val("array", v.data, v.sym, "float64")


def _np_filled(value):
    def impl(ev, line, shape, dtype=None):
        from .torch_words import shape_arg

        dims = shape_arg([shape], line)
        return Val("array", np.full(dims, value), CONST)
    return impl


def _np_stack(ev, line, arrays, axis=None):
    v = to_numeric(arrays, line, "array")
    d = 0 if axis is None else to_int(axis, line)
    return shapes.movedim_value(ev.ctx, v, 0, d, line) if d else v


NAMESPACES["numpy"] = {
    **{how: _np_reduction(how) for how in ("mean", "sum", "var", "std")},
    **{how: _np_elementwise(how) for how in ("sqrt", "square")},
    "power": function("np.power", [("x1", REQUIRED), ("x2", REQUIRED)], _np_power),
    "array": function("np.array", [("object", REQUIRED), ("dtype", None)], _np_array),
    "asarray": function("np.asarray", [("object", REQUIRED), ("dtype", None)], _np_array),
    "ones": function("np.ones", [("shape", REQUIRED), ("dtype", None)], _np_filled(1.0)),
    "zeros": function("np.zeros", [("shape", REQUIRED), ("dtype", None)], _np_filled(0.0)),
    "stack": function("np.stack", [("arrays", REQUIRED), ("axis", None)], _np_stack),
    "newaxis": Val("none"),
    "float64": Val("dtype", "float64"), "float32": Val("dtype", "float32"),
}
NAMESPACES["np"] = NAMESPACES["numpy"]

METHODS["array"] = {
    **{how: _np_reduction(how, method=True) for how in ("mean", "sum", "var", "std")},
    "reshape": Func(".reshape", [("shape", REQUIRED)], lambda ev, line, this, shape: shapes.reshape_value(
        ev.ctx, this, shape_ints(shape, line), line, "reshape"), takes_rest="shape"),
    "transpose": Func(".transpose", [("axes", REQUIRED)], lambda ev, line, this, axes: shapes.permute_value(
        ev.ctx, this, shape_ints(axes, line) or tuple(reversed(range(len(this.shape)))), line),
        takes_rest="axes"),
    "squeeze": Func(".squeeze", [("axis", None)], lambda ev, line, this, axis: shapes.squeeze_value(
        ev.ctx, this, None if axis is None else to_int(axis, line), line)),
    "flatten": Func(".flatten", [], lambda ev, line, this: shapes.reshape_value(ev.ctx, this, (-1,), line)),
    "copy": Func(".copy", [], lambda ev, line, this: this),
    "astype": Func(".astype", [("dtype", REQUIRED)], lambda ev, line, this, dtype: Val(
        "array", this.data if dtype.data == "float64" else this.data.astype(np.float32).astype(np.float64),
        this.sym)),
    "tolist": Func(".tolist", [], lambda ev, line, this: to_list(this, line)),
    "item": Func(".item", [], lambda ev, line, this: _one(this, line)),
}
PROPERTIES["array"] = {
    "shape": lambda ev, this, line: Val("tuple", [Val("int", d) for d in this.shape]),
    "ndim": lambda ev, this, line: Val("int", len(this.shape)),
    "size": lambda ev, this, line: Val("int", int(np.size(this.data))),
    "T": lambda ev, this, line: shapes.apply(this, lambda a: np.transpose(np.broadcast_to(a, this.shape))),
}
METHODS["number"] = {"item": Func(".item", [], lambda ev, line, this: this)}


def _one(v, line):
    if np.size(v.data) != 1:
        raise CodeError(line, "ValueError", "can only convert an array of size 1 to a Python scalar")
    return Val("number", np.asarray(v.data).reshape(()), v.sym.map(lambda a: np.asarray(a).reshape(())))


# ---- statistics and math -----------------------------------------------------------------------------------


def _data(v, fn, line):
    """A statistics function's data: a list or tuple of numbers, as one 1-D array."""
    if v.kind == "tensor" and fn != "statistics.fmean":
        raise CodeError(line, "TypeError", "can't convert type 'Tensor' to numerator/denominator")
    if v.kind not in ("list", "tuple", "array", "tensor"):
        raise CodeError(line, "TypeError", f"'{v.kind}' object is not iterable")
    a = to_numeric(v, line, "array")
    if len(a.shape) != 1:
        raise CodeError(line, "TypeError", "can't convert type 'list' to numerator/denominator")
    return a


def _stat(how, ddof, name):
    minimum = 1 if how == "mean" else 1 + ddof

    def impl(ev, line, data, xbar=None):
        if xbar is not None and xbar.kind != "none":
            raise Unreadable(line, f"{name} with a given mean (xbar, mu) is not read")
        a = _data(data, name, line)
        if a.shape[0] < minimum:
            what = {"statistics.mean": "mean requires at least one data point",
                    "statistics.fmean": "fmean requires at least one data point"}.get(
                name, f"{name.split('.')[1]} requires at least {'two data points' if ddof else 'one data point'}")
            raise CodeError(line, "StatisticsError", what)
        words = "sample" if ddof else "population"
        out = reduce(ev.ctx, a, (0,), False, how, ddof, name, line, "number", words)
        return Val("number", out.data, out.sym)
    params = [("data", REQUIRED)] + ([("xbar", None)] if how != "mean" else [])
    return function(name, params, impl, aliases={"mu": "xbar"})


NAMESPACES["statistics"] = {
    "mean": _stat("mean", 0, "statistics.mean"), "fmean": _stat("mean", 0, "statistics.fmean"),
    "stdev": _stat("std", 1, "statistics.stdev"), "pstdev": _stat("std", 0, "statistics.pstdev"),
    "variance": _stat("var", 1, "statistics.variance"), "pvariance": _stat("var", 0, "statistics.pvariance"),
}


def _math_sqrt(ev, line, x):
    if x.numeric and np.size(x.data) != 1:
        raise CodeError(line, "TypeError", "only length-1 arrays can be converted to Python scalars"
                        if x.kind == "array" else "only one element tensors can be converted to Python scalars")
    if x.kind in ("list", "tuple", "str", "none"):
        raise CodeError(line, "TypeError", f"must be real number, not {x.kind}")
    v = Val("number", np.asarray(to_float(x, line)), x.sym if x.numeric else CONST)
    if to_float(x, line) < 0:
        raise CodeError(line, "ValueError", "math domain error")
    return elementwise("math.sqrt", "sqrt")(ev, line, v)


def _math_pow(ev, line, x, y):
    v = Val("number", np.asarray(to_float(x, line)), x.sym if x.numeric else CONST)
    return ops.binary(ev.ctx, "**", v, y, line)


def _fsum(ev, line, seq):
    a = _data(seq, "math.fsum", line)
    out = reduce(ev.ctx, a, (0,), False, "sum", 0, "math.fsum", line, "number")
    return Val("number", out.data, out.sym)


NAMESPACES["math"] = {
    "sqrt": function("math.sqrt", [("x", REQUIRED)], _math_sqrt),
    "pow": function("math.pow", [("x", REQUIRED), ("y", REQUIRED)], _math_pow),
    "fsum": function("math.fsum", [("seq", REQUIRED)], _fsum),
}
