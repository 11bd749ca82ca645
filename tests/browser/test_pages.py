"""The app in a real browser: the Streamlit server driven by headless Chromium (playwright).

A module-scoped fixture starts `streamlit run app.py` on a free port; every test opens
pages in Debian's chromium (/usr/bin/chromium, never a playwright browser download).
Where chromium or playwright is missing the tests skip, except in CI (CI=true), where
that is a failure. Set LNORM_SCREENSHOTS=DIR to save a screenshot of each page there
(that is how the README's docs/*.png are refreshed).

    python -m pytest -m browser          # only these (about a minute or two)
    python -m pytest -m "not browser"    # all but these
    LNORM_SCREENSHOTS=docs python -m pytest tests/browser/test_pages.py
"""

import re
from urllib.parse import urlencode

import pytest
import torch
from browser_kit import (ERROR, MAIN, NAV_TITLES, PAGES, PLOT, SIDEBAR, assert_clean, expect, open_page, screenshot,
                         settle, sidebar_value, streamlit_server)

pytestmark = pytest.mark.browser


def nav_titles(page):
    """The page titles the sidebar's navigation lists (the icons' ligature names stripped)."""
    links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    expect(links.first).to_be_visible()
    return [t.split()[-1] if t.split() else "" for t in links.all_inner_texts()]


@pytest.mark.parametrize("path", list(PAGES))
def test_page_loads_without_errors(server, page, path):
    """Every page opens at its defaults: its title, its figures, no traceback and no error message."""
    title, has_figures = PAGES[path]
    open_page(page, server, f"/{path}", title)
    if has_figures:
        expect(page.locator(PLOT).first).to_be_visible()
    errors = page.locator(ERROR).all_inner_texts()  # e.g. "Something went wrong while computing this view"
    assert not errors, f"/{path} at its defaults shows {errors}\n--- the server's log ---\n{server.log()}"
    assert nav_titles(page) == NAV_TITLES
    assert_clean(page, server)
    screenshot(page, path)


def test_deep_link_reopens_a_group_norm(server, page):
    """A link with kind, shape and groups opens that view, the sidebar showing the same values."""
    open_page(page, server, "/explorer?kind=GroupNorm&shape=2%2C4%2C3&groups=2", "Explorer")
    expect(page.locator(MAIN)).to_contain_text(re.compile(r"GroupNorm\(2\b.* on \(2, 4, 3\)"))
    assert sidebar_value(page, "Layer") == "GroupNorm"
    assert sidebar_value(page, "num_groups") == "2"
    assert re.sub(r"\s", "", sidebar_value(page, "Shape")) == "2,4,3"
    assert_clean(page, server)


def test_deep_link_with_a_bad_paste_shows_where(server, page):
    """A pasted tensor with ragged rows: a message that names the row, not a traceback."""
    open_page(page, server, "/explorer?source=paste&paste=%5B%5B1%2C2%5D%2C%5B3%5D%5D", "Explorer")
    expect(page.locator(ERROR).first).to_contain_text("row 2")
    expect(page.locator(f'{SIDEBAR} textarea[aria-label="Paste a tensor"]')).to_have_value("[[1,2],[3]]")
    assert_clean(page, server)


def test_typing_a_shape_changes_the_view_and_the_link(server, page):
    """A shape typed in the sidebar redraws the view and goes into the URL, which reopens it."""
    open_page(page, server, "/explorer", "Explorer")
    main = page.locator(MAIN)
    expect(main).to_contain_text(re.compile(r"LayerNorm.* on \(2, 3, 4\)"))
    box = page.locator(f'{SIDEBAR} input[aria-label="Shape"]')
    box.fill("4, 2, 3")
    box.press("Enter")
    expect(main).to_contain_text(re.compile(r"LayerNorm.* on \(4, 2, 3\)"))
    settle(page)
    expect(page).to_have_url(re.compile(r"[?&]shape=4(%2C|,)(\+|%20| )?2"))
    expect(page.locator(PLOT).first).to_be_visible()
    assert_clean(page, server)

    link = page.url.removeprefix(server.url)
    again = page.context.new_page()
    try:
        open_page(again, server, link, "Explorer")
        expect(again.locator(MAIN)).to_contain_text(re.compile(r"LayerNorm.* on \(4, 2, 3\)"))
    finally:
        again.close()


def test_first_visit_by_deep_link(browser):
    """On a fresh server the first visitor may come by a link to a page rather than to /.

    The page must still be the app's (app.py's navigation and page config), not Streamlit's
    legacy mode for a folder named pages/ (the reason the pages live in views/), which lists the file names, "app" among them.
    """
    with streamlit_server() as server:
        page = browser.new_page()
        try:
            open_page(page, server, "/explorer?kind=GroupNorm&shape=2%2C4%2C3&groups=2", "Explorer")
            expect(page.locator(MAIN)).to_contain_text("GroupNorm(2")
            titles = nav_titles(page)
            assert titles == NAV_TITLES, (
                f"the sidebar lists {titles}: Streamlit ran a pages/ folder as a legacy multipage app "
                f"instead of app.py's st.navigation")
        finally:
            page.close()


def test_the_root_link_keeps_its_settings(server, page):
    """A link to / (the address people share first) opens the Explorer with the link's settings."""
    open_page(page, server, "/?kind=GroupNorm&shape=2%2C4%2C3&groups=2", "Explorer")
    expect(page.locator(MAIN)).to_contain_text("GroupNorm(2")
    assert "/explorer" in page.url and "groups=2" in page.url


# A link whose every value is Markdown a stranger might send: each message that quotes it must show the characters.
MARKUP = {"bold": "**bold**", "link": "[link](http://example.com)", "heading": "# heading",
          "image": "![img](http://example.com/x.png)", "html": "<b>html</b>", "emoji": ":smile:",
          "icon": ":material/home:", "www": "www.example.com", "email": "a@example.com"}
MARKUP_LINK = {"source": "paste", "paste": f"[1, 2, {MARKUP['bold']}]", "kind": f"{MARKUP['heading']} {MARKUP['www']}",
               "eps": MARKUP["link"], "seed": MARKUP["image"],
               "dist": f"{MARKUP['html']} {MARKUP['emoji']} {MARKUP['icon']} {MARKUP['email']}"}
JOIN = "\u2060"  # lnorm_app.ui.literal's invisible word joiner, which stops Streamlit's autolinks and shortcodes


@pytest.mark.parametrize("path", ["explorer", "compare", "pitfalls"])
def test_a_strangers_markup_in_a_link_is_shown_as_text(server, page, path):
    """Bold, a link, a heading, an image, HTML, an emoji and an icon shortcode, a www. address and an email in
    the link's paste, layer, eps, seed and dist: the messages quote each as the characters typed, and the page
    makes no <strong>, <a href>, <h1>, <img>, emoji or icon of them."""
    open_page(page, server, f"/{path}?{urlencode(MARKUP_LINK)}", PAGES[path][0])
    alerts = page.locator('[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]')
    expect(alerts.first).to_be_visible()
    text = " ".join(alerts.all_inner_texts()).replace(JOIN, "")
    for value in MARKUP.values():
        assert value in text, f"{value!r} is not shown as typed in {text!r}"
    assert "😄" not in text
    main = page.locator(MAIN)
    assert main.locator("strong, b, em", has_text=re.compile("bold|html")).count() == 0
    assert alerts.locator("a, img, h1, h2, h3, h4, h5, h6, code, [role=img]").count() == 0
    assert main.locator('a[href*="example.com"], img[src*="example.com"]').count() == 0
    assert main.locator("h1, h2, h3, h4, h5, h6", has_text="heading").count() == 0
    assert_clean(page, server)


def test_pitfalls_finder_journey(server, page):
    """The forum's journey: paste the print of a torch.randn(2, 3, 4) and ONE row normalized by hand with
    statistics.stdev under the square root; the page names the mistake and the row, walks the group step
    by step and draws what was pooled. The link it leaves reopens the same verdict.

    The tensor print and the row are built here, with torch and the statistics module, as the student does.
    With LNORM_SCREENSHOTS set this is the screenshot saved as pitfalls.png (after the default view's).
    """
    import math
    import statistics

    import torch

    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(7))
    row = x[1, 0].tolist()
    m, s = statistics.fmean(row), statistics.stdev(row)
    mine = "[" + ", ".join(f"{(v - m) / math.sqrt(s + 1e-5):.4f}" for v in row) + "]"

    open_page(page, server, "/pitfalls", "Pitfalls")
    main = page.locator(MAIN)
    tensor_box = page.locator(f'{MAIN} textarea[aria-label="Your tensor (what print(x) showed)"]')
    tensor_box.fill(str(x))
    tensor_box.press("Control+Enter")
    expect(page.locator(SIDEBAR)).to_contain_text("pasted at the top of the page")  # Source followed the paste
    settle(page)
    row_box = page.locator(f'{MAIN} textarea[aria-label^="The row you computed"]')
    row_box.fill(mine)
    row_box.press("Control+Enter")
    verdict = page.locator('[data-testid="stAlertContentError"]').filter(has_text="Your numbers are")
    expect(verdict).to_contain_text("std under the square root")
    expect(verdict).to_contain_text("n−1 in the variance")
    expect(verdict).to_contain_text("row y[1, 0, :] of the output")
    settle(page)
    expect(main).to_contain_text("Step by step: the group of y[1, 0, :]")
    expect(main).to_contain_text("What you pooled vs what the layer pools")
    page.set_viewport_size({"width": 1400, "height": 2700})  # the finder, the verdict, the steps and the picture
    # the steps table (Markdown, its first differing step marked) and the picture of two poolings, drawn
    steps = page.locator(f"{MAIN} table").filter(has_text="first difference")
    expect(steps).to_have_count(1)
    expect(steps.locator("tr").filter(has_text="first difference")).to_contain_text("3 variance")
    expect(page.locator(PLOT, has_text=re.compile(r"The groups of x\[1, 0, 0\]"))).to_have_count(1)
    assert_clean(page, server)
    expect(page).to_have_url(re.compile(r"[?&]wrong=.*"))
    page.locator(f"{MAIN} h1").first.click()  # the boxes lose focus: no highlighted border in the picture
    screenshot(page, "pitfalls")

    again = page.context.new_page()
    try:
        open_page(again, server, page.url.removeprefix(server.url), "Pitfalls")
        expect(again.locator('[data-testid="stAlertContentError"]')).to_contain_text("row y[1, 0, :] of the output")
    finally:
        again.close()


def test_pitfalls_every_mistake_opens_one_on_click_and_the_link_keeps_it(server, page):
    """The "Every mistake" tab lists the mistakes closed (nothing inside is drawn); a click on one draws its
    numbers, its line and its fix, and the link reopens the tab with that one open."""
    open_page(page, server, "/pitfalls", "Pitfalls")
    page.get_by_role("tab", name="Every mistake").click()
    main = page.locator(MAIN)
    expect(main).to_contain_text(f"Every mistake: {torch.nn.LayerNorm(4)!r}")
    settle(page)
    boxes = page.locator('[data-testid="stExpander"]')
    expect(boxes).to_have_count(10)
    expect(page.locator('[data-testid="stExpanderDetails"] [data-testid="stCode"]')).to_have_count(0)
    boxes.filter(has_text="std under the square root").first.locator("summary").click()
    settle(page)
    opened = page.locator('[data-testid="stExpanderDetails"]').filter(has_text="the line that does it")
    expect(opened).to_have_count(1)
    expect(opened).to_contain_text("np.sqrt(std + eps)")
    expect(page).to_have_url(re.compile(r"[?&]open_std_under_sqrt=true"))
    expect(page).to_have_url(re.compile(r"[?&]part=Every"))
    assert_clean(page, server)

    again = page.context.new_page()
    try:
        open_page(again, server, page.url.removeprefix(server.url), "Pitfalls")
        expect(again.locator('[data-testid="stExpanderDetails"]').filter(has_text="the line that does it")) \
            .to_contain_text("np.sqrt(std + eps)")
    finally:
        again.close()


def test_the_weight_and_bias_tab_draws_which_entry_scales_each_element(server, page):
    """The Explorer's Weight and bias tab, clicked open: LayerNorm((3, 4)) on (2, 3, 4) says weight.shape and draws
    its 12 entries beside the groups; 'random' weights add y = x̂ · weight + bias per element, and the link keeps
    both. With LNORM_SCREENSHOTS set this saves explorer-weights.png, and explorer-same-pooling.png of the two
    weights Same pooling draws for LayerNorm((8,)) against InstanceNorm1d(5)."""
    open_page(page, server, "/explorer?shape=2%2C3%2C4&ns=%283%2C+4%29", "Explorer")
    page.get_by_role("tab", name="Weight and bias").click()
    main = page.locator(MAIN)
    expect(main).to_contain_text("weight.shape == (3, 4)")
    expect(main).to_contain_text("each is used by 2 elements")
    expect(page.locator(PLOT)).to_have_count(2)  # the weight's entries, the groups beside them
    expect(page.locator(PLOT).first).to_contain_text("w[1,2]")
    page.locator(SIDEBAR).get_by_role("radiogroup", name="weight and bias").get_by_role("radio", name="random").click()
    settle(page)
    expect(page.locator(PLOT)).to_have_count(3)  # and y = x̂ · weight + bias with the drawn values
    expect(page).to_have_url(re.compile(r"[?&]init=random"))
    expect(page).to_have_url(re.compile(r"[?&]view=Weight"))
    assert_clean(page, server)
    page.locator(f"{MAIN} h1").first.click()
    screenshot(page, "explorer-weights")

    open_page(page, server, "/explorer?shape=2%2C5%2C8&ns=%288%2C%29&view=Same+pooling", "Explorer")
    expect(page.locator(PLOT)).to_have_count(2)
    expect(page.locator(PLOT).nth(1)).to_contain_text("nn.InstanceNorm1d(5, affine=True): weight (5,)")
    assert_clean(page, server)
    page.locator(PLOT).first.scroll_into_view_if_needed()
    screenshot(page, "explorer-same-pooling")
