"""Pitfalls' "Your code" tab under AppTest: a pasted snippet read (never run), its marked lines and fixes, what it
computes beside torch's answer, one group step by step, the layer it compares against, and code lnorm cannot read.

Expected numbers come from torch and Python's statistics module, here; never from lnorm_core.
"""

import math
import statistics

import numpy as np
import torch
import torch.nn.functional as F
from apptest import open_page

from lnorm_app.models.code import EXAMPLE_CODE

X = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float32).double()


def _code_tab(**params):
    return open_page("views/pitfalls.py", {"part": "Your code", **params})


def _annotated(at):
    (block,) = [c.value for c in at.code if c.value.lstrip("✗ ").startswith("1  ")]
    return block.splitlines()


def test_the_worked_example_marks_stdev_and_the_root_of_the_std_with_their_fixes():
    at = _code_tab(code=EXAMPLE_CODE)
    assert not at.exception
    (verdict,) = [e.value for e in at.error]
    assert "line 6: n−1 in the variance" in verdict and "line 8: std under the square root" in verdict
    lines = _annotated(at)
    marked = [ln for ln in lines if ln.startswith("✗")]
    assert [ln.split()[1] for ln in marked] == ["6", "8"]
    assert any("statistics.stdev over x[0, 1, :]: 4 values, divided by n − 1" in ln for ln in lines)
    assert any("these numbers are x[0, 1, :]" in ln for ln in lines)
    fixes = [c.value for c in at.code if c.value.startswith("# your line")]
    assert fixes[0].startswith("# your line 6\nstd = statistics.stdev(row)\n# the fix")
    row = [0.8487, 0.6920, -0.3160, -2.1152]
    m, s = statistics.mean(row), statistics.stdev(row)
    mine = ", ".join(f"{(v - m) / math.sqrt(s + 1e-5):.4f}" for v in row)
    right = ", ".join(f"{v:.4f}" for v in F.layer_norm(X, (4,))[0, 1].tolist())
    texts = [" ".join(c.value.split()) for c in at.code]  # numpy pads its columns with spaces
    assert any(mine in t for t in texts) and any(right in t for t in texts)
    steps = [m.value for m in at.markdown if m.value.startswith("| step |")]
    assert steps and "n−1 in the variance + std under the square root" in steps[0].replace("\\", "")


def test_code_that_builds_its_own_layer_is_compared_with_it_and_the_page_says_so():
    code = ("import torch\nimport torch.nn as nn\nln = nn.LayerNorm(4)\n"
            "y = (x - x.mean(dim=(-2, -1), keepdim=True)) / torch.sqrt(x.var(dim=(-2, -1), keepdim=True, "
            "unbiased=False) + 1e-5)\n")
    at = _code_tab(code=code, kind="GroupNorm", groups="1")
    assert not at.exception
    (note,) = [i.value for i in at.info if "The code builds" in i.value]
    assert "nn.LayerNorm((4,))" in note and "nn.GroupNorm(1, 3)" in note  # as the code and torch write them
    assert "pooled the whole sample" in at.error[0].value and "line 4" in at.error[0].value
    want = F.layer_norm(X.reshape(2, 12), (12,)).reshape(2, 3, 4)
    assert any(f"{want[0, 0, 0].item():.4f}" in c.value for c in at.code)


def test_right_code_is_right_on_the_sidebars_input():
    code = ("import numpy as np\n\ndef ln(a, eps=1e-5):\n    m = a.mean(axis=-1, keepdims=True)\n"
            "    v = ((a - m) ** 2).mean(axis=-1, keepdims=True)\n    return (a - m) / np.sqrt(v + eps)\n")
    at = _code_tab(code=code, shape="3, 5")
    assert not at.exception and not at.error
    assert "no step parts from torch" in at.success[0].value


def test_hostile_code_is_not_run_and_is_said_as_text_with_what_lnorm_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = "import os\nos.system('touch **pwned**')\nopen('[x](http://a.b)', 'w')"
    at = _code_tab(code=code)
    assert not at.exception and list(tmp_path.iterdir()) == []
    (warning,) = [w.value for w in at.warning]
    assert "cannot read this code" in warning and "Line 1" in warning and "import os" in warning
    assert "](http" not in warning.replace("\\", "")[:0] + warning  # the link's text is escaped, not a link
    assert any(e.label == "What lnorm reads" for e in at.expander)
    assert any("torch.var_mean" in c.value for c in at.code)


def test_an_empty_box_says_what_to_paste():
    at = _code_tab()
    assert not at.exception
    assert any("Paste the code you wrote" in i.value for i in at.info)
    assert any("statistics.stdev under math.sqrt" in c.value for c in at.caption)


def test_a_forgotten_keepdim_that_fails_says_torchs_words():
    code = "import torch\nm = x.mean(-1)\ny = (x - m) / x.std(-1)\n"
    at = _code_tab(code=code)
    assert "forgot keepdim" in at.error[0].value
    texts = " ".join(c.value for c in at.caption)
    assert "The size of tensor a (4) must match the size of tensor b (3) at non" in texts.replace("\\", "")
    assert np.isfinite(1.0)
