"""Tests of tensors from a person: lnorm_core.parse (parse_tensor, parse_shape) and
lnorm_core.tensors (seeded_tensor, check_shape).

Expected values never come from the code under test: they come from torch (its prints and its
random draws), from numpy, or from a construction written here (nested lists rendered by the
test itself, Python's own float formatting).
"""

import contextlib
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lnorm_core.parse_lists as parse_lists
from lnorm_core.errors import MAX_DIMS, MAX_ELEMENTS, MAX_PASTE_CHARS, InputError
from lnorm_core.parse import parse_shape, parse_tensor
from lnorm_core.tensors import check_shape, seeded_tensor
from huge_pastes import HUGE_BAD_PASTES

@contextlib.contextmanager
def torch_printoptions(**options):
    """torch.set_printoptions(**options) for the block, then torch's defaults again."""
    torch.set_printoptions(**options)
    try:
        yield
    finally:
        torch.set_printoptions(profile="default")


def refuse(text, *keywords):
    """parse_tensor(text) raises InputError with every keyword in the message."""
    with pytest.raises(InputError) as info:
        parse_tensor(text)
    message = str(info.value)
    for keyword in keywords:
        assert keyword in message, f"{keyword!r} not in {message!r}"
    return message


# Hypothesis strategies -----------------------------------------------------------------------

# Hypothesis's deadline (200 ms per example by default) and its too_slow health check are
# wall-clock asserts, which the project's tests never make: on 2 shared cores one parse of a
# drawn array once took 257 ms and failed. Every property test here runs untimed.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
any_float64 = st.floats(allow_nan=True, allow_infinity=True, width=64)
float64_arrays = hnp.arrays(np.float64, shapes, elements=any_float64)
moderate_float64_arrays = hnp.arrays(
    np.float64, shapes, elements=st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([np.nan, np.inf, -np.inf])
)


def render(nested, draw_sep):
    """Nested Python lists as text, written by the test: random spaces, line breaks and
    trailing commas, chosen by draw_sep(kind)."""
    if not isinstance(nested, list):
        return repr(nested)
    items = [render(item, draw_sep) for item in nested]
    inner = draw_sep("comma").join(items) + draw_sep("end")
    return "[" + draw_sep("open") + inner + "]"


separators = {
    "open": st.sampled_from(["", " ", "\n  ", "\t"]),
    "comma": st.sampled_from([",", ", ", " , ", ",\n ", ",\n\n        "]),
    "end": st.sampled_from(["", " ", ",", ", ", "\n", ",\n"]),
}


# parse_tensor: what people paste --------------------------------------------------------------


def test_the_example_from_the_issue():
    text = """tensor([[-1.5194,  0.8530, -0.2758,  0.9422],
        [ 1.0e+00, nan, inf, -inf]], grad_fn=<NativeLayerNormBackward0>)"""
    expected = np.array([[-1.5194, 0.8530, -0.2758, 0.9422], [1.0, np.nan, np.inf, -np.inf]])
    got = parse_tensor(text)
    assert got.dtype == np.float64 and got.shape == (2, 4)
    np.testing.assert_array_equal(got, expected)


@UNTIMED
@given(float64_arrays)
def test_python_lists_round_trip_exactly(arr):
    # str() of a Python list writes each float with repr(), which reads back exactly.
    got = parse_tensor(str(arr.tolist()))
    assert got.dtype == np.float64 and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)  # nan equals nan here


@UNTIMED
@given(float64_arrays)
def test_numpy_repr_round_trips_exactly(arr):
    # floatmode="unique" prints the shortest text that reads back to the same float64.
    with np.printoptions(floatmode="unique", threshold=sys.maxsize):
        text = repr(arr)
    np.testing.assert_array_equal(parse_tensor(text), arr)


@UNTIMED
@given(hnp.arrays(np.float32, shapes, elements=st.floats(width=32, allow_nan=True)))
def test_numpy_float32_repr_with_dtype_suffix(arr):
    with np.printoptions(floatmode="unique", threshold=sys.maxsize):
        text = repr(arr)
    assert "dtype=float32" in text
    # The shortest float32 text, read as float64 and rounded back to float32, is the same float32.
    np.testing.assert_array_equal(parse_tensor(text).astype(np.float32), arr)


# Values up to 1e300: torch may round 1.75e308 up to "1.8e+308", which is beyond float64 and
# reads as inf (as Python's float() reads it).
printable_float64_arrays = hnp.arrays(
    np.float64, shapes, elements=st.floats(-1e300, 1e300) | st.sampled_from([np.nan, np.inf, -np.inf])
)


@UNTIMED
@given(printable_float64_arrays, st.integers(1, 8))
def test_torch_print_reads_back_to_the_printed_precision(arr, precision):
    x = torch.tensor(arr)
    with torch_printoptions(precision=precision, profile="full"):
        text = str(x)
    got = parse_tensor(text)
    assert got.shape == arr.shape
    # torch prints each value either with `precision` decimals (error at most half a unit in
    # the last place) or in scientific notation with `precision` decimals in the mantissa
    # (error at most that, relative to the value).
    half_ulp = 0.5 * 10.0**-precision * (1 + 1e-9)
    np.testing.assert_allclose(got, x.numpy(), rtol=half_ulp, atol=half_ulp)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(arr))


@UNTIMED
@given(moderate_float64_arrays, st.integers(0, 8))
def test_torch_fixed_point_print_equals_pythons_rounding(arr, precision):
    with torch_printoptions(precision=precision, profile="full", sci_mode=False):
        text = str(torch.tensor(arr))
    # An independent construction: Python's own formatting to `precision` decimals.
    expected = np.array([float(f"{v:.{precision}f}") for v in arr.ravel()]).reshape(arr.shape)
    np.testing.assert_array_equal(parse_tensor(text), expected)


def test_a_layer_norm_print_with_grad_fn():
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    y = torch.nn.LayerNorm(4)(x)
    text = str(y)
    assert "grad_fn=<NativeLayerNormBackward0>" in text and "\n" in text
    got = parse_tensor(text)
    np.testing.assert_allclose(got, y.detach().numpy(), rtol=0, atol=0.5e-4 * (1 + 1e-6))
    # The values are those of the tensor rounded to 4 decimals, as printed.
    np.testing.assert_allclose(got, np.round(y.detach().double().numpy(), 4), rtol=0, atol=1e-12)


def test_a_3d_print_over_several_lines_with_blank_lines():
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    text = str(x)
    assert "\n\n" in text and "dtype=torch.float64" in text
    np.testing.assert_allclose(parse_tensor(text), x.numpy(), rtol=0, atol=0.5e-4 * (1 + 1e-6))


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.tensor([1.5, -2.25], requires_grad=True),
        lambda: torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
        lambda: torch.tensor([[1.5, 2.0]], dtype=torch.float64),
        lambda: torch.tensor([1.5, 2.0], dtype=torch.float16),
        lambda: torch.tensor([[0.5], [0.25]]) * torch.tensor([2.0], requires_grad=True),
        lambda: torch.arange(6).reshape(2, 3),
        lambda: torch.tensor(2.5),
        lambda: torch.tensor(-3.0, requires_grad=True) * 2,
    ],
    ids=["requires_grad", "Parameter", "float64", "float16", "MulBackward", "int64", "scalar", "scalar-grad_fn"],
)
def test_real_torch_prints(make):
    x = make()
    got = parse_tensor(str(x))
    # These values are short in decimal, so the print is exact.
    np.testing.assert_array_equal(got, x.detach().double().numpy())
    assert got.shape == tuple(x.shape)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tensor([1., 2.], device='cuda:0')", [1.0, 2.0]),
        ("tensor([1., 2.], device='cuda:0', grad_fn=<AddBackward0>)", [1.0, 2.0]),
        ("tensor([[1, 2]], device='cuda:0', dtype=torch.int32)", [[1.0, 2.0]]),
        ("tensor([3.], size=(1,), dtype=torch.float64, requires_grad=True)", [3.0]),
        ('tensor([1.], device="mps:0")', [1.0]),
        ("torch.tensor([1, 2])", [1.0, 2.0]),
        ("array([1, 2], dtype=float32)", [1.0, 2.0]),
        ("np.array([[1.5, 2.]])", [[1.5, 2.0]]),
        ("array([1.5e+000,      nan,     -inf, 1.0e+300])", [1.5, np.nan, -np.inf, 1e300]),
        ("array(2.5)", 2.5),
        ("[[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]]),
        ("[[1, 2,], [3, 4,],]", [[1.0, 2.0], [3.0, 4.0]]),
        ("  \n[ 1 ,\n\n 2 ]\n ", [1.0, 2.0]),
        ("[1,\u00a02]", [1.0, 2.0]),  # a no-break space, as pasted from a web page
        ("2.5", 2.5),
        ("-7", -7.0),
        ("tensor(nan)", np.nan),
    ],
)
def test_hand_written_prints(text, expected):
    np.testing.assert_array_equal(parse_tensor(text), np.array(expected, dtype=np.float64))


@pytest.mark.parametrize(
    "number, value",
    [
        ("1e-05", 1e-05),
        ("1.0e+00", 1.0),
        ("-3.2E4", -32000.0),
        ("1.e-05", 1e-05),
        ("1.", 1.0),
        (".5", 0.5),
        ("-0.", -0.0),
        ("+3", 3.0),
        ("12345678901234567890", 12345678901234567890.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("Infinity", math.inf),
        ("nan", math.nan),
        ("NaN", math.nan),
    ],
)
def test_number_formats(number, value):
    got = parse_tensor(f"[{number}, {number}]")
    np.testing.assert_array_equal(got, [value, value])
    assert np.signbit(got[0]) == np.signbit(value)


def test_a_single_number_is_a_0d_array():
    got = parse_tensor("2.5")
    assert got.shape == () and got.dtype == np.float64 and float(got) == 2.5
    assert parse_tensor(str(torch.tensor(2.5))).shape == torch.tensor(2.5).shape


@UNTIMED
@given(st.data())
def test_any_layout_of_nested_lists(data):
    arr = data.draw(hnp.arrays(np.float64, shapes, elements=any_float64))
    text = render(arr.tolist(), lambda kind: data.draw(separators[kind]))
    np.testing.assert_array_equal(parse_tensor(text), arr)


def test_the_largest_paste_that_fits():
    # A million single-digit numbers do not fit in MAX_PASTE_CHARS (each needs a comma too),
    # so 999 rows of 1000 is about the largest paste there is.
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 10, size=(999, 1000))
    text = "[" + ",".join("[" + ",".join(map(str, row)) + "]" for row in arr.tolist()) + "]"
    assert len(text) <= MAX_PASTE_CHARS
    np.testing.assert_array_equal(parse_tensor(text), arr.astype(np.float64))


def test_text_of_exactly_the_limit_is_read():
    text = "[1, 2]".ljust(MAX_PASTE_CHARS)
    np.testing.assert_array_equal(parse_tensor(text), [1.0, 2.0])


def test_six_dims_are_accepted_and_seven_refused():
    ones6 = np.ones((2,) * MAX_DIMS)
    assert parse_tensor(str(ones6.tolist())).shape == (2,) * MAX_DIMS
    refuse(str(np.ones((1,) * (MAX_DIMS + 1)).tolist()), f"{MAX_DIMS + 1} dims", f"the limit is {MAX_DIMS}")


def test_element_limit(monkeypatch):
    # MAX_PASTE_CHARS keeps a real paste below MAX_ELEMENTS (each number needs at least two
    # characters), so the element check is tested with a smaller limit.
    assert 2 * MAX_ELEMENTS > MAX_PASTE_CHARS
    monkeypatch.setattr(parse_lists, "MAX_ELEMENTS", 10)  # read by the list reader
    assert parse_tensor(str(list(range(10)))).shape == (10,)
    refuse(str(list(range(11))), "more than 10 elements", "the limit is 10")
    refuse(str(np.ones((4, 3)).tolist()), "more than 10 elements")  # found on the fast path
    refuse(str(np.ones((3, 2, 2)).tolist()), "more than 10 elements")


# parse_tensor: what is refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, keywords",
    [
        ("[[1, 2, 3, 4], [1, 2, 3]]", ["row 2 has 3 values, row 1 has 4"]),
        ("[[1, 2], [3, 4], [5]]", ["row 3 has 1 value, row 1 has 2"]),
        ("[[1, 2], []]", ["row 2 has 0 values, row 1 has 2"]),
        ("[[[1, 2, 3, 4], [1, 2, 3, 4]], [[1, 2, 3], [1, 2, 3, 4]]]", ["at [1][0]: 3 values, expected 4 as at [0][0]"]),
        ("[[[1], [2]], [[3]]]", ["at [1]: 1 list, expected 2 as at [0]"]),
        ("[[[[1, 2]], [[3, 4]]], [[[5, 6]], [[7, 8, 9]]]]", ["at [1][1][0]: 3 values, expected 2 as at [0][0][0]"]),
        ("[1, [2, 3]]", ["at [1]: a list where a number was expected"]),
        ("[[1], 2]", ["at [1]: a number where a list was expected"]),
        ("[[1, 2], [[3, 4]]]", ["at [1][0]: a list where a number was expected"]),
        ("[[[1]], [2]]", ["at [1]: numbers where lists were expected"]),
        ("import os", ["unexpected text 'import' at line 1, column 1"]),
        ("__import__('os').system('x')", ["unexpected text '__import__' at line 1, column 1"]),
        ("[1, 2]; import os", ["unexpected text ';' at line 1, column 7"]),
        ("[1, 2]\nimport os", ["unexpected text 'import' at line 2, column 1"]),
        ("tensor([1.]); exec('x')", ["unexpected text ';'"]),
        ("lambda: 0", ["unexpected text 'lambda:'"]),
        ("{'a': 1}", ["unexpected text"]),
        ("[1 2]", ["unexpected text '2' at line 1, column 4"]),
        ("[1,, 2]", ["unexpected text ','"]),
        ("[[1] [2]]", ["unexpected text '['", "expected ','"]),
        ("[0x10]", ["unexpected text 'x10'"]),
        ("[1, 2], [3, 4]", ["unexpected text ','"]),
        ("1, 2, 3", ["unexpected text ','", "inside a list"]),
        ("[nano]", ["unexpected text 'nano'"]),
        ("[True, False]", ["'True'", ".float()"]),
        ("tensor([ True, False])", ["'True'"]),
        ("[1+2j]", ["unexpected text"]),
        ("[１, ２]", ["unexpected text '１'"]),  # full-width digits
        ("[1, 2]\u200b", ["unexpected text"]),  # a zero-width space
        ("[1, 2] 🙂", ["unexpected text '🙂'"]),
        ("[\x00]", ["unexpected text"]),
        ("[]", ["the tensor is empty"]),
        ("[[]]", ["the tensor is empty"]),
        ("tensor([])", ["the tensor is empty"]),
        ("tensor([], size=(0, 4))", ["the tensor is empty"]),
        ("array([], dtype=float64)", ["the tensor is empty"]),
        ("", ["empty"]),
        ("  \n ", ["empty"]),
        ("[[1, 2], [3, 4]", ["never closed"]),
        ("[1, 2]]", ["unexpected text ']'"]),
        ("tensor([1., 2.]", ["ends too early", "')'"]),
        ("tensor([1.], grad_fn=)", ["unexpected text"]),
        ("tensor([1.], grad_fn=<AddBackward0>", ["ends too early"]),
        ("tensor([1., 2., 3., ..., 4., 5., 6.])", ["summarized", 'torch.set_printoptions(profile="full")']),
        ("[1, 2, \u2026]", ["summarized"]),
    ],
)
def test_bad_pastes(text, keywords):
    refuse(text, *keywords)


def test_a_summarized_torch_print_says_how_to_get_the_full_one():
    text = str(torch.arange(5000.0).reshape(50, 100))  # torch summarizes over 1000 elements
    assert "..." in text
    refuse(text, "summarized", 'torch.set_printoptions(profile="full")')
    with np.printoptions(threshold=1000):
        refuse(repr(np.arange(5000.0)), "summarized", "np.set_printoptions(threshold=sys.maxsize)")


def test_a_real_bool_print_is_refused():
    refuse(str(torch.tensor([[True, False]])), "'True'")


# The worst pastes of about MAX_PASTE_CHARS characters (tests/huge_pastes.py): each refusal
# names what is wrong and where. How long each takes is printed by bench/parse_speed.py.
@pytest.mark.parametrize(
    "make, keywords", [pytest.param(make, keywords, id=case_id) for case_id, make, *keywords in HUGE_BAD_PASTES]
)
def test_huge_bad_pastes_are_refused_with_the_place(make, keywords):
    refuse(make(), *keywords)


@UNTIMED
@given(st.data())
def test_a_ragged_row_is_named(data):
    # A valid nested list, then one innermost list other than the first gets one value
    # more or one fewer; the message names it. Built here, independently of the parser.
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    rows = [[float(10 * i + j) for j in range(shape[-1])] for i in range(math.prod(shape[:-1]))]
    assume(len(rows) > 1)
    bad = data.draw(st.integers(1, len(rows) - 1))
    k = shape[-1]
    n = data.draw(st.sampled_from([k - 1, k + 1]) if k > 1 else st.just(k + 1))
    rows[bad] = (rows[bad] + [99.0])[:n]
    nested = np.empty(shape[:-1], dtype=object)
    for i, row in enumerate(rows):
        nested[np.unravel_index(i, shape[:-1])] = row
    text = str(nested.tolist())
    index = np.unravel_index(bad, shape[:-1])
    values = f"{n} value" if n == 1 else f"{n} values"
    if len(shape) == 2:
        expected = f"row {bad + 1} has {values}, row 1 has {k}"
    else:
        path = "".join(f"[{i}]" for i in index)
        expected = f"at {path}: {values}, expected {k} as at {'[0]' * (len(shape) - 1)}"
    refuse(text, expected)


junk_alphabet = st.sampled_from(list("[]0123456789.,-+eE naif()<>=tensorydpwx'\"\n\t:_") + ["...", "nan", "inf"])


@settings(UNTIMED, max_examples=300)
@given(st.lists(junk_alphabet, max_size=60).map("".join))
def test_junk_is_read_or_refused_never_crashes(text):
    try:
        got = parse_tensor(text)
    except InputError:
        return
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert got.ndim <= MAX_DIMS and got.size >= 1


@settings(UNTIMED, max_examples=300)
@given(st.text(max_size=80))
def test_any_text_is_read_or_refused_never_crashes(text):
    try:
        got = parse_tensor(text)
    except InputError:
        return
    assert isinstance(got, np.ndarray) and got.dtype == np.float64


@pytest.mark.parametrize("value", [b"[1, 2]", None, 3.5, ["[1]"]])
def test_parse_tensor_refuses_what_is_not_text(value):
    with pytest.raises(InputError, match="expects text"):
        parse_tensor(value)


# seeded_tensor -------------------------------------------------------------------------------


def torch_draw(shape, seed, draw):
    """What a person gets in a notebook: the global generator, seeded. The global state is
    saved and restored around it, so the tests do not disturb each other."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return draw(*shape)


seeds = st.integers(0, 2**63 - 1) | st.integers(0, 1000)
small_shapes = hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=6)


@UNTIMED
@given(small_shapes, seeds)
def test_seeded_tensor_equals_torch_randn(shape, seed):
    got = seeded_tensor(shape, seed)
    expected = torch_draw(shape, seed, torch.randn)
    assert got.dtype == np.float64 and got.shape == shape
    np.testing.assert_array_equal(got, expected.numpy().astype(np.float64))


@UNTIMED
@given(small_shapes, seeds)
def test_seeded_tensor_uniform_equals_torch_rand(shape, seed):
    got = seeded_tensor(shape, seed, dist="uniform")
    np.testing.assert_array_equal(got, torch_draw(shape, seed, torch.rand).numpy().astype(np.float64))


@UNTIMED
@given(
    small_shapes,
    seeds,
    st.sampled_from(["normal", "uniform"]),
    st.floats(-1e6, 1e6),
    st.floats(-1e3, 1e3),
)
def test_seeded_tensor_scale_and_offset_in_float64(shape, seed, dist, offset, scale):
    draw = torch.randn if dist == "normal" else torch.rand
    # torch's float32 draw, widened to float64, then scaled and shifted in float64 by torch.
    expected = torch_draw(shape, seed, draw).double() * scale + offset
    got = seeded_tensor(shape, seed, dist=dist, offset=offset, scale=scale)
    np.testing.assert_array_equal(got, expected.numpy())


def test_seeded_tensor_leaves_the_global_generator_alone():
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    first = seeded_tensor((3, 5), 7)
    assert torch.equal(torch.get_rng_state(), before)
    # And the global state does not change what it draws.
    torch.randn(100)
    np.testing.assert_array_equal(seeded_tensor((3, 5), 7), first)


def test_seeded_tensor_does_not_follow_a_changed_default_dtype():
    expected = torch_draw((4, 4), 3, lambda *s: torch.randn(*s, dtype=torch.float32))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        got = seeded_tensor((4, 4), 3)
    finally:
        torch.set_default_dtype(previous)
    np.testing.assert_array_equal(got, expected.numpy().astype(np.float64))


def test_seeded_tensor_accepts_a_torch_size_and_numpy_ints():
    np.testing.assert_array_equal(
        seeded_tensor(torch.Size([2, 3]), np.int64(5)), torch_draw((2, 3), 5, torch.randn).numpy()
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(shape=(2, 3), seed=-1), "the seed must be between 0 and 9,223,372,036,854,775,807, got -1"),
        (dict(shape=(2, 3), seed=2**63), "the seed must be between 0 and"),
        (dict(shape=(2, 3), seed=1.5), "the seed must be a whole number"),
        (dict(shape=(2, 3), seed=True), "the seed must be a whole number"),
        (dict(shape=(2, 3), seed="1"), "the seed must be a whole number"),
        (dict(shape=(2, 3), seed=0, dist="gauss"), "dist must be 'normal' or 'uniform', got 'gauss'"),
        (dict(shape=(2, 3), seed=0, offset=math.nan), "offset must be finite, got nan"),
        (dict(shape=(2, 3), seed=0, scale=math.inf), "scale must be finite, got inf"),
        (dict(shape=(2, 3), seed=0, scale="2"), "scale must be a number"),
        (dict(shape=(2000, 2000), seed=0), "shape (2000, 2000) has 4,000,000 elements; the limit is 1,048,576"),
        (dict(shape=(0, 3), seed=0), "dims must be at least 1, got 0"),
        (dict(shape=(2**80, 2**80), seed=-1), "more than the limit"),  # the shape is checked first
    ],
)
def test_seeded_tensor_refusals(kwargs, message):
    with pytest.raises(InputError) as info:
        seeded_tensor(**kwargs)
    assert message in str(info.value)


def test_the_largest_seed_is_accepted():
    np.testing.assert_array_equal(
        seeded_tensor((3,), 2**63 - 1), torch_draw((3,), 2**63 - 1, torch.randn).numpy()
    )


# check_shape and parse_shape -----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((2, 3, 4), (2, 3, 4)),
        ([5], (5,)),
        (torch.Size([2, 3]), (2, 3)),
        ((np.int64(4), np.int32(2)), (4, 2)),
        ((1,) * MAX_DIMS, (1,) * MAX_DIMS),
        ((MAX_ELEMENTS,), (MAX_ELEMENTS,)),
        ((1024, 1024), (1024, 1024)),
    ],
)
def test_check_shape_accepts(shape, expected):
    got = check_shape(shape)
    assert got == expected and type(got) is tuple
    assert all(type(d) is int for d in got)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2000, 2000), "shape (2000, 2000) has 4,000,000 elements; the limit is 1,048,576"),
        ((1024, 1025), "shape (1024, 1025) has 1,049,600 elements; the limit is 1,048,576"),
        ((), "an empty shape"),
        ([], "an empty shape"),
        ((1,) * (MAX_DIMS + 1), f"the shape has {MAX_DIMS + 1} dims; the limit is {MAX_DIMS}"),
        ([1] * 10_000_000, "the shape has 10000000 dims; the limit is 6"),
        ((2, -2), "dims must be at least 1, got -2"),
        ((0,), "dims must be at least 1, got 0"),
        ((2, 3.0), "dims must be whole numbers, got '3.0'"),
        ((True, 2), "dims must be whole numbers"),
        (("2", 3), "dims must be whole numbers"),
        (5, "a shape is a tuple of dims"),
        ("2, 3", "a shape is a tuple of dims"),
        ((2**63, 2**63), "a dim of 9,223,372,036,854,775,808 is more than the limit of 1,048,576 elements"),
        ((10**5000,), "more than the limit of 1,048,576 elements"),
        ((1024,) * 6, "shape (1024, 1024, 1024, 1024, 1024, 1024) has 1,152,921,504,606,846,976 elements"),
    ],
)
def test_check_shape_refuses(shape, message):
    with pytest.raises(InputError) as info:
        check_shape(shape)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["2, 3, 4", "(2, 3, 4)", "[2,3,4]", "2x3x4", "2 X 3 x 4", "2 × 3 × 4", "2 3 4", " 2\t3\n4 ",
     "torch.Size([2, 3, 4])", "Size([2, 3, 4])", "(2, 3, 4,)", "+2, 3, 4"],
)
def test_parse_shape_accepts(text):
    assert parse_shape(text) == (2, 3, 4)


@pytest.mark.parametrize("text", ["5", "(5,)", "[5]", "5,", "torch.Size([5])"])
def test_parse_shape_one_dim(text):
    assert parse_shape(text) == (5,)


@pytest.mark.parametrize(
    "text, message",
    [
        ("2, a", "'a' is not a whole number"),
        ("2.5, 3", "'2.5' is not a whole number"),
        ("2, -2", "dims must be at least 1, got -2"),
        ("0x3", "dims must be at least 1, got 0"),
        ("", "an empty shape"),
        ("  ", "an empty shape"),
        ("()", "an empty shape"),
        ("torch.Size([])", "an empty shape"),
        ("2,,3", "dim 2 of the shape is missing"),
        ("2x", "dim 2 of the shape is missing"),
        ("2000, 2000", "shape (2000, 2000) has 4,000,000 elements; the limit is 1,048,576"),
        ("1, 1, 1, 1, 1, 1, 1", f"the shape has 7 dims; the limit is {MAX_DIMS}"),
        ("1," * 400, f"the shape has 400 dims; the limit is {MAX_DIMS}"),
        ("9" * 900, "more than the limit of 1,048,576 elements"),
        ("2, ３", "'３' is not a whole number"),
        ("__import__('os')", "is not a whole number"),
        ("2" * 2_000_000, "the shape text has 2,000,000 characters; the limit is 1,000"),
    ],
)
def test_parse_shape_refuses(text, message):
    with pytest.raises(InputError) as info:
        parse_shape(text)
    assert message in str(info.value)


def test_parse_shape_refuses_what_is_not_text():
    with pytest.raises(InputError, match="expects text"):
        parse_shape((2, 3))


@UNTIMED
@given(hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=8), st.sampled_from([", ", "x", " "]))
def test_parse_shape_reads_what_people_write(shape, sep):
    text = sep.join(map(str, shape))
    assert parse_shape(text) == shape
    assert parse_shape(str(torch.Size(shape))) == shape  # torch's own print of a shape
    assert parse_shape(str(shape)) == shape  # Python's print of a tuple, "(5,)" included


def test_public_functions_have_docstrings():
    for function in (parse_tensor, seeded_tensor, check_shape, parse_shape):
        assert function.__doc__ and len(function.__doc__.strip()) > 40
