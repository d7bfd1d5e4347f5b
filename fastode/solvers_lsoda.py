"""scipy's step-by-step ``LSODA`` interface on fastode's stiffness switching (RK45 <-> Rodas4).

``LSODA`` has scipy's ``LSODA`` constructor but steps fastode's switching scheme (the rule of
``fastode.solve_ivp(method="LSODA")``, see fastode.ivp_auto; kernels in
fastode.kernels.switching), not ODEPACK's Adams <-> BDF: each ``step()`` is one accepted step of
the current method, and the steps are those of ``fastode.solve_ivp(..., method="LSODA")``.
Users import it from fastode.solvers.
"""
import numpy as np

from .ivp_jacobian import FD_STRUCT, jacobian_structure, real_pairs_structure
from .kernels import status as st
from .kernels import switching as ks
from .kernels.progress import announce_compiles
from .results import MESSAGES, DenseOutput
from .solvers_base import CompiledSolver, warn_extraneous
from .tableaus import explicit as explicit_tableaus

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(ks)

__all__ = ["LSODA"]


class LSODA(CompiledSolver):
    """Automatic stiffness switching with scipy's ``LSODA`` interface, stepping fastode's own
    switching scheme: Dormand-Prince 5(4) (scipy's RK45) <-> Rodas4.

    **Not ODEPACK's algorithm.** scipy's ``LSODA`` wraps ODEPACK (Adams <-> BDF, switching on
    a comparison of the two methods' step sizes). This class runs the scheme of
    ``fastode.solve_ivp(method="LSODA")`` (fastode.ivp_auto, kernels/switching/): it starts
    with RK45; 15 accepted steps whose Hairer stiffness estimate ``h rho`` exceeds 3.25 (not
    interrupted by 6 non-stiff steps in a row) switch to Rodas4 (Jacobian every step); 10 Rodas4
    steps in a row with ``|h| ||J||_inf <= 1`` switch back. Each ``step()`` is one accepted
    step of the method in use (a switch happens between two ``step()`` calls: the new method
    starts at the current (t, y)), and the accepted steps are those of
    ``fastode.solve_ivp(..., method="LSODA")`` with the same options (same ``nfev``,
    ``njev``, ``nlu``). Step sizes and counters therefore differ from scipy's LSODA.

    Parameters
    ----------
    fun, t0, y0, t_bound, vectorized
        As :class:`Radau` (complex states as real pairs, without ``jac``).
    first_step : float, optional
        Initial step of the first (explicit) leg; by default Hairer's estimate.
    min_step : float, optional
        Smallest allowed step size (default 0): a smaller one fails the step.
    max_step : float, optional
        Largest allowed step size (default ``np.inf``).
    rtol, atol : float or array_like, optional
        Relative and absolute tolerances (default 1e-3 and 1e-12, scipy's LSODA defaults).
    jac : callable, array_like or None, optional
        Jacobian for the Rodas4 legs (as :class:`Radau`); None: finite differences.
    lband, uband : int or None, optional
        The Jacobian's band: finite differences with banded column groups (fewer RHS calls;
        the LU stays dense).
    **extraneous
        Other keyword arguments are ignored with a warning, as scipy does.

    Attributes
    ----------
    n, status, t_bound, direction, t, y, t_old, step_size, nfev, njev, nlu, y_old
        As :class:`Radau`.
    method_in_use : str
        ``'explicit'`` (RK45) or ``'stiff'`` (Rodas4): the method that took the last step.
    switches : list of (t, from, to)
        Every switch so far, e.g. ``(0.0123, 'explicit', 'stiff')`` (a switch takes effect
        at the next step).
    n_switches : int
        ``len(switches)``.
    h_abs : float
        Absolute size of the next step to try.
    naccept, nreject : int
        Accepted and rejected steps.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import LSODA
    >>> def vdp(t, y):
    ...     return np.array([y[1], 1000.0 * (1 - y[0] ** 2) * y[1] - y[0]])
    >>> solver = LSODA(vdp, 0.0, [2.0, 0.0], 1.0, rtol=1e-6, atol=1e-9)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> solver.n_switches >= 1, solver.switches[0][1:]
    (True, ('explicit', 'stiff'))
    """

    # fastode.solve_ivp(method=LSODA) runs the compiled driver of this method
    _method = "LSODA"

    def __init__(self, fun, t0, y0, t_bound, first_step=None, min_step=0.0, max_step=np.inf,
                 rtol=1e-3, atol=1e-12, jac=None, lband=None, uband=None, vectorized=False,
                 **extraneous):
        warn_extraneous(extraneous)
        self.method_in_use = "explicit"
        self.switches = []
        self._pending = None
        if min_step < 0:
            raise ValueError("`min_step` must be nonnegative.")
        self.min_step = float(min_step)
        if not self._setup(fun, t0, y0, t_bound, vectorized, max_step, rtol, atol, first_step,
                           jac):
            self._f_empty = self.fun(self.t, self.y)
            self._sv = None
            return
        m = self._m
        if self._complex and lband is not None:
            _, lband, uband = real_pairs_structure(None, lband, uband, self.n)
        mode_struct, structure = jacobian_structure(None, lband, uband, m)
        if self._jac is None:
            self._mode = int(mode_struct)
            self._structure = structure
        else:
            self._mode = int(self._jac_mode)
            self._structure = FD_STRUCT
        self._jac_address = self._jac.address if self._jac is not None else 0
        tab = explicit_tableaus.TABLEAUS["dormand_prince_54"]
        self._tab = tab
        s = tab.B.shape[0]
        self._sv = np.zeros(ks.L_SIZE)
        # explicit leg
        self._K = np.zeros((s + 1 + tab.C_extra.shape[0], m))
        self._Qe = np.zeros((m, tab.P.shape[1]))
        # stiff leg
        s4 = ks.R4_B.shape[0]
        self._Kr = np.zeros((s4, m))
        self._Jr = np.zeros((m, m))
        self._W = np.zeros((m, m))
        self._pivr = np.zeros(m, dtype=np.int64)
        self._vecs = np.zeros((10, m))  # y_new, fy, f_new, ft, ytmp, ftmp, fbuf, err, scale, deltas
        self._hv = np.zeros(max(ks.R4_H.shape[0], 1))
        self._Qr = np.zeros((m, ks.R4_H.shape[0] + 1))
        self._y_work = self._y.copy()
        # the first leg starts (f(t0, y0) and the initial step) in the first step(), as
        # ODEPACK's LSODA does: a fresh solver has nfev = njev = nlu = 0, as scipy's
        self._first_step = float(first_step or 0.0)
        self._started = False
        self._start_failed = False
        self._Q = None

    def _start(self):
        self._started = True
        status = ks.explicit_leg_start(self._rhs.address, self._p, self._sv, self.t,
                                       self.t_bound, self._y_work, self._K, self._first_step,
                                       float(self.max_step), self._rtol, self._atol,
                                       self._tab.error_order, self._vecs[4])
        self._sync_counters()
        self._raise_callback_errors()
        self._start_failed = status != st.SUCCESS

    def _sync_counters(self):
        sv = self._sv
        self.nfev = int(sv[ks.L_NFEV])
        self.njev = int(sv[ks.L_NJEV])
        self.nlu = int(sv[ks.L_NLU])
        self.naccept = int(sv[ks.L_NACCEPT])
        self.nreject = int(sv[ks.L_NREJECT])

    @property
    def n_switches(self):
        """Number of switches so far."""
        return len(self.switches)

    @property
    def h_abs(self):
        """Absolute size of the next step to try."""
        return np.inf if self._sv is None else float(self._sv[ks.L_H_ABS])

    def _step_impl(self):
        if not self._started:
            self._start()
        if self._start_failed:
            return False, MESSAGES[st.NON_FINITE].format(t=self.t)
        sv = self._sv
        t = self.t
        v = self._vecs
        rhs, p = self._rhs.address, self._p
        if self._pending is not None:  # the switch decided by the last step: start the leg
            to = self._pending
            self._pending = None
            if to == "stiff":
                status = ks.rodas_leg_start(rhs, self._jac_address, self._mode, p, sv, t,
                                            self.t_bound, self._y_work, v[1], self._Jr, 0.0,
                                            float(self.max_step), self._rtol, self._atol, v[4],
                                            v[5])
            else:
                status = ks.explicit_leg_start(rhs, p, sv, t, self.t_bound, self._y_work,
                                               self._K, float(sv[ks.L_H_ABS]),
                                               float(self.max_step), self._rtol, self._atol,
                                               self._tab.error_order, v[4])
            self.method_in_use = to
            if status != st.SUCCESS:
                self._sync_counters()
                self._raise_callback_errors()
                return False, self._failure(int(status), t)
        if self.method_in_use == "explicit":
            tab = self._tab
            status = int(ks.explicit_leg_advance(
                rhs, p, sv, self.t_bound, self._y_work, v[0], self._K, v[4], v[8], self._Qe,
                self._rtol, self._atol, tab.C, tab.A, tab.B, tab.E, tab.error_order, tab.P,
                float(self.max_step), self.min_step))
            Q = self._Qe
        else:
            g_ptr, g_cols, c_ptr, rows = self._structure
            status = int(ks.rodas_leg_advance(
                rhs, self._jac_address, self._mode, p, sv, self.t_bound, self._y_work, v[0],
                v[1], v[2], self._Jr, self._W, self._pivr, v[3], self._Kr, v[4], v[5], v[6],
                v[7], v[8], v[9], self._hv, self._Qr, self._rtol, self._atol,
                float(self.max_step), self.min_step, g_ptr, g_cols, c_ptr, rows))
            Q = self._Qr
        self._sync_counters()
        self._raise_callback_errors()
        if sv[ks.L_H] == 0.0:  # no step taken
            return False, self._failure(status, t)
        self.t = float(sv[ks.L_T])
        self._y = self._y_work.copy()
        self._y_old = v[0].copy()
        self._Q = Q.copy()
        if status == ks.STIFF or status == ks.NONSTIFF:
            self._pending = "stiff" if status == ks.STIFF else "explicit"
            self.switches.append((self.t, self.method_in_use, self._pending))
        elif status != st.SUCCESS:
            self.t_old = t
            return False, self._failure(status, self.t)
        return True, None

    def _dense_output_impl(self):
        return DenseOutput(self.t_old, self.t, self._y_old, self._Q, self._complex)
