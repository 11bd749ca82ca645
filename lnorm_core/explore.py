"""What each page shows, computed from one Config: pure functions, cached on small keys.

A page builds a `Config` from its controls, calls one of the functions here and
hands the result to lnorm_core.figures. Nothing here knows about Streamlit.
Results are cached in bounded caches keyed on the Config (a pasted text enters
the key as its digest), and their arrays are read-only.
"""

import hashlib
import itertools
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .cache import BoundedCache
from .compare import compare
from .equivalence import equivalents
from .errors import InputError
from .manual import MISTAKES, RunningStats, forward, manual_backward, manual_forward, running_stats_step
from .reference import torch_backward, torch_forward
from .spec import NormSpec, pool, reduction_layout
from .tensors import check_shape, parse_tensor, seeded_tensor
from .variance import ALGORITHMS, error_sweep

# Each page's results cache, in MiB: about 250 MiB in all beside torch's own ~300 MiB, so that one
# server fits the hosted demo's 1 GiB. A result at the largest size (2**20 elements) is ~40 MiB.
CACHE_MIB = {"explore": 96, "compare": 64, "pitfalls": 48, "diagnosis": 16, "steps": 16, "sweep": 8}

SOURCES = ("random", "paste")
DISTS = ("normal", "uniform")
INITS = ("default", "random")  # affine parameters: torch's ones/zeros, or seeded random
EQUIVALENTS_MAX_ELEMENTS = 4096  # equivalents() is searched up to here: it builds the group ids of every candidate


@dataclass(frozen=True)
class Config:
    """Everything the sidebar controls say: the input and the normalization.

    source: "random" (shape, seed, dist, offset, scale) or "paste" (paste).
    The normalization parameters are named as in torch.nn; affine switches
    elementwise_affine (layer, rms) or affine (batch, instance, group), and
    init says whether weight and bias are torch's ones/zeros or seeded random.
    """

    source: str = "random"
    shape: tuple = (2, 3, 4)
    seed: int = 0
    dist: str = "normal"
    offset: float = 0.0
    scale: float = 1.0
    paste: str = ""
    kind: str = "layer"
    normalized_shape: tuple = (4,)
    eps: float = 1e-5
    affine: bool = True
    init: str = "default"
    num_groups: int = 1
    training: bool = True
    momentum: float = 0.1
    track_running_stats: bool = True

    def key(self):
        """A small hashable key: the fields, with a pasted text replaced by its digest."""
        values = tuple(getattr(self, f.name) for f in fields(self) if f.name != "paste")
        return values + (hashlib.sha256(self.paste.encode("utf-8", "replace")).hexdigest(),)

    def tensor(self):
        """The input: the seeded draw, or the parsed paste (InputError if it is bad)."""
        if self.source == "paste":
            if not self.paste.strip():
                raise InputError("paste a tensor first, e.g. the print of torch.randn(2, 4)")
            return parse_tensor(self.paste)
        if self.source != "random":
            raise InputError(f"unknown source {self.source!r}; choose one of {', '.join(SOURCES)}")
        return seeded_tensor(check_shape(self.shape), self.seed, self.dist, self.offset, self.scale)

    def spec(self):
        """The NormSpec the controls describe (InputError where a parameter is invalid)."""
        if self.kind in ("layer", "rms"):
            return NormSpec(self.kind, normalized_shape=self.normalized_shape, eps=self.eps,
                            elementwise_affine=self.affine)
        if self.kind == "group":
            return NormSpec("group", num_groups=self.num_groups, eps=self.eps, affine=self.affine)
        return NormSpec(self.kind, eps=self.eps, affine=self.affine, training=self.training,
                        momentum=self.momentum, track_running_stats=self.track_running_stats)

    def params(self, spec, shape):
        """(weight, bias) as the controls set them: None for torch's ones/zeros, or seeded random.

        Random parameters equal torch.manual_seed(seed + 1); torch.randn(*param_shape) for the
        weight and seed + 2 for the bias, so the reproduce code can build them the same way.
        """
        if self.init != "random":
            return None, None
        pshape = spec.param_shape(shape)
        weight = seeded_tensor(pshape, self.seed + 1) if spec.has_weight else None
        bias = seeded_tensor(pshape, self.seed + 2) if spec.has_bias else None
        return weight, bias


def valid_suffixes(shape):
    """The normalized_shape choices torch accepts for shape: every suffix, last dim first."""
    return [tuple(shape[-k:]) for k in range(1, len(shape) + 1)]


def divisors(c):
    """The num_groups choices for C channels: its divisors."""
    return [g for g in range(1, c + 1) if c % g == 0]


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


# ---- compare: torch in a dtype and on a device against the float64 core --------------------


@dataclass(frozen=True)
class Comparisons:
    """torch (dtype, device) against the float64 core: forward and each gradient.

    y_torch, y_core: the outputs. forward: a compare.Comparison. grads: {"input",
    "weight", "bias"} -> Comparison (absent where the spec has no such parameter).
    """

    dtype: str
    device: str
    y_torch: np.ndarray
    y_core: np.ndarray
    forward: object
    grads: dict

    @property
    def parts(self):
        """[(name, Comparison)]: the output, then the gradients of input, weight and bias that exist."""
        return [("output", self.forward)] + [(f"grad {k}", self.grads[k]) for k in GRAD_NAMES if k in self.grads]

    @property
    def passed(self):
        """Whether the output and every gradient are within the dtype's tolerance."""
        return all(c.passed for _, c in self.parts)


GRAD_NAMES = ("input", "weight", "bias")
_compare_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["compare"] << 20)


def compare_with_torch(config, dtype="float32", device="cpu"):
    """torch in dtype on device against the float64 core, forward and backward (cached).

    The upstream gradient is seeded: torch.manual_seed(seed + 3); torch.randn(*x.shape).
    """
    key = ("compare", dtype, device) + config.key()
    return _compare_cache.get_or_compute(key, lambda: _compare(config, dtype, device))


def _compare(config, dtype, device):
    e = explore(config)
    grad_out = seeded_tensor(e.x.shape, config.seed + 3)
    y_torch = torch_forward(e.spec, e.x, e.weight, e.bias, dtype=dtype, device=device)
    g_torch = torch_backward(e.spec, e.x, grad_out, e.weight, e.bias, dtype=dtype, device=device)
    g_core = manual_backward(e.spec, e.x, grad_out, e.weight, e.bias)
    grads = {k: compare(g_torch[k], g_core[k], dtype) for k in g_core if g_core[k] is not None}
    return Comparisons(dtype, device, y_torch, e.f.y, compare(y_torch, e.f.y, dtype), grads)


_sweep_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["sweep"] << 20)


def variance_sweep(max_offset=1e6, dtype="float32", n=512, seed=0, points=25):
    """error_sweep over offsets 0 and 10**k up to max_offset (cached)."""
    if not (1.0 <= float(max_offset) <= 1e12):
        raise InputError(f"the largest offset must be between 1 and 1e12, got {max_offset!r}")
    offsets = np.concatenate([[0.0], np.logspace(0, np.log10(float(max_offset)), points - 1)])
    key = ("sweep", float(max_offset), dtype, n, seed, points)
    return _sweep_cache.get_or_compute(key, lambda: _quiet_sweep(offsets, n, dtype, seed))


def _quiet_sweep(offsets, n, dtype, seed):
    """error_sweep without numpy's warnings: an overflow to inf, and its NaN, are results to plot."""
    with np.errstate(invalid="ignore", over="ignore"):
        return error_sweep(offsets, n, dtype, seed, ALGORITHMS)


def breakdown_offset(sweep, algorithm="one_pass", threshold=1e-2):
    """The smallest offset of a sweep where algorithm's relative error exceeds threshold or is
    not a number (an overflow, or 0/0), or None where it never does."""
    err = np.asarray(sweep[algorithm], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~(err <= threshold)  # NaN and inf count as broken
    return float(sweep["offsets"][np.argmax(bad)]) if bad.any() else None


# ---- pitfalls: the usual mistakes beside the right answer ----------------------------------

# the combinations people make, beside each mistake alone
COMBINATIONS = (
    ("unbiased", "std_under_sqrt"),  # statistics.stdev under the square root
    ("unbiased", "eps_outside_sqrt"),  # torch.std(x) + eps
    ("unbiased", "no_eps"),  # (x - x.mean()) / x.std()
    ("std_under_sqrt", "no_eps"),
)


@dataclass(frozen=True)
class Pitfall:
    """One mistake (or combination): its output, its distance from torch, and the lines."""

    mistakes: tuple
    y: np.ndarray
    diff: np.ndarray
    max_abs: float
    wrong_lines: tuple
    fixes: tuple
    description: str
    visible: bool = True  # whether the output differs from torch's as printed with 4 decimals


@dataclass(frozen=True)
class Pitfalls:
    """The right answer (torch's, and the core's) and each pitfall beside it."""

    spec: NormSpec
    x: np.ndarray
    y_torch: np.ndarray
    rows: list


_pitfall_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["pitfalls"] << 20)


def pitfalls(config):
    """Every mistake alone and in COMBINATIONS, beside torch's output (cached)."""
    return _pitfall_cache.get_or_compute(("pitfalls",) + config.key(), lambda: _pitfalls(config))


def _pitfall(spec, x, weight, bias, mistakes, y_torch):
    y = manual_forward(spec, x, weight, bias, mistakes=mistakes)
    diff = y - y_torch
    with np.errstate(invalid="ignore"):
        max_abs = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else float("nan")
    ms = [MISTAKES[m] for m in mistakes]
    visible = not np.array_equal(np.round(y, 4), np.round(y_torch, 4), equal_nan=True)  # as torch prints
    return Pitfall(tuple(mistakes), y, diff, max_abs, tuple(m.wrong for m in ms), tuple(m.fix for m in ms),
                   "; and ".join(m.description for m in ms), visible)


def _pitfalls(config):
    e = explore(config)
    y_torch = torch_forward(e.spec, e.x, e.weight, e.bias)
    combos = [(m,) for m in MISTAKES] + [c for c in COMBINATIONS]
    rows = [_pitfall(e.spec, e.x, e.weight, e.bias, c, y_torch) for c in combos]
    return Pitfalls(e.spec, e.x, y_torch, rows)


# mistakes that cannot be made together: they are two answers to where eps goes
_EXCLUSIVE = ({"eps_outside_sqrt", "no_eps"},)


def mistake_combinations(max_size=3):
    """Every combination of up to max_size mistakes that can be made together, smallest first."""
    names = list(MISTAKES)
    out = []
    for size in range(1, max_size + 1):
        for combo in itertools.combinations(names, size):
            if not any(pair <= set(combo) for pair in _EXCLUSIVE):
                out.append(combo)
    return out


def which_mistake(spec, x, wrong, weight=None, bias=None):
    """The smallest mistake combinations whose output reproduces `wrong`, as printed.

    The tolerance is half a unit in the last decimal the person pasted (e.g. 5e-5
    for torch's 4 decimals), read off the numbers themselves. Returns
    ("correct", []) when wrong is in fact right, ("match", [combos]) or ("none", []).
    """
    x = np.asarray(x, dtype=np.float64)
    wrong = np.asarray(wrong, dtype=np.float64)
    if wrong.shape != x.shape:
        raise InputError(f"the wrong output has shape {wrong.shape}, the input {x.shape}: they must match")
    tol = _print_tolerance(wrong)
    close = lambda y: bool(np.allclose(y, wrong, rtol=0, atol=tol, equal_nan=True))  # noqa: E731
    if close(manual_forward(spec, x, weight, bias)):
        return "correct", []
    found = []
    for combo in mistake_combinations():
        if found and len(combo) > len(found[0]):
            break  # the smallest explanation wins
        if close(manual_forward(spec, x, weight, bias, mistakes=combo)):
            found.append(combo)
    return ("match", found) if found else ("none", [])


def _print_tolerance(values):
    """Half a unit in the last printed decimal, judged from the values: 4 decimals -> 5e-5 (+ slack)."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return 1e-12
    for decimals in range(0, 17):
        if np.allclose(finite, np.round(finite, decimals), rtol=0, atol=1e-12):
            return 0.5 * 10.0**-decimals + 1e-12
    return 1e-9


@dataclass(frozen=True)
class Diagnosis:
    """which_mistake's answer for a pasted output: the parsed output, the verdict ("correct",
    "match" or "none"), the mistake combinations that reproduce it, and each one's output."""

    wrong: np.ndarray
    verdict: str
    combos: list
    outputs: list


_diagnosis_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["diagnosis"] << 20)


def diagnose(config, wrong_text):
    """Parse a pasted wrong output and find the mistakes that give it for config's input (cached)."""
    digest = hashlib.sha256(wrong_text.encode("utf-8", "replace")).hexdigest()
    return _diagnosis_cache.get_or_compute(("diagnose", digest) + config.key(), lambda: _diagnose(config, wrong_text))


def _diagnose(config, wrong_text):
    e = explore(config)
    wrong = parse_tensor(wrong_text)
    verdict, combos = which_mistake(e.spec, e.x, wrong, e.weight, e.bias)
    outputs = [manual_forward(e.spec, e.x, e.weight, e.bias, mistakes=c) for c in combos]
    return Diagnosis(wrong, verdict, combos, outputs)


# ---- BatchNorm train vs eval, step by step -------------------------------------------------


@dataclass(frozen=True)
class Steps:
    """Training steps of a BatchNorm on seeded batches, then eval on the last batch.

    batches: the inputs (batch k is seeded_tensor(shape, seed + 100 + k)).
    states: the running statistics after each step (states[0] is torch's initial).
    y_train, y_eval: the last batch's output in training and in eval mode.
    running_mean, running_var: the states stacked, (steps + 1, C); the variance is unbiased.
    diff: y_eval - y_train; max_abs_diff: its largest |value|.
    """

    spec: NormSpec
    batches: list
    states: list
    y_train: np.ndarray
    y_eval: np.ndarray
    running_mean: np.ndarray = None
    running_var: np.ndarray = None
    diff: np.ndarray = None
    max_abs_diff: float = None


_steps_cache = BoundedCache(max_entries=16, max_bytes=CACHE_MIB["steps"] << 20)


def batch_steps(config, steps):
    """`steps` training steps of BatchNorm on the config's shape, then eval (cached)."""
    if not 1 <= int(steps) <= 50:
        raise InputError(f"steps must be between 1 and 50, got {steps!r}")
    key = ("steps", int(steps)) + config.key()
    return _steps_cache.get_or_compute(key, lambda: _batch_steps(config, int(steps)))


def _batch_steps(config, steps):
    cfg = replace(config, kind="batch", track_running_stats=True, training=True, source="random")
    spec = cfg.spec()
    shape = spec.check(check_shape(cfg.shape))
    weight, bias = cfg.params(spec, shape)
    state = RunningStats.initial(shape[1])
    batches, states, y = [], [state], None
    for k in range(steps):
        xb = seeded_tensor(shape, cfg.seed + 100 + k, cfg.dist, cfg.offset, cfg.scale)
        y, state = running_stats_step(spec, xb, state, weight, bias)
        batches.append(xb)
        states.append(state)
    y_eval, _ = running_stats_step(spec.with_(training=False), batches[-1], state, weight, bias)
    running_mean = np.stack([s.running_mean for s in states])  # steps + 1 of (C,) -> (steps + 1, C)
    running_var = np.stack([s.running_var for s in states])
    diff = y_eval - y
    return Steps(spec, batches, states, y, y_eval, running_mean, running_var, diff, float(np.abs(diff).max()))
