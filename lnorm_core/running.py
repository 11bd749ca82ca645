"""BatchNorm's running statistics (and a tracking InstanceNorm's), step by step as torch.nn keeps them."""

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .inputs import as_array
from .manual import forward, step_mean, step_variance


@dataclass(frozen=True)
class RunningStats:
    """BatchNorm's (and tracking InstanceNorm's) buffers, as torch.nn keeps them."""

    running_mean: np.ndarray
    running_var: np.ndarray
    num_batches_tracked: int = 0

    @classmethod
    def initial(cls, num_features):
        """torch's initial buffers: zeros, ones and a count of 0."""
        return cls(np.zeros(num_features), np.ones(num_features), 0)


def running_stats_step(spec, x, state, weight=None, bias=None, output=True):
    """One forward of nn.BatchNorm (or a tracking nn.InstanceNorm): (y, new state).

    output=False, in training: only the statistics are computed (the same numbers), and y is None.

    In training, y uses this batch's statistics and the buffers move towards them:
        factor = momentum, or 1 / num_batches_tracked when momentum is None (the cumulative average)
        running_mean = (1 - factor) * running_mean + factor * batch mean
        running_var  = (1 - factor) * running_var  + factor * UNBIASED batch variance (n / (n-1))
    Any momentum is taken as torch takes it, outside [0, 1] too. InstanceNorm averages each
    instance's statistics over the batch first, and, as torch does, never counts batches: its
    momentum=None means a factor of 0 (the buffers stay where they are), not the cumulative average.
    In eval, y uses the running statistics and the state is returned unchanged.
    """
    if not spec.keeps_running_stats:
        raise InputError("running statistics belong to BatchNorm and InstanceNorm with track_running_stats=True")
    if output or not spec.training:
        f = forward(spec, x, weight, bias, running_mean=state.running_mean, running_var=state.running_var)
        if not spec.training:
            return f.y, state
        y, batch_mean, var, lay = f.y, f.mean, f.var, f.layout
    else:  # the forward's own steps up to the variance, and no further
        x = as_array(x, "x")
        lay = spec.layout(x.shape)
        rows = lay.pool(x)  # (*x.shape) -> (G, n)
        _, batch_mean = step_mean(rows, spec.centers)  # (G,)
        _, _, var = step_variance(rows, batch_mean, spec.centers)  # (G,)
        y = None
    c, n = lay.shape[1], lay.group_size
    unbiased = var * n / (n - 1)  # (G,) the running variance is unbiased, unlike the normalization
    # batch: one group per channel already; instance: groups are (sample, channel), averaged over the samples
    batch_mean = batch_mean.reshape(-1, c).mean(axis=0)  # (G,) -> (C,)
    batch_var = unbiased.reshape(-1, c).mean(axis=0)  # (G,) -> (C,)
    counts = spec.info.counts_batches
    count = state.num_batches_tracked + 1 if counts else state.num_batches_tracked
    if spec.momentum is not None:
        factor = spec.momentum
    else:  # the cumulative average where batches are counted; torch's InstanceNorm passes 0.0
        factor = 1.0 / count if counts else 0.0
    with np.errstate(invalid="ignore", over="ignore"):  # a momentum of inf or NaN gives NaN buffers, as in torch
        new = RunningStats(
            running_mean=(1 - factor) * np.asarray(state.running_mean) + factor * batch_mean,
            running_var=(1 - factor) * np.asarray(state.running_var) + factor * batch_var,
            num_batches_tracked=count,
        )
    return y, new
