"""The SDE drivers: many paths in parallel, each with its own random stream (numba).

``solve_paths`` runs ``n_paths`` paths in a ``prange`` loop; path r draws its normals from the
Philox stream of path index ``path0 + r`` (fastode.sde.random), so its result does not depend on
the thread count or on how the paths are split into calls. Each path returns a status code of
fastode.kernels.status and keeps what it saved up to a failure (the rest of its row stays NaN).

Fixed steps: ``n_steps`` equal steps h = (t1 - t0) / n_steps. Adaptive steps (the order-1.5
methods, which carry an error estimate): rejection sampling with memory (RSwM1 of Rackauckas &
Nie 2017): a rejected step of size h with increments (dW, dZ) is split by the Brownian bridge
into the retried step h' and the remainder h - h', both kept on a per-path stack; later steps
take their increments from the stack (splitting its top again when they are shorter), so the
Brownian path stays the same whatever the rejections. dZ (the second normal of I_(1,0)) is
bridged the same way, as StochasticDiffEq.jl does.
"""
import math

import numpy as np
from numba import njit, prange

from ..kernels import status as st
from ..kernels.callbacks import call_rhs
from .random import fill_normals
from .steps import (em_general_step, em_step, heun_general_step, heun_step, milstein_step,
                    sra_step, sri_step)

EM, MILSTEIN, HEUN, SRI, SRA = 0, 1, 2, 3, 4
GENERAL = 2        # ``diag`` of general noise (n x m diffusion); 1 diagonal/additive, 0 scalar
BUFFER = 1024      # normals drawn per refill (a multiple of the draw size is used)
STACK = 64         # RSwM stack depth per path (exceeded: STEP_TOO_SMALL)
QMAX = 1.125       # largest step growth after an accepted step (Rackauckas & Nie 2017)
QMIN = 0.2
SAFETY = 0.9


@njit(cache=True, nogil=True, error_model="numpy")
def refill(zbuf, size, use_zsrc, zsrc, row, k0, k1, path, ctr):
    """Fill ``zbuf[:size]`` with the next normals of the path: from its Philox stream, or from
    the supplied normals ``zsrc[row]`` (NaN past their end); returns the new position."""
    if use_zsrc:
        length = zsrc.shape[1]
        for i in range(size):
            zbuf[i] = zsrc[row, ctr + i] if ctr + i < length else np.nan
        ctr = ctr + size
    else:
        ctr = fill_normals(zbuf, 0, size, k0, k1, path, ctr)
    return ctr + 0 * (zbuf.shape[0] + zsrc.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def save_points(out, row, y, y_new, t, h, t_save, k):
    """Save the points ``t_save[k:]`` that lie in the step [t, t + h], linearly interpolated
    (the SDE's path between steps is not known better); returns the next index."""
    n = y.shape[0]
    n_save = t_save.shape[0]
    while k < n_save and t_save[k] <= t + h:
        theta = (t_save[k] - t) / h if h > 0.0 else 1.0
        theta = min(1.0, max(0.0, theta))
        for i in range(n):
            out[row, i, k] = y[i] + theta * (y_new[i] - y[i])
        k += 1
    return k + 0 * (out.shape[0] + y.shape[0] + y_new.shape[0] + t_save.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def em_fixed(drift, diff, p, y, y_new, f, g, zbuf, t0, t1, n_steps, need, diag, use_zsrc, zsrc,
             zrow, k0, k1, path, row, t_save, k_save, out):
    """The fixed Euler-Maruyama steps of ``solve_path`` for diagonal, scalar and additive noise
    (em_step's arithmetic, the same numbers): in a function of its own the loop takes 16 ns per
    step on one OU path, among the other methods' loops in solve_path it took 40 ns (10^5
    steps, same session). Returns (status, accepted steps)."""
    n = y.shape[0]
    n_save = t_save.shape[0]
    size = zbuf.shape[0]
    zpos = size
    ctr = 0
    h = (t1 - t0) / n_steps
    sqh = math.sqrt(h)
    t = t0
    naccept = 0
    status = st.SUCCESS
    for step in range(n_steps):
        if zpos == size:
            ctr = refill(zbuf, size, use_zsrc, zsrc, zrow, k0, k1, path, ctr)
            zpos = 0
        call_rhs(drift, t, y, p, f)
        call_rhs(diff, t, y, p, g)
        for i in range(n):
            y_new[i] = y[i] + h * f[i] + g[i] * (sqh * zbuf[zpos + i * diag])
        zpos += need
        t_new = t1 if step == n_steps - 1 else t0 + (step + 1) * h
        check = 0.0
        for i in range(n):
            check += y_new[i] * 0.0
        if check != 0.0 or check != check:
            status = st.NON_FINITE
            break
        if k_save < n_save and t_save[k_save] <= t_new:
            k_save = save_points(out, row, y, y_new, t, t_new - t, t_save, k_save)
        for i in range(n):
            y[i] = y_new[i]
        t = t_new
        naccept += 1
    return (status + 0 * (y.shape[0] + y_new.shape[0] + f.shape[0] + g.shape[0] + p.shape[0]
                          + zbuf.shape[0] + zsrc.shape[0] + t_save.shape[0] + out.shape[0]),
            naccept)


@njit(cache=True, nogil=True, error_model="numpy")
def solve_path(kind, drift, diff, dderiv, use_dderiv, p, y0, t0, t1, h0, n_steps, adaptive,
               rtol, atol, ito, A0, A1, B0, B1, c0, c1, alpha, beta1, beta2, beta3, beta4,
               fneed, gneed, n_err, n_stages, m, diag, k0, k1, path, zsrc, use_zsrc, zrow,
               row, t_save, max_steps, out, counters):
    """Integrate one path into ``out[row]``; returns its status. ``counters[row]`` = [drift
    calls, diffusion calls, accepted steps, rejected steps]; supplied normals are
    ``zsrc[zrow]``."""
    n = y0.shape[0]
    n_save = t_save.shape[0]
    need = 2 * m if kind >= SRI else m
    size = max(need, (BUFFER // need) * need)
    if not adaptive and n_steps * need < size:
        # a short fixed-step path draws its normals at once and no more (~6 ns each): the
        # same numbers, as normal i is word i % 4 of Philox block i // 4 whatever the count
        size = n_steps * need
    zbuf = np.empty(size)
    zpos = size
    ctr = 0
    y = y0.copy()
    y_new = np.empty(n)
    f = np.empty(n)
    glen = n * m if diag == GENERAL else n
    g = np.empty(glen)
    f2 = np.empty(n)
    g2 = np.empty(glen)
    ytmp = np.empty(n)
    ypad = np.zeros(glen)
    K = np.zeros((4, n))
    G = np.zeros((4, n))
    dw = np.empty(m)
    dz = np.empty(m)
    st_h = np.empty(STACK)
    st_w = np.empty((STACK, need))
    n_stack = 0
    status = st.SUCCESS
    k_save = 0
    while k_save < n_save and t_save[k_save] <= t0:
        for i in range(n):
            out[row, i, k_save] = y[i]
        k_save += 1
    t = t0
    naccept = 0
    nreject = 0
    nf = 0
    ng = 0
    if kind == EM and diag != GENERAL:
        status, naccept = em_fixed(drift, diff, p, y, y_new, f, g, zbuf, t0, t1, n_steps, need,
                                   diag, use_zsrc, zsrc, zrow, k0, k1, path, row, t_save,
                                   k_save, out)
        nf = naccept + (1 if status != st.SUCCESS else 0)
        ng = nf
    elif kind < SRI:
        # fixed steps of the low-order methods
        h = (t1 - t0) / n_steps
        sqh = math.sqrt(h)
        for step in range(n_steps):
            if zpos == size:
                ctr = refill(zbuf, size, use_zsrc, zsrc, zrow, k0, k1, path, ctr)
                zpos = 0
            if diag == GENERAL:
                if kind == EM:
                    em_general_step(drift, diff, p, t, h, sqh, y, y_new, f, g, ypad, zbuf, zpos,
                                    m)
                else:
                    heun_general_step(drift, diff, p, t, h, sqh, y, y_new, f, g, f2, g2, ytmp,
                                      ypad, zbuf, zpos, m)
            elif kind == EM:
                em_step(drift, diff, p, t, h, sqh, y, y_new, f, g, zbuf, zpos, diag)
            elif kind == MILSTEIN:
                milstein_step(drift, diff, dderiv, use_dderiv, p, t, h, sqh, ito, y, y_new, f, g,
                              g2, ytmp, zbuf, zpos, diag)
            else:
                heun_step(drift, diff, p, t, h, sqh, y, y_new, f, g, f2, g2, ytmp, zbuf, zpos,
                          diag)
            zpos += need
            t_new = t1 if step == n_steps - 1 else t0 + (step + 1) * h
            check = 0.0
            for i in range(n):
                check += y_new[i] * 0.0
            if check != 0.0 or check != check:
                status = st.NON_FINITE
                break
            if k_save < n_save and t_save[k_save] <= t_new:
                k_save = save_points(out, row, y, y_new, t, t_new - t, t_save, k_save)
            for i in range(n):
                y[i] = y_new[i]
            t = t_new
            naccept += 1
        per_f = 2 if kind == HEUN else 1
        per_g = 2 if kind == HEUN or (kind == MILSTEIN and not use_dderiv) else 1
        nf = per_f * (naccept + (1 if status != st.SUCCESS else 0))
        ng = per_g * (naccept + (1 if status != st.SUCCESS else 0))
    else:
        # the order-1.5 methods: fixed steps, or adaptive with RSwM1
        h_fixed = (t1 - t0) / n_steps if not adaptive else 0.0
        h_prop = h_fixed if not adaptive else h0
        h_min = 16.0 * 2.220446049250313e-16 * max(abs(t0), abs(t1))
        f_per = 0
        g_per = 0
        for s in range(4):
            f_per += 1 if (kind == SRI and fneed[s]) or (kind == SRA and s < n_stages) else 0
            g_per += 1 if (kind == SRI and gneed[s]) or (kind == SRA and s < n_stages) else 0
        while t < t1:
            if naccept + nreject >= max_steps:
                status = st.MAX_STEPS
                break
            last = False
            if adaptive:
                h = h_prop
                if h >= (t1 - t) * (1.0 - 1e-10):
                    h = t1 - t
                    last = True
            else:
                h = h_fixed
                last = naccept == n_steps - 1
            if n_stack > 0 and h >= st_h[n_stack - 1] * (1.0 - 1e-12):
                # the whole top of the stack: its increments as they were drawn
                h = st_h[n_stack - 1]
                if adaptive:
                    last = t1 - (t + h) <= 1e-12 * (abs(t1) + (t1 - t0))
                n_stack -= 1
                for j in range(m):
                    dw[j] = st_w[n_stack, j]
                    dz[j] = st_w[n_stack, m + j]
            else:
                if zpos + need > size:
                    ctr = refill(zbuf, size, use_zsrc, zsrc, zrow, k0, k1, path, ctr)
                    zpos = 0
                if n_stack > 0:
                    # a part of the top: the Brownian bridge, the rest stays on the stack
                    hs = st_h[n_stack - 1]
                    q = h / hs
                    sd = math.sqrt(q * (1.0 - q) * hs)
                    for j in range(need):
                        full = st_w[n_stack - 1, j]
                        part = q * full + sd * zbuf[zpos + j]
                        st_w[n_stack - 1, j] = full - part
                        if j < m:
                            dw[j] = part
                        else:
                            dz[j - m] = part
                    st_h[n_stack - 1] = hs - h
                else:
                    sq = math.sqrt(h)
                    for j in range(m):
                        dw[j] = sq * zbuf[zpos + j]
                        dz[j] = sq * zbuf[zpos + m + j]
                zpos += need
            if kind == SRI:
                err = sri_step(drift, diff, p, t, h, y, y_new, K, G, ytmp, dw, dz, m, diag,
                               rtol, atol, A0, A1, B0, B1, c0, c1, alpha, beta1, beta2, beta3,
                               beta4, fneed, gneed, n_err)
            else:
                err = sra_step(drift, diff, p, t, h, y, y_new, K, G, ytmp, dw, dz, m, diag,
                               rtol, atol, A0, B0, c0, c1, alpha, beta1, beta2, n_stages)
            nf += f_per
            ng += g_per
            check = 0.0
            for i in range(n):
                check += y_new[i] * 0.0
            if check != 0.0 or check != check:
                status = st.NON_FINITE
                break
            if not adaptive or err <= 1.0:
                t_new = t1 if last else t + h
                if k_save < n_save and t_save[k_save] <= t_new:
                    k_save = save_points(out, row, y, y_new, t, t_new - t, t_save, k_save)
                for i in range(n):
                    y[i] = y_new[i]
                t = t_new
                naccept += 1
                if adaptive:
                    factor = QMAX if err == 0.0 else min(QMAX, SAFETY / math.sqrt(err))
                    h_prop = h * max(factor, QMIN)
            else:
                nreject += 1
                if err != err:
                    status = st.NON_FINITE
                    break
                h_new = h * max(QMIN, min(SAFETY, SAFETY / math.sqrt(err)))
                if h_new < h_min or n_stack + 2 > STACK:
                    status = st.STEP_TOO_SMALL
                    break
                # split the rejected step's increments: push the remainder, then the retry
                if zpos + need > size:
                    ctr = refill(zbuf, size, use_zsrc, zsrc, zrow, k0, k1, path, ctr)
                    zpos = 0
                q = h_new / h
                sd = math.sqrt(q * (1.0 - q) * h)
                for j in range(need):
                    full = dw[j] if j < m else dz[j - m]
                    part = q * full + sd * zbuf[zpos + j]
                    st_w[n_stack, j] = full - part
                    st_w[n_stack + 1, j] = part
                zpos += need
                st_h[n_stack] = h - h_new
                st_h[n_stack + 1] = h_new
                n_stack += 2
                h_prop = h_new
    counters[row, 0] = nf
    counters[row, 1] = ng
    counters[row, 2] = naccept
    counters[row, 3] = nreject
    return status + 0 * (zbuf.shape[0] + y.shape[0] + y_new.shape[0] + f.shape[0] + g.shape[0]
                         + f2.shape[0] + g2.shape[0] + ytmp.shape[0] + K.shape[0] + G.shape[0]
                         + ypad.shape[0]
                         + dw.shape[0] + dz.shape[0] + st_h.shape[0] + st_w.shape[0])


@njit(inline="always", cache=True)
def _unpack(ints, reals):
    return (ints[0], ints[1] != 0, ints[2], ints[3] != 0, ints[4], ints[5], ints[6], ints[7],
            ints[8], ints[9] != 0, ints[10], np.uint64(ints[11]), np.uint64(ints[12]),
            reals[0], reals[1], reals[2], reals[3], reals[4], reals[5])


@njit(cache=True, nogil=True, parallel=True)
def solve_paths(drift, diff, dderiv, P, y0s, ints, reals, mats, vecs, flags, zsrc, t_save, out,
                status, counters):
    """Every row k of ``out`` (shape (n_sets * n_paths, n, len(t_save))), in parallel: path
    r = k % n_paths of parameter set s = k // n_paths, with parameters ``P[s]`` (the packed
    ``p`` of that set), initial state ``y0s[r]`` (or ``y0s[0]`` for all), random stream
    ``path0 + r`` (common random numbers across the sets) or, with ``independent``,
    ``path0 + k``. Fills ``out``, ``status[k]`` and ``counters[k]``.

    The options come packed (a call of a numba function costs per argument):
    ``ints`` = [kind, use_dderiv, n_steps, adaptive, n_err, n_stages, m, diag, path0, use_zsrc,
    max_steps, k0, k1, n_paths, independent], ``reals`` = [t0, t1, h0, rtol, atol, ito],
    ``mats`` = [A0, A1, B0, B1], ``vecs`` = [c0, c1, alpha, beta1, beta2, beta3, beta4],
    ``flags`` = [fneed, gneed]."""
    (kind, use_dderiv, n_steps, adaptive, n_err, n_stages, m, diag, path0, use_zsrc, max_steps,
     k0, k1, t0, t1, h0, rtol, atol, ito) = _unpack(ints, reals)
    n_paths = ints[13]
    independent = ints[14] != 0
    A0, A1, B0, B1 = mats[0], mats[1], mats[2], mats[3]
    c0, c1, alpha, beta1, beta2, beta3, beta4 = (vecs[0], vecs[1], vecs[2], vecs[3], vecs[4],
                                                 vecs[5], vecs[6])
    fneed, gneed = flags[0], flags[1]
    n_rows = out.shape[0]
    shared = y0s.shape[0] == 1
    for k in prange(n_rows):
        r = k % n_paths
        y0 = y0s[0] if shared else y0s[r]
        stream = path0 + k if independent else path0 + r
        p_row = P[k // n_paths]
        status[k] = solve_path(kind, drift, diff, dderiv, use_dderiv, p_row, y0, t0, t1, h0,
                               n_steps, adaptive, rtol, atol, ito, A0, A1, B0, B1, c0, c1,
                               alpha, beta1, beta2, beta3, beta4, fneed, gneed, n_err, n_stages,
                               m, diag, k0, k1, stream, zsrc, use_zsrc, r, k, t_save, max_steps,
                               out, counters)


@njit(cache=True, nogil=True)
def solve_one(drift, diff, dderiv, P, y0s, ints, reals, mats, vecs, flags, zsrc, t_save, out,
              status, counters):
    """``solve_paths`` for one path of one set, without starting the thread pool."""
    (kind, use_dderiv, n_steps, adaptive, n_err, n_stages, m, diag, path0, use_zsrc, max_steps,
     k0, k1, t0, t1, h0, rtol, atol, ito) = _unpack(ints, reals)
    status[0] = solve_path(kind, drift, diff, dderiv, use_dderiv, P[0], y0s[0], t0, t1, h0,
                           n_steps, adaptive, rtol, atol, ito, mats[0], mats[1], mats[2],
                           mats[3], vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5],
                           vecs[6], flags[0], flags[1], n_err, n_stages, m, diag, k0, k1, path0,
                           zsrc, use_zsrc, 0, 0, t_save, max_steps, out, counters)
