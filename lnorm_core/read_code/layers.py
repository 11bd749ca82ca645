"""torch.nn's normalization layers in a snippet: nn.LayerNorm(4), F.group_norm(x, 2), ... are read as the layer to
compare against (the reading's code_spec), and their output is computed by lnorm's own forward."""

import numpy as np

from ..errors import InputError
from ..manual import manual_forward
from ..spec import NormSpec
from .context import CodeError
from .limits import Unreadable
from .values import Sym, Val
from .vocabulary import NAMESPACES, REQUIRED, Func, function, to_bool, to_float, to_int, to_ints


def _eps(v, default, line):
    if v is None or v.kind == "none":
        return default
    return to_float(v, line)


def _spec(line, **kw):
    try:
        return NormSpec(**kw)
    except InputError as e:
        raise CodeError(line, "ValueError", str(e)) from None


def layer_name(spec, shape):
    """A layer as a person builds it for an input of `shape`, e.g. 'nn.BatchNorm2d(3)' (NormSpec.torch_name)."""
    return "nn." + spec.torch_name(shape, short=True)


def _layer(ev, spec, line, channels=None, spatial=1):
    ev.ctx.layers.append((line, spec))
    # the class the code named: a (2, C, 1, ...) input with as many spatial dims names it (BatchNorm2d: 2)
    shape = spec.normalized_shape if spec.info.trailing else (2, channels) + (1,) * spatial
    ev.ctx.note(line, f"{layer_name(spec, shape)}: torch's layer, the one to compare with")
    return Val("layer", spec, extra={"channels": channels})


def _layer_norm(kind):
    def impl(ev, line, normalized_shape, eps=None, elementwise_affine=None, bias=None):
        ns = to_ints(normalized_shape, line)
        affine = True if elementwise_affine is None else to_bool(elementwise_affine, line)
        spec = _spec(line, kind=kind, normalized_shape=ns, eps=_eps(eps, 1e-5 if kind == "layer" else None, line),
                     elementwise_affine=affine, bias=True if bias is None else to_bool(bias, line))
        return _layer(ev, spec, line)
    return impl


def _group_norm(ev, line, num_groups, num_channels, eps=None, affine=None):
    spec = _spec(line, kind="group", num_groups=to_int(num_groups, line), eps=_eps(eps, 1e-5, line),
                 affine=True if affine is None else to_bool(affine, line))
    return _layer(ev, spec, line, to_int(num_channels, line))


def _channel_norm(kind, default_affine, default_track, spatial):
    def impl(ev, line, num_features, eps=None, momentum=None, affine=None, track_running_stats=None):
        spec = _spec(line, kind=kind, eps=_eps(eps, 1e-5, line),
                     affine=default_affine if affine is None else to_bool(affine, line),
                     momentum=0.1 if momentum is None or momentum.kind == "none" else to_float(momentum, line),
                     track_running_stats=default_track if track_running_stats is None else to_bool(
                         track_running_stats, line))
        return _layer(ev, spec, line, to_int(num_features, line), spatial)
    return impl


def _params(kind, affine):
    return [("num_features", REQUIRED), ("eps", None), ("momentum", None), ("affine", None),
            ("track_running_stats", None)]


NAMESPACES["torch.nn"] = {
    "LayerNorm": function("nn.LayerNorm", [("normalized_shape", REQUIRED), ("eps", None),
                                           ("elementwise_affine", None), ("bias", None)], _layer_norm("layer")),
    "RMSNorm": function("nn.RMSNorm", [("normalized_shape", REQUIRED), ("eps", None),
                                       ("elementwise_affine", None)], _layer_norm("rms")),
    "GroupNorm": function("nn.GroupNorm", [("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", None),
                                           ("affine", None)], _group_norm),
    **{f"BatchNorm{d}d": function(f"nn.BatchNorm{d}d", _params("batch", True), _channel_norm("batch", True, True, d))
       for d in (1, 2, 3)},
    **{f"InstanceNorm{d}d": function(f"nn.InstanceNorm{d}d", _params("instance", False),
                                     _channel_norm("instance", False, False, d)) for d in (1, 2, 3)},
}


def call_layer(ev, fn, args, kwargs, line):
    """A layer of the snippet called on a tensor: torch's output, by lnorm's forward, with torch's checks."""
    if len(args) != 1 or kwargs:
        raise CodeError(line, "TypeError", "a normalization layer takes one tensor")
    return _apply(ev, fn.data, args[0], None, None, line, fn.extra.get("channels"))


def _apply(ev, spec, x, weight, bias, line, channels=None):
    if x.kind != "tensor":
        raise CodeError(line, "TypeError", f"a normalization layer takes a Tensor, not a {x.kind}")
    shape = x.shape
    try:
        spec.check(shape)
    except InputError as e:
        raise CodeError(line, "RuntimeError", str(e)) from None
    if channels is not None and len(shape) > 1 and shape[1] != channels and (spec.has_weight or
                                                                             spec.keeps_running_stats):
        what = "running_mean" if spec.keeps_running_stats else "weight"
        raise CodeError(line, "RuntimeError", f"{what} should contain {shape[1]} elements not {channels}")
    ev.ctx.spend(2 * np.size(x.data), line)
    y = manual_forward(spec, x.data, weight, bias)
    if x.sym.role == "input":
        sym = Sym("ref", src=x.sym.src, spec=spec)
    else:
        sym = Sym("opaque", why="torch's layer on a value made from the input", line=line)
    ev.ctx.note(line, f"{layer_name(spec, shape)} on {ev.ctx.label(np.ravel(x.sym.src)) if x.sym.role == 'input' else 'it'}")
    return Val("tensor", y, sym, x.dtype)


def _param(v, line):
    if v is None or v.kind == "none":
        return None
    if not v.numeric or v.sym.role != "const":
        raise Unreadable(line, "a weight or bias made from the input")
    return np.asarray(v.data, dtype=np.float64)


def _f_layer_norm(kind):
    def impl(ev, line, input, normalized_shape, weight=None, bias=None, eps=None):
        w, b = _param(weight, line), _param(bias, line)
        spec = _spec(line, kind=kind, normalized_shape=to_ints(normalized_shape, line),
                     eps=_eps(eps, 1e-5 if kind == "layer" else None, line),
                     elementwise_affine=w is not None, bias=b is not None or kind == "rms")
        ev.ctx.layers.append((line, spec))
        return _apply(ev, spec, input, w, b, line)
    return impl


def _f_group_norm(ev, line, input, num_groups, weight=None, bias=None, eps=None):
    w, b = _param(weight, line), _param(bias, line)
    spec = _spec(line, kind="group", num_groups=to_int(num_groups, line), eps=_eps(eps, 1e-5, line),
                 affine=w is not None or b is not None)
    ev.ctx.layers.append((line, spec))
    return _apply(ev, spec, input, w if w is not None or b is None else None, b, line)


def _f_instance_norm(ev, line, input, running_mean=None, running_var=None, weight=None, bias=None,
                     use_input_stats=None, momentum=None, eps=None):
    if any(v is not None and v.kind != "none" for v in (running_mean, running_var)):
        raise Unreadable(line, "F.instance_norm with running statistics is not read")
    w, b = _param(weight, line), _param(bias, line)
    spec = _spec(line, kind="instance", eps=_eps(eps, 1e-5, line), affine=w is not None)
    ev.ctx.layers.append((line, spec))
    return _apply(ev, spec, input, w, b, line)


def _f_batch_norm(ev, line, input, running_mean, running_var, weight=None, bias=None, training=None,
                  momentum=None, eps=None):
    if not (training is not None and to_bool(training, line)) or any(
            v.kind != "none" for v in (running_mean, running_var)):
        raise Unreadable(line, "F.batch_norm is read with running_mean=None, running_var=None, training=True")
    w, b = _param(weight, line), _param(bias, line)
    spec = _spec(line, kind="batch", eps=_eps(eps, 1e-5, line), affine=w is not None, track_running_stats=False)
    ev.ctx.layers.append((line, spec))
    return _apply(ev, spec, input, w, b, line)


NAMESPACES["torch.nn.functional"] = {
    "layer_norm": function("F.layer_norm", [("input", REQUIRED), ("normalized_shape", REQUIRED), ("weight", None),
                                            ("bias", None), ("eps", None)], _f_layer_norm("layer")),
    "rms_norm": function("F.rms_norm", [("input", REQUIRED), ("normalized_shape", REQUIRED), ("weight", None),
                                        ("eps", None)], _f_layer_norm("rms")),
    "group_norm": function("F.group_norm", [("input", REQUIRED), ("num_groups", REQUIRED), ("weight", None),
                                            ("bias", None), ("eps", None)], _f_group_norm),
    "instance_norm": function("F.instance_norm", [("input", REQUIRED), ("running_mean", None),
                                                  ("running_var", None), ("weight", None), ("bias", None),
                                                  ("use_input_stats", None), ("momentum", None), ("eps", None)],
                              _f_instance_norm),
    "batch_norm": function("F.batch_norm", [("input", REQUIRED), ("running_mean", REQUIRED),
                                            ("running_var", REQUIRED), ("weight", None), ("bias", None),
                                            ("training", None), ("momentum", None), ("eps", None)], _f_batch_norm),
}
NAMESPACES["torch.nn"]["functional"] = Val("namespace", "torch.nn.functional")


def _layer_property(name):
    def get(ev, this, line):
        spec = this.data
        if name == "eps":
            return Val("number", np.asarray(spec.eps if spec.eps is not None else np.nan))
        raise Unreadable(line, f"the layer's .{name} is not read")
    return get


from .vocabulary import METHODS, PROPERTIES  # noqa: E402 - the tables the layer kind joins

PROPERTIES["layer"] = {"eps": _layer_property("eps")}
METHODS["layer"] = {
    "eval": Func(".eval", [], lambda ev, line, this: Val("layer", this.data.with_(training=False), extra=this.extra)
                 if this.data.info.running_stats else this),
    "train": Func(".train", [], lambda ev, line, this: Val("layer", this.data.with_(training=True), extra=this.extra)),
}
