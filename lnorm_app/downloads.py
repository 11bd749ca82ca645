"""The explorer's numbers as files: the notebook, input, statistics and output (.ipynb .npy .npz .csv).

    downloads(config)            -> the files of a view, each made only when it is asked for
    stats_columns(exploration)   -> the per-group statistics as a table (the page shows its first rows)
"""

import csv
import io
from dataclasses import dataclass
from functools import partial

import numpy as np

from .models.explorer import explore
from .notebook import NOTEBOOK_FILE, notebook_bytes
from .reproduce import INPUT_FILE

FIRST_GROUPS = 8  # the statistics table shown on the page: its first rows


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
