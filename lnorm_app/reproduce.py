"""What a person takes home from the explorer: code that reproduces a view, and its numbers as files.

    torch_code(config)   -> Python that rebuilds the input and the nn module and prints torch's output
    numpy_code(config)   -> the same output computed by hand in a few lines of numpy (two passes)
    module_code(spec, shape) -> the nn constructor, e.g. "nn.GroupNorm(2, 4, eps=1e-05, affine=True)"
    notebook(config)         -> the view as a Jupyter notebook: what it shows, the torch code, the numpy code, the check
    downloads(config)        -> the files of a view: the notebook, input, statistics, output (.ipynb .npy .npz .csv)
    stats_columns(exploration) -> the per-group statistics as a table

The code is generated here and only ever run by the tests: nothing in lnorm
executes it. Both snippets compute in float64, as the explorer does: the seeded
input is drawn in float32 (torch's default dtype, so the draw is the one a
notebook gets) and converted to float64 before the layer, so the printed output
equals the explorer's numbers, not a float32 run's.
"""

import csv
import io
import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from .models.explorer import explore

PASTE_INLINE_MAX = 4096  # a pasted tensor up to this many elements is written into the code
INPUT_FILE = "lnorm_input.npy"  # what the code loads when a paste is too large to inline
NOTEBOOK_FILE = "lnorm_explorer.ipynb"
FIRST_GROUPS = 8  # the statistics table shown on the page: its first rows
_LINE = 96  # the width the tensor literals wrap at


# ---- the nn module ---------------------------------------------------------------------------


def module_code(spec, shape, short=False, dtype=None):
    """The nn constructor for spec on input shape, as code.

    short: only the arguments without a default, e.g. "nn.GroupNorm(2, 4)"; otherwise
    every parameter the explorer sets, e.g. "nn.GroupNorm(2, 4, eps=1e-05, affine=True)".
    dtype: a dtype to build the parameters in, e.g. "torch.float64".
    Where no nn class takes the input (a 6-D BatchNorm, a 2-D InstanceNorm), the functional
    form is named instead, e.g. "F.batch_norm".
    """
    cls = spec.nn_class(len(shape))
    if cls is None:
        return f"F.{spec.kind}_norm"
    if spec.info.trailing:
        args = [repr(tuple(spec.normalized_shape))]
        more = [f"eps={spec.eps!r}", f"elementwise_affine={spec.elementwise_affine}"]
    elif spec.kind == "group":
        args = [str(spec.num_groups), str(shape[1])]
        more = [f"eps={spec.eps!r}", f"affine={spec.affine}"]
    else:
        args = [str(shape[1])]
        more = [f"eps={spec.eps!r}", f"momentum={spec.momentum!r}", f"affine={spec.affine}",
                f"track_running_stats={spec.track_running_stats}"]
    args = args if short else args + more
    if dtype:
        args.append(f"dtype={dtype}")
    return f"nn.{cls}({', '.join(args)})"


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


def _shape_args(shape):
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
    expr = f"{draw}({_shape_args(x.shape)}).double()"
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
    shape_args = _shape_args(pshape)
    lines = []
    for name, offset, present in (("weight", 1, spec.has_weight), ("bias", 2, spec.has_bias)):
        if not present:
            continue
        draw = f"torch.randn({shape_args}).double()"
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
        lines += _param_lines(config, spec, spec.param_shape(shape), "torch")
        lines += ["y = layer(x)", "print(y)"]
    else:
        lines += _functional_lines(config, spec, shape)
    return "\n".join(lines) + "\n"


def _functional_lines(config, spec, shape):
    """The F.batch_norm / F.instance_norm call for an input no nn class takes."""
    c = shape[1]
    lines = [f"# no nn class takes a {len(shape)}-D input for {spec.class_name}: the functional form does"]
    weight = bias = "None"
    if spec.affine:
        weight, bias = "weight", "bias"
        if config.init == "random":
            lines += [f"torch.manual_seed({config.seed + 1})", f"weight = torch.randn({c}).double()",
                      f"torch.manual_seed({config.seed + 2})", f"bias = torch.randn({c}).double()"]
        else:
            lines += [f"weight = torch.ones({c}, dtype=torch.float64)", f"bias = torch.zeros({c}, dtype=torch.float64)"]
    stats = "None, None"
    if spec.track_running_stats:
        lines += [f"running_mean = torch.zeros({c}, dtype=torch.float64)",
                  f"running_var = torch.ones({c}, dtype=torch.float64)"]
        stats = "running_mean, running_var"
    use_input = not spec.uses_running_stats
    if spec.kind == "batch":
        call = (f"F.batch_norm(x, {stats}, {weight}, {bias}, training={use_input}, "
                f"momentum={spec.momentum!r}, eps={spec.eps!r})")
    else:
        call = (f"F.instance_norm(x, {stats}, {weight}, {bias}, use_input_stats={use_input}, "
                f"momentum={spec.momentum!r}, eps={spec.eps!r})")
    return lines + [f"y = {call}", "print(y)"]


# ---- numpy ------------------------------------------------------------------------------------


def _pooling_lines(spec, shape):
    """(comment, lines that set rows (G, n) from x, the expression that puts x_hat rows back in x's shape)."""
    if spec.info.trailing:
        k = len(spec.normalized_shape)
        size = math.prod(shape[-k:])
        groups = math.prod(shape) // size
        dims = "the last dim" if k == 1 else f"the last {k} dims"
        return (f"# {spec.class_name}: one group per position of the leading dims, over {dims} "
                f"{tuple(shape[-k:])}: {tuple(shape)} -> ({groups}, {size})",
                [f"rows = x.reshape({groups}, {size})"], "x_hat.reshape(x.shape)")
    c = shape[1]
    total = math.prod(shape)
    if spec.kind == "batch":
        moved = (c, shape[0]) + tuple(shape[2:])
        return (f"# BatchNorm: one group per channel, over the batch and spatial dims: "
                f"{tuple(shape)} -> (C, N, ...) -> ({c}, {total // c})",
                [f"rows = np.moveaxis(x, 1, 0).reshape({c}, {total // c})"],
                f"np.moveaxis(x_hat.reshape{moved}, 0, 1)")
    if spec.kind == "instance":
        groups = shape[0] * c
        return (f"# InstanceNorm: one group per (sample, channel), over the spatial dims: "
                f"{tuple(shape)} -> ({groups}, {total // groups})",
                [f"rows = x.reshape({groups}, {total // groups})"], "x_hat.reshape(x.shape)")
    groups = shape[0] * spec.num_groups
    return (f"# GroupNorm: one group per (sample, {c // spec.num_groups} consecutive channels), over those "
            f"channels and the spatial dims: {tuple(shape)} -> ({groups}, {total // groups})",
            [f"rows = x.reshape({groups}, {total // groups})"], "x_hat.reshape(x.shape)")


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
        comment, pool, unpool = _pooling_lines(spec, shape)
        lines += [comment] + pool
        g, n = e.n_groups, e.group_size
        if spec.centers:
            lines += [
                f"mean = rows.mean(axis=1, keepdims=True)  # ({g}, {n}) -> ({g}, 1) first pass",
                f"var = ((rows - mean) ** 2).mean(axis=1, keepdims=True)  # ({g}, 1) second pass; "
                "biased: / n, not n - 1",
                "x_hat = (rows - mean) / np.sqrt(var + eps)  # eps inside the root, with the variance",
            ]
        else:
            lines += [
                f"ms = (rows ** 2).mean(axis=1, keepdims=True)  # ({g}, {n}) -> ({g}, 1) the mean square: "
                "RMSNorm does not center",
                "x_hat = rows / np.sqrt(ms + eps)  # eps inside the root",
            ]
        lines.append(f"x_hat = {unpool}  # back to x's shape {shape}")
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


# ---- the notebook ------------------------------------------------------------------------------


def _check_lines(spec):
    """The notebook's last cell: torch against numpy, and the per-group statistics the numpy code computed."""
    lines = ["# torch's output against the hand computation, both float64",
             "print(\"max |torch - numpy| =\", float(np.abs(y_torch - y).max()))"]
    if spec.uses_running_stats:
        lines += ["# eval mode: no statistics of this input were used, only running_mean and running_var",
                  "print(\"running_mean =\", repr(running_mean.ravel()))",
                  "print(\"running_var =\", repr(running_var.ravel()))"]
    elif spec.centers:
        lines += ["# one mean and one biased variance per group",
                  "print(\"mean =\", repr(mean.ravel()))", "print(\"var =\", repr(var.ravel()))"]
    else:
        lines += ["# one mean square per group (RMSNorm does not subtract the mean)",
                  "print(\"mean square =\", repr(ms.ravel()))"]
    return "\n".join(lines) + "\n"


def notebook(config):
    """The explorer's view of config as a Jupyter notebook (an nbformat v4 NotebookNode).

    Markdown cells say what is reproduced and how; code cells hold torch_code, numpy_code and
    a check that prints torch's output against numpy's and the per-group statistics. Plain
    Python only (no magics), run top to bottom. Raises InputError where the config is invalid.
    """
    import nbformat  # here, not at the top: 0.3 s of imports that only a click on the download pays

    e = explore(config)
    spec, shape = e.spec, tuple(e.x.shape)
    what, groups = e.caption.split(": ", 1)
    v4 = nbformat.v4
    if config.source == "paste":
        source = ("the tensor you pasted, every value written out" if e.x.size <= PASTE_INLINE_MAX else
                  f"the tensor you pasted, loaded from `{INPUT_FILE}`: download *input (.npy)* from the explorer "
                  "and put it beside this notebook")
    else:
        dist = "torch.randn" if config.dist == "normal" else "torch.rand"
        source = f"`torch.manual_seed({config.seed}); {dist}({_shape_args(shape)})`, as the explorer draws it"
    intro = (f"# lnorm explorer: {what}\n\n{groups[:1].upper() + groups[1:]}. This notebook reproduces the "
             f"explorer's numbers: the input is {source}; the layer runs in float64, as the explorer computes.\n\n"
             "Run the cells in order. The torch cell prints torch.nn's output; the numpy cell computes the same by "
             "hand; the last cell prints how far apart they are (0 up to float64 rounding) and the per-group "
             "statistics.")
    by_hand = ("## By hand, in numpy\n\nThe same output in a few lines: put each group in one row, take its mean, then "
               "the mean of squared deviations (the biased variance, divided by n, not n - 1), and divide by "
               "sqrt(var + eps), eps inside the root.")
    if not spec.centers:
        by_hand = ("## By hand, in numpy\n\nRMSNorm does not subtract the mean: each group is divided by "
                   "sqrt(mean square + eps).")
    if spec.uses_running_stats:
        by_hand = ("## By hand, in numpy\n\nIn eval mode with track_running_stats the layer does not look at this "
                   "input's statistics: it subtracts running_mean and divides by sqrt(running_var + eps), a fresh "
                   "layer's 0 and 1.")
    cells = [
        v4.new_markdown_cell(intro),
        v4.new_markdown_cell(f"## torch.nn\n\n`{module_code(spec, shape, short=True)}` with the explorer's "
                             "settings, in float64."),
        v4.new_code_cell(torch_code(config) + "y_torch = y.detach().numpy()  # kept for the check below\n"),
        v4.new_markdown_cell(by_hand),
        v4.new_code_cell(numpy_code(config)),
        v4.new_markdown_cell("## The check"),
        v4.new_code_cell(_check_lines(spec)),
    ]
    nb = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def notebook_bytes(config):
    """The notebook of config as the bytes of an .ipynb file."""
    import nbformat

    return nbformat.writes(notebook(config)).encode("utf-8")


# ---- the numbers as files ---------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """One file of a view: its button label, file name, MIME type and a callable that makes the bytes."""

    label: str
    file_name: str
    mime: str
    data: object  # a callable with no arguments -> bytes, run only when the file is asked for


def npy_bytes(array):
    """An array as the bytes of a .npy file (np.load reads it back)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def npz_bytes(arrays):
    """A dict of arrays as the bytes of a compressed .npz file (None values are left out)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items() if v is not None})
    return buf.getvalue()


def csv_bytes(columns=None, array=None):
    """A table (dict of equal-length columns, with a header) or a 1-D/2-D array (no header) as CSV.

    Values are written with repr, so they read back to the same float64.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if columns is not None:
        writer.writerow(list(columns))
        for row in zip(*(np.asarray(c).tolist() for c in columns.values())):
            writer.writerow([repr(v) for v in row])
    else:
        a = np.asarray(array, dtype=np.float64)
        if a.ndim > 2:
            raise ValueError("CSV holds 1-D and 2-D arrays; use .npy for more dims")
        for row in np.atleast_2d(a).tolist():
            writer.writerow([repr(v) for v in row])
    return out.getvalue().encode("utf-8")


def stats_columns(e, first=None):
    """The per-group statistics of an Exploration as table columns (the first `first` groups, or all).

    group, mean, var (RMSNorm: the mean square), rstd = 1/sqrt(var + eps), and the check
    on x_hat: its mean, its biased variance and the expected v/(v+eps) (RMSNorm: its mean
    square and ms/(ms+eps)).
    """
    g = slice(None) if first is None else slice(0, first)
    f = e.f
    if e.spec.centers:
        stats = {"mean": f.mean[g], "var": f.var[g]}
        check = {"x_hat var": e.out_var[g], "v/(v+eps)": e.expected_var[g]}
    else:  # RMSNorm: no mean is subtracted, the variance columns are mean squares
        stats = {"mean square": f.var[g]}
        check = {"x_hat mean square": e.out_var[g], "ms/(ms+eps)": e.expected_var[g]}
    return {"group": np.arange(e.n_groups)[g], **stats, "rstd": f.rstd[g], "x_hat mean": e.out_mean[g], **check}


def stats_arrays(e):
    """The per-group statistics and the group of each element, as arrays for an .npz file."""
    return {"group_ids": e.f.ids, "mean": e.f.mean, "var": e.f.var, "rstd": e.f.rstd,
            "x_hat_mean": e.out_mean, "x_hat_var": e.out_var, "expected_var": e.expected_var}


def all_arrays(e):
    """Everything of a view: input, parameters, statistics, normalized input and output."""
    return {"x": e.x, "weight": e.weight, "bias": e.bias, **stats_arrays(e), "x_hat": e.f.x_hat, "y": e.f.y}


def downloads(config):
    """The files of the explorer's view of config: the notebook, input, statistics and output.

    .ipynb, .npy and .npz always; CSV for the statistics table, and for input and output where
    they have at most 2 dims. The bytes are made only when a Download's data() is called.
    """
    e = explore(config)
    files = [
        Download("notebook (.ipynb)", NOTEBOOK_FILE, "application/x-ipynb+json", partial(notebook_bytes, config)),
        Download("input (.npy)", INPUT_FILE, "application/octet-stream", partial(npy_bytes, e.x)),
        Download("output (.npy)", "lnorm_output.npy", "application/octet-stream", partial(npy_bytes, e.f.y)),
        Download("statistics (.npz)", "lnorm_stats.npz", "application/octet-stream",
                 partial(npz_bytes, stats_arrays(e))),
        Download("statistics (.csv)", "lnorm_stats.csv", "text/csv", partial(csv_bytes, stats_columns(e))),
        Download("everything (.npz)", "lnorm_explorer.npz", "application/octet-stream",
                 partial(npz_bytes, all_arrays(e))),
    ]
    if e.x.ndim <= 2:
        files += [
            Download("input (.csv)", "lnorm_input.csv", "text/csv", partial(csv_bytes, array=e.x)),
            Download("output (.csv)", "lnorm_output.csv", "text/csv", partial(csv_bytes, array=e.f.y)),
        ]
    return files
