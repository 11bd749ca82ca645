"""What would my model cost? Every layer that fits a shape, side by side: bytes, CPU time, GPU times, the floor.

    c = costs((1, 4096, 4096), "bfloat16", layouts=("features last",), recorded=shipped_sources())
    for row in c.rows:
        print(row.device, row.kernel, [(cell.time_s, cell.method) for cell in row.cells])

Each number says how it was obtained (Cell.method), and they are never blended:
  measured       a time measured at exactly this many elements: a published GPU timing at this
                 size, a row of lnorm's CPU recording at this size, or a run of this very shape
                 on this server ("measured now");
  interpolated   read off a log-log line between the two nearest measured sizes of one curve
                 (lnorm_core.timing.interpolate_loglog); never beyond the measured sizes;
  bound          bytes moved / the GPU's datasheet bandwidth: no kernel on that GPU is faster.
Where none applies (the size outside what was measured, a layer nobody published, a pass the
CPU recording did not time) the cell has no time and its note says why.
Times are interpolated by element count: a curve measured on (4096, N) tensors is read at the
model's element count, and the note names the tensors it was measured on.
"""

import math
from dataclasses import dataclass

from lnorm_core import CLASS_NAMES, InputError, timing

from .presets import LAYOUTS, CostLayer, layers_for
from .published import CLASS_WORDS, gpus, kernel_label, published_series
from .sources import rows_by_size
from .words import count_text, shape_text, short_device, time_text

COST_DTYPES = ("float32", "bfloat16")  # the GPU rows' dtypes a person picks; the CPU is timed in float32
MODE_WORDS = {"forward": "forward", "backward": "backward", "full": "forward + backward"}


@dataclass(frozen=True)
class Cell:
    """One layer's time on one row: time_s (None where there is none), method, a note saying how or why not.

    short: the few words a table cell says where there is no time ("outside 4.19M to 67.1M elements").
    """

    time_s: float | None
    method: str | None
    note: str
    short: str = ""


@dataclass(frozen=True)
class CostRow:
    """One row of the chart and table: a device and what ran on it, a Cell per layer.

    group: "cpu" (lnorm's own CPU numbers), "gpu" (published, or an uploaded lnorm report on a
    GPU) or "bound" (a GPU's datasheet floor). source_url: the published file, or None.
    """

    group: str
    device: str
    kernel: str
    impl_class: str
    source: str
    source_url: str | None
    license: str | None
    cells: tuple


@dataclass(frozen=True)
class Costs:
    """The answer for one shape: bytes moved per call, the layers that fit, and every row."""

    shape: tuple
    dtype: str
    mode: str
    numel: int
    bytes_moved: int
    layers: tuple
    rows: tuple
    notes: tuple


# ---- the cells ---------------------------------------------------------------------------------


def _range_text(sizes):
    """'4,096 to 4,194,304 elements': the sizes a curve was measured at."""
    return f"{min(sizes):,} to {max(sizes):,} elements"


def _cell(estimate, shapes):
    """A Cell from a TimeEstimate (or None) of a curve measured at {numel: shape text}."""
    if estimate is None:
        return Cell(None, None, f"outside the sizes measured ({_range_text(shapes)}, {_shapes_text(shapes)})",
                    f"outside the sizes measured, {count_text(min(shapes))} to {count_text(max(shapes))} elements")
    if estimate.method == "measured":
        return Cell(estimate.time_s, "measured", f"measured at this size, on {shapes[estimate.lower]}")
    return Cell(estimate.time_s, "interpolated",
                f"interpolated between {shapes[estimate.lower]} and {shapes[estimate.upper]} "
                f"({estimate.lower:,} and {estimate.upper:,} elements)")


def _shapes_text(shapes):
    """'4096x1024 to 4096x16384': the tensors a curve was measured on, smallest and largest."""
    first, last = shapes[min(shapes)], shapes[max(shapes)]
    return first if first == last else f"{first} to {last}"


def _report_cells(layers, by_kind, numel, what):
    """Cells from one of lnorm's reports: {kind: {numel: row}} read at numel (a copy row under 'copy')."""
    cells = []
    for layer in layers:
        rows = by_kind.get(layer.kind)
        if not rows:
            cells.append(Cell(None, None, f"{CLASS_NAMES.get(layer.kind, layer.kind)} is not in {what}", "not measured"))
            continue
        est = timing.interpolate_loglog({n: r["median_s"] for n, r in rows.items()}, numel)
        cells.append(_cell(est, {n: shape_text(r["shape"]) for n, r in rows.items()}))
    return tuple(cells)


def _by_kind(report, device, dtype, impl="native"):
    """{kind: {numel: row}} of a report's rows on one device in one dtype (copies under 'copy')."""
    groups = rows_by_size(report, lambda r: r["device"] == device and r["dtype"] == dtype
                          and r["impl"] in (impl, "copy"))
    return {kind: rows for (_, kind, _, _), rows in groups.items()}


def _cpu_rows(layers, numel, mode, recorded, measured_now):
    """lnorm's CPU rows: the shipped recording read at numel, and a run of these shapes on this server."""
    out = []
    copy_layer = (CostLayer("copy", "copy"),)
    for src in recorded:
        if not any(r["device"] == "cpu" for r in src.report["results"]):
            continue
        name = src.report["device"].get("name", "cpu")
        by_kind = _by_kind(src.report, "cpu", "float32")
        what = "the CPU recording"
        if mode != "forward":
            cells = tuple(Cell(None, None, "the CPU recording times the forward pass only", "forward only")
                          for _ in layers)
            copy = (Cell(None, None, "the CPU recording times the forward pass only", "forward only"),)
        else:
            cells = _report_cells(layers, by_kind, numel, what)
            copy = _report_cells(copy_layer, by_kind, numel, what)
        label = f"CPU (recording): {name}"
        source = f"lnorm's recording ({src.label})"
        out.append(CostRow("cpu", label, "torch's kernel, float32", "lnorm native", source, None, None, cells))
        out.append(CostRow("cpu", label, "a plain copy, float32 (the least any norm costs)", "lnorm copy",
                           source, None, None, copy * len(layers)))
    if measured_now is not None:
        rows = measured_now["results"]
        cells, found = [], False
        for layer in layers:
            r = next((r for r in rows if r["kind"] == layer.kind and r["numel"] == numel
                      and r.get("num_groups") == layer.num_groups), None)
            found |= r is not None
            cells.append(Cell(None, None, "not in the run made here", "not in the run") if r is None else
                         Cell(r["median_s"], "measured", f"measured now on this shape, the median of "
                                                         f"{len(r.get('repeats_s') or [1])} repeats"))
        if found:
            name = measured_now["device"].get("name", "cpu")
            copy = next((r for r in rows if r["impl"] == "copy" and r["numel"] == numel), None)
            copy_cell = Cell(None, None, "not in the run made here", "not in the run") if copy is None else Cell(
                copy["median_s"], "measured", "measured now on a tensor of this size")
            source = f"lnorm, measured on this server ({measured_now['device'].get('date', '')[:16]})"
            out.append(CostRow("cpu", f"CPU (this server, now): {name}", "torch's kernel, float32", "lnorm native",
                               source, None, None, tuple(cells)))
            out.append(CostRow("cpu", f"CPU (this server, now): {name}", "a plain copy, float32 (the least any norm "
                               "costs)", "lnorm copy", source, None, None, (copy_cell,) * len(layers)))
    return out


def _published_rows(layers, numel, dtype, mode, rows):
    """{gpu: [CostRow]}: one row per (GPU, kernel, source) that published any of the layers' kinds."""
    grouped = {}  # (gpu, class, kernel, source) -> {kind: Series}
    for layer in layers:
        for s in published_series(layer.kind, dtype, mode, rows):
            k = s.key
            grouped.setdefault((k.gpu, k.impl_class, kernel_label(k), k.source), {})[layer.kind] = s
    order = {c: i for i, c in enumerate(timing.IMPL_CLASSES)}
    out = {}
    for (gpu, cls, kernel, source), by_kind in sorted(grouped.items(), key=lambda kv: (order[kv[0][1]], kv[0][2])):
        cells = []
        for layer in layers:
            s = by_kind.get(layer.kind)
            if s is None:
                cells.append(Cell(None, None, f"this source has no {CLASS_NAMES[layer.kind]} of this kernel",
                                  "not measured"))
                continue
            shapes = {}
            for m in s.points:
                shapes.setdefault(m.numel, shape_text(m.input_shape))
            cell = _cell(timing.interpolate_time(s, numel), shapes)
            if s.points[0].latency_bound and cell.time_s is not None:
                cell = Cell(cell.time_s, cell.method, cell.note + " (the source calls these sizes latency-bound)")
            cells.append(cell)
        p0 = next(iter(by_kind.values())).points[0]
        said = {"pytorch": "torch", "compiled": "torch.compile", "fast kernel": "\0"}[cls]  # already in the name?
        label = kernel if said in kernel.lower() else f"{kernel} ({CLASS_WORDS[cls]})"
        out.setdefault(gpu, []).append(CostRow("gpu", gpu, label, cls, source, p0.source_url, p0.license,
                                               tuple(cells)))
    return out


def _uploaded_rows(layers, numel, dtype, uploaded):
    """{gpu: [CostRow]}: an uploaded lnorm report's GPU rows, read like the CPU recording."""
    out = {}
    for src in uploaded:
        infos = src.report.get("devices") or [src.report["device"]]
        for info in infos:
            device = info.get("type")
            if device not in ("cuda", "mps"):
                continue
            by_kind = _by_kind(src.report, device, dtype)
            if not any(k != "copy" for k in by_kind):
                continue
            cells = _report_cells(layers, by_kind, numel, f"the {src.name} report")
            out.setdefault(info.get("name", device), []).append(CostRow(
                "gpu", info.get("name", device), "torch's kernel (lnorm harness)", "lnorm native",
                f"lnorm, {src.name}: {src.label}", None, None, cells))
    return out


def costs(shape, dtype="float32", mode="forward", layouts=LAYOUTS, num_groups=None, recorded=(), measured_now=None,
          uploaded=(), rows=None, first=None):
    """The Costs of one normalization tensor: every row for every layer that fits it.

    shape: the model's tensor; dtype: "float32" or "bfloat16" (the GPU rows; the CPU is
    recorded in float32 only); mode: "forward", "backward" or "full"; layouts: which layers fit
    (see layers_for). recorded: lnorm's shipped Sources; measured_now: a time_layers report of
    these shapes on this server; uploaded: Sources of uploaded reports (their GPU rows are read);
    rows: the published measurements (None: the shipped file); first: the kind listed first.
    """
    if dtype not in COST_DTYPES:
        raise InputError(f"dtype must be one of {', '.join(COST_DTYPES)}, got {dtype!r}")
    if mode not in timing.MODES:
        raise InputError(f"mode must be one of {', '.join(timing.MODES)}, got {mode!r}")
    numel = math.prod(shape)
    moved = timing.bytes_moved(numel, timing.itemsize(dtype), mode)
    layers, notes = layers_for(shape, layouts, num_groups, first)
    notes = list(notes)
    if not layers:
        return Costs(tuple(shape), dtype, mode, numel, moved, (), (), tuple(notes))

    out = _cpu_rows(layers, numel, mode, recorded, measured_now)
    by_gpu = _published_rows(layers, numel, dtype, mode, rows)
    for gpu, extra in _uploaded_rows(layers, numel, dtype, uploaded).items():
        by_gpu.setdefault(gpu, []).extend(extra)
    peaks = dict(gpus(rows))
    for src in uploaded:
        for info in src.report.get("devices") or [src.report["device"]]:
            if info.get("type") == "cuda" and info.get("datasheet_gbps"):
                peaks.setdefault(info["name"], info["datasheet_gbps"])
    for gpu, peak in peaks.items():
        floor = timing.roofline_time(moved, peak)
        out.append(CostRow("bound", gpu, f"lower bound: bytes ÷ {peak:g} GB/s (datasheet)", "bound", "the datasheet",
                           None, None, tuple(Cell(floor, "bound", f"{moved:,} bytes ÷ {peak:g} GB/s: no kernel on "
                                                                  "this GPU is faster") for _ in layers)))
        out.extend(by_gpu.get(gpu, []))
    unpublished = [CLASS_NAMES[k] for k in dict.fromkeys(layer.kind for layer in layers)
                   if not published_series(k, rows=rows)]
    if unpublished:
        notes.append(f"Nobody in the published files timed {' or '.join(unpublished)} on a GPU: for "
                     f"{'it' if len(unpublished) == 1 else 'them'} the GPU rows give only the lower bound.")
    if dtype != "float32":
        notes.append("The CPU rows are float32 (lnorm times the CPU in float32 only); the GPU rows are "
                     f"{dtype}, and the bytes above count {dtype}.")
    return Costs(tuple(shape), dtype, mode, numel, moved, layers, tuple(out), tuple(notes))


def passes_text(mode):
    """How many times an ideal kernel moves the tensor in a pass: '2' (read x, write y) for forward."""
    return {"forward": "2 (read x, write y)", "backward": "3 (read x and dy, write dx)",
            "full": "5 (forward, then backward)"}[mode]


def cell_text(cell):
    """A cell as the table writes it: '12.3 µs (measured)', '≥ 9.8 µs (bound)', '— not measured'."""
    if cell.time_s is None:
        return f"— {cell.short or cell.note}"
    if cell.method == "bound":
        return f"≥ {time_text(cell.time_s)} (bound)"
    return f"{time_text(cell.time_s)} ({cell.method})"


def costs_table(c):
    """The Costs as table rows: device, kernel, one column per layer (time and how), source and its address."""
    return [{"device": short_device(r.device), "kernel": r.kernel,
             **{layer.label: cell_text(cell) for layer, cell in zip(c.layers, r.cells)},
             "source": r.source, "address": r.source_url} for r in c.rows]
