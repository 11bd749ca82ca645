"""A timing report: its schema, reading one back with every field checked, and printing it as a table.

A report is what run_timing returns and `python -m lnorm_core.timing --json` writes; an upload
on the Timing page and the recordings shipped under data/timing/ are read with load_report.
"""

import json
import math

from ..errors import InputError
from ..spec import KINDS
from .bandwidth import is_real
from .devices import DEVICE_TYPES, DTYPES
from .impls import IMPLS

MAX_REPORT_BYTES = 5_000_000  # load_report: the largest JSON text accepted
MAX_REPORT_ROWS = 10_000
MAX_REPORT_REPEATS = 100  # repeats_s of one row: run_timing takes at most 9; a report from elsewhere may take more


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def load_report(text_or_bytes):
    """A timing report from JSON text (str or bytes), validated; InputError says what is wrong.

    The schema (what run_timing returns and --json writes):
        {"device": {"name": str, "type": str, "torch_version", "num_threads", "date", ...},
         "ceiling_gbps": number >= 0 or null,      # copy GB/s at the largest size measured
         "datasheet_gbps": number >= 0 or null,    # optional
         "truncated": bool,                        # optional
         "results": [                              # at most MAX_REPORT_ROWS rows
            {"device": "cpu" | "cuda" | "mps", "kind": one of KINDS or "copy",
             "impl": one of IMPLS or "copy" / "h2d", "shape": [positive ints],
             "dtype": "float32" | "bfloat16" | "float16", "median_s": number > 0,
             "spread": number >= 0, "gbps": number >= 0, "numel": product of shape,
             "compile_s": number >= 0 or null (optional),
             "ceiling_fraction": number >= 0 or null (optional),
             "repeats_s": [1 to MAX_REPORT_REPEATS numbers > 0] (optional: each repeat's
                          median; median_s is their median, so it lies within them),
             "num_groups": a whole number dividing shape[1] (optional, group rows: GroupNorm's
                           groups; a report without it was timed with NUM_GROUPS), ...}, ...]}
    Text over MAX_REPORT_BYTES is refused before parsing. Rows are counted from 0,
    as in results[i]. Returns the parsed dict.
    """
    if isinstance(text_or_bytes, (bytes, bytearray)):
        if len(text_or_bytes) > MAX_REPORT_BYTES:
            raise InputError(f"the report is {len(text_or_bytes):,} bytes; the limit is {MAX_REPORT_BYTES:,}")
        try:
            text = bytes(text_or_bytes).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the report is not UTF-8 text") from None
    elif isinstance(text_or_bytes, str):
        text = text_or_bytes
        if len(text) > MAX_REPORT_BYTES:
            raise InputError(f"the report is {len(text):,} characters; the limit is {MAX_REPORT_BYTES:,}")
    else:
        raise InputError(f"the report must be JSON text, got {type(text_or_bytes).__name__}")
    try:
        report = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InputError(f"the report is not valid JSON: {e}") from None
    if not isinstance(report, dict):
        raise InputError(f"the report must be a JSON object, got {type(report).__name__}")
    for key in ("device", "ceiling_gbps", "results"):
        if key not in report:
            raise InputError(f"the report has no {key!r}")
    device = report["device"]
    if not isinstance(device, dict):
        raise InputError("'device' must be an object with 'name' and 'type'")
    for key in ("name", "type"):
        if not isinstance(device.get(key), str):
            raise InputError(f"device.{key} must be a string")
    for key in ("ceiling_gbps", "datasheet_gbps"):
        v = report.get(key)
        if v is not None and not (is_real(v) and v >= 0):
            raise InputError(f"{key} must be a number >= 0 or null, got {v!r}")
    if not isinstance(report.get("truncated", False), bool):
        raise InputError("truncated must be true or false")
    results = report["results"]
    if not isinstance(results, list):
        raise InputError("'results' must be a list of rows")
    if len(results) > MAX_REPORT_ROWS:
        raise InputError(f"the report has {len(results):,} rows; the limit is {MAX_REPORT_ROWS:,}")
    for i, row in enumerate(results):
        _check_row(i, row)
    return report


def _check_row(i, row):
    """InputError naming row i and the first thing wrong with it."""
    where = f"row {i}"
    if not isinstance(row, dict):
        raise InputError(f"{where}: must be an object")
    for key in ("device", "kind", "impl", "shape", "dtype", "median_s", "gbps", "spread", "numel"):
        if key not in row:
            raise InputError(f"{where}: has no {key!r}")
    for key, known in (("device", DEVICE_TYPES), ("kind", KINDS + ("copy",)),
                       ("impl", IMPLS + ("copy", "h2d")), ("dtype", tuple(DTYPES))):
        if row[key] not in known:
            raise InputError(f"{where}: {key} must be one of {', '.join(known)}, got {row[key]!r}")
    shape = row["shape"]
    if not (isinstance(shape, list) and 1 <= len(shape) <= 8 and all(_is_count(d) for d in shape)):
        raise InputError(f"{where}: shape must be a list of 1 to 8 positive whole numbers, got {shape!r}")
    if not (is_real(row["median_s"]) and row["median_s"] > 0):
        raise InputError(f"{where}: median_s must be a positive number, got {row['median_s']!r}")
    for key in ("gbps", "spread"):
        if not (is_real(row[key]) and row[key] >= 0):
            raise InputError(f"{where}: {key} must be a number >= 0, got {row[key]!r}")
    if not (_is_count(row["numel"]) and row["numel"] == math.prod(shape)):
        raise InputError(f"{where}: numel must be the product of shape {shape}, got {row['numel']!r}")
    for key in ("compile_s", "ceiling_fraction"):
        v = row.get(key)
        if v is not None and not (is_real(v) and v >= 0):
            raise InputError(f"{where}: {key} must be a number >= 0 or null, got {v!r}")
    groups = row.get("num_groups")
    if groups is not None and not (row["kind"] == "group" and _is_count(groups) and len(shape) >= 2
                                   and shape[1] % groups == 0):
        raise InputError(f"{where}: num_groups belongs to a group row and must divide its channels "
                         f"shape[1], got {groups!r}")
    repeats = row.get("repeats_s")
    if repeats is not None:
        if not (isinstance(repeats, list) and 1 <= len(repeats) <= MAX_REPORT_REPEATS
                and all(is_real(t) and t > 0 for t in repeats)):
            raise InputError(f"{where}: repeats_s must be a list of 1 to {MAX_REPORT_REPEATS} positive numbers, "
                             f"got {str(repeats)[:80]}")
        low, high = min(repeats), max(repeats)
        if not low * (1 - 1e-9) <= row["median_s"] <= high * (1 + 1e-9):
            raise InputError(f"{where}: median_s {row['median_s']!r} must lie within its repeats_s "
                             f"({low!r} to {high!r}): it is their median")


def format_table(report):
    """The report as a readable text table: the norms, then the copy ceiling, then host-to-device apart."""
    lines = []
    for info in report.get("devices") or [report["device"]]:
        ceiling = info.get("ceiling_gbps", report.get("ceiling_gbps"))
        sheet = info.get("datasheet_gbps")
        lines.append(f"# {info['type']}: {info['name']}, torch {info.get('torch_version', '?')}, "
                     f"{info.get('num_threads', '?')} threads; copy ceiling "
                     f"{'-' if ceiling is None else f'{ceiling:.1f} GB/s'} (largest size)"
                     + ("" if sheet is None else f"; datasheet {sheet:.0f} GB/s")
                     + ("" if info.get("load_avg_1min") is None
                        else f"; load average {info['load_avg_1min']:g} at start"))
    lines.append("# GB/s = 2 * numel * itemsize / median (read x, write y); "
                 "% copy = GB/s / copy GB/s at the same size")
    repeats = (report.get("settings") or {}).get("repeats", 1)
    if repeats > 1:
        lines.append(f"# each time: the median of {repeats} repeats taken in turn; "
                     "spread = IQR / median of every timed block")
    if report.get("truncated"):
        lines.append("# truncated: the time budget ran out before every measurement")
    sections = (("normalizations", lambda r: r["kind"] != "copy"),
                ("copy (the ceiling)", lambda r: r["impl"] == "copy"),
                ("host to device (apart: bytes = numel * itemsize once)", lambda r: r["impl"] == "h2d"))
    head = (f"{'device':<6} {'kind':<8} {'impl':<15} {'shape':<18} {'dtype':<8} "
            f"{'median µs':>10} {'spread':>7} {'GB/s':>8} {'% copy':>7} {'compile s':>9}")
    for title, keep in sections:
        rows = [r for r in report["results"] if keep(r)]
        if not rows:
            continue
        lines += ["", f"## {title}", head]
        for r in rows:
            frac = r.get("ceiling_fraction")
            comp = r.get("compile_s")
            lines.append(
                f"{r['device']:<6} {r['kind']:<8} {r['impl']:<15} {str(tuple(r['shape'])):<18} {r['dtype']:<8} "
                f"{r['median_s'] * 1e6:>10.1f} {r['spread'] * 100:>6.1f}% {r['gbps']:>8.2f} "
                f"{'-' if frac is None else f'{frac * 100:.0f}%':>7} {'-' if comp is None else f'{comp:.2f}':>9}")
    for s in report.get("skipped", []):
        lines.append(f"# skipped {s['impl']} on {s['device']}: {s['reason']}")
    return "\n".join(lines)
