"""Recipes: the right layer, each mistake (one step changed), combinations and pools of one's own choice.

Every recipe's output is checked against a computation written here in torch from the recipe's
definition (the layer's reduction dims as each norm defines them, the estimator, where eps
goes), never against lnorm_core's own forward.
"""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lnorm_core as lc
from norm_cases import recipes, trained_specs
from torch_modules import module_for, params_of

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def layer_dims(spec, shape):
    """(view, reduced dims) of the layer, from each norm's definition in torch's documentation."""
    ndim = len(shape)
    if spec.kind in ("layer", "rms"):
        return shape, tuple(range(ndim - len(spec.normalized_shape), ndim))
    if spec.kind == "batch":
        return shape, (0,) + tuple(range(2, ndim))
    if spec.kind == "instance":
        return shape, tuple(range(2, ndim))
    return (shape[0], spec.num_groups, -1), (2,)


def by_recipe(spec, x, recipe, weight, bias):
    """The recipe's output, computed here in torch float64 from its definition."""
    shape = tuple(x.shape)
    if recipe.pool == "layer":
        view, dims = layer_dims(spec, shape)
    elif recipe.pool == "whole_sample":
        view, dims = shape, tuple(range(1, len(shape))) or (0,)
    else:
        view, dims = shape, tuple(sorted({d % len(shape) for d in recipe.pool}))
    v = x.reshape(view)
    n = math.prod(v.shape[d] for d in dims)
    mean = v.mean(dim=dims, keepdim=True) if spec.centers else torch.zeros(())
    if recipe.one_pass and spec.centers:
        var = ((v * v).sum(dim=dims, keepdim=True) - n * mean**2) / (n - recipe.ddof)
    else:
        var = ((v - mean) ** 2).sum(dim=dims, keepdim=True) / (n - recipe.ddof)
    inner = var.sqrt() if recipe.under_root == "std" else var
    eps = spec.eps_for("float64")
    den = {"inside": (inner + eps).sqrt(), "outside": inner.sqrt() + eps, "none": inner.sqrt()}[recipe.eps]
    y = ((v - mean) / den).reshape(shape)
    if recipe.affine and weight is not None:
        broadcast = spec.normalized_shape if spec.info.trailing else (1, shape[1]) + (1,) * (len(shape) - 2)
        y = y * torch.from_numpy(weight).reshape(broadcast)
        if bias is not None:
            y = y + torch.from_numpy(bias).reshape(broadcast)
    return y.numpy()


@SETTINGS
@given(trained_specs(), st.data())
def test_any_recipe_computes_what_its_steps_say(case, data):
    spec, shape = case
    recipe = data.draw(recipes(len(shape)))
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) + 0.5
    weight, bias = params_of(module_for(spec, shape))
    mine = lc.manual_forward(spec, x.numpy(), weight, bias, recipe=recipe)
    np.testing.assert_allclose(mine, by_recipe(spec, x, recipe, weight, bias), rtol=1e-9, atol=1e-9,
                               equal_nan=True, err_msg=str(recipe))


def test_the_right_recipe_is_torch():
    spec = lc.NormSpec("group", num_groups=2)
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    m = module_for(spec, (3, 4, 5))
    weight, bias = params_of(m)
    with torch.no_grad():
        expected = m(x).numpy()
    np.testing.assert_allclose(lc.manual_forward(spec, x, weight, bias, recipe=lc.Recipe()), expected, atol=1e-12)
    assert lc.Recipe() == lc.RIGHT and lc.RIGHT.mistakes == () and lc.RIGHT.steps_changed == ()


@pytest.mark.parametrize("name", list(lc.MISTAKES))
def test_each_mistake_is_the_right_recipe_with_its_one_step_changed(name):
    m = lc.MISTAKES[name]
    recipe = lc.Recipe.from_mistakes((name,))
    assert recipe != lc.RIGHT and recipe.mistakes == (name,)
    assert recipe.steps_changed == (m.step,) and m.step in lc.STEPS
    assert m.wrong and m.fix and m.title and m.description


def test_combinations_give_their_names_back_and_contradictions_are_refused():
    for size in (2, 3):
        for combo in itertools.combinations(lc.MISTAKES, size):
            try:
                recipe = lc.Recipe.from_mistakes(combo)
            except lc.InputError as e:
                assert "cannot be made together" in str(e)
                continue
            assert recipe.mistakes == tuple(sorted(combo, key=list(lc.MISTAKES).index))
    assert lc.Recipe.from_mistakes(("unbiased", "std_under_sqrt")) == lc.Recipe(ddof=1, under_root="std")
    with pytest.raises(lc.InputError, match="cannot be made together"):
        lc.Recipe.from_mistakes(("no_eps", "eps_outside_sqrt"))
    assert ("eps_outside_sqrt", "no_eps") not in lc.mistake_combinations(2)
    with pytest.raises(lc.InputError, match="unknown mistake"):
        lc.Recipe.from_mistakes(("typo",))


def test_a_pool_of_ones_own_dims_is_named_where_it_pools_as_a_named_one():
    spec = lc.NormSpec("layer", normalized_shape=(4,))
    shape = (2, 3, 4)
    assert lc.Recipe(pool=(-1,)).named(spec, shape) == lc.RIGHT
    assert lc.Recipe(pool=(1, 2), ddof=1).named(spec, shape).mistakes == ("unbiased", "whole_sample")
    other = lc.Recipe(pool=(0,))  # over the batch: neither the layer's groups nor the whole sample
    assert other.named(spec, shape) == other and other.mistakes == () and other.steps_changed == ("pool",)
    assert lc.Recipe(affine=False).steps_changed == ("affine",)


@pytest.mark.parametrize("bad", [dict(pool="rows"), dict(pool=()), dict(pool=(1.5,)), dict(ddof=2),
                                 dict(under_root="sd"), dict(eps="after")])
def test_a_recipe_refuses_what_it_cannot_take(bad):
    with pytest.raises(lc.InputError):
        lc.Recipe(**bad)


def test_a_pool_dim_outside_the_input_is_refused():
    spec = lc.NormSpec("layer", normalized_shape=(4,))
    with pytest.raises(lc.InputError, match="no dim"):
        lc.manual_forward(spec, np.zeros((2, 4)), recipe=lc.Recipe(pool=(2,)))
