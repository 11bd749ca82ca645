"""lnorm's reading of generated snippets against running them: snippets written from a grammar of the idioms
(tests/snippets.py) are run here, by the test itself, and read by lc.read_code, which never runs them.

For every drawn snippet: what read_code says it computes equals what running it gives; the mistakes it names are
exactly those that make the output differ from torch.nn's module (each one, taken back, changes the output; all
taken back, the output is torch's); each is on the line the snippet wrote it; a forgotten keepdim that cannot
broadcast fails with torch's (numpy's) own words.
"""

import contextlib
import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from snippets import Plan, mistakes_of, plans, write

import lnorm_core as lc

TAKE_BACK = {  # a mistake taken back: the plan without it
    "whole_sample": lambda p: replace(p, pool=p.layer_dims), "other_dims": lambda p: replace(p, pool=p.layer_dims),
    "no_keepdim": lambda p: replace(p, keep="keepdim"), "unbiased": lambda p: replace(p, ddof=0),
    "one_pass": lambda p: replace(p, var_how="call"), "other_eps": lambda p: replace(p, eps=1e-5),
    "std_under_sqrt": lambda p: replace(p, den={"sqrt(std + eps)": "sqrt(var + eps)", "sqrt(std)": "sqrt(var)"}[
        p.den]),
    "no_eps": lambda p: replace(p, den={"sqrt(var)": "sqrt(var + eps)", "sqrt(std)": "sqrt(std + eps)"}[p.den]),
    "eps_outside_sqrt": lambda p: replace(p, den="sqrt(var + eps)"),
}


def _input(plan, seed):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(plan.shape, generator=gen, dtype=torch.float64) + 0.5).numpy()


def _affine(plan, seed):
    if plan.affine != "random":
        return None, None
    gen = np.random.default_rng(seed)
    shape = plan.shape[len(plan.shape) - plan.k:]
    weight = (gen.integers(1, 17, size=shape) / 8.0).tolist()  # exact in float32 too
    bias = (gen.integers(-8, 9, size=shape) / 8.0).tolist()
    return weight, bias


def run(code, plan, x):
    """What running the snippet gives: (the output as float64, or None), (the exception's type and words, or None).

    This is the test's own code running the snippet it wrote, in a fresh namespace."""
    x_in = torch.from_numpy(x.copy()) if plan.framework == "torch" else x.copy()
    ns = {plan.names[0]: x_in} if plan.framework != "statistics" else {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, ns)  # noqa: S102 - the test's own generated snippet
            out = ns[plan.names[6]](x_in) if plan.style == "function_only" else ns[plan.names[5]]
    except (RuntimeError, ValueError) as e:
        return None, str(e)
    if isinstance(out, torch.Tensor):
        out = out.numpy()
    return np.asarray(out, dtype=np.float64), None


def torch_answer(plan, x, weight, bias):
    """torch.nn.LayerNorm over the plan's last k dims, with its weight and bias, on x: the key."""
    m = torch.nn.LayerNorm(plan.shape[len(plan.shape) - plan.k:], eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        if weight is not None:
            m.weight.copy_(torch.tensor(weight, dtype=torch.float64))
            m.bias.copy_(torch.tensor(bias, dtype=torch.float64))
        y = m(torch.from_numpy(x)).numpy()
    return y[plan.row] if plan.framework == "statistics" else y


def _partition(shape, kept):
    """The group of each element when the dims not in `kept` are pooled: elements alike in the kept dims."""
    idx = np.indices(shape).reshape(len(shape), -1)
    keys = [tuple(col) for col in idx[list(kept)].T] if kept else [()] * idx.shape[1]
    labels = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return np.array([labels[k] for k in keys])


def _same(a, b):
    return a.shape == b.shape and np.array_equal(a, b)


def pool_mistake(plan):
    """Which pooling mistake the plan's dims make on its shape, by the partitions they give (None: the layer's)."""
    nd = len(plan.shape)
    mine = _partition(plan.shape, [d for d in range(nd) if d not in plan.pool])
    layer = _partition(plan.shape, list(range(nd - plan.k)))
    whole = _partition(plan.shape, [0] if nd > 1 else [])
    if _same(np.unique(mine, return_inverse=True)[1], np.unique(layer, return_inverse=True)[1]):
        return None
    if _same(np.unique(mine, return_inverse=True)[1], np.unique(whole, return_inverse=True)[1]):
        return "whole_sample"
    return "other_dims"


def differs(a, b, bitwise=False):
    (ya, ea), (yb, eb) = a, b
    if (ea is None) != (eb is None):
        return True
    if ea is not None:
        return ea != eb
    if bitwise:
        return not np.array_equal(ya, yb, equal_nan=True)
    return ya.shape != yb.shape or not np.allclose(ya, yb, rtol=1e-10, atol=1e-12, equal_nan=True)


def check(plan, seed):
    """The property for one plan (see the module's docstring)."""
    n = math.prod(plan.shape[d] for d in plan.pool)
    assume(n >= 2)
    x = _input(plan, seed)
    weight, bias = _affine(plan, seed)
    row = x[plan.row] if plan.framework == "statistics" else None

    def real(p):
        return run(write(p, weight, bias, row)[0], p, x)

    code, at = write(plan, weight, bias, row)
    result = real(plan)
    assert real(plan.right())[1] is None
    np.testing.assert_allclose(real(plan.right())[0], torch_answer(plan, x, weight, bias), rtol=1e-9, atol=1e-12)
    expected = mistakes_of(plan) - {"whole_sample", "other_dims"}
    if pool_mistake(plan):
        expected.add(pool_mistake(plan))
        at.setdefault(pool_mistake(plan), at.get("whole_sample", at.get("other_dims")))
    if result[1] is not None:
        expected = {"no_keepdim"}  # the run fails: the forgotten keepdim is the one mistake to name
    else:
        expected = {m for m in expected if m == "one_pass" or differs(result, real(TAKE_BACK[m](plan)))}
    if plan.pool != plan.layer_dims and pool_mistake(plan) is None:
        expected -= {"whole_sample", "other_dims"}

    spec = lc.NormSpec("layer", normalized_shape=plan.shape[len(plan.shape) - plan.k:])
    r = lc.read_code(code, spec, x=x)
    note = f"\n{code}\n{r}"
    assert r.verdict == ("mistakes" if expected else "correct"), note
    assert set(r.mistakes) == expected, note
    for m in expected:
        assert r.line(m) == at[m], (m, note)
    if result[1] is not None:
        with pytest.raises(lc.InputError) as e:
            r.output(x)
        assert result[1] in str(e.value), note
        return
    np.testing.assert_allclose(r.output(x), result[0], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=note)


@settings(max_examples=200, derandomize=True)
@given(plans(), st.integers(0, 2**16))
@example(Plan("torch", (2, 3, 4), 1, (1, 2), "keepdim", 1, "std_call", "sqrt(var)", False, 1e-5, "none",
              "straight", ("x", "mean", "var", "std", "denom", "y", "layer_norm"), False, True, "default"), 0)
@example(Plan("torch", (2, 3, 4), 1, (2,), "drop", 0, "call", "sqrt(var + eps)", True, 1e-5, "none", "straight",
              ("x", "mean", "var", "std", "denom", "y", "layer_norm"), True, False, "unbiased"), 0)
@example(Plan("numpy", (4, 4), 1, (1,), "drop", 0, "call", "sqrt(var + eps)", True, 1e-5, "none", "straight",
              ("x", "mean", "var", "std", "denom", "y", "layer_norm"), True, False, "default"), 0)
@example(Plan("statistics", (2, 3, 4), 1, (2,), "keepdim", 1, "std_call", "sqrt(std + eps)", False, 1e-5, "none",
              "straight", ("row", "mean", "var", "std", "denom", "out", "ln"), False, True, "default", (0, 1)), 0)
def test_the_reading_of_a_generated_snippet_is_what_running_it_gives(plan, seed):
    check(plan, seed)


def test_the_grammar_writes_every_mistake_of_the_catalogue_and_right_code():
    """The strategy writes each of lnorm's mistakes that code can make, and right code: the property covers them."""
    found = set()
    right = 0

    @settings(max_examples=300, derandomize=True, database=None)
    @given(plans())
    def collect(plan):
        nonlocal right
        made = mistakes_of(plan)
        found.update(made)
        right += not made

    collect()
    assert found == set(lc.MISTAKES) | {"other_dims", "no_keepdim", "other_eps"}
    assert right > 0
