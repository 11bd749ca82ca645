"""The hosting recipe: two lnorm processes behind HAProxy (hosting/run_local.sh with hosting/haproxy.cfg).

Spoken to in Streamlit's own protocol through the proxy: new visitors are spread over both processes;
a visitor stays with its process (its cookie), so that a reconnect finds its own session there, kept
with what its controls were set to; when that process dies, the reconnect lands on the other one, a
fresh session, and the link (the URL holds every control) gives it the same view; when the process is
started again, the proxy sends its visitors back to it. Which process answered is read from the
X-Lnorm-Server header the proxy adds. HAProxy is Debian's (apt-get install haproxy): the test skips
without it, except in CI, where it fails.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from serving import ROOT, bench_module, require

HAPROXY = os.environ.get("LNORM_HAPROXY", shutil.which("haproxy") or "/usr/sbin/haproxy")
SCRIPT = ROOT / "hosting" / "run_local.sh"
COOKIE = "lnorm_server"
SERVED_BY = "x-lnorm-server"
CODE = "Reproduce in PyTorch"  # the Explorer tab whose code names the seed: torch.manual_seed(<seed>)
st_session = bench_module("st_session")


def free_ports(count):
    """A run of `count` consecutive free loopback ports: HAProxy's, then one per process."""
    for base in range(20000 + os.getpid() % 20000, 60000, 7):
        try:
            sockets = []
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


class Hosting:
    """hosting/run_local.sh with its own run directory: start, restart one process, stop."""

    def __init__(self, run_dir, port):
        self.run_dir, self.port = Path(run_dir), port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "LNORM_RUN_DIR": str(run_dir), "LNORM_HAPROXY": HAPROXY, "PYTHON": sys.executable}

    def run(self, *args):
        out = subprocess.run(["bash", str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.run_dir.glob("*.log")))
            pytest.fail(f"run_local.sh {' '.join(args)}: exit {out.returncode}\n{out.stderr}\n{logs}", pytrace=False)
        return out

    def pid(self, n):
        return int((self.run_dir / "pids").read_text().split()[n - 1])


@pytest.fixture(scope="module")
def hosting(tmp_path_factory):
    require(Path(HAPROXY).is_file(), f"no haproxy at {HAPROXY} (apt-get install haproxy)")
    h = Hosting(tmp_path_factory.mktemp("hosting"), free_ports(3))
    h.run("start", "2", str(h.port))
    try:
        yield h
    finally:
        h.run("stop")


async def visit(url, query, cookies=None):
    """A visitor opening the Explorer's code tab by link; the open Session (still connected) and its run."""
    s = st_session.Session(url, keep=True, cookie_jar=cookies)
    run = await s.open("explorer", query)
    return s, run


def shows_seed(session, seed, since=0):
    """Whether the code the session received since message `since` builds the input from `seed`."""
    return f"torch.manual_seed({seed})\n".encode() in b"".join(session.received[since:])


async def reconnect(session, query=None, tries=10):
    """The frontend's reconnect: the websocket again (with the cookie and the session id), tried again a few
    times half a second apart as the frontend does while a server is going away; then a rerun."""
    await session.close()
    for attempt in range(tries):
        try:
            await session.connect(resume=True)
            break
        except (OSError, websockets.WebSocketException):
            if attempt == tries - 1:
                raise
            await asyncio.sleep(0.5)
    if query is not None:
        session.query = query
    return await session.rerun()


async def until_served_by(url, server, deadline_s=60):
    """A new visitor whose cookie names `server`, again until the proxy sends it there (it checks every 2 s)."""
    deadline = time.monotonic() + deadline_s
    while True:
        s, run = await visit(url, "", cookies={COOKIE: server})
        await s.close()
        if not run.errors and s.response_headers.get(SERVED_BY) == server:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the proxy did not send a visitor back to {server} within {deadline_s} s", pytrace=False)
        await asyncio.sleep(1)


def test_visitors_are_spread_and_each_stays_with_its_process(hosting):
    async def scenario():
        crowd = [await visit(hosting.url, "") for _ in range(4)]  # kept open: the proxy counts their sockets
        served = [s.response_headers.get(SERVED_BY) for s, _ in crowd]
        assert all(not run.errors for _, run in crowd), [run.errors for _, run in crowd]
        assert set(served) == {"lnorm1", "lnorm2"}, served
        for s, _ in crowd:
            assert s.cookies.get(COOKIE) == s.response_headers[SERVED_BY]  # the page's cookie names its process
            home, session_id = s.response_headers[SERVED_BY], s.session_id
            for _ in range(3):
                run = await reconnect(s)
                assert not run.errors, run.errors
                assert s.response_headers[SERVED_BY] == home and s.session_id == session_id
            await s.close()

    asyncio.run(scenario())


def test_a_reconnect_to_another_process_gets_a_fresh_session_and_the_same_view(hosting):
    async def scenario():
        s, run = await visit(hosting.url, f"seed=4242&view={CODE}")
        assert not run.errors and shows_seed(s, 4242), run.errors
        home = s.response_headers[SERVED_BY]
        other = {"lnorm1": "lnorm2", "lnorm2": "lnorm1"}[home]
        run = await s.change("seed", 4343.0)  # the control, and so the link, now say 4343
        assert not run.errors and shows_seed(s, 4343)
        link = list(s.query)
        assert ("seed", "4343") in link

        # its own process, its own session: kept with the seed it was set to, though the rerun's URL has none
        before = len(s.received)
        run = await reconnect(s, query=[(k, v) for k, v in link if k != "seed"])
        assert not run.errors and s.response_headers[SERVED_BY] == home and shows_seed(s, 4343, before)

        # its process dies: the reconnect goes to the other one, a fresh session, and the link gives the same view
        session_id = s.session_id
        os.kill(hosting.pid(int(home[-1])), signal.SIGKILL)
        before = len(s.received)
        run = await reconnect(s, query=link)
        assert not run.errors, run.errors
        assert s.response_headers[SERVED_BY] == other and s.session_id != session_id
        assert s.cookies[COOKIE] == other  # the proxy moved the visitor's cookie along
        assert shows_seed(s, 4343, before)
        await s.close()

        # started again, the process takes its visitors back
        hosting.run("restart", home[-1])
        await until_served_by(hosting.url, home)

    asyncio.run(scenario())
