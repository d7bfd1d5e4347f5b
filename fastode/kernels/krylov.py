"""Newton-Krylov linear solves for the stiff drivers (issue #15): restarted GMRES(m), matrix-free,
with right preconditioning by ILU(0) of the iteration matrix, a user preconditioner, or none.

Every Newton iteration of an implicit method solves ``A x = b`` with ``A = I - c J`` (J = df/dy
at the current iterate; c = h / alpha for BDF, h gamma for SDIRK / Rosenbrock; no mass matrix).
Where even a sparse LU of A is too big, :func:`gmres` solves it from products ``J v`` alone, each
a forward difference of the RHS, and a preconditioner ``P ~ A`` keeps the iterations few.

Sources
-------
* GMRES: Y. Saad and M. H. Schultz, "GMRES: a generalized minimal residual algorithm for solving
  nonsymmetric linear systems", SIAM J. Sci. Stat. Comput. 7 (1986) 856-869; restarts, right
  preconditioning, Givens rotations as in Saad, "Iterative Methods for Sparse Linear Systems",
  2nd ed., SIAM 2003, Algorithms 6.9 and 9.5.
* Scaling, the J v difference quotient, the stopping test and the reorthogonalisation test:
  SUNDIALS (CVODE user guide, "Mathematical considerations", the Newton-Krylov iteration;
  cvode_ls.c ``cvLsDQJtimes``, sunlinsol_spgmr.c, sundials_iterative.c ``SUNModifiedGS``):
  GMRES runs on the scaled system ``S A P^{-1} S^{-1} (S P x) = S b``, S = diag(1 / scale),
  so its 2-norm over sqrt(n) is the weighted RMS norm of the Newton iteration (``scale`` =
  atol + rtol |y|); ``J v ~ (f(t, y + sigma v) - f0) / sigma`` with ``sigma = 1 / ||v||_wrms``
  (the perturbation has WRMS norm 1); convergence when ``||S (b - A x)||_2 / sqrt(n) <= delta``.
  CVODE takes ``delta = 0.05 * (its Newton tolerance)`` (``eplifac``, default 0.05); we
  recommend ``delta = 0.05 * tol`` with ``tol`` the driver's Newton tolerance on the WRMS norm
  of the correction (BDF: scipy's ``max(10 eps / rtol, min(0.03, sqrt(rtol)))``). With right
  preconditioning the residual tested is the true residual of the (difference-quotient) A.
* ILU(0): Saad's book, section 10.3.2 (Algorithm 10.4, there by rows of a CSR matrix; here
  by columns of a CSC matrix, left-looking: the same factors, since ILU(0) is defined by
  ``(L U)_ij = a_ij`` on the pattern, L unit lower, U upper, L + U on the pattern).

Calling convention (what a driver calls)
----------------------------------------
Once per solve (Python)::

    V, H = krylov_workspace(n, maxl)                 # float64 (maxl + 5, n), (maxl + 1, maxl + 4)
    lu, diag, pos = ilu_workspace(col_ptr)           # only with PREC_ILU0 (else any arrays:
                                                     #   np.empty(0), np.empty(0, np.int64) ...)

``col_ptr, rows`` (int64) are the CSC pattern of J, rows sorted within each column and the
diagonal present (``fastode.kernels.jacobian.cpr_groups(pattern_columns(jac_sparsity), n)``
returns ``group_ptr, group_cols, col_ptr, rows`` so). J's values on the pattern live in a 1-D
float64 array ``jvals`` aligned with ``rows``.

When J is re-evaluated (ILU only; ``atol``: the increments' scale, ``hvec, ytmp, fbuf``: (n,)
scratch; returns the RHS calls, one per group)::

    nfev = grouped_jacobian_values(rhs, p, t, y, f0, atol, group_ptr, group_cols, col_ptr, rows,
                                   jvals, hvec, ytmp, fbuf)

When J or c changes (ILU only; returns a status, below)::

    status = ilu0_factor(col_ptr, rows, jvals, c, lu, diag, pos)

Every Newton iteration (``f0`` = f(t, y) at the current iterate y, which BDF's Newton loop has
just computed; ``b`` the Newton right-hand side; ``x`` (n,) receives the solution, started at 0)::

    status, iters, nfev, res = gmres(rhs, p, t, y, f0, c, b, scale, delta, maxl, max_restarts,
                                     prec, col_ptr, rows, lu, diag, psolve, x, V, H)

``prec``: PREC_NONE, PREC_ILU0 (``col_ptr, rows, lu, diag`` as factored), PREC_USER (``psolve``
the int64 address of ``void psolve(double t, const double *y, const double *p, double c,
const double *r, double *z)``, writing ``z = P^{-1} r`` for P ~ I - c J; with the others it may
be 0). ``maxl`` is capped by the workspace; at most ``maxl * (max_restarts + 1)`` Krylov vectors.
``iters``: J v products inside the Krylov loop; ``nfev``: RHS calls (one per J v, plus one per
restart for the true residual); ``res``: the last residual norm ``||b - A x||_wrms`` (Givens
estimate, or the recomputed one after a restart). ``b``, ``y``, ``f0``, ``scale`` are not
modified (``x`` must not be ``b``, nor share memory with V); none of the kernels allocates.
``p`` is the RHS's parameter array, passed on to ``psolve`` too.

Choices for a driver: CVODE's defaults are maxl = 5 and no restarts (a RES_REDUCED x accepted
on the first Newton iteration only); the tests and bench/krylov.py use maxl = 30 with up to
20 restarts. J v is taken at the current Newton iterate (with f0 = f(t, y) there), so the
iteration is an inexact full Newton even where the ILU(0) preconditioner comes from an older
J; refactor ILU(0) when c changes (on the 2-D Brusselator it costs ~2/3 of J's grouped
differences, ~8 RHS calls, and ~1/400 of splu's factorisation at 128^2: bench/krylov.py).
ILU(0) can be worse than no preconditioner where I - c J is indefinite (tests/test_krylov.py:
the Brusselator at Hairer's initial data, c = 0.1): GMRES then returns RES_REDUCED or
CONV_FAILED, and the driver should cut the step as after a failed Newton iteration.

Statuses (non-negative: x is usable; the failures are status.py's codes of the same meaning)::

    KRYLOV_SUCCESS      0  converged, res <= delta
    KRYLOV_RES_REDUCED  1  not converged within the vectors allowed, but res < ||b||_wrms
                           (CVODE accepts such an x on the first Newton iteration only)
    KRYLOV_NON_FINITE  -3  (status.NON_FINITE) f, J v, the preconditioner or x non-finite
    KRYLOV_SINGULAR    -4  (status.SINGULAR) ILU(0): a zero pivot; GMRES: that status of a
                           preconditioner, or a singular least-squares problem
    KRYLOV_CONV_FAILED -5  (status.NEWTON_FAILED) the residual was not reduced at all
    ILU_BAD_PATTERN    -8  ilu0_factor: rows unsorted in a column, or a diagonal missing
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .callbacks import call_rhs
from .jacobian import STORE_SPARSE, fd_jacobian_grouped
from .status import NEWTON_FAILED, NON_FINITE, SINGULAR

PREC_NONE = 0   # no preconditioner (P = I)
PREC_ILU0 = 1   # ILU(0) of I - c J on J's pattern (ilu0_factor)
PREC_USER = 2   # the user's psolve (a C address)

KRYLOV_SUCCESS = 0
KRYLOV_RES_REDUCED = 1
KRYLOV_NON_FINITE = NON_FINITE
KRYLOV_SINGULAR = SINGULAR
KRYLOV_CONV_FAILED = NEWTON_FAILED
ILU_BAD_PATTERN = -8

# sundials_iterative.c (SUNModifiedGS): reorthogonalise when the new vector's norm is below
# about 1000 ulp of its norm before Gram-Schmidt (FACTOR = 1000)
REORTH_FACTOR = 1000.0


# ---- Python side: workspaces ----------------------------------------------------------------

def krylov_workspace(n, maxl):
    """GMRES's work arrays for systems of size ``n`` and up to ``maxl`` Krylov vectors per
    restart cycle.

    Returns
    -------
    V : ndarray, float64, shape (maxl + 5, n)
        Rows 0..maxl: the Krylov basis; then four scratch vectors (z, the user preconditioner's
        output, y + sigma v, f there).
    H : ndarray, float64, shape (maxl + 1, maxl + 4)
        Columns 0..maxl-1: the Hessenberg matrix; then the least-squares right-hand side, the
        Givens cosines and sines, and the least-squares solution.
    """
    n, maxl = int(n), int(maxl)
    if n < 1 or maxl < 1:
        raise ValueError(f"krylov_workspace needs n >= 1 and maxl >= 1, got {n}, {maxl}")
    return np.zeros((maxl + 5, n)), np.zeros((maxl + 1, maxl + 4))


def ilu_workspace(col_ptr):
    """ILU(0)'s arrays for the CSC pattern ``col_ptr``: (lu (nnz,) float64, the factors on the
    pattern; diag (n,) int64, the position of each column's diagonal; pos (n,) int64, scratch)."""
    col_ptr = np.asarray(col_ptr)
    n = col_ptr.shape[0] - 1
    return (np.zeros(int(col_ptr[-1])), np.zeros(n, dtype=np.int64),
            np.full(n, -1, dtype=np.int64))


# ---- the user preconditioner's call ---------------------------------------------------------

@intrinsic
def call_psolve(typingctx, address, t, y, p, c, r, z):
    """Call the C function at ``address`` as ``psolve(t, y.data, p.data, c, r.data, z.data)``."""
    if not all(isinstance(a, types.Array) for a in (y, p, r, z)):
        return None
    signature = types.void(address, t, y, p, c, r, z)

    def codegen(context, builder, sig, args):
        address_value, t_value, y_value, p_value, c_value, r_value, z_value = args
        double_ptr = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ir.DoubleType(), double_ptr, double_ptr,
                                               ir.DoubleType(), double_ptr, double_ptr])
        fn = builder.inttoptr(address_value, fnty.as_pointer())

        def data(i, value):
            return context.make_array(sig.args[i])(context, builder, value).data
        builder.call(fn, [t_value, data(2, y_value), data(3, p_value), c_value,
                          data(5, r_value), data(6, z_value)])
        return context.get_dummy_value()

    return signature, codegen


# ---- J's values on its pattern ----------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def grouped_jacobian_values(rhs, p, t, y, f0, atol, group_ptr, group_cols, col_ptr, rows, jvals,
                            hvec, ytmp, fbuf):
    """``jvals[r]`` = d f_i / d y_j for the pattern entry r (i = rows[r], column j:
    col_ptr[j] <= r < col_ptr[j + 1]) by forward differences with column groups (Curtis, Powell
    & Reid), one RHS call per group; ``f0`` = f(t, y): fastode.kernels.jacobian's
    ``fd_jacobian_grouped`` storing CSC values (STORE_SPARSE), with its increments
    ``fd_increment_scaled(y_j, atol_j)``. ``hvec``, ``ytmp``, ``fbuf``: (n,) scratch. Returns
    the RHS calls made."""
    return fd_jacobian_grouped(rhs, p, t, y, f0, atol, jvals.reshape((1, jvals.shape[0])),
                               STORE_SPARSE, 0, group_ptr, group_cols, col_ptr, rows, hvec, ytmp,
                               fbuf)


# ---- ILU(0) -----------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy")
def ilu0_factor(col_ptr, rows, jvals, c, lu, diag, pos):
    """ILU(0) of ``A = I - c J`` on J's CSC pattern (J's values ``jvals`` aligned with
    ``rows``): ``lu`` receives L (unit lower, strictly below each column's diagonal), U above
    it and ``1 / U[j, j]`` on it, on the same positions; ``diag[j]`` the position of A[j, j].
    ``pos`` (n,) int64 scratch, all -1 on entry and on return.

    Left-looking by columns: column j of U and L from the finished columns k < j that column j
    holds, updates kept only where column j has an entry (zero fill-in).

    Returns KRYLOV_SUCCESS, ILU_BAD_PATTERN (unsorted rows or a missing diagonal),
    KRYLOV_NON_FINITE (a non-finite J value or pivot) or KRYLOV_SINGULAR (a zero pivot).
    """
    n = col_ptr.shape[0] - 1
    status = KRYLOV_SUCCESS
    for j in range(n):
        diag[j] = -1
        for r in range(col_ptr[j], col_ptr[j + 1]):
            i = rows[r]
            if r > col_ptr[j] and rows[r - 1] >= i:
                status = ILU_BAD_PATTERN
            v = jvals[r]
            if not math.isfinite(v) and status == KRYLOV_SUCCESS:
                status = KRYLOV_NON_FINITE
            a = -c * v
            if i == j:
                a += 1.0
                diag[j] = r
            lu[r] = a
        if diag[j] < 0:
            status = ILU_BAD_PATTERN
    if status == KRYLOV_SUCCESS:
        for j in range(n):
            lo = col_ptr[j]
            hi = col_ptr[j + 1]
            dj = diag[j]
            for r in range(lo, hi):
                pos[rows[r]] = r
            # rows k < j in increasing order: U[k, j] is final when reached
            for r in range(lo, dj):
                k = rows[r]
                ukj = lu[r]
                if ukj != 0.0:
                    for q in range(diag[k] + 1, col_ptr[k + 1]):
                        pi = pos[rows[q]]
                        if pi >= 0:
                            lu[pi] -= lu[q] * ukj
            for r in range(lo, hi):
                pos[rows[r]] = -1
            piv = lu[dj]
            if not math.isfinite(piv):
                status = KRYLOV_NON_FINITE
                break
            if piv == 0.0:
                status = KRYLOV_SINGULAR
                break
            inv = 1.0 / piv
            for r in range(dj + 1, hi):
                lu[r] *= inv
            # the reciprocal: ilu0_solve multiplies (with a division in its dependency chain a
            # solve took 870 us instead of 326 us at n = 32768, the 128^2 Brusselator)
            lu[dj] = inv
    return status


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def ilu0_solve(col_ptr, rows, lu, diag, z):
    """z = (L U)^{-1} z in place, with :func:`ilu0_factor`'s factors (column-oriented forward
    and back substitution)."""
    n = z.shape[0]
    for j in range(n):
        zj = z[j]
        if zj != 0.0:
            for r in range(diag[j] + 1, col_ptr[j + 1]):
                z[rows[r]] -= lu[r] * zj
    for j in range(n - 1, -1, -1):
        zj = z[j] * lu[diag[j]]
        z[j] = zj
        if zj != 0.0:
            for r in range(col_ptr[j], diag[j]):
                z[rows[r]] -= lu[r] * zj


# ---- GMRES --------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _precondition(prec, col_ptr, rows, lu, diag, psolve, t, y, p, c, z, zz):
    """z = P^{-1} z in place (zz: scratch for the user's psolve)."""
    if prec == PREC_ILU0:
        ilu0_solve(col_ptr, rows, lu, diag, z)
    elif prec == PREC_USER:
        call_psolve(psolve, t, y, p, c, z, zz)
        for i in range(z.shape[0]):
            z[i] = zz[i]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _scaled_operator(rhs, p, t, y, f0, c, scale, z, ytmp, fbuf, V, row):
    """V[row] = S (z - c J z), J z by CVODE's difference quotient (f(t, y + sigma z) - f0) /
    sigma, sigma = 1 / ||z||_wrms (cvode_ls.c, cvLsDQJtimes); S = diag(1 / scale). Returns the
    RHS calls (0 when z = 0)."""
    n = y.shape[0]
    acc = 0.0
    for i in range(n):
        w = z[i] / scale[i]
        acc += w * w
    znorm = math.sqrt(acc / n)
    calls = 0
    if znorm == 0.0:
        for i in range(n):
            V[row, i] = 0.0
    else:
        sigma = 1.0 / znorm
        for i in range(n):
            ytmp[i] = y[i] + sigma * z[i]
        call_rhs(rhs, t, ytmp, p, fbuf)
        calls = 1
        for i in range(n):
            V[row, i] = (z[i] - c * ((fbuf[i] - f0[i]) * znorm)) / scale[i]
    return calls


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _dot_rows(V, a, b):
    """V[a] . V[b] with four partial sums (independent chains: 9 us instead of 27 us at
    n = 32768; no fastmath, so the same rounding on every machine)."""
    n = V.shape[1]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += V[a, i] * V[b, i]
        s1 += V[a, i + 1] * V[b, i + 1]
        s2 += V[a, i + 2] * V[b, i + 2]
        s3 += V[a, i + 3] * V[b, i + 3]
    for i in range(m, n):
        s0 += V[a, i] * V[b, i]
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, nogil=True, error_model="numpy")
def gmres(rhs, p, t, y, f0, c, b, scale, delta, maxl, max_restarts, prec, col_ptr, rows, lu,
          diag, psolve, x, V, H):
    """Solve ``(I - c J) x = b`` by restarted GMRES(maxl), matrix-free, right-preconditioned.

    Parameters
    ----------
    rhs : int64
        C address of ``f(t, y, p, out)`` (fastode.kernels.callbacks).
    p : ndarray
        Its parameters.
    t, y, f0 : float, ndarray (n,), ndarray (n,)
        The point J is taken at and ``f0 = f(t, y)``.
    c : float
        The factor of ``A = I - c J``.
    b : ndarray (n,)
        The right-hand side.
    scale : ndarray (n,)
        ``atol + rtol |y|``: the weighted RMS norm ``||v||_wrms = sqrt(mean((v / scale)^2))``
        of the stopping test and of the J v increment.
    delta : float
        Stop when ``||b - A x||_wrms <= delta`` (CVODE: 0.05 times the Newton tolerance).
    maxl, max_restarts : int
        Krylov vectors per cycle (capped by the workspace) and restarts after the first cycle.
    prec : int
        PREC_NONE, PREC_ILU0 or PREC_USER.
    col_ptr, rows, lu, diag : ndarray
        ILU(0)'s pattern and factors (:func:`ilu0_factor`); any arrays of these types otherwise.
    psolve : int64
        Address of the user's preconditioner (PREC_USER), else unused.
    x : ndarray (n,)
        Receives the solution (the initial guess is zero).
    V, H : ndarray
        :func:`krylov_workspace`.

    Returns
    -------
    (status, iters, nfev, res) : (int, int, int, float)
        See the module docstring.
    """
    n = y.shape[0]
    nr = V.shape[0]
    m = min(maxl, nr - 5, H.shape[1] - 4)
    z = V[nr - 4]
    zz = V[nr - 3]
    ytmp = V[nr - 2]
    fbuf = V[nr - 1]
    ig = m          # H's columns: the least-squares right-hand side, cosines, sines, solution
    ics = m + 1
    isn = m + 2
    iy = m + 3
    sqrt_n = math.sqrt(n)
    tol2 = delta * sqrt_n
    iters = 0
    nfev = 0
    status = KRYLOV_CONV_FAILED
    converged = False
    failed = False
    beta = 0.0
    for i in range(n):
        x[i] = 0.0
        v = b[i] / scale[i]
        V[0, i] = v
        beta += v * v
    beta = math.sqrt(beta)
    res0 = beta / sqrt_n
    res = res0
    if not math.isfinite(beta):
        status = KRYLOV_NON_FINITE
        failed = True
    elif beta <= tol2:
        converged = True
    if m < 1:
        failed = True
    cycle = 0
    while not (converged or failed):
        inv = 1.0 / beta
        for i in range(n):
            V[0, i] *= inv
        H[0, ig] = beta
        for i in range(1, m + 1):
            H[i, ig] = 0.0
        kk = 0
        for k in range(m):
            # V[k + 1] = S A P^{-1} S^{-1} V[k]
            for i in range(n):
                z[i] = V[k, i] * scale[i]
            _precondition(prec, col_ptr, rows, lu, diag, psolve, t, y, p, c, z, zz)
            nfev += _scaled_operator(rhs, p, t, y, f0, c, scale, z, ytmp, fbuf, V, k + 1)
            iters += 1
            norm_before = math.sqrt(_dot_rows(V, k + 1, k + 1))
            if not math.isfinite(norm_before):
                status = KRYLOV_NON_FINITE
                failed = True
                break
            # modified Gram-Schmidt
            for j in range(k + 1):
                h = _dot_rows(V, j, k + 1)
                H[j, k] = h
                for i in range(n):
                    V[k + 1, i] -= h * V[j, i]
            hnorm = math.sqrt(_dot_rows(V, k + 1, k + 1))
            bound = REORTH_FACTOR * norm_before
            if bound + hnorm == bound:
                # cancellation down to round-off: a second pass (SUNModifiedGS)
                removed = 0.0
                for j in range(k + 1):
                    h = _dot_rows(V, j, k + 1)
                    if h != 0.0:
                        H[j, k] += h
                        for i in range(n):
                            V[k + 1, i] -= h * V[j, i]
                        removed += h * h
                left = hnorm * hnorm - removed
                hnorm = math.sqrt(left) if left > 0.0 else 0.0
            H[k + 1, k] = hnorm
            if hnorm > 0.0:
                inv = 1.0 / hnorm
                for i in range(n):
                    V[k + 1, i] *= inv
            # the earlier rotations on the new column, then the one that zeroes H[k + 1, k]
            for j in range(k):
                h1 = H[j, k]
                h2 = H[j + 1, k]
                H[j, k] = H[j, ics] * h1 + H[j, isn] * h2
                H[j + 1, k] = -H[j, isn] * h1 + H[j, ics] * h2
            a = H[k, k]
            d = math.hypot(a, hnorm)
            if d == 0.0:
                status = KRYLOV_SINGULAR  # A P^{-1} singular on the Krylov space
                failed = True
                break
            H[k, ics] = a / d
            H[k, isn] = hnorm / d
            H[k, k] = d
            H[k + 1, k] = 0.0
            gk = H[k, ig]
            H[k + 1, ig] = -H[k, isn] * gk
            H[k, ig] = H[k, ics] * gk
            res = abs(H[k + 1, ig]) / sqrt_n
            kk = k + 1
            if res <= delta or hnorm == 0.0:
                converged = res <= delta
                break
        if failed:
            break
        # x += P^{-1} S^{-1} V y, y solving the triangular least-squares system
        for j in range(kk - 1, -1, -1):
            s = H[j, ig]
            for q in range(j + 1, kk):
                s -= H[j, q] * H[q, iy]
            H[j, iy] = s / H[j, j]
        for i in range(n):
            z[i] = 0.0
        for j in range(kk):
            yj = H[j, iy]
            for i in range(n):
                z[i] += yj * V[j, i]
        for i in range(n):
            z[i] *= scale[i]
        _precondition(prec, col_ptr, rows, lu, diag, psolve, t, y, p, c, z, zz)
        for i in range(n):
            x[i] += z[i]
        if converged or cycle >= max_restarts:
            break
        cycle += 1
        # restart from the true residual S (b - A x), one more J v
        for i in range(n):
            z[i] = x[i]
        nfev += _scaled_operator(rhs, p, t, y, f0, c, scale, z, ytmp, fbuf, V, 0)
        beta = 0.0
        for i in range(n):
            v = b[i] / scale[i] - V[0, i]
            V[0, i] = v
            beta += v * v
        beta = math.sqrt(beta)
        res = beta / sqrt_n
        if not math.isfinite(beta):
            status = KRYLOV_NON_FINITE
            failed = True
        elif beta <= tol2:
            converged = True
    if not failed:
        for i in range(n):
            if not math.isfinite(x[i]):
                failed = True
        if failed:
            status = KRYLOV_NON_FINITE
        elif converged:
            status = KRYLOV_SUCCESS
        elif res < res0:
            status = KRYLOV_RES_REDUCED
        else:
            status = KRYLOV_CONV_FAILED
    return status, iters, nfev, res
