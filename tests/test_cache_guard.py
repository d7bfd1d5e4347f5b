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
