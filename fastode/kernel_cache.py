"""Where fastode's own kernels are cached, and when that cache is stale.

numba caches a compiled function next to its source (or under ``NUMBA_CACHE_DIR``) and checks
only the timestamp of the file that defines it: not the helpers it inlines from other files
(numba#1833), nor the module globals frozen into the machine code (tableau coefficients, status
codes), and a fresh ``git clone`` gives every file a new timestamp. fastode's kernels therefore use
their own numba cache locator (:class:`KernelLocator`, registered by :func:`install` before any
kernel module is imported):

* the source stamp of every kernel is one hash (:func:`sources_hash`) of the files any kernel can
  read -- the files that hold cached kernels or intrinsics and, transitively, every package module
  they import (found with ``ast``) -- so an edit anywhere a kernel reads makes every kernel stale,
  and a checkout with new timestamps but the same contents keeps its cache;
* the cache lives in one folder, ``fastode/_kernel_cache/`` inside the installed package (written
  by ``fastode warmup`` when the package is installed), mirroring the package's folders; if the
  package folder is not writable, under the user cache (``FASTODE_CACHE_DIR`` or
  ``~/.cache/fastode``) in ``kernels/``. ``FASTODE_KERNEL_CACHE_DIR`` overrides both.
  ``NUMBA_CACHE_DIR`` does not move it: that variable is for the user's own numba code.

Computing the hash parses the package's files (~0.1 s); it is memoised in the cache folder by
the files' sizes and modification times, so a process normally pays one ``stat`` per file.
"""
import ast
import hashlib
import json
import os
import sys
from pathlib import Path

from numba.core import caching

PACKAGE = Path(__file__).resolve().parent


def _package_files():
    """The package's ``.py`` files, sorted (cache and bytecode folders skipped)."""
    found = []
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "_kernel_cache")]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return sorted(found)


def _module_file(parts):
    """The file of package module ``parts`` (names below the package), or None."""
    base = PACKAGE.joinpath(*parts)
    candidates = (base.with_suffix(".py"), base / "__init__.py") if parts else \
        (base / "__init__.py",)
    for path in candidates:
        if path.is_file():
            return path
    return None


def _parse(path, text):
    try:
        return ast.parse(text, filename=str(path))
    except SyntaxError:
        return None


def _has_cached_code(tree):
    """Whether a module compiles cached code: a ``cache=True`` keyword (``@njit(cache=True)``,
    ``dict(cache=True, ...)``), an ``@intrinsic`` (inlined into the cached callers), or any
    function decorated with ``njit``/``jit`` (its options may come from another module:
    ``@njit(**_JIT)``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "cache" \
                and isinstance(node.value, ast.Constant) and node.value.value is True:
            return True
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for dec in node.decorator_list:
                dec = dec.func if isinstance(dec, ast.Call) else dec
                name = dec.attr if isinstance(dec, ast.Attribute) else getattr(dec, "id", "")
                if name in ("intrinsic", "njit", "jit"):
                    return True
    return False


def _imported_files(path, tree):
    """Package files that ``path`` imports (anywhere in it, lazy imports included)."""
    rel = path.relative_to(PACKAGE).with_suffix("").parts
    package = list(rel[:-1])    # the package holding the module (or the package itself)
    found = set()

    def add(parts, names=()):
        # `from pkg import submodule` reads the submodule; `from mod import name` and
        # `import pkg.mod` read mod
        subs = [_module_file(parts + [name]) for name in names]
        for sub in subs:
            if sub is not None:
                found.add(sub)
        if not names or None in subs:
            target = _module_file(parts)
            if target is not None:
                found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE.name:
                    for k in range(2, len(parts) + 1):   # a.b.c imports a.b and a.b.c
                        add(parts[1:k])
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names if a.name != "*"]
            module = node.module.split(".") if node.module else []
            if node.level:
                up = node.level - 1
                if up > len(package):
                    continue
                add(package[:len(package) - up] + module, names)
            elif module and module[0] == PACKAGE.name:
                add(module[1:], names)
    found.discard(path)
    return found


_GENERATED = b"# Generated by fastode/kernels/expand.py"


def hashed_files():
    """Sorted package files the hash covers: the files with cached kernels or intrinsics and
    every package module they import, transitively, and the driver generator.

    The generated driver modules (kernels/<family>/solve.py) are left out: they are written
    lazily, when their family is first imported, so a process would hash a different set of
    files depending on which families it had imported. Their text is a function of files that
    are hashed (the hand-written driver.py, the helpers it inlines, kernels/expand.py), and
    fastode.kernels.expand rewrites one whose recorded inputs or text do not match."""
    texts = {path: path.read_bytes() for path in _package_files()}
    texts = {path: text for path, text in texts.items() if not text.startswith(_GENERATED)}
    trees = {path: _parse(path, text) for path, text in texts.items()}
    # a file that does not parse is hashed too (it cannot be told apart)
    todo = [path for path, tree in trees.items() if tree is None or _has_cached_code(tree)]
    generator = PACKAGE / "kernels" / "expand.py"
    if generator in texts:
        todo.append(generator)
    seen = set(todo)
    while todo:
        path = todo.pop()
        tree = trees.get(path)
        if tree is None:
            continue
        for dep in _imported_files(path, tree):
            if dep not in seen and dep in texts:   # a generated module: not hashed
                seen.add(dep)
                todo.append(dep)
    return sorted(seen)


def sources_hash() -> str:
    """Hash of the files that ``hashed_files()`` lists (names and contents)."""
    digest = hashlib.sha256()
    for path in hashed_files():
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# ---- the stamp, memoised by the files' (size, mtime) -------------------------------------------
_stamp = None


def _file_stats():
    rows = []
    for path in _package_files():
        try:
            st = path.stat()
        except OSError:
            continue
        rows.append([str(path.relative_to(PACKAGE)), st.st_size, st.st_mtime_ns])
    return rows


def kernel_sources_stamp() -> str:
    """:func:`sources_hash`, read from a memo when no package file changed size or time."""
    global _stamp
    if _stamp is not None:
        return _stamp
    stats = _file_stats()
    memo = cache_root() / "sources-stamp.json"
    try:
        recorded = json.loads(memo.read_text())
        if recorded["files"] == stats and recorded["python"] == sys.version:
            _stamp = recorded["hash"]
            return _stamp
    except (OSError, ValueError, KeyError, TypeError):
        pass
    _stamp = sources_hash()
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"files": stats, "python": sys.version, "hash": _stamp}))
        os.replace(tmp, memo)  # atomic: two processes may write it at once
    except OSError:
        pass
    return _stamp


# ---- where ----------------------------------------------------------------------------------
def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


_root = None


def cache_root() -> Path:
    """The folder that holds the kernels' numba cache (see the module docstring)."""
    global _root
    if _root is None:
        override = os.environ.get("FASTODE_KERNEL_CACHE_DIR")
        if override:
            _root = Path(override).expanduser()
        elif _writable(PACKAGE / "_kernel_cache"):
            _root = PACKAGE / "_kernel_cache"
        else:
            from .user_cache import cache_dir
            _root = cache_dir() / "kernels"
    return _root


class KernelLocator(caching._CacheLocator):
    """numba cache locator for functions defined in fastode's own files (see the module)."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file  # numba's warning for an uncachable function reads it
        self._lineno = py_func.__code__.co_firstlineno
        rel = Path(py_file).resolve().parent.relative_to(PACKAGE)
        self._cache_path = str(cache_root() / rel)

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return kernel_sources_stamp()

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            Path(py_file).resolve().relative_to(PACKAGE)
        except (ValueError, OSError):
            return None  # not fastode's: numba's own locators decide
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


def install() -> None:
    """Put :class:`KernelLocator` first in numba's list; call before any kernel is defined."""
    classes = caching.CacheImpl._locator_classes
    if KernelLocator not in classes:
        classes.insert(0, KernelLocator)


# ---- what is there ----------------------------------------------------------------------------
def info() -> dict:
    """Folder, number of cached kernel signatures' files and their size in bytes."""
    root = cache_root()
    files = [p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")] if root.is_dir() else []
    return {"path": str(root), "files": len(files),
            "bytes": sum(p.stat().st_size for p in files)}


def clear() -> int:
    """Delete the kernels' cache files (``fastode warmup`` rebuilds them); returns how many."""
    root = cache_root()
    removed = 0
    if root.is_dir():
        for path in list(root.rglob("*")):
            if path.is_file():
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    pass
    global _stamp
    _stamp = None
    return removed


# fastode/__init__.py imports this module first: every kernel defined afterwards uses the locator
install()
