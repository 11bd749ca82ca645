"""The floating dtypes lnorm computes in, one row each: the one table every module asks.

    DTYPE_TABLE["bfloat16"]   -> Dtype: torch and numpy dtypes, mantissa bits, min exponent, opmath
    DTYPES                    -> {name: torch.dtype}, the public view (lc.DTYPES)
    dtype_info(dtype)         -> the row of "float32", "torch.float32", torch.float32, np.float32 or "f4"
    torch_dtype(dtype)        -> the torch.dtype of a name (a torch.dtype is returned as it is)

The numbers are those of IEEE 754 binary64, binary32 and binary16 and of bfloat16, written out
so that a reader sees them; tests/core/test_dtypes.py checks them against torch.finfo and numpy.finfo.
"""

from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError


@dataclass(frozen=True)
class Dtype:
    """One floating dtype torch computes in.

    name: as torch and the pages name it, "bfloat16".
    torch: the torch.dtype.
    numpy: the numpy scalar type, or None where numpy has none (bfloat16).
    mantissa_bits: the stored fraction bits (52, 23, 10, 7): around 2**e, values are
        2**(e - mantissa_bits) apart.
    min_exponent: e of the smallest normal number 2**e; below it (the subnormals) the
        spacing stays 2**(min_exponent - mantissa_bits).
    opmath: the dtype torch's kernels compute a normalization of this dtype in
        (at::opmath_type): float32 for float16 and bfloat16, the dtype itself otherwise.
    """

    name: str
    torch: torch.dtype
    numpy: type | None
    mantissa_bits: int
    min_exponent: int
    opmath: str

    @property
    def machine_eps(self) -> float:
        """The distance from 1 to the next number, 2**-mantissa_bits (torch.finfo(dtype).eps)."""
        return 2.0**-self.mantissa_bits

    @property
    def itemsize(self) -> int:
        """Bytes per element: 8, 4, 2, 2."""
        return self.torch.itemsize


DTYPE_TABLE = {
    d.name: d
    for d in (
        Dtype("float64", torch.float64, np.float64, mantissa_bits=52, min_exponent=-1022, opmath="float64"),
        Dtype("float32", torch.float32, np.float32, mantissa_bits=23, min_exponent=-126, opmath="float32"),
        Dtype("float16", torch.float16, np.float16, mantissa_bits=10, min_exponent=-14, opmath="float32"),
        # bfloat16 is float32 with the low 16 bits dropped: float32's exponent range, 7 fraction bits.
        Dtype("bfloat16", torch.bfloat16, None, mantissa_bits=7, min_exponent=-126, opmath="float32"),
    )
}
DTYPES = {name: d.torch for name, d in DTYPE_TABLE.items()}  # name -> torch.dtype, widest first


def dtype_info(dtype) -> Dtype:
    """The row of DTYPE_TABLE for a dtype given as a name ("float32" or "torch.float32"), a
    torch.dtype, or anything numpy reads as a dtype (np.float32, "f4"); else InputError."""
    name = str(dtype).replace("torch.", "")
    if name not in DTYPE_TABLE and dtype is not None:  # np.dtype(None) would be float64
        try:
            name = np.dtype(dtype).name
        except (TypeError, ValueError):
            pass
    if name not in DTYPE_TABLE:
        raise InputError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_TABLE)}")
    return DTYPE_TABLE[name]


def torch_dtype(dtype) -> torch.dtype:
    """A dtype name ("float32", "torch.float32") as a torch.dtype; a torch.dtype is returned as
    it is, so that torch itself says what it cannot compute in it."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return dtype_info(dtype).torch
