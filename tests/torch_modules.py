"""The torch.nn module a NormSpec stands for, the independent reference of the core's tests, and a LayerPair's
gaps checked against two such modules."""

import re

import numpy as np
import torch
from torch import nn


def module_for(spec, shape, dtype=torch.float64, seed=0):
    """The torch.nn module for spec on input `shape`, with seeded random affine parameters.

    Built from torch.nn's classes directly (not through lnorm_core.reference), so a
    test that compares the core with it compares two independent computations.
    """
    ndim = len(shape)
    if spec.kind == "layer":
        m = nn.LayerNorm(spec.normalized_shape, spec.eps, spec.elementwise_affine, spec.bias, dtype=dtype)
    elif spec.kind == "rms":
        m = nn.RMSNorm(spec.normalized_shape, spec.eps, spec.elementwise_affine, dtype=dtype)
    elif spec.kind == "group":
        m = nn.GroupNorm(spec.num_groups, shape[1], spec.eps, spec.affine, dtype=dtype)
    else:
        # BatchNorm1d takes (N, C) and (N, C, L); InstanceNorm1d only (N, C, L) batched
        n_spatial = max(ndim - 2, 1)
        cls = {
            "batch": (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d),
            "instance": (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d),
        }[spec.kind][n_spatial - 1]
        m = cls(shape[1], spec.eps, spec.momentum, spec.affine, spec.track_running_stats, dtype=dtype)
        m.train(spec.training)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return m


def params_of(module):
    """(weight, bias) of a module as float64 numpy, None where absent."""
    w = getattr(module, "weight", None)
    b = getattr(module, "bias", None)
    as_np = lambda p: None if p is None else p.detach().double().numpy().copy()  # noqa: E731
    return as_np(w), as_np(b)


def param_shapes(module):
    """{"weight": its shape or None, "bias": ...} of a torch.nn module (no "bias" where the class has none)."""
    names = [n for n in ("weight", "bias") if hasattr(module, n)]
    return {n: None if getattr(module, n) is None else tuple(getattr(module, n).shape) for n in names}


def printed_param_shapes(printed):
    """What generated code printed of its weight and bias, as param_shapes gives them, and the rest of the text.

    Reads the lines 'weight.shape == (3, 4)', 'bias.shape == (3, 4)', 'weight: None' and
    'weight: None bias: None'.
    """
    shapes, rest = {}, []
    for line in printed.splitlines():
        shape = re.fullmatch(r"(weight|bias)\.shape == \(([\d, ]*)\)", line)
        if shape:
            shapes[shape.group(1)] = tuple(int(d) for d in re.findall(r"\d+", shape.group(2)))
        elif re.fullmatch(r"weight: None( bias: None)?", line):
            shapes.update(dict.fromkeys(["weight", "bias"] if "bias" in line else ["weight"]))
        else:
            rest.append(line)
    return shapes, "\n".join(rest)


def module_with(spec, shape, weight=None, bias=None, eval_mode=False):
    """torch.nn's module for spec with the given weight and bias (ones and zeros where None), in train or eval."""
    m = module_for(spec, shape)
    with torch.no_grad():
        if getattr(m, "weight", None) is not None:
            m.weight.copy_(torch.ones_like(m.weight) if weight is None else torch.from_numpy(np.asarray(weight)))
        if getattr(m, "bias", None) is not None:
            m.bias.copy_(torch.zeros_like(m.bias) if bias is None else torch.from_numpy(np.asarray(bias)))
    m.train(not eval_mode)
    return m


def _pair_outputs(pair, x, gap):
    """torch's y_a and y_b (back in x's layout) for the setting of one Gap of pair."""
    xt = torch.from_numpy(x)
    xb = eval(pair.view.code, {"x": xt})  # noqa: S307 - the code the page shows, run in torch
    assert tuple(xb.shape) == pair.view.shape
    np.testing.assert_array_equal(xb.numpy(), pair.view.apply(x))
    affine = gap.what.startswith("affine")  # else the plain modules
    a = pair.spec_a.with_(training=True).with_affine(affine)
    b = pair.spec_b.with_(training=True).with_affine(affine)
    ma = module_with(a, x.shape, gap.weight_a, gap.bias_a, eval_mode=gap.eval_a)
    mb = module_with(b, pair.view.shape, gap.weight_b, gap.bias_b, eval_mode=gap.eval_b)
    with torch.no_grad():
        ya = ma(xt).numpy()
        yb = pair.view.undo(mb(xb).numpy(), x.shape)
    return ya, yb


def check_pair_against_torch(pair, x):
    """Each gap of a LayerPair is torch's: its two modules on x and on the pair's view of x differ by it."""
    for name, gap in pair.gaps.items():
        ya, yb = _pair_outputs(pair, x, gap)
        torch_gap = float(np.max(np.abs(ya - yb)))
        np.testing.assert_allclose(torch_gap, gap.max_abs, rtol=1e-6, atol=1e-9, err_msg=name)
        if name == "no affine":
            assert (torch_gap < 1e-9) == pair.same_output, (name, torch_gap)
        if name == "affine" and pair.same_output:
            assert (torch_gap < 1e-9) == pair.b_covers_a, (name, torch_gap)
        if name == "affine reversed" and pair.same_output:
            assert (torch_gap < 1e-9) == pair.a_covers_b, (name, torch_gap)
