"""The Pitfalls page's BatchNorm train vs eval: training steps on seeded batches, then eval on the last one.

A pure function of a Config and a number of steps, cached on both.
"""

from dataclasses import dataclass, replace

import numpy as np

from lnorm_core import InputError, NormSpec, RunningStats, check_shape, running_stats_step, seeded_tensor

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache


@dataclass(frozen=True)
class Steps:
    """Training steps of a BatchNorm on seeded batches, then eval on the last batch.

    shape: the batches' shape (batch k is seeded_tensor(shape, seed + 100 + k); they are not kept).
    states: the running statistics after each step (states[0] is torch's initial).
    y_train, y_eval: the last batch's output in training and in eval mode.
    running_mean, running_var: the states stacked, (steps + 1, C); the variance is unbiased.
    diff: y_eval - y_train; max_abs_diff: its largest |value|.
    """

    spec: NormSpec
    shape: tuple
    states: list
    y_train: np.ndarray
    y_eval: np.ndarray
    running_mean: np.ndarray = None
    running_var: np.ndarray = None
    diff: np.ndarray = None
    max_abs_diff: float = None


_steps_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["steps"] << 20)


def batch_steps(config, steps):
    """`steps` training steps of BatchNorm on the config's shape, then eval (cached)."""
    if not 1 <= int(steps) <= 50:
        raise InputError(f"steps must be between 1 and 50, got {steps!r}")
    key = ("steps", int(steps)) + config.key()
    return _steps_cache.get_or_compute(key, lambda: _batch_steps(config, int(steps)), config.elements())


def _batch_steps(config, steps):
    cfg = replace(config, kind="batch", track_running_stats=True, training=True, source="random")
    spec = cfg.spec()
    shape = spec.check(check_shape(cfg.shape))
    weight, bias = cfg.params(spec, shape)
    state = RunningStats.initial(shape[1])
    states, y = [state], None
    for k in range(steps):
        xb = seeded_tensor(shape, cfg.seed + 100 + k, cfg.dist, cfg.offset, cfg.scale)
        # the steps before the last move the buffers only: no output is computed for them
        y, state = running_stats_step(spec, xb, state, weight, bias, output=k == steps - 1)
        states.append(state)
    y_eval, _ = running_stats_step(spec.with_(training=False), xb, state, weight, bias)
    running_mean = np.stack([s.running_mean for s in states])  # steps + 1 of (C,) -> (steps + 1, C)
    running_var = np.stack([s.running_var for s in states])
    diff = y_eval - y
    return Steps(spec, tuple(shape), states, y, y_eval, running_mean, running_var, diff, float(np.abs(diff).max()))
