"""Every layer torch accepts on a shape, and the parameter choices behind them, enumerated once.

    suffixes((2, 3, 4))          [(4,), (3, 4), (2, 3, 4)]: the normalized_shape choices, last dim first
    divisors(6)                  [1, 2, 3, 6]: the num_groups choices for 6 channels
    valid_layers((2, 3, 4))      LayerNorm and RMSNorm over each suffix, BatchNorm, InstanceNorm, GroupNorm
                                 with each divisor: those torch accepts, with torch's defaults
"""

from .spec import KIND_TABLE, KINDS, NormSpec


def suffixes(shape):
    """The normalized_shape choices torch accepts for shape: every run of its last dims, the last dim first."""
    return [tuple(shape[-k:]) for k in range(1, len(shape) + 1)]


def divisors(c):
    """The num_groups choices for c channels: its divisors, smallest first."""
    return [g for g in range(1, c + 1) if c % g == 0]


def valid_layers(shape, eps=None, kinds=KINDS):
    """Every layer of `kinds` that torch accepts (in training) on an input of `shape`: LayerNorm and RMSNorm
    over each suffix, BatchNorm, InstanceNorm, GroupNorm with each divisor of C; torch's defaults otherwise,
    with `eps` where one is given."""
    shape = tuple(int(d) for d in shape)
    out = []
    for kind in kinds:
        if KIND_TABLE[kind].trailing:
            specs = [NormSpec(kind, normalized_shape=s, eps=eps) for s in suffixes(shape)]
        elif KIND_TABLE[kind].grouped:
            specs = [NormSpec(kind, num_groups=g, eps=eps) for g in divisors(shape[1])] if len(shape) > 1 else []
        else:
            specs = [NormSpec(kind, eps=eps)]
        out += [s for s in specs if s.accepts(shape)]
    return out
