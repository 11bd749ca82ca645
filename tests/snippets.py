"""A grammar of the ways people write a normalization by hand, and the writer of snippets from it.

A Plan is one choice per step: the framework (torch, numpy, or statistics on a typed-in row), which dims the
statistics pool, keepdim or [..., None] or neither, the estimator, one or two passes, the denominator, eps, affine,
the names, straight-line code or a function. write(plan) returns the code and, for each mistake the plan makes,
the line it wrote it on. The tests run that code themselves (exec in a fresh namespace: it is the tests' own code)
and hold lnorm's reading of it against what really running it gives, and against torch.nn.
"""

import math
from dataclasses import dataclass, replace

from hypothesis import strategies as st

RIGHT_DEN = "sqrt(var + eps)"
DENOMINATORS = {  # the denominator, and the mistakes it makes
    "sqrt(var + eps)": (),
    "rsqrt(var + eps)": (),
    "sqrt(var) + eps": ("eps_outside_sqrt",),
    "sqrt(var)": ("no_eps",),
    "sqrt(std + eps)": ("std_under_sqrt",),
    "sqrt(std)": ("std_under_sqrt", "no_eps"),
}
NAMES = {"x": ["x", "t", "feature", "embedding", "h"], "m": ["mean", "mu", "m", "avg"],
         "v": ["var", "v", "sigma2"], "s": ["std", "s", "sd"], "d": ["denom", "d", "scale"],
         "y": ["y", "out", "normed", "result"], "f": ["layer_norm", "norm", "my_ln"]}


@dataclass(frozen=True)
class Plan:
    framework: str  # "torch", "numpy", "statistics"
    shape: tuple
    k: int  # LayerNorm over the last k dims
    pool: tuple  # the dims the code pools (non-negative)
    keep: str  # "keepdim", "index" ([..., None]), "drop" (forgotten keepdim)
    ddof: int  # 0 or 1
    var_how: str  # "call", "std_call", "two_pass", "one_pass"
    den: str  # a key of DENOMINATORS
    den_inline: bool  # the denominator written inside the division's line
    eps: float  # the eps the code adds (the layer's is 1e-5)
    affine: str  # "none", "ones", "random"
    style: str  # "straight", "function", "function_only"
    names: tuple  # x, m, v, s, d, y, f
    method: bool  # x.mean(...) rather than torch.mean(x, ...)
    printed: bool  # ends with print(y)
    ddof_words: str  # how the estimator is said: "default", "unbiased", "correction"
    row: tuple = ()  # statistics: the index of the row typed in

    @property
    def layer_dims(self):
        return tuple(range(len(self.shape) - self.k, len(self.shape)))

    def right(self):
        """The same plan with every step right."""
        return replace(self, pool=self.layer_dims, keep="keepdim" if self.keep == "drop" else self.keep, ddof=0,
                       var_how="call" if self.var_how == "one_pass" else self.var_how, den=RIGHT_DEN,
                       eps=1e-5)


@st.composite
def plans(draw):
    """A Plan drawn from the grammar."""
    framework = draw(st.sampled_from(["torch", "torch", "numpy", "statistics"]))
    names = tuple(draw(st.sampled_from(NAMES[key])) for key in "xmvsdyf")
    if len(set(names)) < len(names):
        names = ("x", "mean", "var", "std", "denom", "y", "layer_norm")
    ndim = draw(st.integers(1, 3)) if framework != "statistics" else draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim - 1)) + (draw(st.integers(2, 5)),)
    k = 1 if framework == "statistics" or ndim == 1 else draw(st.integers(1, min(2, ndim)))
    layer_dims = tuple(range(ndim - k, ndim))
    if framework == "statistics":
        pool, keep = layer_dims, "keepdim"
    else:
        kind = draw(st.sampled_from(["layer", "layer", "whole", "other"]))
        if kind == "whole" and ndim > 1:
            pool = tuple(range(1, ndim))
        elif kind == "other":
            pool = tuple(sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim))))
        else:
            pool = layer_dims
        keep = draw(st.sampled_from(["keepdim", "keepdim", "index", "drop"]))
    var_how = draw(st.sampled_from(["call", "std_call", "two_pass", "one_pass"]))
    ddof = draw(st.sampled_from([0, 0, 1])) if var_how != "one_pass" else 0
    if keep == "drop" and var_how == "two_pass":
        var_how = "call"
    den = draw(st.sampled_from(list(DENOMINATORS)))
    if framework != "torch" and den.startswith("rsqrt"):
        den = RIGHT_DEN
    statistics = framework == "statistics"  # a typed-in row, straight-line code, no affine
    return Plan(framework, shape, k, pool, keep, ddof, var_how, den, draw(st.booleans()),
                draw(st.sampled_from([1e-5, 1e-5, 1e-5, 1e-6])),
                "none" if statistics else draw(st.sampled_from(["none", "ones", "random"])),
                "straight" if statistics else draw(st.sampled_from(["straight", "function", "function_only"])),
                names, draw(st.booleans()),
                draw(st.booleans()), draw(st.sampled_from(["default", "unbiased", "correction"])),
                tuple(draw(st.integers(0, d - 1)) for d in shape[:-1]))


def mistakes_of(plan):
    """The mistakes the plan makes on purpose (before torch says which of them change the output)."""
    out = set(DENOMINATORS[plan.den])
    if plan.ddof == 1:
        out.add("unbiased")
    if plan.var_how == "one_pass":
        out.add("one_pass")
    if plan.eps != 1e-5 and "no_eps" not in out:
        out.add("other_eps")
    if plan.keep == "drop":
        out.add("no_keepdim")
    if plan.pool != plan.layer_dims:
        out.add("whole_sample" if plan.pool == tuple(range(1, len(plan.shape))) else "other_dims")
    return out


class _Writer:
    def __init__(self, indent=""):
        self.lines = []
        self.indent = indent
        self.at = {}

    def add(self, text, *marks):
        self.lines.append(self.indent + text)
        for m in marks:
            self.at.setdefault(m, len(self.lines))


def write(plan, weight=None, bias=None, row=None):
    """(code, {mistake: line}) for a plan; weight and bias: the affine's numbers when plan.affine is "random";
    row: the numbers a statistics plan types in."""
    if plan.framework == "statistics":
        code, at = _write_statistics(plan)
        return code.replace("ROW", repr([float(v) for v in row])), at
    x, m, v, s, d, y, f = plan.names
    lib = "torch" if plan.framework == "torch" else "np"
    w = _Writer()
    w.add("import torch" if lib == "torch" else "import numpy as np")
    if plan.style != "straight":
        w.add(f"def {f}({x}, eps={plan.eps!r}):")
        w.indent = "    "
        eps = "eps"
    else:
        eps = repr(plan.eps)
    first = len(w.lines) + 1
    dims = _dims(plan.pool)
    kd = "keepdim" if lib == "torch" else "keepdims"
    axis = "dim" if lib == "torch" else "axis"
    keep = plan.keep == "keepdim"
    kw = f"{axis}={dims}" + (f", {kd}=True" if keep else "")

    def reduce(fn, target, extra=""):
        if plan.method:
            return f"{target}.{fn}({kw}{extra})"
        return f"{lib}.{fn}({target}, {kw}{extra})"

    def expand(name):
        if plan.keep != "index":
            return name
        idx = ", ".join("None" if i in plan.pool else ":" for i in range(len(plan.shape)))
        return f"{name}[{idx}]"

    pool_marks = [mk for mk in ("whole_sample", "other_dims", "no_keepdim") if mk in mistakes_of(plan)]
    w.add(f"{m} = {reduce('mean', x)}", *pool_marks)
    n = math.prod(plan.shape[i] for i in plan.pool)
    est = _estimator(plan, lib)
    if plan.var_how == "call":
        w.add(f"{v} = {reduce('var', x, est)}", *(["unbiased"] if plan.ddof else []))
        var = expand(v)
    elif plan.var_how == "std_call":
        w.add(f"{s} = {reduce('std', x, est)}", *(["unbiased"] if plan.ddof else []))
        var = None
    elif plan.var_how == "two_pass":
        dev = f"({x} - {expand(m)})"
        if plan.ddof:
            w.add(f"{v} = {reduce('sum', f'({dev} ** 2)')} / {n - 1}", "unbiased")
        else:
            w.add(f"{v} = {reduce('mean', f'({dev} ** 2)')}")
        var = expand(v)
    else:
        w.add(f"{v} = {reduce('mean', f'({x} ** 2)')} - {m} ** 2", "one_pass")
        var = expand(v)
    sqrt = f"{lib}.sqrt"
    std = expand(s) if var is None else f"{sqrt}({var})"
    if var is None:
        var = f"{expand(s)} ** 2"
    den = {"sqrt(var + eps)": f"{sqrt}({var} + {eps})", "rsqrt(var + eps)": f"torch.rsqrt({var} + {eps})",
           "sqrt(var) + eps": f"{std} + {eps}", "sqrt(var)": std,
           "sqrt(std + eps)": f"{sqrt}({std} + {eps})", "sqrt(std)": f"{sqrt}({std})"}[plan.den]
    op = "*" if plan.den.startswith("rsqrt") else "/"
    den_marks = (["std_under_sqrt"] if "std_under_sqrt" in DENOMINATORS[plan.den] else []) + (
        ["other_eps"] if "other_eps" in mistakes_of(plan) else [])
    div_marks = [mk for mk in ("no_eps", "eps_outside_sqrt") if mk in DENOMINATORS[plan.den]]
    if plan.den_inline:
        w.add(f"{y} = ({x} - {expand(m)}) {op} ({den})", *(den_marks + div_marks))
    else:
        w.add(f"{d} = {den}", *den_marks)
        w.add(f"{y} = ({x} - {expand(m)}) {op} {d}", *div_marks)
    if plan.affine != "none":
        shape = plan.shape[len(plan.shape) - plan.k:]
        if plan.affine == "ones":
            wv, bv = (f"{lib}.ones({shape})", f"{lib}.zeros({shape})")
        else:
            make = "torch.tensor" if lib == "torch" else "np.array"
            wv, bv = f"{make}({weight!r})", f"{make}({bias!r})"
        w.add(f"{y} = {y} * {wv} + {bv}")
    if plan.style != "straight":
        w.add(f"return {y}")
        w.indent = ""
        if plan.style == "function":
            w.add(f"{y} = {f}({x})")
    if plan.printed and plan.style != "function_only":
        w.add(f"print({y})")
    assert first
    return "\n".join(w.lines) + "\n", w.at


def _dims(dims):
    return str(dims[0]) if len(dims) == 1 else str(tuple(dims))


def _estimator(plan, lib):
    if lib == "np":
        return f", ddof={plan.ddof}" if plan.ddof or plan.ddof_words != "default" else ""
    if plan.ddof_words == "correction":
        return f", correction={plan.ddof}"
    if plan.ddof_words == "unbiased" or plan.ddof == 0:
        return f", unbiased={bool(plan.ddof)}"
    return ""


def _write_statistics(plan):
    """A row typed in (as repr of x[row], so it equals it) and the statistics module, in a comprehension."""
    x, m, v, s, d, y, f = plan.names
    w = _Writer()
    w.add("import math")
    w.add("import statistics")
    w.add(f"{x} = ROW")
    eps = repr(plan.eps)
    if plan.var_how == "one_pass":
        w.add(f"{m} = statistics.fmean({x})")
        w.add(f"{v} = statistics.fmean([a * a for a in {x}]) - {m} ** 2", "one_pass")
        var = v
    else:
        w.add(f"{m} = sum({x}) / len({x})" if plan.method else f"{m} = statistics.mean({x})")
        if plan.var_how == "std_call":
            fn = "stdev" if plan.ddof else "pstdev"
            w.add(f"{s} = statistics.{fn}({x})", *(["unbiased"] if plan.ddof else []))
            var = f"{s} ** 2"
        elif plan.var_how == "two_pass":
            div = f"(len({x}) - 1)" if plan.ddof else f"len({x})"
            w.add(f"{v} = sum((a - {m}) ** 2 for a in {x}) / {div}", *(["unbiased"] if plan.ddof else []))
            var = v
        else:
            fn = "variance" if plan.ddof else "pvariance"
            w.add(f"{v} = statistics.{fn}({x})", *(["unbiased"] if plan.ddof else []))
            var = v
    std = s if plan.var_how == "std_call" else f"math.sqrt({var})"
    den = {"sqrt(var + eps)": f"math.sqrt({var} + {eps})", "sqrt(var) + eps": f"{std} + {eps}", "sqrt(var)": std,
           "sqrt(std + eps)": f"math.sqrt({std} + {eps})", "sqrt(std)": f"math.sqrt({std})"}[plan.den]
    den_marks = (["std_under_sqrt"] if "std_under_sqrt" in DENOMINATORS[plan.den] else []) + (
        ["other_eps"] if "other_eps" in mistakes_of(plan) else [])
    div_marks = [mk for mk in ("no_eps", "eps_outside_sqrt") if mk in DENOMINATORS[plan.den]]
    if plan.den_inline:
        w.add(f"{y} = [(a - {m}) / ({den}) for a in {x}]", *(den_marks + div_marks))
    else:
        w.add(f"{d} = {den}", *den_marks)
        w.add(f"{y} = [(a - {m}) / {d} for a in {x}]", *div_marks)
    if plan.printed:
        w.add(f"print({y})")
    return "\n".join(w.lines) + "\n", w.at
