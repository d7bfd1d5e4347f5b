"""Every public name resolves to the documented object, whatever was imported before it.

fastode.analysis and fastode.pinn load their names lazily, and two of those names are also the
names of submodules (``analysis.continuation``, ``pinn.train``). Importing such a submodule (which
happens when a neighbouring name is loaded first, e.g. ``ContinuationResult``) makes Python bind
the submodule on the package, so the function was shadowed by its module. Each check runs in a
fresh interpreter because the outcome depends on what was imported before.
"""
import importlib.util
import subprocess
import sys

import pytest

CASES = [
    # (the name loaded first, the function that must stay a function)
    ("from fastode.analysis import ContinuationResult",
     "from fastode.analysis import continuation"),
    ("import fastode.analysis as a; a.ContinuationResult",
     "from fastode.analysis import continuation"),
    ("from fastode.pinn import sample_points", "from fastode.pinn import train"),
    ("from fastode.pinn import TrainResult", "from fastode.pinn import train"),
]


@pytest.mark.parametrize("first, second", CASES)
def test_lazy_function_not_shadowed_by_its_module(first, second):
    if "pinn" in first and importlib.util.find_spec("torch") is None:
        pytest.skip("fastode.pinn needs torch")
    name = second.split()[-1]
    code = (f"{first}\n{second}\nimport types\n"
            f"assert not isinstance({name}, types.ModuleType), {name}\n"
            f"assert callable({name}) and {name}.__name__ == {name!r}, {name}\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_every_public_name_resolves():
    code = """
import importlib, types
import fastode
for n in fastode.__all__:
    getattr(fastode, n)
for sub in ("analysis", "sde", "langevin", "pde", "ensemble", "solvers", "nb"):
    m = importlib.import_module("fastode." + sub)
    for n in m.__all__:
        v = getattr(m, n)
        assert not (isinstance(v, types.ModuleType) and v.__name__.endswith("." + n)), (sub, n)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
