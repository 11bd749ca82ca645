"""A small thread-safe LRU cache bounded in entries and in bytes.

Many sessions share one server process: every cache must be bounded, keyed on
small values, and safe to read from several threads. Cached numpy arrays are
made read-only, so one session cannot change what another one is shown.
"""

import dataclasses
import functools
import threading
import weakref
from collections import OrderedDict

import numpy as np

from lnorm_core.threads import threads_for

# Each results cache, in MiB (one key a cache): about 250 MiB in all beside torch's own ~300 MiB, so that
# one server fits the hosted demo's 1 GiB. At the largest size (2**20 elements) one result is 16 to 40 MiB:
# explore ~40 (x, y, x_hat, group ids), compare ~32, pitfalls 16 (x, torch's y; each mistake keeps 200
# elements), a pitfall's output 16, the pooling picture 9 (two int32 id arrays and an int8 one: 15 holds one, as
# 16 did), BatchNorm's steps just over 24 (train, eval, their difference); practice keeps exercises, questions,
# keys and checked answers of at most 192 elements, a few KB each.
# Entries a results cache keeps, whatever their size: a crowd's many small settings (each session at its own
# seed, layer and tab) fit, and hit again when other visitors reach them; large results are held to the bytes.
CACHE_ENTRIES = 64
CACHE_MIB = {"explore": 80, "compare": 48, "pitfalls": 32, "pitfall_output": 16, "finder": 16, "pooling": 15,
             "same_pooling": 4, "code": 3, "steps": 32, "sweep": 8, "practice": 1}


SCALARS = (str, bytes, int, float, complex, bool, type(None))  # hold no arrays: nothing to walk
_fields = {}  # a type -> the names of its dataclass fields, () for any other type: dataclasses.fields once a type


def freeze(value):
    """Make every numpy array inside value read-only (in place) and return value."""
    frozen_bytes(value)
    return value


def frozen_bytes(value, _depth=0):
    """Make every numpy array inside value (dataclasses, dicts, lists, tuples) read-only, in place; the bytes they
    hold. One walk does both, as a result is stored: a result of many small parts (the Explorer's same-pooling
    list: specs, pairs, gaps) took two walks of ~1 ms each, asking dataclasses.fields of every object."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
        return value.nbytes
    if _depth > 6 or isinstance(value, SCALARS):
        return 0
    kind = type(value)
    names = _fields.get(kind)
    if names is None:
        names = _fields[kind] = (tuple(f.name for f in dataclasses.fields(value)) if dataclasses.is_dataclass(value)
                                 and not isinstance(value, type) else ())
    if names:
        parts = [getattr(value, name) for name in names]
    elif isinstance(value, dict):
        parts = value.values()
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        return 0
    return sum(frozen_bytes(v, _depth + 1) for v in parts)


class BoundedCache:
    """Least-recently-used results, at most max_entries of them and max_bytes in all."""

    def __init__(self, max_entries=32, max_bytes=128 << 20):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items = OrderedDict()  # key -> (value, bytes)
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_compute(self, key, compute, elements=None):
        """The cached value for key, or compute() stored under it (unless it is too big to keep).

        elements: about how many elements the work touches; small work is computed on this thread
        alone (lnorm_core.threads), where torch's second thread would cost more than the work.
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        with threads_for(elements):  # outside the lock: another session need not wait for this one
            value = compute()
        size = frozen_bytes(value)
        with self._lock:
            if size <= self.max_bytes and key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
                while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                    _, (_, old) = self._items.popitem(last=False)
                    self._bytes -= old
        return value

    def stats(self):
        """(entries, bytes) held now."""
        with self._lock:
            return len(self._items), self._bytes

    def clear(self):
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._bytes = 0


def derived(fn=None, *, per_object=8):
    """fn(obj, *args) computed once for each live obj and arguments, then shared: a figure, a formatted text.

    What a page shows of a cached result (its figures, its tables as text) is the same on every
    rerun that shows that result, for every session; building it again costs more than the rest
    of a rerun. Here it lives as long as obj does, so the results caches that bound obj bound it
    too, and at most per_object argument sets are kept for one obj. The value is shared between
    sessions: nothing may change it. An obj that cannot be weakly referenced, or arguments that
    cannot be hashed, are computed every time.
    """
    if fn is None:
        return functools.partial(derived, per_object=per_object)
    memo = {}  # id(obj) -> OrderedDict(arguments -> value), an entry removed as its obj is freed
    lock = threading.RLock()  # re-entrant: freeing a value can free another obj, whose entry goes then

    def forget(ident):
        with lock:
            memo.pop(ident, None)

    @functools.wraps(fn)
    def shared(obj, *args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:
            return fn(obj, *args, **kwargs)
        ident = id(obj)
        with lock:
            values = memo.get(ident)
            if values is not None and key in values:
                values.move_to_end(key)
                return values[key]
        value = fn(obj, *args, **kwargs)  # outside the lock: another session need not wait for this one
        with lock:
            values = memo.get(ident)
            if values is None:
                try:
                    weakref.finalize(obj, forget, ident)
                except TypeError:  # not weakly referable: nothing tells when its id is free again
                    return value
                values = memo[ident] = OrderedDict()
            values[key] = value
            while len(values) > per_object:
                values.popitem(last=False)
        return value

    shared.memo_size = lambda: sum(len(v) for v in memo.values())
    return shared


def by_value(fn=None, *, maxsize=32):
    """fn(*args) kept for its arguments' values, the maxsize most recent: for results of small values (timing lines).

    Lists among the arguments are taken as tuples, so that a list of frozen rows is a key; where an
    argument still cannot be hashed, the value is computed every time. Values are shared between
    sessions: nothing may change one.
    """
    if fn is None:
        return functools.partial(by_value, maxsize=maxsize)
    kept = functools.lru_cache(maxsize=maxsize)(fn)

    @functools.wraps(fn)
    def shared(*args, **kwargs):
        args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
        try:
            hash((args, tuple(kwargs.items())))
        except TypeError:
            return fn(*args, **kwargs)
        return kept(*args, **kwargs)

    shared.cache_info = kept.cache_info
    return shared
