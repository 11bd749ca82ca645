"""The notebook the Explorer downloads: valid nbformat, and when executed it prints the explorer's and torch's numbers.

How it is executed: each code cell's source is run, in order, in one namespace, with its
stdout captured per cell, which is what a Jupyter kernel does with plain Python cells. The
test first asserts that the cells are plain Python (no %magics, no !shell lines), so this
runs the same code a kernel would; it needs no kernel process (nbclient, ipykernel, zmq)
on a 2-core machine shared with the rest of the suite. What the cells print is parsed back
and compared with torch.nn's modules (built here, tests/torch_modules.py) and with lnorm's
float64 core, never with text from the generator.
"""

import contextlib
import io
import os
import re

import nbformat
import numpy as np
import pytest
import torch

import lnorm_core as lc
from lnorm_app.config import Config
from lnorm_app.models.explorer import explore
from lnorm_app.downloads import downloads
from lnorm_app.notebook import NOTEBOOK_FILE, notebook_bytes
from lnorm_app.reproduce import INPUT_FILE, PASTE_INLINE_MAX
from torch_modules import module_for, param_shapes, printed_param_shapes

CONFIGS = {
    "layer": Config(),
    "group-random-affine": Config(kind="group", shape=(2, 4, 3, 3), num_groups=2, init="random", seed=5),
    "rms-eps-none": Config(kind="rms", shape=(2, 5, 8), normalized_shape=(8,), eps=None, init="random"),
    "batch-eval": Config(kind="batch", shape=(3, 4), training=False),
    "instance-3d": Config(kind="instance", shape=(2, 3, 5)),
    "paste": Config(source="paste", paste="[[1.5, -2.25, 3.0], [0.1, 0.2, 0.30000000000000004]]",
                    normalized_shape=(3,)),
}


def _execute(nb, cwd):
    """Run the notebook's code cells in order in one namespace: (namespace, what each code cell printed)."""
    namespace = {"__name__": "__main__"}
    printed = []
    old = os.getcwd()
    try:
        os.chdir(cwd)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(cell.source, f"<cell {len(printed)}>", "exec"), namespace)  # noqa: S102
            printed.append(out.getvalue())
    finally:
        os.chdir(old)
    return namespace, printed


def _torch_reference(config):
    """torch.nn's output on the explorer's input with the explorer's weight and bias (float64, as in the notebook)."""
    e = explore(config)
    m = module_for(e.spec, e.x.shape)
    with torch.no_grad():
        for name, value in (("weight", e.weight), ("bias", e.bias)):
            p = getattr(m, name, None)
            if p is not None:
                p.copy_(torch.ones_like(p) if name == "weight" and value is None else
                        torch.zeros_like(p) if value is None else torch.from_numpy(value.copy()))
        return m(torch.from_numpy(e.x.copy())).numpy(), e  # cached arrays are read-only


def _printed_array(text, label):
    """The array printed after 'label =' (numpy's repr, 'array([...])')."""
    match = re.search(re.escape(label) + r" = (array\(.*?\))\n", text, re.S)
    assert match, f"{label!r} not printed in {text!r}"
    return np.asarray(lc.parse_tensor(match.group(1)), dtype=np.float64)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_notebook_runs_and_prints_torchs_and_lnorms_numbers(name, tmp_path):
    config = CONFIGS[name]
    nb = nbformat.reads(notebook_bytes(config).decode("utf-8"), as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 3 and [c.cell_type for c in nb.cells].count("markdown") >= 3
    for source in code:  # plain Python: what a kernel would run is what exec runs
        assert not re.search(r"^\s*[%!]", source, re.M), source
    ns, printed = _execute(nb, tmp_path)
    y_torch, e = _torch_reference(config)

    # cell 1 prints the shapes of torch.nn's weight and bias, then its output: torch's print, 4 decimals
    shapes, output = printed_param_shapes(printed[0])
    assert shapes == param_shapes(module_for(e.spec, e.x.shape))
    np.testing.assert_allclose(lc.parse_tensor(output), y_torch, rtol=0, atol=1e-4)
    # cell 2 prints the hand computation: numpy's repr, 8 digits
    np.testing.assert_allclose(lc.parse_tensor(printed[1]), y_torch, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(ns["y"], e.f.y, rtol=0, atol=1e-12)  # and the value itself is lnorm's
    # cell 3 prints how far apart they are, and lnorm's per-group statistics
    gap = float(re.search(r"max \|torch - numpy\| = (\S+)", printed[2]).group(1))
    assert gap == pytest.approx(float(np.abs(y_torch - e.f.y).max()), abs=1e-12) and gap < 1e-12
    if e.spec.uses_running_stats:
        np.testing.assert_array_equal(_printed_array(printed[2], "running_mean"), np.zeros(e.x.shape[1]))
        np.testing.assert_array_equal(_printed_array(printed[2], "running_var"), np.ones(e.x.shape[1]))
    elif e.spec.centers:
        np.testing.assert_allclose(_printed_array(printed[2], "mean"), e.f.mean, rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(_printed_array(printed[2], "var"), e.f.var, rtol=1e-7, atol=1e-8)
    else:
        np.testing.assert_allclose(_printed_array(printed[2], "mean square"), e.f.var, rtol=1e-7, atol=1e-8)


def test_the_group_statistics_are_torchs_own():
    """For GroupNorm the printed mean and var are torch's too: torch.var_mean over each group, biased."""
    config = CONFIGS["group-random-affine"]
    nb = nbformat.reads(notebook_bytes(config).decode("utf-8"), as_version=4)
    _, printed = _execute(nb, os.getcwd())
    torch.manual_seed(config.seed)
    x = torch.randn(2, 4, 3, 3).double()
    var, mean = torch.var_mean(x.reshape(2, 2, 18), dim=-1, correction=0)  # (N, G, C/G*H*W) -> (N, G)
    np.testing.assert_allclose(_printed_array(printed[2], "mean"), mean.ravel().numpy(), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(_printed_array(printed[2], "var"), var.ravel().numpy(), rtol=1e-7, atol=1e-8)


def test_a_large_paste_notebook_loads_the_downloaded_input(tmp_path):
    x = np.round(np.linspace(-2, 2, PASTE_INLINE_MAX + 16).reshape(-1, 8), 6)
    paste = "[" + ",".join("[" + ",".join(repr(v) for v in row) + "]" for row in x.tolist()) + "]"
    config = Config(source="paste", paste=paste, normalized_shape=(8,))
    files = {d.file_name: d for d in downloads(config)}
    (tmp_path / INPUT_FILE).write_bytes(files[INPUT_FILE].data())
    nb = nbformat.reads(files[NOTEBOOK_FILE].data().decode("utf-8"), as_version=4)
    assert INPUT_FILE in nb.cells[0].source  # the first cell says which file to put beside it
    ns, printed = _execute(nb, tmp_path)
    ref = torch.nn.LayerNorm(8, dtype=torch.float64)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ns["y"], ref, rtol=0, atol=1e-12)


def test_the_notebook_is_the_first_download():
    files = downloads(CONFIGS["layer"])
    assert files[0].file_name == NOTEBOOK_FILE and files[0].mime == "application/x-ipynb+json"
