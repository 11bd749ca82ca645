"""The Pitfalls page through Streamlit's AppTest: the finder (verdict, where, steps, pooling), every
mistake, BatchNorm's steps, controls, deep links, bad input.

The worked examples are the forum's: LayerNorm(4) of [-2.1918, 1.2574, -0.3838, 1.3870], and a
torch.randn(2, 3, 4) printed with 4 decimals with one row normalized by hand with statistics.stdev
under the square root. Their expected numbers come from Python's statistics module and from torch,
never from lnorm_core.
"""

import base64
import json
import math
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from apptest import open_page
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lnorm_core as lc

EXAMPLE = [-2.1918, 1.2574, -0.3838, 1.3870]
EPS = 1e-5


def _app(**params):
    """The Pitfalls page opened with these query parameters."""
    return open_page("views/pitfalls.py", params)


def _example(**params):
    return _app(source="paste", paste=str(EXAMPLE), **params)


def _torch_print(x):
    """x as torch prints it (4 decimals), the text a person pastes."""
    return str(x.float())


def _row_example(x, wrong, **params):
    """The page with a pasted (2, 3, 4) tensor print and a pasted row."""
    return _app(source="paste", paste=_torch_print(x), wrong=wrong, **params)


def _verdicts(at):
    """The finder's verdict boxes, whatever their colour."""
    return [b.value for b in list(at.error) + list(at.success) + list(at.warning)]


def _figure(at, title_start):
    found = [f for f in _figures(at) if f["layout"]["title"]["text"].startswith(title_start)]
    assert len(found) == 1, [f["layout"]["title"]["text"] for f in _figures(at)]
    return found[0]


def _code_with(at, words):
    """The one code box that holds `words`."""
    found = [c.value for c in at.code if words in c.value]
    assert found, [c.value for c in at.code]
    return found[0]


def _errors(at):
    return [e.value for e in at.error]


def _fmt(values):
    """Numbers with 4 decimals, as torch prints them."""
    return [f"{v:.4f}" for v in values]


def _unescape(cell):
    """A Markdown cell as a person reads it: backslash escapes, bold and the background directive removed."""
    cell = re.sub(r":\w+-background\[(.*)\]$", r"\1", cell.strip())
    return re.sub(r"\\(.)", r"\1", cell.replace("**", ""))


def _steps(at):
    """The step-by-step table (Markdown) as (title, columns): five lists, as a person reads the cells."""
    (title,) = [m.value.strip("*") for m in at.markdown if m.value.startswith("**One group's arithmetic")]
    (table,) = [m.value for m in at.markdown if m.value.startswith("| step |")]
    rows = [[_unescape(c) for c in line.strip().strip("|").split(" | ")] for line in table.splitlines()[2:]]
    return title, [list(col) for col in zip(*rows)]


def _expander(at, label):
    """The expander of one mistake combination, by its name."""
    found = [e for e in at.expander if e.label.startswith(f"**{label}**")]
    assert len(found) == 1, [e.label for e in at.expander]
    return found[0]


def _array(value):
    """A figure's data array from its JSON: a list, or plotly's binary encoding of a numpy array."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def _figures(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _seeded(shape, seed=0):
    """torch.manual_seed(seed); torch.randn(*shape), on its own generator, as float64."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).double()



def _stdev_under_sqrt(x):
    """statistics.stdev (n - 1) under the square root: the forum's wrong LayerNorm."""
    m, s = statistics.mean(x), statistics.stdev(x)
    return [(v - m) / math.sqrt(s + EPS) for v in x]


def _pvariance(x):
    """statistics.pvariance (n) under the square root: torch's LayerNorm."""
    m, v = statistics.mean(x), statistics.pvariance(x)
    return [(xi - m) / math.sqrt(v + EPS) for xi in x]


def test_the_hand_computations_agree_with_the_forum_and_torch():
    # the expected numbers of this file, checked against the forum's and torch's
    assert _fmt(_stdev_under_sqrt(EXAMPLE)) == ["-1.7049", "0.9572", "-0.3095", "1.0572"]
    torch_y = F.layer_norm(torch.tensor(EXAMPLE, dtype=torch.float64), (4,), eps=EPS).tolist()
    assert _fmt(_pvariance(EXAMPLE)) == _fmt(torch_y) == ["-1.5194", "0.8530", "-0.2758", "0.9422"]


PARTS = ["Your row", "Your code", "Every mistake", "BatchNorm: train vs eval"]
EVERY = "Every mistake"
BATCH = "BatchNorm: train vs eval"


def _open(mistakes):
    """The link parameter that opens one mistake's expander."""
    return {"open_" + "-".join(mistakes): "true"}


def test_default_view():
    at = _app()
    assert not at.exception and not _errors(at)
    assert at.title[0].value == "Pitfalls"
    assert at.header[0].value == "Paste your tensor, paste the row you computed"  # the finder comes first
    assert [t.label for t in at.tabs] == PARTS
    assert any("Paste the row you computed above" in i.value for i in at.info)
    # the worked example's link fills both boxes: the tensor and the row
    assert any("source=paste" in c.value and "paste=tensor" in c.value and "wrong=%5B0.9176" in c.value
               for c in at.caption)
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert len(titles) == 1 and titles[0].startswith("The groups of x[0, 0, 0]")  # only the open tab is drawn
    assert _steps(at)[0].startswith("One group's arithmetic")  # the first row beside the forum's mistake
    assert not at.expander and not at.code  # the other tabs are not drawn


def test_every_mistake_tab():
    at = _app(part=EVERY)
    assert not at.exception and not _errors(at)
    assert at.header[1].value == f"Every mistake: {torch.nn.LayerNorm(4)!r} on an input of shape (2, 3, 4)"
    x = _seeded((2, 3, 4))
    y = F.layer_norm(x, (4,), eps=EPS)
    torch_code = _code_with(at, f"{y[1, 2, 3].item():.4f}")  # torch's output under "Every mistake"
    assert f"{y[0, 0, 0].item():.4f}" in torch_code and f"{y[1, 2, 3].item():.4f}" in torch_code
    assert len(at.expander) == len(lc.MISTAKES) + 4  # each mistake alone, and four combinations
    assert all(not e.children for e in at.expander)  # closed ones are drawn only when opened
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert len(titles) == 1 and titles[0].startswith("Each mistake's output minus torch's")


def test_opening_one_mistake_draws_only_its_numbers():
    at = _app(part=EVERY, **_open(["unbiased"]))
    assert not at.exception and not _errors(at)
    opened = [e for e in at.expander if e.children]
    assert len(opened) == 1 and opened[0].label.startswith("**n−1 in the variance")
    x = _seeded((2, 3, 4))
    wrong = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=True) + EPS)
    assert f"{wrong[1, 2, 3].item():.4f}" in opened[0].code[0].value  # n - 1 under the root, as torch.var does


def test_batchnorm_tab():
    at = _app(part=BATCH)
    assert not at.exception and not _errors(at)
    assert at.slider(key="steps").value == 5
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert len(titles) == 2
    assert any(t.startswith("Running statistics") for t in titles)
    assert any(t.startswith("eval output − train output") for t in titles)


def test_the_worked_example_shows_the_stdev_combination_beside_torch():
    at = _example(part=EVERY, **_open(["unbiased", "std_under_sqrt"]))
    assert not at.exception and not _errors(at)
    wrong = _fmt(_stdev_under_sqrt(EXAMPLE))
    right = _fmt(_pvariance(EXAMPLE))
    box = _expander(at, "n−1 in the variance (statistics.stdev, torch.std) + std under the square root")
    assert "-1.7049" in box.label
    codes = [c.value for c in box.code]
    assert all(v in codes[0] for v in wrong)  # this mistake's output
    assert all(v in codes[1] for v in right)  # torch's
    assert any("n - 1" in c for c in codes) and any("np.sqrt(var + eps)" in c for c in codes)  # line and fix
    assert any(all(v in c.value for v in right) for c in at.code)  # torch's output under "Every mistake"


def test_the_finder_names_the_stdev_combination_on_the_whole_1d_output():
    at = _example(wrong="[-1.7049, 0.9572, -0.3095, 1.0572]")
    assert not at.exception
    found = [v for v in _verdicts(at) if "Your numbers are" in v]
    assert len(found) == 1
    assert "n−1 in the variance (statistics.stdev, torch.std) + std under the square root" in found[0]
    assert "the whole output y" in found[0]


# ---- the finder on one row of a (2, 3, 4) tensor ---------------------------------------------------


def _student_row(x, i, j):
    """The forum's row: statistics.stdev under the root, from the float32 tensor itself, printed with 4 decimals."""
    row = x[i, j].tolist()
    m, s = statistics.fmean(row), statistics.stdev(row)
    return "[" + ", ".join(f"{(v - m) / math.sqrt(s + EPS):.4f}" for v in row) + "]"


def test_one_row_computed_with_stdev_gets_its_mistake_its_line_and_where_it_sits():
    x = _seeded((2, 3, 4), seed=0).float()
    at = _row_example(x, _student_row(x, 0, 1))
    assert not at.exception and all("Your numbers are" in e for e in _errors(at))  # the verdict is red
    verdict = [v for v in _verdicts(at) if "Your numbers are" in v]
    assert len(verdict) == 1
    assert "n−1 in the variance (statistics.stdev, torch.std) + std under the square root" in verdict[0]
    assert "row y[0, 1, :] of the output" in verdict[0]
    lines = _code_with(at, "np.sqrt(std + eps)")  # the line that does it
    assert "/ (n - 1)" in lines
    assert "np.sqrt(var + eps)" in _code_with(at, "# the variance goes under the root")  # the fix
    shown = _code_with(at, "your numbers, as read")  # the pasted numbers shown back as text, beside torch's row
    y = F.layer_norm(x.double(), (4,), eps=EPS)[0, 1]
    assert all(f"{v:.4f}" in shown for v in y.tolist())
    assert any("rounded to 4 decimals" in c.value for c in at.caption)  # the input was a print: said so


def test_the_steps_table_walks_the_group_and_marks_where_the_mistake_parts():
    x = _seeded((2, 3, 4), seed=0).float()
    at = _row_example(x, _student_row(x, 0, 1))
    assert at.subheader[0].value == "Step by step: the group of y[0, 1, :]"
    title, (step, right_how, right_numbers, wrong_how, wrong_numbers) = _steps(at)
    assert title.endswith("they part at variance")
    row = [float(v) for v in x[0, 1].tolist()]
    first = [k for k, s in enumerate(step) if "first difference" in s]
    assert len(first) == 1 and step[first[0]].startswith("3 variance")
    assert right_numbers[first[0]] == f"{statistics.pvariance(row):.4f}"  # divided by n
    assert wrong_numbers[first[0]] == f"{statistics.variance(row):.4f}"  # divided by n - 1
    mean_row = right_how.index("mean = sum / n  (n = 4)")
    assert right_numbers[mean_row] == wrong_numbers[mean_row] == f"{statistics.fmean(row):.4f}"
    y = F.layer_norm(x.double(), (4,), eps=EPS)[0, 1].tolist()
    assert right_numbers[-1] == "[" + ", ".join(f"{v:.4f}" for v in y) + "]"
    assert wrong_numbers[-1] == _student_row(x, 0, 1)


def test_the_pooling_picture_sets_the_layer_against_the_whole_sample():
    x = _seeded((2, 3, 4), seed=0).float()
    at = _row_example(x, _student_row(x, 0, 1))
    fig = _figure(at, "The groups of x[0, 1, 0]: LayerNorm((4,)) pools x[0, 1, :], the whole sample x[0, :, :]")
    z = np.stack([np.asarray(t["z"], dtype=float).reshape(3, 4) if not isinstance(t["z"], dict)
                  else _array(t["z"]).reshape(3, 4) for t in fig["data"]])
    expected = np.zeros((2, 3, 4))  # 0 elsewhere, 1 in both groups, 3 only in the whole sample's
    expected[0] = 3
    expected[0, 1] = 1
    np.testing.assert_array_equal(z, expected)
    assert any("Pooling the whole sample of (2, 3, 4) is **LayerNorm((3, 4))** or **GroupNorm(1, 3)**" in m.value
               for m in at.markdown)


def test_a_row_from_torch_std_over_the_whole_sample_is_the_pooling_mistake():
    x = _seeded((2, 3, 4), seed=1).float()
    sample = x[1].double()
    y = (sample - sample.mean()) / sample.std()  # torch.std: n - 1 and no eps, over every dim but the batch dim
    at = _row_example(x, "[" + ", ".join(f"{v:.4f}" for v in y[2].tolist()) + "]")
    verdict = [v for v in _verdicts(at) if "Your numbers are" in v]
    assert len(verdict) == 1 and "pooled the whole sample" in verdict[0] and "row y[1, 2, :]" in verdict[0]
    step = _steps(at)[1][0]
    assert step[0].startswith("1 pool") and "first difference" in step[0]
    assert any(m.value.startswith("You pooled the whole sample.") for m in at.markdown)


def test_a_right_row_and_where_it_sits():
    x = _seeded((2, 3, 4), seed=0).float()
    y = torch.nn.LayerNorm(4)(x)[1, 2].tolist()
    at = _row_example(x, "tensor([" + ", ".join(f"{v:.4f}" for v in y) + "], grad_fn=<SelectBackward0>)")
    assert not at.exception and not _errors(at)
    assert any("Your numbers are right" in s.value and "row y[1, 2, :]" in s.value for s in at.success)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["LayerNorm", "RMSNorm", "BatchNorm", "InstanceNorm", "GroupNorm"]),
       st.sampled_from([(2, 4, 3), (3, 2, 5), (2, 2, 3, 4)]), st.integers(0, 1000), st.data())
def test_any_layer_a_right_row_is_right_and_placed(kind, shape, seed, data):
    x = _seeded(shape, seed)  # the sidebar's seeded draw
    c = shape[1]
    modules = {"LayerNorm": torch.nn.LayerNorm(shape[-1]), "RMSNorm": torch.nn.RMSNorm(shape[-1], eps=EPS),
               "BatchNorm": (torch.nn.BatchNorm1d if len(shape) == 3 else torch.nn.BatchNorm2d)(c),
               "InstanceNorm": (torch.nn.InstanceNorm1d if len(shape) == 3 else torch.nn.InstanceNorm2d)(c),
               "GroupNorm": torch.nn.GroupNorm(2, c)}
    y = modules[kind].double()(x).detach().numpy()
    lead = tuple(data.draw(st.integers(0, d - 1)) for d in shape[:-1])
    row = "[" + ", ".join(f"{v:.4f}" for v in y[lead]) + "]"
    at = _app(kind=kind, shape=", ".join(map(str, shape)), seed=str(seed), wrong=row,
              **({"groups": "2"} if kind == "GroupNorm" else {}), **({"eps": "1e-05"} if kind == "RMSNorm" else {}))
    assert not at.exception and not _errors(at)
    label = "y[" + ", ".join(map(str, lead)) + ", :]"
    assert any("Your numbers are right" in s.value and label in s.value for s in at.success), _verdicts(at)
    assert _steps(at)[1][0][0] == "1 pool"  # the steps table is drawn


def test_the_readmes_pitfalls_link_gives_its_verdict():
    from urllib.parse import parse_qsl, urlsplit

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    link = [line for line in readme.splitlines() if line.startswith("/pitfalls?")][0]
    params = dict(parse_qsl(urlsplit(link).query))
    x = np.asarray(json.loads(params["paste"]))  # (2, 4): the forum's row and another
    assert params["wrong"] == "[" + ", ".join(_fmt(_stdev_under_sqrt(list(x[0])))) + "]"
    at = _app(**params)
    assert not at.exception and all("Your numbers are" in e for e in _errors(at))
    assert any("row y[0, :] of the output" in v and "std under the square root" in v for v in _verdicts(at))


def test_numbers_from_nowhere_get_no_mistake():
    at = _row_example(_seeded((2, 3, 4)).float(), "[1.0, 2.0, 3.0, 4.0]")
    assert not at.exception and not _errors(at)
    assert any("No mistake" in w.value for w in at.warning)


def test_another_layer_that_pools_alike_is_named():
    at = _app(against="GroupNorm(3, 3)")  # on (2, 3, 4): a group per (sample, channel), as LayerNorm(4)
    assert not at.exception and not _errors(at)
    assert any("pool the same groups" in s.value for s in at.success)


def test_typing_the_row_and_pasting_the_tensor_in_the_page():
    x = _seeded((2, 3, 4), seed=0).float()
    at = _app()
    at.text_area(key="paste").input(_torch_print(x)).run()
    assert not at.exception and not _errors(at)
    assert at.sidebar.segmented_control(key="source").value == "paste"  # pasting switched the source
    assert any("pasted at the top of the page" in c.value for c in at.sidebar.caption)
    at.text_area(key="wrong").input(_student_row(x, 1, 1)).run()
    assert not at.exception
    assert any("row y[1, 1, :]" in v and "std under the square root" in v for v in _verdicts(at))


def test_changing_the_steps_moves_the_running_statistics():
    at = _app(part=BATCH)
    at.slider(key="steps").set_value(12).run()
    assert not at.exception and not _errors(at)
    running = [f for f in _figures(at) if f["layout"]["title"]["text"].startswith("Running statistics")][0]
    assert running["data"][0]["name"] == "channel 0"
    assert any("after 12 steps" in m.value for m in at.markdown)


def test_changing_the_layer_changes_the_pitfalls():
    at = _app(part=EVERY)
    at.sidebar.selectbox(key="kind").set_value("RMSNorm").run()
    assert not at.exception and not _errors(at)
    assert at.header[1].value.startswith("Every mistake: RMSNorm((4,)")
    x = _seeded((2, 3, 4))
    y = F.rms_norm(x, (4,), eps=EPS)  # the eps control keeps its value across layers
    assert f"{y[0, 0, 0].item():.4f}" in _code_with(at, f"{y[1, 2, 3].item():.4f}")


def test_a_deep_link_opens_rmsnorm_with_its_steps():
    at = _app(kind="RMSNorm", shape="2,5,8", part=EVERY)
    assert not at.exception and not _errors(at)
    assert at.header[1].value == f"Every mistake: {torch.nn.RMSNorm(8)!r} on an input of shape (2, 5, 8)"
    at = _app(kind="RMSNorm", shape="2,5,8", steps="3", part=BATCH)
    assert not at.exception and not _errors(at)
    assert at.slider(key="steps").value == 3
    assert any("after 3 steps" in m.value for m in at.markdown)


def test_a_one_dimensional_paste_explains_why_batchnorm_needs_two_dims():
    at = _example(part=BATCH)
    assert any("BatchNorm needs a batch dim and a channel dim" in i.value for i in at.info)






@pytest.mark.parametrize("wrong, words", [
    ("[-1.7049, 0.9572", "["),  # an unclosed bracket
    ("[-1.7049, 0.9572, -0.3095]", "no block of the output"),  # three numbers for an input of four
    ("[-1.7049, abc, -0.3095, 1.0572]", "abc"),
])
def test_a_malformed_wrong_output_shows_an_error_and_the_page_goes_on(wrong, words):
    at = _example(wrong=wrong)
    assert not at.exception
    errors = _errors(at)
    assert len(errors) == 1 and words in errors[0]
    at.session_state["part"] = BATCH  # the rest of the page still works: its next tab
    at.run()
    assert not at.exception
    assert any("BatchNorm needs" in i.value for i in at.info)


def test_batchnorm_steps_match_torch_train_then_eval():
    steps = 3
    bn = torch.nn.BatchNorm1d(3).double()  # momentum 0.1, eps 1e-5, as the sidebar's defaults
    bn.train()
    means = [bn.running_mean.clone()]
    for k in range(steps):
        batch = _seeded((2, 3, 4), seed=100 + k)  # batch k is seeded with seed + 100 + k
        with torch.no_grad():
            y_train = bn(batch)
        means.append(bn.running_mean.clone())
    bn.eval()
    with torch.no_grad():
        y_eval = bn(batch)
    diff = y_eval - y_train

    at = _app(steps=str(steps), part=BATCH)
    assert not at.exception and not _errors(at)
    assert any(f"up to **{diff.abs().max().item():.4f}**" in m.value for m in at.markdown)
    codes = {c.value for c in at.code}
    assert any(f"{diff[0, 0, 0].item():.4f}" in c and f"{diff[1, 2, 3].item():.4f}" in c for c in codes)
    running = [f for f in _figures(at) if f["layout"]["title"]["text"].startswith("Running statistics")][0]
    channel0 = [t for t in running["data"] if t["name"] == "channel 0" and t.get("xaxis", "x") == "x"][0]
    expected = [m[0].item() for m in means]  # torch's running_mean of channel 0 after each step
    assert _array(channel0["y"]) == pytest.approx(expected, abs=1e-12)


def test_a_large_tensor_shows_a_part_of_the_pitfalls_and_says_so():
    at = _app(shape="1024, 1024", part=EVERY)
    assert not at.exception and not _errors(at)
    assert any("this figure shows the first" in i.value and "of 1,048,576 elements" in i.value for i in at.info)


@given(st.floats(-1e3, 1e3, allow_nan=False), st.floats(1e-4, 1e3, allow_nan=False))
def test_numbers_1e_4_apart_never_print_alike_at_4_decimals(a, gap):
    """What the pitfalls model's shortcut for "visible at 4 decimals" rests on: rounding is monotone."""
    assert np.round(a, 4) != np.round(a + gap, 4) or a + gap - a < 1e-4  # float addition may fall short of gap


@given(kind=st.sampled_from(["LayerNorm", "RMSNorm", "GroupNorm"]), seed=st.integers(0, 50),
       eps=st.sampled_from(["1e-05", "0.1", "1e-12"]), offset=st.sampled_from(["0.00", "1000.00"]))
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
def test_each_mistake_says_whether_it_shows_at_4_decimals(kind, seed, eps, offset):
    """"no change at 4 decimals" exactly where the mistake's output and torch's print alike with 4 decimals."""
    from lnorm_app.config import Config
    from lnorm_app.models.pitfalls import pitfall_output, pitfalls

    shape = (2, 4, 3)
    config = Config(kind=kind.replace("Norm", "").lower() if kind != "RMSNorm" else "rms", shape=shape, seed=seed,
                    eps=float(eps), offset=float(offset), normalized_shape=(3,), num_groups=2)
    result = pitfalls(config)
    x = torch.tensor(result.x)
    y = {"LayerNorm": lambda: F.layer_norm(x, (3,), eps=float(eps)),
         "RMSNorm": lambda: F.rms_norm(x, (3,), eps=float(eps)),
         "GroupNorm": lambda: F.group_norm(x, 2, eps=float(eps))}[kind]().numpy()
    for r in result.rows:
        mine, diff = pitfall_output(config, r.mistakes)
        alike = np.array_equal(np.round(mine, 4), np.round(y, 4), equal_nan=True)
        assert r.visible == (not alike), r.mistakes
        np.testing.assert_allclose(diff, mine - y, atol=1e-6)  # float32 torch against the float64 model's
        assert r.max_abs == pytest.approx(float(np.abs(mine - y).max()), abs=1e-6)
        assert r.whole is not None and np.array_equal(r.whole, mine)  # 24 elements: the head holds them all


NUMBERS = st.sampled_from([0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf, 1e-4, 2e-4])


@given(st.lists(st.tuples(NUMBERS, NUMBERS), min_size=1, max_size=12))
def test_the_4_decimal_check_is_array_equal_with_nan_alike(pairs):
    """The model's quick check of two rounded outputs says what np.array_equal(..., equal_nan=True) says."""
    from lnorm_app.models.pitfalls import prints_differently

    a, b = (np.array(v) for v in zip(*pairs))
    assert prints_differently(a, b) == (not np.array_equal(a, b, equal_nan=True))


@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.one_of(st.sampled_from([0.5, 0.49999, 0.50001, 0.0]),
                                                                  st.floats(0, 1)),
                          st.one_of(st.floats(-3e-5, 3e-5), st.sampled_from([np.nan, np.inf]))), min_size=1, max_size=20),
       st.sampled_from([1.0, 1e4, 1e8, 1e300]), st.booleans())
def test_torch_print_says_what_rounding_every_element_says(cells, scale, torch_nan):
    """TorchPrint.differs, which compares rint(y * 1e4), agrees with rounding to 4 decimals and comparing.

    torch's numbers sit on, just off and away from the half-way points of 4 decimals; the other output moves
    each by less than 3e-5 (scaled up with the numbers, where float64 rounds more coarsely), or is NaN or inf."""
    from lnorm_app.models.pitfalls import TorchPrint

    y_torch = np.array([(k + frac) * 1e-4 * scale for k, frac, _ in cells])
    if torch_nan:
        y_torch[0] = np.nan
    with np.errstate(invalid="ignore", over="ignore"):
        y = y_torch + np.array([move * scale for _, _, move in cells])
        exact = not np.array_equal(np.round(y, 4), np.round(y_torch, 4), equal_nan=True)
    assert TorchPrint(y_torch).differs(y) == exact


def _groups_by_definition(name, shape):
    """Each element's group, from the layers' definitions (np.indices, not lnorm's layouts): a tuple per element."""
    idx = np.indices(shape).reshape(len(shape), -1).T  # (elements, ndim)
    if name == "the whole sample":
        keys = idx[:, :1]
    elif name.startswith("LayerNorm"):
        k = len(re.findall(r"\d+", name))  # 'LayerNorm((3, 4))': the last 2 dims
        keys = idx[:, :len(shape) - k]
    elif name.startswith("BatchNorm"):
        keys = idx[:, 1:2]
    elif name.startswith("InstanceNorm"):
        keys = idx[:, :2]
    else:  # GroupNorm(g, C): a group of shape[1] // g channels in each sample
        g = int(re.findall(r"\d+", name)[0])
        keys = np.stack([idx[:, 0], idx[:, 1] // (shape[1] // g)], axis=1)
    return [tuple(k) for k in keys]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([(2, 3, 4), (2, 4, 3), (3, 6, 300), (2, 4, 2, 3), (8, 6, 100)]),
       st.sampled_from(["layer", "batch", "instance", "group"]), st.data())
def test_the_pooling_model_sets_two_layers_groups_side_by_side(shape, kind, data):
    """Pooling, for any layer, any layer or the whole sample set against it and any focus element: the cell codes
    (1 both, 2 only the layer's, 3 only the other's), the two group sizes and whether the partitions are the same,
    against the layers' definitions. The larger shapes take the path that does not search every pairing."""
    from lnorm_app.config import Config
    from lnorm_app.models.pooling import against_choices, pooling

    config = Config(kind=kind, shape=shape, normalized_shape=shape[-1:], num_groups=2 if shape[1] % 2 == 0 else 1)
    against = data.draw(st.sampled_from(against_choices(config)), label="against")
    focus = tuple(data.draw(st.integers(0, d - 1), label="focus") for d in shape)
    p = pooling(config, against, focus)
    nd = f"{len(shape) - 2}d({shape[1]}"  # torch's class for (N, C, L) or (N, C, H, W), and its C
    mine_name = {"layer": f"LayerNorm(({shape[-1]},)", "batch": f"BatchNorm{nd}", "instance": f"InstanceNorm{nd}",
                 "group": f"GroupNorm({config.num_groups}, {shape[1]}"}[kind]
    assert p.layer_name.startswith(mine_name)  # then the sidebar's settings where they are not torch's defaults
    a = _groups_by_definition(p.layer_name, shape)
    b = _groups_by_definition(p.other_name, shape)
    f = int(np.ravel_multi_index(focus, shape))
    mine = np.array([k == a[f] for k in a])
    theirs = np.array([k == b[f] for k in b])
    expected = np.select([mine & theirs, mine, theirs], [1, 2, 3], 0).reshape(shape)
    np.testing.assert_array_equal(p.membership, expected)
    assert (p.layer_size, p.other_size) == (mine.sum(), theirs.sum())
    assert p.same == (len(set(zip(a, b))) == len(set(a)) == len(set(b)))
    for ids, groups in ((p.layer_ids, a), (p.other_ids, b)):  # one id per group, as the definition groups them
        assert len(set(zip(ids.ravel().tolist(), groups))) == len(set(groups)) == len(set(ids.ravel().tolist()))
