"""lnorm's own timing reports as the page holds them: the shipped recordings, an upload, the session's run.

A report is what lnorm_core.timing.run_timing returns (or what its --json wrote), always validated
by timing.load_report. A Source is one report with a short name ("your run", "uploaded",
"recorded") and a label saying its device, torch version, threads and date, so every line drawn
from it can say whose it is.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

from lnorm_core import InputError, timing

SHIPPED_DIR = Path(__file__).resolve().parents[3] / "data" / "timing"  # recordings shipped with the app

SOURCE_RUN = "your run"
SOURCE_UPLOAD = "uploaded"
SOURCE_SHIPPED = "recorded"
ACCELERATORS = ("cuda", "mps")
GPU_COMMAND = "python -m lnorm_core.timing --json gpu.json"  # what to run on a CUDA machine, then upload


@dataclass(frozen=True)
class Source:
    """One report to plot: name ("your run", "uploaded", "recorded"), label (device, torch, date), report."""

    name: str
    label: str
    report: dict


def source_label(report):
    """Who measured a report: 'NVIDIA H100 (cuda) and Xeon (cpu) · torch 2.13.0 · 2 CPU threads · 2026-11-21'."""
    infos = report.get("devices") or [report["device"]]
    names = " and ".join(f"{i.get('name', '?')} ({i.get('type', '?')})" for i in infos if isinstance(i, dict))
    device = report["device"]
    parts = [names or f"{device['name']} ({device['type']})", f"torch {device.get('torch_version', '?')}"]
    if device.get("num_threads") is not None:
        parts.append(f"{device['num_threads']} CPU threads")
    if device.get("date"):
        parts.append(str(device["date"])[:10])
    return " · ".join(parts)


def run_source(report):
    """The page's own run as a Source."""
    return Source(SOURCE_RUN, source_label(report), report)


def upload_source(data, file_name="the upload"):
    """An uploaded report (bytes) as a Source, or InputError naming the file and what is wrong."""
    try:
        report = timing.load_report(data)
    except InputError as e:
        raise InputError(f"{file_name} is not a timing report: {e}") from None
    if not report["results"]:
        raise InputError(f"{file_name} has no result rows to plot")
    return Source(SOURCE_UPLOAD, source_label(report), report)


@functools.lru_cache(maxsize=16)
def _load_shipped(path, mtime_ns, size):
    """A shipped report, read and validated once per version of the file (mtime and size in the key)."""
    try:
        return timing.load_report(Path(path).read_bytes())
    except InputError as e:
        raise InputError(f"the shipped recording {Path(path).name} is not a valid report: {e}") from None


def shipped_sources(folder=SHIPPED_DIR):
    """The recordings shipped under data/timing/ (every *.json, by name), validated by load_report.

    One file is named "recorded"; several are "recorded 1", "recorded 2", ... The CPU recording was made
    on an idle machine with `python -m lnorm_core.timing --quick --devices cpu
    --sizes 4096,16384,65536,262144,1048576,4194304 --json data/timing/<name>.json`.
    """
    paths = sorted(Path(folder).glob("*.json"))
    out = []
    for i, path in enumerate(paths):
        st = path.stat()
        report = _load_shipped(str(path), st.st_mtime_ns, st.st_size)
        name = SOURCE_SHIPPED if len(paths) == 1 else f"{SOURCE_SHIPPED} {i + 1}"
        out.append(Source(name, source_label(report), report))
    return out


def has_accelerator(sources):
    """Whether any source has a row timed on a GPU (cuda) or Apple GPU (mps)."""
    return any(r["device"] in ACCELERATORS for s in sources for r in s.report["results"])


def kinds_in(sources):
    """The kinds measured in the sources, in timing.KINDS order."""
    found = {r["kind"] for s in sources for r in s.report["results"]}
    return [k for k in timing.KINDS if k in found]


def impls_in(sources, kinds=None):
    """The implementations measured in the sources (for `kinds`, where given), in timing.IMPLS order."""
    found = {r["impl"] for s in sources for r in s.report["results"] if kinds is None or r["kind"] in kinds}
    return [i for i in timing.IMPLS if i in found]


def dtypes_in(sources):
    """The dtypes measured in the sources, float32 first."""
    found = {r["dtype"] for s in sources for r in s.report["results"]}
    return [d for d in timing.DTYPES if d in found]


def rows_by_size(report, keep):
    """{(device, kind, impl, dtype): {numel: row}} of a report's rows that `keep(row)` accepts, sizes ascending.

    Where a report holds two rows for one size, the first one is kept. Every view of lnorm's own
    rows (the lines, the GPU view's curves, the costs) groups them this one way.
    """
    groups = {}
    for r in report["results"]:
        if keep(r):
            groups.setdefault((r["device"], r["kind"], r["impl"], r["dtype"]), {}).setdefault(r["numel"], r)
    return {key: dict(sorted(by_size.items())) for key, by_size in groups.items()}
