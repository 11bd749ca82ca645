"""lnorm_core.timing.published: the shipped GPU measurements load, keep their attribution, lnorm's
recomputed bytes and GB/s equal hand computations written here, and a bad file is refused by row and column.

Expected numbers are typed from the CSV and worked out by hand in each test; none comes from the
module under test.
"""

import csv
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lnorm_core.timing import published
from lnorm_core.errors import InputError
from lnorm_core.spec import KINDS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "lnorm_core" / "timing" / "gpu_data" / "gpu_norm_measurements.csv"
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


def test_the_module_needs_no_ui_packages():
    code = (
        "import sys\n"
        "for name in ('streamlit', 'plotly', 'pandas'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        "from lnorm_core import timing\n"
        "print(len(timing.load_published()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "455"
