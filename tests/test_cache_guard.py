"""fastode.cache_guard drops numba cache files when kernel sources change."""
from fastode import cache_guard


def test_cache_files_dropped_when_a_kernel_source_changes(tmp_path, monkeypatch):
    (tmp_path / "__pycache__").mkdir()
    kernel = tmp_path / "kernel.py"
    kernel.write_text("@njit(cache=True)\ndef f(): return 1\n")
    (tmp_path / "plain.py").write_text("x = 1\n")
    monkeypatch.setattr(cache_guard, "PACKAGE", tmp_path)
    monkeypatch.setattr(cache_guard, "_STAMP", tmp_path / "__pycache__" / "stamp")
    cached = tmp_path / "__pycache__" / "kernel.f-1.py311.nbi"
    cached.write_text("index")
    assert cache_guard.invalidate_if_changed()          # no stamp yet: drop
    assert not cached.exists()
    cached.write_text("index")
    assert not cache_guard.invalidate_if_changed()      # unchanged: keep
    assert cached.exists()
    (tmp_path / "plain.py").write_text("x = 2\n")       # no compiled code in it: keep
    assert not cache_guard.invalidate_if_changed()
    kernel.write_text("@njit(cache=True)\ndef f(): return 2\n")
    assert cache_guard.invalidate_if_changed()          # kernel edited: drop
    assert not cached.exists()


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
    monkeypatch.setattr(cache_guard, "PACKAGE", pkg)
    assert _names(cache_guard.hashed_files(), pkg) == {
        "kernel.py", "status.py", "sub/tab.py", "sub/coef.py", "sub/lazy_target.py",
        "absmod.py"}
    before = cache_guard.sources_hash()
    (pkg / "front.py").write_text("from .kernel import f\nx = 3\n")    # front end: keep
    assert cache_guard.sources_hash() == before
    (pkg / "sub" / "coef.py").write_text("A = (2.0,)\n")               # a frozen global
    assert cache_guard.sources_hash() != before


def test_tableaus_and_status_codes_are_hashed(tmp_path, monkeypatch):
    import shutil
    real = cache_guard.PACKAGE
    files = _names(cache_guard.hashed_files(), real)
    assert {"tableaus/explicit.py", "kernels/status.py", "kernels/explicit.py",
            "torch_bridge/kernels.py"} <= files
    assert "cli.py" not in files and "torch_bridge/mlp.py" not in files
    # edit a temporary copy of the package, never the real files
    copy = tmp_path / "fastode"
    shutil.copytree(real, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache_guard, "PACKAGE", copy)
    before = cache_guard.sources_hash()
    for name in ("tableaus/explicit.py", "kernels/status.py"):
        path = copy / name
        text = path.read_text()
        path.write_text(text + "\n# edited\n")
        assert cache_guard.sources_hash() != before, name
        path.write_text(text)
    assert cache_guard.sources_hash() == before
    (copy / "cli.py").write_text((copy / "cli.py").read_text() + "\n# edited\n")
    assert cache_guard.sources_hash() == before
