"""Drive a real lnorm server through hundreds of reruns and print its memory over time.

    python bench/memory_soak.py --reruns 300

Starts `streamlit run app.py` on a free local port, then, in headless Debian
chromium (Playwright), opens the Explorer, Compare and Pitfalls pages again and
again with a different seed and shape each time (every open is a new session and
a rerun), and prints the server's resident memory (RSS) every few reruns. A server
whose caches are bounded levels off; one that keeps every session's tensors grows
without end. Traffic goes to 127.0.0.1 only, and the loop is bounded.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its neighbours import by name
from page_load import HOST, free_port, start_server, stop_server, wait_healthy  # noqa: E402  (one way to serve)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHAPES = ["2,3,4", "4,2,3", "8,128,512", "2,4,3,3", "64,64", "16,32,32", "1024,1024", "2,5,8"]
PAGES = ["explorer", "compare", "pitfalls"]


def rss_mib(pid):
    """Resident memory of a process and its children, in MiB (from /proc)."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in out]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=300, help="how many page opens (bounded to 2000)")
    parser.add_argument("--every", type=int, default=25, help="print the RSS every this many reruns")
    args = parser.parse_args(argv)
    reruns = max(1, min(args.reruns, 2000))

    from playwright.sync_api import sync_playwright

    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    server = start_server("app.py", port, log)
    try:
        wait_healthy(f"http://{HOST}:{port}", server, log)
        print(f"server pid {server.pid}, port {port}; RSS at start {rss_mib(server.pid):.0f} MiB")
        print(f"{'reruns':>7} {'seconds':>8} {'RSS MiB':>8}")
        start = time.time()
        with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
            ctx = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium",
                                                        headless=True, args=CHROMIUM_ARGS)
            page = ctx.new_page()
            for k in range(1, reruns + 1):
                shape = SHAPES[k % len(SHAPES)]
                name = PAGES[k % len(PAGES)]
                url = f"http://127.0.0.1:{port}/{name}?seed={k}&shape={shape.replace(',', '%2C')}"
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector("h1", timeout=60_000)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
                if k % args.every == 0 or k == reruns:
                    print(f"{k:>7} {time.time() - start:>8.1f} {rss_mib(server.pid):>8.0f}", flush=True)
            ctx.close()
    finally:
        stop_server(server)
        log.close()


if __name__ == "__main__":
    main()
