"""Twenty people at once on one fresh server process, spoken to in Streamlit's own protocol (bench/st_session.py).

Every session has two seeds of its own. Half open Pitfalls' "Every mistake" tab, which prints torch's
output, turn to their second seed, to another tab and back; they must receive the rows torch computes
(here, with torch.nn.functional) for their own seeds. The other half open the Explorer's "Input → output"
tab (its figure, its table), then the code that reproduces the view, whose torch.manual_seed(...) names
the seed, then their second seed; they must receive their own two seeds' lines. Every run ends with no
error, and no session receives what belongs to another. The sessions start within two seconds of each
other on a server nobody has visited yet, as a lecture's link does: that is how a race between sessions'
first imports was found (one session's figure met the pandas another session's table was importing).
Nothing here asserts a time.
"""

import asyncio
import re
from urllib.parse import urlencode

import pytest
import torch
import torch.nn.functional as F
from serving import bench_module, streamlit_server

SESSIONS = 20
SHAPE = (3, 4)
st_session = bench_module("st_session")
load = bench_module("load")


@pytest.fixture(scope="module")
def server():
    """A fresh server for this module: the first test meets it cold."""
    with streamlit_server() as srv:
        yield srv


def seeds_of(i):
    """Session i's two seeds: different from every other session's."""
    return 1000 + 37 * i, 500_000 + 41 * i


def expected(i):
    """What session i, and no other, must receive: patterns of its own seeds' text."""
    if i % 2:
        return [re.compile(re.escape(f"torch.manual_seed({seed})") + r"\D") for seed in seeds_of(i)]
    return [p for seed in seeds_of(i) for p in torch_rows(seed)]


def torch_rows(seed):
    """torch's LayerNorm((4,)) output on torch.manual_seed(seed); torch.randn(3, 4), each row as a pattern of its
    four numbers with 4 decimals (the page prints them so); rows with a number within 0.001 of 0 are left out,
    where a print could say -0.0000."""
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed)).double()
    y = F.layer_norm(x, (SHAPE[-1],)).numpy()
    return [re.compile(r",\s*".join(re.escape(f"{v:.4f}") for v in row)) for row in y if abs(row).min() >= 1e-3]


async def visit(url, i):
    """Session i's visit (see the module's docstring); (what it received, its runs)."""
    await asyncio.sleep(0.1 * i)  # arriving within two seconds of each other
    first, second = seeds_of(i)
    s = st_session.Session(url, keep=True)
    if i % 2:
        runs = [await s.open("explorer", urlencode({"seed": first, "shape": "3, 4", "view": "Input → output"}))]
        steps = (("view", "Reproduce in PyTorch"), ("seed", float(second)), ("view", "Input → output"))
    else:
        runs = [await s.open("pitfalls", urlencode({"seed": first, "shape": "3, 4", "part": "Every mistake"}))]
        steps = (("seed", float(second)), ("part", "Your row"), ("part", "Every mistake"))
    for key, value in steps:
        runs.append(await s.change(key, value))
    await s.close()
    return b"".join(s.received).decode("utf-8", "replace"), runs


async def crowd(url):
    return await asyncio.gather(*(visit(url, i) for i in range(SESSIONS)))


def test_twenty_sessions_at_once_each_get_their_own_numbers_and_no_one_elses(server):
    results = asyncio.run(crowd(server.url))
    errors = [(i, e) for i, (_, runs) in enumerate(results) for r in runs for e in r.errors]
    assert not errors, f"{errors[:5]}\n--- the server's log ---\n{server.log()}"
    own = [expected(i) for i in range(SESSIONS)]
    for i, (text, _) in enumerate(results):
        missing = [p.pattern for p in own[i] if not p.search(text)]
        assert not missing, f"session {i} did not receive its own numbers: {missing}"
        leaked = [(j, p.pattern) for j, patterns in enumerate(own) if j != i for p in patterns if p.search(text)]
        assert not leaked, f"session {i} received another session's numbers: {leaked}"


def test_the_load_bench_measures_a_level(server):
    """bench/load.py on this server, three sessions: runs counted, no error, the server's CPU and memory read."""
    target = load.Target("lnorm", server.url, [server.pid])
    level = asyncio.run(load.run_level(target, 3, hold_s=8, seed=0))
    assert not level.errors, level.errors
    assert level.runs > 0 and level.actions
    assert level.cpu_s is not None and level.cpu_s > 0
    assert level.rss_mib is not None and level.rss_mib > 50
    assert load.row(level, [level]).startswith("lnorm")
