"""Time from navigation to a fully drawn page, each page against a bare Streamlit page: a table.

    python bench/page_load.py [--repeats N] [--cases floor,explorer,...] [--port-base P]

Two servers run side by side on loopback ports, with the same flags and the same
.streamlit/config.toml: lnorm (`streamlit run app.py`) and the floor, a bare Streamlit
page written to a temp dir (wide layout, a sidebar with three widgets, a title and one
50x50 plotly heatmap). Every open is a fresh headless chromium (a new browser process
and a new profile, so nothing is cached) and is timed from navigation start until the
page is fully drawn, as checked in the page on every change to its DOM:

  - Streamlit's script ran and finished (stApp's data-test-script-state went to
    "running", then to "notRunning"), the connection is up, no status widget shows;
  - no element is still a loading skeleton, and every plotly chart in the DOM has its
    .main-svg drawn (the charts are counted).

The opens are interleaved, floor then page, for every page in a round (the order of
the pages turns by one each round), so that noise from other work on the machine hits
the floor and the pages alike. A page's ratio is the median over rounds of (page time /
the floor open just before it). The websocket bytes received per open are summed from
playwright's framereceived events. Every open has a timeout and is reported, not
waited on forever; exceptions, "Something went wrong" and JavaScript errors are
reported under the table, and so is any request off loopback (the browser sends those to a
closed loopback port, so none leaves the machine). The extra columns say where the time
goes: when the script finished, the browser's long tasks, the DOM's size. Nothing is
asserted. The budget (DESIGN.md): every page at most 1.2x the floor.
"""

import argparse
import contextlib
import importlib.metadata
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LNORM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}  # as the browser tests
HOST = "127.0.0.1"
# Every request off loopback goes to a closed loopback port and fails there; the servers are
# reached directly: the app's material-icon favicon would otherwise be asked of fonts.gstatic.com.
DEAD_PROXY = {"server": f"http://{HOST}:9", "bypass": f"{HOST},localhost"}
SERVER_FLAGS = ["--server.headless=true", "--server.fileWatcherType=none",
                "--browser.gatherUsageStats=false", f"--server.address={HOST}"]
SERVER_START_S = 90
OPEN_TIMEOUT_S = 60
LAUNCH_TIMEOUT_S = 30
MAX_REPEATS = 50
BUDGET_RATIO = 1.2
MAX_SHAPE = "shape=1024%2C1024"

FLOOR = "floor"
# case -> (server, path)
CASES = {
    FLOOR: (FLOOR, "/"),
    "explorer": ("lnorm", "/explorer"),
    "compare": ("lnorm", "/compare"),
    "pitfalls": ("lnorm", "/pitfalls"),
    "practice": ("lnorm", "/practice"),
    "timing": ("lnorm", "/timing"),
    "explorer max": ("lnorm", f"/explorer?{MAX_SHAPE}"),
    "compare max": ("lnorm", f"/compare?{MAX_SHAPE}"),
    "pitfalls max": ("lnorm", f"/pitfalls?{MAX_SHAPE}"),
}

FLOOR_SCRIPT = '''\
"""The floor: a bare Streamlit page with a sidebar, a title and one plotly chart."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
with st.sidebar:
    st.selectbox("Layer", ["LayerNorm", "RMSNorm", "GroupNorm"])
    st.text_input("Shape", "2, 3, 4")
    st.number_input("Seed", value=0)
st.title("Floor")
z = np.random.default_rng(0).standard_normal((50, 50))
st.plotly_chart(go.Figure(go.Heatmap(z=z)), width="stretch")
'''

# Installed before any of the page's scripts. On every change to the DOM until the page is fully
# drawn, it checks whether it is, and keeps the first moment it is (ms since navigation start):
#   Streamlit's script ran and finished, connected, no status widget, no loading skeleton left,
#   and every plotly chart has its .main-svg.
# It also counts the script runs, notes when the last one finished, and sums the long tasks (over
# 50 ms of main thread at a stretch: parsing, compiling, laying out and drawing).
WATCH_SCRIPT = """
(() => {
  const s = window.__pageLoad = {runs: 0, scriptDone: null, longTasks: 0, drawn: null};
  const drawnNow = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || !s.runs || app.getAttribute('data-test-script-state') !== 'notRunning') return null;
    if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return null;
    if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')) return null;
    const boxes = document.querySelectorAll('[data-testid="stPlotlyChart"]').length;
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    if (plots.length < boxes || !plots.every(p => p.querySelector('.main-svg'))) return null;
    return {ms: performance.now(), charts: plots.length, nodes: document.getElementsByTagName('*').length,
            longTasks: s.longTasks};
  };
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) s.longTasks += e.duration;
  }).observe({type: 'longtask', buffered: true});
  const watch = new MutationObserver(records => {
    for (const r of records) {
      if (r.attributeName !== 'data-test-script-state') continue;
      const now = r.target.getAttribute(r.attributeName);
      if (now === r.oldValue) continue;
      if (now === 'running') s.runs += 1;
      else if (now === 'notRunning' && s.runs) s.scriptDone = performance.now();
    }
    s.drawn = drawnNow();
    if (s.drawn) watch.disconnect();
  });
  watch.observe(document, {subtree: true, childList: true, attributes: true, attributeOldValue: true});
})();
"""
DRAWN = "() => window.__pageLoad.drawn"
POLL_MS = 50

# Where an open that timed out was stuck.
STATE_PROBE = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const n = sel => document.querySelectorAll(sel).length;
  return app ? `${app.getAttribute('data-test-connection-state')}/${app.getAttribute('data-test-script-state')}, ` +
    `${n('[data-testid="stSkeleton"]')} skeletons, ${n('.js-plotly-plot')} charts, ` +
    `${n('[data-testid="stException"]')} exceptions` : 'no stApp';
}
"""

LEGEND = (
    "# drawn ms: navigation start to fully drawn; x floor: median over rounds of (page ms / the floor open",
    "# just before it); ws KB: received over the websocket (1 KB = 1000 bytes); script ms: when the browser",
    "# saw the script finish; long tasks ms: main-thread stretches over 50 ms until drawn; all medians.",
)
EXCEPTION = '[data-testid="stException"]'
WENT_WRONG = "Something went wrong"
NOT_FOUND = "Page not found"


@dataclass
class Open:
    """One open of one URL in a fresh browser: what was measured, and what went wrong."""

    ms: float | None = None
    script_ms: float | None = None
    long_task_ms: float | None = None
    charts: int = 0
    nodes: int = 0
    ws_bytes: int = 0
    problems: list = field(default_factory=list)  # not drawn in time, exceptions, error text, JS errors
    off_loopback: list = field(default_factory=list)  # requests the page made off loopback (refused)


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_taken(port):
    """Whether a server listens on the loopback port already (a port in TIME_WAIT is free to take)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def start_server(script, port, log):
    """`streamlit run script` from the repo root (so .streamlit/config.toml applies), headless. Refused where the
    port is taken: the health check would be answered by the other server, and its figures taken for this one's."""
    if port_taken(port):
        raise RuntimeError(f"port {port} is taken by another process: stop it, or pick other ports")
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), f"--server.port={port}", *SERVER_FLAGS]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_healthy(url, proc, log):
    """Block until the server answers its health check; raise with its log if it does not."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.25)
    log.seek(0)
    raise RuntimeError(f"the server at {url} did not start (exit code {proc.poll()}):\n{log.read()[-3000:]}")


def stop_server(proc):
    """Terminate a server, kill it if it does not go within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def servers(port_base=None):
    """The lnorm and floor servers, up and healthy: yields {"lnorm": url, "floor": url}; stopped after."""
    ports = (port_base, port_base + 1) if port_base else (free_port(), free_port())
    with tempfile.TemporaryDirectory(prefix="page-load-floor-") as tmp, contextlib.ExitStack() as stack:
        floor = Path(tmp) / "floor.py"
        floor.write_text(FLOOR_SCRIPT)
        urls, procs = {}, []
        try:
            for (name, script), port in zip((("lnorm", ROOT / "app.py"), (FLOOR, floor)), ports):
                log = stack.enter_context(tempfile.TemporaryFile(mode="w+"))
                proc = start_server(script, port, log)
                procs.append(proc)
                urls[name] = f"http://{HOST}:{port}"
                wait_healthy(urls[name], proc, log)
            yield urls
        finally:
            for proc in procs:
                stop_server(proc)


def is_loopback(url):
    """True for a URL to this machine (or one that never leaves the browser: data:, blob:)."""
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in (HOST, "localhost")


def page_problems(page, js_errors):
    """What the drawn page shows that it should not: exceptions, error text, JavaScript errors."""
    found = [f"exception: {t.splitlines()[0][:80] if t else ''}" for t in page.locator(EXCEPTION).all_inner_texts()]
    body = page.locator("body").inner_text()
    found += [f"shows {text!r}" for text in (WENT_WRONG, NOT_FOUND) if text in body]
    found += [f"JavaScript error: {e[:80]}" for e in js_errors]
    return found


def open_once(pw, url, timeout_s=OPEN_TIMEOUT_S):
    """Open url in a fresh headless chromium and measure it until fully drawn (or timed out)."""
    result = Open()
    js_errors = []

    def on_websocket(ws):
        ws.on("framereceived", lambda payload: setattr(result, "ws_bytes", result.ws_bytes + len(payload)))

    with tempfile.TemporaryDirectory(prefix="page-load-profile-") as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT,
            proxy=DEAD_PROXY, timeout=LAUNCH_TIMEOUT_S * 1000)
        try:
            ctx.add_init_script(WATCH_SCRIPT)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.on("websocket", on_websocket)
            page.on("pageerror", lambda e: js_errors.append(str(e)))
            page.on("request", lambda r: None if is_loopback(r.url) else result.off_loopback.append(r.url))
            deadline = time.monotonic() + timeout_s
            try:
                page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
                left_ms = max(1, (deadline - time.monotonic()) * 1000)
                drawn = page.wait_for_function(DRAWN, polling=POLL_MS, timeout=left_ms).json_value()
            except Exception as e:  # noqa: BLE001 - a slow or broken open is a reported failure, not the end
                result.problems.append(f"not drawn within {timeout_s} s ({type(e).__name__}; "
                                       f"{safe_evaluate(page, STATE_PROBE)})")
                return result
            result.ms, result.charts, result.nodes = drawn["ms"], drawn["charts"], drawn["nodes"]
            result.long_task_ms = drawn["longTasks"]
            result.script_ms = page.evaluate("window.__pageLoad.scriptDone")
            result.problems += page_problems(page, js_errors)
        finally:
            ctx.close()
    return result


def safe_evaluate(page, script):
    """The script's value in the page, or a word on why there is none."""
    try:
        return page.evaluate(script)
    except Exception as e:  # noqa: BLE001 - only used to describe a failure
        return f"page state unknown: {type(e).__name__}"


def schedule(cases, repeats):
    """Rounds of (floor, page) pairs, every page once a round, the order turning each round."""
    pages = [c for c in cases if c != FLOOR]
    return [[pages[(r + k) % len(pages)] for k in range(len(pages))] for r in range(repeats)]


def warm_up(pw, urls, cases):
    """Open the floor and every case once, unmeasured: imports and first computations are paid here."""
    for case in dict.fromkeys([FLOOR, *cases]):
        warm = open_once(pw, url_of(urls, case))
        print(f"# warm-up {case:<13} {fmt(warm.ms):>6} ms {'; '.join(warm.problems)}", file=sys.stderr)


def run(pw, urls, cases, repeats, report=print):
    """Open every case of every round, floor first in each pair: {case: [(Open, floor Open)]}."""
    results = {FLOOR: [], **{c: [] for c in cases if c != FLOOR}}
    for r, order in enumerate(schedule(cases, repeats), 1):
        for case in order:
            floor = open_once(pw, url_of(urls, FLOOR))
            page = open_once(pw, url_of(urls, case))
            results[case].append((page, floor))
            results[FLOOR].append((floor, floor))
            report(f"# round {r}: {case:<13} {fmt(page.ms):>6} ms, floor {fmt(floor.ms):>6} ms", file=sys.stderr)
    return results


def url_of(urls, case):
    """The full URL of a case on its server."""
    server, path = CASES[case]
    return urls[server] + path


def fmt(ms):
    """Milliseconds as the table writes them."""
    return "-" if ms is None else f"{ms:.0f}"


def median_or_none(values):
    """The median of the values that are not None, or None where there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(pairs):
    """One table row's numbers from (page open, its floor open) pairs."""
    ratios = [p.ms / f.ms for p, f in pairs if p.ms and f.ms]
    return {
        "ms": median_or_none(p.ms for p, _ in pairs),
        "script_ms": median_or_none(p.script_ms for p, _ in pairs),
        "long_task_ms": median_or_none(p.long_task_ms for p, _ in pairs),
        "nodes": median_or_none(p.nodes for p, _ in pairs if p.ms),
        "ratio": median_or_none(ratios),
        "charts": median_or_none(p.charts for p, _ in pairs if p.ms),
        "kb": median_or_none(p.ws_bytes / 1000 for p, _ in pairs if p.ms),
        "failed": sum(p.ms is None for p, _ in pairs),
        "problems": sorted({q for p, _ in pairs for q in p.problems}),
        "off_loopback": sorted({u for p, _ in pairs for u in p.off_loopback}),
    }


def table(results):
    """The table's lines, then the problems seen, one line each."""
    head = (f"{'case':<13} {'drawn ms':>8} {'x floor':>7} {'budget':<6} {'charts':>6} {'ws KB':>6} "
            f"{'script ms':>9} {'long tasks ms':>13} {'DOM nodes':>9} {'failed':>6}")
    lines, notes, asked = [head, "-" * len(head)], [], {}
    for case, pairs in results.items():
        s = summarize(pairs)
        ratio = "1.00" if case == FLOOR and s["ms"] else number(s["ratio"], ".2f")
        verdict = "" if s["ratio"] is None or case == FLOOR else ("ok" if s["ratio"] <= BUDGET_RATIO else "OVER")
        lines.append(f"{case:<13} {fmt(s['ms']):>8} {ratio:>7} {verdict:<6} {number(s['charts'], 'g'):>6} "
                     f"{number(s['kb'], '.0f'):>6} {fmt(s['script_ms']):>9} {fmt(s['long_task_ms']):>13} "
                     f"{number(s['nodes'], '.0f'):>9} {s['failed']:>2}/{len(pairs)}")
        notes += [f"# {case}: {p}" for p in s["problems"]]
        for url in s["off_loopback"]:
            asked.setdefault(url, []).append(case)
    notes += [f"# asked for {url[:90]} (off loopback: refused) by {', '.join(cases)}" for url, cases in asked.items()]
    return lines + (notes or ["# no exception, error text, JavaScript error or off-loopback request on any page"])


def number(value, spec):
    """A number in that format, or '-' where there is none."""
    return "-" if value is None else format(value, spec)


def torch_threads():
    """The threads torch uses in a new process of this Python (as the server's), or '?'."""
    try:
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_line():
    """CPU model, cores, torch's threads, load, and the versions that matter here."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    versions = ", ".join(f"{name} {safe_version(name)}" for name in ("streamlit", "plotly", "torch", "playwright"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"# {model}; {os.cpu_count()} cores, {len(os.sched_getaffinity(0))} usable, "
            f"torch {torch_threads()} threads; load {load}; python {platform.python_version()}, {versions}")


def safe_version(name):
    """An installed package's version, or '?'."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def parse_args(argv=None):
    """The command line: --repeats, --cases, --port-base."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help=f"rounds (default 5, at most {MAX_REPEATS})")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated subset of: {', '.join(CASES)} (the floor is always opened)")
    ap.add_argument("--port-base", type=int, default=None,
                    help="lnorm on this port, the floor on the next (default: free ports)")
    args = ap.parse_args(argv)
    args.repeats = max(1, min(args.repeats, MAX_REPEATS))
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        ap.error(f"unknown cases {unknown}; choose from {list(CASES)}")
    if not [c for c in args.cases if c != FLOOR]:
        ap.error("name at least one page besides the floor")
    return args


def main(argv=None):
    """Start both servers, warm them, open every case interleaved with the floor, print the table."""
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    print(f"# {shlex.join(['python', 'bench/page_load.py', *(sys.argv[1:] if argv is None else argv)])}")
    print(machine_line())
    print(f"# chromium {CHROMIUM}, a fresh browser and profile per open; rounds of (floor, page) pairs: "
          f"{args.repeats}; ms from navigation start to fully drawn, median; budget {BUDGET_RATIO}x floor", flush=True)
    with servers(args.port_base) as urls, sync_playwright() as pw:
        warm_up(pw, urls, args.cases)
        results = run(pw, urls, args.cases, args.repeats)
    for line in table(results):
        print(line)
    for line in LEGEND:
        print(line)


if __name__ == "__main__":
    main()
