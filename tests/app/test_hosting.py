"""Ready for a shared server: no global state, bounded caches, limits named in refusals.

Many sessions are threads of one process: a session's numbers must not depend on
what another session does to torch's or numpy's global generators at the same time.
"""

import ast
import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import lnorm_core as lc
from lnorm_app.cache import BoundedCache
from lnorm_app.config import Config
from lnorm_app.models.explorer import explore

ROOT = Path(__file__).resolve().parents[2]


def _expected_draw(shape, seed):
    """What torch.manual_seed(seed); torch.randn(*shape) gives, without touching the caller's generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.randn(*shape).double().numpy()


def test_sessions_get_their_own_numbers_while_another_thread_reseeds_the_globals():
    seeds = list(range(8))
    shape = (16, 32)
    expected = {s: _expected_draw(shape, s) for s in seeds}
    expected_y = {s: torch.nn.functional.layer_norm(torch.tensor(expected[s]), (32,)).numpy() for s in seeds}
    stop = threading.Event()
    failures = []

    def vandal():
        k = 0
        while not stop.is_set():
            torch.manual_seed(k)  # what a careless neighbour (or a library) might do
            np.random.seed(k % 2**32)
            torch.randn(64)
            k += 1

    def session(seed):
        for _ in range(20):
            x = lc.seeded_tensor(shape, seed)
            if not np.array_equal(x, expected[seed]):
                failures.append(("draw", seed))
            cfg = Config(shape=shape, seed=seed, normalized_shape=(32,), kind="layer")
            y = explore(cfg).f.y
            if not np.allclose(y, expected_y[seed], atol=1e-9):
                failures.append(("explore", seed))

    noise = threading.Thread(target=vandal)
    noise.start()
    workers = [threading.Thread(target=session, args=(s,)) for s in seeds]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
    finally:
        stop.set()
        noise.join()
    assert not failures, failures[:5]


def test_cached_results_cannot_be_changed_by_one_session_for_another():
    result = explore(Config(seed=123))
    with pytest.raises(ValueError):
        result.x[0, 0, 0] = 42.0  # read-only: the next session gets the same numbers
    with pytest.raises(ValueError):
        result.f.y[...] = 0.0


def test_bounded_cache_keeps_its_bounds_in_entries_and_bytes():
    cache = BoundedCache(max_entries=3, max_bytes=10_000)
    for k in range(10):
        cache.get_or_compute(k, lambda: np.zeros(100))  # 800 bytes each
    assert cache.stats() == (3, 2400)
    cache.get_or_compute("big", lambda: np.zeros(5000))  # 40 kB: returned but never kept
    assert cache.stats() == (3, 2400)
    for k in range(10, 30):
        cache.get_or_compute(k, lambda: np.zeros(600))  # 4.8 kB each: at most 2 fit
    entries, size = cache.stats()
    assert entries == 2 and size <= 10_000
    calls = []
    cache.get_or_compute(29, lambda: calls.append(1))  # the most recent one is still there
    assert not calls


def test_a_cached_result_of_many_parts_is_counted_and_frozen_to_its_last_array():
    """The same-pooling list's shape of result: arrays in dataclasses in dicts in lists, beside specs and text."""
    @dataclasses.dataclass(frozen=True)
    class Gap:
        what: str
        weight: np.ndarray

    arrays = [np.zeros(10), np.zeros((2, 3), np.float32), np.arange(4)]  # 80 + 24 + 32 bytes
    parts = {"no affine": Gap("no affine", arrays[0]), "affine": Gap("affine", arrays[1])}
    result = [(lc.NormSpec("layer", normalized_shape=(4,)), parts), ("text", arrays[2]), 3, None]
    cache = BoundedCache(max_entries=3, max_bytes=10_000)
    assert cache.get_or_compute("key", lambda: result) is result
    assert cache.stats() == (1, 136)
    assert not any(a.flags.writeable for a in arrays)


def test_explore_cache_stays_bounded_over_many_configs():
    from lnorm_app.models import explorer as ex

    for seed in range(40):
        explore(Config(seed=1000 + seed))
    entries, size = ex._explore_cache.stats()
    assert entries <= ex._explore_cache.max_entries and size <= ex._explore_cache.max_bytes


def test_every_results_cache_together_stays_within_the_servers_budget():
    """The caches of every page model hold at most ~250 MiB together (the hosted demo has 1 GiB, torch ~300)."""
    import importlib
    import pkgutil

    import lnorm_app.models as models

    caches = {}
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"lnorm_app.models.{info.name}")
        caches.update({f"{info.name}.{name}": c for name, c in vars(module).items() if isinstance(c, BoundedCache)})
    assert len(caches) >= 9  # explore, same pooling, compare, sweep, pitfalls, outputs, finder, pooling, steps
    assert sum(c.max_bytes for c in caches.values()) <= 256 << 20, {k: c.max_bytes >> 20 for k, c in caches.items()}


@pytest.mark.parametrize("call,words", [
    (lambda: lc.check_shape((2048, 2048)), "1,048,576"),
    (lambda: lc.check_shape((1,) * (lc.MAX_DIMS + 1)), str(lc.MAX_DIMS)),
    (lambda: lc.parse_tensor("1," * (lc.MAX_PASTE_CHARS // 2 + 1)), f"{lc.MAX_PASTE_CHARS:,}"),
    (lambda: lc.parse_tensor("[" * (lc.MAX_NESTING + 1) + "1" + "]" * (lc.MAX_NESTING + 1)), str(lc.MAX_NESTING)),
    (lambda: lc.seeded_tensor((2, -3), 0), "at least 1"),
    (lambda: lc.seeded_tensor((2, 3), -1), "seed"),
])
def test_limits_are_named_in_the_refusal(call, words):
    with pytest.raises(lc.InputError) as e:
        call()
    assert words in str(e.value).replace("_", ",") or words in str(e.value)


def test_no_global_state_is_touched_by_what_a_session_runs(monkeypatch):
    """Every page computation runs with the process-wide setters booby-trapped."""
    from lnorm_app.models import batch_steps, compare, explorer, finder, pitfalls, pooling

    touched = []
    for owner, name in ((torch, "manual_seed"), (torch, "seed"), (np.random, "seed"), (torch, "set_num_threads"),
                        (torch, "set_default_dtype"), (torch.random, "manual_seed")):
        monkeypatch.setattr(owner, name, lambda *a, _n=name, **k: touched.append(_n))
    for kind, extra in (("layer", {}), ("rms", {}), ("batch", {}), ("instance", {"affine": False}),
                        ("group", {"num_groups": 3})):
        cfg = Config(seed=7, shape=(2, 3, 4), kind=kind, init="random", **extra)
        explorer.explore(cfg)
        compare.compare_with_torch(cfg, "bfloat16")
        pitfalls.pitfalls(cfg)
        finder.finder(cfg, "")
        pooling.pooling(cfg, pooling.WHOLE_SAMPLE, (0, 0, 0))
    batch_steps.batch_steps(Config(seed=7, kind="batch"), 3)
    compare.variance_sweep(1e4, "float32", seed=5)
    assert not touched, touched


def test_the_servers_settings_are_read_by_streamlit_as_written():
    """.streamlit/config.toml, as Streamlit itself parses it from the repository root (in a child process, so
    this process's options stay as the other tests set them): a misspelt key or section is ignored, not refused."""
    names = ["runner.postScriptGC", "runner.magicEnabled", "server.fileWatcherType", "server.runOnSave", "client.showErrorDetails",
             "client.toolbarMode", "server.maxUploadSize", "server.maxMessageSize", "browser.gatherUsageStats"]
    code = ("import json, sys; from streamlit import config; config.get_config_options(force_reparse=True); "
            "print(json.dumps({n: config.get_option(n) for n in sys.argv[1:]}))")
    out = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    read = json.loads(out.stdout.strip().splitlines()[-1])
    # no forced full collection after each run: with torch loaded it holds the GIL ~150 ms on every rerun
    assert read["runner.postScriptGC"] is False
    # pages compiled in C, not through the ast module: every new session makes Streamlit compile them again
    assert read["runner.magicEnabled"] is False
    assert read["server.fileWatcherType"] == "none" and read["server.runOnSave"] is False
    assert read["client.showErrorDetails"] == "none" and read["client.toolbarMode"] == "viewer"
    assert read["server.maxUploadSize"] == 5 and read["server.maxMessageSize"] == 50
    assert read["browser.gatherUsageStats"] is False


def test_no_page_relies_on_streamlit_magic():
    """Magic is off (.streamlit/config.toml): a bare expression in a page would draw nothing. Every statement that is
    an expression in app.py and views/ is a call (or a docstring, the first statement of its body)."""
    drawn_by_magic = []
    for path in [ROOT / "app.py", *sorted((ROOT / "views").rglob("*.py"))]:
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0]) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
        drawn_by_magic += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                           if isinstance(node, ast.Expr) and not isinstance(node.value, (ast.Call, ast.Await))
                           and id(node) not in docstrings]
    assert not drawn_by_magic
