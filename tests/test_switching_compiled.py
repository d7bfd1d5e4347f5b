"""``switching_solve`` (fastode.kernels.switching.compiled): LSODA / auto's alternation of legs in
one compiled call, the same steps, outputs and counters as ``fastode.solve_ivp`` bit for bit."""
import numpy as np
import pytest
from numba import njit

import fastode
from fastode.ivp_auto import kernel_call
from fastode.kernels import status as st
from fastode.kernels.switching.compiled import Q_MAX
from test_rosenbrock import van_der_pol

VDP = dict(args=(1e3,), atol=1e-9)
SPAN = (0.0, 3000.0)
Y0 = [2.0, 0.0]


@pytest.mark.parametrize("method", ["LSODA", "auto"])
@pytest.mark.parametrize("rtol", [1e-6, 1e-9])  # the Rodas4 leg, the BDF leg
@pytest.mark.parametrize("outputs", ["steps", "t_eval", "dense"])
def test_switching_solve_equals_solve_ivp(method, rtol, outputs):
    kw = dict(VDP, rtol=rtol)
    if outputs == "t_eval":
        kw["t_eval"] = np.linspace(0.0, 3000.0, 13)
    elif outputs == "dense":
        kw["dense_output"] = True
    solve, call_args, keep = kernel_call(van_der_pol, SPAN, Y0, method, **kw)
    (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, _, _, _, n_ev, counters,
     n_switches) = solve(*call_args)
    ref = fastode.solve_ivp(van_der_pol, SPAN, Y0, method=method, **kw)
    assert status == ref.status == 0 and n_ev == 0
    assert n_switches == len(ref.method_switches) >= 3
    np.testing.assert_array_equal(t_out[:n_out], ref.t)
    np.testing.assert_array_equal(y_out[:n_out].T, ref.y)
    assert [int(c) for c in counters[[0, 1, 2, 4, 5]]] == [ref.nfev, ref.naccept, ref.nreject,
                                                           ref.njev, ref.nlu]
    assert counters[3] == 3000.0
    if outputs == "dense":
        # every step's segment, joined across the legs, padded with zero columns to Q_MAX: the
        # polynomials of solve_ivp's OdeSolution (its own padding to the widest leg used)
        assert n_seg == ref.naccept
        np.testing.assert_array_equal(seg_t[:n_seg], ref.sol._seg_t)
        np.testing.assert_array_equal(seg_h[:n_seg], ref.sol._seg_h)
        q = ref.sol._q
        ours = seg_data[:n_seg]
        theirs = ref.sol._seg_data
        np.testing.assert_array_equal(ours[:, :2], theirs[:, :2])
        Q = ours[:, 2:].reshape(n_seg, 2, Q_MAX)
        np.testing.assert_array_equal(Q[:, :, :q], theirs[:, 2:].reshape(n_seg, 2, q))
        assert not Q[:, :, q:].any()
    else:
        assert n_seg == 0


@njit
def _loop(solve, call_args, reps):
    """switching_solve from compiled code, as an ensemble or a benchmark calls it."""
    total = 0.0
    for _ in range(reps):
        out = solve(*call_args)
        total += out[2][out[3] - 1, 0]
    return total


def test_switching_solve_from_njit_and_max_steps():
    solve, call_args, keep = kernel_call(van_der_pol, SPAN, Y0, "LSODA", rtol=1e-9,
                                         t_eval=[3000.0], **VDP)
    ref = fastode.solve_ivp(van_der_pol, SPAN, Y0, method="LSODA", rtol=1e-9, t_eval=[3000.0],
                            **VDP)
    assert _loop(solve, call_args, 2) == 2 * ref.y[0, -1]
    # max_steps counts the attempts of every leg, as solve_ivp
    solve, call_args, keep = kernel_call(van_der_pol, SPAN, Y0, "LSODA", rtol=1e-9,
                                         max_steps=500, **VDP)
    out = solve(*call_args)
    ref = fastode.solve_ivp(van_der_pol, SPAN, Y0, method="LSODA", rtol=1e-9, max_steps=500,
                            **VDP)
    assert out[0] == st.MAX_STEPS and ref.status == -1  # the kernel's code, solve_ivp's
    np.testing.assert_array_equal(out[1][:out[3]], ref.t)
    with pytest.raises(ValueError, match="LSODA"):
        kernel_call(van_der_pol, SPAN, Y0, "Radau", **VDP)
