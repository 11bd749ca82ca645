"""torch's own answers, through torch.nn.functional, returned as numpy float64, and the devices torch sees.

These are what the manual core is checked against; nothing here computes a
statistic by hand. Dtype names are read by lnorm_core.dtypes.
"""

import contextlib

import numpy as np
import torch
import torch.nn.functional as F

from .dtypes import torch_dtype
from .errors import InputError


def available_devices():
    """The devices torch sees here: always "cpu", then "cuda" and "mps" where present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def _tensor(value, dtype, device, name="x"):
    """An array-like (or tensor) as a new torch tensor of dtype on device."""
    if isinstance(value, torch.Tensor):
        t = value.detach().clone()
    else:
        t = torch.from_numpy(np.array(value, dtype=np.float64, copy=True))
    return t.to(device=device, dtype=dtype)


def _call(spec, x, weight, bias, running_mean, running_var):
    """y = torch.nn.functional.<norm>(x, ...) for spec; the running buffers are updated in place."""
    if spec.kind == "layer":
        return F.layer_norm(x, spec.normalized_shape, weight, bias, spec.eps)
    if spec.kind == "rms":
        return F.rms_norm(x, spec.normalized_shape, weight, spec.eps)
    if spec.kind == "group":
        return F.group_norm(x, spec.num_groups, weight, bias, spec.eps)
    momentum = spec.momentum if spec.momentum is not None else 0.0  # the caller handles None
    use_input_stats = not spec.uses_running_stats
    if spec.kind == "batch":
        return F.batch_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum, spec.eps)
    return F.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum, spec.eps)


def _inputs(spec, x, weight, bias, running_mean, running_var, dtype, device, requires_grad=False):
    """Tensors for the call: x, weight, bias (torch's initial ones/zeros where None) and buffers."""
    if dtype is None:
        dtype = x.dtype if isinstance(x, torch.Tensor) else torch.float64
    dtype = torch_dtype(dtype)
    xt = _tensor(x, dtype, device)
    lay = spec.layout(tuple(xt.shape))  # refuses where torch refuses, with torch's words
    pshape = lay.param_shape
    wt = bt = rm = rv = None
    if spec.has_weight:
        wt = torch.ones(pshape, dtype=dtype, device=device) if weight is None else _tensor(weight, dtype, device)
    if spec.has_bias:
        bt = torch.zeros(pshape, dtype=dtype, device=device) if bias is None else _tensor(bias, dtype, device)
    for name, t in (("weight", wt), ("bias", bt)):
        if t is not None and tuple(t.shape) != tuple(pshape):
            raise InputError(f"{name} has shape {tuple(t.shape)}, expected {tuple(pshape)}")
    if lay.buffer_shape is not None:
        new = lambda fill: torch.full(lay.buffer_shape, fill, dtype=dtype, device=device)  # noqa: E731 torch's initial
        rm = new(0.0) if running_mean is None else _tensor(running_mean, dtype, device)
        rv = new(1.0) if running_var is None else _tensor(running_var, dtype, device)
    if requires_grad:
        for t in (xt, wt, bt):
            if t is not None:
                t.requires_grad_(True)
    return xt, wt, bt, rm, rv


@contextlib.contextmanager
def _torch_refusals():
    """Where torch refuses (RuntimeError, ValueError, TypeError), an InputError with torch's message."""
    try:
        yield
    except InputError:
        raise
    except (RuntimeError, ValueError, TypeError) as e:
        raise InputError(str(e)) from None


def _numpy(t):
    """A tensor as float64 numpy on the CPU."""
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


def torch_forward(spec, x, weight=None, bias=None, dtype=None, device="cpu", running_mean=None, running_var=None):
    """torch.nn.functional's output for spec on x, as float64 numpy.

    dtype: the dtype torch computes in ("float64", "float32", "float16", "bfloat16"
        or a torch.dtype); None means x's dtype for a tensor, float64 otherwise.
    device: "cpu", or "cuda"/"mps" where torch sees one.
    weight, bias: None means torch's initial ones and zeros.
    running_mean, running_var: used in eval mode with track_running_stats; in
        training they are copied, so nothing passed in is changed.
    Where torch refuses, InputError carries torch's message.
    """
    with torch.no_grad(), _torch_refusals():
        args = _inputs(spec, x, weight, bias, running_mean, running_var, dtype, device)
        return _numpy(_call(spec, *args))


def torch_backward(spec, x, grad_out, weight=None, bias=None, dtype=None, device="cpu", running_mean=None, running_var=None):
    """torch autograd's gradients of sum(grad_out * y): {"input", "weight", "bias"} as float64 numpy.

    Arguments as for torch_forward; a gradient is None where the spec has no such parameter.
    """
    with _torch_refusals():
        xt, wt, bt, rm, rv = _inputs(spec, x, weight, bias, running_mean, running_var, dtype, device, True)
        y = _call(spec, xt, wt, bt, rm, rv)
        y.backward(_tensor(grad_out, y.dtype, device))
    grad = lambda t: None if t is None else _numpy(t.grad)  # noqa: E731
    return {"input": grad(xt), "weight": grad(wt), "bias": grad(bt)}


def functional(spec, x):
    """torch.nn.functional's call for spec on the torch tensor x, as it is: no weight, bias or running buffers.

    What the timing harness times as "native"; a tensor in, a tensor out, nothing converted.
    """
    return _call(spec, x, None, None, None, None)
