"""Issue 9 in a real browser: torch's refusal explained with buttons that apply a choice, and the notebook download.

Uses tests/browser/browser_kit.py's server and headless chromium (Debian's /usr/bin/chromium); waits on
the app's own run state, never on sleeps. LNORM_SCREENSHOTS=DIR saves what the page showed.
"""

import json
import re

import pytest
import torch

from browser_kit import ERROR, MAIN, PLOT, SIDEBAR, assert_clean, expect, open_page, screenshot, settle, sidebar_value

pytestmark = pytest.mark.browser


def test_a_refused_normalized_shape_is_explained_and_a_button_applies_a_choice(server, page):
    with pytest.raises(RuntimeError) as torch_says:
        torch.nn.LayerNorm(2)(torch.randn(4, 2, 3))
    open_page(page, server, "/explorer?shape=4%2C2%2C3&ns=%282%2C%29", "Explorer")
    main = page.locator(MAIN)
    expect(page.locator(ERROR).first).to_contain_text(str(torch_says.value))  # torch's words, verbatim
    expect(main).to_contain_text("for (4, 2, 3) that is (3,), (2, 3) or (4, 2, 3); (2,) is the middle dim")
    buttons = main.get_by_role("button")
    expect(buttons.filter(has_text=re.compile(r"^\(2, 3\)$"))).to_have_count(1)
    assert page.locator(PLOT).count() == 0
    screenshot(page, "explorer-refusal")

    buttons.filter(has_text=re.compile(r"^\(2, 3\)$")).click()
    expect(main).to_contain_text(f"{torch.nn.LayerNorm((2, 3))!r} on (4, 2, 3): 4 groups of 6 elements each")
    settle(page)
    expect(page.locator(PLOT).first).to_be_visible()  # the groups are drawn
    assert page.locator(ERROR).count() == 0
    expect(page).to_have_url(re.compile(r"[?&]ns=(%28|\()2(%2C|,)(\+|%20| )?3(%29|\))"))
    assert sidebar_value(page, "normalized_shape") == "(2, 3)"
    assert_clean(page, server)
    screenshot(page, "explorer-refusal-applied")


def test_num_groups_refused_offers_the_divisors(server, page):
    open_page(page, server, "/explorer?kind=GroupNorm&shape=2%2C4%2C3&groups=3", "Explorer")
    main = page.locator(MAIN)
    expect(page.locator(ERROR).first).to_contain_text("num_channels (4) must be divisible by num_groups (3)")
    main.get_by_role("button", name="num_groups=2").click()
    expect(main).to_contain_text(f"{torch.nn.GroupNorm(2, 4)!r} on (2, 4, 3): 4 groups of 6 elements each")
    settle(page)
    expect(page).to_have_url(re.compile(r"[?&]groups=2\b"))
    expect(page.locator(f'{SIDEBAR} input[aria-label="num_groups"]')).to_have_value("2")
    assert_clean(page, server)


def test_the_reproduce_tab_downloads_a_notebook(server, page, tmp_path):
    open_page(page, server, "/explorer?kind=GroupNorm&shape=2%2C4%2C3%2C3&groups=2&view=Reproduce+in+PyTorch",
              "Explorer")
    button = page.locator(MAIN).get_by_role("button", name=re.compile(r"notebook \(\.ipynb\)"))
    with page.expect_download() as download:
        button.click()
    path = tmp_path / "lnorm_explorer.ipynb"
    download.value.save_as(path)
    assert download.value.suggested_filename == "lnorm_explorer.ipynb"
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert "nn.GroupNorm(2, 4" in code[0] and "np.sqrt(var + eps)" in code[1]
    settle(page)
    assert_clean(page, server)
