"""The explorer's files read back: .npy, .npz and CSV hold the explorer's own arrays, bit for bit."""

import csv
import io

import numpy as np

import lnorm_core as lc
from lnorm_app.config import Config
from lnorm_app.downloads import downloads, stats_columns
from lnorm_app.models.explorer import explore

CONFIGS = {
    "layer": Config(),
    "rms-eps-none": Config(kind="rms", shape=(2, 5, 8), normalized_shape=(8,), eps=None, init="random"),
    "group": Config(kind="group", shape=(2, 4, 3, 3), num_groups=2, init="random", seed=11),
    "uniform-offset": Config(dist="uniform", offset=1000.0, scale=0.25, shape=(3, 6), normalized_shape=(6,)),
}


def _files(config):
    return {d.file_name: d.data() for d in downloads(config)}


def test_npy_and_npz_read_back_equal():
    config = CONFIGS["group"]
    e = explore(config)
    files = _files(config)
    np.testing.assert_array_equal(np.load(io.BytesIO(files["lnorm_input.npy"])), e.x)
    np.testing.assert_array_equal(np.load(io.BytesIO(files["lnorm_output.npy"])), e.f.y)
    with np.load(io.BytesIO(files["lnorm_stats.npz"])) as z:
        np.testing.assert_array_equal(z["mean"], e.f.mean)
        np.testing.assert_array_equal(z["var"], e.f.var)
        np.testing.assert_array_equal(z["group_ids"], lc.group_ids(e.spec, e.x.shape))
        np.testing.assert_array_equal(z["expected_var"], e.expected_var)
    with np.load(io.BytesIO(files["lnorm_explorer.npz"])) as z:
        for key, value in (("x", e.x), ("y", e.f.y), ("x_hat", e.f.x_hat), ("weight", e.weight), ("bias", e.bias)):
            np.testing.assert_array_equal(z[key], value)
    assert "lnorm_input.csv" not in files  # 4-D: no CSV of the tensor


def test_csv_of_a_2d_tensor_and_of_the_statistics_read_back_equal():
    config = CONFIGS["uniform-offset"]
    e = explore(config)
    files = _files(config)
    x_csv = np.loadtxt(io.StringIO(files["lnorm_input.csv"].decode()), delimiter=",", ndmin=2)
    y_csv = np.loadtxt(io.StringIO(files["lnorm_output.csv"].decode()), delimiter=",", ndmin=2)
    np.testing.assert_array_equal(x_csv, e.x)
    np.testing.assert_array_equal(y_csv, e.f.y)
    rows = list(csv.DictReader(io.StringIO(files["lnorm_stats.csv"].decode())))
    assert len(rows) == e.n_groups
    np.testing.assert_array_equal([float(r["mean"]) for r in rows], e.f.mean)
    np.testing.assert_array_equal([float(r["var"]) for r in rows], e.f.var)
    np.testing.assert_array_equal([float(r["v/(v+eps)"]) for r in rows], e.expected_var)


def test_stats_columns_first_rows_and_rms_has_no_mean():
    e = explore(CONFIGS["layer"])
    cols = stats_columns(e, first=3)
    assert list(cols["group"]) == [0, 1, 2]
    np.testing.assert_array_equal(cols["var"], e.f.var[:3])
    rms = stats_columns(explore(CONFIGS["rms-eps-none"]))
    assert "mean" not in rms and "var" not in rms and "mean square" in rms and "ms/(ms+eps)" in rms
