"""bench/page_load.py works: one round of the floor and the Explorer, each in a fresh chromium.

Only that the measurement measures (a time, charts, websocket bytes, no exception);
never how long it took, which is the benchmark's business, not a test's.
"""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the CI installs it (requirements-dev.txt)
    sync_playwright = None

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def load_bench():
    """bench/page_load.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("page_load", ROOT / "bench" / "page_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


page_load = load_bench()


def require_browser():
    """Skip without playwright or chromium, but fail in CI: there the browser tests must run."""
    missing = ("the playwright package is not installed" if sync_playwright is None else
               None if shutil.which(page_load.CHROMIUM) or Path(page_load.CHROMIUM).is_file() else
               f"no browser at {page_load.CHROMIUM}")
    if missing and IN_CI:
        pytest.fail(f"{missing} (CI=true: the browser tests must run, not skip)", pytrace=False)
    if missing:
        pytest.skip(missing)


def test_one_round_of_the_floor_and_the_explorer():
    """One floor open and one /explorer open: a positive time, charts, websocket bytes, no exception."""
    require_browser()
    with page_load.servers() as urls, sync_playwright() as pw:
        results = page_load.run(pw, urls, ["explorer"], repeats=1, report=lambda *args, **kwargs: None)
    assert set(results) == {page_load.FLOOR, "explorer"}
    (floor, _), = results[page_load.FLOOR]
    (explorer, paired_floor), = results["explorer"]
    assert paired_floor is floor
    for name, opened in ((page_load.FLOOR, floor), ("explorer", explorer)):
        assert opened.ms is not None and opened.ms > 0, f"{name}: {opened.problems}"
        assert opened.ws_bytes > 0, name
        assert not opened.problems, f"{name}: {opened.problems}"
    assert floor.charts >= 1
    lines = page_load.table(results)
    assert any(line.startswith("explorer ") for line in lines)
