"""read_code: a snippet read, never run, and set against a layer: its verdict, its mistakes on their lines, what each
line does, and what it computes.

    import lnorm_core as lc
    r = lc.read_code(code, lc.NormSpec("layer", normalized_shape=(4,)), x=x)
    r.verdict, r.mistakes, r.line("unbiased"), r.notes, r.output(x), r.problems
"""

import ast
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..manual import manual_forward
from ..recipe import MISTAKES, STEPS, Mistake, Recipe
from ..tensors import check_shape, seeded_tensor
from . import layers, other_words, torch_words  # noqa: F401 - they fill the vocabulary's tables
from .attribution import attribute, where_label
from .context import CodeError, Context
from .evaluator import Evaluator
from .limits import Unreadable, parse
from .vocabulary import to_numeric

# mistakes only code shows: the reader names them beside lc.MISTAKES
READER_MISTAKES = {
    "other_dims": Mistake(
        "pool", "pooled other dims",
        "pools dims that are neither the layer's nor the whole sample",
        "mean = x.mean(dim=(-2, -1), keepdim=True)  # LayerNorm(4) pools dim -1 only",
        "mean = x.mean(dim=-1, keepdim=True)  # the dims of normalized_shape",
    ),
    "no_keepdim": Mistake(
        "pool", "forgot keepdim",
        "reduces without keepdim, so the statistic broadcasts against the wrong elements (or fails to)",
        "mean = x.mean(dim=-1)  # (2, 3): lines up with the last dims of x, not the first",
        "mean = x.mean(dim=-1, keepdim=True)  # (2, 3, 1): one per row, beside its row",
    ),
    "other_eps": Mistake(
        "denominator", "another eps",
        "adds an eps other than the layer's",
        "y = (x - mean) / torch.sqrt(var + 1e-6)",
        "y = (x - mean) / torch.sqrt(var + 1e-5)  # the layer's eps (nn.LayerNorm's default)",
    ),
}
ALL_MISTAKES = {**MISTAKES, **READER_MISTAKES}
# the mistakes in the order of the steps they are wrong versions of (pool, mean, variance, denominator, affine)
ORDER = sorted(ALL_MISTAKES, key=lambda m: (list(STEPS).index(ALL_MISTAKES[m].step), list(ALL_MISTAKES).index(m)))


@dataclass(frozen=True)
class Reading:
    """A snippet as lnorm read it.

    verdict: "correct", "mistakes" or "unreadable". mistakes: names of lc.MISTAKES (or READER_MISTAKES) in the
        order of the steps. problems: (line, what could not be read) for unreadable code; error: (line, message)
        where the person's own run raises (torch's words). spec: the layer compared against; code_spec: the one the
        code builds (None when it builds none). x: the input the reading was made on; input_name: the code's name
        for it; where: the elements of x the output covers ('x[0, 1, :]'). value: what the code computes on x;
        right: torch's output at the same elements. bindings: typed-in rows read as parts of x.
    """

    code: str
    verdict: str
    mistakes: tuple = ()
    lines: dict = field(default_factory=dict)
    notes_by_line: dict = field(default_factory=dict)
    problems: tuple = ()
    error: tuple = None
    spec: object = None
    code_spec: object = None
    x: np.ndarray = None
    input_name: str = ""
    where: str = ""
    value: np.ndarray = None
    right: np.ndarray = None
    bindings: tuple = ()
    weight: np.ndarray = None
    bias: np.ndarray = None
    recipe: object = None
    elements: np.ndarray = None  # the flat index into x of each element the output covers
    program: object = field(default=None, repr=False, compare=False)
    input_kind: str = "tensor"
    given: np.ndarray = field(default=None, repr=False, compare=False)

    def line(self, name):
        """The 1-based line of the code that makes the mistake `name`."""
        if name not in self.lines:
            raise KeyError(f"{name!r} is not a mistake of this code; its mistakes: {', '.join(self.mistakes)}")
        return self.lines[name]

    @property
    def notes(self):
        """What lnorm read on each line, in plain words: 'line 2: torch.std over x[0, :, :]: 12 values, ...'."""
        return tuple(f"line {n}: {t}" for n in sorted(self.notes_by_line) for t in self.notes_by_line[n])

    def notes_at(self, line):
        """What lnorm read on one line (a tuple of texts)."""
        return tuple(self.notes_by_line.get(line, ()))

    def output(self, x=None):
        """What the code computes on x (its last print, else its last assignment), by lnorm's own arithmetic.

        x: the tensor the code's input stands for (None: the one the reading was made on). A typed-in row read as
        x[i, j, :] stands for that row of x; a tensor the code draws or types in stands for x itself.
        InputError where the code cannot be read, or where the person's own run would raise (torch's words).
        """
        if self.program is None:
            raise InputError("the code could not be read: " + "; ".join(f"line {n}: {w}" for n, w in self.problems))
        try:
            if x is None:  # as the reading: the code's own numbers
                _, out = _evaluate(self.program, self.given, self.input_kind)
            else:
                x = _as_array(x)
                forced = {b.key: b.index for b in self.bindings}
                _, out = _evaluate(self.program, x, self.input_kind, override=x, forced=forced)
        except CodeError as e:
            raise InputError(f"line {e.line}: {e.kind}: {e.message}") from None
        except Unreadable as e:
            raise InputError(str(e)) from None
        return np.asarray(out.data, dtype=np.float64)


def _as_array(x):
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def read_code(code, spec=None, x=None, shape=None):
    """Read a snippet (never run it) and set it against a layer.

    code: the Python the person wrote. spec: the NormSpec to compare against; None takes the layer the code builds
        (nn.LayerNorm(4), F.group_norm(x, 2), ...). x: the tensor the code's input stands for (a torch tensor or an
        array); shape: or only its shape (x is then torch.manual_seed(0); torch.randn(*shape)). Neither is needed
        where the code makes its own input (torch.randn after torch.manual_seed, a typed-in tensor or row).
    Returns a Reading.
    """
    try:
        program = parse(code)
    except Unreadable as e:
        return Reading(str(code)[:100_000] if isinstance(code, str) else "", "unreadable",
                       problems=((e.line, e.what),))
    given = _as_array(x) if x is not None else (seeded_tensor(check_shape(tuple(shape)), 0) if shape is not None
                                                else None)
    kind = _input_kind(program.tree)
    try:
        ctx, out = _evaluate(program, given, kind)
    except Unreadable as e:
        return Reading(code, "unreadable", problems=((e.line, e.what),), program=None)
    except CodeError as e:
        return _failed(code, program, e, kind, given, spec)
    code_spec = ctx.layers[0][1] if ctx.layers else None
    against = spec if spec is not None else code_spec
    base = dict(code=code, code_spec=code_spec, spec=against, x=ctx.x, input_name=ctx.input_name,
                program=program, input_kind=kind, given=given, bindings=tuple(ctx.bindings), notes_by_line=_notes(ctx))
    if ctx.x is None:
        return Reading(verdict="unreadable", problems=((0, "lnorm found no input in the code: give the tensor "
                                                           "(x=...) or its shape (shape=...)"),), **base)
    if against is None:
        return Reading(verdict="unreadable", problems=((0, "the code builds no torch layer: give the layer to "
                                                           "compare with (spec=...)"),), **base)
    a = attribute(ctx, out, against)
    for line, text in a.notes:
        base["notes_by_line"].setdefault(line, []).append(text)
    value = np.asarray(out.data, dtype=np.float64)
    where = where_label(ctx, out) if out.sym.src is not None else ""
    if a.problems:
        return Reading(verdict="unreadable", problems=tuple(a.problems), value=value, where=where, **base)
    right = _right(against, ctx.x, a, out)
    mistakes = tuple(sorted(a.mistakes, key=ORDER.index))
    recipe = None if a.ref or a.pool is None else Recipe(pool=a.pool, ddof=a.ddof, one_pass=a.one_pass,
                                                         under_root=a.under_root, eps=a.eps)
    check = _check(against, ctx.seen, a, out, recipe)
    if check:
        return Reading(verdict="unreadable", problems=(check,), value=value, where=where, **base)
    return Reading(verdict="mistakes" if mistakes else "correct", mistakes=mistakes,
                   lines={m: a.mistakes[m] for m in mistakes}, value=value, right=right, where=where,
                   weight=a.weight, bias=a.bias, recipe=recipe, elements=np.asarray(out.sym.src).ravel(), **base)


def _failed(code, program, e, kind, given, spec):
    """The code fails in the person's own run: a forgotten keepdim that cannot broadcast is that mistake, else the
    code is unreadable there (it computes nothing to compare)."""
    error = (e.line, f"{e.kind}: {e.message}")
    if e.mistake:
        name, line = e.mistake
        return Reading(code, "mistakes", mistakes=(name,), lines={name: line}, error=error, program=program,
                       input_kind=kind, given=given, spec=spec, x=given,
                       notes_by_line={e.line: [f"the run fails here: {error[1]}"]})
    return Reading(code, "unreadable", problems=((e.line, f"the code fails here: {error[1]}"),), error=error,
                   program=program, input_kind=kind, given=given, spec=spec, x=given)


def _evaluate(program, given, kind, override=None, forced=None):
    """Evaluate a program: (Context, the output Val)."""
    ctx = Context(given=given, override=override, forced=forced)
    ev = Evaluator(program, ctx, kind)
    ev.run()
    out = _output(ev, ctx)
    return ctx, out


def _output(ev, ctx):
    """The value the code shows: its last print, else its last assignment, else its last def called on the input."""
    candidates = [v for _, v in ctx.prints] or [v for _, _, v in ev.assigned if v.kind in (
        "tensor", "array", "number", "list", "tuple")]
    if not candidates and ev.functions:
        fn = ev.functions[-1]
        if not fn.node.args.args:
            raise Unreadable(fn.node.lineno, f"def {fn.name}() takes no input")
        name = fn.node.args.args[0].arg
        if ctx.given is None and ctx.override is None:
            raise Unreadable(fn.node.lineno, f"{fn.name}({name}) is never called: give the tensor its {name} "
                                             "stands for (x=...) or its shape (shape=...)")
        if ctx.override is not None and ctx.given is None:
            ctx.given = ctx.override
        ctx.note(fn.node.lineno, f"lnorm calls {fn.name}({name}) with {name} the input")
        arg = ev.free_input(name, fn.node.lineno)
        candidates = [ev.call_user(fn, [arg], {}, fn.node.lineno)]
    candidates = [v for v in candidates if v.kind in ("tensor", "array", "number", "list", "tuple")]
    if not candidates:
        raise Unreadable(0, "the code prints nothing and assigns no tensor: lnorm has no output to read")
    hand = [v for v in candidates if v.numeric and v.sym.role != "ref" or not v.numeric]
    out = (hand or candidates)[-1]
    if not out.numeric:
        out = to_numeric(out, 0, "array")
    return out


def _input_kind(tree):
    """What a free input name is: a torch tensor where the code imports torch, else a numpy array, else a list."""
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    if "torch" in modules or not modules:
        return "tensor"
    return "array" if "numpy" in modules else "list"


def _notes(ctx):
    return {line: list(texts) for line, texts in ctx.notes.items() if line}


def _right(spec, x, a, out):
    """torch's output (lnorm's float64 forward) at the elements the code computes, in the output's shape."""
    y = manual_forward(spec, x, a.weight, a.bias)
    return y.ravel()[np.asarray(out.sym.src).ravel()].reshape(np.shape(out.data))


def _check(spec, x, a, out, recipe):
    """The recipe read, run through lnorm's forward, must give the numbers the code computes; else a problem.
    (Statistics that stand beside other elements than they pool, no_keepdim, are no recipe: not checked.)"""
    if recipe is None or a.misaligned:
        return None
    s = spec.with_(eps=a.eps_value) if a.eps_value is not None else spec
    y = manual_forward(s, x, a.weight, a.bias, recipe=recipe)
    expected = y.ravel()[np.asarray(out.sym.src).ravel()]
    got = np.asarray(out.data, dtype=np.float64).ravel()
    scale = max(float(np.nanmax(np.abs(expected), initial=0.0)), 1.0)
    if np.allclose(got, expected, rtol=1e-7, atol=1e-9 * scale, equal_nan=True):
        return None
    return (0, f"lnorm read the steps as {recipe}, but the numbers the code computes differ from them by up to "
               f"{float(np.nanmax(np.abs(got - expected))):.3g}")


def vocabulary():
    """What the reader reads, by family: {"torch": ("torch.mean", ...), "a tensor": (".mean", ...), ...}."""
    from .vocabulary import BUILTINS, METHODS, NAMESPACES

    names = {"torch": "torch", "torch.nn": "nn", "torch.nn.functional": "F", "numpy": "np", "statistics":
             "statistics", "math": "math"}
    out = {f"{ns}": tuple(f"{short}.{n}" for n, v in sorted(NAMESPACES[ns].items()) if v.kind in ("function",))
           for ns, short in names.items()}
    out["a tensor"] = tuple(f".{n}" for n in sorted(METHODS["tensor"])) + (".shape", ".ndim", ".T", "[..., None]",
                                                                           "x[0, :, :]")
    out["a numpy array"] = tuple(f".{n}" for n in sorted(METHODS["array"])) + (".shape", ".ndim", ".size", ".T")
    out["Python"] = tuple(sorted(BUILTINS)) + ("+ - * / ** // %", "for loops", "list comprehensions", "def",
                                               "return", "if", "with torch.no_grad()", "list.append",
                                               "eps: float = 1e-5", "import of the modules above")
    return out
