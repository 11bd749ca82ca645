"""Which elements of the input each statistic pools: the reader's registry of reductions.

Each reduction of a value made from the input records, for every element it reads, that element's flat index into
x (its member) and the statistic it goes into (its local index). A pool id joins the two: reduction << 32 | local,
so a Sym carries one int per element and any element's pool can be looked up later, to set it against the layer's
groups (spec.layout(shape).ids()).
"""

import numpy as np

SHIFT = 32  # pool id = reduction index << SHIFT | local index


class Pools:
    """The reductions of one reading: members and local indices of each, sorted by member for lookups."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.members = []  # per reduction: sorted flat input indices (int64)
        self.local = []  # per reduction: the local index of each member, in the same order
        self.counts = []  # per reduction: how many members each local index has

    def add(self, src, local):
        """Record a reduction (src and local: the flat input index and the statistic of each element read);
        returns its index, or None where an element is read twice or is no element of the input."""
        src = np.asarray(src, dtype=np.int64).ravel()
        local = np.asarray(local, dtype=np.int64).ravel()
        if src.size == 0 or src.min() < 0:
            return None
        order = np.argsort(src, kind="stable")
        members = src[order]
        if members.size > 1 and np.any(members[1:] == members[:-1]):
            return None  # an element counted twice: x broadcast, or concatenated with itself
        self.members.append(members)
        self.local.append(local[order])
        self.counts.append(np.bincount(local, minlength=int(local.max()) + 1))
        return len(self.members) - 1

    @staticmethod
    def ids(reduction, local):
        """Pool ids of the local indices of one reduction."""
        return (np.int64(reduction) << SHIFT) | np.asarray(local, dtype=np.int64)

    @staticmethod
    def split(ids):
        """(reduction, local) arrays of pool ids."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids >> SHIFT, ids & ((1 << SHIFT) - 1)

    def lookup(self, reduction, indices):
        """The local index each flat input index went into in one reduction (-1 where it was not read)."""
        members, local = self.members[reduction], self.local[reduction]
        indices = np.asarray(indices, dtype=np.int64)
        pos = np.clip(np.searchsorted(members, indices), 0, members.size - 1)
        return np.where(members[pos] == indices, local[pos], -1)

    def size(self, pid):
        """How many elements the pool pid holds."""
        r, k = (int(v) for v in self.split(pid))
        return int(self.counts[r][k])

    def elements(self, pid):
        """The flat input indices of the pool pid, sorted."""
        r, k = (int(v) for v in self.split(pid))
        return self.members[r][self.local[r] == k]

    def contains(self, ids, indices):
        """Per element: whether the pool ids[i] holds the input element indices[i]."""
        ids, indices = np.asarray(ids, dtype=np.int64), np.asarray(indices, dtype=np.int64)
        reductions, local = self.split(ids)
        out = np.zeros(ids.shape, dtype=bool)
        for r in np.unique(reductions):
            at = reductions == r
            out[at] = self.lookup(int(r), indices[at]) == local[at]
        return out

    def partition_of(self, ids, labels):
        """For pool ids (any shape): (whole, label) arrays: whether each pool is exactly one group of a partition
        of x (labels: the group of each flat element, e.g. spec.layout(shape).ids().ravel()), and that group's
        label (-1 where it is none)."""
        ids = np.asarray(ids, dtype=np.int64)
        reductions, local = self.split(ids)
        sizes = np.bincount(labels)
        whole = np.zeros(ids.shape, dtype=bool)
        label = np.full(ids.shape, -1, dtype=np.int64)
        for r in np.unique(reductions):
            r = int(r)
            lab = labels[self.members[r]]  # the group of each element this reduction read
            counts = self.counts[r]
            low = np.full(counts.size, np.iinfo(np.int64).max)
            high = np.full(counts.size, -1, dtype=np.int64)
            np.minimum.at(low, self.local[r], lab)
            np.maximum.at(high, self.local[r], lab)
            one = (low == high) & (counts > 0)  # every element of the pool in one group
            one &= sizes[np.where(one, low, 0)] == counts  # and every element of that group in the pool
            at = reductions == r
            whole[at] = one[local[at]]
            label[at] = np.where(one, low, -1)[local[at]]
        return whole, label
