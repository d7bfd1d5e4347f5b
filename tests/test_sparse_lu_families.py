"""The sparse direct path (issue #15, fastode.kernels.sparse_lu) in the Rosenbrock (Rodas5P,
Rodas4, Rosenbrock23) and ESDIRK (KenCarp4, Kvaerno5, implicit_euler) drivers: the same steps as
the dense LU, accurate against scipy and exact solutions, off-diagonal pivots, storage growth,
and the linear_solver choice ("auto" never picks Newton-Krylov, which only BDF has)."""
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.sparse

import fastode
from fastode import ivp_jacobian, pde
from fastode.kernels.jacobian import cpr_groups, pattern_columns
from fastode.kernels.sparse_lu import sparse_lu_factor, sparse_lu_workspace

METHODS = ["Rodas5P", "Rodas4", "Rosenbrock23", "KenCarp4", "Kvaerno5", "implicit_euler"]
# relative error at t = 1.5 (rtol 1e-6, atol 1e-8) against scipy at rtol 1e-11 that the dense
# LU reaches too (measured 2e-8 .. 1.5e-5); implicit Euler is first order: 7.5e-4
ERROR_BOUND = {"implicit_euler": 3e-3}


@pytest.fixture(scope="module")
def bruss10():
    # one problem object for the module: each new one compiles its RHS again (seconds)
    return pde.brusselator_2d(10)  # 200 unknowns, [u, v] layout: a pattern far from a band


@pytest.fixture(scope="module")
def brusselator(bruss10):
    prob = bruss10
    ref = scipy.integrate.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, method="BDF", rtol=1e-11,
                                    atol=1e-13, jac_sparsity=prob.jac_sparsity)
    assert ref.success
    return prob, ref.y[:, -1]


@pytest.mark.parametrize("method", METHODS)
def test_brusselator_sparse_matches_dense_and_scipy(brusselator, method):
    prob, ref = brusselator
    opts = dict(method=method, rtol=1e-6, atol=1e-8, jac_sparsity=prob.jac_sparsity)
    sparse = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, linear_solver="sparse", **opts)
    dense = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, linear_solver="dense", **opts)
    assert sparse.success and sparse.linear_solver == "sparse"
    assert dense.success and dense.linear_solver == "dense"
    scale = np.abs(ref).max()
    # the same algorithm with another LU's round-off: the same steps, the same answer
    assert sparse.t.size == dense.t.size
    assert np.abs(sparse.y[:, -1] - dense.y[:, -1]).max() < 1e-10 * scale
    err = np.abs(sparse.y[:, -1] - ref).max() / scale
    assert err < ERROR_BOUND.get(method, 1e-4), err


def _stiff_pivot_problem(w=1e4, n_blocks=40):
    """y' = A (y - g(t)) + g'(t), exact y = g + expm(A t) (y0 - g(0)), g_i = cos(t + i / 7):
    2x2 blocks [[0, w], [-w, -2w]] (eigenvalues -w, twice) coupled along a ring. Once the
    transient has decayed the steps grow, a = 1 / (gamma h) falls far below w, and the
    iteration matrix a I - A has zero-ish diagonals beside entries w in the same column:
    partial pivoting leaves the diagonal."""
    n = 2 * n_blocks
    A = np.zeros((n, n))
    for k in range(n_blocks):
        i = 2 * k
        A[i:i + 2, i:i + 2] = [[0.0, w], [-w, -2.0 * w]]
        A[i, (i + 2) % n] = 0.5
        A[i + 1, (i + 3) % n] = 0.5
    phase = np.arange(n) / 7.0

    def fun(t, y):
        return A @ (y - np.cos(t + phase)) - np.sin(t + phase)

    y0 = np.cos(phase) + np.linspace(1.0, 2.0, n)

    def exact(t):
        return np.cos(t + phase) + scipy.linalg.expm(A * t) @ (y0 - np.cos(phase))

    return A, fun, y0, exact


# the next test's steps reach MIN_MAX_STEP: then a = 1 / (gamma h) (I - h gamma J for ESDIRK;
# gamma >= 0.21 in these methods) is at most 1 / (0.21 MIN_MAX_STEP) < 320 in some step
MIN_MAX_STEP = 0.015


@pytest.mark.parametrize("a", [20.0, 320.0])
def test_stiff_pivot_problem_pivots_off_the_diagonal(a):
    # the premise of the next test: at the step sizes taken there, the factorisation of the
    # plan's order picks pivots off the diagonal (and outgrows the plan's storage bound)
    A, _, _, _ = _stiff_pivot_problem()
    n = A.shape[0]
    S = scipy.sparse.csc_matrix((A != 0) | np.eye(n, dtype=bool))
    _, _, col_ptr, rows = cpr_groups(pattern_columns(S), n)
    order, capacity = ivp_jacobian.sparse_lu_plan(col_ptr, rows, n)
    W = a * np.eye(n) - A
    values = W[rows, np.repeat(np.arange(n), np.diff(col_ptr))]
    ws = sparse_lu_workspace(n, n * n, values)
    assert sparse_lu_factor(col_ptr, rows, values, order, *ws) == 0
    assert (ws[6] != order.argsort()).sum() > n // 4  # pinv: pivots off the diagonal
    assert max(ws[0][-1], ws[3][-1]) > capacity  # entries of L, of U


@pytest.mark.parametrize("method", ["Rodas5P", "Rosenbrock23", "KenCarp4", "implicit_euler"])
def test_stiff_problem_with_off_diagonal_pivots_matches_the_exact_solution(method):
    A, fun, y0, exact = _stiff_pivot_problem()
    # the low-order methods at a tolerance where their steps grow as large
    rtol = 1e-4 if method in ("implicit_euler", "Rosenbrock23") else 1e-7
    sol = fastode.solve_ivp(fun, (0.0, 2.0), y0, method=method, rtol=rtol, atol=1e-9,
                            jac_sparsity=A != 0, linear_solver="sparse")
    assert sol.success and sol.linear_solver == "sparse"
    # the steps grew far beyond 1 / w: the pivots were off the diagonal (test above)
    assert np.diff(sol.t).max() > MIN_MAX_STEP
    dense = fastode.solve_ivp(fun, (0.0, 2.0), y0, method=method, rtol=rtol, atol=1e-9,
                              jac_sparsity=A != 0, linear_solver="dense")
    ref = exact(2.0)
    err = np.abs(sol.y[:, -1] - ref).max() / np.abs(ref).max()
    err_dense = np.abs(dense.y[:, -1] - ref).max() / np.abs(ref).max()
    assert sol.t.size == dense.t.size
    assert err < 100 * rtol and err < 1.01 * err_dense + 1e-12, (err, err_dense)


@pytest.mark.parametrize("method", ["Rodas4", "Rosenbrock23", "Kvaerno5"])
def test_storage_bound_too_small_grows(monkeypatch, method, bruss10):
    prob = bruss10
    opts = dict(method=method, rtol=1e-6, atol=1e-8, jac_sparsity=prob.jac_sparsity,
                linear_solver="sparse")
    good = fastode.solve_ivp(prob.fun, (0.0, 0.5), prob.y0, **opts)
    real_plan = ivp_jacobian.sparse_lu_plan

    def tiny_plan(col_ptr, rows, n):
        order, _ = real_plan(col_ptr, rows, n)
        return order, 1

    monkeypatch.setattr("fastode.ivp_implicit.sparse_lu_plan", tiny_plan)
    grown = fastode.solve_ivp(prob.fun, (0.0, 0.5), prob.y0, **opts)
    assert good.success and grown.success and grown.linear_solver == "sparse"
    assert np.array_equal(grown.t, good.t) and np.array_equal(grown.y, good.y)
    assert grown.nlu == good.nlu and grown.naccept == good.naccept


def test_auto_picks_the_sparse_lu_not_krylov(bruss10):
    prob = pde.brusselator_2d(20)  # 800 unknowns: BDF's "auto" takes Newton-Krylov here
    kw = dict(rtol=1e-5, atol=1e-8, jac_sparsity=prob.jac_sparsity)
    for method in METHODS:
        sol = fastode.solve_ivp(prob.fun, (0.0, 0.05), prob.y0, method=method, **kw)
        assert sol.success and sol.linear_solver == "sparse", method
    assert fastode.solve_ivp(prob.fun, (0.0, 0.05), prob.y0, method="BDF",
                             **kw).linear_solver == "krylov"
    with pytest.raises(ValueError, match="krylov"):
        fastode.solve_ivp(prob.fun, (0.0, 0.05), prob.y0, method="Rodas5P",
                          linear_solver="krylov", **kw)
    # a mass matrix keeps the dense LU
    small = bruss10
    res = fastode.solve_ivp(small.fun, (0.0, 0.05), small.y0, method="Rodas5P",
                            jac_sparsity=small.jac_sparsity, mass=np.eye(small.n))
    assert res.success and res.linear_solver == "dense"
    with pytest.raises(ValueError, match="linear_solver"):
        fastode.solve_ivp(small.fun, (0.0, 0.05), small.y0, method="KenCarp4",
                          jac_sparsity=small.jac_sparsity, mass=np.eye(small.n),
                          linear_solver="sparse")


def test_fixed_step_implicit_euler_sparse(bruss10):
    prob = bruss10
    kw = dict(method="implicit_euler", step=1e-3, jac_sparsity=prob.jac_sparsity)
    sparse = fastode.solve_ivp(prob.fun, (0.0, 0.2), prob.y0, linear_solver="sparse", **kw)
    dense = fastode.solve_ivp(prob.fun, (0.0, 0.2), prob.y0, linear_solver="dense", **kw)
    assert sparse.success and sparse.linear_solver == "sparse"
    assert sparse.t.size == dense.t.size == 201
    assert np.abs(sparse.y - dense.y).max() < 1e-10 * np.abs(dense.y).max()
