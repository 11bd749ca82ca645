"""lnorm_app.models.timing_run: a run from the page keeps its limits, takes turns with other visitors' runs,
and says when its numbers are not to be trusted, with the numbers that raised the doubt."""

import threading

import pytest

from lnorm_app.models import timing_run
from lnorm_core import InputError, timing

from timing_kit import repeated, run_report


def test_page_sweep_and_its_limit():
    assert timing_run.page_sweep(2**8, 2**12) == (2**8, 2**10, 2**12)
    assert timing_run.page_sweep(2**20, 2**12) == (2**12, 2**14, 2**16, 2**18, 2**20)
    assert max(timing_run.PAGE_SIZES) == timing_run.PAGE_MAX_ELEMENTS == 2**22
    with pytest.raises(InputError, match="at most"):
        timing_run.page_sweep(2**8, 2**24)


def test_measurement_count_and_shapes_table():
    assert timing_run.measurement_count(["layer", "rms"], ["native", "manual"], ["cpu"], (256, 1024)) == 2 * (1 + 4)
    assert timing_run.measurement_count(["layer"], ["native"], ["cpu", "cuda"], (256,)) == 2 + 3
    rows = timing_run.shapes_table(["layer", "batch"], (2**12,))
    assert rows == [{"elements": "4,096 (2^12)", "LayerNorm": "(4, 1024)", "BatchNorm": "(8, 64, 2, 4)"}]


def test_run_in_turn_says_it_waits_while_another_run_holds_the_lock():
    waited = threading.Event()
    result = {}

    def visitor():
        result["report"] = timing_run.run_in_turn(on_wait=waited.set, kinds="layer", impls="native", devices="cpu",
                                          sizes=(256,), min_run_time=0.002)

    with timing.RUN_LOCK:  # another visitor's run
        assert timing_run.busy()
        t = threading.Thread(target=visitor)
        t.start()
        assert waited.wait(30), "the waiting visitor was told that it waits"
        assert "report" not in result  # and it did wait
    t.join(60)
    assert not timing_run.busy()
    assert {(r["kind"], r["impl"]) for r in result["report"]["results"]} == {("copy", "copy"), ("layer", "native")}


def test_run_in_turn_keeps_the_page_limits():
    with pytest.raises(InputError, match="20 s"):
        timing_run.run_in_turn(kinds="layer", sizes=(256,), time_budget_s=60)
    with pytest.raises(InputError, match="over the limit"):
        timing_run.run_in_turn(kinds="layer", impls="native", devices="cpu", sizes=(2**24,), max_elements=2**24)


def test_a_steady_run_is_called_steady():
    rows = [repeated("layer", "native", 4096, [1.0e-5, 1.1e-5, 1.2e-5]),
            repeated("copy", "copy", 4096, [2e-6, 2e-6, 2.1e-6], gbps=40.0)]
    recorded = run_report([repeated("copy", "copy", 4096, [2e-6, 2e-6, 2e-6], gbps=45.0)])
    v = timing_run.steadiness(run_report(rows), recorded)
    assert v.steady and v.findings == () and v.repeats == 3 and v.threads == 2 and v.measurements == 2


def test_the_noisy_run_of_the_issue_is_flagged_with_its_numbers():
    # the same call took 100 µs, 3,414 µs and 12.8 µs: 3414 / 100 = 34x the median, 100 / 12.8 = 7.8x under it
    rows = [repeated("layer", "native", 4096, [100e-6, 3414e-6, 12.8e-6]),
            repeated("layer", "manual", 4096, [1e-4, 1.1e-4, 1.2e-4], spread=0.6),  # blocks vary by 60%
            repeated("copy", "copy", 4096, [2e-6, 2e-6, 2e-6], gbps=10.0)]
    recorded = run_report([repeated("copy", "copy", 4096, [1e-6, 1e-6, 1e-6], gbps=40.0)])
    v = timing_run.steadiness(run_report(rows, load=6.3, threads=2), recorded)
    assert not v.steady
    found = {f.what: f for f in v.findings}
    assert set(found) == {"outliers", "spread", "ceiling", "load"}
    assert "1 of 3 measurements" in found["outliers"].text and "34×" in found["outliers"].text
    assert "100 µs, 3,414 µs, 12.8 µs" in found["outliers"].text
    assert found["outliers"].rows == (("cpu", "layer", "native", 4096),)
    assert "60%" in found["spread"].text and found["spread"].rows == (("cpu", "layer", "manual", 4096),)
    assert "25%" in found["ceiling"].text and "10 GB/s against 40 GB/s" in found["ceiling"].text  # 10 / 40
    assert "6.3" in found["load"].text and "2 threads" in found["load"].text
    assert timing_run.flagged(v) == {("cpu", "layer", "native", 4096), ("cpu", "layer", "manual", 4096),
                             ("cpu", "copy", "copy", 4096)}


def test_two_repeats_cannot_outvote_each_other():
    rows = [repeated("layer", "native", 4096, [1e-5, 3e-5])]  # 3x apart, but which one is wrong?
    assert timing_run.steadiness(run_report(rows)).steady
