"""Figure builders: data in, plotly.graph_objects.Figure out, one module per page.

    common    panels of a tensor, the cell budget, grids of panels, colours, note_of
    explorer  group_map, group_cube, stages_figure (and id_map, stage_grid, which draw them)
    affine    weight_map, affine_figure
    compare   error_heatmap, variance_sweep_figure
    pitfalls  pitfall_differences, pitfall_bars, running_stats_figure, train_eval_figure
    practice  pick_figure, checked_figure (the Explorer's grid, cells to click and cells checked)
    timing    timing_time_figure, timing_bandwidth_figure, timing_speedup_figure
    timing_gpu  gpu_bandwidth_figure, gpu_peak_figure, costs_figure

No builder computes a statistic; each is handed the numbers by a page model.
"""

from .common import (
    DIVERGING,
    GROUP_COLORS,
    MAX_CELLS,
    as_panels,
    limit_panels,
    note_of,
    panel_titles,
    symmetric_range,
)
from .compare import ALGORITHM_LABELS, error_heatmap, offset_text, variance_sweep_figure
from .affine import affine_figure, weight_map
from .explorer import MAX_CUBE_POINTS, group_cube, group_map, stages_figure
from .pitfalls import (
    pitfall_bars,
    pitfall_differences,
    pitfall_label,
    running_stats_figure,
    train_eval_figure,
)
from .timing import (
    IMPL_COLORS,
    KIND_COLORS,
    timing_bandwidth_figure,
    timing_speedup_figure,
    timing_time_figure,
)
from .timing_gpu import METHOD_WORDS, costs_figure, device_color, gpu_bandwidth_figure, gpu_peak_figure

__all__ = [
    "ALGORITHM_LABELS", "DIVERGING", "GROUP_COLORS", "IMPL_COLORS", "KIND_COLORS", "MAX_CELLS", "MAX_CUBE_POINTS",
    "METHOD_WORDS", "affine_figure", "as_panels", "costs_figure", "device_color", "error_heatmap",
    "gpu_bandwidth_figure", "gpu_peak_figure", "group_cube", "group_map", "limit_panels", "note_of", "offset_text",
    "panel_titles", "pitfall_bars", "pitfall_differences", "pitfall_label", "running_stats_figure", "stages_figure",
    "symmetric_range", "timing_bandwidth_figure", "timing_speedup_figure", "timing_time_figure", "train_eval_figure",
    "variance_sweep_figure", "weight_map",
]
