"""The sparse direct path of the stiff drivers (issue #15): fastode.kernels.sparse_lu against
dense linear algebra, and solve_ivp's ``linear_solver`` against scipy and exact solutions."""
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.sparse

import fastode
from fastode import ivp_jacobian, pde
from fastode.kernels.jacobian import cpr_groups, pattern_columns
from fastode.kernels.sparse_lu import (SPARSE_LU_OUT_OF_SPACE, SPARSE_LU_REPIVOT,
                                       grow_factor_storage, sparse_lu_factor, sparse_lu_refactor,
                                       sparse_lu_solve, sparse_lu_workspace)


def _csc(A):
    """(col_ptr, rows, values) of a dense matrix's nonzeros plus its diagonal (the drivers'
    patterns always hold the diagonal)."""
    n = A.shape[0]
    cols = pattern_columns(scipy.sparse.csc_matrix(A))
    col_ptr = np.zeros(n + 1, dtype=np.int64)
    col_ptr[1:] = np.cumsum([c.size for c in cols])
    rows = np.concatenate(cols).astype(np.int64)
    values = A[rows, np.repeat(np.arange(n), np.diff(col_ptr))]
    return col_ptr, rows, np.ascontiguousarray(values)


def _factor(A, capacity=None, order=None):
    col_ptr, rows, values = _csc(A)
    n = A.shape[0]
    if order is None:
        order, cap = ivp_jacobian.sparse_lu_plan(col_ptr, rows, n)
    else:
        cap = n * n
    ws = sparse_lu_workspace(n, cap if capacity is None else capacity, values)
    info = sparse_lu_factor(col_ptr, rows, values, order, *ws)
    return info, ws, order, (col_ptr, rows, values)


def _solve(ws, order, b):
    Lp, Li, Lx, Up, Ui, Ux, pinv, x, _, _ = ws
    out = b.copy()
    sparse_lu_solve(Lp, Li, Lx, Up, Ui, Ux, pinv, order, out, x)
    return out


def _random_sparse(n, density, rng, dtype=float, diag=1.0):
    A = scipy.sparse.random(n, n, density=density, random_state=rng).toarray()
    if dtype is complex:
        A = A + 1j * scipy.sparse.random(n, n, density=density, random_state=rng).toarray()
    return A + diag * np.eye(n)


@pytest.mark.parametrize("dtype", [float, complex])
def test_factor_solves_random_systems(dtype):
    rng = np.random.default_rng(1)
    for n, density in ((5, 0.5), (60, 0.05), (200, 0.02)):
        A = _random_sparse(n, density, rng, dtype)
        info, ws, order, _ = _factor(A)
        assert info == 0
        b = rng.standard_normal(n) + (1j * rng.standard_normal(n) if dtype is complex else 0)
        x = _solve(ws, order, b)
        assert np.allclose(A @ x, b, rtol=0, atol=1e-12 * np.abs(b).max() * np.linalg.cond(A))
        assert np.allclose(x, np.linalg.solve(A, b), rtol=1e-10, atol=1e-12)


def test_off_diagonal_pivots_when_the_diagonal_is_small():
    # a zero diagonal everywhere (a permutation-like matrix): the diagonal cannot be the pivot
    rng = np.random.default_rng(2)
    n = 40
    P = np.eye(n)[rng.permutation(n)]
    A = P * (1.0 + rng.random(n))[:, None]
    A[np.arange(n), np.arange(n)] = 0.0
    A = A + 1e-14 * np.eye(n)  # structurally present, numerically tiny
    info, ws, order, _ = _factor(A)
    assert info == 0
    pinv = ws[6]
    assert (pinv != order.argsort()).any()  # some pivot left the diagonal
    b = rng.standard_normal(n)
    assert np.allclose(_solve(ws, order, b), np.linalg.solve(A, b), rtol=1e-10)


def test_singular_matrix_reports_its_column():
    A = np.eye(6)
    A[3, 3] = 0.0  # structurally present (the diagonal is always in the pattern), value zero
    info, _, _, _ = _factor(A)
    assert info > 0


def test_out_of_space_then_grown_storage():
    rng = np.random.default_rng(3)
    A = _random_sparse(80, 0.1, rng)
    info, ws, order, (col_ptr, rows, values) = _factor(A, capacity=90)
    assert info == SPARSE_LU_OUT_OF_SPACE
    Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark = ws
    while info == SPARSE_LU_OUT_OF_SPACE:
        Li, Lx, Ui, Ux = grow_factor_storage(Li, Lx, Ui, Ux)
        info = sparse_lu_factor(col_ptr, rows, values, order, Lp, Li, Lx, Up, Ui, Ux, pinv, x,
                                xi, mark)
    assert info == 0
    b = rng.standard_normal(80)
    ws = (Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark)
    assert np.allclose(_solve(ws, order, b), np.linalg.solve(A, b), rtol=1e-10)


def test_refactor_reuses_pivots_and_matches_a_fresh_factorisation():
    rng = np.random.default_rng(4)
    A = _random_sparse(120, 0.03, rng, diag=2.0)
    info, ws, order, (col_ptr, rows, values) = _factor(A)
    assert info == 0
    A2 = A.copy()
    nz = A2 != 0
    A2[nz] *= 1.0 + 0.2 * rng.random(nz.sum())
    _, _, values2 = _csc(A2)
    assert sparse_lu_refactor(col_ptr, rows, values2, order, *ws[:8]) == 0
    b = rng.standard_normal(120)
    assert np.allclose(_solve(ws, order, b), np.linalg.solve(A2, b), rtol=1e-10)
    # values that make a kept (diagonal) pivot vanish: asks for a factorisation with pivoting
    A3 = A.copy()
    A3[np.arange(120), np.arange(120)] = 1e-12
    _, _, values3 = _csc(A3)
    A3 += 0  # same pattern: the diagonal stays in it
    assert sparse_lu_refactor(col_ptr, rows, values3, order, *ws[:8]) == SPARSE_LU_REPIVOT


def test_plan_orders_for_low_fill():
    prob = pde.brusselator_2d(16)
    _, _, col_ptr, rows = cpr_groups(pattern_columns(prob.jac_sparsity), prob.n)
    order, capacity = ivp_jacobian.sparse_lu_plan(col_ptr, rows, prob.n)
    assert sorted(order) == list(range(prob.n))
    # the natural order fills the whole band n^2 wide; the fill-reducing order a fraction
    values = np.where(rows == np.repeat(np.arange(prob.n), np.diff(col_ptr)), 4.0, -0.5)
    fills = []
    for q in (order, np.arange(prob.n, dtype=np.int64)):
        ws = sparse_lu_workspace(prob.n, prob.n * prob.n, values)
        assert sparse_lu_factor(col_ptr, rows, values, q, *ws) == 0
        fills.append((ws[0][-1], ws[3][-1]))  # entries of L, of U
    assert max(fills[0]) <= capacity  # the bound is per factor
    fills = [sum(f) for f in fills]
    assert fills[0] < 0.5 * fills[1]


# ---- solve_ivp -------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_brusselator_sparse_matches_scipy_and_dense(method):
    prob = pde.brusselator_2d(12)
    opts = dict(method=method, rtol=1e-6, atol=1e-8, jac_sparsity=prob.jac_sparsity)
    sparse = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, **opts)
    assert sparse.success and sparse.linear_solver == "sparse"
    dense = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, linear_solver="dense", **opts)
    assert dense.linear_solver == "dense"
    ref = scipy.integrate.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, method="BDF", rtol=1e-11,
                                    atol=1e-13, jac_sparsity=prob.jac_sparsity)
    scale = np.abs(ref.y[:, -1]).max()
    # the same algorithm: the same steps as the dense LU, to round-off
    assert sparse.t.size == dense.t.size and sparse.nlu == dense.nlu
    assert np.abs(sparse.y[:, -1] - dense.y[:, -1]).max() < 1e-10 * scale
    assert np.abs(sparse.y[:, -1] - ref.y[:, -1]).max() < 1e-4 * scale


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_stiff_rotation_needs_off_diagonal_pivots(method):
    # y' = A y with 2x2 blocks [[-1, w], [-w, -1]] (w = 1e4) coupled along a ring: the
    # iteration matrix I - c A has off-diagonal entries c w >> 1, so partial pivoting leaves
    # the diagonal; the exact solution is expm(A t) y0
    n_blocks = 40
    n = 2 * n_blocks
    A = np.zeros((n, n))
    for k in range(n_blocks):
        i = 2 * k
        A[i:i + 2, i:i + 2] = [[-1.0, 1e4], [-1e4, -1.0]]
        j = (i + 2) % n
        A[i, j] = 0.5
    y0 = np.linspace(1.0, 2.0, n)

    def fun(t, y):
        return A @ y

    sol = fastode.solve_ivp(fun, (0.0, 1e-3), y0, method=method, rtol=1e-8, atol=1e-10,
                            jac_sparsity=A != 0)
    assert sol.success and sol.linear_solver == "sparse"
    exact = scipy.linalg.expm(A * 1e-3) @ y0
    assert np.abs(sol.y[:, -1] - exact).max() < 1e-5 * np.abs(exact).max()


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_storage_bound_too_small_grows(monkeypatch, method):
    prob = pde.brusselator_2d(8)
    opts = dict(method=method, rtol=1e-6, atol=1e-8, jac_sparsity=prob.jac_sparsity)
    good = fastode.solve_ivp(prob.fun, (0.0, 0.5), prob.y0, linear_solver="sparse", **opts)
    real_plan = ivp_jacobian.sparse_lu_plan

    def tiny_plan(col_ptr, rows, n):
        order, _ = real_plan(col_ptr, rows, n)
        return order, 1

    monkeypatch.setattr("fastode.ivp_implicit.sparse_lu_plan", tiny_plan)
    grown = fastode.solve_ivp(prob.fun, (0.0, 0.5), prob.y0, linear_solver="sparse", **opts)
    assert grown.linear_solver == "sparse"
    assert np.array_equal(grown.y, good.y)


def test_linear_solver_choice_and_errors():
    prob = pde.brusselator_2d(8)  # 128 unknowns, a pattern far from a band
    kw = dict(method="BDF", jac_sparsity=prob.jac_sparsity)
    assert fastode.solve_ivp(prob.fun, (0.0, 0.1), prob.y0, **kw).linear_solver == "sparse"
    heat = pde.heat_1d(100, 1.0)
    res = fastode.solve_ivp(heat.fun, (0.0, 0.01), heat.y0, method="BDF",
                            jac_sparsity=heat.jac_sparsity)
    assert res.linear_solver == "banded"
    res = fastode.solve_ivp(heat.fun, (0.0, 0.01), heat.y0, method="BDF", lband=1, uband=1,
                            linear_solver="sparse")
    assert res.linear_solver == "sparse" and res.success
    assert fastode.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0, 2.0],
                             method="BDF").linear_solver == "dense"
    with pytest.raises(ValueError, match="linear_solver"):
        fastode.solve_ivp(prob.fun, (0.0, 0.1), prob.y0, linear_solver="lu", **kw)
    with pytest.raises(ValueError, match="linear_solver"):
        fastode.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0, 2.0], method="BDF",
                          linear_solver="sparse")
    with pytest.raises(ValueError, match="linear_solver"):
        fastode.solve_ivp(prob.fun, (0.0, 0.1), prob.y0, linear_solver="banded", **kw)
    with pytest.raises(ValueError, match="linear_solver"):
        fastode.solve_ivp(prob.fun, (0.0, 0.1), prob.y0, method="BDF", linear_solver="sparse",
                          jac=lambda t, y: np.eye(prob.n))


# ---- Newton-Krylov (fastode.kernels.krylov in the BDF driver) ----------------------------------

@pytest.mark.parametrize("preconditioner", ["ilu0", None])
def test_krylov_brusselator_against_a_tight_reference(preconditioner):
    prob = pde.brusselator_2d(12, alpha=0.5)  # stiffer than the default alpha
    opts = dict(method="BDF", rtol=1e-6, atol=1e-8, jac_sparsity=prob.jac_sparsity)
    ref = scipy.integrate.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, method="BDF", rtol=1e-11,
                                    atol=1e-13, jac_sparsity=prob.jac_sparsity)
    scipy_loose = scipy.integrate.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, **opts)
    sol = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, linear_solver="krylov",
                            preconditioner=preconditioner, **opts)
    assert sol.success and sol.linear_solver == "krylov" and sol.nli > 0
    scale = np.abs(ref.y[:, -1]).max()
    err = np.abs(sol.y[:, -1] - ref.y[:, -1]).max() / scale
    err_scipy = np.abs(scipy_loose.y[:, -1] - ref.y[:, -1]).max() / scale
    # as accurate as scipy's BDF with its exact linear solves, within a small factor
    assert err < max(5.0 * err_scipy, 1e-6), (err, err_scipy)


def test_krylov_preconditioner_saves_iterations():
    # stiff diffusion (alpha = 2): 765 GMRES iterations with ILU(0), 1168 without (at the
    # default alpha = 0.02 GMRES needs 1-2 per Newton iteration either way)
    prob = pde.brusselator_2d(12, alpha=2.0)
    kw = dict(method="BDF", rtol=1e-6, atol=1e-8, jac_sparsity=prob.jac_sparsity,
              linear_solver="krylov")
    ilu = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, **kw)
    plain = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, preconditioner=None, **kw)
    assert ilu.success and plain.success
    assert ilu.nli < plain.nli


def test_auto_chooses_krylov_for_large_grids_and_retries_with_sparse_lu(monkeypatch):
    import fastode.ivp_implicit as ivp_implicit
    prob = pde.brusselator_2d(16)  # 512 unknowns: KRYLOV_MIN_SIZE
    kw = dict(method="BDF", rtol=1e-5, atol=1e-8, jac_sparsity=prob.jac_sparsity)
    sol = fastode.solve_ivp(prob.fun, (0.0, 0.2), prob.y0, **kw)
    assert sol.success and sol.linear_solver == "krylov"
    # the retry mechanism: a Krylov status listed in KRYLOV_RETRY solves again with the LU
    monkeypatch.setattr(ivp_implicit, "KRYLOV_RETRY", (0,))
    again = fastode.solve_ivp(prob.fun, (0.0, 0.2), prob.y0, **kw)
    assert again.success and again.linear_solver == "sparse"
    assert "solved again with the sparse LU" in again.message
    # a solver the user chose is not replaced
    forced = fastode.solve_ivp(prob.fun, (0.0, 0.2), prob.y0, linear_solver="krylov", **kw)
    assert forced.linear_solver == "krylov"


def test_krylov_option_errors():
    prob = pde.brusselator_2d(8)
    kw = dict(method="BDF", jac_sparsity=prob.jac_sparsity, linear_solver="krylov")
    for bad in (dict(preconditioner="jacobi"), dict(krylov_dim=0), dict(krylov_dim=2.5),
                dict(krylov_restarts=-1), dict(krylov_restarts=True)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            fastode.solve_ivp(prob.fun, (0.0, 0.1), prob.y0, **kw, **bad)
    with pytest.raises(ValueError, match="krylov"):
        fastode.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0, 2.0], method="BDF",
                          linear_solver="krylov")
    with pytest.raises(ValueError, match="krylov"):
        fastode.solve_ivp(prob.fun, (0.0, 0.1), prob.y0, method="Radau",
                          jac_sparsity=prob.jac_sparsity, linear_solver="krylov")
