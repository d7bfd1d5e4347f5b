"""fastode.kernels.expand: the generated driver modules are current and reproducible, and an
expansion computes what the call computed."""
import ast
import importlib
import sys
import textwrap

import pytest

from fastode.kernels import expand

HELPERS = '''
def scale_into(a, out, factor):
    n = a.shape[0] if hasattr(a, "shape") else len(a)
    for i in range(n):
        out[i] = a[i] * factor
    return n


def count_up(k, step):
    # rebinds a parameter: the caller's variable must not change
    k += step
    total = 0
    for i in range(k):
        if i % 2 == 0:
            continue
        total += i
    return k, total


def swap_pair(x, y):
    return y, x


def nested(a, out):
    m = scale_into(a, out, 2.0)
    m += 1
    return m


def two_exits(x):
    if x > 0:
        return 1
    return 0
'''

DRIVER = '''
from .helpers import count_up, nested, scale_into, swap_pair

INLINE = (scale_into, count_up, swap_pair, nested)


def driver(a, out, k):
    n = scale_into(a, out, 0.5 + k)
    i = k
    k2, total = count_up(i, 3)
    first, second = swap_pair(k, n)
    n, k = swap_pair(k, n)
    m = 0
    m += nested(a, out)
    if swap_pair(0, n)[0] > 0:
        pass
    return n, i, k, k2, total, first, second, m, list(out)


def driver_if(a, out):
    if nested(a, out):
        return 1
    return 0
'''


@pytest.fixture()
def toy_package(tmp_path, monkeypatch):
    pkg = tmp_path / "toy_expand_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text(HELPERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in list(sys.modules):
        if name.startswith("toy_expand_pkg"):
            del sys.modules[name]


def _generate(pkg, driver_source):
    (pkg / "driver.py").write_text(driver_source)
    importlib.invalidate_caches()
    module = importlib.import_module("toy_expand_pkg.driver")
    return module, expand._ModuleExpander(module).generate()


def test_expansion_computes_what_the_calls_compute(toy_package):
    # the `if helper(...)[0]` line is a call inside an expression: refused, so drop it first
    source = DRIVER.replace("    if swap_pair(0, n)[0] > 0:\n        pass\n", "")
    module, generated = _generate(toy_package, source)
    (toy_package / "solve.py").write_text(generated)
    solve = importlib.import_module("toy_expand_pkg.solve")
    for k in (0, 1, 4):
        a = [1.0, -2.5, 3.25]
        want = module.driver(a, [0.0] * 3, k)
        got = solve.driver(a, [0.0] * 3, k)
        assert got == want
        assert module.driver_if(a, [0.0] * 3) == solve.driver_if(a, [0.0] * 3)
    tree = ast.parse(generated)
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"scale_into", "count_up", "swap_pair", "nested"}
    assert "INLINE" not in generated


def test_call_inside_an_expression_is_refused(toy_package):
    with pytest.raises(expand.ExpandError, match="inside an expression"):
        _generate(toy_package, DRIVER)


def test_helper_with_two_exits_is_refused(toy_package):
    source = textwrap.dedent('''
        from .helpers import two_exits

        INLINE = (two_exits,)


        def driver(x):
            y = two_exits(x)
            return y
    ''')
    with pytest.raises(expand.ExpandError, match="return before the last statement"):
        _generate(toy_package, source)


def test_generated_modules_are_current_and_reproducible():
    for template_rel, output_rel in expand.FAMILIES:
        template, output = expand._paths(template_rel, output_rel)
        expand.ensure_expanded(template_rel, output_rel)
        assert expand.is_current(output)
        on_disk = output.read_text(encoding="utf-8")
        assert expand.expand_module(template) == on_disk
        assert expand.expand_module(template) == on_disk     # deterministic


def test_stale_generated_module_is_regenerated(tmp_path, monkeypatch):
    template_rel, output_rel = expand.FAMILIES[0]
    template, real_output = expand._paths(template_rel, output_rel)
    copy = tmp_path / "solve.py"
    copy.write_text(real_output.read_text(encoding="utf-8").replace(
        "# inputs-sha256: ", "# inputs-sha256: 0"), encoding="utf-8")
    assert not expand.is_current(copy)
    monkeypatch.setattr(expand, "_paths", lambda t, o: (template, copy))
    expand.ensure_expanded(template_rel, output_rel)
    assert expand.is_current(copy)
    assert copy.read_text(encoding="utf-8") == real_output.read_text(encoding="utf-8")


def test_edited_generated_module_is_not_current(tmp_path):
    """A hand edit of a generated module (its text no longer the one its header records) is
    regenerated, never compiled."""
    _, real_output = expand._paths(*expand.FAMILIES[0])
    copy = tmp_path / "solve.py"
    copy.write_text(real_output.read_text(encoding="utf-8") + "\nx = 1\n", encoding="utf-8")
    assert not expand.is_current(copy)


def test_kernel_stamp_hashes_the_inputs_not_the_generated_modules():
    """The kernel cache stamp must not depend on which generated modules exist yet (they are
    written when their family is first imported): regression for a cold `fastode warmup` whose
    worker processes and check pass hashed different file sets, and recompiled everything."""
    from fastode import kernel_cache
    files = kernel_cache.hashed_files()
    assert kernel_cache.PACKAGE / "kernels" / "expand.py" in files
    for _, output_rel in expand.FAMILIES:
        _, output = expand._paths(_, output_rel)
        assert output not in files
        template = output.with_name("driver.py")
        assert template in files


def test_separate_loop_unpacks_option_groups(toy_package):
    """A driver in SEPARATE_LOOP becomes the driver (unpacking its groups) and a loop taking
    the unpacked values: the same results."""
    source = textwrap.dedent('''
        from .helpers import scale_into

        INLINE = (scale_into,)
        SEPARATE_LOOP = ("driver",)


        def driver(a, out, sizes, extra):
            """doc"""
            k, _, m = sizes
            x, = extra
            n = scale_into(a, out, k + m)
            return n + x, list(out)
    ''')
    module, generated = _generate(toy_package, source)
    tree = ast.parse(generated)
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert names == ["_driver_loop", "driver"]
    loop = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                and node.name == "_driver_loop")
    assert [a.arg for a in loop.args.args] == ["a", "out", "k", "m", "x"]
    (toy_package / "solve.py").write_text(generated)
    solve = importlib.import_module("toy_expand_pkg.solve")
    a = [1.0, -2.5, 3.25]
    assert solve.driver(a, [0.0] * 3, (2.0, 99, 0.5), (7,)) == \
        module.driver(a, [0.0] * 3, (2.0, 99, 0.5), (7,))
