"""LSODA / auto at tight tolerance: the BDF stiff leg (fastode.kernels.switching.bdf_leg_solve),
which keeps its Jacobian and LU over many steps (issue #16). The rule is documented in
fastode.ivp_auto: Rodas4 leg where max(rtol) >= BDF_BELOW_RTOL (1e-7), BDF leg below.
"""
import functools

import numpy as np
import pytest
import scipy.integrate

import fastode
from fastode.ivp_auto import BDF_BELOW_RTOL
from test_rosenbrock import hires, robertson, van_der_pol

SWITCHING = ("LSODA", "auto")
EXPLICIT = {"LSODA": "RK45", "auto": "Tsit5"}
MU = 1e3
VDP_Y0 = [2.0, 0.0]
ROB_Y0 = [1.0, 0.0, 0.0]
HIRES_Y0 = [1.0, 0, 0, 0, 0, 0, 0, 0.0057]

# POLLU (Hairer & Wanner's test set: 20 species, 25 reactions, t in [0, 60])
K = np.array([.35, .266e2, .123e5, .86e-3, .82e-3, .15e5, .13e-3, .24e5, .165e5, .9e4, .22e-1,
              .12e5, .188e1, .163e5, .48e7, .35e-3, .175e-1, .1e9, .444e12, .124e4, .21e1,
              .578e1, .474e-1, .178e4, .312e1])
POLLU_Y0 = np.zeros(20)
POLLU_Y0[[1, 3, 6, 7, 8, 16]] = [0.2, 0.04, 0.1, 0.3, 0.01, 0.007]


def pollu(t, y):
    k = K
    r = np.array([k[0] * y[0], k[1] * y[1] * y[3], k[2] * y[4] * y[1], k[3] * y[6], k[4] * y[6],
                  k[5] * y[6] * y[5], k[6] * y[8], k[7] * y[8] * y[5], k[8] * y[10] * y[1],
                  k[9] * y[10] * y[0], k[10] * y[12], k[11] * y[9] * y[1], k[12] * y[13],
                  k[13] * y[0] * y[5], k[14] * y[2], k[15] * y[3], k[16] * y[3], k[17] * y[15],
                  k[18] * y[15], k[19] * y[16] * y[5], k[20] * y[18], k[21] * y[18],
                  k[22] * y[0] * y[3], k[23] * y[18] * y[0], k[24] * y[19]])
    r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13 = r[:13]
    r14, r15, r16, r17, r18, r19, r20, r21, r22, r23, r24, r25 = r[13:]
    return np.array([
        -r1 - r10 - r14 - r23 - r24 + r2 + r3 + r9 + r11 + r12 + r22 + r25,
        -r2 - r3 - r9 - r12 + r1 + r21,
        -r15 + r1 + r17 + r19 + r22,
        -r2 - r16 - r17 - r23 + r15,
        -r3 + r4 + r4 + r6 + r7 + r13 + r20,
        -r6 - r8 - r14 - r20 + r3 + r18 + r18,
        -r4 - r5 - r6 + r13,
        r4 + r5 + r6 + r7,
        -r7 - r8,
        -r12 + r7 + r9,
        -r9 - r10 + r8 + r11,
        r9,
        -r11 + r10,
        -r13 + r12,
        r14,
        -r18 - r19 + r16,
        -r20,
        r20,
        -r21 - r22 - r24 + r23 + r25,
        -r25 + r24])


PROBLEMS = {  # fun, y0, t_end, args, atol
    "robertson": (robertson, ROB_Y0, 1e5, (), 1e-13),
    "hires": (hires, HIRES_Y0, 321.8122, (), 1e-13),
    "vdp": (van_der_pol, VDP_Y0, 3000.0, (MU,), 1e-9),
    "pollu": (pollu, POLLU_Y0, 60.0, (), 1e-13),
}


@functools.lru_cache(maxsize=None)
def reference(name):
    fun, y0, t_end, args, _ = PROBLEMS[name]
    return scipy.integrate.solve_ivp(fun, (0.0, t_end), y0, method="Radau", args=args,
                                      rtol=1e-12, atol=1e-16 if name != "vdp" else 1e-12,
                                      dense_output=True)


@pytest.mark.parametrize("name", ["robertson", "hires", "vdp", "pollu"])
def test_bdf_leg_against_scipy_at_tight_tolerance(name):
    fun, y0, t_end, args, atol = PROBLEMS[name]
    sol = fastode.solve_ivp(fun, (0.0, t_end), y0, method="LSODA", args=args, rtol=1e-9,
                            atol=atol)
    assert sol.success and sol.status == 0
    assert sol.method_switches and sol.method_switches[0][1:] == ("RK45", "BDF")
    ref = reference(name).y[:, -1]
    # the measured error of bench/stiff.py (relative, floor 1e-6 max|ref|) is 3e-8 (Robertson),
    # 1e-8 (HIRES), 7e-9 (POLLU), 1e-6 (Van der Pol mu=1e3, whose fast jumps amplify the
    # local errors); scipy's LSODA at the same tolerances is in the same range
    floor = 1e-6 * np.max(np.abs(ref))
    err = np.max(np.abs(sol.y[:, -1] - ref) / np.maximum(np.abs(ref), floor))
    assert err < (1e-5 if name == "vdp" else 1e-6)


def test_jacobian_and_lu_kept_over_many_steps():
    # POLLU at rtol 1e-10: the Rodas4 leg evaluated J (21 RHS calls) and an LU at every step
    # (1074 Jacobians in 1101 steps); the BDF leg re-evaluates J after a Newton failure or
    # JAC_AGE_STEPS (20) steps, the LU when h / alpha changes
    sol = fastode.solve_ivp(pollu, (0.0, 60.0), POLLU_Y0, method="LSODA", rtol=1e-10,
                            atol=1e-14)
    assert sol.success
    assert [s[2] for s in sol.method_switches] == ["BDF"]
    assert sol.njev * 10 < sol.naccept
    assert sol.nlu * 3 < sol.naccept
    # nfev counts the finite-difference Jacobians' RHS calls too (21 each), as the Rodas4 leg
    assert sol.nfev > 21 * sol.njev
    ref = reference("pollu").y[:, -1]
    np.testing.assert_allclose(sol.y[:, -1], ref, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("method", SWITCHING)
def test_leg_chosen_by_rtol(method):
    kw = dict(args=(MU,), atol=1e-9)
    fun = van_der_pol
    loose = fastode.solve_ivp(fun, (0.0, 10.0), VDP_Y0, method=method, rtol=BDF_BELOW_RTOL,
                              **kw)
    tight = fastode.solve_ivp(fun, (0.0, 10.0), VDP_Y0, method=method,
                              rtol=BDF_BELOW_RTOL / 10, **kw)
    assert loose.method_switches[0][1:] == (EXPLICIT[method], "Rodas4")
    assert tight.method_switches[0][1:] == (EXPLICIT[method], "BDF")
    # the largest component of an rtol array decides
    mixed = fastode.solve_ivp(fun, (0.0, 10.0), VDP_Y0, method=method,
                              rtol=[1e-9, BDF_BELOW_RTOL], **kw)
    assert mixed.method_switches[0][2] == "Rodas4"


def fading(t, y):
    """Stiff at first (rate 1e6), then not: the rate 1e6 exp(-t) + 1 falls to ~1."""
    k = 1e6 * np.exp(-t) + 1.0
    return np.array([-k * (y[0] - np.sin(t)), np.cos(t) - 0.1 * y[1]])


@pytest.mark.parametrize("method", SWITCHING)
def test_stiff_then_non_stiff_switches_both_ways(method):
    sol = fastode.solve_ivp(fading, (0.0, 20.0), [1.0, 0.0], method=method, rtol=1e-9,
                            atol=1e-12, dense_output=True)
    assert sol.success
    explicit = EXPLICIT[method]
    sw = sol.method_switches
    # stiff within the first transient (1e-6 long), back once |h| ||J|| <= 1 (k ~ 1e6 e^-t
    # against the accuracy-limited step: t ~ 11)
    assert [s[1:] for s in sw] == [(explicit, "BDF"), ("BDF", explicit)]
    assert sw[0][0] < 1e-3 and 5.0 < sw[1][0] < 15.0
    ref = scipy.integrate.solve_ivp(fading, (0.0, 20.0), [1.0, 0.0], method="Radau",
                                    rtol=1e-12, atol=1e-14, dense_output=True)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-7, atol=1e-9)
    tt = np.linspace(0.0, 20.0, 101)
    np.testing.assert_allclose(sol.sol(tt), ref.sol(tt), rtol=1e-6, atol=1e-8)


def x_zero(t, y, mu):
    return y[0]


@pytest.mark.parametrize("method", SWITCHING)
def test_events_and_dense_output_across_bdf_switches(method):
    t_end = 3000.0
    kw = dict(args=(MU,), rtol=1e-9, atol=1e-9)
    sol = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method, events=[x_zero],
                            dense_output=True, **kw)
    assert sol.success
    sw = sol.method_switches
    assert len(sw) >= 3 and {s[2] for s in sw} == {"BDF", EXPLICIT[method]}
    ref = reference("vdp")
    ref_ev = scipy.integrate.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method="Radau",
                                       events=[x_zero], args=(MU,), rtol=1e-11, atol=1e-11)
    assert sol.t_events[0].size == ref_ev.t_events[0].size == 3
    np.testing.assert_allclose(sol.t_events[0], ref_ev.t_events[0], rtol=1e-6)
    np.testing.assert_allclose(sol.y_events[0][:, 0], 0.0, atol=1e-8)
    # dense output through every step point, continuous at each switch, right in between
    assert np.all(np.diff(sol.t) > 0)
    np.testing.assert_allclose(sol.sol(sol.t), sol.y, rtol=1e-10, atol=1e-12)
    for ts, _, _ in sw:
        left, right = sol.sol(np.nextafter(ts, -np.inf)), sol.sol(np.nextafter(ts, np.inf))
        np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-9)
    tt = np.array([100.0, 500.0, 1000.0, 2000.0, 2900.0])
    np.testing.assert_allclose(sol.sol(tt), ref.sol(tt), rtol=1e-5, atol=1e-6)
    # t_eval on both sides of the switches: the same points as the dense output
    t_eval = np.unique(np.concatenate([np.linspace(0.0, t_end, 31),
                                       [s[0] + d for s in sw for d in (-1e-3, 0.0, 1e-3)]]))
    on = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method, t_eval=t_eval,
                           **kw)
    np.testing.assert_array_equal(on.t, t_eval)
    np.testing.assert_allclose(on.y, sol.sol(t_eval), rtol=1e-9, atol=1e-9)
    assert on.method_switches == sw
    # a terminal event in the BDF leg stops there, its point the last
    x_zero.terminal = True
    try:
        term = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method,
                                 events=[x_zero], **kw)
    finally:
        del x_zero.terminal
    assert term.status == 1 and term.t[-1] == term.t_events[0][0]
    np.testing.assert_allclose(term.t_events[0][0], ref_ev.t_events[0][0], rtol=1e-6)


def nan_after_100(t, y, mu):
    """Van der Pol (stiff from t ~ 0.01 to its first jump at t ~ 800); NaN from t = 100 on."""
    if t >= 100.0:
        return np.array([np.nan, np.nan])
    return np.array([y[1], mu * ((1.0 - y[0] * y[0]) * y[1]) - y[0]])


@pytest.mark.parametrize("method", SWITCHING)
def test_failing_solve_in_the_bdf_leg_returns_a_status(method):
    sol = fastode.solve_ivp(nan_after_100, (0.0, 500.0), VDP_Y0, method=method, args=(MU,),
                            rtol=1e-9, atol=1e-9)
    assert not sol.success and sol.status == -1
    assert [s[2] for s in sol.method_switches] == ["BDF"]
    # the last accepted step ends before t = 100 (the BDF steps there are ~10 long)
    assert 50.0 < sol.t[-1] < 100.0 and np.all(np.isfinite(sol.y))
    # max_steps ends the BDF leg too
    short = fastode.solve_ivp(van_der_pol, (0.0, 3000.0), VDP_Y0, method=method, args=(MU,),
                              rtol=1e-9, atol=1e-9, max_steps=300)
    assert short.status == -1 and "max_steps=300" in short.message
    assert [s[2] for s in short.method_switches] == ["BDF"]
    assert short.naccept + short.nreject <= 300
