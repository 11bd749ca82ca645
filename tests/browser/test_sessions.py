"""One real server, many strangers: concurrent sessions keep their own numbers, bad input harms no one.

Several browser tabs (each a session of its own) open the Pitfalls page at once,
each with its own seed and layer; each must show torch's output for its own
input, computed here with torch.nn.functional. Then a burst of bad links, after
which the server still serves a good page.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from browser_kit import ERROR, EXCEPTION, MAIN, expect, open_page, settle

pytestmark = pytest.mark.browser

SHAPE = (3, 4)
SESSIONS = [  # (seed, kind in the URL, torch's own computation)
    (11, "LayerNorm", lambda x: F.layer_norm(x, (4,))),
    (12, "RMSNorm", lambda x: F.rms_norm(x, (4,))),
    (13, "GroupNorm", lambda x: F.group_norm(x, 1)),
    (14, "BatchNorm", lambda x: F.batch_norm(x, None, None, training=True)),
    (15, "InstanceNorm", None),  # refused on (3, 4): one spatial element; the message is checked instead
]


def _expected(seed, fn):
    """torch's output on torch.manual_seed(seed); torch.randn(3, 4), in float64, as 4-decimal strings."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(SHAPE, generator=gen).double()
    return [f"{v:.4f}" for v in fn(x).numpy().ravel()]


def _url(seed, kind):
    return f"/pitfalls?seed={seed}&kind={kind}&shape=3%2C4&part=Every+mistake"  # the tab that prints torch's output


def test_concurrent_sessions_each_get_their_own_numbers(server, browser):
    tabs = [browser.new_page() for _ in SESSIONS]
    try:
        for tab, (seed, kind, _) in zip(tabs, SESSIONS):
            tab.goto(server.url + _url(seed, kind), wait_until="commit")  # all start before any is waited on
        for tab, (seed, kind, fn) in zip(tabs, SESSIONS):
            expect(tab.locator(f"{MAIN} h1").first).to_have_text("Pitfalls")
            settle(tab)
            assert tab.locator(EXCEPTION).count() == 0
            if fn is None:
                assert "Expected more than 1 spatial element" in tab.locator(ERROR).first.inner_text()
                continue
            expect(tab.locator("pre").nth(1)).to_be_visible()  # code blocks draw after the script ends
            text = " ".join(tab.locator("pre").all_text_contents())
            missing = [v for v in _expected(seed, fn) if v not in text]
            assert not missing, f"{kind} seed {seed}: the page lacks {missing}"
    finally:
        for tab in tabs:
            tab.close()


BAD_LINKS = [
    "/explorer?source=paste&paste=__import__('os').system('echo%20hacked')",
    "/explorer?shape=2048%2C2048",
    "/compare?shape=0%2C3",
    "/pitfalls?kind=GroupNorm&shape=2%2C4%2C3&groups=3",
    "/explorer?kind=Softmax&seed=abc&eps=-1",
    "/compare?source=paste&paste=%5B%5B1%2C2%5D%2C%5B3%5D%5D",
    "/explorer?source=paste&paste=%5B%5B%EF%BC%91%5D%5D",
]


def test_bad_links_get_messages_and_the_server_keeps_serving(server, browser):
    tab = browser.new_page()
    try:
        for link in BAD_LINKS:
            tab.goto(server.url + link)
            expect(tab.locator(f"{MAIN} h1").first).to_be_visible()
            settle(tab)
            assert tab.locator(EXCEPTION).count() == 0, link
            shown = tab.locator('[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]')
            assert shown.count() >= 1, f"{link}: no message shown"
        # and a good view still works for the next person
        open_page(tab, server, "/explorer?kind=GroupNorm&shape=2%2C4%2C3&groups=2", "Explorer")
        expect(tab.locator(MAIN)).to_contain_text("GroupNorm(2")
    finally:
        tab.close()


def test_nan_in_a_paste_is_drawn_and_marked(server, browser):
    """A NaN poisons its own group only: torch's output row with it is all nan, the other row is not."""
    tab = browser.new_page()
    try:
        open_page(tab, server, "/pitfalls?source=paste&paste=%5B%5B1.0%2Cnan%2C2.0%5D%2C%5B1.0%2C2.0%2C4.0%5D%5D"
                  "&kind=LayerNorm&part=Every+mistake", "Pitfalls")
        expect(tab.locator("pre").nth(1)).to_be_visible()
        text = " ".join(tab.locator("pre").all_text_contents()).lower()
        y = F.layer_norm(torch.tensor([[1.0, np.nan, 2.0], [1.0, 2.0, 4.0]], dtype=torch.float64), (3,))
        assert "nan" in text
        assert all(f"{v:.4f}" in text for v in y[1].numpy())
    finally:
        tab.close()
