"""The app's server for the tests that need a running one (tests/browser, tests/server): on a free port, up
within a minute, stopped after; what it logged is there to quote in a failure."""

import contextlib
import importlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
SERVER_START_S = 60
BENCH = ROOT / "bench"


def require(ok, reason):
    """Skip without a tool a test needs (chromium, haproxy), but fail in CI: there every test must run."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)", pytrace=False)
    pytest.skip(reason)


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running app: its base URL, and what it has written to its log so far."""

    def __init__(self, url, log, pid=None):
        self.url = url
        self.pid = pid
        self._log = log

    def log(self, tail=6000):
        self._log.seek(0)
        return self._log.read()[-tail:]


@contextlib.contextmanager
def streamlit_server():
    """`streamlit run app.py` from the repo root on a free port, up within 60 s; killed after."""
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(f"http://localhost:{port}", log, proc.pid)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{server.log()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer {server.url}/_stcore/health within "
                            f"{SERVER_START_S} s:\n{server.log()}", pytrace=False)
            time.sleep(0.25)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def bench_module(name):
    """A module of bench/ (a folder of scripts, not a package, whose modules import each other by name)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)
