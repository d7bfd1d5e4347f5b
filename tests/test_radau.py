"""Radau IIA order 5 (fastode.kernels.radau): tableau, convergence order, step-by-step agreement
with scipy's Radau, standard stiff problems, mass matrices, failures, and solve_ivp.

The drivers are called directly (``run_driver`` builds the arguments of the implicit driver
contract) and through ``fastode.solve_ivp(method="Radau")``.
"""
import functools

import numpy as np
import pytest
import scipy.integrate

import fastode
from fastode.ivp_implicit import compile_jac
from fastode.kernels import status as st
from fastode.kernels.jacobian import SINGULAR
from fastode.kernels.radau import radau_solve
from fastode.rhs import compile_rhs
from fastode.tableaus import radau as tab

NO_I = np.zeros(0, dtype=np.int64)
NO_F = np.zeros(0)


# ---- problems ---------------------------------------------------------------------------------

def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def robertson_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


def robertson_dae(t, y):
    """Robertson as an index-1 DAE: M = diag(1, 1, 0), 0 = y1 + y2 + y3 - 1."""
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     y[0] + y[1] + y[2] - 1.0])


def robertson_dae_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [1.0, 1.0, 1.0]])


def vdp1000(t, y):
    return np.array([y[1], 1000.0 * (1.0 - y[0] ** 2) * y[1] - y[0]])


def hires(t, y):
    return np.array([
        -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
        1.71 * y[0] - 8.75 * y[1],
        -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
        8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
        -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
        -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
        280.0 * y[5] * y[7] - 1.81 * y[6],
        -280.0 * y[5] * y[7] + 1.81 * y[6]])


HIRES_Y0 = np.array([1.0, 0, 0, 0, 0, 0, 0, 0.0057])
HIRES_T1 = 321.8122
# E. Hairer, G. Wanner, Solving ODEs II, Sec. IV.10 / the Bari IVP test set: HIRES at t = 321.8122
HIRES_REF = np.array([7.371312573325668e-4, 1.442485726316185e-4, 5.888729740967575e-5,
                      1.175651343283149e-3, 2.386356198831331e-3, 6.238968252742796e-3,
                      2.849998395185769e-3, 2.850001604814231e-3])


def orego(t, y):
    return np.array([77.27 * (y[1] + y[0] * (1.0 - 8.375e-6 * y[0] - y[1])),
                     (y[2] - (1.0 + y[0]) * y[1]) / 77.27,
                     0.161 * (y[0] - y[2])])


# the IVP test set: OREGO at t = 360
OREGO_REF = np.array([1.000814870318523, 1228.178521549917, 132.0554942846706])


def e5(t, y):
    a, b, c, m = 7.89e-10, 1.1e7, 1.13e3, 1e6
    return np.array([-a * y[0] - b * y[0] * y[2],
                     a * y[0] - m * c * y[1] * y[2],
                     a * y[0] - b * y[0] * y[2] - m * c * y[1] * y[2] + c * y[3],
                     b * y[0] * y[2] - c * y[3]])


E5_Y0 = np.array([1.76e-3, 0.0, 0.0, 0.0])
E5_T = np.array([10.0, 1e3, 1e5, 1e7, 1e9])


LINEAR_A = np.array([[-1.0, 5.0], [-5.0, -1.0]])


def linear(t, y):
    return np.array([-y[0] + 5.0 * y[1], -5.0 * y[0] - y[1]])


def linear_jac(t, y):
    return np.array([[-1.0, 5.0], [-5.0, -1.0]])


def linear_exact(t):
    return np.exp(-t) * np.array([np.cos(5 * t), -np.sin(5 * t)])


# ---- helpers ----------------------------------------------------------------------------------

_KEEP = []


def run_driver(driver, fun, t_span, y0, rtol=1e-3, atol=1e-6, jac=None, mass=None,
               first_step=0.0, max_step=np.inf, min_step=0.0, max_steps=0, t_eval=None,
               dense=False):
    """Call an implicit driver directly; returns its 13-tuple."""
    y0 = np.asarray(y0, dtype=float)
    n = y0.size
    compiled = compile_rhs(fun, n, (), False, False)
    compiled_jac = compile_jac(jac, n, (), False, float(t_span[0]), y0)[1]
    _KEEP.append((compiled, compiled_jac))
    rt = np.broadcast_to(np.asarray(rtol, dtype=float), (n,)).copy()
    at = np.broadcast_to(np.asarray(atol, dtype=float), (n,)).copy()
    M = np.eye(n) if mass is None else np.ascontiguousarray(mass, dtype=float)
    te = np.zeros(1) if t_eval is None else np.asarray(t_eval, dtype=float)
    return driver.flat(compiled.address, compiled_jac.address if compiled_jac else 0,
                  compiled_jac is not None, np.zeros(1), float(t_span[0]), float(t_span[1]),
                  y0, rt, at, M, mass is not None, float(first_step), float(max_step),
                  float(min_step), int(max_steps), te, t_eval is not None, dense,
                  NO_I, NO_F, NO_I, 4)


def unpack(out):
    status, t_out, y_out, n_out = out[:4]
    return int(status), t_out[:n_out], y_out[:n_out].T, out[12]


@functools.lru_cache(maxsize=None)
def scipy_solution(name, method, rtol, atol):
    fun, t_span, y0 = PROBLEMS[name]
    return scipy.integrate.solve_ivp(fun, t_span, y0, method=method, rtol=rtol, atol=atol)


PROBLEMS = {
    "robertson": (robertson, (0.0, 1e5), np.array([1.0, 0.0, 0.0])),
    "vdp1000": (vdp1000, (0.0, 3000.0), np.array([2.0, 0.0])),
    "hires": (hires, (0.0, HIRES_T1), HIRES_Y0),
}


# ---- tableau ----------------------------------------------------------------------------------

def test_tableau_identities():
    np.testing.assert_allclose(tab.A.sum(axis=1), tab.C, atol=1e-15)
    np.testing.assert_allclose(tab.T @ tab.TI, np.eye(3), atol=1e-14)
    lam = np.array([[tab.MU_REAL, 0, 0],
                    [0, tab.MU_COMPLEX_RE, -tab.MU_COMPLEX_IM],
                    [0, tab.MU_COMPLEX_IM, tab.MU_COMPLEX_RE]])
    np.testing.assert_allclose(tab.T @ lam @ tab.TI, np.linalg.inv(tab.A), atol=1e-12)
    # Radau IIA order conditions B(5): sum b_i c_i^(k-1) = 1/k
    for k in range(1, 6):
        assert abs(tab.B @ tab.C ** (k - 1) - 1.0 / k) < 1e-14
    # collocation polynomial at theta = C reproduces Z: P^T-weights equal A^T
    theta = tab.C
    V = np.stack([theta, theta ** 2, theta ** 3], axis=1)   # (3 nodes, 3 powers)
    np.testing.assert_allclose(V @ tab.P.T, np.eye(3), atol=1e-12)


# ---- convergence order ------------------------------------------------------------------------

def test_order_5_fixed_steps():
    """Steps of exactly 1/N (first_step = max_step, loose tolerances accept them all) on a
    linear problem with its exact Jacobian (Newton then solves the collocation system exactly):
    the error at t = 1 falls as h^5."""
    errors = []
    for N in (4, 8, 16, 32):
        h = 1.0 / N
        status, t, y, c = unpack(run_driver(radau_solve, linear, (0.0, 1.0), [1.0, 0.0],
                                            rtol=1e3, atol=1e3, jac=linear_jac, first_step=h,
                                            max_step=h))
        assert status == 0 and c[1] == N and c[2] == 0
        errors.append(np.abs(y[:, -1] - linear_exact(1.0)).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 4.6), orders


def test_tolerance_sweep_converges():
    prev = np.inf
    for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
        status, t, y, c = unpack(run_driver(radau_solve, linear, (0.0, 2.0), [1.0, 0.0],
                                            rtol=rtol, atol=rtol * 1e-2))
        err = np.abs(y[:, -1] - linear_exact(2.0)).max()
        assert status == 0 and err < 50 * rtol and err < prev
        prev = err


# ---- agreement with scipy's Radau -------------------------------------------------------------

@pytest.mark.parametrize("name,rtol,atol", [("robertson", 1e-6, 1e-10), ("hires", 1e-6, 1e-9),
                                            ("robertson", 1e-3, 1e-6)])
def test_same_steps_as_scipy(name, rtol, atol):
    fun, t_span, y0 = PROBLEMS[name]
    status, t, y, c = unpack(run_driver(radau_solve, fun, t_span, y0, rtol=rtol, atol=atol))
    ref = scipy_solution(name, "Radau", rtol, atol)
    assert status == 0
    assert t.size == ref.t.size
    # the same steps; rounding differences (LU pivoting, summation order) reach ~1e-6 late
    np.testing.assert_allclose(t, ref.t, rtol=2e-5, atol=1e-12)
    np.testing.assert_allclose(y, ref.y, rtol=2e-5, atol=10 * atol)
    assert (c[0], c[4], c[5]) == (ref.nfev, ref.njev, ref.nlu)


def test_vdp1000_close_to_scipy():
    """Van der Pol mu = 1000: the same steps until rounding makes them drift apart (late)."""
    fun, t_span, y0 = PROBLEMS["vdp1000"]
    status, t, y, c = unpack(run_driver(radau_solve, fun, t_span, y0, rtol=1e-6, atol=1e-9))
    ref = scipy_solution("vdp1000", "Radau", 1e-6, 1e-9)
    assert status == 0
    assert abs(t.size - ref.t.size) <= 0.02 * ref.t.size
    np.testing.assert_allclose(t[:400], ref.t[:400], rtol=1e-6)
    np.testing.assert_allclose(y[:, -1], ref.y[:, -1], rtol=1e-5, atol=1e-7)


# ---- standard stiff problems ------------------------------------------------------------------

def test_robertson_tight_conservation_and_scipy():
    fun, t_span, y0 = PROBLEMS["robertson"]
    status, t, y, c = unpack(run_driver(radau_solve, fun, t_span, y0, rtol=1e-10,
                                        atol=1e-14, jac=robertson_jac))
    assert status == 0
    np.testing.assert_allclose(y.sum(axis=0), 1.0, atol=1e-12)
    ref = scipy_solution("robertson", "Radau", 1e-10, 1e-14)
    np.testing.assert_allclose(y[:, -1], ref.y[:, -1], rtol=1e-8, atol=1e-16)


def test_hires_reference():
    status, t, y, c = unpack(run_driver(radau_solve, hires, (0.0, HIRES_T1), HIRES_Y0,
                                        rtol=1e-10, atol=1e-14))
    assert status == 0
    np.testing.assert_allclose(y[:, -1], HIRES_REF, rtol=1e-7)


def test_orego_reference():
    status, t, y, c = unpack(run_driver(radau_solve, orego, (0.0, 360.0), [1.0, 2.0, 3.0],
                                        rtol=1e-10, atol=1e-12))
    assert status == 0
    np.testing.assert_allclose(y[:, -1], OREGO_REF, rtol=1e-6)


@pytest.mark.scipy_compare
def test_e5_against_tight_scipy():
    """E5 to t = 1e9 at rtol = 1e-10 against scipy's Radau at the same tolerance.

    Late (t >= 1e7) the solution is limited by rounding, not by the tolerance: the decay rate of
    y1 is b y3, and y3 is a small difference of large terms, so scipy's own solution moves by
    up to 5e-5 relative at t = 1e9 between OpenBLAS kernel sets, or between rtol = 1e-10 and
    1e-13 on one CPU. The bound is therefore 1e-5 relative (the early times, where the runs
    agree to 1e-9) plus twice the distance between scipy's solutions at rtol = 1e-10 and 1e-11:
    two equally valid solutions, whose distance measures how far rounding can carry one."""
    kw = dict(method="Radau", atol=1e-30, t_eval=E5_T)
    ref = scipy.integrate.solve_ivp(e5, (0.0, 1e9), E5_Y0, rtol=1e-10, **kw)
    tighter = scipy.integrate.solve_ivp(e5, (0.0, 1e9), E5_Y0, rtol=1e-11, **kw)
    status, t, y, c = unpack(run_driver(radau_solve, e5, (0.0, 1e9), E5_Y0, rtol=1e-10,
                                        atol=1e-30, t_eval=E5_T))
    assert status == 0
    np.testing.assert_allclose(t, E5_T)
    # components go down to 1e-20; compare each relative to its size
    spread = np.abs(tighter.y - ref.y)
    for i in range(4):
        scale = np.abs(ref.y[i]) + 1e-30
        assert np.all(np.abs(y[i] - ref.y[i]) <= 1e-5 * scale + 2 * spread[i] + 1e-28), i


# ---- dense output, t_eval ---------------------------------------------------------------------

def test_dense_output_matches_scipy():
    out = run_driver(radau_solve, hires, (0.0, HIRES_T1), HIRES_Y0, rtol=1e-6, atol=1e-9,
                     dense=True)
    seg_t, seg_h, seg_data, n_seg = out[4:8]
    ref = scipy.integrate.solve_ivp(hires, (0.0, HIRES_T1), HIRES_Y0, method="Radau",
                                    rtol=1e-6, atol=1e-9, dense_output=True)
    n = 8
    q = seg_data.shape[1] // n - 1
    assert q == 3 and n_seg == ref.t.size - 1
    for k in range(0, n_seg, 7):
        for theta in (0.25, 0.6, 1.0):
            value = seg_data[k, :n] + sum(seg_data[k, n + np.arange(n) * q + j] * theta ** (j + 1)
                                          for j in range(q))
            np.testing.assert_allclose(value, ref.sol(seg_t[k] + theta * seg_h[k]),
                                       rtol=1e-8, atol=1e-14)


# ---- mass matrices ----------------------------------------------------------------------------

def test_mass_matrix_nonsingular():
    M = np.array([[2.0, 1.0], [1.0, 3.0]])
    Minv = np.linalg.inv(M)

    def explicit_form(t, y):
        return Minv @ linear(t, y)

    status, t, y, c = unpack(run_driver(radau_solve, linear, (0.0, 2.0), [1.0, 0.0],
                                        rtol=1e-9, atol=1e-12, mass=M, first_step=1e-3))
    ref = scipy.integrate.solve_ivp(explicit_form, (0.0, 2.0), [1.0, 0.0], method="DOP853",
                                    rtol=1e-12, atol=1e-14)
    assert status == 0
    np.testing.assert_allclose(y[:, -1], ref.y[:, -1], rtol=1e-7, atol=1e-10)


def test_robertson_dae_singular_mass():
    """Index-1 DAE. With atol 1e-12 scipy's finite-difference increments for y2 = y3 = 0
    (~1e-20) vanish in y1 + y2 + y3 - 1: the analytic Jacobian is given."""
    M = np.diag([1.0, 1.0, 0.0])
    t_eval = np.array([1.0, 10.0, 1e3, 1e5])
    status, t, y, c = unpack(run_driver(radau_solve, robertson_dae, (0.0, 1e5),
                                        [1.0, 0.0, 0.0], rtol=1e-8, atol=1e-12, mass=M,
                                        jac=robertson_dae_jac, t_eval=t_eval))
    assert status == 0
    ref = scipy.integrate.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau",
                                    rtol=1e-10, atol=1e-14, t_eval=t_eval)
    np.testing.assert_allclose(y, ref.y, rtol=1e-5, atol=1e-11)
    np.testing.assert_allclose(y.sum(axis=0), 1.0, atol=1e-12)


# ---- failures ---------------------------------------------------------------------------------

def constant_one(t, y):
    return np.array([1.0])


def nan_after_one(t, y):
    return np.array([-y[0] if t < 1.0 else np.nan])


def blow_up(t, y):
    return np.array([y[0] * y[0]])


def test_singular_iteration_matrix_fails_with_status():
    # M = 0 and f independent of y: MU/h M - J = 0 at every step size
    status, t, y, c = unpack(run_driver(radau_solve, constant_one, (0.0, 1.0), [0.0],
                                        mass=np.zeros((1, 1))))
    assert status == SINGULAR
    assert c[3] == 0.0


def test_nan_rhs_fails_with_status():
    status, t, y, c = unpack(run_driver(radau_solve, nan_after_one, (0.0, 2.0), [1.0]))
    assert status == st.NON_FINITE
    assert 0.9 < c[3] <= 1.0 and np.isfinite(y).all()


def test_blow_up_fails_near_singularity():
    status, t, y, c = unpack(run_driver(radau_solve, blow_up, (0.0, 2.0), [1.0]))
    # y = 1 / (1 - t): the failure (a collapsed step) comes at the singularity t = 1
    assert status < 0
    assert 0.99 < c[3] < 1.01


def test_max_steps():
    status, t, y, c = unpack(run_driver(radau_solve, vdp1000, (0.0, 3000.0), [2.0, 0.0],
                                        max_steps=20))
    assert status == st.MAX_STEPS


# ---- through solve_ivp ------------------------------------------------------------------------

def test_solve_ivp_radau_matches_scipy():
    res = fastode.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau",
                            rtol=1e-6, atol=1e-10, jac=robertson_jac)
    ref = scipy.integrate.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau",
                                    rtol=1e-6, atol=1e-10, jac=robertson_jac)
    assert res.success and res.status == 0
    assert (res.nfev, res.njev, res.nlu) == (ref.nfev, ref.njev, ref.nlu)
    np.testing.assert_allclose(res.t, ref.t, rtol=2e-5)
    np.testing.assert_allclose(res.y, ref.y, rtol=2e-5, atol=1e-9)


def test_solve_ivp_radau_dense_events_t_eval():
    def half(t, y):
        return y[0] - 0.5
    t_eval = np.logspace(-3, 5, 9)
    res = fastode.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau",
                            rtol=1e-6, atol=1e-10, t_eval=t_eval, dense_output=True,
                            events=half)
    ref = scipy.integrate.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau",
                                    rtol=1e-6, atol=1e-10, t_eval=t_eval, dense_output=True,
                                    events=half)
    np.testing.assert_allclose(res.y, ref.y, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(res.t_events[0], ref.t_events[0], rtol=1e-8)
    tt = np.linspace(0.0, 1e5, 57)
    np.testing.assert_allclose(res.sol(tt), ref.sol(tt), rtol=1e-6, atol=1e-12)


def test_solve_ivp_radau_failure_message():
    res = fastode.solve_ivp(nan_after_one, (0.0, 2.0), [1.0], method="Radau")
    assert not res.success and res.status == -1 and res.message


def test_identity_mass_matches_no_mass_through_rejections():
    """M = I must give the steps of no mass matrix, bit for bit (M v is exact for M = I).

    Regression: the written-out error estimate after a rejected step (Hairer-Wanner IV.8,
    eq. 8.21) reused the accumulator of M z for the error norm, so with a mass matrix every
    rejection with error > 1 was judged on a wrong norm."""
    def vdp(t, y):
        return np.array([y[1], 1e3 * (1.0 - y[0] ** 2) * y[1] - y[0]])

    kw = dict(method="Radau", rtol=1e-3, atol=1e-6, first_step=10.0)  # a first step rejected twice
    plain = fastode.solve_ivp(vdp, (0.0, 2000.0), [2.0, 0.0], **kw)
    mass = fastode.solve_ivp(vdp, (0.0, 2000.0), [2.0, 0.0], mass=np.eye(2), **kw)
    assert plain.success and mass.success
    assert plain.t.size > 100 and plain.nfev > 0
    np.testing.assert_array_equal(mass.t, plain.t)
    np.testing.assert_array_equal(mass.y, plain.y)
    assert (mass.nfev, mass.njev, mass.nlu) == (plain.nfev, plain.njev, plain.nlu)
