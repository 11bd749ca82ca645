"""lnorm_core: the normalization layers of PyTorch computed by hand, and checked against torch.

    import lnorm_core as lc
    x = lc.parse_tensor(text)                  # a pasted torch/numpy print or nested lists
    x = lc.seeded_tensor((2, 3, 4), seed=0)    # == torch.manual_seed(0); torch.randn(2, 3, 4)
    spec = lc.NormSpec(kind="layer", normalized_shape=(4,), eps=1e-5)
    groups = lc.group_ids(spec, x.shape)       # which elements share one mean and variance
    y = lc.manual_forward(spec, x)             # float64 numpy, two-pass
    y_ref = lc.torch_forward(spec, x)          # torch.nn.functional
    wrong = lc.manual_forward(spec, x, mistakes=("unbiased", "std_under_sqrt"))
    mine = lc.manual_forward(spec, x, recipe=lc.Recipe(pool=(1, 2), ddof=1))   # any recipe of the STEPS
    d = lc.which_mistake(spec, x, row)         # the whole output or one row: which mistakes, and where (d.where_label)
    s = lc.group_steps(spec, x, d.where, mistakes=d.mistakes[0])   # one group's arithmetic, right and wrong
    r = lc.read_code(code, spec, x=x)          # a snippet read, never run: r.verdict, r.mistakes, r.line(m), r.output(x)
    spec.torch_name(x.shape)                   # 'LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)'
    r = lc.refusal_help(spec, x.shape)         # where torch refuses: its words, their meaning, what it accepts
    lc.equivalents(spec, x.shape, x=x)         # layers that pool alike, each with when its output is the same
    lc.layernorm_vs_instancenorm(x)            # the claim, answered on (N, L, D) or (N, C, H, W)

This is the library: numpy and torch only. The app's page models, figures and
Streamlit helpers live in lnorm_app, which imports this package and never the other way.
Bad input raises lc.InputError, a ValueError with a message a person can act on.
"""

from .compare import TOLERANCES, Comparison, compare, ulp
from .diagnosis import Diagnosis, mistake_combinations, printed_resolution, which_mistake
from .dtypes import DTYPES
from .equivalence import Equivalent, equivalents, outputs_equal
from .pairs import Gap, LayerPair, compare_layers, layernorm_vs_instancenorm
from .partition import View, param_ids, same_partition
from .errors import MAX_DIMS, MAX_ELEMENTS, MAX_NESTING, MAX_PASTE_CHARS, InputError, TorchRefusal
from .layers import divisors, suffixes, valid_layers
from .layout import Layout
from .manual import Forward, backward, forward, manual_backward, manual_forward
from .parse import parse_shape, parse_tensor
from .read_code import Reading, read_code
from .reference import available_devices, torch_backward, torch_forward
from .recipe import MISTAKES, RIGHT, STEPS, Mistake, Recipe
from .refusal import Fix, Refusal, refusal_help
from .running import RunningStats, running_stats_step
from .shared import forward_each
from .spec import CLASS_NAMES, KIND_TABLE, KINDS, Kind, NormSpec, group_ids
from .steps import GroupSteps, StepValue, group_steps
from .tensors import check_shape, seeded_tensor
from .variance import ALGORITHMS, error_sweep, variance

__all__ = [
    "ALGORITHMS", "CLASS_NAMES", "DTYPES", "KIND_TABLE", "KINDS", "MAX_DIMS", "MAX_ELEMENTS", "MAX_NESTING",
    "MAX_PASTE_CHARS", "MISTAKES", "STEPS", "TOLERANCES", "available_devices", "backward", "check_shape",
    "compare", "compare_layers", "Comparison", "Diagnosis", "divisors", "Equivalent", "equivalents", "error_sweep", "Fix",
    "Forward", "forward", "forward_each", "Gap", "group_ids", "group_steps", "GroupSteps", "InputError", "Kind",
    "layernorm_vs_instancenorm", "LayerPair", "Layout", "manual_backward", "manual_forward",
    "Mistake", "mistake_combinations", "NormSpec", "outputs_equal", "param_ids", "parse_shape", "parse_tensor",
    "printed_resolution", "read_code", "Reading", "Recipe", "Refusal", "refusal_help", "RIGHT", "running_stats_step",
    "RunningStats", "same_partition", "seeded_tensor", "StepValue", "suffixes", "torch_backward", "torch_forward",
    "TorchRefusal", "ulp", "valid_layers", "variance", "View", "which_mistake",
]
