"""lnorm_core.published: the shipped GPU measurements load, keep their attribution, and lnorm's
recomputed bytes, GB/s, interpolation and roofline equal hand computations written here.

Expected numbers are typed from the CSV and worked out by hand in each test; none comes from the
module under test.
"""

import csv
import dataclasses
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lnorm_core import published
from lnorm_core.errors import InputError
from lnorm_core.spec import KINDS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "data" / "gpu" / "gpu_norm_measurements.csv"
PINNED = re.compile(r"^https://github\.com/[^/]+/[^/]+/blob/([0-9a-f]{40})/.+$")


@pytest.fixture(scope="module")
def rows():
    return published.load_published()


def shipped_text():
    return SHIPPED.read_text(encoding="utf-8")


def raw_rows():
    """The shipped file read by the csv module alone, without lnorm."""
    with open(SHIPPED, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def edited(row, column, value, text=None):
    """The shipped CSV text with one cell replaced."""
    reader = csv.reader(io.StringIO(text or shipped_text(), newline=""))
    table = list(reader)
    table[row + 1][table[0].index(column)] = value  # +1: the header
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    return out.getvalue()


def one(rows, **where):
    """The single Measurement whose fields equal `where`."""
    found = [m for m in rows if all(getattr(m, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, len(found))
    return found[0]


# ---- the shipped file ----------------------------------------------------------------------------


def test_the_shipped_file_loads_every_row(rows):
    assert len(raw_rows()) == 455
    assert len(rows) == 455  # no memory rows in it, so every row is a timing
    assert [m.row for m in rows] == list(range(455))


def test_every_row_names_its_source_a_pinned_url_its_licence_and_gpu():
    for i, r in enumerate(raw_rows()):
        assert r["source"].strip(), i
        assert PINNED.match(r["source_url"]), (i, r["source_url"])
        assert r["license"] in ("BSD-2-Clause", "Apache-2.0"), (i, r["license"])
        assert r["gpu_name"].startswith("NVIDIA "), (i, r["gpu_name"])


def test_measurements_keep_the_attribution_of_their_row(rows):
    raw = raw_rows()
    for m in rows:
        assert (m.source, m.source_url, m.license, m.gpu) == (
            raw[m.row]["source"], raw[m.row]["source_url"], raw[m.row]["license"], raw[m.row]["gpu_name"])
        assert PINNED.match(m.source_url)


def test_times_are_positive_and_kinds_are_lnorms(rows):
    for m in rows:
        assert m.time_s > 0 and math.isfinite(m.time_s)
        assert m.kind in KINDS
        assert m.impl_class in ("pytorch", "compiled", "fast kernel")
        assert m.dtype in ("float32", "bfloat16")
        assert m.numel == math.prod(m.input_shape) > 0
        for q in (m.time_s_p20, m.time_s_p80):
            assert q is None or q > 0
    assert {m.kind for m in rows} == {"layer", "rms", "group"}


def test_norm_names_map_to_kinds(rows):
    expected = {"layer_norm": "layer", "rms_norm": "rms", "megatron_rms_norm": "rms", "group_norm": "group"}
    assert {(m.norm, m.kind) for m in rows} == set(expected.items())


def test_implementation_classes(rows):
    by_provider = {m.provider: m.impl_class for m in rows}
    assert by_provider["huggingface"] == "pytorch"  # torch.nn.LayerNorm / GroupNorm, eager LlamaRMSNorm
    assert by_provider["torch"] == "pytorch"
    assert by_provider["megatron"] == "pytorch"  # WrappedTorchNorm -> torch.nn.RMSNorm
    assert by_provider["torchcompile"] == "compiled"
    assert by_provider["torch.compile (PyTorch 2.7.1)"] == "compiled"
    for fast in ("liger", "liger_triton", "liger_cutile", "Liger Kernel v0.5.10", "QuACK (CuTe DSL)",
                 "cuDNN v9.10.1"):
        assert by_provider[fast] == "fast kernel"


def test_latency_bound_rows_are_the_cutile_files(rows):
    for m in rows:
        assert m.latency_bound == ("cutile" in m.source_url), m.row
    # layer_norm and group_norm x 3 providers (liger_triton, liger_cutile, torch) x 3 modes x 4 sizes
    assert sum(m.latency_bound for m in rows) == 2 * 3 * 3 * 4


# ---- recomputed bytes and GB/s, by hand ----------------------------------------------------------


def test_liger_forward_row_gbps_by_hand(rows):
    # Liger on A100-SXM4, LayerNorm forward 4096 x 1024 float32, median 0.030271999537944794 ms
    m = one(rows, provider="liger", gpu="NVIDIA A100-SXM4-80GB", kind="layer", mode="forward",
            input_shape=(4096, 1024))
    t = 0.030271999537944794e-3
    moved = 2 * 4096 * 1024 * 4  # read x once, write y once: 33,554,432 bytes
    assert m.time_s == pytest.approx(t, rel=1e-12)
    assert m.time_s_p20 == pytest.approx(0.02921600081026554e-3, rel=1e-12)
    assert m.time_s_p80 == pytest.approx(0.03142400085926056e-3, rel=1e-12)
    assert m.bytes_moved == moved
    assert m.gbps == pytest.approx(moved / t / 1e9, rel=1e-12)  # 1108.4 GB/s
    assert m.gbps == pytest.approx(1108.43, abs=0.01)
    assert m.peak_gbps == 2039
    assert m.pct_of_peak == pytest.approx(100 * 1108.43 / 2039, abs=0.001)  # 54.4 %


def test_torch_layernorm_forward_on_h100_by_hand(rows):
    # torch.nn.LayerNorm (the "huggingface" provider) on H100 SXM, 4096 x 4096 float32: 0.06617599725723267 ms
    m = one(rows, provider="huggingface", gpu="NVIDIA H100 80GB HBM3", kind="layer", mode="forward",
            input_shape=(4096, 4096))
    t = 0.06617599725723267e-3
    gbps = 2 * 4096 * 4096 * 4 / t / 1e9  # 134,217,728 bytes in 66.2 us = 2028.2 GB/s
    assert m.impl_class == "pytorch"
    assert m.gbps == pytest.approx(gbps, rel=1e-12)
    assert m.pct_of_peak == pytest.approx(100 * gbps / 3350, rel=1e-12)  # 60.5 % of 3350 GB/s


def test_backward_and_full_count_three_and_five_passes(rows):
    # Liger LayerNorm on H100 SXM, 4096 x 4096 float32: backward 0.16630400717258453 ms, full 0.27454400062561035 ms
    back = one(rows, provider="liger", gpu="NVIDIA H100 80GB HBM3", kind="layer", mode="backward",
               input_shape=(4096, 4096))
    full = one(rows, provider="liger", gpu="NVIDIA H100 80GB HBM3", kind="layer", mode="full",
               input_shape=(4096, 4096))
    n = 4096 * 4096
    assert back.bytes_moved == 3 * n * 4  # reads x and dy, writes dx
    assert full.bytes_moved == 5 * n * 4  # forward (2) + backward (3)
    assert back.gbps == pytest.approx(3 * n * 4 / 0.16630400717258453e-3 / 1e9, rel=1e-12)
    assert full.gbps == pytest.approx(5 * n * 4 / 0.27454400062561035e-3 / 1e9, rel=1e-12)


def test_quack_bandwidth_row_becomes_a_time(rows):
    # QuACK RMSNorm forward (32K, 4K) bf16 plotted at 2900.0 GB/s, QuACK counting 2*numel*2 + N*4 bytes
    m = one(rows, provider="QuACK (CuTe DSL)", input_shape=(32768, 4096))
    quack_bytes = 2 * 32768 * 4096 * 2 + 4096 * 4  # 536,887,296 bytes
    t = quack_bytes / 2900.0e9  # 185.1 us
    assert m.time_s == pytest.approx(t, rel=1e-12)
    assert m.time_s_p20 is None and m.time_s_p80 is None
    assert m.bytes_moved == 2 * 32768 * 4096 * 2  # lnorm leaves the weight out
    assert m.gbps == pytest.approx(2 * 32768 * 4096 * 2 / t / 1e9, rel=1e-12)  # 2899.98 GB/s
    assert m.gbps == pytest.approx(2900.0 * 536870912 / 536887296, rel=1e-12)


def test_bytes_moved_by_hand():
    assert published.bytes_moved(4096 * 1024, 4, "forward") == 33_554_432
    assert published.bytes_moved(1000, 2, "backward") == 6000
    assert published.bytes_moved(1000, 2, "full") == 10000
    for bad in ((0, 4, "forward"), (10, 4, "sideways"), (10, 2.0, "forward"), (-1, 4, "full")):
        with pytest.raises(InputError):
            published.bytes_moved(*bad)


def test_roofline_time_by_hand():
    # 8 MiB at H100 SXM's 3350 GB/s: 8,388,608 / 3.35e12 s = 2.504 us
    assert published.roofline_time(8 * 2**20, 3350) == pytest.approx(8388608 / 3.35e12, rel=1e-15)
    assert published.roofline_time(8 * 2**20, 3350) == pytest.approx(2.504062e-6, rel=1e-6)
    assert published.roofline_time(0, 1935) == 0.0
    for bad in ((-1, 3350), (1, 0), (1, float("nan")), (float("inf"), 3350)):
        with pytest.raises(InputError):
            published.roofline_time(*bad)


def test_no_measured_time_beats_the_roofline(rows):
    for m in rows:
        assert m.time_s >= published.roofline_time(m.bytes_moved, m.peak_gbps), m.row
        assert m.pct_of_peak <= 100, m.row


# ---- series and interpolation --------------------------------------------------------------------


def test_find_series_answers_one_kind_dtype_mode(rows):
    found = published.find_series(rows, kind="layer", dtype="float32", mode="forward")
    pairs = [(s.key.gpu, s.key.provider) for s in found]
    assert ("NVIDIA H100 80GB HBM3", "huggingface") in pairs
    assert ("NVIDIA H100 80GB HBM3", "liger") in pairs
    assert ("NVIDIA H100 NVL", "torchcompile") in pairs
    assert pairs == sorted(set(pairs), key=pairs.index)  # each curve once
    for s in found:
        assert all(p.kind == "layer" and p.dtype == "float32" and p.mode == "forward" for p in s.points)
        assert len({(p.gpu, p.provider, p.implementation, p.source) for p in s.points}) == 1
        numels = [p.numel for p in s.points]
        assert numels == sorted(numels)
    h100 = [s for s in found if s.key.gpu == "NVIDIA H100 80GB HBM3" and s.key.provider == "huggingface"][0]
    assert [p.numel for p in h100.points] == [4096 * n for n in (1024, 2048, 4096, 8192, 16384)]
    total = sum(len(s.points) for s in published.find_series(rows))
    assert total == len(rows)  # every row is in exactly one series


def test_find_series_orders_gpu_then_class(rows):
    found = published.find_series(rows, kind="layer", dtype="float32", mode="forward", gpu="NVIDIA H100 NVL")
    assert [s.key.impl_class for s in found] == ["pytorch", "compiled", "fast kernel"]
    assert published.find_series(rows, kind="batch") == ()
    assert all(not p.latency_bound for s in published.find_series(rows, latency_bound=False) for p in s.points)


def series_of(times_by_numel, template):
    """A synthetic series: the template row at each size with the given time."""
    return tuple(dataclasses.replace(template, numel=n, input_shape=(n,), time_s=t)
                 for n, t in sorted(times_by_numel.items()))


@pytest.fixture(scope="module")
def template(rows):
    return rows[0]


def test_interpolation_is_exact_at_measured_sizes(rows):
    s = [s for s in published.find_series(rows, kind="layer", dtype="float32", mode="forward",
                                          gpu="NVIDIA H100 80GB HBM3") if s.key.provider == "huggingface"][0]
    est = published.interpolate_time(s.points, 4096 * 4096)
    assert est.method == "measured" and est.lower == est.upper == 4096 * 4096
    assert est.time_s == 0.06617599725723267e-3  # the row's own median, not a blend
    assert published.interpolate_time(s, 4096 * 4096) == est  # a Series works as well as its points


def test_log_log_midpoint_is_the_geometric_mean(template):
    pts = series_of({2**20: 1e-5, 2**22: 9e-5}, template)
    mid = published.interpolate_time(pts, 2**21)  # halfway in log size
    assert mid.method == "interpolated" and (mid.lower, mid.upper) == (2**20, 2**22)
    assert mid.time_s == pytest.approx(math.sqrt(1e-5 * 9e-5), rel=1e-12)  # 3e-5
    assert mid.time_s == pytest.approx(3e-5, rel=1e-12)
    # a quarter of the way: 2**21 between 2**20 and 2**24 -> t_a**0.75 * t_b**0.25 = 1e-5 * 16**0.25 = 2e-5
    quarter = published.interpolate_time(series_of({2**20: 1e-5, 2**24: 16e-5}, template), 2**21)
    assert quarter.time_s == pytest.approx(2e-5, rel=1e-12)


def test_interpolation_never_extrapolates(template):
    pts = series_of({2**20: 1e-5, 2**22: 9e-5}, template)
    assert published.interpolate_time(pts, 2**20 - 1) is None
    assert published.interpolate_time(pts, 2**22 + 1) is None
    assert published.interpolate_time(pts, 2**22).time_s == 9e-5


def test_several_shapes_of_one_size_give_their_geometric_mean(template):
    a = dataclasses.replace(template, numel=64, input_shape=(8, 8), time_s=1e-3)
    b = dataclasses.replace(template, numel=64, input_shape=(4, 16), time_s=4e-3)
    est = published.interpolate_time((a, b), 64)
    assert est.method == "measured" and est.time_s == pytest.approx(2e-3, rel=1e-12)


def test_interpolation_refuses_mixed_or_empty_series(rows, template):
    with pytest.raises(InputError, match="one series"):
        published.interpolate_time(rows[:10], 4096 * 2048)  # A100 and H100 rows of several providers
    with pytest.raises(InputError):
        published.interpolate_time((), 10)
    with pytest.raises(InputError):
        published.interpolate_time((template,), float("nan"))


sizes = st.lists(st.integers(min_value=1, max_value=2**34), min_size=2, max_size=8, unique=True).map(sorted)
times = st.floats(min_value=1e-7, max_value=10.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), numels=sizes)
def test_interpolated_time_lies_between_its_bracket(template, data, numels):
    ts = data.draw(st.lists(times, min_size=len(numels), max_size=len(numels)))
    pts = series_of(dict(zip(numels, ts)), template)
    n = data.draw(st.integers(min_value=numels[0], max_value=numels[-1]))
    est = published.interpolate_time(pts, n)
    by_numel = dict(zip(numels, ts))
    assert est.lower <= n <= est.upper
    assert min(by_numel[est.lower], by_numel[est.upper]) <= est.time_s <= max(by_numel[est.lower], by_numel[est.upper])
    assert est.method == ("measured" if n in by_numel else "interpolated")


@settings(max_examples=200, deadline=None)
@given(data=st.data(), numels=sizes)
def test_monotone_data_stays_monotone(template, data, numels):
    ts = sorted(data.draw(st.lists(times, min_size=len(numels), max_size=len(numels))))
    pts = series_of(dict(zip(numels, ts)), template)
    n1, n2 = sorted(data.draw(st.lists(st.integers(numels[0], numels[-1]), min_size=2, max_size=2)))
    assert published.interpolate_time(pts, n1).time_s <= published.interpolate_time(pts, n2).time_s


# ---- validation ----------------------------------------------------------------------------------


def test_refuses_a_missing_column():
    table = list(csv.reader(io.StringIO(shipped_text(), newline="")))
    col = table[0].index("y_p50")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:col] + r[col + 1:] for r in table])
    with pytest.raises(InputError, match="no column 'y_p50'"):
        published.load_published(out.getvalue())


@pytest.mark.parametrize("column, value", [
    ("y_p50", "-0.03"),          # a negative time
    ("y_p50", "0"),              # a zero time
    ("y_p50", "nan"),            # NaN
    ("y_p80", "inf"),
    ("source", ""),              # no source
    ("source_url", "https://github.com/linkedin/Liger-Kernel/blob/main/benchmark/data/x.csv"),  # not pinned
    ("license", " "),
    ("gpu_name", ""),
    ("numel", "4194305"),        # not the product of the shape
    ("numel", "4.2e6"),
    ("dtype", "torch.float64"),
    ("mode", "inference"),
    ("metric", "throughput"),
    ("norm", "batch_norm"),
    ("provider", "someone"),
    ("peak_GBps_spec", "-1"),
])
def test_refuses_a_bad_cell_naming_its_row_and_column(column, value):
    with pytest.raises(InputError) as e:
        published.load_published(edited(3, column, value))
    message = str(e.value)
    assert "row 3 " in message and f"'{column}'" in message, message


def test_refuses_quantiles_out_of_order():
    with pytest.raises(InputError, match=r"row 7 .*'y_p20'"):
        published.load_published(edited(7, "y_p20", "1.0"))


def test_refuses_two_peaks_for_one_gpu():
    with pytest.raises(InputError, match=r"row 5 .*peak_GBps_spec.*row 0"):
        published.load_published(edited(5, "peak_GBps_spec", "2000"))


def test_refuses_a_duplicate_row():
    lines = shipped_text().splitlines(keepends=True)
    with pytest.raises(InputError, match="row 455 .*second measurement"):
        published.load_published("".join(lines + [lines[1]]))


def test_refuses_too_many_rows():
    # short rows, each a different size, so the row limit is met before the size limit
    header = ",".join(published.REQUIRED_COLUMNS)
    url = "https://github.com/o/r/blob/" + "a" * 40 + "/f.csv"
    n = published.MAX_PUBLISHED_ROWS + 1
    body = "".join(f"s,{url},MIT,rms_norm,liger,k,forward,speed,ms,N,{k},1,,,{k},{k},torch.float32,G,1000,,,\n"
                   for k in range(1, n + 1))
    text = header + "\n" + body
    assert len(text) < published.MAX_PUBLISHED_BYTES
    with pytest.raises(InputError, match=f"more than {published.MAX_PUBLISHED_ROWS:,} rows"):
        published.load_published(text)
    # one row fewer is accepted
    assert len(published.load_published(header + "\n" + "".join(body.splitlines(keepends=True)[:-1]))) == n - 1


def test_refuses_oversized_or_odd_input(tmp_path):
    with pytest.raises(InputError, match="limit"):
        published.load_published("a\n" + "x" * published.MAX_PUBLISHED_BYTES)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (published.MAX_PUBLISHED_BYTES + 1))
    with pytest.raises(InputError, match="limit"):
        published.load_published(big)
    with pytest.raises(InputError, match="cannot read"):
        published.load_published(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="UTF-8"):
        published.load_published(b"\xff\xfe\n")
    with pytest.raises(InputError, match="empty"):
        published.load_published(b"")
    with pytest.raises(InputError):
        published.load_published(12)


def test_memory_rows_are_kept_out_of_the_timings():
    text = edited(0, "unit", "MB", edited(0, "metric", "memory"))
    loaded = published.load_published(text)
    assert len(loaded) == 454 and all(m.row != 0 for m in loaded)


def test_loads_from_a_path_and_from_text(rows):
    assert published.load_published(SHIPPED) == rows
    assert published.load_published(str(SHIPPED)) == rows
    assert published.load_published(shipped_text()) == rows
    assert published.load_published(SHIPPED.read_bytes()) == rows


def test_the_module_needs_no_ui_packages_and_not_timing():
    code = (
        "import sys\n"
        "for name in ('streamlit', 'plotly', 'pandas', 'lnorm_core.timing'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        "from lnorm_core import published\n"
        "print(len(published.load_published()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "455"
