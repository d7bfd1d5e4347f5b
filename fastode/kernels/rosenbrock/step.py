"""Rosenbrock methods in Hairer's form (Rodas4, Rodas5P): the pieces of one step, shared by
``rosenbrock_solve`` and the switching method's Rodas4 leg (kernels/switching).

Hairer & Wanner II, Sec. IV.7, eq. (7.4'): with gamma_ij = C_ij and W = M / (gamma h) - J,
W k_i = f(t + c_i h, y + sum_j A_ij k_j) + M sum_j (C_ij / h) k_j + h d_i f_t,
y_new = y + sum_i B_i k_i, err = sum_i E_i k_i. The drivers list these helpers in ``INLINE``:
kernels/expand.py writes them out in the generated driver modules.

The sparse direct path (``kl`` == KL_SPARSE; fastode.kernels.sparse_lu) reaches the step through
the trailing argument ``slu`` (fastode.kernels.newton.sparse_w_workspace), which the switching
method's Rodas4 leg leaves out: its default None is written out as the constant None, and numba
prunes the branches guarded by ``slu is not None`` before typing them (no cost, no code). So
``slu`` is used only inside such branches, and only passed on (a subscript of the constant None
is a SyntaxWarning).
"""
import math

from numba import njit

import numpy as np

from .. import status as st
from ...tableaus.rosenbrock import ROS23_D, ROS23_E32
from ..callbacks import call_rhs
from ..jacobian import KL_SPARSE, SINGULAR
from ..linalg import band_lu_factor, band_lu_solve_row, lu_solve_row
from ..newton import lu_factor_inline as lu_factor, sparse_w_factor, sparse_w_solve
from .coefficients import FAC_MAX, FAC_MIN, MAX_SINGULAR, SAFE


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
                  rhs, p, ytmp, fbuf, cbuf, slu=None):
    """The stages k_1 .. k_s into K[:s] with W factored in place (dense ``W`` or, when
    ``banded``, ``Wb`` in gbtrf layout, or when ``kl`` == KL_SPARSE the sparse LU ``slu`` of
    fastode.kernels.newton.sparse_w_factor); ``fy`` = f(t, y), ``ft`` = df/dt."""
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
        elif slu is not None and kl == KL_SPARSE:
            sparse_w_solve(slu, K[st_i])
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


@njit(cache=True, nogil=True, inline="always")
def rosenbrock_attempts(kind, gamma, A, C, c, d, B, E, exponent, rhs, p, t, t1, direction, y,
                        fy, ft, J, Jb, W, Wb, piv, banded, kl, ku, mass, has_mass, K, y_new,
                        f_new, ytmp, fbuf, cbuf, err, rtol, atol, h_abs, max_step, min_step,
                        max_steps, attempts, naccept, n_singular, h_acc, err_acc, slu=None):
    """Attempt Rosenbrock steps from (t, y) until one is accepted: W = M / (gamma h) - J
    (``kind`` 1: ode23s's M - h d J) factored dense, banded or (``kl`` == KL_SPARSE, ``slu``
    given: fastode.kernels.newton.sparse_w_factor, J (1, nnz)) sparse, the stages, the error
    test and the step-size controller. J and ft = df/dt at (t, y) are given; a singular W
    halves the step (at most MAX_SINGULAR times in a row). The step of ``rosenbrock_solve`` and
    the switching method's Rodas4 leg (both write it out: kernels/expand.py; the leg leaves
    ``slu`` out).

    Returns (status, accepted, t_new, h, h_abs, nfev, nlu, nreject, attempts, n_singular,
    h_acc, err_acc); ``nfev``, ``nlu``, ``nreject`` count this call's work.
    """
    n = y.shape[0]
    s = K.shape[0]
    kv = kl + ku
    status = st.SUCCESS
    nfev = 0
    nlu = 0
    nreject = 0
    step_rejected = False
    accepted = False
    err_norm = 0.0
    t_new = t
    h = 0.0
    while not accepted:
        if max_steps > 0 and attempts >= max_steps:
            status = st.MAX_STEPS
            break
        spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
        if h_abs > max_step:
            h_abs = max_step
        if not (h_abs >= spacing_min and h_abs >= min_step):  # NaN-safe
            status = st.STEP_TOO_SMALL if math.isfinite(err_norm) else st.NON_FINITE
            break
        attempts += 1
        t_new = t + direction * h_abs
        if direction * (t_new - t1) > 0.0:
            t_new = t1
        h = t_new - t
        # iteration matrix
        if banded:
            # W = a M - b J in band storage (M: identity or banded, checked in Python)
            if kind == 1:
                wa = 1.0
                wb = h * ROS23_D
            else:
                wa = 1.0 / (gamma * h)
                wb = 1.0
            for j in range(n):
                for r in range(kl):
                    Wb[r, j] = 0.0
                for i in range(max(0, j - ku), min(n, j + kl + 1)):
                    Wb[kv + i - j, j] = -wb * Jb[ku + i - j, j]
                if has_mass:
                    for i in range(max(0, j - ku), min(n, j + kl + 1)):
                        Wb[kv + i - j, j] += wa * mass[i, j]
                else:
                    Wb[kv, j] += wa
            info = band_lu_factor(Wb, kl, ku, piv)
        elif slu is not None and kl == KL_SPARSE:
            # W = a I - b J as CSC values (no mass matrix in sparse mode)
            if kind == 1:
                info = sparse_w_factor(slu, J, 1.0, h * ROS23_D)
            else:
                info = sparse_w_factor(slu, J, 1.0 / (gamma * h), 1.0)
        else:
            if kind == 1:
                hd = h * ROS23_D
                if has_mass:
                    for i in range(n):
                        for j in range(n):
                            W[i, j] = mass[i, j] - hd * J[i, j]
                else:
                    for i in range(n):
                        for j in range(n):
                            W[i, j] = -hd * J[i, j]
                        W[i, i] += 1.0
            else:
                fac = 1.0 / (gamma * h)
                fill_w_hairer(J, mass, has_mass, fac, W)
            info = lu_factor(W, piv)
        nlu += 1
        if info != 0:
            n_singular += 1
            nreject += 1
            step_rejected = True
            if n_singular >= MAX_SINGULAR:
                status = SINGULAR
                break
            h_abs = 0.5 * abs(h)
            continue
        if kind == 1:
            # ode23s (Shampine & Reichelt 1997), W = M - h d J
            hd = h * ROS23_D
            for st_i in range(s):
                if st_i == 0:
                    for m in range(n):
                        K[0, m] = fy[m] + hd * ft[m]
                elif st_i == 1:
                    for m in range(n):
                        ytmp[m] = y[m] + 0.5 * h * K[0, m]
                    call_rhs(rhs, t + 0.5 * h, ytmp, p, fbuf)
                    # cbuf = M k1
                    if has_mass:
                        for m in range(n):
                            acc = 0.0
                            for r in range(n):
                                acc += mass[m, r] * K[0, r]
                            cbuf[m] = acc
                    else:
                        for m in range(n):
                            cbuf[m] = K[0, m]
                    for m in range(n):
                        K[1, m] = fbuf[m] - cbuf[m]
                else:
                    for m in range(n):
                        K[1, m] += K[0, m]
                        y_new[m] = y[m] + h * K[1, m]
                    call_rhs(rhs, t + h, y_new, p, f_new)
                    # k3 = W \ (F2 - e32 (M k2 - F1) - 2 (M k1 - F0) + h d T)
                    for m in range(n):
                        K[2, m] = f_new[m] - 2.0 * (cbuf[m] - fy[m]) + hd * ft[m]
                    if has_mass:
                        for m in range(n):
                            acc = 0.0
                            for r in range(n):
                                acc += mass[m, r] * K[1, r]
                            cbuf[m] = acc
                    else:
                        for m in range(n):
                            cbuf[m] = K[1, m]
                    for m in range(n):
                        K[2, m] -= ROS23_E32 * (cbuf[m] - fbuf[m])
                if banded:
                    band_lu_solve_row(Wb, kl, ku, piv, K, st_i)
                elif slu is not None and kl == KL_SPARSE:
                    sparse_w_solve(slu, K[st_i])
                else:
                    lu_solve_row(W, piv, K, st_i)
        else:
            hairer_stages(s, A, C, c, d, h, t, y, fy, ft, K, W, Wb, banded, kl, ku, piv,
                          mass, has_mass, rhs, p, ytmp, fbuf, cbuf, slu)
        if kind == 1:
            h6 = h / 6.0
            for m in range(n):
                err[m] = h6 * (K[0, m] - 2.0 * K[1, m] + K[2, m])
            nfev += 2
        else:
            combine_stages(s, B, E, y, K, y_new, err)
            nfev += s - 1
        err_norm = rosenbrock_error_norm(y, y_new, err, atol, rtol)
        accepted, h_abs, h_acc, err_acc = rosenbrock_step_size(
            err_norm, exponent, h, naccept, h_acc, err_acc, step_rejected)
        if not accepted:
            step_rejected = True
            nreject += 1
    return (status, accepted, t_new, h, h_abs, nfev, nlu, nreject, attempts, n_singular, h_acc,
            err_acc)


# the same as a function of its own, for the step-by-step classes (switching/advance.py): numba
# cannot inline a call of more than 30 arguments (Python passes them as *args)
rosenbrock_attempts_call = njit(cache=True, nogil=True, error_model="numpy")(
    rosenbrock_attempts.py_func)
