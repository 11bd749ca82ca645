"""Layout: how a normalization lays out an input, its reduction groups and its parameters.

A spec makes its Layout (NormSpec.layout(shape)); everything else asks the layout: which
elements share one mean and variance, where the weight and bias run, the running buffers.
The pooling is written as a person writes it in torch or numpy: reshape x to `view`, then
reduce over `reduce_dims` with keepdim:

    layer/rms:  view = shape,              reduce_dims = the last len(normalized_shape) dims
    batch:      view = shape,              reduce_dims = (0, 2, 3, ...)   one group a channel
    instance:   view = shape,              reduce_dims = (2, 3, ...)      one group a (sample, channel)
    group:      view = (N, G, C/G, *S),    reduce_dims = (2, 3, ...)      one group a (sample, channel group)

pool() puts each group in one row, (*shape) -> (num_groups, group_size), and unpool() undoes it.
"""

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError, is_whole_number


@dataclass(frozen=True)
class Layout:
    """How a spec lays out an input of `shape`: its reduction groups and its parameters.

    view, reduce_dims: the pooling: x.reshape(view) reduced over reduce_dims (with keepdim, each
        group's statistic stands where it broadcasts back against x.reshape(view)).
    param_shape: weight's and bias's shape: normalized_shape, or (C,).
    param_axes: the dims of x that the parameters run along (the trailing dims, or dim 1).
    param_broadcast: the shape weight and bias take to broadcast against x: normalized_shape
        as it is, or (1, C, 1, ...); running statistics broadcast the same way.
    buffer_shape: the running_mean's and running_var's shape, (C,), where the layer keeps them, else None.
    """

    shape: tuple
    view: tuple
    reduce_dims: tuple
    param_shape: tuple
    param_axes: tuple
    param_broadcast: tuple
    buffer_shape: tuple = None

    @functools.cached_property
    def pooling(self):
        """The pooling in its shortest form, ((size, reduced), ...): view's dims with those of size 1 left
        out and neighbours on the same side merged. Two layouts with the same pooling put the same elements
        in the same rows in the same order, whatever their views."""
        out = []
        for dim, size in enumerate(self.view):
            reduced = dim in self.reduce_dims
            if size == 1:
                continue
            if out and out[-1][1] == reduced:
                out[-1] = (out[-1][0] * size, reduced)
            else:
                out.append((size, reduced))
        return tuple(out)

    @property
    def num_groups(self):
        """How many groups: the product of the dims not reduced."""
        return math.prod(size for size, reduced in self.pooling if not reduced)

    @property
    def group_size(self):
        """How many elements each group holds: the product of the reduced dims."""
        return math.prod(size for size, reduced in self.pooling if reduced)

    @functools.cached_property
    def _moves(self):
        """(sizes, perm): x reshaped to sizes, its dims moved by perm, puts the kept dims first."""
        sizes = tuple(size for size, _ in self.pooling)
        kept = [d for d, (_, reduced) in enumerate(self.pooling) if not reduced]
        return sizes, tuple(kept + [d for d, (_, reduced) in enumerate(self.pooling) if reduced])

    def pool(self, x):
        """(*shape) -> (num_groups, group_size): each reduction group in one row."""
        sizes, perm = self._moves
        return np.transpose(np.reshape(x, sizes), perm).reshape(self.num_groups, self.group_size)

    def unpool(self, rows):
        """(num_groups, group_size) -> (*shape): the inverse of pool."""
        sizes, perm = self._moves
        moved = tuple(sizes[p] for p in perm)
        return np.transpose(np.reshape(rows, moved), np.argsort(perm)).reshape(self.shape)

    def ids(self):
        """The group id of each element: an int array of shape, ids counted from 0 in the order pool lays out."""
        ids = np.repeat(np.arange(self.num_groups), self.group_size)  # (G*n,) one id per element, in pooled order
        return np.ascontiguousarray(self.unpool(ids.reshape(self.num_groups, self.group_size)))  # x's layout

    def groups_equal(self, other):
        """Whether other pools the same elements into the same rows (whatever its view or parameters)."""
        return self.shape == other.shape and self.pooling == other.pooling

    def pooled_over(self, dims):
        """This layout with its groups changed to reduce x over `dims` (dims of x, negative ones counted from
        the end); the parameters and buffers stay where they are."""
        ndim = len(self.shape)
        for d in dims:
            if not is_whole_number(d) or not -ndim <= d < ndim:
                raise InputError(f"dim {d!r} is no dim of an input of {ndim} dims (-{ndim} to {ndim - 1})")
        dims = tuple(sorted({int(d) % ndim for d in dims}))
        return replace(self, view=self.shape, reduce_dims=dims)

    def reduced_axes(self):
        """The dims of x summed over for a gradient of the parameters: every dim but param_axes."""
        return tuple(a for a in range(len(self.shape)) if a not in self.param_axes)

