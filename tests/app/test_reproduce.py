"""The explorer's take-home code: the generated snippets run and print the explorer's numbers.

The snippets are executed here, in the test only, each in a fresh namespace, and
their y is compared with torch.nn.functional (lc.torch_forward) and with the
explorer's own output.
"""

import contextlib
import io
import os

import numpy as np
import pytest
import torch

import lnorm_core as lc
from lnorm_app.config import Config
from lnorm_app.models.explorer import explore
from lnorm_app.downloads import downloads
from lnorm_app.reproduce import INPUT_FILE, PASTE_INLINE_MAX, module_code, numpy_code, torch_code
from torch_modules import module_for, param_shapes, printed_param_shapes

CONFIGS = {
    "layer": Config(),
    "layer-2-dims-random-affine": Config(shape=(4, 2, 3), normalized_shape=(2, 3), init="random", seed=7),
    "rms-eps-none": Config(kind="rms", shape=(2, 5, 8), normalized_shape=(8,), eps=None, init="random"),
    "batch-2d-train": Config(kind="batch", shape=(2, 4, 3, 3), init="random", seed=3),
    "batch-1d-eval": Config(kind="batch", shape=(3, 4), training=False),
    "batch-6d-functional": Config(kind="batch", shape=(2, 2, 2, 1, 2, 2), init="random"),
    "instance-no-affine": Config(kind="instance", shape=(2, 3, 5), affine=False),
    "layer-no-affine": Config(affine=False),
    "rms-no-affine": Config(kind="rms", shape=(3, 4), normalized_shape=(4,), affine=False),
    "instance-2d-eval-no-affine": Config(kind="instance", shape=(2, 3), training=False, track_running_stats=True,
                                         affine=False),
    "instance-3d-tracked-eval": Config(kind="instance", shape=(1, 2, 2, 3, 2), affine=True, init="random",
                                       training=False, track_running_stats=True),
    "group": Config(kind="group", shape=(2, 4, 3, 3), num_groups=2, init="random", seed=11),
    "uniform-offset": Config(dist="uniform", offset=1000.0, scale=0.25, shape=(3, 6), normalized_shape=(6,)),
    "paste": Config(source="paste", paste="tensor([[1.5, -2.25, 3.0], [0.1, 0.2, 0.30000000000000004]])",
                    normalized_shape=(3,)),
    "paste-group": Config(source="paste", kind="group", num_groups=1,
                          paste="[[[1, 2], [3, 4]], [[5, 6.125], [7, 8]]]"),
}


def _run(code, cwd=None):
    """Run generated code in a fresh namespace (and cwd); return the namespace and what it printed."""
    namespace = {"__name__": "__lnorm_snippet__"}
    out = io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<snippet>", "exec"), namespace)  # noqa: S102 - the test runs what the app shows
    finally:
        os.chdir(old)
    return namespace, out.getvalue()


def _as_numpy(y):
    return y.detach().double().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64)


def _reference(config):
    """torch.nn.functional's answer on the explorer's input and parameters (running stats: torch's initial)."""
    e = explore(config)
    return lc.torch_forward(e.spec, e.x, e.weight, e.bias), e


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("generate", [torch_code, numpy_code], ids=["torch", "numpy"])
def test_snippet_reproduces_the_explorer(name, generate):
    config = CONFIGS[name]
    y_ref, e = _reference(config)
    ns, printed = _run(generate(config))
    y = _as_numpy(ns["y"])
    assert y.shape == e.x.shape
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(y, e.f.y, rtol=0, atol=1e-9)
    # and what it printed reads back as the same numbers, to print precision
    shown = lc.parse_tensor(printed_param_shapes(printed)[1])
    np.testing.assert_allclose(shown, y, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_torch_code_prints_the_shapes_of_torch_nn_weight_and_bias(name):
    e = explore(CONFIGS[name])
    ns, printed = _run(torch_code(CONFIGS[name]))
    shapes, _ = printed_param_shapes(printed)
    if e.spec.nn_class(e.x.ndim) is None:  # no nn class: F.batch_norm / F.instance_norm take (C,) or None
        c = e.x.shape[1]
        assert shapes == ({"weight": (c,), "bias": (c,)} if e.spec.affine else {"weight": None, "bias": None})
    else:
        assert shapes == param_shapes(module_for(e.spec, e.x.shape))  # torch.nn's own module, built here
        assert shapes == param_shapes(ns["layer"])


@pytest.mark.parametrize("name", ["layer", "group", "uniform-offset"])
def test_snippet_draws_the_explorers_input(name):
    config = CONFIGS[name]
    for generate in (torch_code, numpy_code):
        ns, _ = _run(generate(config))
        np.testing.assert_array_equal(_as_numpy(ns["x"]), explore(config).x)  # bit for bit


def test_seeded_random_affine_is_torch_manual_seed_plus_one_and_two():
    config = CONFIGS["group"]
    ns, _ = _run(torch_code(config))
    torch.manual_seed(config.seed + 1)
    weight = torch.randn(4).double()
    torch.manual_seed(config.seed + 2)
    bias = torch.randn(4).double()
    np.testing.assert_array_equal(ns["layer"].weight.detach().numpy(), weight.numpy())
    np.testing.assert_array_equal(ns["layer"].bias.detach().numpy(), bias.numpy())
    np.testing.assert_array_equal(explore(config).weight, weight.numpy())


def test_paste_keeps_full_float64_precision():
    values = np.array([[0.1 + 0.2, 1 / 3, -2.0**-40, 123456.789012345678]])
    paste = "[" + ", ".join(repr(float(v)) for v in values.ravel()) + "]"
    config = Config(source="paste", paste=f"[{paste}]", normalized_shape=(4,))
    for generate in (torch_code, numpy_code):
        ns, _ = _run(generate(config))
        np.testing.assert_array_equal(_as_numpy(ns["x"]), values)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_paste_with_nan_and_inf_runs():
    config = Config(source="paste", paste="[[1.0, nan, 3.0], [-inf, 2.0, 2.0], [1.0, 2.0, 4.0]]",
                    normalized_shape=(3,))
    y_ref, e = _reference(config)
    for generate in (torch_code, numpy_code):
        ns, _ = _run(generate(config))
        np.testing.assert_allclose(_as_numpy(ns["y"]), y_ref, rtol=0, atol=1e-9, equal_nan=True)


def test_a_large_paste_is_loaded_from_the_downloaded_file(tmp_path):
    x = np.round(np.linspace(-3, 3, PASTE_INLINE_MAX + 8).reshape(-1, 8) ** 3, 6)
    paste = "[" + ",".join("[" + ",".join(repr(v) for v in row) + "]" for row in x.tolist()) + "]"
    config = Config(source="paste", paste=paste, normalized_shape=(8,))
    code = torch_code(config)
    assert "more than the 4,096 written out here" in code and INPUT_FILE in code
    assert len(code) < 2000  # not inlined
    files = {d.file_name: d for d in downloads(config)}
    (tmp_path / INPUT_FILE).write_bytes(files[INPUT_FILE].data())
    y_ref, _ = _reference(config)
    for generate in (torch_code, numpy_code):
        ns, _ = _run(generate(config), cwd=tmp_path)
        np.testing.assert_allclose(_as_numpy(ns["y"]), y_ref, rtol=0, atol=1e-9)


def test_snippets_refuse_what_torch_refuses():
    bad = Config(shape=(4, 2, 3), normalized_shape=(2,))
    with pytest.raises(lc.InputError, match=r"Given normalized_shape=\[2\]"):
        torch_code(bad)
    with pytest.raises(lc.InputError, match="divisible"):
        numpy_code(Config(kind="group", shape=(2, 4, 3), num_groups=3))


def test_module_code_names_torch_classes():
    spec = lc.NormSpec("group", num_groups=2)
    assert module_code(spec, (2, 4, 3, 3), short=True) == "nn.GroupNorm(2, 4)"
    assert module_code(spec, (2, 4, 3, 3)) == "nn." + repr(torch.nn.GroupNorm(2, 4))  # torch's own name for it
    assert module_code(spec, (2, 4, 3, 3), dtype="torch.float64") == (
        "nn.GroupNorm(2, 4, eps=1e-05, affine=True, bias=True, dtype=torch.float64)")
    assert module_code(lc.NormSpec("instance"), (2, 3, 4, 4), short=True) == "nn.InstanceNorm2d(3)"
    assert module_code(lc.NormSpec("batch"), (5, 3), short=True) == "nn.BatchNorm1d(3)"
    assert module_code(lc.NormSpec("layer", normalized_shape=(3, 4)), (2, 3, 4), short=True) == "nn.LayerNorm((3, 4))"
    assert module_code(lc.NormSpec("instance"), (2, 3), short=True) == "F.instance_norm"
