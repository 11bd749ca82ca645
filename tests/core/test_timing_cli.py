"""python -m lnorm_core.timing: the table, the JSON report read back by load_report, the progress bar,
and a run with none of the app's packages installed.
"""

import json
import socket
import subprocess
import sys
from pathlib import Path

from lnorm_core import timing
from lnorm_core.timing import __main__ as cli

ROOT = Path(__file__).resolve().parents[2]
TINY = 2**8  # the smallest size timing accepts
FAST = 0.002  # seconds per measurement: enough for a positive median, not for a figure


def test_cli_json_round_trips_through_load_report(tmp_path):
    path = tmp_path / "report.json"
    args = ["--quick", "--json", str(path), "--kinds", "layer,batch", "--max-elements", str(2**10),
            "--min-run-time", str(FAST), "--repeats", "2"]
    assert cli.main(args) == 0
    text = path.read_text(encoding="utf-8")
    loaded = timing.load_report(text)
    assert loaded == json.loads(text)
    assert timing.load_report(text.encode("utf-8")) == loaded
    assert set(loaded["device"]) >= {"name", "type", "torch_version", "num_threads", "date"}
    assert "hostname" not in loaded["device"]
    host = socket.gethostname()
    if len(host) >= 6:
        assert host not in text
    assert isinstance(loaded["ceiling_gbps"], float) and loaded["ceiling_gbps"] > 0
    assert loaded["datasheet_gbps"] is None  # a CPU has none
    kinds = {r["kind"] for r in loaded["results"]}
    assert kinds == {"layer", "batch", "copy"}
    assert {r["numel"] for r in loaded["results"]} == {2**10}
    assert all(len(r["repeats_s"]) == 2 for r in loaded["results"])


def test_the_harness_runs_without_the_apps_ui_packages():
    # `python -m lnorm_core.timing` on a GPU machine that has torch and numpy but none of the app's UI packages
    code = (
        "import runpy, sys\n"
        "for name in ('streamlit', 'plotly', 'pandas'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        f"sys.argv = ['lnorm_core.timing', '--quick', '--kinds', 'layer', '--impls', 'native,numpy', "
        f"'--max-elements', '{TINY}', '--min-run-time', '{FAST}']\n"
        "runpy.run_module('lnorm_core.timing', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "layer native" in " ".join(done.stdout.split()) and "layer numpy" in " ".join(done.stdout.split())


def test_terminal_progress_draws_on_stderr(capsys):
    cli.terminal_progress(3, 12, "cpu float32 layer native (16, 1024)")
    cli.terminal_progress(12, 12, "done")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3/12" in captured.err and captured.err.startswith("\r[") and captured.err.endswith("\n")


def test_cli_prints_a_table(capsys):
    assert cli.main(["--quick", "--kinds", "instance", "--impls", "native,manual",
                        "--max-elements", str(TINY), "--min-run-time", str(FAST)]) == 0
    out = capsys.readouterr().out
    assert "% copy" in out and "median µs" in out
    assert "instance native" in " ".join(out.split())
    assert "copy (the ceiling)" in out


