"""NormSpec: which normalization, with its parameters named as torch.nn names them.

A spec says which elements share one mean and variance (`group_ids`) and checks
a shape the way torch would, refusing with torch's own words where torch refuses.

Layouts are torch's: LayerNorm and RMSNorm normalize the trailing dims
`normalized_shape` of any input; BatchNorm, InstanceNorm and GroupNorm take
(N, C, *) with the channels in dim 1.
"""

import math
from dataclasses import dataclass, replace

from .dtypes import DTYPE_TABLE, dtype_info
from .errors import InputError, TorchRefusal, is_whole_number, number
from .layout import Layout

DEFAULT_EPS = 1e-5  # torch.nn's default for every kind but RMSNorm


@dataclass(frozen=True)
class Kind:
    """What one kind of normalization is: the one place every other module asks.

    class_name: the torch.nn class a person searches for.
    trailing: it normalizes the trailing dims `normalized_shape` of any input (LayerNorm,
        RMSNorm); otherwise it takes (N, C, *) input and its parameters are per channel.
    centers: it subtracts the mean (every kind but RMSNorm).
    has_bias: its affine parameters include a bias (every kind but RMSNorm).
    running_stats: it can keep running statistics (BatchNorm, InstanceNorm).
    grouped: it takes num_groups, groups of consecutive channels (GroupNorm).
    counts_batches: with running statistics, it counts the batches (num_batches_tracked), and its
        momentum=None is the cumulative average (BatchNorm; torch's InstanceNorm counts none).
    default_affine, default_track: torch.nn's defaults for affine (elementwise_affine)
        and track_running_stats.
    """

    class_name: str
    trailing: bool
    centers: bool = True
    has_bias: bool = True
    running_stats: bool = False
    grouped: bool = False
    counts_batches: bool = False
    default_affine: bool = True
    default_track: bool = False


KIND_TABLE = {
    "layer": Kind("LayerNorm", trailing=True),
    "rms": Kind("RMSNorm", trailing=True, centers=False, has_bias=False),
    "batch": Kind("BatchNorm", trailing=False, running_stats=True, counts_batches=True, default_track=True),
    "instance": Kind("InstanceNorm", trailing=False, running_stats=True, default_affine=False),
    "group": Kind("GroupNorm", trailing=False, grouped=True),
}
KINDS = tuple(KIND_TABLE)
CLASS_NAMES = {kind: k.class_name for kind, k in KIND_TABLE.items()}  # the URL and the UI say these


def _as_shape(value, name):
    """An int or a sequence of ints as a tuple of positive ints."""
    if is_whole_number(value):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        raise InputError(f"{name} must be an int or a sequence of ints, got {value!r}") from None
    for d in dims:
        if not is_whole_number(d):
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
        Any number is taken as torch takes it: a negative eps makes sqrt(var + eps) NaN in
        every group whose variance is below -eps (BatchNorm refuses it, as torch does, in check).
    elementwise_affine, bias: layer/rms learnable weight (and, for layer, bias).
    affine: batch/instance/group learnable weight and bias of shape (C,);
        None means torch's default (True for batch and group, False for instance).
    num_groups: group's number of groups; must divide C.
    momentum: running-statistics update factor, any number as torch takes it; None means the
        cumulative average.
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
        info = KIND_TABLE[self.kind]
        if info.trailing:
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
        if self.eps is None and info.centers:  # RMSNorm's None means the dtype's machine epsilon
            set_("eps", DEFAULT_EPS)
        if self.eps is not None:  # any number, as torch takes it (BatchNorm's refusals are in check)
            set_("eps", number(self.eps, "eps"))
        if self.affine is None:
            set_("affine", info.default_affine)
        if self.track_running_stats is None:
            set_("track_running_stats", info.default_track)
        if self.kind == "group":
            ng = self.num_groups
            if not is_whole_number(ng) or ng < 1:
                raise InputError(f"num_groups must be a whole number >= 1, got {ng!r}")
            set_("num_groups", int(ng))
        elif self.num_groups is not None:
            raise InputError(f"num_groups belongs to GroupNorm, not {CLASS_NAMES[self.kind]}")
        if self.momentum is not None:  # any number, as torch takes it: outside [0, 1] too
            set_("momentum", number(self.momentum, "momentum"))
        for name in ("elementwise_affine", "bias", "affine", "training", "track_running_stats"):
            set_(name, bool(getattr(self, name)))

    # ---- what the spec implies -------------------------------------------------

    @property
    def info(self):
        """What this kind is (a Kind from KIND_TABLE): trailing dims or channels, centering, bias, buffers."""
        return KIND_TABLE[self.kind]

    @property
    def class_name(self):
        """The torch.nn class name: LayerNorm, RMSNorm, BatchNorm, InstanceNorm or GroupNorm."""
        return self.info.class_name

    @property
    def has_weight(self):
        """Whether the layer has a learnable weight (gamma)."""
        return self.elementwise_affine if self.info.trailing else self.affine

    @property
    def has_bias(self):
        """Whether the layer has a learnable bias (beta); RMSNorm never has one."""
        if not self.info.has_bias:
            return False
        if self.info.trailing:
            return self.elementwise_affine and self.bias
        return self.affine

    @property
    def keeps_running_stats(self):
        """Whether the layer keeps running_mean and running_var buffers (BatchNorm, InstanceNorm tracking)."""
        return self.info.running_stats and self.track_running_stats

    @property
    def uses_running_stats(self):
        """Eval mode with tracked statistics: normalize with running_mean/running_var."""
        return self.keeps_running_stats and not self.training

    @property
    def centers(self):
        """Whether the mean is subtracted (every kind but RMSNorm)."""
        return self.info.centers

    def eps_for(self, dtype):
        """The eps used for input of `dtype` (torch's rule for RMSNorm's eps=None)."""
        if self.eps is not None:
            return self.eps
        # torch.nn.functional.rms_norm: the machine epsilon of the type it computes in (opmath)
        return DTYPE_TABLE[dtype_info(dtype).opmath].machine_eps

    def param_shape(self, shape):
        """Shape of weight and bias for input `shape`: normalized_shape, or (C,)."""
        if self.info.trailing:
            return self.normalized_shape
        return (shape[1],)

    def nn_class(self, ndim):
        """The torch.nn class name for this spec on ndim-D input, or None where only the functional form fits.

        BatchNorm1d takes (N, C) and (N, C, L), 2d (N, C, H, W), 3d (N, C, D, H, W).
        InstanceNorm1d/2d/3d take (N, C, *) with 1/2/3 spatial dims; they read (C, L)
        or (C, H, W) as an unbatched input, so a 2-D input has no InstanceNorm class.
        LayerNorm, RMSNorm and GroupNorm are one class for every input.
        """
        if not self.info.running_stats:
            return self.class_name
        n_spatial = ndim - 2
        if self.kind == "batch" and 0 <= n_spatial <= 3:
            return f"BatchNorm{max(n_spatial, 1)}d"
        if self.kind == "instance" and 1 <= n_spatial <= 3:
            return f"InstanceNorm{n_spatial}d"
        return None

    def layout(self, shape):
        """The Layout of this spec on an input of `shape` (checked as torch checks it): how it pools, where its
        parameters and buffers run. The one place that knows what each kind pools."""
        shape = self.check(shape)
        ndim = len(shape)
        view = shape
        spatial = tuple(range(2, ndim))  # the dims after (N, C)
        buffers = (shape[1],) if self.keeps_running_stats else None
        if self.info.trailing:
            param_axes = tuple(range(ndim - len(self.normalized_shape), ndim))
            broadcast = self.normalized_shape  # trailing dims broadcast as they are
            reduce_dims = param_axes  # the dims of normalized_shape
        else:
            param_axes = (1,)
            broadcast = (1, shape[1]) + (1,) * (ndim - 2)  # (C,) -> (1, C, 1, ...)
            if self.kind == "batch":
                reduce_dims = (0,) + spatial  # every dim but the channel's
            elif self.kind == "instance":
                reduce_dims = spatial  # each (sample, channel) over its spatial dims
            else:  # group: (N, C, *S) -> (N, G, C/G, *S), each (sample, group) over its channels and spatial dims
                view = (shape[0], self.num_groups, shape[1] // self.num_groups) + shape[2:]
                reduce_dims = tuple(range(2, len(view)))
        return Layout(shape, view, reduce_dims, self.param_shape(shape), param_axes, broadcast, buffers)

    def with_(self, **changes):
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    def torch_name(self, shape, short=False):
        """The layer on an input of `shape` as torch prints the module (its repr), e.g.
        'LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)', 'GroupNorm(2, 4, eps=1e-05, affine=True,
        bias=True)', 'BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)'.

        short: the constructor call without the arguments at torch's defaults, as a person writes it:
        'LayerNorm((4,))', 'GroupNorm(2, 4)', 'InstanceNorm2d(3, eps=0.001)'. Both are code that builds the
        module in torch.nn. Where no nn class takes the input (BatchNorm on 6 dims, InstanceNorm on 2) the
        name is the kind's, e.g. 'BatchNorm(3, ...)'.
        """
        info = self.info
        if info.trailing:
            args = [str(self.normalized_shape)]
            printed = [("eps", self.eps, DEFAULT_EPS if info.centers else None),
                       ("elementwise_affine", self.elementwise_affine, True)]
            if info.has_bias:
                printed.append(("bias", self.has_bias, self.elementwise_affine))  # bias=False only said alone
        else:
            args = [str(self.num_groups), str(shape[1])] if self.kind == "group" else [str(shape[1])]
            printed = [("eps", self.eps, DEFAULT_EPS)]
            if info.running_stats:
                printed.append(("momentum", self.momentum, 0.1))
            printed += [("affine", self.affine, info.default_affine), ("bias", self.has_bias, self.affine)]
            if info.running_stats:
                printed.append(("track_running_stats", self.track_running_stats, info.default_track))
        args += [f"{name}={value}" for name, value, default in printed if not short or value != default]
        return f"{self.nn_class(len(shape)) or self.class_name}({', '.join(args)})"

    def with_affine(self, on=True):
        """A copy with its learnable weight and bias on or off (elementwise_affine for LayerNorm and RMSNorm)."""
        return self.with_(elementwise_affine=on, bias=True) if self.info.trailing else self.with_(affine=on)

    def same_layer(self, other):
        """Whether other is this layer whatever its eps, affine or mode: the same kind pooling the same dims."""
        return (self.kind, self.normalized_shape, self.num_groups) == (other.kind, other.normalized_shape,
                                                                       other.num_groups)

    @classmethod
    def for_kind(cls, kind, **params):
        """A spec of `kind` from any of torch.nn's parameters: those the kind does not take are left out.

        normalized_shape, elementwise_affine and bias go to LayerNorm and RMSNorm (affine is read
        as elementwise_affine there), num_groups to GroupNorm, momentum, training and
        track_running_stats to BatchNorm and InstanceNorm; eps and affine to every kind.
        """
        if kind not in KIND_TABLE:
            raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
        info = KIND_TABLE[kind]
        takes = {"eps"}
        if info.trailing:
            takes |= {"normalized_shape", "elementwise_affine", "bias"}
            if "affine" in params and "elementwise_affine" not in params:
                params["elementwise_affine"] = params["affine"]
        else:
            takes.add("affine")
        if info.grouped:
            takes.add("num_groups")
        if info.running_stats:
            takes |= {"momentum", "training", "track_running_stats"}
        return cls(kind, **{name: value for name, value in params.items() if name in takes})

    # ---- checking a shape as torch does -------------------------------------------

    def check(self, shape):
        """Refuse `shape` where torch would: a TorchRefusal with torch's message word for word, its reason and
        the numbers behind it. Returns the shape as a tuple of ints."""
        shape = tuple(int(d) for d in shape)
        if self.info.trailing:
            k = len(self.normalized_shape)
            ns = list(self.normalized_shape)
            if self.kind == "rms" and len(shape) < k:
                raise TorchRefusal(f"Input tensor must have at least {k} dimensions, but got {len(shape)}",
                                   "normalized_shape", shape=shape)
            if shape[-k:] != self.normalized_shape:
                expected = ", ".join(str(d) for d in ns)
                # torch's two texts differ by a comma: LayerNorm says [*, 2], RMSNorm says [*2]
                star = "*, " if self.kind == "layer" else "*"
                raise TorchRefusal(f"Given normalized_shape={ns}, expected input with shape [{star}{expected}], "
                                   f"but got input of size{list(shape)}", "normalized_shape", shape=shape)
            return shape
        if len(shape) < 2:
            if self.kind == "group":  # torch.nn.functional.group_norm's words
                raise TorchRefusal(f"Expected at least 2 dimensions for input tensor but received {len(shape)} "
                                   f"({self.class_name} takes (N, C, *) input)", "too_few_dims", shape=shape)
            # nn.BatchNorm1d's and nn.InstanceNorm1d's words: the classes that take the fewest dims
            raise TorchRefusal(f"expected 2D or 3D input (got {len(shape)}D input); {self.class_name} takes "
                               "(N, C, *) input", "too_few_dims", shape=shape)
        n, c, spatial = shape[0], shape[1], math.prod(shape[2:])
        found = dict(shape=shape, n=n, c=c, spatial=spatial)
        size = f"torch.Size({list(shape)})"
        # batch and instance use this input's statistics in training, and in eval without running
        # statistics (nn.BatchNorm then calls F.batch_norm with training=True): torch's checks apply
        batch_stats = not self.uses_running_stats
        if self.kind == "batch" and batch_stats and n * spatial == 1:
            raise TorchRefusal(f"Expected more than 1 value per channel when training, got input size {size}",
                               "one_value_per_channel", **found)
        if self.kind == "batch" and batch_stats and self.eps <= 0:
            # F.batch_norm: a batch's own variance may be 0, so training needs eps > 0
            raise TorchRefusal(f"batch_norm eps must be positive during training, but got {self.eps}",
                               "eps_not_positive", **found)
        if self.kind == "batch" and self.eps < 0:  # with running statistics F.batch_norm takes 0, never less
            raise TorchRefusal(f"batch_norm eps must be non-negative, but got {self.eps}", "eps_negative", **found)
        if self.kind == "instance" and batch_stats and spatial == 1:
            raise TorchRefusal(f"Expected more than 1 spatial element when training, got input size {size}",
                               "one_spatial_element", **found)
        if self.kind == "group":
            g = self.num_groups
            if c % g:
                raise TorchRefusal(f"num_channels ({c}) must be divisible by num_groups ({g})",
                                   "groups_do_not_divide", **found)
            if n * (c // g) * spatial == 1:
                # torch.nn.functional.group_norm checks the (N*C/G, G, *S) view as BatchNorm would
                view = [n * c // g, g] + list(shape[2:])
                raise TorchRefusal(f"Expected more than 1 value per channel when training, got input size {view}",
                                   "one_value_per_group", **found)
        return shape

    def accepts(self, shape):
        """Whether torch accepts this layer on an input of `shape` (check raises nothing)."""
        try:
            self.check(shape)
        except InputError:
            return False
        return True


def group_ids(spec, shape):
    """The reduction group of each element: an int array of `shape`.

    Elements with the same id share one mean and one variance. Ids count from 0 in the
    order spec.layout(shape).pool lays the groups out.
    """
    return spec.layout(tuple(int(d) for d in shape)).ids()
