"""What a run times: the sizes (powers of two, bounded), and the shape and NormSpec of each kind."""

import numpy as np

from ..errors import MAX_TIMING_ELEMENTS, InputError
from ..spec import KIND_TABLE, KINDS, NormSpec

HIDDEN = 1024  # layer, rms: rows of 1024 features, (rows, 1024)
CHANNELS = 64  # batch, instance, group: (N, 64, H, W)
NUM_GROUPS = 8  # group: 8 groups of 64 / 8 = 8 channels each
EPS = 1e-5  # torch.nn's default eps, passed explicitly to every kind (rms_norm's None would differ)
MIN_TIMING_ELEMENTS = 2**8  # the smallest size: (N, C, H, W) = (2, 64, 1, 2) still has 2 spatial elements

SWEEP_MIN_ELEMENTS = 2**12  # a full sweep: 2**12, 2**14, ..., 2**24 (16 KiB to 64 MiB in float32)
QUICK_MIN_ELEMENTS = 2**14  # --quick: 2**14, 2**17, 2**20
QUICK_MAX_ELEMENTS = 2**20


def is_power_of_two(n):
    """Whether n is 1, 2, 4, 8, ..."""
    return n > 0 and n & (n - 1) == 0


def check_sizes(sizes, max_elements=MAX_TIMING_ELEMENTS):
    """The sizes (total elements per tensor) as a sorted tuple of ints, or InputError.

    Each size must be a power of two between MIN_TIMING_ELEMENTS (2**8) and
    `max_elements`, itself at most MAX_TIMING_ELEMENTS (2**24).
    """
    max_elements = check_max_elements(max_elements)
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = (sizes,)
    out = set()
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise InputError(f"sizes must be whole numbers of elements, got {s!r}")
        s = int(s)
        if s > max_elements:
            raise InputError(f"size {s:,} elements is over the limit of {max_elements:,} elements"
                             + (f" (MAX_TIMING_ELEMENTS = 2**{MAX_TIMING_ELEMENTS.bit_length() - 1})"
                                if max_elements == MAX_TIMING_ELEMENTS else " (max_elements)"))
        if s < MIN_TIMING_ELEMENTS or not is_power_of_two(s):
            raise InputError(f"size {s:,} must be a power of two of at least {MIN_TIMING_ELEMENTS} (2**8) elements")
        out.add(s)
    if not out:
        raise InputError("no sizes to time")
    return tuple(sorted(out))


def check_max_elements(max_elements):
    """max_elements as an int in [MIN_TIMING_ELEMENTS, MAX_TIMING_ELEMENTS], or InputError naming the limit."""
    if isinstance(max_elements, bool) or not isinstance(max_elements, (int, np.integer)):
        raise InputError(f"max_elements must be a whole number, got {max_elements!r}")
    if max_elements > MAX_TIMING_ELEMENTS:
        raise InputError(f"max_elements {max_elements:,} is over the limit MAX_TIMING_ELEMENTS = "
                         f"{MAX_TIMING_ELEMENTS:,} (2**{MAX_TIMING_ELEMENTS.bit_length() - 1}) elements")
    if max_elements < MIN_TIMING_ELEMENTS:
        raise InputError(f"max_elements must be at least {MIN_TIMING_ELEMENTS} (2**8), got {max_elements:,}")
    return int(max_elements)


def sweep_sizes(max_elements=MAX_TIMING_ELEMENTS, min_elements=SWEEP_MIN_ELEMENTS, factor=4):
    """Powers of two from `min_elements` up to `max_elements`, each `factor` times the last.

    The largest power of two <= max_elements always ends the sweep, so a sweep
    to MAX_TIMING_ELEMENTS reaches 64 MiB of float32, past the caches.
    sweep_sizes() == (2**12, 2**14, 2**16, 2**18, 2**20, 2**22, 2**24).
    """
    max_elements = check_max_elements(max_elements)
    if factor < 2 or not is_power_of_two(factor):
        raise InputError(f"factor must be a power of two >= 2, got {factor!r}")
    top = 1 << (max_elements.bit_length() - 1)  # the largest power of two <= max_elements
    s = min(max(int(min_elements), MIN_TIMING_ELEMENTS), top)
    s = 1 << (s.bit_length() - 1)
    sizes = []
    while s < top:
        sizes.append(s)
        s *= factor
    sizes.append(top)
    return tuple(sizes)


def shape_for(kind, numel):
    """The tensor shape timed for `kind` at `numel` elements (a power of two >= 2**8).

    layer, rms:               (rows, hidden), hidden = min(1024, numel).
    batch, instance, group:   (N, C, H, W), C = 64 (group: num_groups = 8, so 8 channels
                              a group), N = 8 (2 below 2**11 elements), H * W the rest
                              with H <= W, both powers of two.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    (numel,) = check_sizes((numel,))
    if KIND_TABLE[kind].trailing:  # rows of features; the others take (N, C, H, W)
        hidden = min(HIDDEN, numel)
        return (numel // hidden, hidden)
    per_channel = numel // CHANNELS  # N * H * W
    n = 8 if per_channel >= 8 * 4 else 2
    hw = per_channel // n
    h = 1 << ((hw.bit_length() - 1) // 2)  # (N*H*W) -> H the smaller half of the powers of two
    return (n, CHANNELS, h, hw // h)


def spec_for(kind, shape, num_groups=NUM_GROUPS):
    """The NormSpec every implementation computes for `kind` on `shape`: eps EPS, no affine parameters.

    layer and rms normalize the last dim; batch and instance use the input's own statistics
    (training); group has num_groups groups (the sweeps use NUM_GROUPS; time_layers a model's own).
    """
    return NormSpec.for_kind(kind, normalized_shape=tuple(shape[-1:]), eps=EPS, affine=False, num_groups=num_groups)
