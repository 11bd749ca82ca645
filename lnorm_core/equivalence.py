"""Which configurations pool the same elements, and when their outputs agree.

Over 400 lines on purpose: finding the layers that pool alike and saying when their outputs differ
(affine layout, centering, eval statistics) with numbers are one question, and split apart each half
would need the other's reshapes.

Two specs pool alike when their group ids make the same partition of the
elements (whatever the numbering), read in C order, so a spec on (N, L, D) can be
compared with one on the reshape (N, L, D, 1). Pooling alike makes the outputs
equal without affine parameters (if both or neither subtract the mean); with
affine parameters they agree only if the weights are laid out alike too, and
often they are not: LayerNorm's weight has normalized_shape, InstanceNorm's (C,).

On an input x, compare_layers(spec_a, x, spec_b, view) says when two layers give the same
output and when not, each with a number computed on x: the gap without affine, the gap
left when B's weight and bias are fitted to A's (seeded random) ones, the gap in eval mode
with running statistics. equivalents(spec, shape, x=x) attaches that to every equivalent,
and layernorm_vs_instancenorm(x) answers the common claim on (N, L, D) and (N, C, H, W).
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError
from .manual import forward
from .spec import KIND_TABLE, NormSpec, group_ids
from .tensors import seeded_tensor

SAME_TOL = 1e-9  # outputs this close (relative to their size) are the same up to float64 rounding


def same_partition(ids_a, ids_b):
    """Whether two id arrays (same number of elements) split the elements alike."""
    a = np.asarray(ids_a).ravel()
    b = np.asarray(ids_b).ravel()
    if a.size != b.size:
        return False
    # the same partition means the pairs (a, b) map one-to-one: as many pairs as labels on each side
    n_a, n_b, n_pairs = _label_counts(a, b)
    return n_pairs == n_a == n_b


def _label_counts(a, b):
    """(labels in a, labels in b, distinct pairs (a, b)) of two flat label arrays of one size."""
    _, ia = np.unique(a, return_inverse=True)  # labels as 0..n_a-1
    _, ib = np.unique(b, return_inverse=True)
    n_a, n_b = int(ia.max(initial=-1)) + 1, int(ib.max(initial=-1)) + 1
    pairs = ia.astype(np.int64).ravel() * max(n_b, 1) + ib.ravel()  # one int per (a, b) pair
    return n_a, n_b, np.unique(pairs).size


def param_ids(spec, shape):
    """Which weight entry scales each element (an int array of shape), or None without affine."""
    if not spec.has_weight:
        return None
    lay = spec.layout(tuple(shape))
    entries = np.arange(math.prod(lay.param_shape)).reshape(lay.param_broadcast)  # one id per weight entry
    return np.broadcast_to(entries, lay.shape)  # normalized_shape along the trailing dims, or (C,) along dim 1


@dataclass(frozen=True)
class Equivalent:
    """A configuration that pools like another one.

    same_output: the outputs are equal without affine parameters (same pooling, and
    both or neither center). same_with_affine: equal for every weight and bias too,
    which needs the weights laid out alike. note: the caveat in words.
    how: the code that turns x into this layer's input, e.g. "x" or "x.unsqueeze(-1)".
    pair: with an input x given to equivalents, the LayerPair: when the outputs are
    equal and when not, with numbers on x.
    """

    spec: NormSpec
    shape: tuple
    same_output: bool
    same_with_affine: bool
    note: str
    how: str = "x"
    pair: object = None


def _candidates(shape, eps=None):
    """Every spec that is valid on shape: each kind with each of its parameter choices, torch's defaults and eps."""
    for k in range(1, len(shape) + 1):
        for kind in (kind for kind, info in KIND_TABLE.items() if info.trailing):
            yield NormSpec(kind, normalized_shape=shape[-k:], eps=eps)
    if len(shape) >= 2:
        yield NormSpec("batch", eps=eps)
        yield NormSpec("instance", eps=eps)
        c = shape[1]
        for g in range(1, c + 1):
            if c % g == 0:
                yield NormSpec("group", num_groups=g, eps=eps)


@dataclass(frozen=True)
class View:
    """How x becomes another layer's input: its dims permuted by perm, then reshaped to shape (the same numbers).

    code: the same in torch, e.g. "x.transpose(1, 2)" or "x.unsqueeze(-1)".
    """

    code: str
    perm: tuple
    shape: tuple

    def apply(self, x):
        """x as the other layer's input: (*x.shape) -> shape."""
        return np.transpose(x, self.perm).reshape(self.shape)

    def undo(self, y, x_shape):
        """The other layer's output back in x's layout: shape -> (*x_shape)."""
        moved = tuple(x_shape[p] for p in self.perm)
        return np.transpose(np.asarray(y).reshape(moved), np.argsort(self.perm))


def as_is(shape):
    """The View that leaves x as it is."""
    return View("x", tuple(range(len(shape))), tuple(shape))


def reshaped(shape, new_shape, code):
    """A View that only reshapes x (no dim moves)."""
    return View(code, tuple(range(len(shape))), tuple(new_shape))


def permuted(shape, perm, code):
    """A View that moves x's dims by perm (a transpose or permute in torch)."""
    return View(code, tuple(perm), tuple(shape[p] for p in perm))


def _reshapes(shape):
    """The input itself and the reshapes people use to turn one norm into another, as Views."""
    shape = tuple(shape)
    views = [as_is(shape), reshaped(shape, shape + (1,), "x.unsqueeze(-1)")]  # (N, L, D) -> (N, L, D, 1)
    if len(shape) > 3:
        views.append(reshaped(shape, shape[:2] + (math.prod(shape[2:]),), "x.flatten(2)"))  # (N, C, H*W)
    if len(shape) >= 2:
        views.append(reshaped(shape, (1,) + shape, "x.unsqueeze(0)"))  # a batch of one
    return views


def _pooling_key(spec):
    """What decides how a spec pools: its kind and its pooling parameters (not eps, affine or mode)."""
    return spec.kind, spec.normalized_shape, spec.num_groups


def _valid(spec, shape):
    """Whether torch accepts spec on shape."""
    try:
        spec.check(shape)
        return True
    except InputError:
        return False


def equivalents(spec, shape, x=None, seed=0):
    """The configurations (on shape or a reshape of it) that pool the same elements as spec.

    Each comes with whether its output equals spec's without and with affine
    parameters. The spec itself (the same kind pooling the same way, whatever its
    eps, affine or mode) is left out. The candidates take spec's eps and torch's
    defaults otherwise (affine as torch's default). With x (of shape), each also
    carries its LayerPair (compare_layers): when the outputs agree, with numbers on x.
    Empty where torch refuses spec in training mode on shape (BatchNorm in eval on one
    sample): such a layer uses only its running statistics and pools nothing.
    """
    shape = tuple(int(d) for d in shape)
    if not _valid(_plain(spec), shape):
        return []  # torch refuses this layer in training on this input (eval only): it pools nothing to compare
    ids = group_ids(spec, shape)
    mine = param_ids(_with_affine(spec), shape)
    found = []
    for view in _reshapes(shape):
        other_shape = view.shape
        for cand in _candidates(other_shape, spec.eps):
            if _pooling_key(cand) == _pooling_key(spec) and other_shape == shape:
                continue  # the layer itself, whatever its eps, affine or mode
            if not _valid(cand, other_shape):
                continue
            if other_shape != shape and (cand.kind == spec.kind or not (cand.centers and spec.centers)):
                continue  # on a reshape, only another kind that also centers is news
            if not same_partition(ids, group_ids(cand, other_shape)):
                continue
            same_output = cand.centers == spec.centers
            theirs = param_ids(_with_affine(cand), other_shape)
            same_affine = same_output and same_partition(mine, theirs)
            if same_affine:
                note = "same output with affine parameters too: the weights are laid out alike"
            elif same_output:
                wshape = cand.param_shape(other_shape)
                note = (
                    f"same output without affine; the affine weight then has shape {wshape} "
                    f"instead of {spec.param_shape(shape)}"
                )
            else:
                note = "same groups, different output: one subtracts the mean, the other does not"
            pair = compare_layers(spec, x, cand, view, seed) if x is not None else None
            found.append(Equivalent(cand, other_shape, same_output, same_affine, note, view.code, pair))
    return found


def outputs_equal(spec_a, x_a, spec_b, x_b, atol=1e-12):
    """Whether the manual outputs of spec_a on x_a and spec_b on x_b agree (x_b a reshape of x_a)."""
    from .manual import manual_forward

    ya = manual_forward(spec_a, x_a).ravel()
    yb = manual_forward(spec_b, x_b).ravel()
    return ya.shape == yb.shape and bool(np.allclose(ya, yb, rtol=0, atol=atol, equal_nan=True))



# ---- when two layers give the same output, with numbers on an input ------------------------------


def _with_affine(spec):
    """spec with its learnable weight (and bias, where the kind has one) switched on."""
    if spec.info.trailing:
        return spec.with_(elementwise_affine=True, bias=True)
    return spec.with_(affine=True)


def _plain(spec):
    """spec in training mode without affine: only the pooling and the centering are left."""
    if spec.info.trailing:
        return spec.with_(elementwise_affine=False)
    return spec.with_(affine=False, training=True)


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


def refines(fine, coarse):
    """Whether each label of `fine` sits inside one label of `coarse` (same elements, any numbering)."""
    a, b = np.asarray(fine).ravel(), np.asarray(coarse).ravel()
    if a.size != b.size:
        return False
    n_fine, _, n_pairs = _label_counts(a, b)
    return n_pairs == n_fine


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


def _name(spec, shape):
    """A layer as people write it, e.g. 'LayerNorm((8,))', 'InstanceNorm1d(5)', 'GroupNorm(2, 4)'."""
    if spec.info.trailing:
        return f"{spec.class_name}({_shape_text(spec.normalized_shape)})"
    c = shape[1]
    if spec.kind == "group":
        return f"GroupNorm({spec.num_groups}, {c})"
    return f"{spec.nn_class(len(shape)) or spec.class_name}({c})"


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
    a_plain, b_plain = _plain(spec_a), _plain(spec_b)
    fa, fb = forward(a_plain, x), forward(b_plain, xb)
    ids_b = view.undo(fb.ids, shape)
    same_pool = same_partition(fa.ids, ids_b)
    scale = float(np.max(np.abs(fa.y[np.isfinite(fa.y)]), initial=1.0))
    gaps = {"no affine": Gap("no affine", _max_gap(fa.y, view.undo(fb.y, shape)))}

    # one side with the explorer's random weight and bias, the other's fitted to it, entry by entry
    a_aff, b_aff = _with_affine(spec_a), _with_affine(spec_b)
    same = lambda y: y  # noqa: E731
    side_a = (a_aff, x, fa.x_hat, shape, same, same)  # spec, input, x_hat, shape, A's layout -> its, its -> A's
    side_b = (b_aff, xb, fb.x_hat, view.shape, view.apply, lambda y: view.undo(y, shape))
    wa, ba, wb, bb, gap = _fitted(side_a, side_b, seed)
    gaps["affine"] = Gap("affine", gap, wa, ba, wb, bb)
    wb, bb, wa, ba, gap = _fitted(side_b, side_a, seed)
    gaps["affine reversed"] = Gap("affine reversed", gap, wa, ba, wb, bb)
    pid_a, pid_b = param_ids(a_aff, shape), view.undo(param_ids(b_aff, view.shape), shape)
    b_covers_a, a_covers_b = refines(pid_b, pid_a), refines(pid_a, pid_b)

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


def _fitted(random_side, fitted_side, seed):
    """(weight, bias of the random side, weight, bias fitted on the other, max gap), the gap in A's layout.

    A side is (spec with affine, its input, its x_hat, its input's shape, A's layout -> its
    layout, its layout -> A's layout). The random weight and bias are the explorer's
    (seeded_tensor(param_shape, seed + 1), seed + 2); the fitted ones are least squares, one
    weight entry at a time, over this input.
    """
    r_spec, r_x, _, r_shape, _, r_back = random_side
    f_spec, f_x, f_hat, f_shape, f_to, f_back = fitted_side
    r_pshape, f_pshape = r_spec.param_shape(r_shape), f_spec.param_shape(f_shape)
    w = seeded_tensor(r_pshape, seed + 1)
    b = seeded_tensor(r_pshape, seed + 2) if r_spec.has_bias else None
    y_random = r_back(forward(r_spec, r_x, w, b).y)  # in A's layout
    pid = np.ascontiguousarray(param_ids(f_spec, f_shape)).ravel()  # which weight entry scales each element
    fw, fb = _fit(f_hat.ravel(), f_to(y_random).ravel(), pid, math.prod(f_pshape), f_spec.has_bias)
    fw, fb = fw.reshape(f_pshape), None if fb is None else fb.reshape(f_pshape)
    y_fitted = f_back(forward(f_spec, f_x, fw, fb).y)
    return w, b, fw, fb, _max_gap(y_random, y_fitted)


def _weight_where(spec, shape):
    """Where a layer's weight runs, e.g. '(8,), one per entry of dim 2' or '(5,), one per channel (dim 1)'."""
    pshape = _with_affine(spec).param_shape(shape)
    if spec.info.trailing:
        k, first = len(pshape), len(shape) - len(pshape)
        dims = (f"dim {first}" if k == 1 else f"dims {first} and {first + 1}" if k == 2
                else f"dims {first} to {len(shape) - 1}")
        return f"{_shape_text(pshape)}, one entry per position in {dims}"
    return f"{_shape_text(pshape)}, one entry per channel (dim 1)"


def _conditions(pair, fa, fb, scale):
    """When A's and B's outputs are equal and when not, one sentence each, with the numbers on x."""
    spec_a, shape, spec_b, view, gaps = pair.spec_a, pair.shape_a, pair.spec_b, pair.view, pair.gaps
    na, nb = _name(spec_a, shape), _name(spec_b, view.shape)
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
            if spec.kind == "instance" and not spec.info.default_affine:
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

