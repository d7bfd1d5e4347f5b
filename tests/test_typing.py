"""`mypy --strict` on the public modules listed in pyproject.toml's [tool.mypy] (issue #17)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_public_modules_pass_mypy_strict(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the dev extra")
    # the repository's fastode, checked with this interpreter's numpy/matplotlib types; a
    # private cache folder so that runs do not share stale state
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir",
                          str(tmp_path / "cache")], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "MYPYPATH": ""})
    assert out.returncode == 0, out.stdout + out.stderr


def test_py_typed_marker_is_package_data():
    assert (ROOT / "fastode" / "py.typed").is_file()
    text = (ROOT / "pyproject.toml").read_text()
    assert 'fastode = ["py.typed"]' in text


def test_user_code_sees_the_public_types(tmp_path):
    # the lazily loaded names are typed for checkers (not Any from the module __getattr__)
    pytest.importorskip("mypy", reason="mypy is in the dev extra")
    user = tmp_path / "user_code.py"
    user.write_text(
        "import numpy as np\nimport fastode\n\n"
        "reveal_type(fastode.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0]))\n"
        "reveal_type(fastode.solve_ensemble(lambda t, y, p: -p[0] * y, (0.0, 1.0), [1.0],\n"
        "                                   params=np.ones((2, 1))))\n"
        "reveal_type(fastode.plot.solution)\n"
        "fastode.solve_ivp(1.0, (0.0, 1.0), [1.0])\n")
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir",
                          str(tmp_path / "cache"), "--config-file", str(ROOT / "pyproject.toml"),
                          str(user)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "MYPYPATH": ""})
    lines = [line for line in out.stdout.splitlines() if "user_code.py" in line]
    assert len(lines) == 4, out.stdout
    assert 'Revealed type is "fastode.results.OdeResult"' in lines[0], out.stdout
    # (defined in fastode.ensemble_result, re-exported by fastode.ensemble and fastode)
    assert 'Revealed type is "fastode.ensemble_result.EnsembleResult"' in lines[1], out.stdout
    assert lines[2].endswith('-> matplotlib.axes._axes.Axes"'), out.stdout
    assert "error: Argument 1" in lines[3] and "solve_ivp" in lines[3], out.stdout
