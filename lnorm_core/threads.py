"""Small work on one of torch's threads: for the calling thread alone, for the length of a block.

torch's CPU kernels split their loops with at::parallel_for, which in this OpenMP build opens a
parallel region whenever a loop has more than one iteration: a LayerNorm of a (2, 3, 4) tensor
wakes a second thread for its 6 rows. On a server many sessions share, that costs far more than the
work: measured here, 0.5 ms of CPU for those 24 elements (0.006 ms on one thread) and ~3 ms for a
forward and backward (0.1 ms), mostly a woken thread spinning on a core other visitors need.

OpenMP keeps its thread count per thread (the nthreads-var ICV), and ATen asks the calling thread's
omp_get_max_threads() before it splits a loop. one_thread() sets that to 1 for the calling thread
only and puts it back after the block: no other thread, session or library setting changes
(torch.set_num_threads would change them for the whole process). Where torch does not run on
OpenMP (no omp_set_num_threads in the process), it does nothing.
"""

import ctypes
from contextlib import contextmanager, nullcontext

import torch  # noqa: F401  (loads torch's OpenMP runtime, whose functions are looked up below)

SMALL_WORK = 1 << 16  # elements: below this, a second thread costs more than it saves


def _openmp():
    """(omp_get_max_threads, omp_set_num_threads) of the OpenMP runtime torch loaded, or None."""
    try:
        process = ctypes.CDLL(None)
        get, set_ = process.omp_get_max_threads, process.omp_set_num_threads
    except (OSError, AttributeError):
        return None
    get.restype, get.argtypes = ctypes.c_int, []
    set_.restype, set_.argtypes = None, [ctypes.c_int]
    return get, set_


_OMP = _openmp()


@contextmanager
def one_thread():
    """Inside the block, torch computes on the calling thread alone; other threads are untouched."""
    if _OMP is None:
        yield
        return
    get, set_ = _OMP
    torch.get_num_threads()  # ATen sets each thread's count on its first parallel call: let it, before ours
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


def threads_for(elements):
    """one_thread() for small work (at most SMALL_WORK elements), else a block that changes nothing."""
    return one_thread() if elements is not None and elements <= SMALL_WORK else nullcontext()
