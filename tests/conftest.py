"""Shared test setup: hypothesis without time limits, and the browser tests' report header."""

import os
import shutil

from hypothesis import HealthCheck, settings

# Tests never bound wall-clock time: hypothesis's per-example deadline (200 ms) and its too-slow check are
# off for every property, so a busy 2-core machine cannot fail a test that is right.
settings.register_profile("lnorm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lnorm")


def pytest_report_header(config):
    """Say in the log which browser the browser tests use and whether a missing one fails (CI)."""
    chromium = os.environ.get("LNORM_CHROMIUM", "/usr/bin/chromium")
    found = "found" if shutil.which(chromium) or os.path.isfile(chromium) else "MISSING"
    ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return f"browser tests: {chromium} ({found}); missing browser or playwright {'fails (CI)' if ci else 'skips'}"


def pytest_collection_modifyitems(config, items):
    """Mark each test with its tier, the folder it lives in: `pytest -m core`, `-m app`, `-m browser`, `-m server`."""
    import pytest

    for item in items:
        tier = item.path.parent.name
        if tier in ("core", "app", "browser", "server"):
            item.add_marker(getattr(pytest.mark, tier))
