"""The library installs as a library: `pip install .` into a fresh virtual environment, without the app.

pyproject.toml declares numpy and torch (pinned as in requirements.txt) for lnorm_core and puts the
app's packages in the `app` extra. Installed that way, lnorm_core imports and computes torch's
numbers, and neither Streamlit nor plotly is there. The install takes a minute (torch's CPU wheel).
"""

import json
import shutil
import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib.util, json
import numpy as np
import torch
import lnorm_core as lc
from lnorm_core import timing

x = lc.seeded_tensor((2, 3, 4), 0)
spec = lc.NormSpec("layer", normalized_shape=(4,))
mine = lc.manual_forward(spec, x)
theirs = torch.nn.functional.layer_norm(torch.tensor(x), (4,)).numpy()
print(json.dumps({
    "max_abs": float(np.abs(mine - theirs).max()),
    "streamlit": importlib.util.find_spec("streamlit") is not None,
    "plotly": importlib.util.find_spec("plotly") is not None,
    "lnorm_app": importlib.util.find_spec("lnorm_app") is not None,
    "torch": torch.__version__,
    "from": lc.__file__,
    "published_rows": len(timing.load_published()),
}))
"""


def test_the_library_installs_and_imports_without_the_app(tmp_path):
    src = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "lnorm_core", src / "lnorm_core", ignore=shutil.ignore_patterns("__pycache__"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)  # no system site-packages: only what the install brings
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(src)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    run = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["max_abs"] < 1e-12  # both in float64
    assert not got["streamlit"] and not got["plotly"] and not got["lnorm_app"]
    assert got["torch"].startswith("2.13.0")
    assert str(env_dir) in got["from"]  # the installed copy, not the checkout
    assert got["published_rows"] > 400  # the published GPU measurements ship inside the library


def test_the_pins_of_pyproject_are_the_pins_of_the_requirements_files():
    """One set of versions: what `pip install .[app]` brings is what requirements.txt installs."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["app"])
    declared |= {d for d in project["optional-dependencies"]["dev"] if not d.startswith("lnorm")}
    required = set()
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                required.add(line)
    assert declared == required
    assert "torch==2.13.0" in project["dependencies"]
