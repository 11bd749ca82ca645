"""The walker over a snippet's ast: statements and expressions of the vocabulary, evaluated with the reader's own
values (values.Val), never with Python's. Names resolve only to what the snippet defines, to the modules it imports
(read from the vocabulary, never imported) and to a few builtins; anything else is Unreadable, with its line.
"""

import ast
import builtins

import numpy as np

from . import ops
from .context import CodeError
from .limits import MAX_CALL_DEPTH, MAX_INT, MAX_LIST, Unreadable
from .literals import literal_numbers, read_literal
from .shapes import index_value
from .values import NONE, Sym, Val
from .vocabulary import BUILTINS, MODULE_NAMES, attribute, call_value, import_name, iterate, to_list, truth


PYTHON_BUILTINS = frozenset(dir(builtins))  # a name of Python's own is never the input


class Return(Exception):
    """A return statement of a snippet's function, carrying its value."""

    def __init__(self, value):
        super().__init__()
        self.value = value


class UserFunction:
    """A def of the snippet: its node and the scope it was defined in."""

    def __init__(self, node, scope):
        self.node = node
        self.scope = scope
        self.name = node.name


class Evaluator:
    """Evaluates a Program's statements in a module scope, with a Context (see context.py)."""

    def __init__(self, program, ctx, input_kind="tensor"):
        self.program = program
        self.ctx = ctx
        self.input_kind = input_kind  # what a free input name is: "tensor", "array" or "list"
        self.globals = {}
        self.assigned = []  # (line, name, Val) of every top-level assignment, in order
        self.functions = []  # the snippet's defs, in order

    # ---- statements ----------------------------------------------------------------------------------------

    def run(self):
        """Evaluate the module's statements."""
        self.block(self.program.tree.body, self.globals, top=True)

    def block(self, body, scope, top=False):
        for node in body:
            self.statement(node, scope, top)

    def statement(self, node, scope, top=False):
        line = node.lineno
        self.ctx.step(line)
        if isinstance(node, ast.Expr):
            self.expr(node.value, scope)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            if node.value is None:
                return
            value = self.expr(node.value, scope)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self.assign(target, value, scope, line, top)
        elif isinstance(node, ast.AugAssign):
            op = ops.SYMBOLS.get(type(node.op).__name__)
            if op is None or not isinstance(node.target, ast.Name):
                raise Unreadable(line, "this augmented assignment is not read")
            value = ops.binary(self.ctx, op, self.name(node.target.id, scope, line),
                               self.expr(node.value, scope), line)
            self.assign(node.target, value, scope, line, top)
        elif isinstance(node, ast.For):
            self.loop(node, scope, top)
        elif isinstance(node, ast.FunctionDef):
            fn = UserFunction(node, scope)
            scope[node.name] = Val("userfunc", fn)
            if top:
                self.functions.append(fn)
        elif isinstance(node, ast.Return):
            raise Return(NONE if node.value is None else self.expr(node.value, scope))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound, value = import_name(node, alias, line)
                scope[bound] = value
        elif isinstance(node, ast.If):
            test = self.expr(node.test, scope)
            self.block(node.body if truth(test, line) else node.orelse, scope, top)
        elif isinstance(node, ast.With):
            for item in node.items:
                ctxv = self.expr(item.context_expr, scope)
                if ctxv.kind != "grad_mode" or item.optional_vars is not None:
                    raise Unreadable(line, "only `with torch.no_grad():` is read")
            self.block(node.body, scope, top)
        elif isinstance(node, ast.Pass):
            return
        else:
            raise Unreadable(line, f"{type(node).__name__} is not read")

    def assign(self, target, value, scope, line, top):
        if isinstance(target, ast.Name):
            scope[target.id] = value
            if top:
                self.assigned.append((line, target.id, value))
            if value.kind == "list" and value.extra.get("literal") and self.ctx.bindings and \
                    self.ctx.bindings[-1].line == line:
                self.ctx.bindings[-1].name = target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.unpack(value, len(target.elts), line)
            for t, v in zip(target.elts, items):
                self.assign(t, v, scope, line, top)
        else:
            raise Unreadable(line, "assigning into part of a value (x[i] = ..., obj.attr = ...) is not read")

    def unpack(self, value, n, line):
        items = list(iterate(self, value, line))
        if len(items) != n:
            raise CodeError(line, "ValueError", f"too many values to unpack (expected {n})" if len(items) > n
                            else f"not enough values to unpack (expected {n}, got {len(items)})")
        return items

    def loop(self, node, scope, top):
        line = node.lineno
        if node.orelse:
            raise Unreadable(line, "for ... else is not read")
        for item in iterate(self, self.expr(node.iter, scope), line):
            self.ctx.iterate(line)
            self.assign(node.target, item, scope, line, False)
            self.block(node.body, scope, top=False)

    # ---- functions -----------------------------------------------------------------------------------------

    def call_user(self, fn, args, kwargs, line):
        """Call a def of the snippet with Vals: a new scope over the module's."""
        node = fn.node
        params = [a.arg for a in node.args.args]
        defaults = node.args.defaults
        if len(args) > len(params):
            raise CodeError(line, "TypeError", f"{fn.name}() takes {len(params)} positional arguments but "
                                               f"{len(args)} were given")
        local = dict(zip(params, args))
        for key, v in kwargs.items():
            if key not in params:
                raise CodeError(line, "TypeError", f"{fn.name}() got an unexpected keyword argument '{key}'")
            local[key] = v
        first_default = len(params) - len(defaults)
        for i, p in enumerate(params):
            if p not in local:
                if i < first_default:
                    raise CodeError(line, "TypeError", f"{fn.name}() missing 1 required positional argument: '{p}'")
                local[p] = self.expr(defaults[i - first_default], fn.scope)
        if self.ctx.depth >= MAX_CALL_DEPTH:
            raise Unreadable(line, f"functions calling functions more than {MAX_CALL_DEPTH} deep (MAX_CALL_DEPTH)")
        self.ctx.depth += 1
        scope = _Scope(local, fn.scope)
        try:
            self.block(node.body, scope)
        except Return as r:
            return r.value
        finally:
            self.ctx.depth -= 1
        return NONE

    # ---- expressions ---------------------------------------------------------------------------------------

    def name(self, name, scope, line):
        s = scope
        while s is not None:
            if name in s:
                return s[name]
            s = getattr(s, "outer", None)
        if name in BUILTINS:
            return BUILTINS[name]
        if name == "__name__":
            return Val("str", "__main__")
        if name in PYTHON_BUILTINS:
            raise Unreadable(line, f"{name} is not in lnorm's vocabulary")
        if self.ctx.x is None and self.ctx.given is not None and name not in MODULE_NAMES:
            return self.free_input(name, line)
        if name in MODULE_NAMES:
            raise Unreadable(line, f"{name} is used before it is imported")
        raise Unreadable(line, f"the name {name!r} is neither defined in the code nor something lnorm reads")

    def free_input(self, name, line):
        """A name the snippet uses without defining it: the input, as the caller's tensor."""
        x = self.ctx.given
        self.ctx.set_input(x, "float32" if self.input_kind == "tensor" else "float64", name, line, "")
        src = np.arange(x.size).reshape(x.shape)
        v = Val("tensor" if self.input_kind == "tensor" else "array", np.asarray(x, dtype=np.float64),
                Sym("input", src=src), "float32" if self.input_kind == "tensor" else "float64")
        if self.input_kind == "list":
            v = to_list(v, line)
        self.globals[name] = v
        self.ctx.note(line, f"{name} is the input, of shape {tuple(x.shape)}")
        return v

    def expr(self, node, scope):
        line = getattr(node, "lineno", 0)
        self.ctx.step(line)
        if isinstance(node, ast.Constant):
            return _constant(node.value, line)
        if isinstance(node, ast.Name):
            return self.name(node.id, scope, line)
        if isinstance(node, ast.Attribute):
            return attribute(self, self.expr(node.value, scope), node.attr, line)
        if isinstance(node, ast.Call):
            fn = self.expr(node.func, scope)
            args = []
            for a in node.args:
                if isinstance(a, ast.Starred):
                    args.extend(iterate(self, self.expr(a.value, scope), line))
                else:
                    args.append(self.expr(a, scope))
            kwargs = {k.arg: self.expr(k.value, scope) for k in node.keywords}
            return call_value(self, fn, args, kwargs, line)
        if isinstance(node, ast.BinOp):
            op = ops.SYMBOLS.get(type(node.op).__name__)
            if op is None:
                raise Unreadable(line, f"the operator {type(node.op).__name__} is not read")
            return ops.binary(self.ctx, op, self.expr(node.left, scope), self.expr(node.right, scope), line)
        if isinstance(node, ast.UnaryOp):
            v = self.expr(node.operand, scope)
            if isinstance(node.op, ast.USub):
                return ops.negate(v, line)
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Not):
                return Val("bool", not truth(v, line))
            raise Unreadable(line, "~ is not read")
        if isinstance(node, ast.Subscript):
            return self.subscript(self.expr(node.value, scope), self.index(node.slice, scope), line)
        if isinstance(node, (ast.List, ast.Tuple)):
            numbers = literal_numbers(node)
            if numbers is not None:
                return read_literal(self, numbers, node, line)
            items = []
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    items.extend(iterate(self, self.expr(e.value, scope), line))
                else:
                    items.append(self.expr(e, scope))
            return Val("list" if isinstance(node, ast.List) else "tuple", items)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return Val("list", self.comprehension(node, scope, line))
        if isinstance(node, ast.Compare):
            return self.compare(node, scope, line)
        if isinstance(node, ast.BoolOp):
            values = [truth(self.expr(v, scope), line) for v in node.values]
            return Val("bool", all(values) if isinstance(node.op, ast.And) else any(values))
        if isinstance(node, ast.IfExp):
            return self.expr(node.body if truth(self.expr(node.test, scope), line) else node.orelse, scope)
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                if isinstance(v, ast.FormattedValue):
                    self.expr(v.value, scope)
            return Val("str", "")
        raise Unreadable(line, f"{type(node).__name__} is not read")

    def index(self, node, scope):
        """An index expression as Python values: ints, slices, None, Ellipsis, or a tuple of them."""
        if isinstance(node, ast.Tuple):
            return tuple(self.index(e, scope) for e in node.elts)
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.index(p, scope) for p in (node.lower, node.upper, node.step)]
            if any(p is not None and not isinstance(p, int) for p in parts):
                raise Unreadable(node.lineno, "a slice of other things than whole numbers")
            return slice(*parts)
        v = self.expr(node, scope)
        if v.kind in ("int", "bool"):
            return int(v.data)
        if v.kind == "none":
            return None
        if v.kind == "ellipsis":
            return Ellipsis
        if v.kind == "slice":
            return v.data
        raise Unreadable(getattr(node, "lineno", 0), "an index that is not whole numbers, slices, None or ...")

    def subscript(self, v, key, line):
        if v.kind in ("tensor", "array"):
            return index_value(self.ctx, v, key, line)
        if v.kind in ("list", "tuple"):
            if isinstance(key, int):
                if not -len(v.data) <= key < len(v.data):
                    raise CodeError(line, "IndexError", f"{v.kind} index out of range")
                return v.data[key]
            if isinstance(key, slice):
                return Val(v.kind, v.data[key])
            raise CodeError(line, "TypeError", f"{v.kind} indices must be integers or slices, not tuple")
        if v.kind == "number":
            raise CodeError(line, "TypeError", "'float' object is not subscriptable")
        raise Unreadable(line, f"indexing a {v.kind} is not read")

    def comprehension(self, node, scope, line):
        out = []

        def walk(gens, inner):
            if not gens:
                out.append(self.expr(node.elt, inner))
                if len(out) > MAX_LIST:
                    raise Unreadable(line, f"a list of more than {MAX_LIST:,} items (MAX_LIST)")
                return
            gen = gens[0]
            if gen.is_async:
                raise Unreadable(line, "async comprehensions are not read")
            for item in iterate(self, self.expr(gen.iter, inner), line):
                self.ctx.iterate(line)
                child = _Scope({}, inner)
                self.assign(gen.target, item, child, line, False)
                if all(truth(self.expr(cond, child), line) for cond in gen.ifs):
                    walk(gens[1:], child)

        walk(node.generators, scope)
        return out

    def compare(self, node, scope, line):
        left = self.expr(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node, scope)
            a, b = _plain(left, line), _plain(right, line)
            name = type(op).__name__
            try:
                ok = {"Eq": lambda: a == b, "NotEq": lambda: a != b, "Lt": lambda: a < b, "LtE": lambda: a <= b,
                      "Gt": lambda: a > b, "GtE": lambda: a >= b}[name]()
            except KeyError:
                raise Unreadable(line, f"the comparison {name} is not read") from None
            except TypeError:
                raise CodeError(line, "TypeError", "these values cannot be compared") from None
            if not ok:
                return Val("bool", False)
            left = right
        return Val("bool", True)


class _Scope(dict):
    """A function's (or a comprehension's) local names, over the scope it sits in."""

    def __init__(self, local, outer):
        super().__init__(local)
        self.outer = outer


def _plain(v, line):
    """A value as a plain Python int, float, str or bool, for a comparison."""
    if v.kind in ("int", "bool", "str"):
        return v.data
    if v.numeric and np.size(v.data) == 1:
        return float(np.asarray(v.data).reshape(-1)[0])
    if v.kind == "none":
        return None
    raise Unreadable(line, f"comparing a {v.kind} is not read")


def _constant(value, line):
    """A literal of the snippet as a Val (ints past MAX_INT become floats; no bytes, no complex)."""
    if value is None:
        return NONE
    if value is Ellipsis:
        return Val("ellipsis")
    if isinstance(value, bool):
        return Val("bool", value)
    if isinstance(value, int):
        if abs(value) <= MAX_INT:
            return Val("int", value)
        if value.bit_length() > 1000:
            raise Unreadable(line, "a whole number too large to be a float")
        return Val("number", np.asarray(float(value)))
    if isinstance(value, float):
        return Val("number", np.asarray(value))
    if isinstance(value, str):
        return Val("str", value)
    raise Unreadable(line, f"a {type(value).__name__} literal is not read")
