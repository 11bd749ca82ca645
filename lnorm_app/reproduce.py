"""What a person takes home from the explorer: code that reproduces a view (the notebook and the files are
lnorm_app.notebook and lnorm_app.downloads).

    torch_code(config)   -> Python that rebuilds the input and the nn module, prints weight.shape and bias.shape
                            and torch's output
    numpy_code(config)   -> the same output computed by hand in a few lines of numpy (two passes)
    module_code(spec, shape) -> the nn constructor, e.g. "nn.GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"

The code is generated here and only ever run by the tests: nothing in lnorm
executes it. Both snippets compute in float64, as the explorer does: the seeded
input is drawn in float32 (torch's default dtype, so the draw is the one a
notebook gets) and converted to float64 before the layer, so the printed output
equals the explorer's numbers, not a float32 run's.
"""

import numpy as np

from .models.explorer import explore

PASTE_INLINE_MAX = 4096  # a pasted tensor up to this many elements is written into the code
INPUT_FILE = "lnorm_input.npy"  # what the code loads when a paste is too large to inline
_LINE = 96  # the width the tensor literals wrap at


# ---- the nn module ---------------------------------------------------------------------------


def module_code(spec, shape, short=False, dtype=None):
    """The nn constructor for spec on input shape, as code: "nn." and torch's name of the layer.

    short: only the arguments not at torch's defaults, e.g. "nn.GroupNorm(2, 4)"; otherwise
    every argument, as torch prints the module, e.g. "nn.GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)".
    dtype: a dtype to build the parameters in, e.g. "torch.float64".
    Where no nn class takes the input (a 6-D BatchNorm, a 2-D InstanceNorm), the functional
    form is named instead, e.g. "F.batch_norm".
    """
    if spec.nn_class(len(shape)) is None:
        return f"F.{spec.kind}_norm"
    name = spec.torch_name(shape, short=short)
    return f"nn.{name[:-1]}, dtype={dtype})" if dtype else f"nn.{name}"


# ---- the input -------------------------------------------------------------------------------


def _literal(a, indent=0):
    """A float64 array as a nested Python list, every value as repr writes it (it reads back exactly)."""
    if a.ndim == 1:
        items = [repr(float(v)) for v in a]
        lines, line = [], ""
        for item in items:
            if line and len(line) + len(item) + indent > _LINE:
                lines.append(line.rstrip())
                line = ""
            line += item + ", "
        lines.append(line[:-2])
        return "[" + ("\n" + " " * (indent + 1)).join(lines) + "]"
    inner = [_literal(row, indent + 1) for row in a]
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(inner) + "]"


def shape_args(shape):
    """A shape as the arguments of torch.randn: '2, 3, 4'."""
    return ", ".join(str(d) for d in shape)


def _input_lines(config, x, lib):
    """Lines that build the explorer's input x as float64, as a torch tensor or a numpy array."""
    if config.source == "paste":
        if x.size > PASTE_INLINE_MAX:
            load = f'np.load("{INPUT_FILE}")'
            return [
                f"# The pasted tensor has {x.size:,} elements, more than the {PASTE_INLINE_MAX:,} written out here:",
                f'# download "input (.npy)" from the explorer and put {INPUT_FILE} beside this notebook.',
                f"x = torch.from_numpy({load})  # float64" if lib == "torch" else f"x = {load}  # float64",
            ]
        lines = ["# the pasted tensor, every value to full float64 precision"]
        if not np.isfinite(x).all():
            lines.append("from math import inf, nan")
        literal = _literal(x, indent=len("x = torch.tensor(") if lib == "torch" else len("x = np.array("))
        if lib == "torch":
            lines.append(f"x = torch.tensor({literal}, dtype=torch.float64)")
        else:
            lines.append(f"x = np.array({literal}, dtype=np.float64)")
        return lines
    draw = "torch.randn" if config.dist == "normal" else "torch.rand"
    expr = f"{draw}({shape_args(x.shape)}).double()"
    if config.scale != 1.0:
        expr += f" * {config.scale!r}"
    if config.offset != 0.0:
        expr += f" + {config.offset!r}"
    if lib == "numpy":
        expr = f"({expr}).numpy()" if (config.scale != 1.0 or config.offset != 0.0) else expr + ".numpy()"
    what = "" if config.dist == "normal" else ", uniform on [0, 1)"
    then = ", then scaled and shifted" if (config.scale != 1.0 or config.offset != 0.0) else ""
    return [
        f"# x: drawn in float32 (torch's default dtype{what}), made float64{then}",
        f"torch.manual_seed({config.seed})",
        f"x = {expr}",
    ]


def _param_lines(config, spec, pshape, lib):
    """Lines that set the seeded random weight and bias (Config.params), or nothing for torch's defaults."""
    if config.init != "random" or not spec.has_weight:
        return []
    args = shape_args(pshape)
    lines = []
    for name, offset, present in (("weight", 1, spec.has_weight), ("bias", 2, spec.has_bias)):
        if not present:
            continue
        draw = f"torch.randn({args}).double()"
        if lib == "torch":
            lines += [f"torch.manual_seed({config.seed + offset})", f"layer.{name}.copy_({draw})"]
        else:
            lines += [f"torch.manual_seed({config.seed + offset})", f"{name} = {draw}.numpy()"]
    if lib == "torch":
        return ["with torch.no_grad():  # the explorer's random weight and bias: seed + 1 and seed + 2"] + [
            "    " + line for line in lines]
    return ["# the explorer's random weight and bias: seed + 1 and seed + 2"] + lines


def _header(e):
    """The first comment line: what is reproduced."""
    what, groups = e.caption.split(": ", 1)  # "LayerNorm(...) on (2, 3, 4)", "6 groups of 4 elements each"
    return f"# lnorm explorer: {what}\n# {groups}".replace(" (eval mode", "\n# (eval mode")


# ---- torch ------------------------------------------------------------------------------------


def torch_code(config):
    """Python that rebuilds the explorer's input and layer with torch.nn and prints its output.

    Runs in a fresh notebook (torch only, plus numpy for a large paste). The layer is
    float64 and ends in `y = layer(x)`; the printed y equals explore(config).f.y.
    Raises InputError where the config is invalid.
    """
    e = explore(config)
    spec, x = e.spec, e.x
    shape = tuple(x.shape)
    lines = [_header(e), "# float64, as the explorer computes", "import torch", "from torch import nn"]
    cls = spec.nn_class(len(shape))
    if cls is None:
        lines.append("import torch.nn.functional as F")
    if config.source == "paste" and x.size > PASTE_INLINE_MAX:
        lines.append("import numpy as np")
    lines.append("")
    lines += _input_lines(config, x, "torch")
    lines.append("")
    if cls is not None:
        lines.append(f"layer = {module_code(spec, shape, dtype='torch.float64')}")
        if spec.info.running_stats and not spec.training:
            lines.append("layer.eval()  # eval mode" + (": normalize with running_mean and running_var"
                                                        if spec.track_running_stats else ""))
        lines += _shape_lines(spec, "layer.")
        lines += _param_lines(config, spec, spec.param_shape(shape), "torch")
        lines += ["y = layer(x)", "print(y)"]
    else:
        lines += _functional_lines(config, spec, shape)
    return "\n".join(lines) + "\n"


INPUT_STATS_ARG = {"batch": "training", "instance": "use_input_stats"}  # F.batch_norm's and F.instance_norm's name


def _shape_lines(spec, owner):
    """Lines that print weight.shape and bias.shape (owner: "layer." or "" for plain tensors)."""
    if not spec.has_weight:
        flag = "elementwise_affine" if spec.info.trailing else "affine"
        if not spec.info.has_bias:
            return [f'print("weight:", {owner}weight)  # {flag}=False: no weight ({spec.class_name} has no bias)']
        return [f'print("weight:", {owner}weight, "bias:", {owner}bias)  # {flag}=False: no weight, no bias']
    where = "== normalized_shape" if spec.info.trailing else "(C,): one entry per channel"
    lines = [f'print("weight.shape ==", tuple({owner}weight.shape))  # {where}']
    if spec.has_bias:
        return lines + [f'print("bias.shape ==", tuple({owner}bias.shape))']
    return [lines[0] + f"; {spec.class_name} has no bias"]


def _functional_lines(config, spec, shape):
    """The F.batch_norm / F.instance_norm call for an input no nn class takes."""
    c = shape[1]
    lines = [f"# no nn class takes a {len(shape)}-D input for {spec.class_name}: the functional form does"]
    if not spec.affine:
        lines.append("weight = bias = None  # affine=False")
    elif config.init == "random":
        lines += [f"torch.manual_seed({config.seed + 1})", f"weight = torch.randn({c}).double()",
                  f"torch.manual_seed({config.seed + 2})", f"bias = torch.randn({c}).double()"]
    else:
        lines += [f"weight = torch.ones({c}, dtype=torch.float64)", f"bias = torch.zeros({c}, dtype=torch.float64)"]
    lines += _shape_lines(spec, "")
    stats = "None, None"
    if spec.track_running_stats:
        lines += [f"running_mean = torch.zeros({c}, dtype=torch.float64)",
                  f"running_var = torch.ones({c}, dtype=torch.float64)"]
        stats = "running_mean, running_var"
    use_input = f"{INPUT_STATS_ARG[spec.kind]}={not spec.uses_running_stats}"
    call = (f"F.{spec.kind}_norm(x, {stats}, weight, bias, {use_input}, momentum={spec.momentum!r}, "
            f"eps={spec.eps!r})")
    return lines + [f"y = {call}", "print(y)"]


# ---- numpy ------------------------------------------------------------------------------------


def _pooling_lines(spec, lay):
    """(lines that set v, x as the layer pools it, and the reduce axes as code), from the layer's layout."""
    groups = f"{lay.num_groups} group{'s' if lay.num_groups != 1 else ''} of {lay.group_size}"
    lines = [f"# {spec.class_name}: each group is x.reshape{lay.view} reduced over dims {lay.reduce_dims}: {groups}"]
    if lay.view == lay.shape:
        lines.append("v = x")
    else:
        lines.append(f"v = x.reshape{lay.view}  # {lay.shape} -> {lay.view}")
    return lines, str(lay.reduce_dims)


def _affine_shape(spec, shape):
    """The shape weight and bias broadcast in against x: normalized_shape, or (1, C, 1, ...)."""
    return tuple(spec.layout(shape).param_broadcast)


def numpy_code(config):
    """The explorer's output computed by hand in numpy: two passes, biased variance, eps inside the root.

    Ends in `y = ...` and `print(repr(y))`; y equals explore(config).f.y. torch is imported
    only to draw the same seeded input (and random weight and bias) as the explorer.
    Raises InputError where the config is invalid.
    """
    e = explore(config)
    spec, x = e.spec, e.x
    shape = tuple(x.shape)
    needs_torch = config.source != "paste" or (config.init == "random" and spec.has_weight)
    lines = [_header(e), "# float64, as the explorer computes", "import numpy as np"]
    if needs_torch:
        lines.append("import torch  # only to draw the same seeded numbers as the explorer")
    lines.append("")
    lines += _input_lines(config, x, "numpy")
    if spec.eps is None:
        lines.append("eps = np.finfo(np.float64).eps  # RMSNorm's eps=None: the machine epsilon of float64 input")
    else:
        lines.append(f"eps = {spec.eps!r}")
    lines.append("")
    if spec.uses_running_stats:
        bshape = _affine_shape(spec, shape)
        lines += [
            "# eval mode with track_running_stats: torch normalizes with the running statistics, not",
            "# this input's; a fresh layer's are running_mean = 0 and running_var = 1",
            f"running_mean = np.zeros({shape[1]}).reshape{bshape}",
            f"running_var = np.ones({shape[1]}).reshape{bshape}",
            "x_hat = (x - running_mean) / np.sqrt(running_var + eps)  # eps inside the root",
        ]
    else:
        lay = e.f.layout
        pool, axis = _pooling_lines(spec, lay)
        kept = tuple(1 if d in lay.reduce_dims else size for d, size in enumerate(lay.view))  # keepdims
        lines += pool
        if spec.centers:
            lines += [
                f"mean = v.mean(axis={axis}, keepdims=True)  # {lay.view} -> {kept} first pass",
                f"var = ((v - mean) ** 2).mean(axis={axis}, keepdims=True)  # {kept} second pass; biased: / n, "
                "not n - 1",
                "x_hat = (v - mean) / np.sqrt(var + eps)  # eps inside the root, with the variance",
            ]
        else:
            lines += [
                f"ms = (v ** 2).mean(axis={axis}, keepdims=True)  # {lay.view} -> {kept} the mean square: "
                "RMSNorm does not center",
                "x_hat = v / np.sqrt(ms + eps)  # eps inside the root",
            ]
        if lay.view != lay.shape:
            lines.append(f"x_hat = x_hat.reshape(x.shape)  # {lay.view} -> {shape}, back to x's shape")
    if spec.has_weight:
        pshape = spec.param_shape(shape)
        bshape = _affine_shape(spec, shape)
        reshape = "" if tuple(bshape) == tuple(pshape) else f".reshape{bshape}"
        params = _param_lines(config, spec, pshape, "numpy")
        if not params:
            params = ["# torch's initial weight and bias: ones and zeros",
                      f"weight = np.ones({tuple(pshape)})"] + ([f"bias = np.zeros({tuple(pshape)})"]
                                                                if spec.has_bias else [])
        lines += [""] + params
        y = f"x_hat * weight{reshape}" + (f" + bias{reshape}" if spec.has_bias else "")
        lines.append(f"y = {y}")
    else:
        lines.append("y = x_hat  # no affine weight and bias")
    lines.append("print(repr(y))  # array([...]) with commas: it pastes back into lnorm")
    return "\n".join(lines) + "\n"
