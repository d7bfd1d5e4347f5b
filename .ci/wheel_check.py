"""CI: the package installs like any other (issue #17).

``python -m build`` makes the sdist and, from it, the wheel; the wheel is installed into a fresh
venv (not ``--system-site-packages``: numpy, scipy and numba come from the package index); the
installed package folder is made read-only and fingerprinted; then, from a folder outside the
repository, every kernel family is imported (each checks its generated driver, and would rewrite a
stale one) and the README's first example (``## Use``) runs and is compared with scipy at a
tolerance far above both solvers' errors. Fails if the build, the install or the example fails, if
a generated driver is missing or stale in the wheel, or if any file in the installed package was
added, removed or changed (as root, read-only does not stop writes; the fingerprint does).

Usage: python .ci/wheel_check.py [--keep DIR]   (the python running it needs ``build``: the
``dev`` extra). About a minute, most of it pip and one kernel compile; no ``fastode warmup``.
"""
import argparse
import hashlib
import os
import re
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# run by the fresh venv's python in a folder outside the repository
CHECK = '''
import importlib, pathlib, sys
import numpy as np
import scipy.integrate
import fastode
from fastode.kernels import expand

package = pathlib.Path(fastode.__file__).resolve().parent
assert package == pathlib.Path(sys.argv[1]).resolve(), (package, sys.argv[1])
assert (package / "py.typed").is_file(), "py.typed missing from the wheel"
for template, output in expand.FAMILIES:
    path = package / "kernels" / pathlib.Path(*output.split(".")).with_suffix(".py")
    assert expand.is_current(path), f"{path} missing or stale in the installed package"
    importlib.import_module(f"fastode.kernels.{output.rsplit('.', 1)[0]}")

namespace = {}
exec(compile(pathlib.Path(sys.argv[2]).read_text(), "README example", "exec"), namespace)
sol = namespace["sol"]
assert sol.success and sol.status == 0, sol.message
ref = scipy.integrate.solve_ivp(namespace["lotka_volterra"], (0.0, 15.0), [10.0, 5.0],
                                args=(1.5, 1.0, 3.0, 1.0), method="DOP853", rtol=1e-12,
                                atol=1e-12)
# the example asks rtol=1e-6: its global error is ~1e-5 relative, far below 1e-3
assert np.allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-3, atol=0), (sol.y[:, -1], ref.y[:, -1])
print("fastode", fastode.__version__, "from", package, ": README example OK")
'''


def readme_example():
    """The first ```python block under the README's ``## Use`` heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    use = text.split("\n## Use\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", use, re.S)
    if match is None:
        raise SystemExit("wheel_check: no ```python block under '## Use' in README.md")
    return match.group(1)


def fingerprint(folder):
    """{relative path: sha256} of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(cmd, **kwargs):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", help="work in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="fastode-wheel-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    package = None
    try:
        run([sys.executable, "-m", "build", "--outdir", work / "dist", ROOT])
        wheels = sorted((work / "dist").glob("fastode-*.whl"))
        sdists = sorted((work / "dist").glob("fastode-*.tar.gz"))
        assert len(wheels) == 1 and len(sdists) == 1, (wheels, sdists)
        venv = work / "venv"
        run([sys.executable, "-m", "venv", "--clear", venv])
        python = venv / "bin" / "python"
        run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheels[0]])
        spec = subprocess.run(
            [python, "-c", "import importlib.util; print(importlib.util.find_spec('fastode')"
             ".submodule_search_locations[0])"], cwd=work, check=True, capture_output=True,
            text=True).stdout.strip()
        package = Path(spec)
        assert venv in package.parents, f"fastode found at {package}, not in the fresh venv"
        for path in [package, *package.rglob("*")]:
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        before = fingerprint(package)

        example = work / "readme_example.py"
        example.write_text(readme_example(), encoding="utf-8")
        check = work / "check_installed.py"
        check.write_text(textwrap.dedent(CHECK), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FASTODE_"))}
        env["FASTODE_CACHE_DIR"] = str(work / "cache")   # user functions (and kernels when
        if os.geteuid() == 0:                             # read-only): not the user's cache
            # root writes into a read-only folder: send the kernel cache out of the package, as
            # a read-only install would, so that the fingerprint sees only unexpected writes
            env["FASTODE_KERNEL_CACHE_DIR"] = str(work / "cache" / "kernels")
        run([python, check, package, example], cwd=work, env=env)

        after = fingerprint(package)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if changed:
            raise SystemExit(f"wheel_check: the installed package changed: {changed}")
        print(f"wheel_check: OK ({wheels[0].name}, {sdists[0].name}; "
              f"{len(before)} installed files unchanged)")
    finally:
        if package is not None:   # let the folder be removed
            for path in [package, *package.rglob("*")]:
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        if not args.keep:
            import shutil
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
