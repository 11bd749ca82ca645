"""The arrays a hand computation takes: x, weight and bias, the running buffers, checked and as numpy.

    as_array(x, "x", np.float64)                 any array-like or torch tensor, or InputError naming it
    affine_params(spec, layout, weight, bias)    (weight, bias) broadcasting against x; torch's ones and zeros
    running_buffers(layout, mean, var)           (running_mean, running_var) broadcasting against x
"""

import numpy as np

from .errors import InputError


def as_array(x, name="x", dtype=np.float64):
    """x (array-like or torch tensor) as a numpy array of `dtype`."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an array of numbers") from None


def affine_params(spec, lay, weight, bias, dtype=np.float64):
    """(weight, bias) as arrays that broadcast against x (lay.param_broadcast), None where the spec has none.

    None for a parameter the spec has means torch's initial value: ones for the weight, zeros for the bias.
    """
    out = []
    for name, value, present, init in (("weight", weight, spec.has_weight, 1.0), ("bias", bias, spec.has_bias, 0.0)):
        if not present:
            if value is not None:
                raise InputError(f"{spec.class_name} with these settings has no {name}; pass {name}=None")
            out.append(None)
            continue
        arr = np.full(lay.param_shape, init, dtype=dtype) if value is None else as_array(value, name, dtype)
        if arr.shape != tuple(lay.param_shape):
            raise InputError(f"{name} has shape {tuple(arr.shape)}, expected {tuple(lay.param_shape)}")
        out.append(arr.reshape(lay.param_broadcast))
    return tuple(out)


def running_buffers(lay, running_mean, running_var, dtype=np.float64):
    """(running_mean, running_var) as (1, C, 1, ...) arrays; torch's initial zeros and ones where None."""
    shape = lay.buffer_shape
    if shape is None:
        raise InputError("running statistics belong to BatchNorm and InstanceNorm with track_running_stats=True")
    rm = np.zeros(shape, dtype) if running_mean is None else as_array(running_mean, "running_mean", dtype)
    rv = np.ones(shape, dtype) if running_var is None else as_array(running_var, "running_var", dtype)
    for name, arr in (("running_mean", rm), ("running_var", rv)):
        if arr.shape != shape:
            raise InputError(f"{name} has shape {tuple(arr.shape)}, expected {shape}")
    return rm.reshape(lay.param_broadcast), rv.reshape(lay.param_broadcast)
