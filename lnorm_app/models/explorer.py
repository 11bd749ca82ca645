"""The Explorer's model: the groups, the forward with its statistics, the check, equivalent layers.

Pure functions of a Config, cached on its small key (a pasted text enters the key as its
digest); cached arrays are read-only. Nothing here knows about Streamlit.
"""

from dataclasses import dataclass, field

import numpy as np

from lnorm_core import NormSpec, equivalents, forward
from lnorm_core.spec import pool, reduction_layout

from ..cache import CACHE_MIB, BoundedCache

EQUIVALENTS_MAX_ELEMENTS = 4096  # equivalents() is searched up to here: it builds the group ids of every candidate

@dataclass(frozen=True)
class Exploration:
    """The explorer's numbers for one Config.

    x, weight, bias: the inputs. f: the Forward (y, x_hat, per-group mean/var/rstd, ids).
    n_groups, group_size, caption: the pooling in words.
    out_mean, out_var: per group, the mean and biased variance of x_hat; expected_var:
    what it must be, v / (v + eps) (for RMSNorm the mean square, ms / (ms + eps)).
    equivalents: configurations that pool the same elements (searched only up to
    EQUIVALENTS_MAX_ELEMENTS elements and 5 dims; equivalents_searched says whether it was).
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
    equivalents: list = field(default_factory=list)
    equivalents_searched: bool = True
    max_mean_deviation: float = None
    max_var_deviation: float = None
    check_note: str = ""
    nonfinite_note: str = ""


_explore_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["explore"] << 20)


def explore(config):
    """The Exploration for config (cached): raises InputError for bad input."""
    return _explore_cache.get_or_compute(("explore",) + config.key(), lambda: _explore(config))


def _explore(config):
    x = config.tensor()
    spec = config.spec()
    shape = spec.check(x.shape)
    weight, bias = config.params(spec, shape)
    f = forward(spec, x, weight, bias)
    perm, n_groups, size = reduction_layout(spec, shape)
    rows = pool(f.x_hat, perm, n_groups, size)  # (*x.shape) -> (G, n) one group a row
    out_mean = rows.mean(axis=1)  # (G,) 0 for every centered norm
    centered = rows - out_mean[:, None] if spec.centers else rows
    out_var = (centered**2).mean(axis=1)  # (G,) biased
    eps = spec.eps_for("float64")
    expected = f.var / (f.var + eps)  # x_hat = (x - m) / sqrt(v + eps) has variance v / (v + eps)
    caption = (
        f"{spec.label()} on {tuple(shape)}: {n_groups} group{'s' if n_groups != 1 else ''} "
        f"of {size} element{'s' if size != 1 else ''} each"
    )
    if spec.uses_running_stats:
        caption += " (eval mode: normalized with the running statistics, torch's initial 0 and 1)"
    searched = len(shape) <= 5 and x.size <= EQUIVALENTS_MAX_ELEMENTS
    eq = equivalents(spec, shape) if searched else []
    mean_dev, var_dev, note = _check(spec, out_mean, out_var, expected)
    return Exploration(spec, x, weight, bias, f, n_groups, size, caption, out_mean, out_var, expected, eq,
                       equivalents_searched=searched, max_mean_deviation=mean_dev, max_var_deviation=var_dev,
                       check_note=note, nonfinite_note=nonfinite_note(x, f))


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
