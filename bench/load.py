"""Many visitors at once, in Streamlit's own protocol: lnorm against a bare page of its shape, in one run.

    python bench/load.py                  # 1, 50, 100 and 200 sessions, lnorm and bench/bare_app.py
    python bench/load.py --short          # 1 and 20 sessions, short windows: a quick check (about 2.5 minutes)
    python bench/load.py --url http://127.0.0.1:8800 --pid-file /tmp/lnorm-hosting/pids   # a running server or proxy

Without --url it starts two servers on loopback with the same .streamlit/config.toml (post-script
garbage collection off): lnorm (`streamlit run app.py`) and the bare page (`bench/bare_app.py`: the
same router, lnorm's sidebar controls under the same keys, tabs, one plotly chart given as a dict,
nothing computed). No browser: each visitor is a websocket speaking Streamlit's protocol
(bench/st_session.py), doing what bench/crowd.py says: arriving by a link, changing a control every
1.5 to 4.5 s on every page (a new seed, a preset, a tab, the layer, a pasted tensor, the finder
with a row, a mistake's expander, another page, the largest tensor now and then), leaving after a
few changes while another arrives.

For each number of sessions, lnorm and the bare page take turns (which goes first alternates).
The sessions arrive spread over the ramp (0.1 s apart, at least 5 s in all); then a window of
--hold seconds is measured (a lone session: at least 90 s, for enough changes; 30 with --short):

  interaction  one changed control: from sending the rerun to its script_finished, in ms;
  first open   a visitor arriving: the GET of the page, the websocket and the first run;
  errors       exceptions, "Something went wrong", a page not found, a dropped socket, a run that
               did not finish within 120 s (over the whole level, ramp included);
  CPU ms/run   the server's CPU time over the window (/proc/PID/stat, user + system, every process
               given), divided by the runs that finished in it;
  RSS MiB      the server's resident memory at the end of the window (all its processes).

Every run is bounded: --time-limit (default 30 min) skips the levels that no longer fit, and no
run waits more than 120 s. Nothing here asserts; tests/server checks that it works.
"""

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its neighbours import by name
from crowd import PAGES, Visitor  # noqa: E402
from page_load import HOST, ROOT, free_port, machine_line, start_server, stop_server, wait_healthy  # noqa: E402
from st_session import Session  # noqa: E402

LEVELS = (1, 50, 100, 200)
SHORT_LEVELS = (1, 20)
LONE_HOLD_S = 90  # a lone session's window: enough changes for its percentiles (--short: 30)
SETTLE_S = 5  # after the last arrival, before the window opens
CLOSE_S = 10  # for the visitors to close their sockets after the window
TICK = os.sysconf("SC_CLK_TCK")
BARE = "bare"


@dataclass
class Target:
    """A server (or a proxy) to load: its name in the table, its URL, the processes whose CPU is read."""

    name: str
    url: str
    pids: list = field(default_factory=list)


@dataclass
class Level:
    """What one number of sessions on one target gave."""

    target: str
    sessions: int
    actions: list = field(default_factory=list)  # (what, seconds) of the changes that ended in the window
    opens: list = field(default_factory=list)  # seconds of the first opens that ended in the window
    errors: list = field(default_factory=list)  # (what, message) over the whole level
    runs: int = 0
    cpu_s: float | None = None
    rss_mib: float | None = None
    client_cpu_s: float = 0.0


def cpu_seconds(pids):
    """User + system CPU seconds of these processes (all their threads), or None if one is gone."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def rss_mib(pids):
    """Resident memory of these processes in MiB, or None if one is gone."""
    total = 0
    for pid in pids:
        try:
            line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return None
        total += int(line.split()[1])
    return total / 1024


class Window:
    """The measured stretch of a level: the runs that end in it count."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def holds(self, t):
        return self.start <= t <= self.end


async def pause(stop, seconds):
    """Sleep, or less if the level stops meanwhile."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def record(level, window, kind, what, run):
    for e in run.errors:
        level.errors.append((what, e))
    if window.holds(time.monotonic()) and not run.errors:
        level.runs += 1
        (level.opens if kind == "open" else level.actions).append(
            run.seconds if kind == "open" else (what, run.seconds))


async def visit(number, target, level, window, stop, arrive_s, seed):
    """One place in the crowd: a visitor arrives, changes controls, leaves; another arrives; until stop."""
    visitor = Visitor(number, seed)
    await pause(stop, arrive_s)
    while not stop.is_set():
        session = Session(target.url)
        what, page, query = visitor.first_link()
        try:
            run = await session.open(page, query)
            record(level, window, "open", f"open {what}", run)
            for _ in range(visitor.stay() if not run.errors else 0):
                await pause(stop, visitor.pause())
                if stop.is_set():
                    break
                what, how = visitor.next(session)
                run = await (session.change(*how[1:]) if how[0] == "set" else session.goto(how[1]))
                record(level, window, "action", what, run)
                if run.errors:
                    break
        finally:
            with contextlib.suppress(Exception):
                await session.close()
        await pause(stop, visitor.pause())


async def run_level(target, sessions, hold_s, seed, lone_hold_s=LONE_HOLD_S):
    """One level: `sessions` places in the crowd on target, the window measured; the Level."""
    level = Level(target.name, sessions)
    ramp = max(5.0, 0.1 * sessions)
    hold = max(hold_s, lone_hold_s) if sessions == 1 else hold_s
    now = time.monotonic()
    window = Window(now + ramp + SETTLE_S, now + ramp + SETTLE_S + hold)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(visit(i, target, level, window, stop, ramp * i / sessions, seed))
             for i in range(sessions)]
    await asyncio.sleep(window.start - time.monotonic())
    cpu0, client0 = cpu_seconds(target.pids), time.process_time()
    await asyncio.sleep(window.end - time.monotonic())
    cpu1, level.client_cpu_s = cpu_seconds(target.pids), time.process_time() - client0
    level.rss_mib = rss_mib(target.pids)
    level.cpu_s = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    stop.set()
    done, pending = await asyncio.wait(tasks, timeout=CLOSE_S)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        if t.exception() is not None:
            level.errors.append(("visitor", f"{type(t.exception()).__name__}: {t.exception()}"))
    return level


async def warm_up(target):
    """Open every page and each of its tabs once, unmeasured: imports and first computations are not what the
    levels measure."""
    for page in PAGES:
        s = Session(target.url)
        runs = [await s.open(page)]
        for key, w in list(s.widgets.items()):
            for label in w.options[1:] if w.kind == "tab_container" else ():
                if key in s.widgets:  # a tab inside another tab is gone once the outer one turns
                    runs.append(await s.change(key, label))
        await s.close()
        errors = [e for r in runs for e in r.errors]
        if errors:
            raise RuntimeError(f"{target.name} {page}: {errors}")


def pct(values, q):
    """The q-th percentile (0-100) of values, nearest rank; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(value, width=6):
    return "-".rjust(width) if value is None else f"{value * 1000:{width}.0f}"


def cpu_per_run(level):
    return None if level.cpu_s is None or not level.runs else level.cpu_s / level.runs


HEAD = (f"{'app':<8}{'sessions':>9}{'runs':>7}{'errors':>7}   {'interaction ms':<20} {'first open ms':<20}"
        f"{'CPU ms/run':>11}{'x bare':>7}{'RSS MiB':>8}{'p95 x lone':>11}",
        f"{'':<31}   {'p50':>6}{'p95':>7}{'p99':>7} {'p50':>6}{'p95':>7}{'p99':>7}")


def row(level, levels):
    """One line of the table; ratios against the bare page at the same size and against a lone session."""
    times = [s for _, s in level.actions]
    cpu = cpu_per_run(level)
    bare = next((x for x in levels if x.target == BARE and x.sessions == level.sessions), None)
    lone = next((x for x in levels if x.target == level.target and x.sessions == 1), None)
    x_bare = cpu / cpu_per_run(bare) if cpu and bare and cpu_per_run(bare) and level.target != BARE else None
    lone_p95 = pct([s for _, s in lone.actions], 95) if lone else None
    x_lone = pct(times, 95) / lone_p95 if lone_p95 and times else None
    return (f"{level.target:<8}{level.sessions:>9}{level.runs:>7}{len(level.errors):>7}   "
            f"{ms(pct(times, 50))}{ms(pct(times, 95), 7)}{ms(pct(times, 99), 7)} "
            f"{ms(pct(level.opens, 50))}{ms(pct(level.opens, 95), 7)}{ms(pct(level.opens, 99), 7)}"
            f"{'-' if cpu is None else f'{cpu * 1000:.1f}':>11}{'-' if x_bare is None else f'{x_bare:.2f}':>7}"
            f"{'-' if level.rss_mib is None else f'{level.rss_mib:.0f}':>8}"
            f"{'-' if x_lone is None else f'{x_lone:.2f}':>11}")


def by_action(levels, sessions):
    """At one size: each kind of change, how many ended in the window and their p50/p95, per target."""
    here = [x for x in levels if x.sessions == sessions]
    whats = sorted({w for x in here for w, _ in x.actions})
    lines = [f"# each change at {sessions} sessions, ms: " + "   ".join(f"{x.target} n p50 p95" for x in here)]
    for what in whats:
        cells = []
        for x in here:
            t = [s for w, s in x.actions if w == what]
            cells.append(f"{len(t):>6}{ms(pct(t, 50))}{ms(pct(t, 95))}")
        lines.append(f"#   {what:<8}" + "  ".join(cells))
    return lines


def error_lines(levels):
    lines = []
    for x in levels:
        seen = {}
        for what, e in x.errors:
            seen.setdefault(f"{what}: {e}", 0)
            seen[f"{what}: {e}"] += 1
        lines += [f"# {x.target} at {x.sessions}: {n} x {e}" for e, n in list(seen.items())[:8]]
    return lines or ["# no errors"]


async def measure(targets, args):
    """Every level on every target, in turn, within the time limit; the table as it goes."""
    deadline = time.monotonic() + args.time_limit
    for t in targets:
        await warm_up(t)
    print("\n".join(HEAD), flush=True)
    levels = []
    for i, n in enumerate(args.levels):
        for t in targets if i % 2 == 0 else targets[::-1]:
            needed = max(5.0, 0.1 * n) + SETTLE_S + (max(args.hold, args.lone_hold) if n == 1 else args.hold) + CLOSE_S
            if time.monotonic() + needed > deadline:
                print(f"# {t.name} at {n} sessions: skipped, the time limit ({args.time_limit:.0f} s) is near",
                      flush=True)
                continue
            levels.append(await run_level(t, n, args.hold, args.seed, args.lone_hold))
            print(row(levels[-1], levels), flush=True)
            await asyncio.sleep(2)
    if BARE in {t.name for t in targets}:
        print("# again, with every ratio against the bare page of the same size:")
        for x in levels:
            print(row(x, levels))
    runs = sum(x.runs for x in levels)
    client = sum(x.client_cpu_s for x in levels)
    print(f"# this client's own CPU: {client / runs * 1000 if runs else 0:.1f} ms per run (it shares the cores)")
    if levels:
        print("\n".join(by_action(levels, max(x.sessions for x in levels))))
    print("\n".join(error_lines(levels)))


@contextlib.contextmanager
def local_servers(port_base):
    """lnorm and the bare page on loopback, up and healthy: the two Targets; stopped after."""
    ports = (port_base, port_base + 1) if port_base else (free_port(), free_port())
    with contextlib.ExitStack() as stack:
        targets, procs = [], []
        try:
            for (name, script), port in zip((("lnorm", ROOT / "app.py"), (BARE, ROOT / "bench" / "bare_app.py")),
                                            ports):
                log = stack.enter_context(tempfile.TemporaryFile(mode="w+"))
                proc = start_server(script, port, log)
                procs.append(proc)
                url = f"http://{HOST}:{port}"
                wait_healthy(url, proc, log)
                targets.append(Target(name, url, [proc.pid]))
            yield targets
        finally:
            for proc in procs:
                stop_server(proc)


def pids_of(values, files):
    pids = [int(p) for p in values or ()]
    for f in files or ():
        pids += [int(x) for x in Path(f).read_text().split()]
    return pids


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default=None, help="numbers of sessions, comma-separated (default 1,50,100,200)")
    ap.add_argument("--hold", type=float, default=None, help="seconds measured per level (default 60; --short 15)")
    ap.add_argument("--short", action="store_true", help="1 and 20 sessions, 15 s windows: a quick check")
    ap.add_argument("--time-limit", type=float, default=1800, help="seconds for the whole run (default 1800)")
    ap.add_argument("--seed", type=int, default=0, help="the visitors' random streams")
    ap.add_argument("--port-base", type=int, default=None, help="lnorm on this port, the bare page on the next")
    ap.add_argument("--url", help="load this running server or proxy instead of starting lnorm")
    ap.add_argument("--pid", action="append", help="with --url: a server process whose CPU and RSS are read")
    ap.add_argument("--pid-file", action="append", help="with --url: a file of such process ids")
    ap.add_argument("--name", default="lnorm", help="with --url: its name in the table")
    ap.add_argument("--bare-url", help="with --url: a running bare page to load side by side")
    ap.add_argument("--bare-pid", action="append", help="with --bare-url: its process id")
    args = ap.parse_args(argv)
    args.levels = tuple(int(n) for n in args.levels.split(",")) if args.levels else (
        SHORT_LEVELS if args.short else LEVELS)
    if not all(1 <= n <= 1000 for n in args.levels):
        ap.error("each level is 1 to 1000 sessions")
    args.hold = args.hold if args.hold is not None else (15.0 if args.short else 60.0)
    args.lone_hold = 30.0 if args.short else LONE_HOLD_S
    args.time_limit = max(60.0, min(args.time_limit, 4 * 3600.0))
    return args


def main(argv=None):
    args = parse_args(argv)
    print(f"# {shlex.join(['python', 'bench/load.py', *(sys.argv[1:] if argv is None else argv)])}")
    print(machine_line())
    print(f"# levels {', '.join(map(str, args.levels))} sessions; window {args.hold:g} s (a lone session "
          f"{max(args.hold, args.lone_hold):g} s); visitors: bench/crowd.py, seed {args.seed}", flush=True)
    if args.url:
        targets = [Target(args.name, args.url.rstrip("/"), pids_of(args.pid, args.pid_file))]
        if args.bare_url:
            targets.append(Target(BARE, args.bare_url.rstrip("/"), pids_of(args.bare_pid, None)))
        asyncio.run(measure(targets, args))
        return
    with local_servers(args.port_base) as targets:
        asyncio.run(measure(targets, args))


if __name__ == "__main__":
    main()
