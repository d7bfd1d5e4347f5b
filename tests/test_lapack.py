"""LAPACK's LU for the large dense systems (fastode.kernels.lapack, issue #15).

From ``LAPACK_MIN_N`` unknowns up, fastode.kernels.linalg's ``lu_factor`` / ``lu_solve`` /
``lu_solve_row`` (and the copies the drivers inline) call scipy's getrf/getrs; below it the
hand-written LU runs (tests/test_linalg.py).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from numba import njit

import fastode
from fastode.kernels.lapack import LAPACK_MIN_N
from fastode.kernels.linalg import lu_factor, lu_solve, lu_solve_row

ROOT = Path(__file__).resolve().parents[1]
EPS = np.finfo(np.float64).eps
SIZES = [LAPACK_MIN_N, LAPACK_MIN_N + 45]


def _system(n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    b = rng.standard_normal(n)
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal((n, n))
        b = b + 1j * rng.standard_normal(n)
    return a, b


def _backward_error(a, x, b):
    """||A x - b|| / (||A|| ||x|| + ||b||) in the max norm: a few eps for a stable solver."""
    r = a @ x - b
    return np.abs(r).max() / (np.abs(a).sum(axis=1).max() * np.abs(x).max() + np.abs(b).max())


@njit(cache=False)
def _solve_row(lu, piv, b, row):
    lu_solve_row(lu, piv, b, row)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_lapack_branch_solves_like_numpy(n, dtype):
    a, b = _system(n, dtype, n)
    lu = a.copy()
    piv = np.empty(n, dtype=np.int64)
    assert lu_factor(lu, piv) == 0
    # the LAPACK branch was taken: the factors are getrf's of A^T (C order read as Fortran's),
    # pivots from 0 as scipy.linalg.lu_factor gives them
    lu_ref, piv_ref = scipy.linalg.lu_factor(a.T)
    np.testing.assert_allclose(lu, lu_ref.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(piv, piv_ref)
    x = lu_solve(lu, piv, b.copy())
    assert _backward_error(a, x, b) < 10 * n * EPS
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-8, atol=1e-10)
    # one row of a 2-D right-hand side (the Rosenbrock stages), the other rows untouched
    rows = np.vstack([b * 2.0, b, b * 3.0])
    _solve_row(lu, piv, rows, 1)
    assert _backward_error(a, rows[1], b) < 10 * n * EPS
    np.testing.assert_array_equal(rows[0], b * 2.0)
    np.testing.assert_array_equal(rows[2], b * 3.0)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_factor_reused_for_many_solves(dtype):
    # a factorisation is solved many times (BDF reuses one for several steps): the pivots
    # stored between the calls must stay valid
    n = LAPACK_MIN_N + 8
    a, _ = _system(n, dtype, 1)
    lu = a.copy()
    piv = np.empty(n, dtype=np.int64)
    assert lu_factor(lu, piv) == 0
    saved = piv.copy()
    rng = np.random.default_rng(2)
    for _ in range(5):
        b = rng.standard_normal(n).astype(dtype)
        x = lu_solve(lu, piv, b.copy())
        assert _backward_error(a, x, b) < 10 * n * EPS
    np.testing.assert_array_equal(piv, saved)


@pytest.mark.parametrize("n", [LAPACK_MIN_N - 1, LAPACK_MIN_N, 2 * LAPACK_MIN_N])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_singular_matrix_reported_on_both_sides_of_the_threshold(n, dtype):
    a, _ = _system(n, dtype, 3)
    piv = np.empty(n, dtype=np.int64)
    column = a.copy()
    column[:, n // 2] = 0.0                   # an exactly zero pivot, wherever the LU finds it
    assert lu_factor(column, piv) != 0
    assert lu_factor(np.zeros((n, n), dtype=dtype), piv) == 1
    ok = a.copy()
    assert lu_factor(ok, piv) == 0


def test_non_contiguous_arrays_take_a_copy():
    # the drivers pass C-ordered arrays; other layouts (typed in the band drivers' dense branch,
    # never run there) are still solved correctly
    n = LAPACK_MIN_N + 3
    a, b = _system(n, np.float64, 4)
    f = np.asfortranarray(a)
    piv = np.empty(n, dtype=np.int64)
    assert lu_factor(f, piv) == 0
    wide = np.zeros((n, 3))
    wide[:, 1] = b
    lu_solve(f, piv, wide[:, 1])              # a strided view, solved in place
    assert _backward_error(a, wide[:, 1], b) < 10 * n * EPS
    rows = np.asfortranarray(np.vstack([b, b]))
    _solve_row(f, piv, rows, 0)
    assert _backward_error(a, rows[0], b) < 10 * n * EPS
    np.testing.assert_array_equal(rows[1], b)


_PROBE = """
import json, numpy as np
from fastode.kernels.linalg import lu_factor, lu_solve
n = {n}
rng = np.random.default_rng(5)
a = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
b = rng.standard_normal(n) + 0j
lu = a.copy()
piv = np.empty(n, dtype=np.int64)
info = lu_factor(lu, piv)
x = lu_solve(lu, piv, b.copy())
a_r = a.real.copy()
lu_r = a_r.copy()
info_r = lu_factor(lu_r, piv)
x_r = lu_solve(lu_r, piv, b.real.copy())
print(json.dumps({{
    "info": int(info) + int(info_r),
    "residual": float(max(np.abs(a @ x - b).max(), np.abs(a_r @ x_r - b.real).max())),
    "hits": sum(lu_factor.stats.cache_hits.values()) + sum(lu_solve.stats.cache_hits.values()),
    "misses": sum(lu_factor.stats.cache_misses.values())
              + sum(lu_solve.stats.cache_misses.values())}}))
"""


def test_lapack_kernels_cached_and_loaded_in_a_fresh_process(tmp_path):
    # the cached machine code calls LAPACK through a linker symbol registered at import, not an
    # address of the compiling process: the second process loads the kernels from the cache
    # (no compilation) and must still reach LAPACK and solve correctly
    env = dict(os.environ, FASTODE_KERNEL_CACHE_DIR=str(tmp_path / "kernels"),
               NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=str(ROOT))
    script = _PROBE.format(n=LAPACK_MIN_N + 10)

    def probe():
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, text=True,
                             capture_output=True, timeout=300, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    first = probe()
    assert first["misses"] == 4 and first["hits"] == 0     # real and complex, factor and solve
    second = probe()
    assert second["misses"] == 0 and second["hits"] == 4
    for run in (first, second):
        assert run["info"] == 0
        assert run["residual"] < 1e-10


# ---- end to end: a dense stiff linear system above the threshold -------------------------------
N_DENSE = LAPACK_MIN_N + 8


def _dense_problem():
    rng = np.random.default_rng(7)
    q, r = np.linalg.qr(rng.standard_normal((N_DENSE, N_DENSE)))
    q = q * np.sign(np.diag(r))
    lam = np.logspace(0.0, 4.0, N_DENSE)
    a = np.ascontiguousarray(-(q * lam) @ q.T)       # dense, eigenvalues -1 .. -1e4
    y0 = rng.uniform(-1.0, 1.0, N_DENSE)
    return a, q, lam, y0


def dense_linear(t, y, a):
    return a @ y


def dense_linear_jac(t, y, a):
    return a


@pytest.mark.parametrize("method", ["BDF", "Radau", "Rodas5P", "KenCarp4", "LSODA"])
def test_dense_stiff_system_above_threshold_matches_exact_solution(method):
    a, q, lam, y0 = _dense_problem()
    t_eval = np.array([1e-3, 1e-2, 0.1, 1.0, 2.0])
    rtol, atol = 1e-8, 1e-10
    sol = fastode.solve_ivp(dense_linear, (0.0, 2.0), y0, method=method, t_eval=t_eval,
                            args=(a,), jac=dense_linear_jac, rtol=rtol, atol=atol)
    assert sol.success, sol.message
    exact = q @ (np.exp(-np.outer(lam, t_eval)) * (q.T @ y0)[:, None])
    # global error: a modest multiple of the local tolerance
    err = np.abs(sol.y - exact) / (atol + rtol * np.abs(exact))
    assert err.max() < 100.0, (method, err.max())
    assert sol.nlu > 0


@pytest.mark.parametrize("method", ["BDF", "Radau", "Rodas4"])
def test_singular_iteration_matrix_above_threshold_fails_with_message(method):
    # M = 0 and J = 0: M - c J is exactly singular; LAPACK's info must stop the solve as the
    # hand-written LU's does for small systems (tests/test_stiff_api.py)
    n = N_DENSE
    sol = fastode.solve_ivp(lambda t, y: np.ones(n), (0.0, 1.0), np.zeros(n), method=method,
                            mass=np.zeros((n, n)))
    assert not sol.success and sol.status == -1
    assert "singular" in sol.message
