"""Which steps of a snippet part from the layer's, and on which line: the reading set against a NormSpec.

The output's Sym says, per element, which elements its mean and its denominator pooled and how the denominator was
made; here that is set against the layer's own groups (spec.layout(shape).ids()) and the layer's recipe:

    pool          the layer's groups | the whole sample (whole_sample) | other dims (other_dims) |
                  a statistic that lost its dims and lines up with the wrong elements (no_keepdim)
    estimator     n (right) | n − 1 (unbiased), on the line that computes the n − 1 variance or std
    one pass      E[x^2] − E[x]^2 (one_pass), on the line that subtracts
    denominator   sqrt(var + eps) | sqrt(std + eps) (std_under_sqrt, on the line of the root of the std) |
                  sqrt(var) + eps (eps_outside_sqrt) | no eps (no_eps), both on the line of the division
    eps           the layer's | another value (other_eps), on the line that adds it
    affine        the weight and bias the code applies are taken as the layer's own
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..recipe import Recipe
from .context import index_label
from .layers import layer_name

POOL_MISTAKES = {"whole": "whole_sample", "other": "other_dims", "misaligned": "no_keepdim"}


@dataclass
class Attribution:
    """The mistakes (name -> line), what could not be set against the layer, and the recipe read."""

    mistakes: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # (line, text)
    pool: object = "layer"  # "layer", "whole_sample", or the tuple of dims pooled (a Recipe's pool)
    misaligned: bool = False  # the statistics stand beside other elements than they pool (no_keepdim)
    ddof: int = 0
    one_pass: bool = False
    under_root: str = "var"
    eps: str = "inside"
    eps_value: float = None
    weight: np.ndarray = None
    bias: np.ndarray = None
    ref: bool = False


def attribute(ctx, out, spec):
    """An Attribution of the output Val against spec (the input is ctx.x)."""
    a = Attribution()
    sym = out.sym
    line = _last_line(ctx)
    if sym.role == "ref":
        a.ref = True
        return a
    if sym.role not in ("norm", "affine"):
        a.problems.append((sym.line or line, f"what it computes is {_describe(sym)}, not a normalization lnorm "
                                             "can set against torch's"))
        return a
    shape = ctx.x.shape
    try:
        lay = spec.layout(shape)
    except InputError as e:
        a.problems.append((ctx.input_line, f"{spec.class_name} does not fit the code's input of shape {shape}: {e}"))
        return a
    src = np.asarray(sym.src, dtype=np.int64).ravel()  # an element twice where a statistic broadcast x wider
    layer_ids = lay.ids().ravel()
    whole_ids = Recipe(pool="whole_sample").layout(spec, shape).ids().ravel()
    den = np.asarray(sym.pool, dtype=np.int64).ravel()
    mean = np.asarray(sym.mean, dtype=np.int64).ravel()
    st, mst = sym.stat, sym.mstat
    centred = bool(np.all(mean >= 0))
    if spec.centers and not centred:
        a.problems.append((sym.line_of("div"), f"it does not subtract the mean; {spec.class_name} does"))
        return a
    if not spec.centers and np.any(mean >= 0):
        a.problems.append((mst.line if mst else 0, f"it subtracts the mean; {spec.class_name} does not"))
        return a
    kinds = [("den", den, st)] + ([("mean", mean, mst)] if centred else [])
    cats = {name: _pooling(ctx, ids, src, layer_ids, whole_ids) for name, ids, _ in kinds}
    if len(set(cats.values())) > 1:
        a.problems.append((st.line, f"the mean pools {_pool_words(ctx, mean[:1])} and the denominator "
                                    f"{_pool_words(ctx, den[:1])}: lnorm's steps take one pooling for both"))
        return a
    cat = cats["den"]
    if cat != "layer":
        wrong = [s for name, ids, s in kinds if s is not None]
        if cat == "misaligned" and all(s.kept for s in wrong):
            a.problems.append((min(s.line for s in wrong), "each element is normalized with the statistics of "
                                                             "other elements"))
            return a
        first = min((s for s in wrong if cat != "misaligned" or not s.kept), key=lambda s: s.line)
        a.mistakes[POOL_MISTAKES[cat]] = first.line
        a.pool = "whole_sample" if cat == "whole" else _dims(ctx, den[:1]) if cat == "other" else "layer"
        if cat == "misaligned":  # the statistics stand beside the wrong elements; what do they pool?
            a.misaligned = True
            groups = _groups(ctx, den, layer_ids, whole_ids)
            if groups != "layer":
                a.mistakes[POOL_MISTAKES[groups]] = min(s.line for s in wrong)
                a.pool = "whole_sample" if groups == "whole" else _dims(ctx, den[:1])
    _estimator(a, spec, st)
    _denominator(a, spec, st, sym)
    _affine(a, spec, lay, sym, src)
    return a


def _last_line(ctx):
    return max(ctx.notes) if ctx.notes else 0


def _pooling(ctx, ids, src, layer_ids, whole_ids):
    """How pools ids[i] stand to the element src[i]: "layer", "whole", "other" (holds it) or "misaligned"."""
    pools = ctx.pools
    is_layer, lab = pools.partition_of(ids, layer_ids)
    layer = is_layer & (lab == layer_ids[src])
    if layer.all():
        return "layer"
    if not pools.contains(ids, src).all():
        return "misaligned"
    is_whole, wlab = pools.partition_of(ids, whole_ids)
    if np.all(layer | (is_whole & (wlab == whole_ids[src]))):
        return "whole"
    return "other"


def _groups(ctx, ids, layer_ids, whole_ids):
    """What the pools are, wherever they stand: each one of the layer's groups ("layer"), of the whole sample's
    ("whole"), or neither ("other")."""
    if ctx.pools.partition_of(ids, layer_ids)[0].all():
        return "layer"
    return "whole" if ctx.pools.partition_of(ids, whole_ids)[0].all() else "other"


def _pool_words(ctx, ids):
    return ctx.label(ctx.pools.elements(int(ids[0])))


def _dims(ctx, ids):
    """The dims a pool spans (negative, as people write them: (-2, -1)), where it is the whole box over them."""
    elements = ctx.pools.elements(int(ids[0]))
    shape = ctx.x.shape
    idx = np.unravel_index(elements, shape)
    dims = tuple(d for d in range(len(shape)) if np.unique(idx[d]).size > 1)
    if int(np.prod([shape[d] for d in dims])) != elements.size:
        return None  # no box of dims: the reading has no recipe for it
    return dims


def _estimator(a, spec, st):
    if st.what not in ("var", "ms"):
        a.problems.append((st.line, "the denominator is not made from a variance"))
        return
    if spec.centers and st.what == "ms":
        a.problems.append((st.line, "it divides by the root mean square; LayerNorm divides by the standard "
                                    "deviation (RMSNorm by the root mean square)"))
        return
    if not spec.centers and st.what == "var":
        a.problems.append((st.line, "it divides by the standard deviation; RMSNorm divides by the root mean square"))
        return
    if st.ddof == 1:
        a.mistakes["unbiased"] = st.ddof_line or st.line
        a.ddof = 1
    elif st.ddof != 0:
        a.problems.append((st.ddof_line or st.line, f"the variance is divided by n − {st.ddof}"))
    if st.one_pass:
        a.mistakes["one_pass"] = st.line
        a.one_pass = True


def _denominator(a, spec, st, sym):
    div = sym.line_of("div")
    roots, eps_at = st.roots, st.eps_at
    if roots == 2 and eps_at in (None, 1, 2):
        a.mistakes["std_under_sqrt"] = st.root_lines[1] if len(st.root_lines) > 1 else st.line
        a.under_root = "std"
    elif roots != 1:
        a.problems.append((div, f"it divides by {_den_words(st)}, which is no step lnorm knows"))
        return
    inner = 1 if roots == 2 else 0  # the roots taken before the last one
    if eps_at is None:
        a.mistakes["no_eps"] = div
        a.eps = "none"
    elif eps_at == inner + 1:
        a.mistakes["eps_outside_sqrt"] = div
        a.eps = "outside"
    elif eps_at != inner:
        a.problems.append((st.eps_line, "eps goes in where no step of lnorm puts it"))
        return
    if eps_at is not None:
        a.eps_value = st.eps
        layer_eps = spec.eps_for(np.float32)
        if not np.isclose(st.eps, layer_eps, rtol=1e-9, atol=0):
            a.mistakes["other_eps"] = st.eps_line
            a.notes.append((st.eps_line, f"eps = {st.eps:g} here; {spec.class_name}'s is {layer_eps:g}"))


def _den_words(st):
    from .ops import denominator_words

    return denominator_words(st)


def _affine(a, spec, lay, sym, src):
    """The weight and bias the code applies, as the layer's parameters (None where they are torch's ones and
    zeros), or a problem where they do not run along the layer's parameter dims."""
    if sym.role != "affine":
        return
    shape = lay.shape
    coords = np.unravel_index(src, shape)
    pshape = tuple(shape[d] for d in lay.param_axes)
    pidx = np.ravel_multi_index(tuple(coords[d] for d in lay.param_axes), pshape) if pshape else np.zeros_like(src)
    for name, values, default, present in (("weight", sym.weight, 1.0, spec.has_weight),
                                           ("bias", sym.bias, 0.0, spec.has_bias)):
        values = np.asarray(values, dtype=np.float64).ravel()
        if np.all(values == default):
            continue
        if not present:
            a.problems.append((sym.line_of(name), f"it applies a {name}; {layer_name(spec, shape)} has none"))
            return
        param = np.full(int(np.prod(pshape)), default)
        param[pidx] = values
        if not np.allclose(param[pidx], values, rtol=0, atol=0):
            a.problems.append((sym.line_of(name), f"the {name} does not run along the layer's parameter dims "
                                                  f"{tuple(d - len(shape) for d in lay.param_axes)}"))
            return
        setattr(a, name, param.reshape(lay.param_shape))


def _describe(sym):
    words = {"const": "a number that does not depend on the input", "input": "elements of the input itself",
             "dev": "x − mean", "sq": "squares", "opaque": f"something lnorm has no step for ({sym.why})"}
    if sym.role == "stat":
        what = {"mean": "a mean", "sum": "a sum", "var": "a variance", "ms": "a mean square",
                "sumsq": "a sum of squares", "sumx2": "a sum of squares", "mean2": "a squared mean"}[sym.stat.what]
        return f"{what} ({sym.stat.fn}, line {sym.stat.line})" if sym.stat.roots == 0 else (
            f"a standard deviation ({sym.stat.fn}, line {sym.stat.line})")
    return words.get(sym.role, sym.role)


def where_label(ctx, out):
    """The elements of x the output covers, as a person indexes them."""
    return index_label(np.asarray(out.sym.src).ravel(), ctx.x.shape, ctx.input_name or "x")
