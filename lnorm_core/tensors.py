"""Tensors lnorm draws itself, and the shapes a tensor may have.

    check_shape(shape)            -> the shape as a tuple of ints, within the limits
    seeded_tensor(shape, seed)    -> float64 array equal to torch.manual_seed(seed); torch.randn(*shape)

Both check every limit of lnorm_core.errors before anything of that size is allocated.
Tensors from text (parse_tensor, parse_shape) are read by lnorm_core.parse.
"""

import math

import numpy as np
import torch

from .errors import MAX_DIMS, MAX_ELEMENTS, InputError, is_whole_number, number, shown

# ---------------------------------------------------------------------------------------------
# check_shape
# ---------------------------------------------------------------------------------------------


def _format_int(n: int) -> str:
    """An int with thousands separators, or a short note if it is too long to show."""
    return f"{n:,}" if n.bit_length() <= 128 else f"a number with about {int(n.bit_length() * 0.30103)} digits"


def check_shape(shape) -> tuple[int, ...]:
    """Validate a tensor shape and return it as a tuple of Python ints.

    A shape is a tuple or list (a torch.Size is a tuple) of 1 to MAX_DIMS ints, each at least
    1, whose product is at most MAX_ELEMENTS. The product is checked before anything is
    allocated. Raises InputError, e.g.
    "shape (2000, 2000) has 4,000,000 elements; the limit is 1,048,576".
    """
    if not isinstance(shape, (tuple, list)):
        raise InputError(f"a shape is a tuple of dims such as (2, 3), got {type(shape).__name__}")
    if len(shape) == 0:
        raise InputError("an empty shape: give at least one dim, e.g. (2, 3)")
    if len(shape) > MAX_DIMS:
        raise InputError(f"the shape has {len(shape)} dims; the limit is {MAX_DIMS}")
    dims = []
    for dim in shape:
        if not is_whole_number(dim):
            raise InputError(f"dims must be whole numbers, got {shown(str(dim))} ({type(dim).__name__})")
        dims.append(int(dim))
    for dim in dims:
        if dim < 1:
            raise InputError(f"dims must be at least 1, got {_format_int(dim)}")
        if dim > MAX_ELEMENTS:
            # Checked dim by dim first so that the shape in the next message stays printable.
            raise InputError(
                f"a dim of {_format_int(dim)} is more than the limit of {MAX_ELEMENTS:,} elements"
            )
    # Python ints never overflow; with at most MAX_DIMS dims of at most MAX_ELEMENTS each,
    # the product is small enough to print.
    size = math.prod(dims)
    if size > MAX_ELEMENTS:
        raise InputError(f"shape {tuple(dims)} has {size:,} elements; the limit is {MAX_ELEMENTS:,}")
    return tuple(dims)


# ---------------------------------------------------------------------------------------------
# seeded_tensor
# ---------------------------------------------------------------------------------------------

_MAX_SEED = 2**63 - 1
_DISTRIBUTIONS = ("normal", "uniform")


def seeded_tensor(
    shape, seed: int, dist: str = "normal", offset: float = 0.0, scale: float = 1.0
) -> np.ndarray:
    """A reproducible random tensor, as a float64 numpy array.

    Element for element equal to what a person gets in their own notebook with

        torch.manual_seed(seed)
        x = torch.randn(*shape) * scale + offset     # dist="normal"
        x = torch.rand(*shape) * scale + offset      # dist="uniform", on [0, 1)

    on the CPU with torch's default dtype float32, with one difference in precision: the
    float32 draw is converted to float64 first, and `* scale + offset` is done in float64.
    (With scale=1 and offset=0 the values are exactly torch's float32 draw.)

    The draw uses its own torch.Generator seeded with `seed`, never torch's global generator,
    so it neither reads nor changes the random state of anyone else in the process.

    Raises InputError for a bad shape (see check_shape), a seed that is not an int in
    [0, 2**63 - 1], an unknown dist, or an offset or scale that is not a finite number.
    """
    shape = check_shape(shape)  # first, before anything is allocated
    if not is_whole_number(seed):
        raise InputError(f"the seed must be a whole number, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise InputError(f"the seed must be between 0 and {_MAX_SEED:,}, got {_format_int(seed)}")
    if dist not in _DISTRIBUTIONS:
        raise InputError(f"dist must be 'normal' or 'uniform', got {shown(str(dist))}")
    offset = number(offset, "offset", finite=True)
    scale = number(scale, "scale", finite=True)

    # A fresh CPU generator gives the same stream as the global one after torch.manual_seed.
    generator = torch.Generator().manual_seed(seed)
    # dtype is given explicitly so that a changed default dtype (torch.set_default_dtype)
    # elsewhere in the process cannot change the draw.
    draw = torch.randn if dist == "normal" else torch.rand
    x = draw(shape, generator=generator, dtype=torch.float32)  # shape, float32
    out = x.numpy().astype(np.float64)  # float32 -> float64, exact
    out *= scale  # in place, the same arithmetic as out * scale + offset: no more arrays of the tensor's size
    out += offset
    return out
