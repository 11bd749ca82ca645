"""lnorm_core: the normalization layers of PyTorch computed by hand, and checked against torch.

    import lnorm_core as lc
    x = lc.parse_tensor(text)                  # a pasted torch/numpy print or nested lists
    x = lc.seeded_tensor((2, 3, 4), seed=0)    # == torch.manual_seed(0); torch.randn(2, 3, 4)
    spec = lc.NormSpec(kind="layer", normalized_shape=(4,), eps=1e-5)
    groups = lc.group_ids(spec, x.shape)       # which elements share one mean and variance
    y = lc.manual_forward(spec, x)             # float64 numpy, two-pass
    y_ref = lc.torch_forward(spec, x)          # torch.nn.functional
    wrong = lc.manual_forward(spec, x, mistakes=("unbiased", "std_under_sqrt"))
    d = lc.which_mistake(spec, x, row)         # the whole output or one row: which mistakes, and where (d.where_label)
    s = lc.group_steps(spec, x, d.where, mistakes=d.mistakes[0])   # one group's arithmetic, right and wrong

This is the library: numpy and torch only. The app's page models, figures and
Streamlit helpers live in lnorm_app, which imports this package and never the other way.
Bad input raises lc.InputError, a ValueError with a message a person can act on.
"""

from .compare import TOLERANCES, Comparison, compare, ulp
from .diagnosis import Diagnosis, mistake_combinations, printed_resolution, which_mistake
from .equivalence import Equivalent, equivalents, outputs_equal, param_ids, same_partition
from .errors import MAX_DIMS, MAX_ELEMENTS, MAX_NESTING, MAX_PASTE_CHARS, InputError
from .manual import (
    MISTAKES,
    STEPS,
    Forward,
    Mistake,
    RunningStats,
    backward,
    forward,
    manual_backward,
    manual_forward,
    running_stats_step,
)
from .reference import DTYPES, available_devices, torch_backward, torch_forward
from .steps import GroupSteps, StepValue, group_steps
from .spec import CLASS_NAMES, KIND_TABLE, KINDS, Kind, Layout, NormSpec, group_ids, layout, reduction_layout
from .tensors import check_shape, parse_shape, parse_tensor, seeded_tensor
from .variance import ALGORITHMS, error_sweep, variance

__all__ = [
    "ALGORITHMS", "CLASS_NAMES", "DTYPES", "KIND_TABLE", "KINDS", "MAX_DIMS", "MAX_ELEMENTS", "MAX_NESTING",
    "MAX_PASTE_CHARS", "MISTAKES", "STEPS", "TOLERANCES", "available_devices", "backward", "check_shape", "compare",
    "Comparison", "Diagnosis", "Equivalent", "equivalents", "error_sweep", "forward", "Forward", "group_ids",
    "group_steps", "GroupSteps", "InputError", "Kind", "layout", "Layout", "manual_backward", "manual_forward",
    "Mistake", "mistake_combinations", "NormSpec", "outputs_equal", "param_ids", "parse_shape", "parse_tensor",
    "printed_resolution", "reduction_layout", "running_stats_step", "RunningStats", "same_partition",
    "seeded_tensor", "StepValue", "torch_backward", "torch_forward", "ulp", "variance", "which_mistake",
]
