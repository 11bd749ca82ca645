"""The mistake finder on what people paste (one row, one sample, the whole output), and one group's
arithmetic step by step.

Every "wrong" row is built here as the student builds it: statistics.stdev under the square root,
torch.std over the whole sample, and printed to 4 decimals; the right ones come from torch. The
step-by-step numbers are checked against Python's statistics module and against torch, never
against lnorm_core's own forward.
"""

import math
import statistics

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from torch_modules import module_for, params_of

EPS = 1e-5
LAYER4 = lc.NormSpec("layer", normalized_shape=(4,))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _randn(*shape, seed=0):
    """torch.manual_seed(seed); torch.randn(*shape): float32, as the student's tensor."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _printed(values, decimals=4):
    """Numbers as torch prints them (4 decimals) and as the page parses them back."""
    return np.array([float(f"{v:.{decimals}f}") for v in np.ravel(values)]).reshape(np.shape(values))


def _stdev_under_sqrt(row):
    """The forum's LayerNorm by hand: statistics.stdev (n - 1) under the square root."""
    m, s = statistics.fmean(row), statistics.stdev(row)
    return [(v - m) / math.sqrt(s + EPS) for v in row]


def _whole_sample_torch_std(x, i):
    """(x - mean) / std over the whole sample x[i], with torch.std (unbiased, no eps): sample i of the output."""
    sample = x[i].double()
    return ((sample - sample.mean()) / sample.std()).numpy()


# ---- which_mistake on one row, one sample, the whole output --------------------------------------


@pytest.mark.parametrize("i,j", [(0, 0), (0, 1), (1, 2)])
def test_a_row_with_stdev_under_the_root_is_found_and_placed(i, j):
    x = _randn(2, 3, 4)
    row = _printed(_stdev_under_sqrt(x[i, j].tolist()))
    d = lc.which_mistake(LAYER4, x, row)
    assert d.verdict == "match"
    assert d.mistakes == (("unbiased", "std_under_sqrt"),)
    assert d.where == (i, j) and d.positions == ((i, j),)
    assert d.where_label == f"y[{i}, {j}, :]"
    assert d.print_tolerance == pytest.approx(5e-5)
    assert d.input_rounding == 0  # a float32 tensor is exact: no rounding of the input to allow for


def test_a_row_from_the_rounded_print_of_the_input_is_found():
    # the person pastes torch's 4-decimal print of x; their code computed the row from x itself
    x = _randn(2, 3, 4, seed=3)
    x_print = _printed(x.numpy())
    row = _printed(_stdev_under_sqrt(x[1, 0].tolist()))
    d = lc.which_mistake(LAYER4, x_print, row)
    assert d.verdict == "match" and d.mistakes == (("unbiased", "std_under_sqrt"),)
    assert d.where == (1, 0)
    assert d.input_rounding == pytest.approx(5e-5)
    assert d.tolerance < 3e-4  # the input's rounding widens the tolerance, but not beyond telling mistakes apart


def test_rounding_the_input_can_move_the_row_by_more_than_its_last_decimal():
    # a row with a small spread: 4 decimals of the input leave ~1% of each deviation to chance
    x = _randn(2, 3, 4, seed=5) * 0.01 + 1.0
    x_print = _printed(x.numpy())
    truth = F.layer_norm(x.double(), (4,), eps=EPS)[0, 2].numpy()
    from_print = F.layer_norm(torch.tensor(x_print), (4,), eps=EPS)[0, 2].numpy()
    assert np.abs(truth - from_print).max() > 1e-3  # far more than half a unit of the 4th decimal
    row = _printed(truth)
    exact = lc.which_mistake(LAYER4, x_print, row, input_rounding=0)
    assert (0, 2) not in exact.positions  # without the input's rounding the right row is not recognised
    d = lc.which_mistake(LAYER4, x_print, row)
    assert d.verdict == "correct" and (0, 2) in d.positions
    unrelated = lc.which_mistake(LAYER4, x_print, [1.0, -1.0, 1.0, -1.0])
    assert unrelated.verdict == "none"  # the wider tolerance still tells numbers apart


def test_a_correct_row_and_a_correct_whole_output():
    x = _randn(2, 3, 4)
    y = torch.nn.LayerNorm(4)(x).detach().numpy()
    d = lc.which_mistake(LAYER4, x, _printed(y[1, 1]))
    assert d.verdict == "correct" and d.where == (1, 1) and d.mistakes == ()
    whole = lc.which_mistake(LAYER4, x, _printed(y))
    assert whole.verdict == "correct" and whole.positions == ((),) and whole.where_label == "y"


def test_unrelated_numbers_are_no_mistake():
    x = _randn(2, 3, 4)
    d = lc.which_mistake(LAYER4, x, [1.0, 2.0, 3.0, 4.0])
    assert d.verdict == "none" and d.mistakes == () and d.positions == () and d.where is None
    assert d.nearest is not None and d.nearest_distance > 1


def test_identical_rows_of_x_give_every_position():
    x = _randn(2, 3, 4).clone()
    x[1, 2] = x[0, 1]  # the same four numbers twice
    row = _printed(_stdev_under_sqrt(x[0, 1].tolist()))
    d = lc.which_mistake(LAYER4, x, row)
    assert d.verdict == "match" and d.positions == ((0, 1), (1, 2)) and d.where == (0, 1)
    assert [d.label(p) for p in d.positions] == ["y[0, 1, :]", "y[1, 2, :]"]


def test_torch_std_over_the_whole_sample_is_found_from_one_row():
    x = _randn(2, 3, 4, seed=1)
    row = _printed(_whole_sample_torch_std(x, 1)[2])
    d = lc.which_mistake(LAYER4, x, row)
    assert d.verdict == "match" and d.where == (1, 2)
    # torch.std divides by n - 1 and adds no eps; at 4 decimals eps (1e-5 beside a variance near 1) cannot show
    assert all("whole_sample" in combo and "unbiased" in combo for combo in d.mistakes)
    assert d.mistakes[0] == ("unbiased", "whole_sample")


def test_one_sample_block_is_placed():
    x = _randn(2, 3, 4, seed=2)
    sample = _printed(_whole_sample_torch_std(x, 0))  # shape (3, 4): y[0]
    d = lc.which_mistake(LAYER4, x, sample)
    assert d.verdict == "match" and d.where == (0,) and d.where_label == "y[0, :, :]"
    assert d.block_shape == (3, 4)


def test_a_row_printed_with_its_batch_bracket_and_another_layer():
    x = _randn(2, 4, 3, seed=4)
    gn = torch.nn.GroupNorm(2, 4)(x).detach().numpy()
    d = lc.which_mistake(lc.NormSpec("group", num_groups=2), x, _printed(gn[1, 3])[None, :])  # [[...]]
    assert d.verdict == "correct" and d.where == (1, 3) and d.block_shape == (3,)


def test_a_block_that_is_no_part_of_the_output_is_refused_with_the_choices():
    with pytest.raises(lc.InputError, match=r"\(3,\).*\(2, 3, 4\).*\(4,\) for y\[i, j\]"):
        lc.which_mistake(LAYER4, _randn(2, 3, 4), [0.1, 0.2, 0.3])


def test_the_worked_example_whole_output_keeps_its_answer():
    x = [-2.1918, 1.2574, -0.3838, 1.3870]
    d = lc.which_mistake(LAYER4, x, [-1.7049, 0.9572, -0.3095, 1.0572])
    assert d.verdict == "match" and d.mistakes == (("unbiased", "std_under_sqrt"),) and d.positions == ((),)


def test_printed_resolution_reads_decimals_and_significant_digits():
    half, how = lc.printed_resolution([-1.7049, 0.9572, 1.5])
    assert how == ("decimals", 4) and np.allclose(half, 5e-5)
    half, how = lc.printed_resolution([1.2345e-05, 2.5000e00])
    assert how == ("significant", 5) and np.allclose(half, [5e-10, 5e-5])
    _, how = lc.printed_resolution(_randn(8).double().numpy())
    assert how == ("float32", None)


@st.composite
def rounded_case(draw, kinds=("layer", "rms", "group"), min_d=2):
    """A LayerNorm/RMSNorm/GroupNorm case, an input and a row index: the input will be printed to 4 decimals."""
    kind = draw(st.sampled_from(kinds))
    n, c, d = draw(st.integers(1, 3)), draw(st.sampled_from([2, 4])), draw(st.integers(min_d, 6))
    spec = (lc.NormSpec(kind, normalized_shape=(d,)) if kind != "group"
            else lc.NormSpec("group", num_groups=draw(st.sampled_from([1, 2]))))
    scale = draw(st.sampled_from([0.05, 1.0, 30.0]))
    x = _randn(n, c, d, seed=draw(st.integers(0, 10_000))).double() * scale + draw(st.sampled_from([0.0, 3.0]))
    return spec, x, (draw(st.integers(0, n - 1)), draw(st.integers(0, c - 1)))


@SETTINGS
@given(rounded_case())
def test_a_right_row_from_the_unrounded_input_is_correct_against_the_print(case):
    spec, x, (i, j) = case
    module = module_for(spec, tuple(x.shape))  # torch.nn with seeded random weight and bias
    y = module(x).detach().numpy()  # on the true input
    d = lc.which_mistake(spec, _printed(x.numpy()), _printed(y[i, j]), *params_of(module))
    assert d.verdict == "correct" and (i, j) in d.positions


@SETTINGS
@given(rounded_case(kinds=("layer",), min_d=3), st.sampled_from([(1, "sqrt_std"), (1, "outside"), (0, "sqrt_std"),
                                                                 (1, "none")]))
def test_a_wrong_row_from_the_unrounded_input_is_found_against_the_print(case, how):
    # rows of 3 or more: a row of two normalizes to about (-1, 1), or (-0.71, 0.71) with n - 1, whatever its
    # numbers, so a smaller mistake elsewhere gives the same digits (test_rows_of_two_cannot_be_told_apart)
    spec, x, (i, j) = case
    ddof, eps_place = how
    # the student's own LayerNorm in torch ops, from the true (unrounded) input
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, correction=ddof)
    den = {"sqrt_std": torch.sqrt(var.sqrt() + EPS), "outside": var.sqrt() + EPS, "none": var.sqrt()}[eps_place]
    y = ((x - mean) / den).numpy()
    d = lc.which_mistake(spec, _printed(x.numpy()), _printed(y[i, j]))
    assert d.verdict != "none" and (i, j) in d.positions


def test_rows_of_two_are_told_apart_by_the_exact_digits_of_the_input():
    x = torch.tensor([[[0.0770, -0.0147], [-0.0542, -0.0699]]], dtype=torch.float64)
    y = ((x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)).numpy()  # torch.std: n - 1, no eps
    assert np.allclose(_printed(y[0, 1]), [0.7071, -0.7071])
    d = lc.which_mistake(lc.NormSpec("layer", normalized_shape=(2,)), x, _printed(y[0, 1]))
    # row 0 with n - 1 alone gives (0.7071, -0.7071) too, but only once the input's rounding is allowed for: the
    # digits as they stand, which the row was computed from, fit n - 1 and no eps (at every row of two)
    assert d.verdict == "match" and d.mistakes[0] == ("unbiased", "no_eps") and (0, 1) in d.positions and d.exact
    assert ("unbiased",) not in [c for c, _ in d.fits]  # it fits only with the rounding, which exact fits beat


def test_when_two_combinations_fit_the_closer_is_said_and_by_how_much():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 6, generator=gen, dtype=torch.float64) * 0.05  # small variance: eps shows
    y = ((x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True))[1]  # n - 1 and no eps, from x unrounded
    x_print = np.round(x.numpy(), 4)
    d = lc.which_mistake(lc.NormSpec("layer", normalized_shape=(6,)), x_print, _printed(y.numpy()))
    names = [c for c, _ in d.fits]
    assert ("unbiased", "no_eps") in names
    if d.closer is not None:
        best, d_best, other, d_other = d.closer
        assert d_best <= d_other and best == d.fits[0][0]
    mine = np.abs(_printed(y.numpy()) - lc.manual_forward(lc.NormSpec("layer", normalized_shape=(6,)), x_print,
                                                          mistakes=("unbiased", "no_eps"))[1]).max()
    assert dict(d.fits)[("unbiased", "no_eps")] == pytest.approx(mine, rel=1e-9, abs=1e-15)


# ---- the arithmetic of one group ---------------------------------------------------------------


