"""lc.read_code on the issue's four journeys, on what a person pastes beside them, and on the command line.

The expected numbers come from torch and from Python's statistics module run here, never from lnorm_core; the lines
are the lines of the snippets as written.
"""

import math
import statistics
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lnorm_core as lc

LN4 = lc.NormSpec("layer", normalized_shape=(4,))
X = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))  # torch.manual_seed(0); torch.randn(2, 3, 4)

STDEV_ROW = """import statistics, math
row = [0.8487, 0.6920, -0.3160, -2.1152]
mean = statistics.mean(row)
std = statistics.stdev(row)
eps = 1e-5
out = [(v - mean) / math.sqrt(std + eps) for v in row]
print(out)
"""
SAMPLE_STATS = """import torch
torch.manual_seed(0)
x = torch.randn(2, 3, 4)
mean = torch.mean(x[0, :, :])
std = torch.std(x[0, :, :])
y = (x[0, 0, :] - mean) / std
print(y)
"""
VAR_MEAN = """import torch

def layer_norm(feature, eps: float = 1e-5):
    var, mean = torch.var_mean(feature, dim=-1, unbiased=False)
    return (feature - mean[..., None]) / torch.sqrt(var[..., None] + eps)
"""
TWO_DIMS = """import torch
import torch.nn as nn

x = torch.randn(2, 3, 4)
ln = nn.LayerNorm(4)
mean = x.mean(dim=(-2, -1), keepdim=True)
var = x.var(dim=(-2, -1), keepdim=True, unbiased=False)
y = (x - mean) / torch.sqrt(var + ln.eps)
print(y)
"""


def test_journey_statistics_stdev_under_math_sqrt_on_a_typed_in_row():
    r = lc.read_code(STDEV_ROW, LN4, x=X)
    assert r.verdict == "mistakes" and set(r.mistakes) == {"unbiased", "std_under_sqrt"}
    assert r.line("unbiased") == 4 and r.line("std_under_sqrt") == 6
    assert r.where == "x[0, 1, :]" and r.bindings[0].label == "x[0, 1, :]" and r.bindings[0].name == "row"
    row = [0.8487, 0.6920, -0.3160, -2.1152]
    m, s = statistics.mean(row), statistics.stdev(row)
    np.testing.assert_allclose(r.output(), [(v - m) / math.sqrt(s + 1e-5) for v in row], rtol=1e-12)
    torch_row = F.layer_norm(X.double(), (4,))[0, 1]
    np.testing.assert_allclose(r.right, torch_row.numpy(), rtol=1e-6)
    assert any("statistics.stdev" in n and "n − 1" in n for n in r.notes)


def test_journey_torch_mean_and_std_of_the_sample_normalize_one_row():
    r = lc.read_code(SAMPLE_STATS, LN4)
    assert set(r.mistakes) == {"whole_sample", "unbiased", "no_eps"}
    assert (r.line("whole_sample"), r.line("unbiased"), r.line("no_eps")) == (4, 5, 6)
    assert r.where == "x[0, 0, :]"
    assert "line 5: torch.std over x[0, :, :]: 12 values, divided by n − 1 (torch's default)" in r.notes
    torch.manual_seed(0)  # the person's own run, reproduced here with torch itself
    x = torch.randn(2, 3, 4)
    np.testing.assert_allclose(r.output(), ((x[0, 0] - x[0].mean()) / x[0].std()).numpy(), rtol=1e-5)
    assert r.recipe == lc.Recipe(pool="whole_sample", ddof=1, eps="none")


def test_journey_a_function_around_var_mean_with_mean_none_is_right():
    r = lc.read_code(VAR_MEAN, LN4, x=X)
    assert r.verdict == "correct" and r.mistakes == () and r.input_name == "feature"
    np.testing.assert_allclose(r.output(X), F.layer_norm(X.double(), (4,)).numpy(), rtol=1e-9, atol=1e-12)
    x2 = torch.randn(5, 4, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(r.output(x2), F.layer_norm(x2.double(), (4,)).numpy(), rtol=1e-9, atol=1e-12)


def test_journey_two_dims_with_keepdim_is_the_whole_sample_against_the_codes_own_layer():
    r = lc.read_code(TWO_DIMS)  # no layer given: the code's own nn.LayerNorm(4)
    assert r.code_spec == LN4 and r.spec == LN4
    assert r.mistakes == ("whole_sample",) and r.line("whole_sample") == 6
    against_group = lc.read_code(TWO_DIMS, lc.NormSpec("group", num_groups=1))  # GroupNorm(1) pools the sample
    assert against_group.verdict == "correct"
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    want = ((x - x.mean((-2, -1), keepdim=True)) / torch.sqrt(x.var((-2, -1), keepdim=True, unbiased=False)
                                                                + 1e-5)).numpy()
    np.testing.assert_allclose(r.output(x), want, rtol=1e-5, atol=1e-6)


def test_a_forgotten_keepdim_fails_as_torch_does_or_broadcasts_wrongly():
    code = "import torch\nx = torch.randn(2, 3, 4)\nm = x.mean(-1)\ny = (x - m) / x.std(-1)\n"
    r = lc.read_code(code, LN4)
    x = torch.randn(2, 3, 4)
    with pytest.raises(RuntimeError) as real:
        x - x.mean(-1)
    assert r.mistakes == ("no_keepdim",) and r.line("no_keepdim") == 3 and str(real.value) in r.error[1]
    with pytest.raises(lc.InputError, match="must match the size of tensor b"):
        r.output(x)
    square = "import torch\nx = torch.randn(4, 4)\nm = x.mean(-1)\nv = x.var(-1, unbiased=False)\n" \
             "y = (x - m) / torch.sqrt(v + 1e-5)\n"
    r = lc.read_code(square, LN4)
    x = torch.randn(4, 4, dtype=torch.float64)
    assert r.mistakes == ("no_keepdim",) and r.line("no_keepdim") == 3
    np.testing.assert_allclose(r.output(x), ((x - x.mean(-1)) / torch.sqrt(x.var(-1, unbiased=False) + 1e-5))
                               .numpy(), rtol=1e-12)


def test_pooled_dims_of_ones_own_are_named_with_their_recipe():
    code = "import torch\ny = (x - x.mean(dim=1, keepdim=True)) / torch.sqrt(x.var(dim=1, keepdim=True, " \
           "unbiased=False) + 1e-5)\n"
    r = lc.read_code(code, LN4, x=X)
    assert r.mistakes == ("other_dims",) and r.line("other_dims") == 2 and r.recipe.pool == (1,)
    x = X.double()
    want = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5)
    np.testing.assert_allclose(r.output(x), want.numpy(), rtol=1e-12)


def test_the_codes_layer_and_another_eps():
    code = "import torch.nn.functional as F\nimport torch\nref = F.group_norm(x, 2, eps=1e-3)\n" \
           "g = x.view(2, 2, -1)\nm = g.mean(-1, keepdim=True)\nv = g.var(-1, keepdim=True, unbiased=False)\n" \
           "y = ((g - m) / torch.sqrt(v + 1e-5)).view(2, 4, 3)\nprint(y)\n"
    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(1))
    r = lc.read_code(code, x=x)
    assert r.code_spec == lc.NormSpec("group", num_groups=2, eps=1e-3, affine=False)  # no weight passed
    assert r.mistakes == ("other_eps",) and r.line("other_eps") == 7
    np.testing.assert_allclose(r.right, F.group_norm(x.double(), 2, eps=1e-3).numpy(), rtol=1e-9)


def test_what_is_not_a_normalization_is_said_on_its_line():
    r = lc.read_code("import torch\nm = x.mean(-1)\nprint(m)\n", LN4, x=X)
    assert r.verdict == "unreadable" and r.problems[0][1].startswith("what it computes is a mean")
    r = lc.read_code("import torch\ny = torch.softmax(x, -1)\n", LN4, x=X)
    assert r.verdict == "unreadable" and r.problems == ((2, "torch.softmax is not in lnorm's vocabulary"),)


def test_the_command_line_prints_the_reading(tmp_path):
    path = tmp_path / "snippet.py"
    path.write_text(SAMPLE_STATS.replace("torch.manual_seed(0)\n", "").replace("x = torch.randn(2, 3, 4)\n", ""))
    out = subprocess.run([sys.executable, "-m", "lnorm_core.read_code", str(path), "--shape", "2,3,4", "--layer",
                          "LayerNorm(4)"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "verdict: mistakes" in out.stdout
    assert "line 2: whole_sample" in out.stdout and "line 3: unbiased" in out.stdout and "line 4: no_eps" in out.stdout
    assert "line 3: torch.std over x[0, :, :]: 12 values, divided by n − 1 (torch's default)" in out.stdout
