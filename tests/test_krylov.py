"""fastode.kernels.krylov (issue #15): matrix-free GMRES for (I - c J) x = b, ILU(0) of I - c J on
J's pattern, the grouped finite-difference values of J, and their status codes.

The residuals are checked with the exact (analytic) Jacobian of the 2-D Brusselator, so the
difference quotients GMRES uses for J v are checked with it."""
import numpy as np
import pytest
import scipy.sparse as sp
from numba import carray, cfunc, types

from fastode import pde
from fastode.kernels import krylov as K
from fastode.kernels.jacobian import cpr_groups, pattern_columns
from fastode.rhs import compile_rhs

ALPHA = 0.02
RTOL, ATOL = 1e-6, 1e-8
# CVODE's linear tolerance: 0.05 x the Newton tolerance (scipy BDF's, at rtol 1e-6)
DELTA = 0.05 * max(10 * np.finfo(float).eps / RTOL, min(0.03, RTOL ** 0.5))
P0 = np.zeros(1)


def brusselator_jacobian(N, y, alpha=ALPHA):
    """The exact Jacobian of fastode.pde.brusselator_2d(N) at y (scipy.sparse, CSC)."""
    h = 1.0 / N
    D = sp.diags([np.ones(N - 1), -2.0 * np.ones(N), np.ones(N - 1)], [-1, 0, 1]).tolil()
    D[0, N - 1] = D[N - 1, 0] = 1.0  # periodic
    D = sp.csr_matrix(D) / h ** 2
    eye = sp.identity(N)
    lap = alpha * (sp.kron(eye, D) + sp.kron(D, eye))
    M = N * N
    u, v = y[:M], y[M:]
    return sp.bmat([[lap + sp.diags(2 * u * v - 4.4), sp.diags(u * u)],
                    [sp.diags(3.4 - 2 * u * v), lap + sp.diags(-u * u)]]).tocsc()


def smooth_state(N):
    """A smooth state around the Brusselator's steady state (u, v) = (1, 3.4) (on the limit
    cycle's scale): J's reaction part has eigenvalues with real part <= ~1 there, as along
    the solution once its initial transient has passed."""
    x = np.arange(N) / N
    X, Y = np.meshgrid(x, x)
    u = 1.0 + 0.5 * np.sin(2 * np.pi * X) * np.cos(2 * np.pi * Y)
    v = 3.4 + 0.5 * np.cos(2 * np.pi * (X + Y))
    return np.concatenate([u.ravel(), v.ravel()])


class Bruss:
    def __init__(self, N):
        self.prob = pde.brusselator_2d(N)
        self.n = n = self.prob.n
        self.struct = cpr_groups(pattern_columns(self.prob.jac_sparsity), n)
        self.N = N
        self.compiled = None

    @property
    def rhs(self):
        if self.compiled is None:  # compiled on first use; the object keeps the address alive
            self.compiled = compile_rhs(self.prob.fun, self.n, (), False, False)
        return self.compiled.address


@pytest.fixture(scope="module")
def bruss():
    cache = {}

    def get(N):
        if N not in cache:
            cache[N] = Bruss(N)
        return cache[N]
    return get


def wrms(v, scale):
    return np.sqrt(np.mean((v / scale) ** 2))


def dense_ilu0(A, pattern):
    """ILU(0) by rows (Saad, Iterative Methods for Sparse Linear Systems, Algorithm 10.4): L
    (unit, strictly lower) and U overwrite A on the pattern."""
    a = np.array(A, dtype=float)
    n = a.shape[0]
    for i in range(1, n):
        for k in range(i):
            if pattern[i, k]:
                a[i, k] /= a[k, k]
                for j in range(k + 1, n):
                    if pattern[i, j]:
                        a[i, j] -= a[i, k] * a[k, j]
    return a


def ilu_dense(lu, col_ptr, rows):
    """ilu0_factor's factors as one dense matrix (L strictly below the diagonal, U on and above
    it: ilu0_factor stores 1 / U[j, j] on the diagonal)."""
    n = col_ptr.size - 1
    a = sp.csc_matrix((lu, rows, col_ptr), shape=(n, n)).toarray()
    np.fill_diagonal(a, 1.0 / np.diag(a))
    return a


def csc_values(matrix, col_ptr, rows):
    """The entries of a sparse matrix at the pattern positions (aligned with ``rows``)."""
    cols = np.repeat(np.arange(col_ptr.size - 1), np.diff(col_ptr))
    return np.asarray(matrix.tocsr()[rows, cols]).ravel()


def random_pattern(n, density, seed):
    rng = np.random.default_rng(seed)
    pat = sp.random(n, n, density=density, random_state=rng, format="csc")
    pat = (pat + sp.identity(n)).tocsc()
    return pat, rng


# ---- ILU(0) -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_ilu0_factors_equal_dense_reference(seed):
    n = 40
    pat, rng = random_pattern(n, 0.12, seed)
    _, _, col_ptr, rows = cpr_groups(pattern_columns(pat), n)
    jvals = rng.standard_normal(rows.size)
    c = 0.3
    lu, diag, pos = K.ilu_workspace(col_ptr)
    assert K.ilu0_factor(col_ptr, rows, jvals, c, lu, diag, pos) == K.KRYLOV_SUCCESS
    assert np.all(pos == -1)
    J = sp.csc_matrix((jvals, rows, col_ptr), shape=(n, n)).toarray()
    mask = sp.csc_matrix((np.ones(rows.size), rows, col_ptr), shape=(n, n)).toarray() != 0
    ref = dense_ilu0(np.eye(n) - c * J, mask)
    mine = ilu_dense(lu, col_ptr, rows)
    np.testing.assert_allclose(mine[mask], ref[mask], rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    # it is an incomplete factorisation: exact on the pattern, fill-in dropped
    L, U = np.tril(mine, -1) + np.eye(n), np.triu(mine)
    LU = L @ U
    A = np.eye(n) - c * J
    np.testing.assert_allclose(LU[mask], A[mask], atol=1e-10 * np.abs(A).max())
    assert np.abs(LU[~mask]).max() > 1e-3  # the pattern does drop fill-in here
    # and ilu0_solve applies (L U)^{-1}
    r = rng.standard_normal(n)
    z = r.copy()
    K.ilu0_solve(col_ptr, rows, lu, diag, z)
    np.testing.assert_allclose(LU @ z, r, atol=1e-10 * np.abs(r).max())


def test_ilu0_of_brusselator_equals_dense_reference(bruss):
    b = bruss(8)
    _, _, col_ptr, rows = b.struct
    y = smooth_state(8)
    J = brusselator_jacobian(8, y)
    jvals = csc_values(J, col_ptr, rows)
    lu, diag, pos = K.ilu_workspace(col_ptr)
    c = 0.05
    assert K.ilu0_factor(col_ptr, rows, jvals, c, lu, diag, pos) == K.KRYLOV_SUCCESS
    mask = b.prob.jac_sparsity.toarray() != 0
    mask |= np.eye(b.n, dtype=bool)
    ref = dense_ilu0(np.eye(b.n) - c * J.toarray(), mask)
    mine = ilu_dense(lu, col_ptr, rows)
    np.testing.assert_allclose(mine[mask], ref[mask], rtol=1e-10, atol=1e-13)


def test_ilu0_statuses():
    # column-major 3x3 pattern: full
    col_ptr = np.array([0, 3, 6, 9], dtype=np.int64)
    rows = np.array([0, 1, 2] * 3, dtype=np.int64)
    lu, diag, pos = K.ilu_workspace(col_ptr)
    ones = np.ones(9)
    # c = 1, J = all ones: A = I - ones: first pivot 1 - 1 = 0
    assert K.ilu0_factor(col_ptr, rows, ones, 1.0, lu, diag, pos) == K.KRYLOV_SINGULAR
    assert np.all(pos == -1)  # scratch left clean for the next factorisation
    bad = ones.copy()
    bad[4] = np.nan
    assert K.ilu0_factor(col_ptr, rows, bad, 0.1, lu, diag, pos) == K.KRYLOV_NON_FINITE
    assert K.ilu0_factor(col_ptr, rows, ones, 0.1, lu, diag, pos) == K.KRYLOV_SUCCESS
    unsorted = np.array([0, 2, 1] + [0, 1, 2] * 2, dtype=np.int64)
    assert K.ilu0_factor(col_ptr, unsorted, ones, 0.1, lu, diag, pos) == K.ILU_BAD_PATTERN
    no_diag = np.array([0, 2, 3, 5], dtype=np.int64)  # column 1 holds row 0 only
    rows_nd = np.array([0, 1, 0, 1, 2], dtype=np.int64)
    lu2, diag2, pos2 = K.ilu_workspace(no_diag)
    assert K.ilu0_factor(no_diag, rows_nd, np.ones(5), 0.1, lu2, diag2, pos2) == \
        K.ILU_BAD_PATTERN


# ---- J's values on the pattern ----------------------------------------------------------------

def test_grouped_jacobian_values_match_exact_jacobian(bruss):
    b = bruss(16)
    group_ptr, group_cols, col_ptr, rows = b.struct
    y = smooth_state(16)
    f0 = b.prob.fun(0.0, y)
    jvals = np.full(rows.size, np.nan)
    calls = K.grouped_jacobian_values(b.rhs, P0, 0.0, y, f0, np.full(b.n, ATOL), group_ptr,
                                      group_cols, col_ptr, rows, jvals, *np.empty((3, b.n)))
    assert calls == group_ptr.size - 1 < 20  # one RHS call per group, not per column
    exact = csc_values(brusselator_jacobian(16, y), col_ptr, rows)
    # forward differences, increments ~sqrt(eps): errors ~1e-7 of the entries' size
    np.testing.assert_allclose(jvals, exact, rtol=0, atol=1e-6 * np.abs(exact).max())


# ---- GMRES --------------------------------------------------------------------------------------

def solve(b, y, c, rhs_vec, prec, maxl=30, max_restarts=20, delta=DELTA):
    """GMRES on the Brusselator ``b`` at state y; returns (status, iters, nfev, res), x."""
    n = b.n
    group_ptr, group_cols, col_ptr, rows = b.struct
    f0 = b.prob.fun(0.0, y)
    scale = ATOL + RTOL * np.abs(y)
    lu, diag, pos = K.ilu_workspace(col_ptr)
    if prec == K.PREC_ILU0:
        jvals = np.empty(rows.size)
        K.grouped_jacobian_values(b.rhs, P0, 0.0, y, f0, np.full(n, ATOL), group_ptr,
                                  group_cols, col_ptr, rows, jvals, *np.empty((3, n)))
        assert K.ilu0_factor(col_ptr, rows, jvals, c, lu, diag, pos) == K.KRYLOV_SUCCESS
    V, H = K.krylov_workspace(n, maxl)
    x = np.full(n, np.nan)
    out = K.gmres(b.rhs, P0, 0.0, y, f0, c, rhs_vec, scale, delta, maxl, max_restarts, prec,
                  col_ptr, rows, lu, diag, 0, x, V, H)
    return out, x, scale


@pytest.mark.parametrize("N", [16, 32])
@pytest.mark.parametrize("c", [1e-3, 1e-1, 1.0])
def test_gmres_solves_brusselator_system(bruss, N, c):
    b = bruss(N)
    y = smooth_state(N)
    A = sp.identity(b.n) - c * brusselator_jacobian(N, y)
    scale = ATOL + RTOL * np.abs(y)
    rhs_vec = scale * np.random.default_rng(N).standard_normal(b.n)  # WRMS norm ~1
    iters = {}
    for prec in (K.PREC_NONE, K.PREC_ILU0):
        (status, it, nfev, res), x, _ = solve(b, y, c, rhs_vec, prec)
        true_res = wrms(rhs_vec - A @ x, scale)
        print(f"N={N} c={c:g} prec={prec}: status {status}, {it} iterations, {nfev} RHS calls, "
              f"residual {res:.3e} (exact J: {true_res:.3e}, delta {DELTA:.1e})")
        assert status == K.KRYLOV_SUCCESS
        assert res <= DELTA
        assert true_res <= DELTA  # with the exact Jacobian, not only GMRES's own estimate
        assert nfev >= it > 0
        iters[prec] = it
    assert iters[K.PREC_ILU0] < iters[K.PREC_NONE]


def test_gmres_zero_rhs_returns_zero(bruss):
    b = bruss(16)
    (status, it, nfev, res), x, _ = solve(b, smooth_state(16), 0.1, np.zeros(b.n), K.PREC_NONE)
    assert (status, it, nfev, res) == (K.KRYLOV_SUCCESS, 0, 0, 0.0)
    assert np.all(x == 0.0)


def test_gmres_too_few_vectors_reports_res_reduced(bruss):
    b = bruss(16)
    y = smooth_state(16)
    scale = ATOL + RTOL * np.abs(y)
    rhs_vec = scale * np.random.default_rng(1).standard_normal(b.n)
    A = sp.identity(b.n) - 1.0 * brusselator_jacobian(16, y)
    for maxl, restarts, delta in ((3, 0, DELTA), (10, 2, 0.0)):  # too few vectors; impossible
        (status, it, nfev, res), x, _ = solve(b, y, 1.0, rhs_vec, K.PREC_NONE, maxl=maxl,
                                              max_restarts=restarts, delta=delta)
        assert status == K.KRYLOV_RES_REDUCED
        assert it == maxl * (restarts + 1)
        assert nfev == it + restarts  # one more call per restart: the true residual
        assert DELTA < res < wrms(rhs_vec, scale)
        assert np.all(np.isfinite(x))
        # the reported residual is the one x has (up to J v's difference quotients)
        np.testing.assert_allclose(res, wrms(rhs_vec - A @ x, scale), rtol=1e-3)


def test_gmres_indefinite_matrix_status_is_truthful(bruss):
    # Hairer's initial data: u^2 v terms make J's reaction part strongly unstable, and
    # I - 0.1 J indefinite and ill-conditioned; whatever the status, it tells the truth
    N = 16
    b = bruss(N)
    y = b.prob.y0
    c = 0.1
    A = sp.identity(b.n) - c * brusselator_jacobian(N, y)
    scale = ATOL + RTOL * np.abs(y)
    rhs_vec = scale * np.random.default_rng(2).standard_normal(b.n)
    for prec in (K.PREC_NONE, K.PREC_ILU0):
        (status, it, nfev, res), x, _ = solve(b, y, c, rhs_vec, prec, maxl=20, max_restarts=3)
        true_res = wrms(rhs_vec - A @ x, scale)
        print(f"indefinite, prec={prec}: status {status}, {it} iterations, residual {res:.3e}"
              f" (exact J: {true_res:.3e})")
        assert status in (K.KRYLOV_SUCCESS, K.KRYLOV_RES_REDUCED, K.KRYLOV_CONV_FAILED)
        if status == K.KRYLOV_SUCCESS:
            assert true_res <= DELTA
        else:
            assert true_res > DELTA
            np.testing.assert_allclose(res, true_res, rtol=1e-3)


def _cyclic(t, y):
    # f = y - P y, (P y)_i = y_{i-1}: A = I - J = P, a cyclic shift on which GMRES stagnates
    out = np.empty(4)
    for i in range(4):
        out[i] = y[i] - y[i - 1]
    return out


def test_gmres_stagnation_reports_conv_failed():
    compiled = compile_rhs(_cyclic, 4, (), False, False)
    n, maxl = 4, 2
    y, f0 = np.zeros(n), np.zeros(n)
    rhs_vec = np.array([1.0, 0.0, 0.0, 0.0])
    V, H = K.krylov_workspace(n, maxl)
    x = np.empty(n)
    empty_i = np.empty(0, dtype=np.int64)
    status, it, nfev, res = K.gmres(compiled.address, P0, 0.0, y, f0, 1.0, rhs_vec, np.ones(n),
                                    1e-8, maxl, 2, K.PREC_NONE, empty_i, empty_i, np.empty(0),
                                    empty_i, 0, x, V, H)
    # the first n - 1 Krylov spaces cannot reduce the residual of e_0 at all
    assert status == K.KRYLOV_CONV_FAILED
    assert (it, nfev) == (6, 6)  # restarts from x = 0 need no J v
    assert res == pytest.approx(0.5, rel=1e-12)  # ||e_0||_wrms: not reduced
    assert np.all(x == 0.0)


def _sqrt_one_minus(t, y):
    return np.sqrt(1.0 - y)


def test_gmres_non_finite_rhs_reported():
    n, maxl = 8, 5
    compiled = compile_rhs(_sqrt_one_minus, n, (), False, False)
    y = np.zeros(n)
    f0 = np.ones(n)
    V, H = K.krylov_workspace(n, maxl)
    x = np.empty(n)
    empty_i = np.empty(0, dtype=np.int64)
    args = (empty_i, empty_i, np.empty(0), empty_i, 0, x, V, H)
    # J v's increment has WRMS norm 1: with scale 2, y + sigma v reaches 2 > 1, sqrt(-1) = nan
    out = K.gmres(compiled.address, P0, 0.0, y, f0, 0.5, np.ones(n), np.full(n, 2.0), 1e-6,
                  maxl, 0, K.PREC_NONE, *args)
    assert out[0] == K.KRYLOV_NON_FINITE
    # the same system with small increments solves (the sqrt is finite near y = 0)
    out = K.gmres(compiled.address, P0, 0.0, y, f0, 0.5, np.ones(n), np.full(n, 1e-3), 1e-6,
                  maxl, 0, K.PREC_NONE, *args)
    assert out[0] == K.KRYLOV_SUCCESS
    # a non-finite right-hand side
    bad = np.ones(n)
    bad[3] = np.inf
    out = K.gmres(compiled.address, P0, 0.0, y, f0, 0.5, bad, np.full(n, 1e-3), 1e-6,
                  maxl, 0, K.PREC_NONE, *args)
    assert out[0] == K.KRYLOV_NON_FINITE


# ---- the user preconditioner --------------------------------------------------------------------

RATES = np.linspace(1.0, 1e4, 16)  # f = -k y: a stiff diagonal system


def _decay(t, y):
    return -RATES * y


_PSOLVE_SIG = types.void(types.float64, types.CPointer(types.float64),
                         types.CPointer(types.float64), types.float64,
                         types.CPointer(types.float64), types.CPointer(types.float64))


@cfunc(_PSOLVE_SIG, cache=False)
def _exact_psolve(t, y_, p_, c, r_, z_):
    r = carray(r_, (16,))
    z = carray(z_, (16,))
    for i in range(16):
        z[i] = r[i] / (1.0 + c * RATES[i])


@cfunc(_PSOLVE_SIG, cache=False)
def _nan_psolve(t, y_, p_, c, r_, z_):
    z = carray(z_, (16,))
    for i in range(16):
        z[i] = np.nan


def test_user_preconditioner():
    n, maxl = 16, 10
    compiled = compile_rhs(_decay, n, (), False, False)
    y = np.linspace(1.0, 2.0, n)
    f0 = -RATES * y
    scale = ATOL + RTOL * np.abs(y)
    rhs_vec = scale * np.cos(np.arange(n))
    c = 0.01
    V, H = K.krylov_workspace(n, maxl)
    x = np.empty(n)
    empty_i = np.empty(0, dtype=np.int64)
    common = (empty_i, empty_i, np.empty(0), empty_i)
    none = K.gmres(compiled.address, P0, 0.0, y, f0, c, rhs_vec, scale, DELTA, maxl, 5,
                   K.PREC_NONE, *common, 0, x, V, H)
    user = K.gmres(compiled.address, P0, 0.0, y, f0, c, rhs_vec, scale, DELTA, maxl, 5,
                   K.PREC_USER, *common, _exact_psolve.address, x, V, H)
    assert none[0] == user[0] == K.KRYLOV_SUCCESS
    print("user preconditioner:", none, user)
    assert user[1] == 1 < none[1]  # P = A: one Krylov vector
    np.testing.assert_allclose(x, rhs_vec / (1.0 + c * RATES), rtol=1e-6)
    bad = K.gmres(compiled.address, P0, 0.0, y, f0, c, rhs_vec, scale, DELTA, maxl, 5,
                  K.PREC_USER, *common, _nan_psolve.address, x, V, H)
    assert bad[0] == K.KRYLOV_NON_FINITE


def test_workspace_caps_maxl(bruss):
    b = bruss(16)
    y = smooth_state(16)
    scale = ATOL + RTOL * np.abs(y)
    rhs_vec = scale * np.random.default_rng(3).standard_normal(b.n)
    (status, it, nfev, res), x, _ = solve(b, y, 1.0, rhs_vec, K.PREC_NONE, maxl=4,
                                          max_restarts=0)
    V, H = K.krylov_workspace(b.n, 4)
    f0 = b.prob.fun(0.0, y)
    _, _, col_ptr, rows = b.struct
    lu, diag, _ = K.ilu_workspace(col_ptr)
    x2 = np.empty(b.n)
    out = K.gmres(b.rhs, P0, 0.0, y, f0, 1.0, rhs_vec, scale, DELTA, 50, 0, K.PREC_NONE,
                  col_ptr, rows, lu, diag, 0, x2, V, H)
    assert out == (status, it, nfev, res) and it == 4
    np.testing.assert_array_equal(x, x2)
    with pytest.raises(ValueError):
        K.krylov_workspace(10, 0)
