"""Pitfalls' "Your code" in a real browser: a snippet pasted into the box is read (never run), its lines that part
from torch are marked with the mistake and its fix, and the link keeps the code (code=)."""

from urllib.parse import parse_qs, urlparse

import pytest
from browser_kit import MAIN, assert_clean, expect, open_page, screenshot, settle

pytestmark = pytest.mark.browser

SNIPPET = """import torch
mean = torch.mean(x[0, :, :])
std = torch.std(x[0, :, :])
y = (x[0, 0, :] - mean) / std
print(y)"""


def test_pasting_code_marks_its_lines(server, page):
    open_page(page, server, "/pitfalls?part=Your+code", "Pitfalls")
    box = page.get_by_role("textbox", name="The code you wrote")
    expect(box).to_be_visible()
    box.fill(SNIPPET)
    box.press("Control+Enter")  # Streamlit's text area applies on Ctrl+Enter (or on leaving it)
    settle(page)
    assert_clean(page, server)
    main = page.locator(MAIN)
    expect(main.get_by_text("line 2: pooled the whole sample", exact=False).first).to_be_visible()
    code = main.locator('[data-testid="stCode"]').first.inner_text()
    marked = [ln.split()[1] for ln in code.splitlines() if ln.startswith("✗")]
    assert marked == ["2", "3", "4"], code
    assert "torch.std over x[0, :, :]: 12 values, divided by n − 1 (torch's default)" in code
    fixes = main.get_by_text("# your line 3", exact=False)
    expect(fixes.first).to_be_visible()
    assert parse_qs(urlparse(page.url).query).get("code") == [SNIPPET]  # the link reopens the same reading
    page.set_viewport_size({"width": 1400, "height": 2300})  # the app scrolls inside: a tall view shows the reading
    settle(page)
    screenshot(page, "pitfalls_code")


def test_hostile_code_is_shown_as_text_and_not_run(server, page, tmp_path):
    url = "/pitfalls?part=Your+code&code=" + "open(%22%2A%2Apwned%2A%2A%22%2C+%22w%22)"
    open_page(page, server, url, "Pitfalls")
    warning = page.locator('[data-testid="stAlertContentWarning"]').first
    expect(warning).to_contain_text("cannot read this code")
    expect(warning).to_contain_text("open is not in lnorm's vocabulary")
    assert page.locator(f"{MAIN} strong", has_text="pwned").count() == 0  # no markup made of the code
