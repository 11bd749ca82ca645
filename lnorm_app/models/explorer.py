"""The Explorer's model: the groups, the forward with its statistics, the check, equivalent layers.

Pure functions of a Config, cached on its small key (a pasted text enters the key as its
digest); cached arrays are read-only. Nothing here knows about Streamlit.
"""

from dataclasses import dataclass, field

import numpy as np

from lnorm_core import NormSpec, equivalents, forward, layernorm_vs_instancenorm, refusal_help

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache

EQUIVALENTS_MAX_ELEMENTS = 4096  # equivalents() is searched up to here: it builds the group ids of every candidate

@dataclass(frozen=True, eq=False)
class Exploration:
    """The explorer's numbers for one Config. Equal only to itself, and hashed so (it holds arrays): a figure of it
    is built once and shared while the cache keeps it (lnorm_app.cache.derived), with it among the arguments too.

    x, weight, bias: the inputs. f: the Forward (y, x_hat, per-group mean/var/rstd, ids).
    n_groups, group_size, caption: the pooling in words.
    out_mean, out_var: per group, the mean and biased variance of x_hat; expected_var:
    what it must be, v / (v + eps) (for RMSNorm the mean square, ms / (ms + eps)).
    max_mean_deviation: max |out_mean| over the groups (None where the mean is not removed:
    RMSNorm, or eval with running statistics). max_var_deviation: max |out_var - expected_var|
    (None in eval with running statistics). check_note: what the check means here, in words.
    """

    spec: NormSpec
    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    f: object
    n_groups: int
    group_size: int
    caption: str
    out_mean: np.ndarray
    out_var: np.ndarray
    expected_var: np.ndarray
    max_mean_deviation: float = None
    max_var_deviation: float = None
    check_note: str = ""
    nonfinite_note: str = ""


@dataclass
class SamePooling:
    """The Explorer's "Same pooling" tab for one Config: computed only when the tab is open.

    equivalents: configurations that pool the same elements (searched only up to
    EQUIVALENTS_MAX_ELEMENTS elements and 5 dims; searched says whether it was), each with its
    LayerPair (eq.pair): when the outputs agree, with numbers on x.
    note: what the list assumes of this layer, in words ("" when nothing).
    claim: "LayerNorm is InstanceNorm?" answered on this input, (title, lines), for a 3-D or
    4-D input to LayerNorm or InstanceNorm (None otherwise); claim_pairs: its LayerPairs.
    """

    equivalents: list = field(default_factory=list)
    searched: bool = True
    note: str = ""
    claim: tuple = None
    claim_pairs: tuple = ()


_explore_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["explore"] << 20)


def explore(config):
    """The Exploration for config (cached): raises InputError for bad input."""
    return _explore_cache.get_or_compute(("explore",) + config.key(), lambda: _explore(config), config.elements())


def _explore(config):
    x = config.tensor()
    spec = config.spec()
    shape = spec.check(x.shape)
    weight, bias = config.params(spec, shape)
    f = forward(spec, x, weight, bias)
    n_groups, size = f.layout.num_groups, f.layout.group_size
    rows = f.layout.pool(f.x_hat)  # (*x.shape) -> (G, n) one group a row
    out_mean = rows.mean(axis=1)  # (G,) 0 for every centered norm
    if spec.centers:
        squares = rows - out_mean[:, None]  # a new array: squared in place (one array of x's size, not two)
        np.square(squares, out=squares)
    else:
        squares = rows**2  # RMSNorm: the rows are x_hat itself
    out_var = squares.mean(axis=1)  # (G,) biased
    eps = spec.eps_for("float64")
    with np.errstate(invalid="ignore"):  # an inf variance gives NaN here, not a RuntimeWarning
        expected = f.var / (f.var + eps)  # x_hat = (x - m) / sqrt(v + eps) has variance v / (v + eps)
    caption = (
        f"{spec.torch_name(shape)} on {tuple(shape)}: {n_groups} group{'s' if n_groups != 1 else ''} "
        f"of {size} element{'s' if size != 1 else ''} each"
    )
    if spec.uses_running_stats:
        caption += " (eval mode: normalized with the running statistics, torch's initial 0 and 1)"
    mean_dev, var_dev, note = _check(spec, out_mean, out_var, expected)
    return Exploration(spec, x, weight, bias, f, n_groups, size, caption, out_mean, out_var, expected,
                       max_mean_deviation=mean_dev, max_var_deviation=var_dev, check_note=note,
                       nonfinite_note=nonfinite_note(x, f))


_same_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["same_pooling"] << 20)


def same_pooling(config):
    """The SamePooling of config (cached): the layers that pool alike, searched on small inputs only."""
    return _same_cache.get_or_compute(("same",) + config.key(), lambda: _same_pooling(config), config.elements())


def _same_pooling(config):
    e = explore(config)
    spec, x, shape = e.spec, e.x, e.x.shape
    searched = len(shape) <= 5 and x.size <= EQUIVALENTS_MAX_ELEMENTS
    eq = equivalents(spec, shape, x=x, seed=config.seed) if searched else []
    pairs = ()
    if searched and spec.kind in ("layer", "instance") and len(shape) in (3, 4):
        pairs = tuple(layernorm_vs_instancenorm(x, seed=config.seed, eps=spec.eps))
    return SamePooling(eq, searched, _equivalence_note(spec, shape), claim_text(pairs), pairs)


def _equivalence_note(spec, shape):
    """What the same-pooling list assumes of this layer ("" when nothing needs saying)."""
    training = spec.with_(training=True)
    if spec.uses_running_stats and refusal_help(training, shape) is not None:
        return (f"This {spec.class_name} is in eval mode with running statistics, and in training mode torch "
                "refuses this input: it pools nothing of it, so there is no pooling to compare.")
    if spec.uses_running_stats:
        return (f"This {spec.class_name} is in eval mode with running statistics: it pools nothing of this input. "
                "The list below is about training mode, where it uses this input's statistics.")
    return ""


def _gap(pair, what):
    """A gap of a LayerPair as the callout writes it."""
    g = pair.gaps[what].max_abs
    return "n/a" if g is None else f"{g:.2g}"


def _pairing(pair):
    """'8 groups of 9' for one side of a LayerPair."""
    count, size = pair.groups_b
    return f"{count} group{'s' if count != 1 else ''} of {size}"


def _affine_words(pair):
    """What a LayerPair pooling alike does with affine: the core's own sentence, which says which weight can copy
    the other's and when a fitted weight fits only because the input is small."""
    return next(c for c in pair.conditions if c.startswith(("With affine", "Same with affine")))


def claim_text(pairs):
    """(title, lines): "LayerNorm is InstanceNorm?" answered in plain words from layernorm_vs_instancenorm's pairs."""
    if not pairs:
        return None
    first = pairs[0]
    shape = first.shape_a
    if len(shape) == 3:
        n, length, d = shape
        same, other = pairs
        title = (f"LayerNorm is InstanceNorm? On (batch, seq, dim) = {shape}, LayerNorm(({d},)) pools each token's "
                 f"{d} features: {first.groups_a[0]} groups of {first.groups_a[1]}.")
        lines = [
            f"`nn.InstanceNorm1d({length})` on `x` as it is reads the {length} tokens as channels and the {d} "
            f"features as the length, so it pools the same {_pairing(same)}: the same output without affine "
            f"(largest difference {_gap(same, 'no affine')}). "
            + _affine_words(same),
            f"`nn.InstanceNorm1d({d})` on `x.transpose(1, 2)`, the usual way to put features in the channel dim, "
            f"pools each feature over the {length} tokens: {_pairing(other)}, a different normalization. The "
            f"outputs differ by up to {_gap(other, 'no affine')} even without affine.",
            f"So LayerNorm(({d},)) equals InstanceNorm1d only with the tokens as channels and no affine (and "
            "InstanceNorm in train mode, or without track_running_stats); with the features as channels it is "
            "another layer.",
        ]
        return title, tuple(lines)
    n, c, h, w = shape
    same, whole, last = pairs
    title = (f"LayerNorm is InstanceNorm? On (N, C, H, W) = {shape}, InstanceNorm2d({c}) pools each (sample, "
             f"channel) over its {h}×{w} pixels: {first.groups_a[0]} groups of {first.groups_a[1]}.")
    lines = [
        f"`nn.LayerNorm(({h}, {w}))` on `x` pools the same {_pairing(same)}: the same output without affine "
        f"(largest difference {_gap(same, 'no affine')}). "
        + _affine_words(same),
        (f"`nn.LayerNorm(({c}, {h}, {w}))`, what \"LayerNorm\" means for a CNN, pools each whole sample, and "
         f"with one channel a sample is that channel: {_pairing(whole)}, the same groups as InstanceNorm's here "
         f"(largest difference {_gap(whole, 'no affine')} without affine); with more channels it pools them all."
         if whole.same_pooling else
         f"`nn.LayerNorm(({c}, {h}, {w}))`, what \"LayerNorm\" means for a CNN, pools each whole sample: "
         f"{_pairing(whole)}, the groups of GroupNorm(1, {c}), not InstanceNorm's. The outputs differ by up to "
         f"{_gap(whole, 'no affine')} without affine."),
        f"`nn.LayerNorm(({c},))` on channels-last `x.permute(0, 2, 3, 1)` (as in ConvNeXt) pools each pixel over "
        f"its {c} channel{'s' if c != 1 else ''}: {_pairing(last)}, different again (up to {_gap(last, 'no affine')} without affine)"
        + (": a group of one element is its own mean, so without affine every output is 0." if c == 1 else "."),
        ("So InstanceNorm2d equals LayerNorm over (H, W) without affine, over (C, H, W) too while there is one "
         "channel, and never LayerNorm over the channels." if whole.same_pooling else
         "So InstanceNorm2d equals LayerNorm over (H, W) without affine, and neither LayerNorm over (C, H, W) nor "
         "over the channels."),
    ]
    return title, tuple(lines)


def nonfinite_note(x, f):
    """In words, how NaN and inf in x propagate: each poisons its whole group ("" when x is finite)."""
    n_nan, n_inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if not n_nan and not n_inf:
        return ""
    poisoned = np.flatnonzero(~(np.isfinite(f.mean) & np.isfinite(f.var)))  # groups whose statistics broke
    listed = ", ".join(str(g) for g in poisoned[:12]) + (", ..." if poisoned.size > 12 else "")
    return (f"The input holds {n_nan} NaN and {n_inf} inf. One such value poisons its whole group: the "
            f"group's mean and variance come out NaN (or inf), and so does every output in it. "
            f"{poisoned.size} of {f.mean.size} groups are poisoned (group {listed}); the others are untouched, "
            "as in torch.")


def _check(spec, out_mean, out_var, expected):
    """(max |mean of x_hat|, max |var of x_hat - v/(v+eps)|, note): None where the check does not apply."""
    if spec.uses_running_stats:
        return None, None, ("In eval mode x_hat uses the running statistics, not this input's, so its groups "
                            "need not have mean 0 and variance v/(v+eps)")
    finite = np.isfinite(out_var) & np.isfinite(expected)  # groups poisoned by NaN/inf are left out
    if not finite.any():
        return None, None, "Every group holds a NaN or an inf: there is no finite group to check"
    with np.errstate(invalid="ignore"):
        var_dev = float(np.max(np.abs(out_var - expected)[finite]))
        if not spec.centers:
            return None, var_dev, ("RMSNorm does not subtract the mean: each group's x_hat has mean square "
                                   "ms/(ms+eps), and its mean is whatever the input's was, scaled")
        mean_dev = float(np.max(np.abs(out_mean)[finite]))
    return mean_dev, var_dev, "Each group's x_hat has mean 0 and biased variance v/(v+eps)"
