"""Bad input through every page (AppTest and query params): a clear message, never an exception.

The inputs are what strangers send a public demo: ragged and huge pastes, code,
unicode junk, zero-size and negative dims, shapes over the limit, parameters
torch refuses, and links with values no control can take.
"""


import pytest
from apptest import open_page

import lnorm_core as lc

PAGES = ["views/explorer.py", "views/compare.py", "views/pitfalls.py"]

# (query params, words the message must contain)
BAD_LINKS = [
    ({"source": "paste", "paste": "[[1, 2], [3]]"}, "row 2"),
    ({"source": "paste", "paste": "__import__('os').system('echo hacked')"}, "unexpected text"),
    ({"source": "paste", "paste": "[1, 2]; import os"}, "unexpected text"),
    ({"source": "paste", "paste": "[[１, ２], [💥, ☃]]"}, "unexpected text"),
    ({"source": "paste", "paste": "[]"}, "empty"),
    ({"source": "paste", "paste": "[" * 50 + "1" + "]" * 50}, "nested more than"),
    ({"shape": "0, 3"}, "at least 1"),
    ({"shape": "2, -3"}, "at least 1"),
    ({"shape": "2048, 2048"}, "the limit is 1,048,576"),
    ({"shape": "1, 1, 1, 1, 1, 1, 1"}, "the limit is 6"),
    ({"shape": "2; rm -rf /"}, "not a whole number"),
    ({"shape": "4, 2, 3", "ns": "(2,)"}, "Given normalized_shape=[2], expected input with shape [*, 2]"),
    ({"kind": "GroupNorm", "shape": "2, 4, 3", "groups": "3"}, "num_channels (4) must be divisible by num_groups (3)"),
    ({"kind": "BatchNorm", "shape": "1, 3"}, "Expected more than 1 value per channel when training"),
    ({"kind": "InstanceNorm", "shape": "2, 3, 1"}, "Expected more than 1 spatial element when training"),
    ({"eps": "-1", "kind": "BatchNorm"}, "batch_norm eps must be positive during training, but got -1.0"),
    ({"eps": "abc"}, "not a number"),
    ({"kind": "Softmax"}, "not one of"),
    ({"seed": "abc"}, "not a number"),
    ({"momentum": "abc", "kind": "BatchNorm"}, "not a number"),
]


def _run(page, params):
    return open_page(page, params)


def _messages(at):
    return " ".join(e.value for e in at.error) + " " + " ".join(w.value for w in at.warning)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("params,words", BAD_LINKS, ids=[str(p) for p, _ in BAD_LINKS])
def test_bad_link_gives_a_message_not_an_exception(page, params, words):
    at = _run(page, params)
    assert not at.exception, at.exception
    assert words in _messages(at), _messages(at)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("params,words", [
    ({"eps": "-0.5"}, "eps = -0.5 is negative"),
    ({"kind": "InstanceNorm", "eps": "-0.5", "shape": "2, 3, 4"}, "eps = -0.5 is negative"),
    ({"kind": "BatchNorm", "momentum": "7"}, "momentum = 7 is outside [0, 1]"),
    ({"kind": "InstanceNorm", "momentum": "-1.2", "track": "true", "shape": "2, 3, 4"}, "momentum = -1.2 is outside"),
])
def test_values_torch_computes_are_computed_with_a_note(page, params, words):
    """torch computes with a negative eps and any momentum: the page too, with a note, never a refusal."""
    at = _run(page, params)
    assert not at.exception and not at.error and not at.warning, _messages(at)
    assert any(words in i.value for i in at.info), [i.value for i in at.info]


@pytest.mark.parametrize("page", PAGES)
def test_a_huge_paste_is_refused_with_the_limit(page):
    at = _run(page, {"source": "paste"})
    at.session_state["paste"] = "1, " * (lc.MAX_PASTE_CHARS // 3 + 10)
    at.run()
    assert not at.exception
    assert f"the limit is {lc.MAX_PASTE_CHARS:,}" in _messages(at)


def test_nan_and_inf_in_a_paste_are_shown_not_refused():
    """A NaN poisons its own group: the page draws it, with the other groups still finite."""
    at = _run("views/pitfalls.py", {"source": "paste", "paste": "[[1.0, nan, 2.0], [1.0, 2.0, 4.0]]",
                                    "part": "Every mistake"})
    assert not at.exception and not at.error
    assert "nan" in " ".join(c.value for c in at.code).lower()


@pytest.mark.parametrize("page", PAGES)
def test_nan_is_marked_with_the_groups_it_poisons(page):
    """Group 0 holds the NaN (and row 2's inf poisons group 2): the page names them, nothing else breaks."""
    at = _run(page, {"source": "paste", "paste": "[[1.0, nan, 2.0], [1.0, 2.0, 4.0], [inf, 0.0, 1.0]]"})
    assert not at.exception and not at.error
    note = " ".join(w.value for w in at.warning)
    assert "1 NaN and 1 inf" in note and "2 of 3 groups are poisoned (group 0, 2)" in note


def test_an_unexpected_failure_is_a_short_message_and_the_next_session_is_fine(monkeypatch):
    """A bug (not bad input) in one session: a message without a traceback; other sessions go on."""
    from lnorm_app.models import explorer as ex

    def broken(config):
        raise RuntimeError("a bug deep in the core")

    with monkeypatch.context() as m:
        m.setattr(ex, "explore", broken)
        at = _run("views/explorer.py", {})
        assert not at.exception
        text = " ".join(e.value for e in at.error)
        assert "Something went wrong" in text and "a bug deep in the core" not in text
    at = _run("views/explorer.py", {})  # the next person
    assert not at.exception and not at.error
    assert "6 groups of 4 elements" in " ".join(m.value for m in at.markdown)
