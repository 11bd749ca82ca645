"""The Explorer's "Weight and bias" tab: which weight (and bias) entry scales each element, for every layer.

A layer's output is y = x_hat * weight[e] + bias[e], with e the entry lc.param_ids names for
each element: normalized_shape's position for LayerNorm and RMSNorm, the channel for
BatchNorm, InstanceNorm and GroupNorm. weight_and_bias(config) says it for the sidebar's
layer; same_pooling_maps(config) draws it for the pairs of layers the "Same pooling" tab says
pool alike but lay their weights out differently. Nothing here knows about Streamlit.
"""

import math
from dataclasses import dataclass

import numpy as np

from lnorm_core import param_ids

from ..cache import derived
from ..reproduce import module_code
from .explorer import explore, same_pooling


@dataclass(frozen=True)
class ParamMap:
    """Which weight entry scales each element of x, for one layer.

    name: the layer as code, e.g. "nn.LayerNorm((3, 4))"; on: what it is applied to, "x" or
    e.g. "x.transpose(1, 2)". param_shape: weight.shape (bias.shape too). ids: an int array of
    x's shape, the flat index into weight of the entry that scales each element (read back
    into x's layout where the layer takes a view of x). has_bias: whether a bias is added
    per entry too. where: where the entries run, in words, e.g. "one per channel (dim 1)".
    """

    name: str
    on: str
    param_shape: tuple
    ids: np.ndarray
    has_bias: bool
    where: str

    @property
    def n_entries(self):
        """How many entries weight has."""
        return math.prod(self.param_shape)


@dataclass(frozen=True, eq=False)
class WeightAndBias:
    """The "Weight and bias" tab for one Config.

    map: the ParamMap of the sidebar's layer (None: the layer has no weight). lines: what the
    map says, in sentences (weight.shape, how many elements each entry scales, the bias, the
    groups against the entries). no_weight: why there is no weight ("" when there is one).
    weight, bias: the sidebar's random draw, flat, one value per entry (None: torch's
    initial ones and zeros, or no bias). Equal only to itself, and hashed so: its figures are built once for it.
    """

    map: ParamMap
    lines: tuple
    no_weight: str = ""
    weight: np.ndarray = None
    bias: np.ndarray = None


def with_affine(spec):
    """spec with its weight and bias switched on (elementwise_affine or affine)."""
    return spec.with_(elementwise_affine=True) if spec.info.trailing else spec.with_(affine=True)


def _dims(first, last):
    """'dim 2', 'dims 1 and 2' or 'dims 1 to 3'."""
    if first == last:
        return f"dim {first}"
    return f"dims {first} and {last}" if last == first + 1 else f"dims {first} to {last}"


def _where(spec, shape):
    """Where a layer's weight entries run on its input of `shape`, in words."""
    if spec.info.trailing:
        k = len(spec.normalized_shape)
        return f"one per position in {_dims(len(shape) - k, len(shape) - 1)} (normalized_shape)"
    return "one per channel (dim 1)"


def param_map(spec, shape, view=None, x_shape=None):
    """The ParamMap of spec on an input of `shape` (None without weight).

    view: the lc View that made that input from x (x_shape): the entries are then read
    back into x's layout, so two layers' maps can be drawn on the same elements of x.
    """
    ids = param_ids(spec, shape)
    if ids is None:
        return None
    on = "x"
    if view is not None:
        ids, on = np.ascontiguousarray(view.undo(ids, x_shape)), view.code
    return ParamMap(module_code(spec, shape, short=True), on, tuple(spec.param_shape(shape)), ids, spec.has_bias,
                    _where(spec, shape))


def _plural(n, word, many=None):
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def _uses(spec, shape, uses):
    """How many elements each weight entry scales, and which, in words."""
    if spec.info.trailing:
        lead = tuple(shape[:len(shape) - len(spec.normalized_shape)])
        if not lead:
            return "each is used by 1 element: normalized_shape is the whole input, nothing is shared"
        return (f"each is used by {_plural(uses, 'element')}, one per index of the leading "
                f"{'dim' if len(lead) == 1 else 'dims'} {lead}")
    n, spatial = shape[0], math.prod(shape[2:])
    mine = "its channel's element" if spatial == 1 else f"the {spatial:,} elements of its channel"
    return f"each is used by {_plural(uses, 'element')}: {mine} in each of the N = {n:,} samples"


def _groups_and_entries(spec, shape, n_groups, n_entries):
    """The groups (one mean, one variance) against the weight entries, in one sentence."""
    stats = "one mean, one variance" if spec.centers else "one mean square"
    if spec.info.trailing:
        if n_groups == 1:
            return f"The one group ({stats}) meets all {n_entries:,} entries: each entry scales one of its elements."
        return (f"The groups and the entries cross: each of the {n_groups:,} groups ({stats}) meets all "
                f"{n_entries:,} entries, and each entry scales one element of every group.")
    c, n = shape[1], shape[0]
    if spec.kind == "batch":
        return (f"{spec.class_name}'s groups are its channels too: weight entry c scales exactly the elements of "
                "group c (one mean, one variance and one weight per channel).")
    if spec.kind == "instance" or spec.num_groups == c:
        return (f"Each group is one sample's channel, so it meets one entry; each entry is shared by the "
                f"{_plural(n, 'group')} of its channel, one per sample.")
    per = c // spec.num_groups
    return (f"GroupNorm({spec.num_groups}, {c}) pools {_plural(per, 'channel')} into each group, yet the weight "
            f"is per channel, not per group: each group meets {per} entries, one per channel in it.")


def _no_weight(spec):
    """Why the layer has no weight, in words."""
    flag = "elementwise_affine" if spec.info.trailing else "affine"
    text = (f"This {spec.class_name} has {flag}=False: it has no weight and no bias (layer.weight is None), "
            "so its output is x̂ itself.")
    if not spec.info.default_affine:
        text += f" nn.{spec.class_name} has affine=False by default; tick affine in the sidebar to give it both."
    return text


def weight_and_bias(config):
    """The WeightAndBias of config: raises InputError for bad input.

    Made once for explore(config)'s cached result and kept as long as it is (lnorm_app.cache.derived), so
    that its figures, built once for it, are shared by every rerun that shows it; it holds no array of x's
    size (lc.param_ids is a broadcast of weight's entries over x, weight and bias are views).
    """
    return _weight_and_bias(explore(config))


@derived
def _weight_and_bias(e):
    spec, shape = e.spec, tuple(e.x.shape)
    m = param_map(spec, shape)
    if m is None:
        return WeightAndBias(None, (), _no_weight(spec))
    n = m.n_entries
    lines = [f"`weight.shape == {m.param_shape}`: {_plural(n, 'entry', 'entries')}, {m.where}; "
             f"{_uses(spec, shape, e.x.size // n)}."]
    if m.has_bias:
        lines.append(f"`bias.shape == {m.param_shape}` too: bias[e] is added wherever weight[e] scales, "
                     "so every element is y = x̂ · weight[e] + bias[e] with one entry e.")
    else:
        lines.append(f"{spec.class_name} has no bias: every element is y = x̂ · weight[e] with one entry e."
                     if not spec.info.has_bias else "This layer has bias=False: y = x̂ · weight[e].")
    lines.append(_groups_and_entries(spec, shape, e.n_groups, n))
    flat = lambda a: None if a is None else np.ravel(a)  # noqa: E731
    return WeightAndBias(m, tuple(lines), weight=flat(e.weight), bias=flat(e.bias))


# ---- the same-pooling tab: two layers' weights side by side -------------------------------------


@dataclass(frozen=True)
class MapPair:
    """Two layers that pool alike but lay their weights out differently, each as a ParamMap on x.

    kind: the kind of layer a, whose input x is (it names x's dims). drawn_above: where the same
    two maps are already drawn on the tab ("" when these are the first), e.g. "in the box above".
    """

    a: ParamMap
    b: ParamMap
    kind: str
    drawn_above: str = ""


@dataclass(frozen=True)
class SameMaps:
    """The maps of the "Same pooling" tab: claim for the claim's first pair (the one it says differs only
    with affine), equivalents one per equivalent (None where the text says nothing of their affine: they
    pool differently, or lay their weights out alike)."""

    claim: tuple = ()
    equivalents: tuple = ()


def affine_differs(pair):
    """Whether the same-pooling text says two layers differ only with affine: same groups and centering,
    weights laid out differently."""
    return (pair.same_pooling and pair.spec_a.centers == pair.spec_b.centers and not pair.same_with_affine)


def _pair_maps(pair, seen, where):
    """The MapPair of an lc.LayerPair (None where its affine does not differ); seen: the maps drawn so far and
    where, `where` this one is drawn."""
    if pair is None or not affine_differs(pair):
        return None
    shape = pair.shape_a
    a = param_map(with_affine(pair.spec_a), shape)
    b = param_map(with_affine(pair.spec_b), pair.view.shape, pair.view, shape)
    key = (a.ids.tobytes(), b.ids.tobytes())
    if key in seen:
        return MapPair(a, b, pair.spec_a.kind, seen[key])
    seen[key] = where
    return MapPair(a, b, pair.spec_a.kind)


def same_pooling_maps(config):
    """The SameMaps of config: the claim's first pair, then each equivalent's.

    Made once for same_pooling(config)'s cached result and kept as long as it is, so that the maps' figures,
    built once for each ParamMap, are shared by every rerun (same_pooling searches at most 4,096 elements).
    """
    return _same_maps(same_pooling(config))


@derived
def _same_maps(same):
    seen = {}
    # the claim speaks of the affine of its first pair only (the one that pools alike)
    first = _pair_maps(same.claim_pairs[0], seen, "in the box above") if same.claim_pairs else None
    claim = () if first is None else (first,)
    under = lambda eq: f"above, under `{module_code(eq.spec, eq.shape, short=True)}` on `{eq.how}`"  # noqa: E731
    return SameMaps(claim, tuple(_pair_maps(eq.pair, seen, under(eq)) for eq in same.equivalents))
