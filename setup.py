"""Build hook: the kernels' generated driver modules go into the sdist and the wheel.

``fastode/kernels/<family>/solve.py`` is not in git: ``fastode/kernels/expand.py`` writes it from
the family's ``driver.py`` (``ensure_expanded`` does so at import when it is missing or stale).
An installed package usually cannot write into site-packages, so the build writes them first:
``sdist`` and ``build_py`` (the wheel) regenerate every one that is missing or stale, then check
that each records the inputs it is shipped with. The files are copied byte for byte, so the
installed ``solve.py`` matches the installed inputs and import never rewrites it
(``.ci/wheel_check`` checks that on a read-only install).

Regenerating imports fastode, hence numpy, scipy and numba: the build asks for them (through
``setup_requires``, which setuptools' PEP 517 backend reports as build requirements) only when a
generated file is missing or stale, so installing from an sdist, which carries them, needs no
extra packages. Everything else is in pyproject.toml.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
# what importing fastode.kernels.expand's families needs (fastode/__init__ imports scipy)
GENERATOR_REQUIRES = ["numpy>=1.24", "scipy>=1.10", "numba>=0.59"]


def _expand():
    """fastode/kernels/expand.py loaded on its own (it imports only the standard library at
    the top), to read the families and check the recorded hashes without importing fastode."""
    spec = importlib.util.spec_from_file_location(
        "_fastode_build_expand", ROOT / "fastode" / "kernels" / "expand.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_paths():
    kernels = ROOT / "fastode" / "kernels"
    return [kernels.joinpath(*output.split(".")).with_suffix(".py")
            for _, output in _expand().FAMILIES]


def stale_paths():
    """Generated driver modules that are missing, stale or edited (expand.is_current)."""
    expand = _expand()
    return [path for path in generated_paths() if not expand.is_current(path)]


def generate_drivers():
    """Write the generated drivers if one is stale (``fastode.kernels.expand`` on this tree)."""
    if not stale_paths():
        return
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ)
        # this tree's fastode first; importing it must not leave a kernel cache in the tree
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["FASTODE_KERNEL_CACHE_DIR"] = str(Path(scratch) / "kernels")
        env["FASTODE_CACHE_DIR"] = scratch
        try:
            # -c, not -m: runpy warns when the package has imported the module already
            subprocess.run([sys.executable, "-c", "from fastode.kernels.expand import expand_all; "
                            "print(*(f'wrote {p}' for p in expand_all()), sep='\\n')"],
                           cwd=ROOT, env=env, check=True)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                "fastode: writing the kernels' generated drivers failed (it needs "
                f"{', '.join(GENERATOR_REQUIRES)} in the build environment)") from exc
    left = stale_paths()
    if left:
        raise RuntimeError(f"fastode: generated drivers still stale after regenerating: {left}")


class BuildPy(build_py):
    """build_py that writes the generated drivers before copying the package."""

    def run(self):
        generate_drivers()
        super().run()


class Sdist(sdist):
    """sdist that writes the generated drivers before listing the files to pack."""

    def run(self):
        generate_drivers()
        super().run()


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist},
      setup_requires=GENERATOR_REQUIRES if stale_paths() else [])
