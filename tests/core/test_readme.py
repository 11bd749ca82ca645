"""The README's library example runs as written, and gives torch's numbers.

The block under "## The library" is executed as it stands, with the few names it leaves
to the reader (a pasted text, an upstream gradient, another layer, one row computed by
hand) defined first; its results are then checked against torch and against a row
computed the way a student does it, with the statistics module.
"""

import re
import statistics
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import lnorm_core as lc

README = Path(__file__).resolve().parents[2] / "README.md"


def library_block():
    """The first python block after the README's "## The library" heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The library"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def student_row(values, eps=1e-5):
    """LayerNorm of one row as the forum question computes it: statistics.stdev under the square root."""
    mean = statistics.fmean(values)
    std = statistics.stdev(values)  # n - 1, and the std (not the variance) goes under the root below
    return [round((v - mean) / (std + eps) ** 0.5, 4) for v in values]


CODE = """import math
import statistics

row = [0.8487, 0.6920, -0.3160, -2.1152]
mean = statistics.mean(row)
std = statistics.stdev(row)
out = [(v - mean) / math.sqrt(std + 1e-5) for v in row]
"""  # what a person pastes: the forum's row, typed in, with stdev under the root


def test_the_library_example_runs_and_agrees_with_torch():
    torch.manual_seed(0)
    x0 = torch.randn(2, 3, 4)  # what lc.seeded_tensor((2, 3, 4), 0) must equal
    torch.manual_seed(3)
    grad_out = torch.randn(2, 3, 4).double().numpy()
    ns = {
        "text": "tensor([[-2.1918,  1.2574, -0.3838,  1.3870]])",
        "grad_out": grad_out,
        "other": lc.NormSpec("group", num_groups=1),
        "row": student_row(x0[0, 1].double().tolist()),
        "code": CODE,
    }
    exec(compile(library_block(), str(README), "exec"), ns)  # noqa: S102 - the README's own example

    x = torch.from_numpy(np.asarray(ns["x"]))
    assert torch.equal(x.float(), x0)
    y_torch = F.layer_norm(x, (4,), eps=1e-5).numpy()
    np.testing.assert_allclose(ns["y"], y_torch, rtol=0, atol=1e-12)
    xg = x.clone().requires_grad_(True)
    F.layer_norm(xg, (4,), eps=1e-5).backward(torch.from_numpy(ns["grad_out"]))
    np.testing.assert_allclose(ns["g"]["input"], xg.grad.numpy(), rtol=0, atol=1e-12)
    assert ns["groups"].shape == (2, 3, 4) and len(np.unique(ns["groups"])) == 6  # one group per row of 4
    if "r" in ns:  # the reader on the pasted code: the lines of stdev (n - 1) and of the root of the std
        r = ns["r"]
        assert (r.verdict, r.mistakes, r.line("unbiased"), r.line("std_under_sqrt")) == (
            "mistakes", ("unbiased", "std_under_sqrt"), 6, 7)
        assert r.where == "x[0, 1, :]"
        assert r.notes[2].startswith("line 6: statistics.stdev over x[0, 1, :]: 4 values, divided by n − 1")
        np.testing.assert_allclose(ns["y_code"], student_row(x0[0, 1].double().tolist()), atol=5e-5)
    if "d" in ns:  # the finder on the student's row: stdev (n - 1) under the root, at y[0, 1, :]
        d = ns["d"]
        assert d.verdict == "match" and {"unbiased", "std_under_sqrt"} in [set(m) for m in d.mistakes]
        assert tuple(d.where) == (0, 1)


def test_the_limits_table_quotes_the_code_readers_constants():
    from lnorm_core.read_code import limits

    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Limits"):text.index("## Numbers")]
    rows = {line.split("|")[3].strip(): line.split("|")[2].strip() for line in table.splitlines()
            if line.startswith("|") and "snippet" in line}
    quoted = {}
    for names, values in rows.items():
        for name, value in zip(names.replace("`", "").split(", "), values.split(", ")):
            quoted[name.split(".")[-1]] = int(value.replace(",", ""))
    assert quoted == {name: getattr(limits, name, None) or getattr(lc, name) for name in quoted}
    assert set(quoted) >= {"MAX_CODE_CHARS", "MAX_CODE_LINES", "MAX_AST_NODES", "MAX_STEPS", "MAX_LOOP_ITERATIONS",
                           "MAX_WORK", "MAX_ELEMENTS"}
