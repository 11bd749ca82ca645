"""lnorm_core.practice: every key against torch.nn built here, every code read back, every bad code refused.

The keys are checked against torch computed independently in this file: autograd's Jacobian for which
elements share a mean (the keys use the outputs that move when an input moves), the nn modules of
tests/torch_modules for outputs, buffers and refusals.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import lnorm_core as lc
from lnorm_core import practice as P
from torch_modules import module_for

KINDS = list(P.KINDS.values())
SEEDS = st.integers(0, 2**40)


def plain_module(spec, shape, affine=False):
    """torch.nn's module for spec, fresh (ones and zeros, buffers 0 and 1), with or without affine."""
    m = module_for(spec.with_(**({"elementwise_affine": affine} if spec.info.trailing else {"affine": affine})), shape)
    if hasattr(m, "reset_parameters"):
        m.reset_parameters()
    elif hasattr(m, "__self__"):  # a bound method stands for the module (never for the shapes drawn here)
        raise AssertionError("no module for this layer")
    return m


def jacobian_groups(m, x):
    """The partition torch's autograd sees: element j is with i where d y_i / d x_j != 0 (label: smallest index)."""
    x = torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float64)
    j = torch.autograd.functional.jacobian(lambda t: m(t), x).reshape(x.numel(), x.numel())
    nonzero = (j != 0).numpy() | np.eye(x.numel(), dtype=bool)
    return nonzero.argmax(axis=1)  # the first element each output depends on


def same_partition(a, b):
    pairs = set(zip(np.ravel(a).tolist(), np.ravel(b).tolist()))
    return len(pairs) == len(set(np.ravel(a).tolist())) == len(set(np.ravel(b).tolist()))


# ---- drawn exercises: the code reads back, the limits hold -------------------------------------------


@settings(max_examples=60)
@given(st.sampled_from(KINDS), SEEDS)
def test_a_drawn_exercise_reopens_from_its_code_within_the_limits(kind, seed):
    ex = P.draw(kind, seed)
    assert P.draw(kind, seed) == ex  # seeded: the same draw again
    assert P.parse_exercise(ex.code) == ex and P.parse_exercise(ex.code).code == ex.code
    shape = ex.shape
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape[-2:]
    assert rows <= 6 and cols <= 8 and int(np.prod(shape[:-2])) <= 4 and len(shape) <= 4
    assert ex.kind == kind and len(ex.code) <= 120
    assert set(ex.code) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~")


@settings(max_examples=15)
@given(st.lists(st.tuples(st.sampled_from(KINDS), SEEDS), min_size=1, max_size=P.MAX_SET))
def test_a_set_reopens_from_its_code(draws):
    exercises = tuple(P.draw(k, s) for k, s in draws)
    code = P.set_code(exercises)
    assert P.parse_set(code) == exercises and P.set_code(P.parse_set(code)) == code


# ---- each key against torch, built here ---------------------------------------------------------------


@st.composite
def share_exercises(draw):
    """A share exercise over the whole space of clickable shapes and layers, built as a code (not by P.draw)."""
    ndim = draw(st.integers(1, 4))
    lead = draw(st.sampled_from([(), (1,), (2,), (3,), (4,), (1, 1), (1, 2), (2, 2), (1, 4), (4, 1)]))
    shape = (lead + (draw(st.integers(1, 6)), draw(st.integers(1, 8))))[-ndim:] if ndim > 1 else (
        draw(st.integers(1, 8)),)
    layers = [f"L{k}" for k in range(1, len(shape) + 1)]
    if len(shape) >= 2:
        c = shape[1]
        layers += ["B"] + [f"G{g}" for g in range(1, c + 1) if c % g == 0] + (["I"] if len(shape) >= 3 else [])
    layer = draw(st.sampled_from(layers))
    where = tuple(draw(st.integers(0, d - 1)) for d in shape)
    code = f"g_{layer}_{'x'.join(map(str, shape))}_{draw(st.integers(0, 2**31 - 1))}_{'-'.join(map(str, where))}"
    try:
        return P.parse_exercise(code)
    except lc.InputError as e:  # torch refuses that layer here: the code must say so in torch's words
        spec = P.layer_spec(layer, shape)
        with pytest.raises((RuntimeError, ValueError)) as torch_says:
            plain_module(spec, shape)(torch.zeros(shape, dtype=torch.float64))
        assert str(torch_says.value) in str(e) or "more than 1" in str(e)
        return None


@settings(max_examples=80)
@given(st.one_of(share_exercises(), SEEDS.map(lambda s: P.draw("share", s))))
def test_share_key_is_what_torchs_jacobian_says(ex):
    if ex is None:
        return
    x = ex.x()
    groups = jacobian_groups(module_for(ex.spec, ex.shape), x)  # seeded random affine: the groups stay
    focus = int(np.ravel_multi_index(ex.where, ex.shape))
    assert P.key(ex).cells == tuple(np.flatnonzero(groups == groups[focus]))
    assert P.check(ex, P.key(ex).cells).right


@settings(max_examples=40)
@given(SEEDS)
def test_row_key_is_torchs_output(seed):
    ex = P.draw("row", seed)
    x = torch.tensor(ex.x())
    assert np.array_equal(ex.x(), np.round(ex.x(), 2))  # the tensor is its own 2-decimal print
    y = plain_module(ex.spec, ex.shape)(x).detach().numpy()
    np.testing.assert_allclose(P.key(ex).row, y[ex.where], rtol=0, atol=1e-12)


@settings(max_examples=40)
@given(SEEDS)
def test_accept_key_is_what_torch_nn_accepts_in_its_own_words(seed):
    ex = P.draw("accept", seed)
    k = P.key(ex)
    x = torch.tensor(ex.x())
    for choice, accepted, message in zip(ex.choices, k.accepted, k.messages):
        try:
            m = nn.GroupNorm(choice, ex.shape[1]) if ex.layer == "G" else (
                nn.LayerNorm(choice) if ex.layer == "L" else nn.RMSNorm(choice))
            m.double()(x)
        except (RuntimeError, ValueError) as e:
            assert not accepted and message == str(e)
        else:
            assert accepted and message == ""


def _param_groups(spec, shape, x):
    """Which affine entry shifts (scales, for RMSNorm) each element: autograd's d y / d bias (weight)."""
    m = plain_module(spec, shape, affine=True)
    p = m.bias if getattr(m, "bias", None) is not None else m.weight
    y = m(torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float64))
    rows = [torch.autograd.grad(y.reshape(-1)[i], p, retain_graph=True)[0].reshape(-1) for i in range(y.numel())]
    return np.array([int(torch.argmax((r != 0).to(torch.int8))) for r in rows])


@settings(max_examples=40)
@given(SEEDS)
def test_same_key_is_torchs_and_agrees_with_lnorms_equivalences(seed):
    ex = P.draw("same", seed)
    view, x = ex.view_of_x, ex.x()
    xb = view.apply(x)
    back = lambda a: np.asarray(view.undo(np.asarray(a).reshape(view.shape), x.shape))  # noqa: E731
    spec_a, spec_b = ex.spec, ex.other_spec
    ma, mb = plain_module(spec_a, x.shape), plain_module(spec_b, view.shape)
    index_b = back(np.arange(x.size)).ravel()
    pooling = same_partition(jacobian_groups(ma, x), jacobian_groups(mb, xb)[index_b])
    run = lambda m, t: m(torch.as_tensor(np.ascontiguousarray(t))).detach().numpy()  # noqa: E731
    gap = np.max(np.abs(run(ma, x) - back(run(mb, xb))))
    plain = gap <= 1e-9 * max(1.0, np.max(np.abs(run(ma, x))))
    weights = same_partition(_param_groups(spec_a, x.shape, x), _param_groups(spec_b, view.shape, xb)[index_b])
    ea, eb = plain_module(spec_a, x.shape).eval(), plain_module(spec_b, view.shape).eval()
    in_eval = np.max(np.abs(run(ea, x) - back(run(eb, xb)))) <= 1e-9 * max(1.0, np.max(np.abs(run(ea, x))))
    k = P.key(ex)
    assert k.answers == {"pooling": pooling, "no affine": bool(plain), "affine": bool(plain and weights),
                         "eval": bool(in_eval)}
    pair = lc.compare_layers(spec_a, x, spec_b, view)  # lnorm's equivalences say the same
    assert (pair.same_pooling, pair.same_output, pair.same_with_affine) == (
        k.answers["pooling"], k.answers["no affine"], k.answers["affine"])


@settings(max_examples=40)
@given(SEEDS)
def test_buffers_key_is_torchs_running_var_and_the_slips_are_what_they_say(seed):
    ex = P.draw("buffers", seed)
    c, m = ex.where[0], ex.momentum
    x = torch.tensor(ex.x())
    bn = nn.BatchNorm1d(ex.shape[1], momentum=m).double().train()
    bn(x)
    k = P.key(ex)
    assert abs(k.value - float(bn.running_var[c])) <= 1e-12
    values = ex.x().swapaxes(0, 1)[c].ravel()  # channel c over the batch and the length
    assert abs(k.candidates["biased"] - ((1 - m) * 1.0 + m * np.var(values))) <= 1e-12
    assert abs(k.candidates["no momentum"] - np.var(values, ddof=1)) <= 1e-12
    assert P.check(ex, f"{float(bn.running_var[c]):.4f}").right


# ---- answers checked: right, and the mistakes named ---------------------------------------------------


def test_the_whole_sample_for_layernorm_d_is_right_plus_extra_cells():
    ex = P.parse_exercise("g_L1_2x3x4_0_0-1-2")
    sample = [(0, i, j) for i in range(3) for j in range(4)]  # x[0], where LayerNorm((4,)) pools x[0, 1, :]
    v = P.check(ex, sample)
    assert not v.right and v.detail.right == (4, 5, 6, 7) and len(v.detail.extra) == 8 and not v.detail.missed
    assert "8 extra" in v.headline
    assert P.check(ex, [(0, 1, j) for j in range(4)]).right


@settings(max_examples=30)
@given(SEEDS)
def test_a_row_computed_with_n_minus_1_is_named(seed):
    ex = P.draw("row", seed)
    x = torch.tensor(ex.x())
    spec = ex.spec
    if spec.kind == "layer":
        dims = tuple(range(x.ndim - len(spec.normalized_shape), x.ndim))
    elif spec.kind == "instance":
        dims = (2,)
    else:  # GroupNorm(2) on (N, 4, L): each sample's channel pairs
        x = x.reshape(x.shape[0], 2, -1)
        dims = (2,)
    mean = x.mean(dim=dims, keepdim=True)
    y = ((x - mean) / torch.sqrt(x.var(dim=dims, keepdim=True, correction=1) + 1e-5)).reshape(ex.shape)
    typed = "[" + ", ".join(f"{v:.4f}" for v in y[ex.where].tolist()) + "]"
    v = P.check(ex, typed)
    assert not v.right and "n−1 in the variance" in v.headline, v.headline
    assert v.detail.steps.first_difference == "variance"


def test_a_biased_running_var_is_recognised():
    ex = P.parse_exercise("b_B_4x2_3_1_0.1")
    values = ex.x()[:, 1]
    biased = 0.9 * 1.0 + 0.1 * np.var(values)
    v = P.check(ex, f"{biased:.4f}")
    assert not v.right and "biased variance" in v.headline and "n − 1" in v.lines[0]


def test_same_answers_all_four_or_not():
    ex = P.parse_exercise("s_L1_2x5x8_0_I_t")  # LayerNorm(8) against InstanceNorm1d(8) on x.transpose(1, 2)
    assert P.key(ex).answers == {"pooling": False, "no affine": False, "affine": False, "eval": False}
    assert P.check(ex, (False, False, False, False)).right
    v = P.check(ex, (True, False, False, None))
    assert not v.right and "2 of 4" in v.headline


def test_accept_wrong_choices_carry_torchs_message():
    ex = P.parse_exercise("a_L_4x2x3_0_3.2-3.2")
    v = P.check(ex, [0, 2])
    assert not v.right
    refused = [c for c in v.detail if not c.accepted]
    with pytest.raises(RuntimeError) as torch_says:
        nn.LayerNorm(2)(torch.randn(4, 2, 3))
    assert refused[0].message == str(torch_says.value) and refused[0].meaning
    assert P.check(ex, [0, 1]).right


# ---- a crafted or broken code: a message, never a traceback -----------------------------------------


@pytest.mark.parametrize("code,words", [
    ("", "empty"),
    ("x_L1_2x3_0_0", "starts with one of"),
    ("g_L1_2x3x4_0_0-1", "no index of length 3"),
    ("g_L1_7x7_0_0-0", "at most 4 panels of 6 x 8"),
    ("g_L1_5x2x3_0_0-0-0", "at most 4 panels"),
    ("g_G3_2x4x3_0_0-0-0", "num_channels (4) must be divisible by num_groups (3)"),
    ("g_L1_2x3x4_0_0-1-2<b>", "cannot be read"),
    ("g_L4_2x3x4_0_0-1-2", "last 4 dims"),
    ("s_L1_2x3x4_0_I_p", "takes a 4-D input"),
    ("s_L1_2x3x4_0_L_n", "needs its parameter"),
    ("b_L1_2x3_0_0_0.1", "BatchNorm1d"),
    ("b_B_2x3_0_0_0.0", "above 0"),
    ("b_B_1x3_0_0_0.1", "Expected more than 1 value per channel when training"),
    ("a_G_2x4x3_0_1.1", "different choices"),
    ("a_G_2x4x3_0_1-2.3", "one number each"),
    ("r_I_2x3_0_0", "(N, C, L) input"),
    ("g_L1_2x3x4_99999999999_0-1-2", "seed"),
    ("g_L1_2x3x4_0_0-1-2_7", "5 fields"),
    ("g" * 200, "at most 120 characters"),
])
def test_a_broken_code_is_refused_with_a_message(code, words):
    with pytest.raises(lc.InputError) as e:
        P.parse_exercise(code)
    assert words in str(e.value)


def test_a_broken_set_says_which_exercise():
    good = P.draw("share", 1).code
    with pytest.raises(lc.InputError, match="exercise 2 of the set"):
        P.parse_set(f"{good}~g_L1_9x9_0_0-0")
    with pytest.raises(lc.InputError, match=f"at most {P.MAX_SET} exercises"):
        P.parse_set("~".join([good] * (P.MAX_SET + 1)))
    with pytest.raises(lc.InputError, match="empty"):
        P.parse_set("  ")


@pytest.mark.parametrize("kind,answer", [("row", "[1, 2"), ("row", "__import__('os')"), ("buffers", "[1, 2]"),
                                         ("buffers", "1e400"), ("share", [(9, 9, 9)])])
def test_an_answer_that_cannot_be_read_is_an_input_error(kind, answer):
    ex = P.draw(kind, 5)
    with pytest.raises(lc.InputError):
        P.check(ex, answer)


def test_no_global_random_state_is_touched(monkeypatch):
    touched = []
    for owner, name in ((torch, "manual_seed"), (torch, "seed"), (np.random, "seed"), (torch.random, "manual_seed")):
        monkeypatch.setattr(owner, name, lambda *a, _n=name, **k: touched.append(_n))
    answers = {"share": [0], "row": None, "accept": [0], "same": (True, False, None, True), "buffers": "0.5"}
    for kind in KINDS:
        ex = P.draw(kind, 11)
        P.key(ex)
        P.check(ex, answers[kind] or "[" + ", ".join(["0.1"] * ex.shape[-1]) + "]")
    assert not touched
