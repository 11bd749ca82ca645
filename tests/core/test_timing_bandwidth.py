"""lnorm_core.timing.bandwidth: the bytes an ideal kernel moves and the roofline under them, by hand."""

import pytest

from lnorm_core.errors import InputError
from lnorm_core.timing import bandwidth, published


@pytest.fixture(scope="module")
def rows():
    return published.load_published()


def test_bytes_moved_by_hand():
    assert bandwidth.bytes_moved(4096 * 1024, 4, "forward") == 33_554_432
    assert bandwidth.bytes_moved(1000, 2, "backward") == 6000
    assert bandwidth.bytes_moved(1000, 2, "full") == 10000
    for bad in ((0, 4, "forward"), (10, 4, "sideways"), (10, 2.0, "forward"), (-1, 4, "full")):
        with pytest.raises(InputError):
            bandwidth.bytes_moved(*bad)


def test_roofline_time_by_hand():
    # 8 MiB at H100 SXM's 3350 GB/s: 8,388,608 / 3.35e12 s = 2.504 us
    assert bandwidth.roofline_time(8 * 2**20, 3350) == pytest.approx(8388608 / 3.35e12, rel=1e-15)
    assert bandwidth.roofline_time(8 * 2**20, 3350) == pytest.approx(2.504062e-6, rel=1e-6)
    assert bandwidth.roofline_time(0, 1935) == 0.0
    for bad in ((-1, 3350), (1, 0), (1, float("nan")), (float("inf"), 3350)):
        with pytest.raises(InputError):
            bandwidth.roofline_time(*bad)


def test_no_measured_time_beats_the_roofline(rows):
    for m in rows:
        assert m.time_s >= bandwidth.roofline_time(m.bytes_moved, m.peak_gbps), m.row
        assert m.pct_of_peak <= 100, m.row


