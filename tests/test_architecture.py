"""The package's layering, checked from the source (docs/architecture.md describes the layers).

Imports flow one way: public API -> method families -> core. The graph below holds every import of
a fastode module that any fastode file makes, at module level and inside functions alike: a lazy
import that only hides a cycle is still a cycle (the import order then decides what works).
"""
import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "fastode"

# Import edges (importer, imported) allowed to close a cycle, each with its reason. An entry must
# still exist in the source (test_exemptions_are_live), so the list can only shrink.
EXEMPT_EDGES = set()

# Files over MAX_LINES. Only the kernel restructuring (issue #12) may remove entries; nothing may
# be added: split a file instead (test_no_long_files fails on a new long file or a stale entry).
MAX_LINES = 800
LONG_FILES_ALLOWED = set()


def module_name(path):
    """Dotted module name of a file under fastode/ (``fastode/a/__init__.py`` -> ``fastode.a``)."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules():
    """{module name: path} for every module of the package."""
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(name, path, modules):
    """The fastode modules that module ``name`` (file ``path``) imports, anywhere in the file.

    ``from .x import y`` counts as an import of ``.x``, and of ``.x.y`` too when that is a module
    (``from .kernels import status``); ``from . import y`` as an import of the package only when
    ``y`` is a name defined there (it was ``from . import __version__`` in fastode.ensemble).
    The parent packages that Python runs on the way (``fastode/__init__.py`` for any
    ``fastode.x``) are not edges: they would join every module to the root package, which only
    re-exports (test_init_only_reexports).
    """
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # ``from .x import y``: module .x runs, and .x.y when it is a module;
            # ``from . import y``: module .y, or the package itself when y is a name in it
            targets = [base] if node.module else []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        else:
            continue
        for target in targets:
            if target in modules:
                found.add(target)
    found.discard(name)
    return found


def import_graph():
    modules = package_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycle(graph):
    """One import cycle as a list of modules (first == last), or None (depth-first search)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack = []

    def visit(node):
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour[nxt] == WHITE:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def lower_layer_violations(graph):
    """Imports of the front end by the kernels or by the tableaus (design.md: kernels import
    only kernels/ and tableaus/; tableaus are data and import nothing of the package)."""
    allowed = {"fastode.kernels": ("fastode.kernels", "fastode.tableaus"),
               "fastode.tableaus": ("fastode.tableaus",)}
    bad = []
    for importer, imported in graph.items():
        for layer, ok in allowed.items():
            if importer == layer or importer.startswith(layer + "."):
                bad += [(importer, m) for m in sorted(imported)
                        if not any(m == o or m.startswith(o + ".") for o in ok)]
    return bad


def test_graph_sees_the_imports(tmp_path):
    # the walker itself: module-level, relative, submodule and function-local imports all count
    graph = import_graph()
    assert "fastode.ivp" in graph["fastode"]                      # from .ivp import solve_ivp
    assert "fastode.kernels.status" in graph["fastode.results"]   # from .kernels import status
    assert "fastode.tableaus.radau" in graph["fastode.kernels.radau.newton"]  # from ...tableaus import
    assert "fastode.warmup" in graph["fastode.cli"]               # inside a function
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f\n__version__ = '1'\n")
    (pkg / "a.py").write_text("from . import __version__\n\ndef f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from . import a\nimport pkg.a\n")
    modules = {"pkg": pkg / "__init__.py", "pkg.a": pkg / "a.py", "pkg.b": pkg / "b.py"}
    assert imported_modules("pkg", pkg / "__init__.py", modules) == {"pkg.a"}
    assert imported_modules("pkg.a", pkg / "a.py", modules) == {"pkg", "pkg.b"}
    assert imported_modules("pkg.b", pkg / "b.py", modules) == {"pkg.a"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert lower_layer_violations({"fastode.kernels.x": {"fastode.kernels.y", "fastode.rhs"},
                                   "fastode.tableaus.z": {"fastode.kernels.y"}}) == [
        ("fastode.kernels.x", "fastode.rhs"), ("fastode.tableaus.z", "fastode.kernels.y")]


def test_no_import_cycle():
    graph = import_graph()
    for importer, imported in EXEMPT_EDGES:
        graph[importer].discard(imported)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_kernels_do_not_import_the_front_end():
    bad = lower_layer_violations(import_graph())
    assert not bad, f"kernels/tableaus importing the layers above them: {bad}"


def test_exemptions_are_live():
    graph = import_graph()
    stale = [edge for edge in EXEMPT_EDGES if edge[1] not in graph.get(edge[0], ())]
    assert not stale, f"exempted imports no longer in the source, delete them: {stale}"


def test_init_only_reexports():
    # fastode/__init__.py: the docstring, imports, __all__ and the lazy re-exports (PEP 562: the
    # _LAZY table, __getattr__ and __dir__); no code or values of its own
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("__getattr__", "__dir__"):
            continue
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] \
                == ["_LAZY"]:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING" and not node.orelse \
                and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body):
            continue                                   # the lazy names' types, for type checkers
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue                                   # the docstring
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets) \
                and [t.id for t in node.targets] == ["__all__"]:
            continue
        pytest.fail(f"fastode/__init__.py line {node.lineno}: only re-exports belong there")


def _generated(path):
    """A driver module written by fastode/kernels/expand.py from its hand-written driver.py
    (not in git; the helpers it inlines are counted where they are written)."""
    with open(path, encoding="utf-8") as fh:
        return fh.readline().startswith("# Generated by fastode/kernels/expand.py")


def test_no_long_files():
    root = PACKAGE_DIR.parent
    long_files = {str(p.relative_to(root)) for p in PACKAGE_DIR.rglob("*.py")
                  if len(p.read_text().splitlines()) > MAX_LINES and not _generated(p)}
    new = sorted(long_files - LONG_FILES_ALLOWED)
    assert not new, f"over {MAX_LINES} lines (split them): {new}"
    fixed = sorted(LONG_FILES_ALLOWED - long_files)
    assert not fixed, f"now within {MAX_LINES} lines, remove from LONG_FILES_ALLOWED: {fixed}"


def test_lazy_reexports_resolve():
    import fastode
    for name in fastode.__all__:
        assert getattr(fastode, name) is not None, name
    for name, module in fastode._LAZY.items():
        assert name in fastode.__all__, name
        # a module, or a package (fastode.sde, fastode.langevin)
        assert ((PACKAGE_DIR / f"{module}.py").is_file()
                or (PACKAGE_DIR / module / "__init__.py").is_file()), module
