"""Shared test setup: only what the browser tests need (the rest lives in each test module)."""

import os
import shutil


def pytest_report_header(config):
    """Say in the log which browser the browser tests use and whether a missing one fails (CI)."""
    chromium = os.environ.get("LNORM_CHROMIUM", "/usr/bin/chromium")
    found = "found" if shutil.which(chromium) or os.path.isfile(chromium) else "MISSING"
    ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return f"browser tests: {chromium} ({found}); missing browser or playwright {'fails (CI)' if ci else 'skips'}"
