"""Every valid view opens, for everyone: the pages under AppTest over the whole space of links a person can reach.

page_links.links() draws a complete link (page, layer, shape or pasted print, every sidebar
parameter, the page's tab or dtype). The property (page_links.check_link_opens): no exception,
never the catch-all "Something went wrong", torch's own message wherever torch.nn refuses the
layer on that input, and no error where torch computes.

CI runs 40 links, derandomized so that a run is repeatable; a long fuzz draws thousands:

    LNORM_FUZZ_EXAMPLES=2000 python -m pytest tests/app/test_views_space.py -k property
    python bench/fuzz_pages.py --examples 2000      # keeps going past a failure and lists them all

Each failure a fuzz found is a named test below, with the link that showed it.
"""

import os
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings

import lnorm_app.ui as ui
import lnorm_core as lc
from page_links import LABELS, Link, check_link_opens, links, open_link, shown

FUZZ_EXAMPLES = int(os.environ.get("LNORM_FUZZ_EXAMPLES", "0"))
settings.register_profile("lnorm-pages-ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("lnorm-pages-fuzz", max_examples=max(FUZZ_EXAMPLES, 1), deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PAGES = settings.get_profile("lnorm-pages-fuzz" if FUZZ_EXAMPLES else "lnorm-pages-ci")


@PAGES
@given(links())
def test_property_every_valid_link_opens(link):
    check_link_opens(link)


# ---- links the fuzz broke, one test each --------------------------------------------------------------


def _link(page, kind="layer", shape=(2, 3, 4), **params):
    """A Link to page with the sidebar's defaults for kind, its layer parameters taken from params."""
    params = {"shape": ", ".join(map(str, shape)), "kind": LABELS[kind], **params}
    layer = {"affine": params.get("affine", "false" if kind == "instance" else "true") == "true",
             "eps": None if params.get("eps", "None" if kind == "rms" else "1e-05") == "None"
             else float(params.get("eps", "1e-05"))}
    if kind in ("layer", "rms"):
        layer["normalized_shape"] = lc.parse_shape(params.setdefault("ns", str(tuple(shape[-1:]))))
    if kind == "group":
        layer["num_groups"] = int(params.setdefault("groups", "1"))
    if kind in ("batch", "instance"):
        layer.update(training=params.get("mode", "train") == "train",
                     track_running_stats=params.get("track", str(kind == "batch").lower()) == "true",
                     momentum=float(params.get("momentum", "0.1")))
    link = Link(page, params, kind, torch.from_numpy(lc.seeded_tensor(shape, int(params.get("seed", 0)))), layer)
    link.dtype = params.get("dtype", "float32") if page == "compare" else "float64"
    return link


def test_groupnorm_vision_preset_on_compare():
    """The preset "vision (N, C, H, W)" (2, 4, 3, 3) with GroupNorm on Compare: its error heatmaps have 4 panels in
    two rows, and the lower row's y-domain came out -5.6e-17, which plotly refused ("Something went wrong")."""
    for part in ("output", "grad input", "grad weight", "grad bias"):
        at = check_link_opens(_link("compare", "group", (2, 4, 3, 3), part=part))
        assert at.get("plotly_chart")


def test_batchnorm_with_eps_0_shows_torchs_refusal():
    """eps=0 is one of the sidebar's choices; F.batch_norm refuses it in training, and the page showed numbers."""
    at = check_link_opens(_link("explorer", "batch", (1, 87, 2), eps="0"))
    assert "batch_norm eps must be positive during training, but got 0.0" in shown(at.error[0].value)


def test_batchnorm_eval_without_running_stats_on_one_sample_shows_torchs_refusal():
    """Eval without track_running_stats still normalizes with the batch: (1, 3) is refused as in training."""
    at = check_link_opens(_link("explorer", "batch", (1, 3), mode="eval", track="false"))
    assert "Expected more than 1 value per channel when training" in shown(at.error[0].value)


@pytest.mark.parametrize("page", ["explorer", "compare", "pitfalls"])
def test_instancenorm_on_a_1d_input_says_what_torch_nn_says(page):
    """nn.InstanceNorm1d says "expected 2D or 3D input (got 1D input)"; the pages said other words."""
    at = check_link_opens(_link(page, "instance", (74,), mode="train", track="false"))
    assert "expected 2D or 3D input (got 1D input)" in shown(at.error[0].value)


def test_pitfalls_batchnorm_section_on_a_1d_input_says_what_torch_nn_says():
    """LayerNorm on (196,) is fine; the page's BatchNorm train vs eval section is refused in nn.BatchNorm1d's
    words, and the rest of the page is drawn."""
    at = check_link_opens(_link("pitfalls", "layer", (196,), offset="1000000.0", dist="uniform",
                                part="BatchNorm: train vs eval"))
    assert [shown(e.value) for e in at.error] == [
        "expected 2D or 3D input (got 1D input); BatchNorm takes (N, C, *) input"]


# ---- a bad value never blanks the page ----------------------------------------------------------------


@pytest.mark.parametrize("page,eps", [("compare", "abc"), ("pitfalls", "1e999"), ("explorer", "abc"),
                                      ("explorer", "1e999")])
def test_an_unusable_eps_is_a_warning_and_the_page_goes_on(page, eps):
    """An eps that is no finite number: the page warns and draws the view with the default, as for any unreadable
    control (a negative eps is computed as torch computes it: tests/app/test_views_bad_input.py)."""
    at, _ = open_link(Link(page, {"eps": eps}))
    assert not at.exception and not at.error
    warning = " ".join(shown(w.value) for w in at.warning)
    assert f"eps: '{eps}'" in warning and "using the default instead" in warning
    assert at.get("plotly_chart")


@pytest.mark.parametrize("groups", ["0", "-2"])
def test_num_groups_below_1_is_a_warning_and_the_page_goes_on(groups):
    at, _ = open_link(Link("explorer", {"kind": "GroupNorm", "shape": "2, 4, 3", "groups": groups}))
    assert not at.exception and not at.error
    assert any(f"num_groups: '{groups}' is not a whole number of at least 1" in shown(w.value) for w in at.warning)
    assert at.get("plotly_chart")


# ---- a stranger's text stays text ---------------------------------------------------------------------

MARKUP = ["**bold**", "[link](http://example.com)", "# heading", "![img](http://example.com/x.png)",
          "<b>html</b>", "`code`", "$x^2$", ":material/home: :red[red] :smile:", "__init__", "~~gone~~",
          "www.example.com", "a@example.com", "&lt;", "\\*", "1. item", "> quote", "| a | b |"]


def _bare(md):
    """md with every backslash-escaped character replaced by NUL: what is left can make markup."""
    return re.sub(r"\\[!-/:-@\[-`{-~]", "\0", md)


@pytest.mark.parametrize("text", MARKUP)
def test_literal_shows_the_text_itself(text):
    """Every character a person typed is in what they see, and no markup character is left bare."""
    md = ui.literal(f"unexpected text {text!r}")
    assert shown(md) == f"unexpected text {text!r}"
    for pattern in ("**", "](", "<", "`", "$", "~", "@", "&", "www.", "://", ":m", ":r", ":s", "__", "|"):
        assert pattern not in _bare(md), (text, md)


@pytest.mark.parametrize("text,md", [
    ("# heading", "\\# heading"), ("> quote", "\\> quote"), ("- item", "\\- item"), ("1. item", "1\\. item"),
    ("12) item", "12\\) item"), ("    code", "code"), ("a\n# b\r\n> c", "a # b > c"),
    ("[x]: http://e.com", "\\[x]: http\\:\u2060//e.com"),
])
def test_literal_starts_no_block(text, md):
    """A message is one line, and its first character starts no heading, quote, list, code block or definition."""
    assert ui.literal(text) == md


def test_literal_keeps_torchs_words_as_they_are():
    """A single * and an intraword _ make no markup: torch's messages are shown and tested as torch writes them."""
    for words in ("Given normalized_shape=[2], expected input with shape [*, 2], but got input of size[4, 2, 3]",
                  "num_channels (4) must be divisible by num_groups (3)",
                  "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"):
        assert ui.literal(words) == words


LINK_WITH_MARKUP = {"source": "paste", "paste": "[1, 2, **bold**]", "kind": "# heading", "dist": "<b>html</b>",
                    "eps": "[link](http://example.com)", "seed": "![img](http://example.com/x.png)",
                    "shape": "**bold**"}


def test_a_link_full_of_markup_is_quoted_as_text():
    """Every message that quotes the link quotes it literally (the browser test checks the rendered page, on
    every input page)."""
    at, _ = open_link(Link("explorer", LINK_WITH_MARKUP))
    assert not at.exception
    messages = [e.value for e in at.error] + [w.value for w in at.warning]
    text = " ".join(shown(m) for m in messages)
    for value in ("**bold**", "'# heading'", "'<b>html</b>'", "'[link](http://example.com)'",
                  "'![img](http://example.com/x.png)'"):
        assert value in text, text
    for m in messages:
        assert not any(p in _bare(m) for p in ("**", "](", "<", "://")), m
