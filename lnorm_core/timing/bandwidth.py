"""The bytes a normalization must move, and the least time that takes: one count for every source.

lnorm's own reports and the published GPU measurements are both held against these, so a GB/s
figure means the same thing whoever measured the time.
"""

import math

from ..errors import InputError

MODES = ("forward", "backward", "full")
# Bytes an ideal kernel moves, in units of numel * itemsize (see bytes_moved).
PASSES = {"forward": 2, "backward": 3, "full": 5}


def bytes_moved(numel, itemsize, mode="forward"):
    """The bytes an ideal kernel moves for one call, in `mode`; the one count lnorm uses for every source.

    forward:  reads x, writes y                              2 * numel * itemsize
    backward: reads x and the incoming grad dy, writes dx    3 * numel * itemsize
    full:     forward then backward                          5 * numel * itemsize
    The per-row statistics (mean, rstd), the weight and bias and their gradients are left out: they
    are one value per row or per feature, small beside x. A kernel that does more passes is still
    charged these bytes, so extra passes show up as a lower GB/s.
    """
    if mode not in PASSES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    for name, v in (("numel", numel), ("itemsize", itemsize)):
        if not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            raise InputError(f"{name} must be a positive whole number, got {v!r}")
    return PASSES[mode] * numel * itemsize


def roofline_time(bytes_moved, peak_gbps):
    """The least time (s) to move `bytes_moved` bytes at `peak_gbps` GB/s: bytes / (GB/s * 1e9).

    No kernel on that GPU beats it: it is the memory-bandwidth floor under a measured time.
    """
    if not (is_real(bytes_moved) and bytes_moved >= 0):
        raise InputError(f"bytes_moved must be a number >= 0, got {bytes_moved!r}")
    if not (is_real(peak_gbps) and peak_gbps > 0):
        raise InputError(f"peak_gbps must be a positive number, got {peak_gbps!r}")
    return bytes_moved / (peak_gbps * 1e9)


def is_real(v):
    """Whether v is a finite int or float (a bool is not a number here)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
