"""Two layers on one input: do they pool alike, and when are their outputs the same?

compare_layers(spec_a, x, spec_b, view) says, with a number computed on x for each, whether the
outputs agree without affine, with affine (B's weight and bias fitted to A's seeded random ones,
and the other way), and in eval mode with running statistics. layernorm_vs_instancenorm(x)
answers the common claim on (N, L, D) and (N, C, H, W).
"""

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError
from .inputs import affine_params
from .manual import forward, step_affine
from .partition import View, as_is, param_ids, permuted, refines, same_partition
from .spec import NormSpec
from .tensors import seeded_tensor


SAME_TOL = 1e-9  # outputs this close (relative to their size) are the same up to float64 rounding


def plain(spec):
    """spec in training mode without affine: only the pooling and the centering are left."""
    return spec.with_affine(False).with_(training=True)


@dataclass(frozen=True)
class Gap:
    """A counterexample, or its absence: the largest |y_a - y_b| on the input in one setting.

    what: "no affine" (both without weight and bias, in training), "affine" (A with the
    seeded random weight and bias, B with the weight and bias fitted to match it by least
    squares), "affine reversed" (B random, A fitted), or "eval" (the layer that keeps
    running statistics in eval mode, a fresh one's running_mean 0 and running_var 1; the
    other as in "no affine").
    max_abs: over the elements where both outputs are finite (None if there are none).
    weight_a, bias_a, weight_b, bias_b: the parameters used (None: none).
    eval_a, eval_b: which layer ran in eval mode.
    """

    what: str
    max_abs: float
    weight_a: np.ndarray = None
    bias_a: np.ndarray = None
    weight_b: np.ndarray = None
    bias_b: np.ndarray = None
    eval_a: bool = False
    eval_b: bool = False

    def same(self, scale=1.0):
        """Whether the outputs agree to float64 rounding (relative to scale, the outputs' size)."""
        return self.max_abs is not None and self.max_abs <= SAME_TOL * max(1.0, scale)


@dataclass(frozen=True)
class LayerPair:
    """Layer A on x against layer B on view(x): whether they pool alike, and when their outputs agree.

    groups_a, groups_b: (number of groups, elements in each). same_pooling: the same
    elements share a mean and a variance. gaps: {"no affine", "affine", "affine reversed",
    "eval"} -> Gap ("eval" only where a layer keeps running statistics). conditions: when
    the outputs are equal and when not, one sentence each, with the numbers. same_output:
    equal without affine (in training). b_covers_a: every weight and bias of A has one of B
    giving the same output (B's weight entries each scale elements of one A entry);
    a_covers_b the other way; same_with_affine: both (the weights laid out alike).
    """

    spec_a: NormSpec
    shape_a: tuple
    spec_b: NormSpec
    view: View
    groups_a: tuple
    groups_b: tuple
    same_pooling: bool
    gaps: dict
    conditions: tuple
    same_output: bool
    same_with_affine: bool
    b_covers_a: bool = False
    a_covers_b: bool = False


def _max_gap(a, b):
    """max |a - b| over the elements where both are finite, or None."""
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a - b)[both])) if both.any() else None


def _fit(x_hat, target, pid, n_entries, with_bias):
    """Per weight entry j: the scale (and shift) that best maps x_hat to target where entry j applies.

    Least squares over the elements each entry scales: pid says which entry that is.
    Returns (weight, bias) as flat arrays of n_entries (bias None without one).
    """
    ok = np.isfinite(x_hat) & np.isfinite(target)
    p, u, t = pid[ok], x_hat[ok], target[ok]
    count = lambda w=None: np.bincount(p, weights=w, minlength=n_entries)  # noqa: E731  sums per entry
    n, su, st, suu, sut = count(), count(u), count(t), count(u * u), count(u * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        if with_bias:
            den = n * suu - su * su
            weight = np.where(den > 0, (n * sut - su * st) / den, 0.0)  # slope of t on u
            bias = np.where(n > 0, (st - weight * su) / np.maximum(n, 1), 0.0)
            return weight, bias
        return np.where(suu > 0, sut / suu, 0.0), None


def _shape_text(shape):
    return str(tuple(int(d) for d in shape))


def _number(v):
    return "n/a (no finite output)" if v is None else f"{v:.2g}"


def compare_layers(spec_a, x, spec_b, view=None, seed=0):
    """Layer A on x against layer B on view.apply(x): same pooling? When are the outputs equal?

    A runs in training mode; the seeded random weight and bias of A are those the explorer
    uses (seeded_tensor(param_shape, seed + 1) and seed + 2). Returns a LayerPair whose
    conditions say, with numbers on x, whether the outputs agree without affine, with
    affine (B's weight fitted to A's), and in eval mode where a layer keeps running
    statistics. spec_b takes view.shape; both must be accepted by torch.
    """
    x = np.asarray(x, dtype=np.float64)
    shape = tuple(x.shape)
    view = view or as_is(shape)
    xb = view.apply(x)
    a_plain, b_plain = plain(spec_a), plain(spec_b)
    fa, fb = forward(a_plain, x), forward(b_plain, xb)
    same_pool, b_covers_a, a_covers_b = _alike(spec_a, shape, spec_b, view)
    scale = float(np.max(np.abs(fa.y[np.isfinite(fa.y)]), initial=1.0))
    gaps = {"no affine": Gap("no affine", _max_gap(fa.y, view.undo(fb.y, shape)))}

    # one side with the explorer's random weight and bias, the other's fitted to it, entry by entry
    a_aff, b_aff = spec_a.with_affine(), spec_b.with_affine()
    same = lambda y: y  # noqa: E731
    side_a = (a_aff, x, fa.x_hat, shape, same, same)  # spec, input, x_hat, shape, A's layout -> its, its -> A's
    side_b = (b_aff, xb, fb.x_hat, view.shape, view.apply, lambda y: view.undo(y, shape))
    wa, ba, wb, bb, gap = _fitted(side_a, side_b, seed)
    gaps["affine"] = Gap("affine", gap, wa, ba, wb, bb)
    wb, bb, wa, ba, gap = _fitted(side_b, side_a, seed)
    gaps["affine reversed"] = Gap("affine reversed", gap, wa, ba, wb, bb)

    # running statistics: the layer that keeps them (by torch's default) in eval mode
    eval_a = spec_a.info.running_stats and spec_a.track_running_stats
    eval_b = spec_b.info.running_stats and spec_b.track_running_stats
    if eval_a or eval_b:
        ea = forward(a_plain.with_(training=False), x).y if eval_a else fa.y
        eb = forward(b_plain.with_(training=False), xb).y if eval_b else fb.y
        gaps["eval"] = Gap("eval", _max_gap(ea, view.undo(eb, shape)), eval_a=eval_a, eval_b=eval_b)

    same_out = gaps["no affine"].same(scale)
    pair = LayerPair(spec_a, shape, spec_b, view, (fa.mean.size, fa.layout.group_size),
                     (fb.mean.size, fb.layout.group_size), same_pool, gaps, (), same_out,
                     same_out and b_covers_a and a_covers_b, b_covers_a, a_covers_b)
    return replace(pair, conditions=tuple(_conditions(pair, fa, fb, scale)))


@functools.lru_cache(maxsize=256)
def _alike(spec_a, shape, spec_b, view):
    """(same pooling, B's weight entries each inside one of A's, A's inside B's): what depends on the two layers
    and the shapes alone, not on x, so a new input of the same shape finds it worked out (cached)."""
    ids_a, ids_b = plain(spec_a).layout(shape).ids(), view.undo(plain(spec_b).layout(view.shape).ids(), shape)
    pid_a = param_ids(spec_a.with_affine(), shape)
    pid_b = view.undo(param_ids(spec_b.with_affine(), view.shape), shape)
    return same_partition(ids_a, ids_b), refines(pid_b, pid_a), refines(pid_a, pid_b)


def _fitted(random_side, fitted_side, seed):
    """(weight, bias of the random side, weight, bias fitted on the other, max gap), the gap in A's layout.

    A side is (spec with affine, its input, its x_hat, its input's shape, A's layout -> its
    layout, its layout -> A's layout). The random weight and bias are the explorer's
    (seeded_tensor(param_shape, seed + 1), seed + 2); the fitted ones are least squares, one
    weight entry at a time, over this input.
    """
    r_spec, r_x, r_hat, r_shape, _, r_back = random_side
    f_spec, f_x, f_hat, f_shape, f_to, f_back = fitted_side
    r_pshape, f_pshape = r_spec.param_shape(r_shape), f_spec.param_shape(f_shape)
    w = seeded_tensor(r_pshape, seed + 1)
    b = seeded_tensor(r_pshape, seed + 2) if r_spec.has_bias else None
    y_random = r_back(affine_output(r_spec, r_x, r_hat, w, b))  # in A's layout
    pid = np.ascontiguousarray(param_ids(f_spec, f_shape)).ravel()  # which weight entry scales each element
    fw, fb = _fit(f_hat.ravel(), f_to(y_random).ravel(), pid, math.prod(f_pshape), f_spec.has_bias)
    fw, fb = fw.reshape(f_pshape), None if fb is None else fb.reshape(f_pshape)
    y_fitted = f_back(affine_output(f_spec, f_x, f_hat, fw, fb))
    return w, b, fw, fb, _max_gap(y_random, y_fitted)


def affine_output(spec, x, x_hat, weight, bias):
    """forward(spec, x, weight, bias).y, to the bit: from x_hat, x normalized by its own statistics (the forward of
    plain(spec)), where spec normalizes by them too; a whole forward where it uses running statistics instead.

    The weight and bias change only the last step, so the statistics need not be computed again: a comparison
    fits weights on both sides of each pair, four outputs that would each be a forward.
    """
    if spec.uses_running_stats:
        return forward(spec, x, weight, bias).y
    w, b = affine_params(spec, spec.layout(x.shape), weight, bias)
    return np.ascontiguousarray(step_affine(x_hat, w, b))


def _weight_where(spec, shape):
    """Where a layer's weight runs, e.g. '(8,), one per entry of dim 2' or '(5,), one per channel (dim 1)'."""
    pshape = spec.with_affine().param_shape(shape)
    if spec.info.trailing:
        k, first = len(pshape), len(shape) - len(pshape)
        dims = (f"dim {first}" if k == 1 else f"dims {first} and {first + 1}" if k == 2
                else f"dims {first} to {len(shape) - 1}")
        return f"{_shape_text(pshape)}, one entry per position in {dims}"
    return f"{_shape_text(pshape)}, one entry per channel (dim 1)"


def _conditions(pair, fa, fb, scale):
    """When A's and B's outputs are equal and when not, one sentence each, with the numbers on x."""
    spec_a, shape, spec_b, view, gaps = pair.spec_a, pair.shape_a, pair.spec_b, pair.view, pair.gaps
    na, nb = spec_a.torch_name(shape, short=True), spec_b.torch_name(view.shape, short=True)
    out = []
    plain = gaps["no affine"]
    alike = pair.same_pooling and spec_a.centers == spec_b.centers
    if not pair.same_pooling:
        out.append(f"Different groups: {na} pools {fa.mean.size} groups of {fa.layout.group_size}, {nb} on "
                   f"{view.code} pools {fb.mean.size} groups of {fb.layout.group_size}; even without affine the "
                   f"outputs differ by up to {_number(plain.max_abs)} on this input.")
    elif not alike:
        rms = na if not spec_a.centers else nb
        out.append(f"Same groups, different output: {rms} divides by the root mean square without subtracting the "
                   f"mean, so the two agree only on groups whose mean is 0; here they differ by up to "
                   f"{_number(plain.max_abs)}, without affine.")
    else:
        rounding = ", float64 rounding" if plain.max_abs else ""
        out.append(f"Same output without affine, in training mode: the same {fa.mean.size} groups of "
                   f"{fa.layout.group_size} (largest difference on this input {_number(plain.max_abs)}{rounding}).")
    if spec_a.info.trailing and not spec_b.info.trailing:  # B reads dim 1 as channels, whatever it meant to A
        out.append(f"{nb} takes dim 1 of {_shape_text(view.shape)} (size {view.shape[1]}) as its channels.")
    if alike:
        out.append(_affine_sentence(pair, na, nb, scale))
        for spec, name in ((spec_b, nb), (spec_a, na)):
            if not spec.info.default_affine:
                out.append(f"nn.{name.split('(')[0]} has affine=False by default: out of the box it has no weight "
                           "and no bias at all.")
                break
    if "eval" in gaps:
        g = gaps["eval"]
        who = " and ".join(n for n, e in ((na, g.eval_a), (nb, g.eval_b)) if e)
        out.append(f"Only in training mode: in eval() {who} normalizes with running_mean and running_var instead "
                   f"of this input's statistics (a fresh layer's 0 and 1), and the outputs differ by up to "
                   f"{_number(g.max_abs)} here.")
    return out


def _first_up(text):
    return text[:1].upper() + text[1:]


def _affine_sentence(pair, na, nb, scale):
    """With affine: which layer's weights can stand for the other's, and by how much a fitted weight misses."""
    wa, wb = _weight_where(pair.spec_a, pair.shape_a), _weight_where(pair.spec_b, pair.view.shape)
    if pair.same_with_affine:
        return (f"Same with affine too: both weights are {wa}, laid out alike, so any weight and bias of one are "
                "a weight and bias of the other.")

    def misses(gap, random_name, fitted_name):
        g = gap.max_abs
        lucky = (" (on this small input a fitted weight happens to fit: too few elements per weight entry)"
                 if gap.same(scale) else "")
        return (f"with a random weight and bias in {random_name}, the {fitted_name} weight and bias fitted to it "
                f"(least squares) still miss by up to {_number(g)} on this input{lucky}")

    head = f"{na}'s weight is {wa}; {nb}'s is {wb}."
    if pair.b_covers_a:
        return (f"With affine, {nb} can give every output {na} can (its weight entries each fall in one of "
                f"{na}'s: repeat {na}'s values), but not the other way: {head} "
                f"{_first_up(misses(pair.gaps['affine reversed'], nb, na))}.")
    if pair.a_covers_b:
        return (f"With affine, {na} can give every output {nb} can (its weight entries each fall in one of "
                f"{nb}'s), but not the other way: {head} {_first_up(misses(pair.gaps['affine'], na, nb))}.")
    return (f"With affine they differ: {head} They agree while both hold torch's initial ones and zeros; "
            f"{misses(pair.gaps['affine'], na, nb)}.")


def layernorm_vs_instancenorm(x, seed=0, eps=None):
    """"LayerNorm is InstanceNorm": which pooling equals which on a 3-D (N, L, D) or 4-D (N, C, H, W) input.

    Returns a list of LayerPairs, the first of each input kind pooling alike:
      (N, L, D):    LayerNorm((D,)) against InstanceNorm1d(L) on x itself (L as channels,
                    the same groups) and InstanceNorm1d(D) on x.transpose(1, 2) (features
                    as channels, pooled over the sequence: other groups).
      (N, C, H, W): InstanceNorm2d(C) against LayerNorm((H, W)) (the same groups),
                    LayerNorm((C, H, W)) (the whole sample: GroupNorm(1, C)) and LayerNorm((C,))
                    on channels-last x.permute(0, 2, 3, 1) (each pixel over its channels).
    An empty list for other inputs, and where torch refuses one of these layers on x in
    training (InstanceNorm1d on a length of 1, InstanceNorm2d on a single pixel).
    """
    x = np.asarray(x, dtype=np.float64)
    try:
        return _layernorm_vs_instancenorm(x, seed, eps)
    except InputError:  # torch refuses one of the layers here, e.g. InstanceNorm1d on a length of 1
        return []


def _layernorm_vs_instancenorm(x, seed, eps):
    shape = tuple(x.shape)
    if len(shape) == 3:
        n, length, d = shape
        layer = NormSpec("layer", normalized_shape=(d,), eps=eps)
        inst = NormSpec("instance", eps=eps)
        return [compare_layers(layer, x, inst, as_is(shape), seed),
                compare_layers(layer, x, inst, permuted(shape, (0, 2, 1), "x.transpose(1, 2)"), seed)]
    if len(shape) == 4:
        n, c, h, w = shape
        inst = NormSpec("instance", eps=eps)
        return [compare_layers(inst, x, NormSpec("layer", normalized_shape=(h, w), eps=eps), as_is(shape), seed),
                compare_layers(inst, x, NormSpec("layer", normalized_shape=(c, h, w), eps=eps), as_is(shape), seed),
                compare_layers(inst, x, NormSpec("layer", normalized_shape=(c,), eps=eps),
                               permuted(shape, (0, 2, 3, 1), "x.permute(0, 2, 3, 1)"), seed)]
    return []
