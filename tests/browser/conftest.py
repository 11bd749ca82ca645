"""The browser tier: every test here drives the running server in headless chromium (see browser_kit)."""

from browser_kit import browser, page, server  # noqa: F401 (fixtures, registered for tests/browser)
