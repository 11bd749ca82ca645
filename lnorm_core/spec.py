"""NormSpec: which normalization, with its parameters named as torch.nn names them.

A spec says which elements share one mean and variance (`group_ids`) and checks
a shape the way torch would, refusing with torch's own words where torch refuses.

Layouts are torch's: LayerNorm and RMSNorm normalize the trailing dims
`normalized_shape` of any input; BatchNorm, InstanceNorm and GroupNorm take
(N, C, *) with the channels in dim 1.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError

KINDS = ("layer", "rms", "batch", "instance", "group")
# The torch.nn class each kind stands for: what a person searches for.
CLASS_NAMES = {
    "layer": "LayerNorm",
    "rms": "RMSNorm",
    "batch": "BatchNorm",
    "instance": "InstanceNorm",
    "group": "GroupNorm",
}
DEFAULT_EPS = 1e-5  # torch.nn's default for every kind but RMSNorm


def _as_shape(value, name):
    """An int or a sequence of ints as a tuple of positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        raise InputError(f"{name} must be an int or a sequence of ints, got {value!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise InputError(f"{name} must hold whole numbers, got {d!r}")
        if d < 1:
            raise InputError(f"{name} must hold sizes of at least 1, got {list(dims)}")
    return tuple(int(d) for d in dims)


@dataclass(frozen=True)
class NormSpec:
    """A normalization and its parameters, named and defaulted as in torch.nn.

    kind: "layer" (nn.LayerNorm), "rms" (nn.RMSNorm), "batch" (nn.BatchNorm1d/2d/3d),
        "instance" (nn.InstanceNorm1d/2d/3d) or "group" (nn.GroupNorm).
    normalized_shape: the trailing dims that layer and rms normalize over.
    eps: added to the variance under the square root. None means 1e-5, except for
        rms, where None follows torch: the machine epsilon of the computation type
        (float32's for float16, bfloat16 and float32 input, float64's for float64).
    elementwise_affine, bias: layer/rms learnable weight (and, for layer, bias).
    affine: batch/instance/group learnable weight and bias of shape (C,);
        None means torch's default (True for batch and group, False for instance).
    num_groups: group's number of groups; must divide C.
    momentum: running-statistics update factor; None means the cumulative average.
    training: batch/instance use the statistics of this input when True; in eval
        with track_running_stats they use the running statistics.
    track_running_stats: None means torch's default (True for batch, False for instance).
    """

    kind: str
    normalized_shape: tuple = None
    eps: float = None
    elementwise_affine: bool = True
    bias: bool = True
    affine: bool = None
    num_groups: int = None
    momentum: float = 0.1
    training: bool = True
    track_running_stats: bool = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        if self.kind in ("layer", "rms"):
            if self.normalized_shape is None:
                raise InputError(f"{CLASS_NAMES[self.kind]} needs normalized_shape, e.g. the last dim of the input")
            set_("normalized_shape", _as_shape(self.normalized_shape, "normalized_shape"))
            if not self.normalized_shape:
                # torch's own words for an empty normalized_shape
                raise InputError(
                    "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
                    "one element, but got normalized_shape = []"
                )
        elif self.normalized_shape is not None:
            raise InputError(f"normalized_shape belongs to LayerNorm and RMSNorm, not {CLASS_NAMES[self.kind]}")
        if self.eps is None and self.kind != "rms":
            set_("eps", DEFAULT_EPS)
        if self.eps is not None:
            eps = _as_float(self.eps, "eps")
            if not (math.isfinite(eps) and eps >= 0):
                raise InputError(f"eps must be a finite number >= 0, got {self.eps!r}")
            set_("eps", eps)
        if self.affine is None:
            set_("affine", self.kind in ("batch", "group"))
        if self.track_running_stats is None:
            set_("track_running_stats", self.kind == "batch")
        if self.kind == "group":
            ng = self.num_groups
            if ng is None or isinstance(ng, bool) or not isinstance(ng, (int, np.integer)) or ng < 1:
                raise InputError(f"num_groups must be a whole number >= 1, got {ng!r}")
            set_("num_groups", int(ng))
        elif self.num_groups is not None:
            raise InputError(f"num_groups belongs to GroupNorm, not {CLASS_NAMES[self.kind]}")
        if self.momentum is not None:
            m = _as_float(self.momentum, "momentum")
            if not (0.0 <= m <= 1.0):
                raise InputError(f"momentum must be between 0 and 1 (or None for the cumulative average), got {m!r}")
            set_("momentum", m)
        for name in ("elementwise_affine", "bias", "affine", "training", "track_running_stats"):
            set_(name, bool(getattr(self, name)))

    # ---- what the spec implies -------------------------------------------------

    @property
    def class_name(self):
        """The torch.nn class name: LayerNorm, RMSNorm, BatchNorm, InstanceNorm or GroupNorm."""
        return CLASS_NAMES[self.kind]

    @property
    def has_weight(self):
        """Whether the layer has a learnable weight (gamma)."""
        return self.elementwise_affine if self.kind in ("layer", "rms") else self.affine

    @property
    def has_bias(self):
        """Whether the layer has a learnable bias (beta); RMSNorm never has one."""
        if self.kind == "rms":
            return False
        if self.kind == "layer":
            return self.elementwise_affine and self.bias
        return self.affine

    @property
    def uses_running_stats(self):
        """Eval mode with tracked statistics: normalize with running_mean/running_var."""
        return self.kind in ("batch", "instance") and self.track_running_stats and not self.training

    @property
    def centers(self):
        """Whether the mean is subtracted (every kind but RMSNorm)."""
        return self.kind != "rms"

    def eps_for(self, dtype):
        """The eps used for input of `dtype` (torch's rule for RMSNorm's eps=None)."""
        if self.eps is not None:
            return self.eps
        # torch.nn.functional.rms_norm: machine epsilon of the opmath type
        name = str(dtype).replace("torch.", "")
        if name != "bfloat16":
            name = np.dtype(name if name in ("float64", "float32", "float16") else dtype).name
        return float(np.finfo(np.float64).eps) if name == "float64" else float(np.finfo(np.float32).eps)

    def param_shape(self, shape):
        """Shape of weight and bias for input `shape`: normalized_shape, or (C,)."""
        if self.kind in ("layer", "rms"):
            return self.normalized_shape
        return (shape[1],)

    def with_(self, **changes):
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    def label(self):
        """How torch would print the module, e.g. 'LayerNorm((4,), eps=1e-05)'."""
        if self.kind in ("layer", "rms"):
            eps = "None" if self.eps is None else f"{self.eps:g}"
            return f"{self.class_name}({self.normalized_shape}, eps={eps})"
        if self.kind == "group":
            return f"GroupNorm({self.num_groups}, C, eps={self.eps:g})"
        return f"{self.class_name}(C, eps={self.eps:g})"

    # ---- checking a shape as torch does -------------------------------------------

    def check(self, shape):
        """Refuse `shape` where torch would, with torch's message word for word."""
        shape = tuple(int(d) for d in shape)
        if self.kind in ("layer", "rms"):
            k = len(self.normalized_shape)
            if self.kind == "rms" and len(shape) < k:
                raise InputError(f"Input tensor must have at least {k} dimensions, but got {len(shape)}")
            if shape[-k:] != self.normalized_shape:
                ns = list(self.normalized_shape)
                expected = ", ".join(str(d) for d in ns)
                # torch's two texts differ by a comma: LayerNorm says [*, 2], RMSNorm says [*2]
                star = "*, " if self.kind == "layer" else "*"
                raise InputError(
                    f"Given normalized_shape={ns}, expected input with shape [{star}{expected}], "
                    f"but got input of size{list(shape)}"
                )
            return shape
        if len(shape) < 2:
            if self.kind == "group":  # torch.nn.functional.group_norm's words
                raise InputError(
                    f"Expected at least 2 dimensions for input tensor but received {len(shape)} "
                    f"({self.class_name} takes (N, C, *) input)"
                )
            # nn.BatchNorm1d's and nn.InstanceNorm1d's words: the classes that take the fewest dims
            raise InputError(
                f"expected 2D or 3D input (got {len(shape)}D input); {self.class_name} takes (N, C, *) input"
            )
        n, c = shape[0], shape[1]
        spatial = math.prod(shape[2:])
        size = f"torch.Size({list(shape)})"
        # batch and instance use this input's statistics in training, and in eval without running
        # statistics (nn.BatchNorm then calls F.batch_norm with training=True): torch's checks apply
        batch_stats = not self.uses_running_stats
        if self.kind == "batch" and batch_stats and n * spatial == 1:
            raise InputError(f"Expected more than 1 value per channel when training, got input size {size}")
        if self.kind == "batch" and batch_stats and self.eps <= 0:
            # F.batch_norm: a batch's own variance may be 0, so training needs eps > 0 (eval accepts 0)
            raise InputError(f"batch_norm eps must be positive during training, but got {self.eps}")
        if self.kind == "instance" and batch_stats and spatial == 1:
            raise InputError(f"Expected more than 1 spatial element when training, got input size {size}")
        if self.kind == "group":
            g = self.num_groups
            if c % g:
                raise InputError(f"num_channels ({c}) must be divisible by num_groups ({g})")
            if n * (c // g) * spatial == 1:
                # torch.nn.functional.group_norm checks the (N*C/G, G, *S) view as BatchNorm would
                view = [n * c // g, g] + list(shape[2:])
                raise InputError(f"Expected more than 1 value per channel when training, got input size {view}")
        return shape


def _as_float(value, name):
    """A number as a float, or InputError naming the parameter."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None


def reduction_layout(spec, shape):
    """How `spec` pools an input of `shape`: (perm, num_groups, group_size).

    Moving the axes of x by `perm` and reshaping to (num_groups, group_size) puts
    each reduction group in one row. Every kind is one such view:
      layer/rms:  (*lead, *normalized)  -> (prod(lead), prod(normalized))
      batch:      (N, C, *S) -> (C, N, *S) -> (C, N*prod(S))      one group a channel
      instance:   (N, C, *S)              -> (N*C, prod(S))       one group a (sample, channel)
      group:      (N, C, *S)              -> (N*G, C/G*prod(S))   one group a (sample, channel group)
    """
    shape = spec.check(shape)
    ndim = len(shape)
    perm = tuple(range(ndim))
    total = math.prod(shape)
    if spec.kind in ("layer", "rms"):
        size = math.prod(spec.normalized_shape)
    elif spec.kind == "batch":
        perm = (1, 0) + tuple(range(2, ndim))  # channels first: each channel's elements contiguous
        size = total // shape[1]
    elif spec.kind == "instance":
        size = math.prod(shape[2:])
    else:  # group
        size = (shape[1] // spec.num_groups) * math.prod(shape[2:])
    return perm, total // size, size


def pool(x, perm, groups, size):
    """(*x.shape) -> (G, n): each reduction group of a layout (see reduction_layout) in one row."""
    return np.transpose(x, perm).reshape(groups, size)


def unpool(rows, perm, shape):
    """(G, n) -> (*shape): the inverse of pool."""
    permuted = tuple(shape[p] for p in perm)
    return np.transpose(rows.reshape(permuted), np.argsort(perm))


def layout_ids(perm, groups, size, shape):
    """The group id of each element of `shape` for a pooling layout (perm, groups, size)."""
    ids = np.repeat(np.arange(groups), size)  # (G*n,) one id per element, in pooled order
    return np.ascontiguousarray(unpool(ids, perm, shape))  # back to x's layout


def group_ids(spec, shape):
    """The reduction group of each element: an int array of `shape`.

    Elements with the same id share one mean and one variance. Ids count from 0
    in the order the groups are laid out in `reduction_layout`.
    """
    shape = tuple(int(d) for d in shape)
    return layout_ids(*reduction_layout(spec, shape), shape)
