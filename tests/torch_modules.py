"""The torch.nn module a NormSpec stands for: the independent reference of the core's tests."""

import re

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
