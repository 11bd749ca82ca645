"""Config: everything the sidebar controls say, as one frozen value that keys every cache.

A page builds a Config from its controls (lnorm_app.ui) and hands it to its page model
(lnorm_app.models); Config turns itself into the library's inputs: the tensor, the NormSpec,
the weight and bias.
"""

import hashlib
import math
from dataclasses import dataclass, fields

from lnorm_core import KIND_TABLE, InputError, NormSpec, check_shape, parse_tensor, seeded_tensor

SOURCES = ("random", "paste")
DISTS = ("normal", "uniform")
INITS = ("default", "random")  # affine parameters: torch's ones/zeros, or seeded random

@dataclass(frozen=True)
class Config:
    """Everything the sidebar controls say: the input and the normalization.

    source: "random" (shape, seed, dist, offset, scale) or "paste" (paste).
    The normalization parameters are named as in torch.nn; affine switches
    elementwise_affine (layer, rms) or affine (batch, instance, group), and
    init says whether weight and bias are torch's ones/zeros or seeded random.
    """

    source: str = "random"
    shape: tuple = (2, 3, 4)
    seed: int = 0
    dist: str = "normal"
    offset: float = 0.0
    scale: float = 1.0
    paste: str = ""
    kind: str = "layer"
    normalized_shape: tuple = (4,)
    eps: float = 1e-5
    affine: bool = True
    init: str = "default"
    num_groups: int = 1
    training: bool = True
    momentum: float = 0.1
    track_running_stats: bool = True

    def key(self):
        """A small hashable key: the fields, with a pasted text replaced by its digest."""
        values = tuple(getattr(self, f.name) for f in fields(self) if f.name != "paste")
        return values + (hashlib.sha256(self.paste.encode("utf-8", "replace")).hexdigest(),)

    def elements(self):
        """About how many elements the input has, before it is made: the shape's product, or for a paste
        the most its text can hold (a number and its comma take at least two characters)."""
        if self.source == "paste":
            return len(self.paste) // 2 + 1
        return math.prod(self.shape) if self.shape else 1

    def tensor(self):
        """The input: the seeded draw, or the parsed paste (InputError if it is bad)."""
        if self.source == "paste":
            if not self.paste.strip():
                raise InputError("paste a tensor first, e.g. the print of torch.randn(2, 4)")
            return parse_tensor(self.paste)
        if self.source != "random":
            raise InputError(f"unknown source {self.source!r}; choose one of {', '.join(SOURCES)}")
        return seeded_tensor(check_shape(self.shape), self.seed, self.dist, self.offset, self.scale)

    def spec(self):
        """The NormSpec the controls describe (InputError where a parameter is invalid); the controls of
        other kinds (num_groups for LayerNorm, ...) are left out."""
        return NormSpec.for_kind(self.kind, normalized_shape=self.normalized_shape, eps=self.eps, affine=self.affine,
                                 num_groups=self.num_groups, training=self.training, momentum=self.momentum,
                                 track_running_stats=self.track_running_stats)

    def params(self, spec, shape):
        """(weight, bias) as the controls set them: None for torch's ones/zeros, or seeded random.

        Random parameters equal torch.manual_seed(seed + 1); torch.randn(*param_shape) for the
        weight and seed + 2 for the bias, so the reproduce code can build them the same way.
        """
        if self.init != "random":
            return None, None
        pshape = spec.param_shape(shape)
        weight = seeded_tensor(pshape, self.seed + 1) if spec.has_weight else None
        bias = seeded_tensor(pshape, self.seed + 2) if spec.has_bias else None
        return weight, bias


def notes(config):
    """What the controls ask for that torch computes though it is unusual, one sentence each (the page says them
    beside the result, never in place of it)."""
    out = []
    eps = config.eps
    if eps is not None and eps < 0:
        out.append(f"eps = {eps:g} is negative. Where torch takes it (every layer but BatchNorm), sqrt(var + eps) "
                   f"is NaN in each group whose variance is below {-eps:g}, and so is every output of that group.")
    info = KIND_TABLE.get(config.kind)
    momentum = config.momentum
    if info and info.running_stats and config.track_running_stats and momentum is not None and not 0 <= momentum <= 1:
        out.append(f"momentum = {momentum:g} is outside [0, 1]: each training step moves running_mean and "
                   f"running_var {'past' if momentum > 1 else 'away from'} this batch's statistics instead of "
                   "towards them. torch computes it as given; the output in training does not use them.")
    return out
