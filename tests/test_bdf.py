"""Variable-order NDF/BDF (fastode.kernels.bdf): step-by-step agreement with scipy's BDF,
standard stiff problems, dense output, mass matrices, failures, and solve_ivp."""
import numpy as np
import pytest
import scipy.integrate

import fastode
from fastode.kernels import status as st
from fastode.kernels.bdf import ALPHA, ERROR_CONST, GAMMA, bdf_solve
from fastode.kernels.jacobian import SINGULAR
from test_radau import (E5_T, E5_Y0, HIRES_REF, HIRES_T1, HIRES_Y0, OREGO_REF, PROBLEMS,
                        constant_one, e5, hires, linear, linear_exact, nan_after_one, orego,
                        robertson, robertson_jac, run_driver, scipy_solution, unpack)


def test_ndf_coefficients():
    # Shampine-Reichelt, Table 1: kappa, gamma_k = sum 1/j, error constants
    np.testing.assert_allclose(GAMMA[1:], np.cumsum(1.0 / np.arange(1, 6)))
    assert ALPHA[1] == pytest.approx(1.185)
    assert ERROR_CONST[1] == pytest.approx(0.5 - 0.185)


def test_tolerance_sweep_converges():
    prev = np.inf
    for rtol in (1e-4, 1e-6, 1e-8):
        status, t, y, c = unpack(run_driver(bdf_solve, linear, (0.0, 2.0), [1.0, 0.0],
                                            rtol=rtol, atol=rtol * 1e-2))
        err = np.abs(y[:, -1] - linear_exact(2.0)).max()
        assert status == 0 and err < 200 * rtol and err < prev
        prev = err


@pytest.mark.parametrize("name,rtol,atol", [("robertson", 1e-6, 1e-10), ("hires", 1e-6, 1e-9),
                                            ("robertson", 1e-3, 1e-6)])
def test_same_steps_as_scipy(name, rtol, atol):
    fun, t_span, y0 = PROBLEMS[name]
    status, t, y, c = unpack(run_driver(bdf_solve, fun, t_span, y0, rtol=rtol, atol=atol))
    ref = scipy_solution(name, "BDF", rtol, atol)
    assert status == 0
    assert t.size == ref.t.size
    np.testing.assert_allclose(t, ref.t, rtol=2e-5, atol=1e-12)
    np.testing.assert_allclose(y, ref.y, rtol=2e-5, atol=10 * atol)
    assert (c[0], c[4], c[5]) == (ref.nfev, ref.njev, ref.nlu)


def test_vdp1000_close_to_scipy():
    fun, t_span, y0 = PROBLEMS["vdp1000"]
    status, t, y, c = unpack(run_driver(bdf_solve, fun, t_span, y0, rtol=1e-6, atol=1e-9))
    ref = scipy_solution("vdp1000", "BDF", 1e-6, 1e-9)
    assert status == 0
    assert abs(t.size - ref.t.size) <= 0.02 * ref.t.size
    np.testing.assert_allclose(t[:400], ref.t[:400], rtol=1e-6)
    np.testing.assert_allclose(y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-5)


def test_robertson_tight():
    fun, t_span, y0 = PROBLEMS["robertson"]
    status, t, y, c = unpack(run_driver(bdf_solve, fun, t_span, y0, rtol=1e-10, atol=1e-14,
                                        jac=robertson_jac))
    assert status == 0
    np.testing.assert_allclose(y.sum(axis=0), 1.0, atol=1e-11)
    ref = scipy_solution("robertson", "Radau", 1e-10, 1e-14)
    np.testing.assert_allclose(y[:, -1], ref.y[:, -1], rtol=1e-7, atol=1e-15)


def test_hires_and_orego_references():
    status, t, y, c = unpack(run_driver(bdf_solve, hires, (0.0, HIRES_T1), HIRES_Y0,
                                        rtol=1e-10, atol=1e-14))
    assert status == 0
    np.testing.assert_allclose(y[:, -1], HIRES_REF, rtol=1e-6)
    status, t, y, c = unpack(run_driver(bdf_solve, orego, (0.0, 360.0), [1.0, 2.0, 3.0],
                                        rtol=1e-10, atol=1e-12))
    assert status == 0
    np.testing.assert_allclose(y[:, -1], OREGO_REF, rtol=1e-6)


def test_e5():
    ref = scipy.integrate.solve_ivp(e5, (0.0, 1e9), E5_Y0, method="Radau", rtol=1e-10,
                                    atol=1e-30, t_eval=E5_T)
    status, t, y, c = unpack(run_driver(bdf_solve, e5, (0.0, 1e9), E5_Y0, rtol=1e-10,
                                        atol=1e-30, t_eval=E5_T))
    assert status == 0
    for i in range(4):
        scale = np.abs(ref.y[i]) + 1e-30
        assert np.all(np.abs(y[i] - ref.y[i]) <= 1e-4 * scale + 1e-28), i


def test_dense_output_matches_scipy():
    out = run_driver(bdf_solve, hires, (0.0, HIRES_T1), HIRES_Y0, rtol=1e-6, atol=1e-9,
                     dense=True)
    seg_t, seg_h, seg_data, n_seg = out[4:8]
    ref = scipy.integrate.solve_ivp(hires, (0.0, HIRES_T1), HIRES_Y0, method="BDF",
                                    rtol=1e-6, atol=1e-9, dense_output=True)
    n = 8
    q = seg_data.shape[1] // n - 1
    assert q == 5 and n_seg == ref.t.size - 1
    for k in range(0, n_seg, 7):
        for theta in (0.0, 0.25, 0.6, 1.0):
            value = seg_data[k, :n] + sum(seg_data[k, n + np.arange(n) * q + j] * theta ** (j + 1)
                                          for j in range(q))
            np.testing.assert_allclose(value, ref.sol(seg_t[k] + theta * seg_h[k]),
                                       rtol=1e-8, atol=1e-14)


def test_mass_matrix_nonsingular():
    M = np.array([[2.0, 1.0], [1.0, 3.0]])
    Minv = np.linalg.inv(M)

    def explicit_form(t, y):
        return Minv @ linear(t, y)

    status, t, y, c = unpack(run_driver(bdf_solve, linear, (0.0, 2.0), [1.0, 0.0],
                                        rtol=1e-8, atol=1e-11, mass=M))
    ref = scipy.integrate.solve_ivp(explicit_form, (0.0, 2.0), [1.0, 0.0], method="DOP853",
                                    rtol=1e-12, atol=1e-14)
    assert status == 0
    np.testing.assert_allclose(y[:, -1], ref.y[:, -1], rtol=1e-5, atol=1e-8)


def test_failures_return_status():
    status, t, y, c = unpack(run_driver(bdf_solve, nan_after_one, (0.0, 2.0), [1.0]))
    assert status == st.NON_FINITE and 0.9 < c[3] <= 1.0
    status, t, y, c = unpack(run_driver(bdf_solve, constant_one, (0.0, 1.0), [0.0],
                                        mass=np.zeros((1, 1))))
    assert status == SINGULAR
    status, t, y, c = unpack(run_driver(bdf_solve, robertson, (0.0, 1e5), [1.0, 0.0, 0.0],
                                        max_steps=10))
    assert status == st.MAX_STEPS


def test_solve_ivp_bdf_matches_scipy():
    def half(t, y):
        return y[0] - 0.5
    t_eval = np.logspace(-3, 5, 9)
    res = fastode.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="BDF", rtol=1e-6,
                            atol=1e-10, t_eval=t_eval, dense_output=True, events=half)
    ref = scipy.integrate.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="BDF",
                                    rtol=1e-6, atol=1e-10, t_eval=t_eval, dense_output=True,
                                    events=half)
    assert res.success
    assert (res.nfev, res.njev, res.nlu) == (ref.nfev, ref.njev, ref.nlu)
    np.testing.assert_allclose(res.y, ref.y, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(res.t_events[0], ref.t_events[0], rtol=1e-8)
    tt = np.linspace(0.0, 1e5, 57)
    np.testing.assert_allclose(res.sol(tt), ref.sol(tt), rtol=1e-6, atol=1e-12)
    bad = fastode.solve_ivp(nan_after_one, (0.0, 2.0), [1.0], method="BDF")
    assert not bad.success and bad.status == -1 and bad.message


def test_constant_jacobian_as_scipy():
    """A constant `jac` (here the linear part of a mildly nonlinear stiff system) is never
    re-evaluated and not counted in njev, as scipy's; same steps and counters."""
    A = np.array([[-1000.0, 1.0], [1.0, -2.0]])

    def f(t, y):
        return A @ y + np.array([np.sin(y[1]), 0.5 * y[0] ** 2])

    for rtol in (1e-3, 1e-6):
        kw = dict(method="BDF", rtol=rtol, atol=rtol * 1e-3, jac=A)
        res = fastode.solve_ivp(f, (0.0, 10.0), [1.0, 2.0], **kw)
        ref = scipy.integrate.solve_ivp(f, (0.0, 10.0), [1.0, 2.0], **kw)
        assert res.success and ref.success
        assert (res.nfev, res.njev, res.nlu) == (ref.nfev, ref.njev, ref.nlu)
        assert res.njev == 0
        np.testing.assert_allclose(res.t, ref.t, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(res.y, ref.y, rtol=1e-6, atol=1e-9)


def test_integer_jacobian_modes_equal_bool():
    """The structured call (int mode, no structure) takes the steps of the bool call."""
    from fastode.kernels.jacobian import JAC_FD, JAC_USER
    from test_radau import _KEEP, NO_F, NO_I, compile_jac, compile_rhs
    y0 = np.array([1.0, 0.0, 0.0])
    compiled = compile_rhs(robertson, 3, (), False, False)
    cjac = compile_jac(robertson_jac, 3, (), False, 0.0, y0)[1]
    _KEEP.append((compiled, cjac))
    z = np.zeros(1, dtype=np.int64)
    rt, at = np.full(3, 1e-6), np.full(3, 1e-10)
    for mode, flag, address in ((JAC_FD, False, 0), (JAC_USER, True, cjac.address)):
        args = (np.zeros(1), 0.0, 1e5, y0, rt, at, np.eye(3), False, 0.0, np.inf, 0.0, 0,
                np.zeros(1), False, False, NO_I, NO_F, NO_I, 4)
        a = bdf_solve.flat(compiled.address, address, flag, *args)
        b = bdf_solve.flat(compiled.address, address, mode, *args, z, z, z, z, -1, -1)
        assert a[3] == b[3]
        np.testing.assert_array_equal(a[1][:a[3]], b[1][:b[3]])
        np.testing.assert_array_equal(a[12], b[12])
