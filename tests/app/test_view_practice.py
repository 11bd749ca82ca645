"""The Practice page under AppTest: each kind of exercise answered right and wrong, a link reopening an exercise,
a set worked through to its score, a teacher's set link, and crafted or broken links.

The right answers are computed here with torch.nn, never read off the page's model.
"""

import pytest
import torch
from apptest import open_page
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from page_links import shown
from torch import nn

from lnorm_core import practice as P

PAGE = "views/practice.py"
SHARE = "g_L1_2x3x4_0_0-1-2"  # LayerNorm((4,)) on (2, 3, 4): x[0, 1, 2] shares with x[0, 1, :]
ROW = "r_L1_2x3x4_7_1-2"  # LayerNorm((4,)) on (2, 3, 4) rounded to 2 decimals: what does y[1, 2, :] print?
ACCEPT = "a_L_4x2x3_0_3.2-3.2.4-2"  # LayerNorm on (4, 2, 3): (3,), (2, 3), (2,), (4, 2)
SAME = "s_L1_2x5x8_0_I_t"  # LayerNorm((8,)) against InstanceNorm1d(8) on x.transpose(1, 2)
BUFFERS = "b_B_4x2_3_1_0.1"  # BatchNorm1d(2, momentum=0.1) on (4, 2): running_var[1]


def _numbers(values):
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


def _open(params=None):
    at = open_page(PAGE, params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def _check(at, code):
    at.button(key=f"check-{code}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Something went wrong" in e.value for e in at.error)
    return at


def _verdict(at):
    """(right, the headline) of the answer checked."""
    if at.success:
        return True, shown(at.success[0].value)
    return False, shown(at.error[0].value)


def test_the_page_opens_on_an_exercise_to_click():
    at = _open()
    assert at.title[0].value == "Practice" and not at.error
    assert at.subheader[0].value == "Which elements share a mean with x[0, 1, 2]?"
    assert len(at.multiselect[0].options) == 24 and at.get("plotly_chart")


# ---- each kind, answered right and wrong -----------------------------------------------------------


def test_share_right_then_the_whole_sample_shows_the_extra_cells():
    at = _open({"ex": SHARE})
    at.multiselect(key=f"picks-{SHARE}").set_value([f"x[0, 1, {j}]" for j in range(4)]).run()
    right, headline = _verdict(_check(at, SHARE))
    assert right and headline.startswith("Right: the 4 elements")
    at.multiselect(key=f"picks-{SHARE}").set_value([f"x[0, {i}, {j}]" for i in range(3) for j in range(4)]).run()
    right, headline = _verdict(_check(at, SHARE))
    assert not right and "8 extra" in headline and "missed" not in headline
    assert any("**x[0, 1, :]**" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 3  # the question, the cells checked, the layer's group map


def test_row_right_then_n_minus_1_is_named_with_its_steps():
    ex = P.parse_exercise(ROW)
    x = torch.tensor(ex.x())
    right_row = nn.LayerNorm(4, dtype=torch.float64)(x)[1, 2].tolist()
    g = x[1, 2]
    unbiased = ((g - g.mean()) / torch.sqrt(g.var(correction=1) + 1e-5)).tolist()
    at = _open({"ex": ROW})
    assert "x = torch.tensor([[[" in at.code[0].value  # the input, as numbers to compute with
    at.text_input(key=f"typed-{ROW}").input(_numbers(right_row)).run()
    assert _verdict(_check(at, ROW)) == (True, "Right: these are torch's numbers for y[1, 2, :].")
    assert any("Your row is torch's. For comparison" in c.value for c in at.caption)  # the table beside is a foil
    at.text_input(key=f"typed-{ROW}").input(_numbers(unbiased)).run()
    right, headline = _verdict(_check(at, ROW))
    assert not right and headline == "Your numbers are what n−1 in the variance gives."
    table = [m.value for m in at.markdown if "first difference" in m.value]
    assert table and "3 variance" in table[0]


def test_row_typed_text_is_read_never_run():
    at = _open({"ex": ROW})
    at.text_input(key=f"typed-{ROW}").input("__import__('os').system('echo hi')").run()
    _check(at, ROW)
    assert "unexpected text" in shown(at.error[0].value)


def test_accept_right_then_a_refused_choice_shows_torchs_words():
    ex = P.parse_exercise(ACCEPT)
    accepted = []
    for choice in ex.choices:
        try:
            nn.LayerNorm(choice)(torch.zeros(ex.shape))
            accepted.append(str(choice))
        except RuntimeError:
            pass
    at = _open({"ex": ACCEPT})
    at.button_group(key=f"choices-{ACCEPT}").set_value(accepted).run()
    assert _verdict(_check(at, ACCEPT))[0]
    at.button_group(key=f"choices-{ACCEPT}").set_value(["(3,)", "(2,)"]).run()
    assert not _verdict(_check(at, ACCEPT))[0]
    with pytest.raises(RuntimeError) as torch_says:
        nn.LayerNorm(2)(torch.zeros(ex.shape))
    assert str(torch_says.value) in [c.value for c in at.code]


def test_same_right_then_wrong():
    ex = P.parse_exercise(SAME)
    x = torch.tensor(ex.x())
    a = nn.LayerNorm(8, elementwise_affine=False, dtype=torch.float64)(x)
    b = nn.InstanceNorm1d(8, dtype=torch.float64)(x.transpose(1, 2)).transpose(1, 2)
    assert not torch.allclose(a, b)  # so every question's answer is "different"
    at = _open({"ex": SAME})
    for i in range(4):
        at.button_group(key=f"same-{SAME}-{i}").set_value("different")
    assert _verdict(_check(at.run(), SAME)) == (True, "Right: all four.")
    at.button_group(key=f"same-{SAME}-0").set_value("same").run()
    right, headline = _verdict(_check(at, SAME))
    assert not right and "1 of 4" in headline


def test_buffers_right_then_the_biased_variance_is_named():
    ex = P.parse_exercise(BUFFERS)
    x = torch.tensor(ex.x())
    bn = nn.BatchNorm1d(2, momentum=0.1, dtype=torch.float64)
    bn(x)
    biased = 0.9 + 0.1 * float(x[:, 1].var(correction=0))
    at = _open({"ex": BUFFERS})
    at.text_input(key=f"typed-{BUFFERS}").input(f"{float(bn.running_var[1]):.4f}").run()
    assert _verdict(_check(at, BUFFERS))[0]
    at.text_input(key=f"typed-{BUFFERS}").input(f"{biased:.4f}").run()
    right, headline = _verdict(_check(at, BUFFERS))
    assert not right and "biased variance" in headline


# ---- links: an exercise reopens, a set runs to its score, broken links say why ----------------------


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(P.KINDS.values())), st.integers(0, 2**32))
def test_a_link_reopens_the_same_exercise(kind, seed):
    code = P.draw(kind, seed).code
    at = _open({"ex": code})
    assert not at.error and at.query_params["ex"] == code
    assert at.button(key=f"check-{code}")  # the answer's controls belong to this exercise
    again = _open({"ex": code})
    assert again.subheader[0].value == at.subheader[0].value
    assert [m.value for m in again.markdown] == [m.value for m in at.markdown]


def test_a_set_worked_through_ends_with_the_score():
    codes = [SHARE, BUFFERS, ROW]
    at = _open({"set": "~".join(codes)})
    assert "Exercise 1 of 3" in at.get("progress")[0].proto.text
    at.multiselect(key=at.multiselect[0].key).set_value([f"x[0, 1, {j}]" for j in range(4)]).run()
    at.button(key=[b.key for b in at.button if b.key.startswith("check-")][0]).click().run()
    assert at.success
    at.button(key=[b.key for b in at.button if b.key.startswith("next-")][0]).click().run()
    at.text_input[0].input("0.1234").run()  # BatchNorm's running_var: wrong
    at.button(key=[b.key for b in at.button if b.key.startswith("check-")][0]).click().run()
    assert at.error
    at.text_input[0].input("0.9876").run()  # a second try does not change the score
    at.button(key=[b.key for b in at.button if b.key.startswith("check-")][0]).click().run()
    at.button(key=[b.key for b in at.button if b.key.startswith("next-")][0]).click().run()
    ex = P.parse_exercise(ROW)
    row = nn.LayerNorm(4, dtype=torch.float64)(torch.tensor(ex.x()))[1, 2].tolist()
    at.text_input[0].input(_numbers(row)).run()
    at.button(key=[b.key for b in at.button if b.key.startswith("check-")][0]).click().run()
    assert at.success
    at.button(key=[b.key for b in at.button if b.key.startswith("next-")][0]).click().run()
    assert not at.exception and at.header[0].value == "Your score: 2 of 3"
    at.button(key="again").click().run()
    assert "Exercise 1 of 3" in at.get("progress")[0].proto.text


def test_a_teacher_gathers_a_set_into_one_link():
    at = _open({"ex": SHARE})
    at.button(key="add").click().run()
    at.button(key="new-buffers").click().run()
    second = at.query_params["ex"]
    assert second.startswith("b_")
    at.button(key="add").click().run()
    link = at.sidebar.code[0].value
    assert link.endswith(f"?set={SHARE}~{second}")
    assert P.parse_set(link.split("?set=")[1]) == (P.parse_exercise(SHARE), P.parse_exercise(second))
    assert any(p.proto.page.endswith("practice") for p in at.get("page_link"))


@pytest.mark.parametrize("params,words", [
    ({"ex": "g_L1_9x9_0_0-0"}, "at most 4 panels of 6 x 8 cells"),
    ({"ex": "nonsense"}, "starts with one of"),
    ({"ex": "g_G3_2x4x3_0_0-0-0"}, "num_channels (4) must be divisible by num_groups (3)"),
    ({"set": f"{SHARE}~g_L1_9x9_0_0-0"}, "exercise 2 of the set"),
    ({"set": "~".join([SHARE] * 21)}, "at most 20 exercises"),
    ({"ex": "**bold** [link](http://example.com)"}, "'**bold**'"),
])
def test_a_crafted_or_broken_link_says_why(params, words):
    at = _open(params)
    messages = [shown(e.value) for e in at.error]
    assert any(words in m for m in messages), messages
    assert not any("Something went wrong" in m for m in messages)
    for m in at.error:
        assert "](" not in m.value.replace("\\](", "").replace("]\\(", "")
