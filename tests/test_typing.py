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
