"""fastode.kernels.progress: one stderr line when a compile outlasts its threshold."""
import sys
import time
import types

from fastode.kernels import progress


def _module_with_kernel(name):
    module = types.ModuleType(name)
    exec("import time\nfrom numba import njit\n\n@njit\ndef add_one(x):\n    return x + 1\n",
         module.__dict__)
    sys.modules[name] = module
    return module


def test_compile_notice_prints_once_only_when_slow(monkeypatch, capsys):
    monkeypatch.setenv("FASTODE_PROGRESS", "1")
    with progress.compile_notice("quick thing", after=0.5):
        pass
    with progress.compile_notice("slow thing", after=0.05):
        time.sleep(0.3)
    with progress.compile_notice("slow thing", after=0.05):  # said once per process
        time.sleep(0.3)
    err = capsys.readouterr().err
    assert "quick thing" not in err
    assert err.count("fastode: compiling slow thing") == 1


def test_compile_notice_silent_when_disabled(monkeypatch, capsys):
    monkeypatch.setenv("FASTODE_PROGRESS", "0")
    with progress.compile_notice("muted thing", after=0.01):
        time.sleep(0.2)
    assert capsys.readouterr().err == ""


def test_announce_compiles_wraps_only_the_compile(monkeypatch, capsys):
    monkeypatch.setenv("FASTODE_PROGRESS", "1")
    module = _module_with_kernel("fastode_test_progress_kernels")
    seen = []
    monkeypatch.setattr(progress, "compile_notice",
                        lambda subject, after=1.0: (seen.append(subject),
                                                    progress.contextlib.nullcontext())[1])
    progress.announce_compiles(module)
    progress.announce_compiles(module)          # idempotent: wrapped once
    assert module.add_one(1) == 2               # compiles: under the notice
    assert module.add_one(2) == 3               # compiled: the C fast path, no notice
    assert module.add_one(1.5) == 2.5           # a new signature compiles again
    assert seen == ["the kernel fastode_test_progress_kernels.add_one"] * 2
