"""Tests of the explicit Runge-Kutta tableaus in fastode.tableaus.explicit.

Everything here is pure numpy (plus scipy as the reference for RK23 / RK45 / DOP853):

* consistency identities (triangularity, row sums, weights, theta = 1 of the interpolant);
* the order conditions of Butcher's rooted trees, generated generically (all 486 trees up to
  order 9), for the propagated weights, the embedded estimators and the dense output;
* convergence of a small fixed-step reference integrator written here, for the solution and
  for the dense output, globally and per step;
* bit-for-bit-ish agreement with scipy's solvers on one step (stages, y_new, error estimate,
  dense output).
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest
from scipy.integrate import DOP853 as ScipyDOP853
from scipy.integrate import RK23 as ScipyRK23
from scipy.integrate import RK45 as ScipyRK45

from fastode.tableaus import explicit as ex
from fastode.tableaus.explicit import TABLEAUS, ExplicitTableau

NAMES = sorted(TABLEAUS)
EXPECTED_NAMES = {
    "euler", "midpoint", "heun", "rk4", "rk38", "bogacki_shampine_32", "dormand_prince_54",
    "dop853", "tsitouras_54", "verner_76",
}
FIXED_STEP = ["euler", "midpoint", "heun", "rk4", "rk38"]
ADAPTIVE = sorted(EXPECTED_NAMES - set(FIXED_STEP))

# Orders of the linear combinations E (and E3) themselves: for DOP853, [B, 0] + E is a
# 5th-order and [B, 0] + E3 a 3rd-order formula; scipy's error_estimator_order = 7 refers to
# the blend |e5|^2 / sqrt(|e5|^2 + 0.01 |e3|^2) = O(h^8), checked in test_error_estimate_scaling.
EMBEDDED_ORDER = {"dop853": 5}
EMBEDDED_ORDER_E3 = {"dop853": 3}

# Absolute tolerance of an order condition (1/gamma(t) <= 1); the coefficients are given to
# 16-40 digits, and the largest residual of any satisfied condition is ~5e-15.  A wrong digit
# anywhere before the 12th produces a residual far above this.
COND_TOL = 1e-12
# A violated condition must be violated by more than this (checks that orders are sharp).
VIOLATED = 1e-8


def tab(name: str) -> ExplicitTableau:
    return TABLEAUS[name]


def effective_dense_order(t: ExplicitTableau) -> int:
    """The continuous extension cannot be more accurate than the step it interpolates."""
    return min(t.order, t.dense_order)


# ---------------------------------------------------------------------------------------
# Rooted trees and elementary weights
# ---------------------------------------------------------------------------------------
# A rooted tree is the sorted tuple of its subtrees; the single vertex is ().

def _graft(t):
    """All trees obtained from t by attaching one new leaf to any vertex."""
    yield tuple(sorted(t + ((),)))
    for i, child in enumerate(t):
        for g in _graft(child):
            yield tuple(sorted(t[:i] + (g,) + t[i + 1:]))


@lru_cache(maxsize=None)
def trees(n: int) -> tuple:
    if n == 1:
        return ((),)
    return tuple(sorted({g for t in trees(n - 1) for g in _graft(t)}))


def tree_order(t) -> int:
    return 1 + sum(tree_order(c) for c in t)


def gamma(t) -> int:
    g = tree_order(t)
    for c in t:
        g *= gamma(c)
    return g


def stage_weights(t, A: np.ndarray) -> np.ndarray:
    """Vector g(t) with Phi_b(t) = b . g(t): g(leaf) = 1, g([t1..tm]) = prod_k A g(tk)."""
    v = np.ones(A.shape[0])
    for c in t:
        v = v * (A @ stage_weights(c, A))
    return v


def extended_A(t: ExplicitTableau) -> np.ndarray:
    """Butcher matrix over all s+1+m stages: main, f_new (row = B, c = 1), extras."""
    s, m = t.n_stages, t.n_extra
    n = s + 1 + m
    A = np.zeros((n, n))
    A[:s, :s] = t.A
    A[s, :s] = t.B
    A[s + 1:, :] = t.A_extra
    return A


def extended_C(t: ExplicitTableau) -> np.ndarray:
    return np.concatenate([t.C, [1.0], t.C_extra])


def max_residual(b: np.ndarray, A: np.ndarray, k: int) -> float:
    """max over trees of order k of |b . g(t) - 1/gamma(t)|."""
    return max(abs(b @ stage_weights(t, A) - 1.0 / gamma(t)) for t in trees(k))


def max_annihilation(e: np.ndarray, A: np.ndarray, k: int) -> float:
    """max over trees of order k of |e . g(t)| (e = difference of two weight vectors)."""
    return max(abs(e @ stage_weights(t, A)) for t in trees(k))


def dense_residual(t: ExplicitTableau, k: int) -> float:
    """Continuous order conditions sum_i b_i(theta) g_i(t) = theta^k / gamma(t), for every
    theta, i.e. coefficient-wise in the monomials theta^1..theta^q.  A tree of order k > q
    cannot be satisfied (returns 1/gamma)."""
    A = extended_A(t)
    q = t.P.shape[1]
    worst = 0.0
    for tr in trees(k):
        target = np.zeros(q)
        if k > q:
            worst = max(worst, 1.0 / gamma(tr))
            continue
        target[k - 1] = 1.0 / gamma(tr)
        worst = max(worst, np.abs(t.P.T @ stage_weights(tr, A) - target).max())
    return worst


def test_tree_counts():
    # OEIS A000081: the generator itself must be right, or the order tests are vacuous.
    assert [len(trees(n)) for n in range(1, 10)] == [1, 1, 2, 4, 9, 20, 48, 115, 286]
    assert sorted(gamma(t) for t in trees(3)) == [3, 6]
    assert sorted(gamma(t) for t in trees(4)) == [4, 8, 12, 24]


# ---------------------------------------------------------------------------------------
# Registry and shapes
# ---------------------------------------------------------------------------------------

def test_registry():
    assert set(TABLEAUS) == EXPECTED_NAMES
    for name, t in TABLEAUS.items():
        assert isinstance(t, ExplicitTableau)
        assert t.name == name
        assert getattr(ex, name.upper()) is t


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes(name):
    t = tab(name)
    s, m = t.n_stages, t.n_extra
    assert t.C.shape == (s,) and t.A.shape == (s, s) and t.B.shape == (s,)
    assert t.E.shape == (s + 1,) and t.E3.shape == (s + 1,)
    assert t.C_extra.shape == (m,) and t.A_extra.shape == (m, s + 1 + m)
    assert t.P.ndim == 2 and t.P.shape[0] == s + 1 + m
    assert t.P.shape[1] >= t.dense_order, "P's degree is below dense_order"
    for arr in (t.C, t.A, t.B, t.E, t.E3, t.C_extra, t.A_extra, t.P):
        assert arr.dtype == np.float64
        assert np.all(np.isfinite(arr))
    assert t.C[0] == 0.0
    ex.validate(t)


@pytest.mark.parametrize("name", NAMES)
def test_validate_rejects_corruption(name):
    t = tab(name)
    bad_B = t.B.copy()
    bad_B[-1] += 1e-6
    with pytest.raises(ValueError):
        ex.validate(t._replace(B=bad_B))
    bad_A = t.A.copy()
    bad_A[0, -1] = 0.5
    with pytest.raises(ValueError):
        ex.validate(t._replace(A=bad_A))


@pytest.mark.parametrize("name", FIXED_STEP)
def test_fixed_step_metadata(name):
    t = tab(name)
    assert t.error_order == 0 and not t.fsal
    assert np.all(t.E == 0.0) and np.all(t.E3 == 0.0)
    assert t.n_extra == 0
    assert t.dense_order == 3
    np.testing.assert_array_equal(t.P, ex.hermite_P(t.B))


def test_metadata_of_pairs():
    expect = {  # order, error_order, dense_order, fsal, s, m
        "bogacki_shampine_32": (3, 2, 3, True, 3, 0),
        "dormand_prince_54": (5, 4, 4, True, 6, 0),
        "dop853": (8, 7, 7, False, 12, 3),
        "tsitouras_54": (5, 4, 4, True, 6, 0),
        "verner_76": (7, 6, 6, False, 10, 5),
    }
    for name, (p, pe, q, fsal, s, m) in expect.items():
        t = tab(name)
        assert (t.order, t.error_order, t.dense_order, t.fsal, t.n_stages, t.n_extra) == \
            (p, pe, q, fsal, s, m), name
        # FSAL pairs are exactly those whose estimator uses f_new
        assert (t.E[s] != 0.0) == t.fsal, name
    for name in NAMES:
        if name != "dop853":
            assert np.all(tab(name).E3 == 0.0)
    assert np.any(tab("dop853").E3 != 0.0)


# ---------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_identities(name):
    t = tab(name)
    s, m = t.n_stages, t.n_extra
    assert np.all(np.triu(t.A) == 0.0), "A must be strictly lower triangular"
    for j in range(m):
        assert np.all(t.A_extra[j, s + 1 + j:] == 0.0), "extra stage uses a later stage"
    # sums agree to rounding: a few ulps of the sum of the magnitudes of the terms
    def ulps(M):
        return 8 * np.finfo(float).eps * (1.0 + np.abs(M).sum(axis=-1))

    assert np.all(np.abs(t.A.sum(axis=1) - t.C) <= ulps(t.A))
    if m:
        assert np.all(np.abs(t.A_extra.sum(axis=1) - t.C_extra) <= ulps(t.A_extra))
    assert abs(t.B.sum() - 1.0) <= ulps(t.B)
    assert abs(t.E.sum()) <= ulps(t.E)
    assert abs(t.E3.sum()) <= ulps(t.E3)
    # theta = 1: the interpolant hits y_new
    end = np.concatenate([t.B, np.zeros(1 + m)])
    np.testing.assert_allclose(t.P.sum(axis=1), end, rtol=0,
                               atol=1e-14 * (1.0 + np.abs(t.P).max()))
    # theta -> 0: y'(t) = f(t, y) = k_0
    e0 = np.zeros(s + 1 + m)
    e0[0] = 1.0
    np.testing.assert_allclose(t.P[:, 0], e0, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------------------
# Order conditions
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_order_conditions(name):
    t = tab(name)
    A = t.A
    for k in range(1, t.order + 1):
        r = max_residual(t.B, A, k)
        assert r < COND_TOL, f"order condition of order {k} violated by {r:.1e}"
    # and the order is sharp
    assert max_residual(t.B, A, t.order + 1) > VIOLATED


def test_quadrature_and_simplifying_conditions():
    """Spelled-out conditions (sum b c^(k-1) = 1/k, sum b_i a_ij = b_j (1 - c_j) where the
    method satisfies D(1)), independent of the tree machinery."""
    for name in NAMES:
        t = tab(name)
        for k in range(1, t.order + 1):
            assert abs(t.B @ t.C ** (k - 1) - 1.0 / k) < COND_TOL, (name, k)
        if t.order >= 3:
            assert abs(t.B @ (t.A @ t.C) - 1.0 / 6.0) < COND_TOL, name
        if t.order >= 4:
            assert abs(t.B @ (t.C * (t.A @ t.C)) - 1.0 / 8.0) < COND_TOL, name
            assert abs(t.B @ (t.A @ t.C ** 2) - 1.0 / 12.0) < COND_TOL, name
            assert abs(t.B @ (t.A @ (t.A @ t.C)) - 1.0 / 24.0) < COND_TOL, name
    # D(1) holds for these (not for euler, midpoint, Bogacki-Shampine)
    for name in ("heun", "rk4", "rk38", "dormand_prince_54", "tsitouras_54", "dop853",
                 "verner_76"):
        t = tab(name)
        np.testing.assert_allclose(t.B @ t.A, t.B * (1.0 - t.C), rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_embedded_order_conditions(name):
    """E (over [k_0..k_{s-1}, f_new]) annihilates the elementary weights of all trees up to
    the embedded order, so [B, 0] + E is a formula of that order; not of one more."""
    t = tab(name)
    A = extended_A(t)[: t.n_stages + 1, : t.n_stages + 1]
    for vec, order in ((t.E, EMBEDDED_ORDER.get(name, t.error_order)),
                       (t.E3, EMBEDDED_ORDER_E3.get(name))):
        if order is None:
            continue
        for k in range(1, order + 1):
            r = max_annihilation(vec, A, k)
            assert r < COND_TOL, f"embedded condition of order {k} violated by {r:.1e}"
        assert max_annihilation(vec, A, order + 1) > VIOLATED
        # the embedded weights themselves, explicitly
        bhat = np.concatenate([t.B, [0.0]]) + vec
        for k in range(1, order + 1):
            assert max_residual(bhat, A, k) < COND_TOL


@pytest.mark.parametrize("name", NAMES)
def test_dense_order_conditions(name):
    t = tab(name)
    q = effective_dense_order(t)
    for k in range(1, q + 1):
        r = dense_residual(t, k)
        # the interpolant coefficients reach ~1e3 (Vern7), so scale the rounding tolerance
        assert r < COND_TOL * (1.0 + np.abs(t.P).max()), \
            f"continuous order condition of order {k} violated by {r:.1e}"
    assert dense_residual(t, q + 1) > VIOLATED


def test_verner_76_interpolant_order7_defect_is_small():
    """Verner's published 16-stage interpolant satisfies every continuous order condition
    through order 6 exactly but 12 of the 48 order-7 ones only up to a small defect (it is
    thus formally of order 6, dense_order = 6).  Pin the size of that defect, measured as
    max over theta in [0, 1] of |sum_i b_i(theta) g_i(t) - theta^7/gamma(t)|, so that a
    corrupted coefficient (or a fix) is noticed."""
    t = tab("verner_76")
    A = extended_A(t)
    theta = np.linspace(0.0, 1.0, 101)
    powers = theta[:, None] ** np.arange(1, t.P.shape[1] + 1)
    worst7 = max(np.abs(powers @ (t.P.T @ stage_weights(tr, A)) - theta ** 7 / gamma(tr)).max()
                 for tr in trees(7))
    worst8 = max(np.abs(powers @ (t.P.T @ stage_weights(tr, A)) - theta ** 8 / gamma(tr)).max()
                 for tr in trees(8))
    assert 1e-7 < worst7 < 5e-7
    assert worst8 > 100 * worst7  # the order-8 terms dominate for any practical step


# ---------------------------------------------------------------------------------------
# Dense output formulas
# ---------------------------------------------------------------------------------------

def dense_eval(t: ExplicitTableau, y, h, K, theta):
    q = t.P.shape[1]
    w = t.P @ (theta ** np.arange(1, q + 1))
    return y + h * (K.T @ w)


@pytest.mark.parametrize("name", FIXED_STEP + ["bogacki_shampine_32"])
def test_hermite_interpolant(name):
    """P is the cubic Hermite interpolant of (y, f_0, y_new, f_new) for arbitrary data."""
    t = tab(name)
    s = t.n_stages
    rng = np.random.default_rng(1)
    y, h = rng.normal(size=3), 0.37
    K = rng.normal(size=(s + 1, 3))
    y1 = y + h * (t.B @ K[:s])
    f0, f1 = K[0], K[s]
    for th in (0.0, 0.2, 0.5, 0.9, 1.0):
        h00, h10 = 2 * th**3 - 3 * th**2 + 1, th**3 - 2 * th**2 + th
        h01, h11 = -2 * th**3 + 3 * th**2, th**3 - th**2
        herm = h00 * y + h10 * h * f0 + h01 * y1 + h11 * h * f1
        np.testing.assert_allclose(dense_eval(t, y, h, K, th), herm, rtol=0, atol=1e-14)


def test_dop853_monomial_conversion_matches_nested_form():
    """Pure algebra: the monomial P equals scipy's nested evaluation for random K."""
    t = tab("dop853")
    rng = np.random.default_rng(7)
    y, h = rng.normal(size=4), 0.3
    K = rng.normal(size=(16, 4))
    delta = h * (t.B @ K[:12])
    F = [delta, h * K[0] - delta, 2 * delta - h * (K[12] + K[0])]
    F += [h * (d @ K) for d in ex._DOP853_D]
    rounding = 8 * np.finfo(float).eps * (np.abs(y) + sum(np.abs(f) for f in F))
    for x in np.linspace(0.0, 1.0, 11):
        acc = np.zeros(4)
        for i, f in enumerate(reversed(F)):
            acc = (acc + f) * (x if i % 2 == 0 else 1.0 - x)
        assert np.all(np.abs(dense_eval(t, y, h, K, x) - (y + acc)) <= rounding)


# ---------------------------------------------------------------------------------------
# A tiny fixed-step reference integrator
# ---------------------------------------------------------------------------------------

def rk_step(t: ExplicitTableau, f, t0, y, h):
    """One step; returns y_new and K = [k_0..k_{s-1}, f_new, extras] (s+1+m rows)."""
    s, m = t.n_stages, t.n_extra
    K = np.zeros((s + 1 + m, y.size))
    for i in range(s):
        K[i] = f(t0 + t.C[i] * h, y + h * (t.A[i, :i] @ K[:i]))
    y_new = y + h * (t.B @ K[:s])
    K[s] = f(t0 + h, y_new)
    for j in range(m):
        r = s + 1 + j
        K[r] = f(t0 + t.C_extra[j] * h, y + h * (t.A_extra[j, :r] @ K[:r]))
    return y_new, K


def oscillator(t, y):
    return np.array([y[1], -y[0]])


def oscillator_exact(t):
    return np.array([np.cos(t), -np.sin(t)])


def limit_cycle(t, y):
    """Nonlinear and non-autonomous: in polar form r' = r (1 - r^2), phi' = 1 + cos(t)/2."""
    w = 1.0 + 0.5 * np.cos(t)
    g = 1.0 - y[0] ** 2 - y[1] ** 2
    return np.array([-w * y[1] + y[0] * g, w * y[0] + y[1] * g])


def limit_cycle_exact(t, r0=0.5):
    r = 1.0 / np.sqrt(1.0 + (1.0 / r0 ** 2 - 1.0) * np.exp(-2.0 * t))
    phi = t + 0.5 * np.sin(t)
    return np.array([r * np.cos(phi), r * np.sin(phi)])


PROBLEMS = {
    "oscillator": (oscillator, oscillator_exact, 0.0, 4.0),
    "limit_cycle": (limit_cycle, limit_cycle_exact, 0.0, 4.0),
}

# Number of steps on [0, 4] for the coarse run (the fine run halves h), per method: large
# enough to be in the asymptotic regime, small enough that the errors stay far above
# rounding.  Pairs with tiny principal error constants (Tsit5) need more steps before the
# h^(p+1) terms stop mattering.
N_OSCILLATOR = {
    "euler": 200, "midpoint": 100, "heun": 100, "rk4": 50, "rk38": 50,
    "bogacki_shampine_32": 50, "dormand_prince_54": 32, "tsitouras_54": 64,
    "dop853": 8, "verner_76": 16,
}
N_LIMIT_CYCLE = {
    "euler": 128, "midpoint": 128, "heun": 128, "rk4": 64, "rk38": 128,
    "bogacki_shampine_32": 64, "dormand_prince_54": 128, "tsitouras_54": 64,
    "dop853": 16, "verner_76": 16,
}

THETAS = (0.3, 0.7)


def integrate(t: ExplicitTableau, problem: str, n: int):
    """Fixed-step integration; returns (max error at the step points, max error of the
    dense output at theta = THETAS inside every step)."""
    f, exact, t0, t1 = PROBLEMS[problem]
    h = (t1 - t0) / n
    y = exact(t0)
    err = dense_err = 0.0
    for i in range(n):
        ti = t0 + i * h
        y_new, K = rk_step(t, f, ti, y, h)
        for th in THETAS:
            dense_err = max(dense_err,
                            np.abs(dense_eval(t, y, h, K, th) - exact(ti + th * h)).max())
        y = y_new
        err = max(err, np.abs(y - exact(ti + h)).max())
    return err, dense_err


def observed_orders(t: ExplicitTableau, problem: str, n: int):
    e1, d1 = integrate(t, problem, n)
    e2, d2 = integrate(t, problem, 2 * n)
    assert min(e1, e2, d1, d2) > 1e-13, "errors too close to rounding to measure an order"
    return np.log2(e1 / e2), np.log2(d1 / d2)


def check_dense(t: ExplicitTableau, p_dense: float):
    # dense error = global error of y_n (order p) + local interpolation error (q_eff + 1)
    expect = min(t.order, effective_dense_order(t) + 1)
    assert p_dense > expect - 0.3, f"observed dense order {p_dense:.2f}, expected {expect}"
    if t.order >= t.dense_order:
        assert p_dense > t.dense_order - 0.3


@pytest.mark.parametrize("name", NAMES)
def test_global_convergence_oscillator(name):
    t = tab(name)
    p_sol, p_dense = observed_orders(t, "oscillator", N_OSCILLATOR[name])
    assert abs(p_sol - t.order) < 0.3, f"observed order {p_sol:.2f}, expected {t.order}"
    check_dense(t, p_dense)


@pytest.mark.parametrize("name", NAMES)
def test_global_convergence_nonlinear(name):
    """On a nonlinear non-autonomous problem the order is at least `order` (some of these
    methods are observed to converge faster here, e.g. Vern7 at ~8, so only a lower bound;
    the sharpness of `order` is established by the tree conditions and the oscillator)."""
    t = tab(name)
    p_sol, p_dense = observed_orders(t, "limit_cycle", N_LIMIT_CYCLE[name])
    assert p_sol > t.order - 0.3, f"observed order {p_sol:.2f}, expected {t.order}"
    check_dense(t, p_dense)


# Step sizes for the one-step tests (the second run halves h), by the expected order.
H_LOCAL = {1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 6: 0.4, 7: 0.4}


def one_step_errors(t: ExplicitTableau, problem: str, h: float, measure):
    f, exact, _, _ = PROBLEMS[problem]
    worst = 0.0
    for t0 in (0.3, 1.1, 2.6):
        y0 = exact(t0)
        _, K = rk_step(t, f, t0, y0, h)
        worst = max(worst, measure(t0, y0, K))
    return worst


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", NAMES)
def test_local_dense_order(name, problem):
    """From exact data y(t_n), the continuous extension has local error O(h^(q_eff+1))."""
    t = tab(name)
    q = effective_dense_order(t)
    exact = PROBLEMS[problem][1]

    def errs_for(h):
        def measure(t0, y0, K):
            return max(np.abs(dense_eval(t, y0, h, K, th) - exact(t0 + th * h)).max()
                       for th in (0.25, 0.5, 0.8))
        return one_step_errors(t, problem, h, measure)

    h = H_LOCAL[q]
    e1, e2 = errs_for(h), errs_for(h / 2)
    assert min(e1, e2) > 1e-13
    p = np.log2(e1 / e2)
    assert p > q + 1 - 0.3, f"local dense exponent {p:.2f}, expected >= {q + 1}"


def blended_error(t: ExplicitTableau, K, h):
    """The local error estimate as a solver forms it (scipy's conventions)."""
    s = t.n_stages
    e = h * (K[: s + 1].T @ t.E)
    if not np.any(t.E3):
        return np.abs(e).max()
    e3 = h * (K[: s + 1].T @ t.E3)
    denom = np.hypot(np.abs(e), 0.1 * np.abs(e3))
    return np.abs(e * np.abs(e) / denom).max()


H_ESTIMATE = {2: 0.1, 4: 0.05, 6: 0.2, 7: 0.4}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", ADAPTIVE)
def test_error_estimate_scaling(name, problem):
    """The error estimate behaves like h^(error_order + 1) (for DOP853: the blend)."""
    t = tab(name)
    h = H_ESTIMATE[t.error_order]
    est = [one_step_errors(t, problem, hh, lambda t0, y0, K, hh=hh: blended_error(t, K, hh))
           for hh in (h, h / 2)]
    assert min(est) > 1e-13
    p = np.log2(est[0] / est[1])
    assert abs(p - (t.error_order + 1)) < 0.4, f"estimate scales like h^{p:.2f}"


# ---------------------------------------------------------------------------------------
# Agreement with scipy on one step
# ---------------------------------------------------------------------------------------

def lorenzish(t, y):
    return np.array([
        -0.5 * y[0] + y[1] * y[2] + np.sin(t),
        y[0] - y[1] ** 3 / 3.0,
        np.cos(y[0]) - 0.2 * y[2] * t,
    ])


SCIPY = {
    "bogacki_shampine_32": ScipyRK23,
    "dormand_prince_54": ScipyRK45,
    "dop853": ScipyDOP853,
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_matches_scipy_one_step(name):
    t = tab(name)
    s = t.n_stages
    t0, y0, h = 0.4, np.array([0.7, -0.3, 1.2]), 0.15
    # tolerances so loose that the first step (of size h) is accepted
    solver = SCIPY[name](lorenzish, t0, y0, t_bound=10.0, first_step=h, rtol=1e3, atol=1e3)
    solver.step()
    assert solver.t_old == t0 and abs(solver.h_previous - h) < 1e-15
    h = solver.h_previous  # t0 + h rounded: use scipy's exact step
    dense = solver.dense_output()  # for DOP853 this also fills the 3 extra stages

    y_new, K = rk_step(t, lorenzish, t0, y0, h)
    K_scipy = solver.K_extended if name == "dop853" else solver.K
    assert K_scipy.shape == K.shape
    np.testing.assert_allclose(K, K_scipy, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(y_new, solver.y, rtol=1e-14, atol=1e-14)
    # error estimate (scipy's own routine on scipy's stages)
    e_scipy = solver._estimate_error(solver.K, h)
    e_ours = h * (K_scipy[: s + 1].T @ t.E)
    if name == "dop853":
        e3 = h * (K_scipy[: s + 1].T @ t.E3)
        denom = np.hypot(np.abs(e_ours), 0.1 * np.abs(e3))
        e_ours = e_ours * np.abs(e_ours) / denom
    np.testing.assert_allclose(e_ours, e_scipy, rtol=1e-12, atol=1e-17)
    # dense output, with scipy's K and with ours, to rounding: 2 ulps of the magnitude of
    # the terms summed (DOP853's interpolation coefficients reach ~500, so this is ~1e-13
    # near theta = 1; the largest difference observed is 1.4e-14, 0.26 of the bound)
    q = t.P.shape[1]
    for th in np.linspace(0.0, 1.0, 21):
        ref = dense(t0 + th * h)
        mag = np.abs(y0) + h * (np.abs(K).T @ (np.abs(t.P) @ th ** np.arange(1, q + 1)))
        tol = 2 * np.finfo(float).eps * mag
        assert np.all(np.abs(dense_eval(t, y0, h, K_scipy, th) - ref) <= tol)
        assert np.all(np.abs(dense_eval(t, y0, h, K, th) - ref) <= tol)


_TABLEAU_DIGEST = """
import hashlib, numpy as np
from fastode.tableaus import explicit, radau, rosenbrock, sdirk
digest = hashlib.sha256()
for mod in (explicit, radau, rosenbrock, sdirk):
    for name, value in sorted(vars(mod).items()):
        fields = value if isinstance(value, tuple) and hasattr(value, "_fields") else (value,)
        for a in fields:
            if isinstance(a, np.ndarray):
                digest.update(name.encode() + np.ascontiguousarray(a).tobytes())
print(digest.hexdigest())
"""


def test_coefficients_do_not_depend_on_the_blas_kernels():
    """The coefficients computed at import (DOP853's monomial P = W^T M, the SDIRK stage
    cubics) are summed exactly and rounded once, not by BLAS/LAPACK, whose kernels (picked per
    CPU, or by OPENBLAS_CORETYPE when numpy loads) sum in different orders: the same bits
    under OpenBLAS's oldest (Prescott) and AVX2 (Haswell) kernels. (On a CPU without AVX2,
    Haswell falls back to an older kernel set and the check is weaker.)"""
    digests = set()
    for core in ("Prescott", "Haswell"):
        proc = subprocess.run([sys.executable, "-c", _TABLEAU_DIGEST], capture_output=True,
                              text=True, env=dict(os.environ, OPENBLAS_CORETYPE=core),
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.add(proc.stdout.strip())
    assert len(digests) == 1


def test_dop853_monomial_P_is_correctly_rounded():
    """P[i, p] is the exact sum over the basis polynomials of W[k, i] M[k, p], rounded once."""
    P = ex.DOP853.P
    B, D = ex._DOP853_A_ALL[12, :12], ex._DOP853_D
    s = B.shape[0]
    for i in range(P.shape[0]):
        w = [Fraction(float(B[i])) if i < s else Fraction(0)]             # F_0 = y_new - y
        w.append(Fraction(int(i == 0)) - w[0])                             # F_1 = h f_0 - F_0
        w.append(2 * w[0] - int(i == 0) - int(i == s))                     # F_2
        w += [Fraction(float(d)) for d in D[:, i]]                          # F_3..F_6
        poly = [Fraction(0)] * 8                  # coefficients of x^0..x^7 of sum_k w_k basis_k
        for k, wk in enumerate(w):
            a, b = k // 2 + 1, (k + 1) // 2       # basis_k = x^a (1 - x)^b
            for j in range(b + 1):
                poly[a + j] += wk * (-1) ** j * math.comb(b, j)
        assert [float(c) for c in poly[1:]] == list(P[i]), i


def test_coefficients_equal_scipy():
    for name, cls in SCIPY.items():
        t = tab(name)
        np.testing.assert_allclose(t.C, cls.C, rtol=0, atol=1e-16)
        A_scipy = np.zeros((t.n_stages, t.n_stages))
        A_scipy[:, : cls.A.shape[1]] = cls.A  # scipy's RK45.A omits the zero last column
        np.testing.assert_allclose(t.A, A_scipy, rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(t.B, cls.B, rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(t.E, cls.E5 if name == "dop853" else cls.E,
                                   rtol=1e-15, atol=1e-17)
        if name == "dop853":
            np.testing.assert_allclose(t.E3, cls.E3, rtol=1e-15, atol=1e-17)
            np.testing.assert_allclose(t.C_extra, cls.C_EXTRA, rtol=0, atol=1e-16)
            np.testing.assert_allclose(t.A_extra, cls.A_EXTRA, rtol=1e-15, atol=1e-17)
        else:
            np.testing.assert_allclose(t.P, cls.P, rtol=1e-15, atol=1e-17)


# ---- Rosenbrock tableaus (fastode.tableaus.rosenbrock) ---------------------------------------

@pytest.mark.parametrize("name, order, embedded_order", [("Rodas4", 4, 3), ("Rodas5P", 5, 4)])
def test_rosenbrock_order_conditions(name, order, embedded_order):
    """Rooted-tree order conditions in the standard (alpha, Gamma, b) form, recovered from the
    transformed coefficients: exact up to ``order`` and not beyond (so the check can fail)."""
    from fastode.tableaus.rosenbrock import TABLEAUS, order_residuals
    tab = TABLEAUS[name]
    res = order_residuals(tab, order + 1)
    assert res[0] < 1e-13  # c = alpha 1, d = Gamma 1
    assert max(res[p] for p in range(1, order + 1)) < 1e-12, res
    assert res[order + 1] > 1e-4, res
    emb = order_residuals(tab, embedded_order + 1, embedded=True)
    assert max(emb[p] for p in range(1, embedded_order + 1)) < 1e-12, emb
    assert emb[embedded_order + 1] > 1e-4, emb
    assert (tab.order, tab.error_order) == (order, embedded_order)


def test_rosenbrock_tree_count():
    from fastode.tableaus.rosenbrock import _trees
    assert [len(_trees(p)) for p in range(1, 7)] == [1, 1, 2, 4, 9, 20]
