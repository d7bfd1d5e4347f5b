"""Radau IIA (order 5), step by step: the state layout ``SV_*`` / ``V_*`` and the kernels of the
``Radau`` class (``radau_workspace``, ``radau_init``, ``radau_advance``; moved from
kernels/radau.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ...tableaus import radau as tab
from ..callbacks import call_rhs
from ..control import select_initial_step
from ..jacobian import FD_NUM_JAC, JAC_FD, JAC_USER, SINGULAR, evaluate_jacobian
from ..newton import EPS, lu_solve_inline as lu_solve, spacing10
from .newton import (E0, E1, E2, FAIL_STATUS, MAX_FACTOR, MAX_SINGULAR_CUTS, MIN_FACTOR,
                     NEWTON_MAXITER, P00, P01, P02, P10, P11, P12, P20, P21, P22, factor_radau,
                     mass_times, predict_factor, radau_newton)


# ---- resumable stepping, for the step-by-step class fastode.solvers_radau.Radau --------------
# radau_solve keeps its own copy of the step loop: measured here, moving the step into an
# inline="always" function costs radau_solve 1.3x on Robertson (rtol 1e-6), because numba
# increfs/decrefs every array passed to a function, inlined or not (~12 ns per array and call,
# about 30 arrays per step), and a call with more than 30 arguments compiles to
# CALL_FUNCTION_EX, which numba cannot inline. radau_step below is the same algorithm, line for
# line (tests/test_solvers_implicit.py checks that both take the same steps), for one step per
# Python call, where that cost does not matter.
#
# The state scalars of a resumable integration, in a float64 array ``sv`` (flags 0.0 / 1.0,
# counts as floats):
SV_T = 0            # current t
SV_T1 = 1           # end of the interval (t_bound)
SV_DIRECTION = 2    # +1.0 or -1.0
SV_MAX_STEP = 3
SV_MIN_STEP = 4
SV_MAX_STEPS = 5    # <= 0: unlimited
SV_NEWTON_TOL = 6
SV_H_ABS = 7        # step size to try next
SV_H_ABS_OLD = 8    # previous accepted step size (< 0: none)
SV_ERR_OLD = 9      # previous accepted error norm (< 0: none)
SV_CURRENT_JAC = 10  # J was evaluated at the current (t, y)
SV_LU_VALID = 11    # the LU factors belong to the current step size
SV_HAVE_SOL = 12    # the previous step's interpolant exists (Q_sol)
SV_T_SOL = 13       # its start
SV_H_SOL = 14       # its signed size
SV_ATTEMPTS = 15
SV_NFEV = 16
SV_NJEV = 17
SV_NLU = 18
SV_NACCEPT = 19
SV_NREJECT = 20
SV_ACCEPTED = 21    # the last step call accepted a step
SV_T_NEW = 22       # ... ending at t_new
SV_H = 23           # ... of signed size h
SV_SIZE = 24


@njit(cache=True, nogil=True)
def step_jacobian(rhs, jac, use_jac, p, t, y, f, aux, J, ytmp, fbuf):
    """The step-by-step class's J at (t, y): the user's (``use_jac``) or scipy's num_jac with
    the increment factors ``aux[2]`` (fastode.kernels.jacobian.evaluate_jacobian; dense only)."""
    no_groups = np.empty(0, dtype=np.int64)
    evaluate_jacobian(JAC_USER if use_jac else JAC_FD, FD_NUM_JAC, rhs, jac, p, t, y, f, aux[1],
                      J, J, -1, 0, no_groups, no_groups, no_groups, no_groups, aux[2], aux[3],
                      aux[4], ytmp, fbuf, aux[3], aux[4])


@njit(cache=True, nogil=True, inline="always")
def radau_step(rhs, jac, use_jac, p, sv, y, f, aux, mass, has_mass, y_new, f_new, ytmp, fbuf,
               scale, err, br, bc, Z0, Z, W, F, mw, J, LUr, LUc, pivr, pivc, Q, Q_sol):
    """One step from (t, y), with its rejections, as scipy's ``Radau._step_impl``
    (radau_solve's step, on state kept in caller-owned arrays).

    The state scalars are in ``sv`` (``SV_*``); ``f`` = f(t, y); ``aux`` (5, n) = [rtol, atol,
    the finite-difference increment factors (carried from call to call), work, work]. Also
    carried: J, the LU factors (``LUr``/``pivr``, ``LUc``/``pivc``, valid when
    ``SV_LU_VALID``), and the previous step's interpolant ``Q_sol`` (n, 4) = [Q | y at its
    start] on [t_sol, t_sol + h_sol], which predicts the stage values (Z0). Work: ``Z0``, ``Z``,
    ``W``, ``F``, ``mw`` (3, n) and the n-vectors.

    On acceptance (``sv[SV_ACCEPTED]`` = 1) it leaves t_new and h in ``sv``, y(t_new) in
    ``y_new``, f(t_new, y_new) in ``f_new`` and the step's collocation polynomial in ``Q``
    (n, 3), monomial form; :func:`radau_commit` then moves on. Returns the status: SUCCESS; a
    failure with no step accepted (MAX_STEPS, or a collapsed step: FAIL_STATUS); NON_FINITE with
    the step accepted when f(t_new, y_new) is not finite.
    """
    n = y.shape[0]
    status = st.SUCCESS
    t = sv[SV_T]
    t1 = sv[SV_T1]
    direction = sv[SV_DIRECTION]
    max_step = sv[SV_MAX_STEP]
    min_step = sv[SV_MIN_STEP]
    max_steps = sv[SV_MAX_STEPS]
    newton_tol = sv[SV_NEWTON_TOL]
    h_abs = sv[SV_H_ABS]
    current_jac = sv[SV_CURRENT_JAC] != 0.0
    lu_valid = sv[SV_LU_VALID] != 0.0
    have_sol = sv[SV_HAVE_SOL] != 0.0
    t_sol = sv[SV_T_SOL]
    h_sol = sv[SV_H_SOL]
    attempts = sv[SV_ATTEMPTS]
    nfev = 0
    njev = 0
    nlu = 0
    nreject = 0
    spacing = spacing10(t, direction)
    if h_abs > max_step:
        ha = max_step
        ha_old = -1.0
        en_old = -1.0
    elif h_abs < spacing:
        ha = spacing
        ha_old = -1.0
        en_old = -1.0
    else:
        ha = h_abs
        ha_old = sv[SV_H_ABS_OLD]
        en_old = sv[SV_ERR_OLD]
    rejected = False
    accepted = False
    fail_kind = 0
    n_singular = 0
    error_norm = 0.0
    n_iter = 0
    rate = -1.0
    safety = 0.9
    t_new = t
    h = 0.0
    while not accepted:
        if max_steps > 0 and attempts >= max_steps:
            status = st.MAX_STEPS
            break
        if ha < spacing or ha < min_step:
            status = FAIL_STATUS[fail_kind]
            break
        attempts += 1
        h = ha * direction
        t_new = t + h
        if direction * (t_new - t1) > 0.0:
            t_new = t1
        h = t_new - t
        ha = abs(h)
        if have_sol:
            for i in range(3):
                x = (t + h * tab.C[i] - t_sol) / h_sol
                x2 = x * x
                x3 = x2 * x
                for m in range(n):
                    Z0[i, m] = ((Q_sol[m, 0] * x + Q_sol[m, 1] * x2 + Q_sol[m, 2] * x3)
                                + Q_sol[m, 3]) - y[m]
        for m in range(n):
            scale[m] = aux[1, m] + abs(y[m]) * aux[0, m]
        converged = False
        finite = True
        while not converged:
            singular = False
            if not lu_valid:
                singular = factor_radau(J, mass, has_mass, h, LUr, pivr, LUc, pivc)
                nlu += 2
                lu_valid = not singular
            if not singular:
                converged, n_iter, rate, nf, finite = radau_newton(
                    rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUr, pivr, LUc,
                    pivc, br, bc, mass, has_mass, mw, -1, 0)
                nfev += nf
            if not converged:
                if current_jac:
                    break
                njev += 1
                step_jacobian(rhs, jac, use_jac, p, t, y, f, aux, J, ytmp, fbuf)
                current_jac = True
                lu_valid = False
        if not converged:
            fail_kind = 1 if not finite else (2 if singular else 3)
            n_singular = n_singular + 1 if singular else 0
            if n_singular >= MAX_SINGULAR_CUTS:
                status = SINGULAR
                break
            ha *= 0.5
            lu_valid = False
            nreject += 1
            continue
        fail_kind = 0
        ze = mw[0]  # Newton's M W work row holds Z^T E / h
        for m in range(n):
            y_new[m] = y[m] + Z[2, m]
            ze[m] = (Z[0, m] * E0 + Z[1, m] * E1 + Z[2, m] * E2) / h
        mass_times(mass, has_mass, -1, 0, ze, err)
        for m in range(n):
            err[m] = f[m] + err[m]
        lu_solve(LUr, pivr, err)
        acc = 0.0
        for m in range(n):
            scale[m] = aux[1, m] + max(abs(y[m]), abs(y_new[m])) * aux[0, m]
            r = err[m] / scale[m]
            acc += r * r
        error_norm = math.sqrt(acc / n)
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        if rejected and error_norm > 1.0:
            for m in range(n):
                ytmp[m] = y[m] + err[m]
            call_rhs(rhs, t, ytmp, p, fbuf)
            nfev += 1
            mass_times(mass, has_mass, -1, 0, ze, err)
            acc = 0.0
            for m in range(n):
                err[m] = fbuf[m] + err[m]
            lu_solve(LUr, pivr, err)
            for m in range(n):
                r = err[m] / scale[m]
                acc += r * r
            error_norm = math.sqrt(acc / n)
        if not (error_norm <= 1.0):
            if math.isfinite(error_norm):
                factor = predict_factor(ha, ha_old, error_norm, en_old)
                ha *= max(MIN_FACTOR, safety * factor)
            else:
                ha *= MIN_FACTOR
                fail_kind = 1
            lu_valid = False
            rejected = True
            nreject += 1
        else:
            accepted = True
    if accepted:
        recompute_jac = n_iter > 2 and rate > 1e-3
        factor = predict_factor(ha, ha_old, error_norm, en_old)
        factor = min(MAX_FACTOR, safety * factor)
        if not recompute_jac and factor < 1.2:
            factor = 1.0
        else:
            lu_valid = False
        call_rhs(rhs, t_new, y_new, p, f_new)
        nfev += 1
        f_finite = True
        for m in range(n):
            if not math.isfinite(f_new[m]):
                f_finite = False
        if not f_finite:
            status = st.NON_FINITE
        elif recompute_jac:
            step_jacobian(rhs, jac, use_jac, p, t_new, y_new, f_new, aux, J, ytmp, fbuf)
            njev += 1
            current_jac = True
        else:
            current_jac = False
        sv[SV_H_ABS_OLD] = h_abs
        sv[SV_ERR_OLD] = error_norm
        sv[SV_H_ABS] = ha * factor
        sv[SV_NACCEPT] += 1.0
        # collocation polynomial of this step: Q = Z^T P (also the next step's predictor)
        for m in range(n):
            z0 = Z[0, m]
            z1 = Z[1, m]
            z2 = Z[2, m]
            Q[m, 0] = z0 * P00 + z1 * P10 + z2 * P20
            Q[m, 1] = z0 * P01 + z1 * P11 + z2 * P21
            Q[m, 2] = z0 * P02 + z1 * P12 + z2 * P22
    sv[SV_ACCEPTED] = 1.0 if accepted else 0.0
    sv[SV_T_NEW] = t_new
    sv[SV_H] = h
    sv[SV_CURRENT_JAC] = 1.0 if current_jac else 0.0
    sv[SV_LU_VALID] = 1.0 if lu_valid else 0.0
    sv[SV_ATTEMPTS] = attempts
    sv[SV_NFEV] += nfev
    sv[SV_NJEV] += njev
    sv[SV_NLU] += nlu
    sv[SV_NREJECT] += nreject
    return status


@njit(cache=True, nogil=True, inline="always")
def radau_commit(sv, y, f, y_new, f_new, Q, Q_sol):
    """Move on after an accepted step: Q_sol = [Q | y] (the step just taken, the next step's
    predictor), t = t_new, y = y_new, f = f_new."""
    n = y.shape[0]
    sv[SV_HAVE_SOL] = 1.0
    sv[SV_T_SOL] = sv[SV_T]
    sv[SV_H_SOL] = sv[SV_H]
    for m in range(n):
        Q_sol[m, 0] = Q[m, 0]
        Q_sol[m, 1] = Q[m, 1]
        Q_sol[m, 2] = Q[m, 2]
        Q_sol[m, 3] = y[m]
        y[m] = y_new[m]
        f[m] = f_new[m]
    sv[SV_T] = sv[SV_T_NEW]


V_Y, V_Y_NEW, V_F, V_F_NEW, V_YTMP, V_FBUF, V_SCALE, V_ERR, V_BR = range(9)
VEC_ROWS = 9


def radau_workspace(n):
    """Allocate the state of a resumable Radau integration of n equations (plain numpy).

    Returns (sv, vec, aux, stage, J, LUr, LUc, bc, piv, Q, Q_sol): ``sv`` (SV_SIZE,) the
    scalars; ``vec`` (VEC_ROWS, n) the n-vectors (rows V_Y, V_Y_NEW, V_F, ...); ``aux`` (5, n) =
    [rtol, atol, increment factors, work, work] (the caller fills rtol and atol); ``stage``
    (5, 3, n) = [Z0, Z, W, F, M W]; ``J``, ``LUr`` (n, n); ``LUc`` (n, n) and ``bc`` (n,)
    complex; ``piv`` (2, n) int64; ``Q`` (n, 3) the last step's polynomial; ``Q_sol`` (n, 4).
    """
    return (np.zeros(SV_SIZE), np.zeros((VEC_ROWS, n)), np.zeros((5, n)), np.zeros((5, 3, n)),
            np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n), dtype=np.complex128),
            np.zeros(n, dtype=np.complex128), np.zeros((2, n), dtype=np.int64),
            np.zeros((n, 3)), np.zeros((n, 4)))


@njit(cache=True, nogil=True)
def radau_init(rhs, jac, use_jac, p, t0, t_bound, first_step, max_step, has_mass, sv, vec, aux,
               J):
    """Start a resumable Radau integration from (t0, vec[V_Y]) as radau_solve (and scipy's
    ``Radau`` constructor) does: f(t0, y0); if it is finite, Newton's tolerance, the first
    step (``first_step`` <= 0: Hairer's estimate, one RHS call; with a mass matrix 1e-6) and
    J(t0, y0). ``aux[0]``, ``aux[1]`` must hold rtol and atol.

    Returns the status: SUCCESS, or NON_FINITE when f(t0, y0) is not finite.
    """
    y = vec[V_Y]
    f = vec[V_F]
    n = y.shape[0]
    direction = 1.0 if t_bound >= t0 else -1.0
    for k in range(SV_SIZE):
        sv[k] = 0.0
    sv[SV_T] = t0
    sv[SV_T1] = t_bound
    sv[SV_DIRECTION] = direction
    sv[SV_MAX_STEP] = max_step
    sv[SV_H_ABS_OLD] = -1.0
    sv[SV_ERR_OLD] = -1.0
    call_rhs(rhs, t0, y, p, f)
    sv[SV_NFEV] = 1.0
    for m in range(n):
        if not math.isfinite(f[m]):
            return st.NON_FINITE
    rtol_min = aux[0, 0]
    for i in range(n):
        rtol_min = min(rtol_min, aux[0, i])
    sv[SV_NEWTON_TOL] = max(10.0 * EPS / rtol_min, min(0.03, rtol_min ** 0.5))
    if first_step > 0.0:
        h_abs = first_step
    elif has_mass:
        h_abs = min(1e-6, abs(t_bound - t0), max_step)
    else:
        h_abs = select_initial_step(rhs, p, t0, y, f, t_bound, max_step, direction, 3, aux[0],
                                    aux[1], vec[V_YTMP], vec[V_FBUF])
        if t_bound != t0:  # an empty interval returns 0 without calling f (as scipy)
            sv[SV_NFEV] += 1.0
    sv[SV_H_ABS] = h_abs
    for m in range(n):
        aux[2, m] = math.sqrt(EPS)
    step_jacobian(rhs, jac, use_jac, p, t0, y, f, aux, J, vec[V_YTMP], vec[V_FBUF])
    sv[SV_NJEV] = 1.0
    sv[SV_CURRENT_JAC] = 1.0
    return st.SUCCESS


@njit(cache=True, nogil=True)
def radau_advance(rhs, jac, use_jac, p, mass, has_mass, sv, vec, aux, stage, J, LUr, LUc, bc,
                  piv, Q, Q_sol):
    """Take one step (with its rejections) from the state left by :func:`radau_init` or the
    previous call: :func:`radau_step`, then :func:`radau_commit` when a step was accepted.

    After an accepted step (``sv[SV_ACCEPTED]`` = 1) t = sv[SV_T], y = vec[V_Y], f = vec[V_F]
    are the new point, and the step just taken, from t_sol = sv[SV_T_SOL] with signed size
    h_sol = sv[SV_H_SOL], has the interpolant ``y(t_sol + theta h_sol) = Q_sol[:, 3] +
    Q_sol[:, :3] [theta, theta^2, theta^3]``. Returns the status: SUCCESS; a failure code with
    no step taken; or NON_FINITE with the step taken (f(t_new, y_new) is not finite).
    """
    y = vec[V_Y]
    f = vec[V_F]
    y_new = vec[V_Y_NEW]
    f_new = vec[V_F_NEW]
    status = radau_step(rhs, jac, use_jac, p, sv, y, f, aux, mass, has_mass, y_new, f_new,
                        vec[V_YTMP], vec[V_FBUF], vec[V_SCALE], vec[V_ERR], vec[V_BR], bc,
                        stage[0], stage[1], stage[2], stage[3], stage[4], J, LUr, LUc, piv[0],
                        piv[1], Q, Q_sol)
    if sv[SV_ACCEPTED] != 0.0:
        radau_commit(sv, y, f, y_new, f_new, Q, Q_sol)
    return status
