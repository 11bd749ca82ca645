"""Timing reports made by hand for the tests of the Timing page, and the shipped files read without lnorm.

Every report here passes timing.load_report, as an upload would, and every number in it is
written here, so a test's expected value never comes from the code under test.
"""

import csv
import json
from pathlib import Path

from lnorm_app.models import timing_reports as reports
from lnorm_core import timing

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "lnorm_core" / "timing" / "gpu_data" / "gpu_norm_measurements.csv"
RECORDING = ROOT / "data" / "timing" / "cpu-xeon-2threads-2026-11-21.json"
H100 = "NVIDIA H100 80GB HBM3"
LLAMA = "Llama-style RMSNorm(4096), (batch, seq) = (1, 4096)"
SD = "Stable Diffusion UNet GroupNorm(32, 320), (2, 320, 64, 64)"


def row(device, kind, impl, numel, median_s, gbps=None, dtype="float32", fraction=None):
    """One result row as the harness writes it (shape: one dim of numel elements)."""
    return {"device": device, "kind": kind, "impl": impl, "shape": [numel], "dtype": dtype, "median_s": median_s,
            "spread": 0.01, "gbps": 8 * numel / median_s / 1e9 if gbps is None else gbps, "numel": numel,
            "compile_s": None, "ceiling_fraction": fraction}


def report(rows, ceiling=12.5, datasheet=None, device_type="cpu", devices=None):
    """A report around `rows`, validated by load_report as any upload would be."""
    r = {"device": {"name": f"test {device_type}", "type": device_type, "torch_version": "2.13.0",
                    "num_threads": 2, "date": "2026-01-02T03:04:05+00:00"},
         "ceiling_gbps": ceiling, "datasheet_gbps": datasheet, "results": rows}
    if devices is not None:
        r["devices"] = devices
    return timing.load_report(json.dumps(r))


def source(rows, name="recorded", **kw):
    return reports.Source(name, "test", report(rows, **kw))


SIZES = (1, 2, 3, 4)
CPU_S = (1.0, 2.0, 4.0, 8.0)
GPU_S = (3.0, 3.0, 3.0, 3.0)


def gpu_cpu_rows(kind="layer", impl="native"):
    """CPU times 1, 2, 4, 8 and GPU times 3, 3, 3, 3 over sizes 1..4: the GPU overtakes at size 3."""
    return ([row("cpu", kind, impl, n, t) for n, t in zip(SIZES, CPU_S)]
            + [row("cuda", kind, impl, n, t) for n, t in zip(SIZES, GPU_S)])


def mixed_rows():
    """Two CPU implementations and one GPU one, their copies, another kind, and rows the plots leave out."""
    rows = []
    for n, (a, b, c, g) in zip((256, 1024, 4096), ((1e-5, 2e-5, 5e-6, 4e-6), (3e-5, 7e-5, 9e-6, 5e-6),
                                                    (2e-4, 5e-4, 6e-5, 6e-6))):
        rows += [row("cpu", "layer", "native", n, a, gbps=1.5 * n / 256, fraction=0.5),
                 row("cpu", "layer", "manual", n, b, gbps=0.7 * n / 256, fraction=0.2),
                 row("cpu", "copy", "copy", n, c, gbps=3.0 * n / 256, fraction=1.0),
                 row("cpu", "rms", "native", n, a * 2),
                 row("cuda", "layer", "native", n, g, gbps=40.0 * n / 256),
                 row("cuda", "copy", "copy", n, g / 2),
                 row("cuda", "copy", "h2d", n, g * 3),
                 row("cuda", "layer", "native", n, g / 3, dtype="bfloat16")]
    return rows


def traces(fig, **meta):
    """The traces whose meta has these values."""
    return [t for t in fig.data if isinstance(t.meta, dict) and all(t.meta.get(k) == v for k, v in meta.items())]


def run_report(rows, load=0.5, threads=2):
    """A page run's report around `rows` (CPU, float32), validated as any report is."""
    r = {"device": {"name": "test cpu", "type": "cpu", "torch_version": "2.13.0", "num_threads": threads,
                    "date": "2026-01-02T03:04:05+00:00", "load_avg_1min": load},
         "ceiling_gbps": 12.5, "datasheet_gbps": None, "settings": {"repeats": 3}, "results": rows}
    return timing.load_report(json.dumps(r))


def repeated(kind, impl, numel, repeats, spread=0.05, gbps=None):
    """A row whose median_s is the median of `repeats`, as the harness writes it."""
    return dict(row("cpu", kind, impl, numel, sorted(repeats)[len(repeats) // 2], gbps=gbps),
                repeats_s=list(repeats), spread=spread)


def csv_rows(**where):
    """Rows of the shipped CSV (as text) whose columns equal `where`, read without lnorm."""
    with open(CSV, newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if all(r[k] == v for k, v in where.items())]


def recorded_rows(kind, impl="native"):
    """{numel: median_s} of the shipped CPU recording, read with json."""
    report = json.loads(RECORDING.read_text(encoding="utf-8"))
    return {r["numel"]: r["median_s"] for r in report["results"] if r["kind"] == kind and r["impl"] == impl}


def preset_costs(name, **kw):
    p = reports.PRESETS[name]
    return reports.costs(p.shape, kw.pop("dtype", p.dtype), kw.pop("mode", "forward"), p.layouts, p.num_groups,
                         recorded=reports.shipped_sources(), first=p.kind, **kw)


def row_of(c, device, kernel_start):
    (row,) = [r for r in c.rows if r.device == device and r.kernel.startswith(kernel_start)]
    return row


def cell_of(c, row, kind):
    return row.cells[[layer.kind for layer in c.layers].index(kind)]
