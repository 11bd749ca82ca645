"""A model's normalization tensor: the presets, a shape as a person types it, and the layers that fit it.

    p = PRESETS["ViT-B LayerNorm(768), batch 64 × 197 tokens"]
    layers, notes = layers_for(p.shape, p.layouts, p.num_groups, first=p.kind)

Only bytes and times are computed for such a shape (costs.py), never a tensor, so it may be far
larger than what the other pages allocate.
"""

import math
import re
from dataclasses import dataclass

from lnorm_core import InputError, timing

LAYOUTS = ("features last", "channels")
LAYOUT_WORDS = {"features last": "LayerNorm, RMSNorm",
                "channels": "BatchNorm, InstanceNorm, GroupNorm"}
LAYOUT_OF = {words: layout for layout, words in LAYOUT_WORDS.items()}
MAX_COST_DIMS = 6
MAX_COST_ELEMENTS = 2**40  # only bytes and times are computed for a typed shape: nothing this size is allocated


@dataclass(frozen=True)
class Preset:
    """A model's normalization tensor: its shape, the dtype it usually runs in, and which layers fit it."""

    shape: tuple
    dtype: str
    layouts: tuple
    num_groups: int | None = None
    note: str = ""
    kind: str | None = None  # the model's own layer: listed first


PRESETS = {
    "Llama-style RMSNorm(4096), (batch, seq) = (1, 4096)": Preset(
        (1, 4096, 4096), "bfloat16", ("features last",),
        note="a decoder layer's norm over hidden size 4096, one 4096-token sequence, in bf16", kind="rms"),
    "ViT-B LayerNorm(768), batch 64 × 197 tokens": Preset(
        (64, 197, 768), "float32", ("features last",), note="ViT-B/16 at 224 px: 196 patches and a class token",
        kind="layer"),
    "ResNet-50 stage BatchNorm2d(256), (32, 256, 56, 56)": Preset(
        (32, 256, 56, 56), "float32", ("channels",), note="the first stage's 256-channel output at batch 32",
        kind="batch"),
    "Stable Diffusion UNet GroupNorm(32, 320), (2, 320, 64, 64)": Preset(
        (2, 320, 64, 64), "float32", ("channels",), num_groups=32,
        note="the UNet's first block at 512 px (64 × 64 latents), batch 2 for classifier-free guidance", kind="group"),
}


@dataclass(frozen=True)
class CostLayer:
    """One layer that fits the shape: its kind, how torch.nn names it, and its GroupNorm groups."""

    kind: str
    label: str
    num_groups: int | None = None



def parse_cost_shape(text):
    """A shape typed as '1, 4096, 4096' (or with x, spaces, brackets): 2 to 6 positive whole numbers.

    Only bytes and times are computed from it, so it may be far larger than what the other
    pages allocate (up to MAX_COST_ELEMENTS elements).
    """
    body = str(text).strip().strip("()[]").strip()
    parts = [p for p in re.split(r"[,x×\s]+", body) if p]
    if not parts:
        raise InputError("give a shape, e.g. 1, 4096, 4096")
    if len(parts) < 2 or len(parts) > MAX_COST_DIMS:
        raise InputError(f"a shape here has 2 to {MAX_COST_DIMS} dims, got {len(parts)}")
    dims = []
    for p in parts:
        if not re.fullmatch(r"[0-9]{1,12}", p) or int(p) < 1:
            raise InputError(f"{p!r} is not a positive whole number")
        dims.append(int(p))
    if math.prod(dims) > MAX_COST_ELEMENTS:
        raise InputError(f"{tuple(dims)} holds {math.prod(dims):,} elements; the limit here is 2^40")
    return tuple(dims)


def default_groups(channels):
    """GroupNorm's groups for C channels: 32 where it divides C (the usual choice), else the largest divisor below 32."""
    return max(g for g in range(1, min(32, channels) + 1) if channels % g == 0)


def layers_for(shape, layouts, num_groups=None, first=None):
    """(layers that fit, notes): the CostLayers for `shape` under the layouts chosen, each one torch accepts.

    "features last": LayerNorm(D) and RMSNorm(D) over the last dim. "channels" (3 to 5 dims,
    (N, C, ...)): BatchNorm{1,2,3}d(C), InstanceNorm{1,2,3}d(C), GroupNorm(G, C) with G =
    num_groups or default_groups(C). A layer torch would refuse for this shape is left out, and
    a note gives torch's reason. first: a kind to list first (the model's own layer).
    """
    layers, notes = [], []
    for layout in layouts:
        if layout not in LAYOUTS:
            raise InputError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if "features last" in layouts:
        d = shape[-1]
        layers += [CostLayer("layer", f"LayerNorm({d})"), CostLayer("rms", f"RMSNorm({d})")]
    if "channels" in layouts:
        if not 3 <= len(shape) <= 5:
            notes.append(f"BatchNorm, InstanceNorm and GroupNorm take (N, C, L), (N, C, H, W) or (N, C, D, H, W); "
                         f"{shape} has {len(shape)} dims.")
        else:
            c, k = shape[1], len(shape) - 2
            g = num_groups or default_groups(c)
            for layer in (CostLayer("batch", f"BatchNorm{k}d({c})"), CostLayer("instance", f"InstanceNorm{k}d({c})"),
                          CostLayer("group", f"GroupNorm({g}, {c})", g)):
                try:
                    timing.spec_for(layer.kind, shape, layer.num_groups).check(shape)
                except InputError as e:
                    notes.append(f"{layer.label} is left out: torch refuses {shape}: {e}")
                    continue
                layers.append(layer)
    layers.sort(key=lambda layer: layer.kind != first)  # stable: the rest keep their order
    return tuple(layers), tuple(notes)
