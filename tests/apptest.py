"""The one way the page tests open a page: AppTest on app.py, with a link's query parameters."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page=None, params=None, timeout=60):
    """Run app.py as a link would open it: the query parameters set, then `page` (e.g. "views/compare.py").

    page None opens the root URL, which forwards to the Explorer. A list value repeats the key,
    as a multiselect writes it. Returns the AppTest after its first run.
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(page)
    return at.run()
