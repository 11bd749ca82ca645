"""The Pitfalls page's model: every mistake beside torch, the finder for a pasted output, BatchNorm train vs eval."""

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from lnorm_core import (
    MISTAKES,
    InputError,
    NormSpec,
    RunningStats,
    check_shape,
    manual_forward,
    parse_tensor,
    running_stats_step,
    seeded_tensor,
    torch_forward,
    which_mistake,
)

from ..cache import CACHE_MIB, BoundedCache
from .explorer import explore

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
    d = which_mistake(e.spec, e.x, wrong, e.weight, e.bias)
    verdict, combos = d.verdict, list(d.mistakes)
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
