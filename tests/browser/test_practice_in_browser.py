"""Practice in a real browser: cells clicked and boxed on the picture, a row typed, a set worked through.

The right answers and the n−1 row are computed here with torch; the clicks land on the cells' centres, read off
plotly's own axes in the page. With LNORM_SCREENSHOTS set, the checked exercise is saved as practice.png.
"""

import re

import pytest
import torch
from browser_kit import ERROR, MAIN, PLOT, assert_clean, expect, open_page, screenshot, settle
from torch import nn

from lnorm_core import practice as P

pytestmark = pytest.mark.browser

SHARE = "g_L1_2x3x4_0_0-1-2"  # LayerNorm((4,)) on (2, 3, 4): which elements share a mean with x[0, 1, 2]?
ROW = "r_L1_2x3x4_7_1-2"
SUCCESS = '[data-testid="stAlertContentSuccess"]'
PICKS = '[data-testid="stMultiSelect"]'
# the page coordinates of the centre of cell (row, col) of panel k of the first chart, from plotly's axes
CELL = """([k, row, col]) => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const n = k ? String(k + 1) : '', xa = gd._fullLayout['xaxis' + n], ya = gd._fullLayout['yaxis' + n];
  const box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(col), box.top + ya._offset + ya.l2p(row)];
}"""


# how many cells the first chart marks picked (✓), in the figure plotly has drawn
DRAWN = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return (gd && gd._fullData || []).filter(t => t.texttemplate).flatMap(t => t.text.flat()).filter(m => m === '✓').length;
}"""


def click_cell(page, panel, row, col):
    """Click one cell x[panel, row, col] of the question's grid and wait, as a person would, until the list below
    the picture and the picture itself show it picked (or taken back). Waiting for the list to change only was
    met by its redraw before the rerun: the next click then landed mid-rerun and was lost, one run in three."""
    expect(page.locator(PLOT).first).to_be_visible()
    label = f"x[{panel}, {row}, {col}]"
    listed = page.locator(PICKS)
    was = label in listed.inner_text()
    x, y = page.evaluate(CELL, [panel, row, col])
    page.mouse.click(x, y)
    (expect(listed).not_to_contain_text if was else expect(listed).to_contain_text)(label)
    settle(page)
    count = listed.get_by_role("button", name=re.compile(r"^Remove ")).count()
    page.wait_for_function(f"() => ({DRAWN})() === {count}")


def check(page):
    page.get_by_role("button", name="Check").click()
    settle(page)


def test_the_right_cells_clicked_are_marked_right(server, page):
    open_page(page, server, f"/practice?ex={SHARE}", "Practice")
    for col in (0, 1, 3):  # x[0, 1, :] but the marked x[0, 1, 2]
        click_cell(page, 0, 1, col)
    for col in (0, 1, 3):
        expect(page.locator(PICKS)).to_contain_text(f"x[0, 1, {col}]")
    check(page)
    expect(page.locator(SUCCESS)).to_contain_text("Right: the 4 elements of x[0, 1, 2]'s group")
    checked = page.locator(PLOT).nth(1)
    expect(checked).to_contain_text("Your cells checked: 4 right, 0 missed, 0 extra")
    expect(checked.locator(".heatmap-label text", has_text=re.compile(r"^right$"))).to_have_count(3)
    assert_clean(page, server)
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.locator(f"{MAIN} h1").first.click()
    settle(page)
    screenshot(page, "practice")


def test_the_whole_sample_boxed_shows_the_extra_cells(server, page):
    """The usual wrong picture of LayerNorm(D): the whole sample x[0]. A box over panel 0 takes it."""
    open_page(page, server, f"/practice?ex={SHARE}", "Practice")
    chart = page.locator(PLOT).first
    expect(chart).to_be_visible()
    chart.hover()
    page.locator('[data-testid="stPlotlyChart"] .modebar-btn[data-title="Box Select"]').first.click()
    (x0, y0), (x1, y1) = page.evaluate(CELL, [0, 0, 0]), page.evaluate(CELL, [0, 2, 3])
    page.mouse.move(x0 - 20, y0 - 15)
    page.mouse.down()
    page.mouse.move(x1 + 20, y1 + 15, steps=10)
    page.mouse.up()
    expect(page.locator(PICKS)).to_contain_text("x[0, 2, 3]")
    settle(page)
    check(page)
    expect(page.locator(ERROR).first).to_contain_text("Not quite: 8 extra (of 4 in x[0, 1, 2]'s group)")
    checked = page.locator(PLOT).nth(1)
    expect(checked.locator(".heatmap-label text", has_text=re.compile(r"^extra$"))).to_have_count(8)
    expect(checked.locator(".heatmap-label text", has_text=re.compile(r"^right$"))).to_have_count(3)
    expect(page.locator(MAIN)).to_contain_text("The group of x[0, 1, 2]: x[0, 1, :]")
    assert_clean(page, server)


def test_a_row_typed_with_n_minus_1_is_named(server, page):
    ex = P.parse_exercise(ROW)
    g = torch.tensor(ex.x())[1, 2]
    mine = (g - g.mean()) / torch.sqrt(g.var(correction=1) + 1e-5)  # statistics.stdev's n − 1
    open_page(page, server, f"/practice?ex={ROW}", "Practice")
    box = page.locator(f'{MAIN} input[aria-label="Your row, 4 decimals"]')
    box.fill("[" + ", ".join(f"{v:.4f}" for v in mine.tolist()) + "]")
    box.press("Enter")
    settle(page)
    check(page)
    expect(page.locator(ERROR).first).to_contain_text("Your numbers are what n−1 in the variance gives.")
    steps = page.locator(f"{MAIN} table").filter(has_text="first difference")
    expect(steps.locator("tr").filter(has_text="first difference")).to_contain_text("3 variance")
    assert_clean(page, server)


def test_a_set_link_runs_to_a_score(server, page):
    """A teacher's link of two exercises: one answered right, one wrong, then the score."""
    buffers = "b_B_4x2_3_1_0.1"
    bn = nn.BatchNorm1d(2, momentum=0.1, dtype=torch.float64)
    bn(torch.tensor(P.parse_exercise(buffers).x()))
    open_page(page, server, f"/practice?set={SHARE}~{buffers}", "Practice")
    expect(page.locator(MAIN)).to_contain_text("Exercise 1 of 2")
    check(page)  # only the marked cell: 3 missed
    expect(page.locator(ERROR).first).to_contain_text("3 missed")
    page.get_by_role("button", name="Next exercise").click()
    settle(page)
    box = page.locator(f'{MAIN} input[aria-label="running_var[1], 4 decimals"]')
    box.fill(f"{float(bn.running_var[1]):.4f}")
    box.press("Enter")
    settle(page)
    check(page)
    expect(page.locator(SUCCESS)).to_contain_text("Right: running_var[1]")
    page.get_by_role("button", name="See your score").click()
    settle(page)
    expect(page.locator(f"{MAIN} h2")).to_contain_text("Your score: 1 of 2")
    assert_clean(page, server)
