"""The user cache (fastode.user_cache): a user function compiled once is loaded by the next process.

Every test runs fresh Python processes with their own FASTODE_CACHE_DIR (a temporary folder) and
a user module written to a temporary file (fastode reads the source of user functions). Each
process prints fastode.user_cache.stats (what it compiled, saved and loaded) and its result.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

RUNNER = textwrap.dedent('''
    import json, sys
    import numpy as np
    import fastode
    from fastode import user_cache
    import usermod
    out = {}
    try:
        out["result"] = usermod.main()
    except Exception as exc:
        out["error"] = [type(exc).__name__, str(exc)]
    out["stats"] = dict(user_cache.stats)
    print("RESULT " + json.dumps(out))
''')


def _write(folder, source):
    (folder / "usermod.py").write_text(textwrap.dedent(source))
    # a rewritten module must not be read from a stale .pyc of the same second
    for pyc in folder.glob("__pycache__/usermod*"):
        pyc.unlink()


def _env(folder, **extra):
    env = dict(os.environ)
    env["FASTODE_CACHE_DIR"] = str(folder / "cache")
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT)])
    env["FASTODE_PROGRESS"] = "0"
    env.update(extra)
    return env


def _start(folder, **extra):
    (folder / "runner.py").write_text(RUNNER)
    return subprocess.Popen([sys.executable, str(folder / "runner.py")], cwd=folder,
                            env=_env(folder, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc):
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, out + err[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def _run(folder, **extra):
    return _finish(_start(folder, **extra))


def _cache_files(folder):
    return sorted(p.name for p in (folder / "cache" / "user").glob("*"))


# y' = -k y from t = 0 to 1, y(0) = 1: exp(-k) tells which k the compiled code used
DECAY = '''
    import numpy as np
    import fastode

    def rate(y):
        return {rate} * y

    def fun(t, y):
        return -rate(y)

    def main():
        res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], method="RK45", rtol=1e-10, atol=1e-12)
        return res.y[0, -1]
'''


def test_second_process_loads_from_disk(tmp_path):
    _write(tmp_path, DECAY.format(rate="1.0"))
    first = _run(tmp_path)
    assert first["stats"]["compiled"] >= 1 and first["stats"]["saved"] >= 1
    assert first["stats"]["loaded"] == 0
    assert any(name.endswith(".nbi") for name in _cache_files(tmp_path))
    second = _run(tmp_path)
    assert second["stats"]["loaded"] >= 1
    assert second["stats"]["compiled"] == 0  # nothing compiled: loaded from disk
    assert second["result"] == first["result"]  # the same code on the same machine
    np.testing.assert_allclose(second["result"], np.exp(-1.0), rtol=1e-8)


def test_editing_a_helper_compiles_anew(tmp_path):
    _write(tmp_path, DECAY.format(rate="1.0"))
    _run(tmp_path)
    _write(tmp_path, DECAY.format(rate="2.0"))
    second = _run(tmp_path)
    assert second["stats"]["compiled"] >= 1
    assert second["stats"]["loaded"] == 0
    np.testing.assert_allclose(second["result"], np.exp(-2.0), rtol=1e-8)


def test_editing_the_function_body_compiles_anew(tmp_path):
    source = '''
        import numpy as np
        import fastode

        def fun(t, y):
            return {body}

        def main():
            res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], method="RK45", rtol=1e-10,
                                    atol=1e-12)
            return res.y[0, -1]
    '''
    _write(tmp_path, source.format(body="-y"))
    first = _run(tmp_path)
    np.testing.assert_allclose(first["result"], np.exp(-1.0), rtol=1e-8)
    _write(tmp_path, source.format(body="y"))  # same names and constants, another operation
    second = _run(tmp_path)
    assert second["stats"]["compiled"] >= 1 and second["stats"]["loaded"] == 0
    np.testing.assert_allclose(second["result"], np.exp(1.0), rtol=1e-8)


FROZEN = '''
    import numpy as np
    import fastode

    K = np.float32({k})  # not packable into float64 parameters: compiled in as a constant

    def fun(t, y):
        return -K * y

    def main():
        res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], method="RK45", rtol=1e-10, atol=1e-12)
        return res.y[0, -1]
'''


def test_a_frozen_value_is_in_the_key(tmp_path):
    _write(tmp_path, FROZEN.format(k="1.0"))
    first = _run(tmp_path)
    np.testing.assert_allclose(first["result"], np.exp(-1.0), rtol=1e-8)
    _write(tmp_path, FROZEN.format(k="3.0"))
    second = _run(tmp_path)
    assert second["stats"]["compiled"] >= 1 and second["stats"]["loaded"] == 0
    np.testing.assert_allclose(second["result"], np.exp(-3.0), rtol=1e-8)
    _write(tmp_path, FROZEN.format(k="1.0"))
    third = _run(tmp_path)  # the first entry again
    assert third["stats"]["loaded"] >= 1 and third["stats"]["compiled"] == 0
    assert third["result"] == first["result"]


def test_a_run_time_value_is_not_compiled_in(tmp_path):
    # a float global is read at every solve (fastode.usercode): a new value loads the same entry
    source = '''
        import numpy as np
        import fastode

        K = {k}

        def fun(t, y):
            return -K * y

        def main():
            res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], method="RK45", rtol=1e-10,
                                    atol=1e-12)
            return res.y[0, -1]
    '''
    _write(tmp_path, source.format(k="1.0"))
    _run(tmp_path)
    _write(tmp_path, source.format(k="2.5"))
    second = _run(tmp_path)
    assert second["stats"]["loaded"] >= 1 and second["stats"]["compiled"] == 0
    np.testing.assert_allclose(second["result"], np.exp(-2.5), rtol=1e-8)


# a body large enough that LLVM does not inline it into the wrapper: the wrapper calls it by name
LARGE = '''
    import numpy as np
    import fastode

    K = np.float32({k})

    def fun(t, y):
        s = 0.0
{lines}
        return -K * t * y + 0.0 * s  # no effect of K at t0 = 0, where fastode checks fun

    def main():
        global K
        out = []
        for k in {ks}:
            K = np.float32(k)
            res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], method="RK45", rtol=1e-10,
                                    atol=1e-12)
            out.append(res.y[0, -1])
        return out
'''


def _large(k, ks):
    lines = "\n".join(f"        s += np.sin(t * {i}.5 + s) * np.cos(s + {i})" for i in range(40))
    return LARGE.format(k=k, ks=ks, lines=lines)


def test_cached_code_never_binds_to_a_same_named_function(tmp_path):
    # numba names a compiled function after its module, name and a per-process counter, and
    # links callees as weak symbols: without content-hashed names, the entry for K = 1 loaded
    # after an in-process compile of K = 2 (same name, same counter) called the K = 2 code
    # (y = exp(-K t^2 / 2))
    _write(tmp_path, _large("1.0", "[1.0]"))
    first = _run(tmp_path)
    np.testing.assert_allclose(first["result"][0], np.exp(-0.5), rtol=1e-8)
    _write(tmp_path, _large("1.0", "[2.0, 1.0]"))
    second = _run(tmp_path)
    assert second["stats"]["loaded"] >= 1 and second["stats"]["compiled"] >= 1
    np.testing.assert_allclose(second["result"], np.exp([-1.0, -0.5]), rtol=1e-8)


ERRORS = '''
    import numpy as np
    import fastode

    class BadState(Exception):
        pass

    def raises(t, y):
        if t > 1.0:
            raise BadState("the ball left the model")
        return np.array([y[1], -9.81])

    def grows(t, y):
        if t > 1.0:
            return np.array([y[1], -9.81, 0.0])
        return np.array([y[1], -9.81])

    def main():
        out = []
        for fun in (raises, grows):
            try:
                fastode.solve_ivp(fun, (0.0, 2.0), [26.0, 0.0], method="RK45")
                out.append(None)
            except Exception as exc:
                out.append([type(exc).__name__, str(exc)])
        return out
'''


def test_failures_of_a_cached_function_are_reported(tmp_path):
    # the wrapper notes a failure in a per-process buffer: code loaded from disk must write
    # into this process's buffer (an address compiled in by the first process would not be)
    _write(tmp_path, ERRORS)
    first = _run(tmp_path)
    second = _run(tmp_path)
    assert second["stats"]["loaded"] >= 2 and second["stats"]["compiled"] == 0
    for run in (first, second):
        (kind, text), (kind2, text2) = run["result"]
        assert kind == "BadState" and "the ball left the model" in text
        assert kind2 == "ValueError" and "length 3" in text2 and "expected 2" in text2


def test_uncacheable_function_is_compiled_in_process(tmp_path):
    # a numba function of the user's own: its code cannot be keyed by value, never disk-cached
    source = '''
        import numba
        import numpy as np
        import fastode

        @numba.njit
        def rate(y):
            return 1.5 * y

        def fun(t, y):
            return -rate(y)

        def main():
            res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], method="RK45", rtol=1e-10,
                                    atol=1e-12)
            return res.y[0, -1]
    '''
    _write(tmp_path, source)
    for _ in range(2):
        run = _run(tmp_path)
        assert run["stats"]["uncacheable"] >= 1 and run["stats"]["loaded"] == 0
        np.testing.assert_allclose(run["result"], np.exp(-1.5), rtol=1e-8)
    assert not any(name.endswith(".nbi") for name in _cache_files(tmp_path))


def test_two_processes_writing_at_once(tmp_path):
    _write(tmp_path, DECAY.format(rate="1.25"))
    procs = [_start(tmp_path), _start(tmp_path)]
    runs = [_finish(p) for p in procs]
    for run in runs:
        np.testing.assert_allclose(run["result"], np.exp(-1.25), rtol=1e-8)
    third = _run(tmp_path)
    assert third["stats"]["loaded"] >= 1 and third["stats"]["compiled"] == 0
    assert third["result"] == runs[0]["result"]
    assert not [n for n in _cache_files(tmp_path) if ".tmp." in n]


def test_size_cap_evicts_least_recently_used(tmp_path):
    # every rate is another entry (~100 kB each); a 0.25 MB cap keeps the newest ones only
    for rate in ("1.0", "1.1", "1.2", "1.3", "1.4"):
        _write(tmp_path, DECAY.format(rate=rate))
        run = _run(tmp_path, FASTODE_CACHE_MAX_MB="0.25")
        np.testing.assert_allclose(run["result"], np.exp(-float(rate)), rtol=1e-8)
    folder = tmp_path / "cache" / "user"
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 0.25 * 2 ** 20
    index = [n for n in _cache_files(tmp_path) if n.endswith(".nbi")]
    assert 1 <= len(index) < 5
    last = _run(tmp_path, FASTODE_CACHE_MAX_MB="0.25")  # the newest entry survived
    assert last["stats"]["loaded"] >= 1 and last["stats"]["compiled"] == 0


def test_cache_off(tmp_path):
    _write(tmp_path, DECAY.format(rate="1.0"))
    run = _run(tmp_path, FASTODE_CACHE_MAX_MB="0")
    np.testing.assert_allclose(run["result"], np.exp(-1.0), rtol=1e-8)
    assert run["stats"]["saved"] == 0 and _cache_files(tmp_path) == []


def test_cli_info_and_clear(tmp_path):
    _write(tmp_path, DECAY.format(rate="1.0"))
    _run(tmp_path)
    cli = [sys.executable, "-m", "fastode.cli", "cache"]
    info = subprocess.run(cli + ["info"], env=_env(tmp_path), capture_output=True, text=True,
                          check=True).stdout
    assert str(tmp_path / "cache") in info and "user functions: 1 entries" in info
    subprocess.run(cli + ["clear"], env=_env(tmp_path), capture_output=True, text=True,
                   check=True)
    assert _cache_files(tmp_path) == []
    info = subprocess.run(cli + ["info"], env=_env(tmp_path), capture_output=True, text=True,
                          check=True).stdout
    assert "user functions: 0 entries" in info
    after = _run(tmp_path)  # compiled again, not loaded
    assert after["stats"]["loaded"] == 0 and after["stats"]["compiled"] >= 1


def test_cache_dir_location(monkeypatch, tmp_path):
    from fastode import user_cache
    monkeypatch.setenv("FASTODE_CACHE_DIR", str(tmp_path / "x"))
    assert user_cache.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("FASTODE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert user_cache.cache_dir() == tmp_path / "xdg" / "fastode"


def test_the_test_session_does_not_use_the_real_cache():
    from fastode import user_cache
    home = Path.home() / ".cache" / "fastode"
    assert home not in user_cache.cache_dir().parents and user_cache.cache_dir() != home
