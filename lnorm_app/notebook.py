"""The explorer's view as a Jupyter notebook: what it shows, the torch code, the numpy code, and a check.

    notebook(config)         -> an nbformat v4 NotebookNode
    notebook_bytes(config)   -> the bytes of its .ipynb file
"""

from .models.explorer import explore
from .reproduce import INPUT_FILE, PASTE_INLINE_MAX, module_code, numpy_code, shape_args, torch_code

NOTEBOOK_FILE = "lnorm_explorer.ipynb"


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
        source = f"`torch.manual_seed({config.seed}); {dist}({shape_args(shape)})`, as the explorer draws it"
    intro = (f"# lnorm explorer: {what}\n\n{groups[:1].upper() + groups[1:]}. This notebook reproduces the "
             f"explorer's numbers: the input is {source}; the layer runs in float64, as the explorer computes.\n\n"
             "Run the cells in order. The torch cell prints torch.nn's output; the numpy cell computes the same by "
             "hand; the last cell prints how far apart they are (0 up to float64 rounding) and the per-group "
             "statistics.")
    by_hand = ("## By hand, in numpy\n\nThe same output in a few lines: over the layer's dims (with keepdims, so "
               "each group's statistics broadcast back over its elements) the mean, then the mean of squared "
               "deviations (the biased variance, divided by n, not n - 1), and divide by "
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
