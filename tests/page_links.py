"""The space of links a person can reach, drawn by hypothesis, and what torch.nn says about each.

links() draws a complete link: a page (explorer, compare, pitfalls, practice, timing), every sidebar
control as the sidebar writes it into the URL (layer, shape or a pasted torch print,
normalized_shape among the valid suffixes, num_groups among the divisors, eps among the
sidebar's choices and negative ones, affine, init, mode, track_running_stats, any momentum, seed, distribution,
offset, scale) and the page's own tab or dtype; for Practice, an exercise or a set of them drawn from
lnorm_core.practice's space. torch_refusal() asks torch.nn, not lnorm,
whether the layer runs on that input. check_link_opens() opens the link under AppTest and
checks the property. tests/app/test_views_space.py runs it in CI; bench/fuzz_pages.py runs it
for thousands of links.
"""

import logging
import math
import re
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from apptest import open_page
from hypothesis import strategies as st
from torch import nn

import lnorm_core as lc
from lnorm_core import practice

CATCH_ALL = "Something went wrong"  # lnorm_app.ui.user_errors' message for a bug
DEFAULTED = "using the default instead"  # a control value the page could not read

LABELS = {"layer": "LayerNorm", "rms": "RMSNorm", "batch": "BatchNorm", "instance": "InstanceNorm",
          "group": "GroupNorm"}  # the URL's kind=, as torch.nn names the classes
EPS_CHOICES = ["1e-05", "1e-06", "0.001", "0.1", "0"]  # the sidebar's eps list (RMSNorm adds "None")
PRESET_SHAPES = [(2, 3, 4), (4, 2, 3), (2, 5, 8), (2, 4, 3, 3), (8, 128, 512), (1024, 1024)]
EXPLORER_VIEWS = ["Groups", "3-D cube", "Input → output", "Weight and bias", "Same pooling", "Reproduce in PyTorch"]
COMPARE_DTYPES = ["float64", "float32", "float16", "bfloat16"]
COMPARE_TOPICS = ["torch against the hand computation", "Three ways to compute a variance"]
COMPARE_PARTS = ["output", "grad input", "grad weight", "grad bias"]
PITFALLS_PARTS = ["Your row", "Your code", "Every mistake", "BatchNorm: train vs eval"]
# code= on Pitfalls: none, right code against the code's own layer, and code lnorm does not read (never an error box)
PITFALLS_CODE = ["", "import torch\nln = torch.nn.LayerNorm(x.shape[-1])\n"
                     "y = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + "
                     "ln.eps)\n",
                 "import os\nos.system('touch pwned')", "y = [i for i in range(10 ** 9)]", "**not** [code](x)"]
PITFALLS_OPEN = ["open_unbiased", "open_std_under_sqrt", "open_whole_sample", "open_unbiased-std_under_sqrt"]
TIMING_PLOTS = ["Time", "GB/s and the ceiling", "GPU against CPU", "All rows"]
MOMENTA = st.one_of(st.sampled_from([0.0, 0.1, 1.0, -1.2, 1.5]), st.floats(-2.0, 2.0))  # torch takes any
MAX_PASTE = 1000  # torch prints up to 1000 elements in full; above that it summarizes with "..."
SMALL = 256  # most draws stay under this many elements, so that a run is fast


@dataclass
class Link:
    """A link as the app writes it (page and query params) and the layer it asks for, for torch."""

    page: str
    params: dict
    kind: str = "layer"
    x: torch.Tensor = None  # the input: the seeded draw, or the tensor whose print was pasted
    layer: dict = field(default_factory=dict)  # normalized_shape, num_groups, eps, affine, training, ...
    dtype: str = "float64"  # the dtype torch computes in on this page

    def __repr__(self):
        shape = None if self.x is None else tuple(self.x.shape)
        params = {k: (v if len(v) <= 80 else v[:80] + "...") for k, v in self.params.items()}
        return f"Link(page={self.page!r}, shape={shape}, params={params})"


def shown(markdown):
    """The text a person sees for a message written as Markdown with backslash escapes (and invisible U+2060)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


# ---- the strategy ------------------------------------------------------------------------------------


@st.composite
def shapes(draw, max_elements=lc.MAX_ELEMENTS, small=SMALL):
    """A shape of 1 to 6 dims, sizes from 1 up: one draw in ten may use all max_elements, the rest stay small."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([s for s in PRESET_SHAPES if math.prod(s) <= max_elements]))
    ndim = draw(st.integers(1, 6))
    budget = max_elements if draw(st.integers(0, 9)) == 0 else min(small, max_elements)
    dims = []
    for _ in range(ndim):
        d = draw(st.one_of(st.integers(1, min(4, budget)), st.integers(1, budget)))
        dims.append(d)
        budget //= d
    return tuple(draw(st.permutations(dims)))


def _tensor(draw, shape):
    """A seeded float64 tensor of shape, sometimes with a NaN or an inf in it."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * draw(st.sampled_from([1.0, 1e-3, 1e4]))
    x = x + draw(st.sampled_from([0.0, 0.0, 5.0, -1e5]))
    if draw(st.integers(0, 4)) == 0:
        flat = x.view(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return x


def _printed(x, dtype):
    """x as torch prints it in a notebook (in full: at most MAX_PASTE elements)."""
    return str(x.to(dtype))


@st.composite
def links(draw, pages=("explorer", "compare", "pitfalls", "practice", "timing")):
    """A complete link to a page: the sidebar's controls and the page's own, as the app writes them."""
    page = draw(st.sampled_from(pages))
    if page == "timing":
        return _timing_link(draw)
    if page == "practice":
        return _practice_link(draw)
    params = {}
    paste = draw(st.integers(0, 3)) == 0
    if paste:
        shape = draw(shapes(max_elements=MAX_PASTE))
        x = _tensor(draw, shape)
        params.update(source="paste", paste=_printed(x, draw(st.sampled_from([torch.float32, torch.float64]))))
    else:
        shape = draw(shapes())
        seed = draw(st.integers(0, 2**31 - 1))
        dist = draw(st.sampled_from(["normal", "uniform"]))
        offset = draw(st.one_of(st.sampled_from([0.0, 1e6, -1e6, 1e3]), st.floats(-1e6, 1e6)))
        scale = draw(st.sampled_from([1.0, 1.0, 1e-6, 1e6, 0.5]))
        params.update(shape=", ".join(map(str, shape)), seed=str(seed), dist=dist, offset=repr(offset),
                      scale=repr(scale))
        x = torch.from_numpy(lc.seeded_tensor(shape, seed, dist, offset, scale))
    kind = draw(st.sampled_from(list(LABELS)))
    params["kind"] = LABELS[kind]
    layer = {}
    if kind in ("layer", "rms"):
        k = draw(st.integers(1, len(shape)))
        layer["normalized_shape"] = tuple(shape[-k:])
        params["ns"] = str(tuple(shape[-k:]))  # as the sidebar writes it: "(4,)", "(3, 4)"
    if kind == "group":
        c = shape[1] if len(shape) > 1 else 1
        g = draw(st.sampled_from([d for d in range(1, c + 1) if c % d == 0]))
        layer["num_groups"] = g
        params["groups"] = str(g)
    eps = draw(st.sampled_from((["None"] if kind == "rms" else []) + EPS_CHOICES + ["-0.5", "-1e-05"]))
    params["eps"] = eps
    layer["eps"] = None if eps == "None" else float(eps)
    if kind in ("batch", "instance"):
        mode = draw(st.sampled_from(["train", "eval"]))
        track = draw(st.booleans())
        momentum = draw(MOMENTA)
        params.update(mode=mode, track=str(track).lower(), momentum=repr(momentum))
        layer.update(training=mode == "train", track_running_stats=track, momentum=momentum)
    affine = draw(st.booleans())
    params["affine"] = str(affine).lower()
    layer["affine"] = affine
    if affine:
        params["init"] = draw(st.sampled_from(["default", "random"]))
    link = Link(page, params, kind, x, layer)
    if page == "explorer":
        params["view"] = draw(st.sampled_from(EXPLORER_VIEWS))
    elif page == "compare":
        link.dtype = params["dtype"] = draw(st.sampled_from(COMPARE_DTYPES))
        params["part"] = draw(st.sampled_from(COMPARE_PARTS))
        params["topic"] = draw(st.sampled_from(COMPARE_TOPICS))
    elif page == "pitfalls":
        params["part"] = draw(st.sampled_from(PITFALLS_PARTS))
        if params["part"] == "Every mistake" and draw(st.booleans()):
            params[draw(st.sampled_from(PITFALLS_OPEN))] = "true"  # one mistake's numbers open
        params["steps"] = str(draw(st.integers(1, 50)))
        if params["part"] == "Your code":
            params["code"] = draw(st.sampled_from(PITFALLS_CODE))
        if draw(st.booleans()) and x.numel() <= MAX_PASTE:
            y = torch_output(link)
            if y is not None:
                params["wrong"] = str((y * draw(st.sampled_from([1.0, 1.0001, 1.5]))).to(torch.float32))
    return link


def _practice_link(draw):
    """A Practice link: one exercise of any kind drawn from its seed (?ex=), or a set of two or three (?set=)."""
    codes = [practice.draw(draw(st.sampled_from(list(practice.KINDS.values()))), draw(st.integers(0, 2**32))).code
             for _ in range(draw(st.sampled_from([1, 1, 2, 3])))]
    return Link("practice", {"ex": codes[0]} if len(codes) == 1 else {"set": "~".join(codes)})


def _timing_link(draw):
    params = {"plot": draw(st.sampled_from(TIMING_PLOTS)), "show": LABELS[draw(st.sampled_from(list(LABELS)))]}
    if draw(st.booleans()):
        params["dtype"] = "float32"
    return Link("timing", params)


# ---- what torch.nn says ------------------------------------------------------------------------------


def torch_module(kind, layer, shape, dtype=torch.float64):
    """The torch.nn module for the layer on an input of shape, in dtype (or the call torch.nn makes inside)."""
    ndim = len(shape)
    eps = layer["eps"]
    if kind == "layer":
        return nn.LayerNorm(layer["normalized_shape"], 1e-5 if eps is None else eps,
                            elementwise_affine=layer["affine"], dtype=dtype)
    if kind == "rms":
        return nn.RMSNorm(layer["normalized_shape"], eps, elementwise_affine=layer["affine"], dtype=dtype)
    eps = 1e-5 if eps is None else eps
    if kind == "group":
        if ndim < 2:
            return lambda x: F.group_norm(x, layer["num_groups"], eps=eps)
        return nn.GroupNorm(layer["num_groups"], shape[1], eps, layer["affine"], dtype=dtype)
    c = shape[1] if ndim > 1 else shape[0]
    args = (c, eps, layer["momentum"], layer["affine"], layer["track_running_stats"])
    spatial = ndim - 2
    if kind == "batch":
        m = (nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[min(max(spatial, 0), 3)](
            *args, dtype=dtype)
        m.train(layer["training"])
        if spatial > 3:  # no class takes (N, C, 4 spatial dims): torch.nn's BatchNorm code, without the dim check
            m._check_input_dim = lambda x: None
        return m
    m = (nn.InstanceNorm1d, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)[min(max(spatial, 0), 3)](
        *args, dtype=dtype)
    m.train(layer["training"])
    if spatial in (0, 4):  # (N, C) is unbatched (C, L) to InstanceNorm1d: torch.nn's own code for (N, C, *)
        return m._apply_instance_norm
    return m


def _call(link, backward=False):
    """torch.nn's output for the link's layer and input, in the page's dtype (raises where torch refuses)."""
    dtype = getattr(torch, link.dtype)
    m = torch_module(link.kind, link.layer, tuple(link.x.shape), dtype)
    x = link.x.to(dtype).requires_grad_(backward)
    y = m(x)
    if backward:
        y.backward(torch.ones_like(y))
    return y


def torch_refusal(link):
    """torch.nn's message where it refuses the link's layer on its input (forward, and backward on Compare), or None."""
    try:
        _call(link, backward=link.page == "compare")
    except (RuntimeError, ValueError, IndexError) as e:
        return str(e)
    return None


def torch_output(link):
    """torch.nn's float64 output for the link, or None where torch refuses."""
    try:
        with torch.no_grad():
            return _call(Link(link.page, link.params, link.kind, link.x, link.layer))
    except (RuntimeError, ValueError, IndexError):
        return None


def batch_section_refusal(link):
    """The Pitfalls page's "BatchNorm: train vs eval" section: torch.nn's message for a training BatchNorm on
    the link's shape (with the sidebar's eps, momentum and affine), or None."""
    if link.x.ndim < 2 and link.params.get("source") == "paste":
        return None  # the page says why instead
    eps = link.layer["eps"]
    layer = dict(eps=1e-5 if eps is None else eps, momentum=link.layer.get("momentum", 0.1),
                 affine=link.layer["affine"], training=True, track_running_stats=True)
    try:
        with torch.no_grad():
            _call(Link(link.page, link.params, "batch", link.x, layer))
    except (RuntimeError, ValueError, IndexError) as e:
        return str(e)
    return None


# ---- the property -------------------------------------------------------------------------------------


class _Records(logging.Handler):
    """The tracebacks lnorm logs while a page runs (user_errors logs every unexpected failure)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.texts = []

    def emit(self, record):
        self.texts.append(self.format(record))


def open_link(link):
    """Run the link's page under AppTest: (AppTest, the tracebacks lnorm logged)."""
    records = _Records()
    log = logging.getLogger("lnorm")
    log.addHandler(records)
    try:
        at = open_page(f"views/{link.page}.py", link.params, timeout=120)
    finally:
        log.removeHandler(records)
    return at, records.texts


def check_link_opens(link):
    """The property: the page opens without an exception or the catch-all message, and says what torch says.

    Where torch.nn refuses the layer on the input, one of the page's errors carries torch's
    message; where torch computes, the page shows no error (on Pitfalls, its BatchNorm section
    may carry torch's refusal of a training BatchNorm on that shape), and no control is
    reported unreadable.
    """
    at, logged = open_link(link)
    assert not at.exception, f"{link}: {[e.value for e in at.exception]}"
    errors = [shown(e.value) for e in at.error]
    assert not any(CATCH_ALL in e for e in errors), f"{link}: {errors}\n" + "\n".join(logged)
    warnings = [shown(w.value) for w in at.warning]
    assert not any(DEFAULTED in w for w in warnings), f"{link}: {warnings}"
    if link.page in ("timing", "practice"):  # no sidebar layer: nothing torch could refuse
        assert not errors, f"{link}: {errors}"
        return at
    refusal = torch_refusal(link)
    if refusal:
        assert any(refusal in e for e in errors), f"{link}: torch says {refusal!r}, the page {errors}"
    allowed = [m for m in (refusal, batch_section_refusal(link) if link.page == "pitfalls" else None) if m]
    unexplained = [e for e in errors if not any(m in e for m in allowed)]
    assert not unexplained, f"{link}: torch says {allowed}, the page {unexplained}"
    return at
