"""lnorm_core.timing.report: load_report reads a good report back and refuses what is not one,
naming the row and the field."""

import json

import pytest

from lnorm_core import timing
from lnorm_core.errors import InputError


def good_report():
    row = {"device": "cpu", "kind": "layer", "impl": "native", "shape": [4, 64], "dtype": "float32",
           "median_s": 1e-5, "spread": 0.02, "gbps": 0.2, "numel": 256, "compile_s": None}
    return {"device": {"name": "cpu", "type": "cpu"}, "ceiling_gbps": 10.0, "datasheet_gbps": None,
            "results": [dict(row) for _ in range(5)]}


def edited(change):
    r = good_report()
    change(r)
    return json.dumps(r)


def test_a_good_report_loads():
    assert timing.load_report(json.dumps(good_report()))["ceiling_gbps"] == 10.0
    r = good_report()
    r["results"][0]["repeats_s"] = [3e-5, 1e-5, 0.9e-5]  # median_s 1e-5 among them
    assert timing.load_report(json.dumps(r))["results"][0]["repeats_s"] == [3e-5, 1e-5, 0.9e-5]


@pytest.mark.parametrize(("text", "message"), [
    ("not json {", "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
    ("[1, 2]", "must be a JSON object"),
    ("[" * 100_000, "not valid JSON"),
    ('{"device": {"name": "cpu", "type": "cpu"}, "results": []}', "no 'ceiling_gbps'"),
    (edited(lambda r: r.pop("results")), "no 'results'"),
    (edited(lambda r: r.update(device="cpu")), "'device' must be an object"),
    (edited(lambda r: r["device"].pop("type")), "device.type"),
    (edited(lambda r: r.update(ceiling_gbps=-1)), "ceiling_gbps must be a number >= 0"),
    (edited(lambda r: r.update(ceiling_gbps="fast")), "ceiling_gbps must be a number >= 0"),
    (edited(lambda r: r.update(results={"a": 1})), "'results' must be a list"),
    (edited(lambda r: r.update(truncated="yes")), "truncated"),
    (edited(lambda r: r["results"].__setitem__(2, [])), "row 2: must be an object"),
    (edited(lambda r: r["results"][3].update(median_s=-1e-5)), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][3].update(median_s=0)), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][3].update(median_s="1e-5")), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][3].update(median_s=True)), "row 3: median_s must be a positive number"),
    (edited(lambda r: r["results"][0].pop("gbps")), "row 0: has no 'gbps'"),
    (edited(lambda r: r["results"][1].update(kind="layernorm")), "row 1: kind must be one of"),
    (edited(lambda r: r["results"][1].update(impl="turbo")), "row 1: impl must be one of"),
    (edited(lambda r: r["results"][1].update(device="tpu")), "row 1: device must be one of"),
    (edited(lambda r: r["results"][1].update(dtype="int8")), "row 1: dtype must be one of"),
    (edited(lambda r: r["results"][4].update(shape="4x64")), "row 4: shape must be a list"),
    (edited(lambda r: r["results"][4].update(shape=[4, 0])), "row 4: shape must be a list"),
    (edited(lambda r: r["results"][4].update(numel=255)), "row 4: numel must be the product of shape"),
    (edited(lambda r: r["results"][4].update(spread=-0.1)), "row 4: spread must be a number >= 0"),
    (edited(lambda r: r["results"][4].update(compile_s="slow")), "row 4: compile_s"),
    (edited(lambda r: r["results"][2].update(num_groups=4)), "row 2: num_groups belongs to a group row"),
    (edited(lambda r: r["results"][2].update(kind="group", shape=[4, 64], num_groups=3)), "row 2: num_groups"),
    (edited(lambda r: r["results"][2].update(repeats_s=1e-5)), "row 2: repeats_s must be a list"),
    (edited(lambda r: r["results"][2].update(repeats_s=[])), "row 2: repeats_s must be a list"),
    (edited(lambda r: r["results"][2].update(repeats_s=[1e-5, -1e-5])), "row 2: repeats_s must be a list"),
    (edited(lambda r: r["results"][2].update(repeats_s=[2e-5, 3e-5])), "row 2: median_s .* within its repeats_s"),
])
def test_malformed_reports_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        timing.load_report(text)


def test_nan_and_infinity_are_refused():
    text = json.dumps(good_report()).replace('"median_s": 1e-05', '"median_s": NaN', 1)
    with pytest.raises(InputError, match="row 0: median_s"):
        timing.load_report(text)
    with pytest.raises(InputError, match="ceiling_gbps"):
        timing.load_report(json.dumps(good_report()).replace('"ceiling_gbps": 10.0', '"ceiling_gbps": Infinity'))


def test_huge_reports_are_refused():
    with pytest.raises(InputError, match="limit"):
        timing.load_report(" " * (timing.MAX_REPORT_BYTES + 1))
    with pytest.raises(InputError, match="limit"):
        timing.load_report(b" " * (timing.MAX_REPORT_BYTES + 1))
    r = good_report()
    r["results"] = r["results"][:1] * (timing.MAX_REPORT_ROWS + 1)
    with pytest.raises(InputError, match="rows; the limit"):
        timing.load_report(json.dumps(r))
    with pytest.raises(InputError, match="JSON text"):
        timing.load_report(None)
