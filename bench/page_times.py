"""Server time of a rerun of each page, at its defaults and at the largest shape: a table.

    python bench/page_times.py [--repeat N] [--only PAGE]

Each page runs in streamlit.testing.v1.AppTest (app.py, switch_page, run). The first run of
a page is reported apart; the columns after it are the median of several reruns:

  same     reruns with nothing changed (the core's caches answer; figures are rebuilt)
  new seed reruns after a new seed is typed (a cache miss: the page computes again)

The budget (issue 12): every rerun under 100 ms of server time at the defaults, and under 300 ms
at the largest tensor (shape "1024, 1024"), whether nothing changed or a new seed is computed. AppTest adds its own overhead
(it runs the script in a thread and walks every message it produces), measured here on an
empty script and printed; the browser's drawing is not included. Nothing is asserted.
"""

import argparse
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.logger import set_log_level  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

PAGES = ("explorer", "compare", "pitfalls", "practice", "timing")
# tabs that compute something of their own, opened by their link: (row name, page, query parameters)
TABS = (("pitfalls · mistakes", "pitfalls", {"part": "Every mistake", "open_unbiased": "true"}),
        ("pitfalls · batch", "pitfalls", {"part": "BatchNorm: train vs eval"}),
        ("explorer · stages", "explorer", {"view": "Input → output"}),
        ("explorer · weights", "explorer", {"view": "Weight and bias", "init": "random"}))
MAX_SHAPE = "1024, 1024"
BUDGET_S = {"defaults": 0.100, "max": 0.300}
TIMEOUT_S = 120


def page_files():
    """url_path -> script path, read off app.py's st.Page(...) calls (the router may move its pages)."""
    text = (ROOT / "app.py").read_text()
    files = {}
    for m in re.finditer(r"st\.Page\(\s*[\"']([^\"']+\.py)[\"']([^)]*)\)", text):
        path, rest = m.group(1), m.group(2)
        url = re.search(r"url_path\s*=\s*[\"']([^\"']+)[\"']", rest)
        files[url.group(1) if url else Path(path).stem] = path
    return files


def timed_run(at):
    t = time.perf_counter()
    at.run(timeout=TIMEOUT_S)
    return time.perf_counter() - t


def problems(at):
    """What went wrong in the last run, short: exceptions, then error messages."""
    if at.exception:
        return "exception: " + str(at.exception[0].message).splitlines()[0][:60]
    if at.error:
        return "error: " + str(at.error[0].value).splitlines()[0][:60]
    return ""


def widget(at, kind, key):
    """The sidebar widget of that kind and key, or None where the page has none."""
    try:
        return getattr(at, kind)(key=key)
    except KeyError:
        return None


def measure(path, size, repeat, params=None):
    """(first, same, new seed, note) in seconds for one page (opened with the link's params) at one size."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page(path)
    at.run(timeout=TIMEOUT_S)  # the page at its defaults (its caches may be warm from earlier rows)
    note = problems(at)
    if size == "max":
        shape = widget(at, "text_input", "shape")
        if shape is None:
            return None, None, None, "no Shape control"
        shape.set_value(MAX_SHAPE)
    first = timed_run(at)
    note = note or problems(at)
    if size == "max" and not note and widget(at, "text_input", "shape").value != MAX_SHAPE:
        note = f"the Shape box did not keep {MAX_SHAPE!r}"
    same = statistics.median(timed_run(at) for _ in range(repeat))
    new = None
    if widget(at, "number_input", "seed") is not None:
        times = []
        for k in range(1, repeat + 1):
            at.number_input(key="seed").set_value(1000 + k)
            times.append(timed_run(at))
        new = statistics.median(times)
        note = note or problems(at)
    return first, same, new, note


def apptest_overhead(repeat):
    at = AppTest.from_string("import streamlit as st\nst.write('')", default_timeout=TIMEOUT_S)
    at.run()
    return statistics.median(timed_run(at) for _ in range(repeat))


def ms(t):
    return "n/a" if t is None else f"{t * 1000:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="reruns per median (default 5)")
    ap.add_argument("--only", default="", help="time only the rows whose name starts with this, e.g. 'pitfalls'")
    args = ap.parse_args()
    set_log_level("error")  # AppTest's "missing ScriptRunContext" warnings are noise here
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").disabled = True

    files = page_files()
    # imports (torch, plotly) and the first computations, so that no row pays for them
    warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S)
    warm.run(timeout=TIMEOUT_S)
    overhead = apptest_overhead(args.repeat)

    print(f"# server time of one rerun per page, ms (streamlit AppTest, median of {args.repeat})")
    print(f"# budget: defaults < {BUDGET_S['defaults'] * 1000:.0f} ms; max (shape {MAX_SHAPE}) < "
          f"{BUDGET_S['max'] * 1000:.0f} ms. 'same': nothing changed; 'new seed': a new input, computed again.")
    print(f"# AppTest's own overhead, on an empty script: {overhead * 1000:.1f} ms per run, included below.")
    head = f"{'page':<20} {'size':<9} {'first':>7} {'same':>7} {'new seed':>9}  {'budget':<7} note"
    print(head)
    print("-" * len(head))
    for name, page, params in [(p, p, {}) for p in PAGES] + list(TABS):
        if not name.startswith(args.only):
            continue
        path = files.get(page)
        if path is None:
            print(f"{name:<20} {'-':<9} {'':>7} {'':>7} {'':>9}  {'':<7} not in app.py")
            continue
        for size in ("defaults", "max"):
            try:
                first, same, new, note = measure(path, size, args.repeat, params)
            except Exception as e:  # noqa: BLE001 - a broken page is a row, not the end of the table
                first = same = new = None
                note = f"{type(e).__name__}: {str(e).splitlines()[0][:60] if str(e) else ''}"
            worst = max((t for t in (same, new) if t is not None), default=None)
            verdict = "" if worst is None else ("ok" if worst <= BUDGET_S[size] else "OVER")
            print(f"{name:<20} {size:<9} {ms(first):>7} {ms(same):>7} {ms(new):>9}  {verdict:<7} {note}")
    print("# 'first': the first run at that size (module caches shared across rows, so it may be warm).")
    print("# The browser's own drawing time is not in these numbers; the browser tests time whole page loads.")


if __name__ == "__main__":
    main()
