"""The Timing page's reports: what it reads and draws, as against the live run (lnorm_app.models.timing_run).

    from lnorm_app.models import timing_reports as reports
    sources = reports.shipped_sources() + [reports.upload_source(data, "gpu.json")]
    lines = reports.series(sources, kinds=["layer", "rms"], dtype="float32", metric="median_s")
    curves = reports.published_curves(["layer"], mode="forward", gpus_shown=["NVIDIA H100 80GB HBM3"])
    c = reports.costs((1, 4096, 4096), "bfloat16", layouts=("features last",), recorded=sources)

One job per module:
    sources.py    lnorm's own reports: the shipped recordings, an upload, the session's run (a Source each)
    lines.py      those reports as lines: time and GB/s by size, the copy ceiling, GPU against CPU, the table
    published.py  other people's GPU timings as curves beside lnorm's rows, never merged with them
    presets.py    a model's tensor: the presets, a typed shape, the layers that fit it
    costs.py      what one call of each layer costs on that tensor: measured, interpolated or bound
    words.py      how the page writes sizes, times, bytes and devices

Nothing here measures, and nothing knows about Streamlit: every number is a report's own or a
published row's, with whose it is and how it was obtained.
"""

from .costs import COST_DTYPES, MODE_WORDS, Cell, CostRow, Costs, cell_text, costs, costs_table, passes_text
from .lines import (METRICS, Ceiling, Headline, Series, Speedup, ceilings, crossover, crossover_text, first_headline,
                    headline, series, speedups, table)
from .presets import (LAYOUT_OF, LAYOUT_WORDS, LAYOUTS, PRESETS, CostLayer, Preset, default_groups, layers_for,
                      parse_cost_shape)
from .published import (CLASS_WORDS, ORIGIN_PUBLISHED, Curve, Quote, check_gpus, cpu_quotes, gpus, kernel_label,
                        published_curves, published_kinds, published_rows, quote, quote_rows, report_curves,
                        source_rows, torch_quotes)
from .sources import (ACCELERATORS, GPU_COMMAND, SOURCE_RUN, SOURCE_SHIPPED, SOURCE_UPLOAD, Source, dtypes_in,
                      has_accelerator, impls_in, kinds_in, rows_by_size, run_source, shipped_sources, source_label,
                      upload_source)
from .words import (bytes_text, count_text, power_text, shape_text, short_device, short_dtype, size_text, time_text,
                    us_text)

__all__ = [
    "ACCELERATORS", "CLASS_WORDS", "COST_DTYPES", "Ceiling", "Cell", "CostLayer", "CostRow", "Costs", "Curve",
    "GPU_COMMAND", "Headline", "LAYOUTS", "LAYOUT_OF", "LAYOUT_WORDS", "METRICS", "MODE_WORDS", "ORIGIN_PUBLISHED",
    "PRESETS", "Preset", "Quote", "SOURCE_RUN", "SOURCE_SHIPPED", "SOURCE_UPLOAD", "Series", "Source", "Speedup",
    "bytes_text", "cell_text", "ceilings", "check_gpus", "costs", "costs_table", "count_text", "cpu_quotes",
    "crossover", "crossover_text", "default_groups", "dtypes_in", "first_headline", "gpus", "has_accelerator",
    "headline", "impls_in", "kernel_label", "kinds_in", "layers_for", "parse_cost_shape", "passes_text",
    "power_text", "published_curves", "published_kinds", "published_rows", "quote", "quote_rows", "report_curves",
    "rows_by_size", "run_source", "series", "shape_text", "shipped_sources", "short_device", "short_dtype",
    "size_text", "source_label", "source_rows", "speedups", "table", "time_text", "torch_quotes", "upload_source",
    "us_text",
]
