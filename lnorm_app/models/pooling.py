"""The Pitfalls page's pooling picture: the layer's groups set against another pooling (the whole sample, or
another layer valid on the shape), cell by cell around one element.

Pure functions of a Config, cached on Config.key(), the pooling chosen and the element.
"""

from dataclasses import dataclass

import numpy as np

from lnorm_core import InputError, NormSpec, Recipe, equivalents, valid_layers

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache
from .explorer import EQUIVALENTS_MAX_ELEMENTS, explore
from .finder import group_slice


WHOLE_SAMPLE = "the whole sample (every dim but the batch dim)"


@dataclass(frozen=True)
class Pooling:
    """Two partitions of the same tensor: the layer's groups and another pooling's.

    layer_ids, other_ids: the group of each element (x's shape, int32) in each. focus: the element whose
    groups are compared cell by cell; membership: per element (int8), 0 elsewhere, 1 in both of its groups,
    2 only in the layer's, 3 only in the other's. layer_name, other_name: in words. same: whether
    the two partitions are the same. layer_size, other_size: the sizes of the focus element's two
    groups. also: other layers that pool like the other pooling, as labels (the equivalence named).
    layer_group, other_group: the focus element's two groups as a person indexes them ('x[0, 1, :]').
    """

    layer_ids: np.ndarray
    other_ids: np.ndarray
    focus: tuple
    membership: np.ndarray
    layer_name: str
    other_name: str
    same: bool
    layer_size: int
    other_size: int
    also: tuple
    layer_group: str = ""
    other_group: str = ""


_pooling_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["pooling"] << 20)


def against_choices(config):
    """What the layer's groups can be set against: the whole sample, then every other layer valid on the shape."""
    e = explore(config)
    return [WHOLE_SAMPLE] + [s.torch_name(e.x.shape, short=True) for s in _other_layers(e.spec, e.x.shape)]


def _other_layers(spec, shape):
    """The layers that subtract the mean, other than spec, that torch accepts on shape (torch's defaults)."""
    return [s for s in valid_layers(shape) if s.centers and not s.same_layer(spec)]


def pooling(config, against, focus):
    """The layer's groups against `against` (one of against_choices) around the element `focus` (cached)."""
    key = ("pooling", str(against), tuple(int(i) for i in focus)) + config.key()
    return _pooling_cache.get_or_compute(key, lambda: _pooling(config, against, tuple(int(i) for i in focus)),
                                         config.elements())


def _pooling(config, against, focus):
    e = explore(config)
    shape = e.x.shape
    layer_ids = e.f.ids
    if against == WHOLE_SAMPLE:
        other = Recipe.from_mistakes(("whole_sample",)).layout(e.spec, shape)
        like = NormSpec("layer", normalized_shape=shape[1:] or shape)  # the layer that pools each whole sample
        other_name = "the whole sample"
    else:
        others = {s.torch_name(shape, short=True): s for s in _other_layers(e.spec, shape)}
        if against not in others:
            raise InputError(f"{against!r} is not a layer to compare with here; choose one of "
                             f"{', '.join(against_choices(config))}")
        like = others[against]
        other = like.layout(shape)
        other_name = against
    other_ids = other.ids()
    also = [like] if against == WHOLE_SAMPLE else []
    if e.x.size <= EQUIVALENTS_MAX_ELEMENTS:  # equivalents searches every layer and reshape
        also += [q.spec for q in equivalents(like, shape)
                 if q.shape == shape and q.spec.centers and not any(q.spec.same_layer(a) for a in also)]
    also = [a.torch_name(shape, short=True) for a in also if not a.same_layer(e.spec)]
    same = e.f.layout.groups_equal(other)
    return two_poolings(layer_ids, other_ids, focus, e.spec.torch_name(shape, short=True), other_name, same, also)


def two_poolings(layer_ids, other_ids, focus, layer_label, other_label, same, also=()):
    """The Pooling of two partitions of one tensor (group ids of its shape) around the element focus."""
    mine, theirs = layer_ids == layer_ids[focus], other_ids == other_ids[focus]
    membership = mine.view(np.int8) * np.int8(2)  # 2 only the layer's, 3 only the other's, 1 both, 0 neither
    membership += theirs.view(np.int8) * np.int8(3)
    membership[mine & theirs] = 1
    shape = layer_ids.shape
    # kept as int32 and int8 (9 MB at 1024 x 1024, 24 MB as int64): one result fits its cache, and a rerun or a
    # new session on the same input does not compute it again
    return Pooling(layer_ids.astype(np.int32), other_ids.astype(np.int32), focus, membership, layer_label,
                   other_label, same, int(mine.sum()), int(theirs.sum()), tuple(also),
                   group_slice(np.argwhere(mine), shape), group_slice(np.argwhere(theirs), shape))
