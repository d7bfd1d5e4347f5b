"""The API reference (docs/api/index.rst) lists every public name, and every public function and
class there has an ``Examples`` section that runs: each is a doctest here, so an example that
stops working fails the suite (the documentation site shows the same text). A function whose
docstring lives in fastode/kernels (``fastode.nb.solve_ensemble``) is described in the index
itself, with its example there (``test_index_examples``).

Examples marked ``# doctest: +SKIP`` are shown but not run: ``fastode.warmup.warmup`` (minutes)
and ``fastode.reference.build`` (cargo).
"""
import doctest
import importlib
import importlib.util
import inspect
import re
import types
from pathlib import Path

import numpy as np
import pytest

import fastode

INDEX = Path(__file__).resolve().parent.parent / "docs" / "api" / "index.rst"
HAS_TORCH = importlib.util.find_spec("torch") is not None
PUBLIC_MODULES = ["fastode", "fastode.solvers", "fastode.ensemble", "fastode.nb", "fastode.sde",
                  "fastode.langevin", "fastode.analysis", "fastode.pde", "fastode.plot",
                  "fastode.pinn", "fastode.torch_bridge"]
NEEDS_TORCH = ("fastode.pinn", "fastode.torch_bridge")


def _documented():
    """(module, name) of every autosummary entry and ``.. data::`` of the API index."""
    entries, module = [], None
    for line in INDEX.read_text().splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            module = m.group(1)
            continue
        m = re.match(r"\.\. (?:data|function):: ([\w.]+)\.(\w+)\b", line)
        if m:
            entries.append((m.group(1), m.group(2)))
            continue
        m = re.match(r"   ([\w.]+)$", line)
        if m and module:
            entries.append((module, m.group(1)))
    return entries


def _resolve(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _skip_without_torch(module):
    if not HAS_TORCH and module.startswith(NEEDS_TORCH):
        pytest.skip("needs torch")


DOCUMENTED = _documented()
# described by a `.. function::` directive in the index, with the example there
IN_INDEX = {("fastode.nb", "solve_ensemble")}


def test_index_lists_every_public_name():
    documented = set()
    for module, name in DOCUMENTED:
        if HAS_TORCH or not module.startswith(NEEDS_TORCH):
            documented.add(id(_resolve(module, name)))
    missing = []
    for module in PUBLIC_MODULES:
        if not HAS_TORCH and module.startswith(NEEDS_TORCH):
            continue
        mod = importlib.import_module(module)
        for name in mod.__all__:
            value = getattr(mod, name)
            if isinstance(value, (types.ModuleType, str)):   # subpackages, __version__
                continue
            if id(value) not in documented:
                missing.append(f"{module}.{name}")
    assert not missing, f"not in docs/api/index.rst: {missing}"


def _callables():
    for module, name in DOCUMENTED:
        if (module, name) in IN_INDEX:
            continue
        obj = None
        try:
            obj = _resolve(module, name)
        except ImportError:      # torch missing: the test skips
            pass
        if obj is None or callable(obj) and not (inspect.isclass(obj)
                                                 and issubclass(obj, BaseException)):
            yield pytest.param(module, name, id=f"{module}.{name}")


@pytest.mark.parametrize("module, name", list(_callables()))
def test_example_runs(module, name):
    _skip_without_torch(module)
    if module == "fastode.reference":
        import fastode.reference as ref
        if not ref.available():
            pytest.skip("the Rust reference library is not built (make rust-ref)")
    obj = _resolve(module, name)
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Examples\n--------", doc, re.M), f"{module}.{name}: no Examples section"
    mod = importlib.import_module(module)
    globs = {"np": np, "fastode": fastode}
    globs.update({n: getattr(mod, n) for n in getattr(mod, "__all__", ())
                  if not n.startswith("__")})
    parser = doctest.DocTestParser()
    test = parser.get_doctest(doc, globs, f"{module}.{name}", None, 0)
    assert test.examples, f"{module}.{name}: the Examples section has no >>> lines"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


def test_index_examples():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(INDEX.read_text(), {"np": np, "fastode": fastode}, "api/index.rst",
                              str(INDEX), 0)
    assert len(test.examples) >= 5
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)
