"""Drop numba's disk cache of fastode's kernels when their sources changed.

numba checks only the timestamp of the file that defines a cached function, not of the helpers it
inlines from other files (numba#1833), nor of the module globals it freezes into the machine code
(tableau coefficients, status codes): after editing, say, kernels/linalg.py or
tableaus/explicit.py, a driver in kernels/rosenbrock.py would load stale machine code.
``invalidate_if_changed()`` hashes every package file a kernel can read -- the files that hold
cached kernels or intrinsics and, transitively, every package module they import (found with
``ast``: relative imports and absolute ``fastode.`` ones) -- and deletes the package's
``*.nbi``/``*.nbc`` files when the hash differs from the one recorded with them. A front-end file
that no kernel module imports is not hashed, so editing it keeps the cache. The test suite and
``fastode warmup`` call it before anything is compiled; an installed (unchanged) package keeps
its cache.
"""
import ast
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_STAMP = PACKAGE / "__pycache__" / "fastode-sources.sha256"


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
    ``dict(cache=True, ...)``) or an ``@intrinsic`` (inlined into the cached callers)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "cache" \
                and isinstance(node.value, ast.Constant) and node.value.value is True:
            return True
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for dec in node.decorator_list:
                dec = dec.func if isinstance(dec, ast.Call) else dec
                name = dec.attr if isinstance(dec, ast.Attribute) else getattr(dec, "id", "")
                if name == "intrinsic":
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


def hashed_files():
    """Sorted package files the hash covers: the files with cached kernels or intrinsics and
    every package module they import, transitively."""
    trees = {path: _parse(path, path.read_bytes()) for path in PACKAGE.rglob("*.py")}
    # a file that does not parse is hashed too (it cannot be told apart)
    todo = [path for path, tree in trees.items() if tree is None or _has_cached_code(tree)]
    seen = set(todo)
    while todo:
        path = todo.pop()
        tree = trees.get(path)
        if tree is None:
            continue
        for dep in _imported_files(path, tree):
            if dep not in seen:
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


def invalidate_if_changed() -> bool:
    """Delete stale numba cache files; returns True when it deleted anything."""
    current = sources_hash()
    try:
        recorded = _STAMP.read_text().strip()
    except OSError:
        recorded = None
    removed = False
    if recorded != current:
        for pattern in ("*.nbi", "*.nbc"):
            for path in PACKAGE.rglob(pattern):
                try:
                    path.unlink()
                    removed = True
                except OSError:
                    pass
        try:
            _STAMP.parent.mkdir(parents=True, exist_ok=True)
            _STAMP.write_text(current)
        except OSError:
            pass  # read-only install: nothing was cached there either
    return removed
