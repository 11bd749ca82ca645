"""The dtype table of lnorm_core.dtypes against torch.finfo and numpy.finfo, which are the truth."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lnorm_core as lc
from lnorm_core.dtypes import DTYPE_TABLE, dtype_info, torch_dtype


@pytest.mark.parametrize("name", list(DTYPE_TABLE))
def test_each_row_has_the_numbers_torch_reports(name):
    d = DTYPE_TABLE[name]
    info = torch.finfo(d.torch)
    assert str(d.torch) == f"torch.{name}"
    assert d.machine_eps == info.eps
    assert 2.0**d.min_exponent == info.smallest_normal
    assert info.bits == 8 * d.itemsize
    if d.numpy is not None:
        assert np.dtype(d.numpy).name == name
        assert np.finfo(d.numpy).nmant == d.mantissa_bits
        assert np.finfo(d.numpy).minexp == d.min_exponent


@pytest.mark.parametrize("name", list(DTYPE_TABLE))
def test_rms_norm_without_eps_adds_the_machine_eps_of_opmath(name):
    # RMSNorm with eps=None adds the machine epsilon of the type torch computes in. With every
    # x = 2**-12, mean(x**2) = 2**-24 is comparable to float32's eps 2**-23, so the output tells
    # which eps torch added: 1/sqrt(3) for float32's, about 2**-7 had it been float16's 2**-10.
    d = DTYPE_TABLE[name]
    y = F.rms_norm(torch.full((4,), 2.0**-12, dtype=d.torch), (4,))
    expected = 2.0**-12 / math.sqrt(2.0**-24 + DTYPE_TABLE[d.opmath].machine_eps)
    assert float(y[0]) == pytest.approx(expected, rel=2 * d.machine_eps)


def test_the_public_views_follow_the_table():
    assert lc.DTYPES == {name: d.torch for name, d in DTYPE_TABLE.items()}
    assert list(lc.DTYPES) == ["float64", "float32", "float16", "bfloat16"]
    assert set(lc.TOLERANCES) == set(DTYPE_TABLE)


@pytest.mark.parametrize("given", ["float32", "torch.float32", torch.float32, np.float32, np.dtype("float32"), "f4"])
def test_a_dtype_is_found_however_it_is_named(given):
    assert dtype_info(given).name == "float32"


@pytest.mark.parametrize("given", ["float8", "int64", torch.int64, np.int32, None, "", object()])
def test_an_unknown_dtype_is_refused_with_the_choices(given):
    with pytest.raises(lc.InputError, match="unknown dtype .*; choose one of float64, float32, float16, bfloat16"):
        dtype_info(given)


def test_torch_dtype_passes_a_torch_dtype_through():
    assert torch_dtype("bfloat16") is torch.bfloat16
    assert torch_dtype(torch.int64) is torch.int64  # torch itself says what it cannot compute in it
