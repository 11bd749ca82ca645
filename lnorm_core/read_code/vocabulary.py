"""The reader's vocabulary: what a name, an attribute or a call of a snippet means, and nothing else.

Each function is a Func (its written name, its parameters as torch or numpy names them, and the reader's own
implementation on Vals). A module a snippet imports is a namespace of these (torch, torch.nn, torch.nn.functional,
numpy, math, statistics); an attribute of a value is looked up in the table of its kind (a tensor's methods, an
array's, a list's append). There is no other way to reach anything: no getattr on Python objects, ever.
"""

import numpy as np

from .context import CodeError
from .limits import MAX_LIST, Unreadable
from .values import NONE, CONST, Val, number, stack

REQUIRED = object()


class Func:
    """A function of the vocabulary: name as written, params [(name, default)], aliases {alias: name}, impl."""

    def __init__(self, name, params, impl, aliases=None, takes_rest=None):
        self.name = name
        self.params = [(p, d) for p, d in params]
        self.impl = impl
        self.aliases = aliases or {}
        self.takes_rest = takes_rest  # a parameter that takes every positional argument (torch.randn(*size))

    def bind(self, args, kwargs, line):
        """The arguments by parameter name (defaults filled); Unreadable for a keyword the reader does not read."""
        names = [p for p, _ in self.params]
        out = {}
        if self.takes_rest:
            out[self.takes_rest] = list(args)
            args = []
        if len(args) > len(names):
            raise CodeError(line, "TypeError", f"{self.name}() takes at most {len(names)} arguments "
                                               f"({len(args)} given)")
        for name, value in zip(names, args):
            out[name] = value
        for key, value in kwargs.items():
            key = self.aliases.get(key, key)
            if key not in names and key != self.takes_rest:
                raise Unreadable(line, f"{self.name}(..., {key}=...): the argument {key} is not read")
            if key in out and key != self.takes_rest:
                raise CodeError(line, "TypeError", f"{self.name}() got multiple values for argument '{key}'")
            out[key] = value
        for name, default in self.params:
            if name not in out:
                if default is REQUIRED:
                    raise CodeError(line, "TypeError", f"{self.name}() missing required argument '{name}'")
                out[name] = default
        return out

    def __call__(self, ev, args, kwargs, line, this=None):
        bound = self.bind(args, kwargs, line)
        return self.impl(ev, line, **bound) if this is None else self.impl(ev, line, this, **bound)


NAMESPACES = {}  # "torch" -> {name: Func or Val}, filled by the vocabulary modules
METHODS = {}  # kind -> {name: Func taking the value first}
PROPERTIES = {}  # kind -> {name: function(ev, value, line) -> Val}
MODULE_NAMES = {"torch", "nn", "F", "np", "numpy", "math", "statistics", "functional"}


def namespace(name):
    return Val("namespace", name)


def import_name(node, alias, line):
    """(the name bound, its Val) for one alias of an import of the vocabulary's modules (nothing is imported)."""
    import ast

    if isinstance(node, ast.Import):
        if alias.asname:
            return alias.asname, namespace(alias.name)
        return alias.name.split(".")[0], namespace(alias.name.split(".")[0])
    module = node.module
    full = f"{module}.{alias.name}"
    bound = alias.asname or alias.name
    if full in NAMESPACES:
        return bound, namespace(full)
    table = NAMESPACES.get(module, {})
    if alias.name not in table:
        raise Unreadable(line, f"from {module} import {alias.name}: lnorm does not read {full}")
    return bound, table[alias.name]


def attribute(ev, v, name, line):
    """v.name: a module's function, a tensor's method or property; Unreadable for anything else."""
    if v.kind == "namespace":
        full = f"{v.data}.{name}"
        if full in NAMESPACES:
            return namespace(full)
        table = NAMESPACES.get(v.data, {})
        if name in table:
            return table[name]
        raise Unreadable(line, f"{v.data}.{name} is not in lnorm's vocabulary")
    if name in PROPERTIES.get(v.kind, {}):
        return PROPERTIES[v.kind][name](ev, v, line)
    if name in METHODS.get(v.kind, {}):
        return Val("method", (METHODS[v.kind][name], v))
    raise Unreadable(line, f".{name} of a {v.kind} is not in lnorm's vocabulary")


def call_value(ev, fn, args, kwargs, line):
    """fn(*args, **kwargs) for a callable Val."""
    if fn.kind == "function":
        return fn.data(ev, args, kwargs, line)
    if fn.kind == "method":
        func, this = fn.data
        return func(ev, args, kwargs, line, this=this)
    if fn.kind == "userfunc":
        return ev.call_user(fn.data, args, kwargs, line)
    if fn.kind == "layer":
        from .layers import call_layer

        return call_layer(ev, fn, args, kwargs, line)
    raise CodeError(line, "TypeError", f"'{fn.kind}' object is not callable")


def function(name, params, impl, **kw):
    """A Val holding a Func."""
    return Val("function", Func(name, params, impl, **kw))


# ---- plain Python values ------------------------------------------------------------------------------------


def truth(v, line):
    """bool(v) for plain values and one-element numbers."""
    if v.kind in ("bool", "int", "str"):
        return bool(v.data)
    if v.kind == "none":
        return False
    if v.numeric:
        if np.size(v.data) != 1:
            raise CodeError(line, "RuntimeError", "Boolean value of Tensor with more than one value is ambiguous")
        return bool(np.asarray(v.data).reshape(-1)[0])
    if v.kind in ("list", "tuple"):
        return bool(v.data)
    raise Unreadable(line, f"the truth of a {v.kind} is not read")


def iterate(ev, v, line):
    """The items of an iterable Val, one at a time (every loop is bounded by the caller's ctx.iterate)."""
    if v.kind in ("list", "tuple"):
        yield from list(v.data)
    elif v.kind in ("tensor", "array"):
        if not v.shape:
            raise CodeError(line, "TypeError", "iteration over a 0-d tensor")
        from .shapes import index_value

        for i in range(v.shape[0]):
            yield index_value(ev.ctx, v, i, line)
    elif v.kind == "range":
        for i in v.data:
            yield Val("int", i)
    elif v.kind == "iterator":
        yield from v.data
    else:
        raise CodeError(line, "TypeError", f"'{v.kind}' object is not iterable")


def to_int(v, line, what="a whole number"):
    if v.kind in ("int", "bool"):
        return int(v.data)
    raise CodeError(line, "TypeError", f"expected {what}, got a {v.kind}")


def to_ints(v, line):
    """An int, a list/tuple of ints or a shape as a tuple of ints."""
    if v.kind in ("int", "bool"):
        return (int(v.data),)
    if v.kind in ("list", "tuple"):
        return tuple(to_int(i, line) for i in v.data)
    raise CodeError(line, "TypeError", f"expected whole numbers, got a {v.kind}")


def dims_arg(v, line):
    """A dim argument: None, an int, or a tuple/list of ints."""
    if v is None or v.kind == "none":
        return None
    if v.kind in ("int", "bool"):
        return int(v.data)
    return to_ints(v, line)


def to_bool(v, line):
    if v.kind in ("bool", "int"):
        return bool(v.data)
    raise CodeError(line, "TypeError", f"expected True or False, got a {v.kind}")


def to_float(v, line):
    if v.kind in ("int", "bool"):
        return float(v.data)
    if v.numeric and np.size(v.data) == 1:
        return float(np.asarray(v.data).reshape(-1)[0])
    raise CodeError(line, "TypeError", f"expected a number, got a {v.kind}")


def to_list(v, line):
    """A tensor or array as nested lists of number Vals (.tolist()), each keeping where it came from."""
    if v.kind in ("list", "tuple"):
        return v
    if np.size(v.data) > MAX_LIST:
        raise Unreadable(line, f"a list of more than {MAX_LIST:,} numbers (MAX_LIST)")
    data = np.asarray(v.data)
    sym = v.sym.broadcast(data.shape)

    def build(index):
        if len(index) == data.ndim:
            return Val("number", np.asarray(data[index]), sym.map(lambda a: np.asarray(a[index])))
        return Val("list", [build(index + (i,)) for i in range(data.shape[len(index)])])

    if data.ndim == 0:
        return build(())
    return build(())


def to_numeric(v, line, kind="array", dtype="float64"):
    """A list (nested) of numbers, or a number, as one numeric Val of `kind` (torch.tensor, np.array, a
    statistics function's data)."""
    if v.numeric:
        return Val(kind, np.asarray(v.data, dtype=np.float64), v.sym, dtype if kind == "tensor" else v.dtype)
    if v.kind in ("int", "bool"):
        return Val(kind, np.asarray(float(v.data)), CONST, dtype)
    if v.kind in ("list", "tuple"):
        if not v.data:
            return Val(kind, np.zeros(0), CONST, dtype)
        items = [to_numeric(i, line, kind, dtype) for i in v.data]
        if len({i.shape for i in items}) > 1:
            raise CodeError(line, "ValueError", "expected sequence of equal length lists")
        if sum(np.size(i.data) for i in items) > MAX_LIST * 10:
            raise Unreadable(line, "too many numbers in one list (MAX_LIST)")
        ev_line = line
        return Val(kind, np.stack([i.data for i in items]), stack([i.sym for i in items], ev_line), dtype)
    raise CodeError(line, "TypeError", f"expected numbers, got a {v.kind}")


def _print(ev, line, args, sep=None, end=None):
    for a in args:
        if a.kind in ("tensor", "array", "number", "list", "tuple"):
            ev.ctx.prints.append((line, a))
    return NONE


def _len(ev, line, obj):
    if obj.kind in ("list", "tuple"):
        return Val("int", len(obj.data))
    if obj.kind in ("tensor", "array"):
        if not obj.shape:
            raise CodeError(line, "TypeError", "len() of a 0-d tensor")
        return Val("int", obj.shape[0])
    if obj.kind == "range":
        return Val("int", len(obj.data))
    raise CodeError(line, "TypeError", f"object of type '{obj.kind}' has no len()")


def _range(ev, line, args):
    ints = [to_int(a, line) for a in args]
    if not 1 <= len(ints) <= 3:
        raise CodeError(line, "TypeError", f"range expected at most 3 arguments, got {len(ints)}")
    if len(ints) == 3 and ints[2] == 0:
        raise CodeError(line, "ValueError", "range() arg 3 must not be zero")
    return Val("range", range(*ints))


def _sum(ev, line, iterable, start=None):
    from .reduce import reduce

    if iterable.kind in ("tensor", "array") or iterable.kind in ("list", "tuple") and all(
            i.kind in ("number", "int", "bool") for i in iterable.data):
        items = to_numeric(iterable, line, "array")
        kind = "number" if iterable.kind in ("list", "tuple") else iterable.kind
        if items.shape and len(items.shape) == 1 or kind == "number":
            total = reduce(ev.ctx, items, (0,) if items.shape else (), False, "sum", fn="sum", line=line,
                           kind="number" if kind == "number" else iterable.kind)
            return total if start is None else _add(ev, total, start, line)
    total = start if start is not None else Val("int", 0)
    from .ops import binary

    for item in iterate(ev, iterable, line):
        ev.ctx.iterate(line)
        total = binary(ev.ctx, "+", total, item, line)
    return total


def _add(ev, a, b, line):
    from .ops import binary

    return binary(ev.ctx, "+", a, b, line)


def _float(ev, line, x=None):
    if x is None:
        return number(0.0)
    if x.kind == "str":
        raise Unreadable(line, "float() of text is not read")
    if x.numeric and np.size(x.data) != 1:
        raise CodeError(line, "TypeError", "only one element tensors can be converted to Python scalars")
    value = to_float(x, line)
    return Val("number", np.asarray(value), x.sym if x.numeric else CONST)


def _int(ev, line, x):
    return Val("int", int(to_float(x, line)))


def _list(ev, line, iterable=None):
    if iterable is None:
        return Val("list", [])
    return Val("list", _collect(ev, iterable, line))


def _tuple(ev, line, iterable=None):
    return Val("tuple", [] if iterable is None else _collect(ev, iterable, line))


def _collect(ev, iterable, line):
    out = []
    for item in iterate(ev, iterable, line):
        ev.ctx.iterate(line)
        out.append(item)
        if len(out) > MAX_LIST:
            raise Unreadable(line, f"a list of more than {MAX_LIST:,} items (MAX_LIST)")
    return out


def _enumerate(ev, line, iterable, start=None):
    first = 0 if start is None else to_int(start, line)
    items = iterate(ev, iterable, line)
    return Val("iterator", (Val("tuple", [Val("int", first + i), v]) for i, v in enumerate(items)))


def _zip(ev, line, args):
    iters = [iterate(ev, a, line) for a in args]
    return Val("iterator", (Val("tuple", list(t)) for t in zip(*iters)))


BUILTINS = {
    "print": function("print", [("args", REQUIRED), ("sep", None), ("end", None)], _print, takes_rest="args"),
    "len": function("len", [("obj", REQUIRED)], _len),
    "range": function("range", [("args", REQUIRED)], _range, takes_rest="args"),
    "sum": function("sum", [("iterable", REQUIRED), ("start", None)], _sum),
    "float": function("float", [("x", None)], _float),
    "int": function("int", [("x", REQUIRED)], _int),
    "list": function("list", [("iterable", None)], _list),
    "tuple": function("tuple", [("iterable", None)], _tuple),
    "enumerate": function("enumerate", [("iterable", REQUIRED), ("start", None)], _enumerate),
    "zip": function("zip", [("args", REQUIRED)], _zip, takes_rest="args"),
}


def _append(ev, line, this, item):
    if len(this.data) >= MAX_LIST:
        raise Unreadable(line, f"a list of more than {MAX_LIST:,} items (MAX_LIST)")
    this.data.append(item)
    return NONE


METHODS["list"] = {"append": Func("append", [("item", REQUIRED)], _append)}
