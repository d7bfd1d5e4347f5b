"""Rosenbrock methods in Hairer's form (Rodas4, Rodas5P): the pieces of one step, shared by
``rosenbrock_solve`` and the switching method's Rodas4 leg (kernels/switching).

Hairer & Wanner II, Sec. IV.7, eq. (7.4'): with gamma_ij = C_ij and W = M / (gamma h) - J,
W k_i = f(t + c_i h, y + sum_j A_ij k_j) + M sum_j (C_ij / h) k_j + h d_i f_t,
y_new = y + sum_i B_i k_i, err = sum_i E_i k_i. The drivers list these helpers in ``INLINE``:
kernels/expand.py writes them out in the generated driver modules.
"""
import math

from numba import njit

from ..callbacks import call_rhs
from ..linalg import band_lu_solve_row, lu_solve_row
from .coefficients import FAC_MAX, FAC_MIN, SAFE


@njit(cache=True, nogil=True, inline="always")
def fill_w_hairer(J, mass, has_mass, fac, W):
    """W = fac M - J (M the identity unless ``has_mass``), fac = 1 / (gamma h)."""
    n = W.shape[0]
    if has_mass:
        for i in range(n):
            for j in range(n):
                W[i, j] = fac * mass[i, j] - J[i, j]
    else:
        for i in range(n):
            for j in range(n):
                W[i, j] = -J[i, j]
            W[i, i] += fac


@njit(cache=True, nogil=True, inline="always")
def hairer_stages(s, A, C, c, d, h, t, y, fy, ft, K, W, Wb, banded, kl, ku, piv, mass, has_mass,
                  rhs, p, ytmp, fbuf, cbuf):
    """The stages k_1 .. k_s into K[:s] with W factored in place (dense ``W`` or, when
    ``banded``, ``Wb`` in gbtrf layout); ``fy`` = f(t, y), ``ft`` = df/dt."""
    n = y.shape[0]
    hinv = 1.0 / h
    for st_i in range(s):
        if st_i == 0:
            for m in range(n):
                fbuf[m] = fy[m]
        else:
            for m in range(n):
                acc = 0.0
                for j in range(st_i):
                    acc += A[st_i, j] * K[j, m]
                ytmp[m] = y[m] + acc
            call_rhs(rhs, t + c[st_i] * h, ytmp, p, fbuf)
        hd = h * d[st_i]
        for m in range(n):
            acc = 0.0
            for j in range(st_i):
                acc += C[st_i, j] * K[j, m]
            cbuf[m] = acc * hinv
        if has_mass:
            for m in range(n):
                acc = 0.0
                for r in range(n):
                    acc += mass[m, r] * cbuf[r]
                K[st_i, m] = fbuf[m] + acc + hd * ft[m]
        else:
            for m in range(n):
                K[st_i, m] = fbuf[m] + cbuf[m] + hd * ft[m]
        if banded:
            band_lu_solve_row(Wb, kl, ku, piv, K, st_i)
        else:
            lu_solve_row(W, piv, K, st_i)


@njit(cache=True, nogil=True, inline="always")
def combine_stages(s, B, E, y, K, y_new, err):
    """y_new = y + sum_i B_i k_i and the error estimate err = sum_i E_i k_i."""
    n = y.shape[0]
    for m in range(n):
        acc = 0.0
        acc_e = 0.0
        for st_i in range(s):
            acc += B[st_i] * K[st_i, m]
            acc_e += E[st_i] * K[st_i, m]
        y_new[m] = y[m] + acc
        err[m] = acc_e


@njit(cache=True, nogil=True, inline="always")
def rosenbrock_error_norm(y, y_new, err, atol, rtol):
    """RMS norm of err / (atol + rtol max(|y|, |y_new|)); inf when it or y_new is not finite."""
    n = y.shape[0]
    acc = 0.0
    finite = True
    for i in range(n):
        sc = atol[i] + max(abs(y[i]), abs(y_new[i])) * rtol[i]
        ri = err[i] / sc
        acc += ri * ri
        if not math.isfinite(y_new[i]):
            finite = False
    err_norm = math.sqrt(acc / n)
    if not (err_norm < math.inf) or not finite:
        err_norm = math.inf
    return err_norm


@njit(cache=True, nogil=True, inline="always")
def rosenbrock_step_size(err_norm, exponent, h, naccept, h_acc, err_acc, step_rejected):
    """Accept (err_norm <= 1) or reject, and the next step size: the standard controller, with
    Gustafsson's predictive one after the first accepted step (HW II, Sec. IV.8; as Rodas).

    Returns (accepted, h_abs, h_acc, err_acc); h_acc and err_acc change on acceptance only.
    """
    accepted = err_norm <= 1.0
    if accepted:
        fac = min(FAC_MAX, max(FAC_MIN, err_norm ** exponent / SAFE))
        if naccept > 0:
            fac_gus = (h_acc / abs(h)) * (err_norm * err_norm / err_acc) ** exponent
            fac_gus = min(FAC_MAX, max(FAC_MIN, fac_gus / SAFE))
            fac = max(fac, fac_gus)
        h_acc = abs(h)
        err_acc = max(err_norm, 1e-2)
        h_abs = abs(h) / fac
        if step_rejected:
            h_abs = min(h_abs, abs(h))
    else:
        if math.isfinite(err_norm):
            fac = min(FAC_MAX, max(FAC_MIN, err_norm ** exponent / SAFE))
        else:
            fac = FAC_MAX
        h_abs = abs(h) / fac
    return accepted, h_abs, h_acc, err_acc
