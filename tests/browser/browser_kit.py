"""What every browser test shares: the app's server on a free port, Debian's headless chromium, and
the waits on the app's own run state (never sleeps).

Where chromium or playwright is missing the tests skip, except in CI (CI=true), where that is a
failure. The fixtures (browser, server, page) are registered for tests/browser by its conftest.py.
"""

import os
import shutil
from pathlib import Path

import pytest
from serving import require, streamlit_server

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the CI installs it (requirements-dev.txt)
    expect = sync_playwright = None

CHROMIUM = os.environ.get("LNORM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000  # CI is a 2-core box: the first run of a page imports torch and computes

# url path -> (title, draws a figure at its defaults)
PAGES = {
    "explorer": ("Explorer", True),
    "compare": ("Compare", True),
    "pitfalls": ("Pitfalls", True),
    "practice": ("Practice", True),  # the exercise's grid, to click on
    "timing": ("Timing", True),  # the shipped CPU recording is plotted at once
}
NAV_TITLES = [title for title, _ in PAGES.values()]

APP = '[data-testid="stApp"]'
SIDEBAR = '[data-testid="stSidebar"]'
MAIN = '[data-testid="stMain"]'
PLOT = '[data-testid="stPlotlyChart"] .js-plotly-plot'
EXCEPTION = '[data-testid="stException"]'
ERROR = '[data-testid="stAlertContentError"]'


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's chromium, headless, with a fresh profile directory."""
    require(sync_playwright is not None, "the playwright package is not installed")
    require(shutil.which(CHROMIUM) is not None or Path(CHROMIUM).is_file(), f"no browser at {CHROMIUM}")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield context
        context.close()


@pytest.fixture(scope="module")
def server(browser):
    """The app's server for this module, warmed by one visit of / (imports, first computations).

    The visit of / also means the tests here do not depend on which page happens to be
    opened first; test_first_visit_by_deep_link checks that case on a server of its own.
    """
    with streamlit_server() as srv:
        page = browser.new_page()
        page.goto(srv.url + "/")
        settle(page)
        page.close()
        yield srv


@pytest.fixture
def page(browser):
    """A new tab (a new session of the app); the JavaScript errors it meets are in page.js_errors."""
    p = browser.new_page()
    p.js_errors = []
    p.on("pageerror", lambda e: p.js_errors.append(str(e)))
    yield p
    p.close()


def settle(page):
    """Wait until the app is connected and its script has finished running."""
    expect(page.locator(APP)).to_have_attribute("data-test-connection-state", "CONNECTED")
    expect(page.locator(APP)).to_have_attribute("data-test-script-state", "notRunning")
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)


def open_page(page, server, path, title):
    """Open server.url + path and wait for its script to finish: its title shown, no exception.

    The path must be a page of the app: Streamlit answers any other with a "Page not found"
    dialog (and runs the default page under it).
    """
    page.goto(server.url + path)
    expect(page.locator(f"{MAIN} h1").or_(page.locator(EXCEPTION)).first).to_be_visible()
    settle(page)
    assert_clean(page, server)
    expect(page.locator(f"{MAIN} h1").first).to_have_text(title)
    not_found = page.locator('[role="dialog"]', has_text="Page not found")
    assert not_found.count() == 0, f"{path}: Streamlit says: {not_found.first.inner_text()!r}"


def assert_clean(page, server):
    """No exception on the page, no traceback, no JavaScript error; else the server's log says why."""
    shown = page.locator(EXCEPTION).all_inner_texts()
    body = page.locator("body").inner_text()
    errors = getattr(page, "js_errors", [])
    assert not shown and "Traceback" not in body and not errors, (
        f"{page.url}: exception shown: {shown}; JavaScript errors: {errors}\n"
        f"--- the server's log ---\n{server.log()}")


def sidebar_value(page, label):
    """The value a sidebar input (text box, number box, select box) shows."""
    return page.locator(f'{SIDEBAR} input[aria-label="{label}"]').input_value()


def screenshot(page, name):
    """Save what the page shows as NAME.png in $LNORM_SCREENSHOTS (how docs/*.png are refreshed)."""
    folder = os.environ.get("LNORM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))  # the app scrolls inside: the viewport is the page
