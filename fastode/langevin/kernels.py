"""Langevin samplers on compiled kernels: ULA, MALA, BAOAB, OBABO (numba).

The gradient of the log-density is a C address with the RHS signature (``t`` unused), the
log-density (MALA) one with the event signature (fastode.kernels.callbacks). Chains run in a
``prange`` loop, chain c drawing its normals from the Philox stream of index ``chain0 + c``
(fastode.sde.random): results do not depend on the thread count or the chunking.

Underdamped dynamics (unit mass, temperature 1, friction gamma), target exp(log pi(x)):
BAOAB (Leimkuhler & Matthews 2013): v += h/2 F; x += h/2 v; v = c v + sqrt(1 - c^2) xi
(c = exp(-gamma h)); x += h/2 v; v += h/2 F(x). OBABO: the O half-steps (c = exp(-gamma h/2))
around a velocity Verlet step. One gradient call per step for both.
"""
import math

import numpy as np
from numba import njit, prange

from ..kernels.callbacks import call_event, call_rhs
from ..sde.random import fill_normals, philox4x32_10

ULA, MALA, BAOAB, OBABO = 0, 1, 2, 3
BUFFER = 1024


_MASK = np.uint64(0xFFFFFFFF)


@njit(inline="always", cache=True)
def _uniform(k0, k1, chain, j):
    """A uniform in (0, 1) for MALA's accept test: block j of the chain's second stream
    (counter word 1 = 0x40000000 + high bits: apart from the normals' blocks)."""
    a, b, _, _ = philox4x32_10(j & _MASK, (j >> np.uint64(32)) | np.uint64(0x40000000),
                               np.uint64(chain) & _MASK, np.uint64(chain) >> np.uint64(32),
                               k0, k1)
    return ((a >> np.uint64(5)) * 67108864.0 + (b >> np.uint64(6)) + 0.5) / 9007199254740992.0


@njit(cache=True, nogil=True, error_model="numpy")
def ula_baoab_steps(baoab, grad, p, x, v, F, z, total, burn_in, thin, h, sq2h, a_full, b_full,
                    c_full, s_full, k0, k1, chain, row, out):
    """``run_chain``'s steps for ULA and BAOAB (its arithmetic, the same numbers) in a loop of
    their own: among the four methods' branches the same steps were slower (double well, 100
    chains, one thread, side by side: ULA 49 -> 58, BAOAB 45 -> 47 M steps/s on a loaded
    machine). Returns (saved rows, steps taken)."""
    d = x.shape[0]
    size = z.shape[0]
    zpos = size
    ctr = 0
    n_acc = 0
    k_out = 0
    until = burn_in + thin
    for step in range(total):
        if zpos + d > size:
            ctr = fill_normals(z, 0, size, k0, k1, chain, ctr)
            zpos = 0
        if baoab:
            for i in range(d):
                vi = v[i]
                zi = z[zpos + i]
                x[i] += a_full * vi + b_full * zi
                v[i] = c_full * vi + s_full * zi
            call_rhs(grad, 0.0, x, p, F)
            for i in range(d):
                v[i] += h * F[i]
        else:
            for i in range(d):
                x[i] = x[i] + h * F[i] + sq2h * z[zpos + i]
            call_rhs(grad, 0.0, x, p, F)
        n_acc += 1
        zpos += d
        check = 0.0
        for i in range(d):
            check += (x[i] + F[i]) * 0.0
        if check != 0.0 or check != check:
            break
        until -= 1
        if until == 0:
            for i in range(d):
                out[row, k_out, i] = x[i]
            k_out += 1
            until = thin
    return (k_out + 0 * (x.shape[0] + v.shape[0] + F.shape[0] + z.shape[0] + p.shape[0]
                         + out.shape[0]), n_acc)


@njit(cache=True, nogil=True, error_model="numpy")
def run_chain(kind, grad, logp, p, x0, h, gamma, n_steps, burn_in, thin, k0, k1, chain, row,
              out, accepted):
    """One chain: ``n_steps`` steps after ``burn_in``, every ``thin``-th state saved in
    ``out[row]``; returns the number of accepted MALA proposals (steps for the others).
    A non-finite gradient or log-density stops the chain (its remaining rows stay NaN)."""
    d = x0.shape[0]
    per = 2 * d if kind == OBABO else d
    size = max(per, (BUFFER // per) * per)
    if (burn_in + n_steps) * per < size:
        # a short chain draws its normals at once and no more: the same numbers (normal i is
        # word i % 4 of Philox block i // 4 whatever the count)
        size = (burn_in + n_steps) * per
    z = np.empty(size)
    zpos = size
    ctr = 0
    x = x0.copy()
    v = np.zeros(d)
    F = np.empty(d)
    F_new = np.empty(d)
    x_new = np.empty(d)
    call_rhs(grad, 0.0, x, p, F)
    lp = call_event(logp, 0.0, x, p) if kind == MALA else 0.0
    sq2h = math.sqrt(2.0 * h)
    c_full = math.exp(-gamma * h)
    s_full = math.sqrt(max(0.0, 1.0 - c_full * c_full))
    c_half = math.exp(-0.5 * gamma * h)
    s_half = math.sqrt(max(0.0, 1.0 - c_half * c_half))
    n_acc = 0
    total = burn_in + n_steps
    half_h = 0.5 * h
    a_full = half_h * (1.0 + c_full)
    b_full = half_h * s_full
    if kind == BAOAB:
        for i in range(d):
            v[i] = half_h * F[i]  # the first step's opening B
    k_out = 0
    u_ctr = np.uint64(0)
    # steps until the next save (a countdown: a modulo per step costs more than the step)
    until = burn_in + thin
    if kind == ULA or kind == BAOAB:
        k_out, n_acc = ula_baoab_steps(kind == BAOAB, grad, p, x, v, F, z, total, burn_in,
                                       thin, h, sq2h, a_full, b_full, c_full, s_full, k0, k1,
                                       chain, row, out)
        total = 0  # done: the loop below is MALA's and OBABO's
    for step in range(total):
        if zpos + per > size:
            ctr = fill_normals(z, 0, size, k0, k1, chain, ctr)
            zpos = 0
        if kind == ULA:
            for i in range(d):
                x[i] = x[i] + h * F[i] + sq2h * z[zpos + i]
            call_rhs(grad, 0.0, x, p, F)
            n_acc += 1
        elif kind == MALA:
            for i in range(d):
                x_new[i] = x[i] + h * F[i] + sq2h * z[zpos + i]
            call_rhs(grad, 0.0, x_new, p, F_new)
            lp_new = call_event(logp, 0.0, x_new, p)
            # log q(x | x_new) - log q(x_new | x), q(b | a) = N(a + h grad(a), 2h)
            fwd = 0.0
            bwd = 0.0
            for i in range(d):
                a = x_new[i] - x[i] - h * F[i]
                b = x[i] - x_new[i] - h * F_new[i]
                fwd += a * a
                bwd += b * b
            log_ratio = lp_new - lp + (fwd - bwd) / (4.0 * h)
            u = _uniform(k0, k1, chain, u_ctr)
            u_ctr += np.uint64(1)
            if log_ratio >= 0.0 or math.log(u) < log_ratio:
                for i in range(d):
                    x[i] = x_new[i]
                    F[i] = F_new[i]
                lp = lp_new
                n_acc += 1
        elif kind == BAOAB:
            # the closing B of one step and the opening B of the next are one kick of h
            # (v is not returned, so it may run half a kick ahead: x is the same sequence)
            # A O A folded: x + h/2 v + h/2 (c v + s xi) = x + a v + b xi, so that x does not
            # wait for the new v (a shorter chain of dependent operations per step)
            for i in range(d):
                vi = v[i]
                zi = z[zpos + i]
                x[i] += a_full * vi + b_full * zi
                v[i] = c_full * vi + s_full * zi
            call_rhs(grad, 0.0, x, p, F)
            for i in range(d):
                v[i] += h * F[i]
            n_acc += 1
        else:
            for i in range(d):
                v[i] = c_half * v[i] + s_half * z[zpos + i]
                v[i] += 0.5 * h * F[i]
                x[i] += h * v[i]
            call_rhs(grad, 0.0, x, p, F)
            for i in range(d):
                v[i] += 0.5 * h * F[i]
                v[i] = c_half * v[i] + s_half * z[zpos + d + i]
            n_acc += 1
        zpos += per
        check = 0.0
        for i in range(d):
            check += (x[i] + F[i]) * 0.0
        if check != 0.0 or check != check:
            break
        until -= 1
        if until == 0:
            for i in range(d):
                out[row, k_out, i] = x[i]
            k_out += 1
            until = thin
    accepted[row] = n_acc
    return k_out + 0 * (z.shape[0] + x.shape[0] + v.shape[0] + F.shape[0] + F_new.shape[0]
                        + x_new.shape[0] + out.shape[0] + accepted.shape[0] + p.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def run_chains(kind, grad, logp, p, x0s, h, gamma, n_steps, burn_in, thin, k0, k1, chain0,
               out, accepted):
    """Every chain r of ``out`` (n_chains, n_saved, d) in parallel, from ``x0s[r]`` (or
    ``x0s[0]``)."""
    n_chains = out.shape[0]
    shared = x0s.shape[0] == 1
    for r in prange(n_chains):
        x0 = x0s[0] if shared else x0s[r]
        run_chain(kind, grad, logp, p, x0, h, gamma, n_steps, burn_in, thin, k0, k1,
                  chain0 + r, r, out, accepted)
