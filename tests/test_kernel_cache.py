"""fastode.kernel_cache: the kernels' own numba cache folder, stamped by their sources' hash."""


import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastode import kernel_cache

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys, numpy as np
from fastode.kernels.buffers import grow_1d
grow_1d(np.zeros(3), 5)
print(json.dumps({"hits": sum(grow_1d.stats.cache_hits.values()),
                  "misses": sum(grow_1d.stats.cache_misses.values())}))
"""


def _probe(env):
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, cwd=ROOT, text=True,
                         capture_output=True, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_kernels_cache_in_their_own_folder_and_load_in_the_next_process(tmp_path):
    env = dict(os.environ, FASTODE_KERNEL_CACHE_DIR=str(tmp_path / "kernels"),
               NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=str(ROOT))
    first = _probe(env)
    assert first == {"hits": 0, "misses": 1}
    files = {p.name for p in (tmp_path / "kernels" / "kernels").iterdir()}
    assert any(name.startswith("buffers.grow_1d") and name.endswith(".nbi") for name in files)
    # NUMBA_CACHE_DIR is for the user's code: fastode's kernels never go there
    assert not (tmp_path / "numba").exists() or not any((tmp_path / "numba").rglob("*.nbi"))
    second = _probe(env)
    assert second == {"hits": 1, "misses": 0}


def test_stamp_memo_follows_file_changes(tmp_path, monkeypatch):
    import shutil
    copy = tmp_path / "fastode"
    shutil.copytree(kernel_cache.PACKAGE, copy,
                    ignore=shutil.ignore_patterns("__pycache__", "_kernel_cache"))
    monkeypatch.setattr(kernel_cache, "PACKAGE", copy)
    monkeypatch.setattr(kernel_cache, "_root", tmp_path / "cache")
    monkeypatch.setattr(kernel_cache, "_stamp", None)
    first = kernel_cache.kernel_sources_stamp()
    assert first == kernel_cache.sources_hash()
    assert (tmp_path / "cache" / "sources-stamp.json").is_file()
    monkeypatch.setattr(kernel_cache, "_stamp", None)      # a new process: read from the memo
    assert kernel_cache.kernel_sources_stamp() == first
    status = copy / "kernels" / "status.py"
    status.write_text(status.read_text() + "\n# edited\n")
    monkeypatch.setattr(kernel_cache, "_stamp", None)
    edited = kernel_cache.kernel_sources_stamp()
    assert edited != first and edited == kernel_cache.sources_hash()


def test_locator_claims_only_fastode_files():
    def outside():
        pass
    assert kernel_cache.KernelLocator.from_function(outside, __file__) is None
    from fastode.kernels import buffers
    locator = kernel_cache.KernelLocator.from_function(buffers.grow_1d.py_func, buffers.__file__)
    assert locator is not None
    assert locator.get_source_stamp() == kernel_cache.kernel_sources_stamp()
    assert Path(locator.get_cache_path()) == kernel_cache.cache_root() / "kernels"


def _names(files, root):
    return {str(p.relative_to(root)).replace("\\", "/") for p in files}


def test_hash_covers_every_module_a_kernel_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "fastode"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .front import solve\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "kernel.py").write_text(
        '"""no cache=True in a docstring makes a kernel"""\n'
        "from numba import njit\n"
        "from . import status\n"
        "from .sub.tab import C\n"
        "import fastode.absmod\n"
        "from fastode.sub import lazy_target\n"
        "@njit(cache=True)\n"
        "def f():\n    return C[0] + status.FAIL\n")
    (pkg / "status.py").write_text("FAIL = -1\n")
    (pkg / "sub" / "tab.py").write_text("from .coef import A\nC = A\n")   # transitive
    (pkg / "sub" / "coef.py").write_text("A = (1.0,)\n")
    (pkg / "sub" / "lazy_target.py").write_text("x = 1\n")
    (pkg / "absmod.py").write_text("y = 2\n")
    (pkg / "front.py").write_text('"""mentions @njit(cache=True) only in text"""\n'
                                  "from .kernel import f\nfrom .status import FAIL\n")
    monkeypatch.setattr(kernel_cache, "PACKAGE", pkg)
    assert _names(kernel_cache.hashed_files(), pkg) == {
        "kernel.py", "status.py", "sub/tab.py", "sub/coef.py", "sub/lazy_target.py",
        "absmod.py"}
    before = kernel_cache.sources_hash()
    (pkg / "front.py").write_text("from .kernel import f\nx = 3\n")    # front end: keep
    assert kernel_cache.sources_hash() == before
    (pkg / "sub" / "coef.py").write_text("A = (2.0,)\n")               # a frozen global
    assert kernel_cache.sources_hash() != before


def test_tableaus_and_status_codes_are_hashed(tmp_path, monkeypatch):
    import shutil
    real = kernel_cache.PACKAGE
    files = _names(kernel_cache.hashed_files(), real)
    assert {"tableaus/explicit.py", "kernels/status.py", "kernels/explicit/driver.py",
            "torch_bridge/kernels.py", "torch_bridge/mlp_kernels.py",
            "torch_bridge/vector_math.py"} <= files
    assert "cli.py" not in files and "torch_bridge/mlp.py" not in files
    # edit a temporary copy of the package, never the real files
    copy = tmp_path / "fastode"
    shutil.copytree(real, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(kernel_cache, "PACKAGE", copy)
    before = kernel_cache.sources_hash()
    for name in ("tableaus/explicit.py", "kernels/status.py"):
        path = copy / name
        text = path.read_text()
        path.write_text(text + "\n# edited\n")
        assert kernel_cache.sources_hash() != before, name
        path.write_text(text)
    assert kernel_cache.sources_hash() == before
    (copy / "cli.py").write_text((copy / "cli.py").read_text() + "\n# edited\n")
    assert kernel_cache.sources_hash() == before


def test_each_family_compiles_once_for_all_its_methods():
    """Methods of a family bind their coefficients to one driver (fastode.kernels.family): the
    bound arguments' numba types must agree, or each method compiles its own copy (~15 s)."""
    from fastode.kernels import esdirk, rosenbrock
    families = [
        [rosenbrock.rodas4_solve, rosenbrock.rodas5p_solve, rosenbrock.rosenbrock23_solve],
        [esdirk.kvaerno5_solve, esdirk.kencarp4_solve, esdirk.implicit_euler_solve,
         esdirk.implicit_euler_fixed_solve],
    ]
    for members in families:
        assert len({m.driver for m in members}) == 1
        assert len({m.coefficient_types() for m in members}) == 1, [m.name for m in members]
