"""scipy's step-by-step ``Radau`` and ``LSODA`` classes, stepping in fastode's numba kernels.

Same use as ``scipy.integrate.Radau`` / ``scipy.integrate.LSODA``::

    from fastode.solvers import Radau          # was: from scipy.integrate import Radau
    solver = Radau(fun, t0, y0, t_bound, rtol=1e-6, atol=1e-9)
    while solver.status == "running":
        message = solver.step()

* :class:`Radau` runs RADAU5 as scipy's ``Radau`` does (fastode.kernels.radau; the same
  steps, ``nfev``, ``njev`` and ``nlu`` as scipy, up to the rounding of the LU solves). Each
  ``step()`` is one call of ``radau_advance``: Newton iterations, Jacobian and LU reuse, error
  estimate and step-size control all run compiled.
* :class:`LSODA` has scipy's ``LSODA`` constructor but steps fastode's stiffness switching
  (RK45 <-> Rodas4, the rule of ``fastode.solve_ivp(method="LSODA")``, see fastode.ivp_auto),
  not ODEPACK's Adams <-> BDF: each ``step()`` is one accepted step of the current method, and
  the steps are those of ``fastode.solve_ivp(..., method="LSODA")``.

Both subclass ``fastode.solvers.OdeSolver`` (hence ``scipy.integrate.OdeSolver``), so
``scipy.integrate.solve_ivp(fun, ..., method=fastode.solvers.Radau)`` runs them.
"""
import warnings

import numpy as np

from .ivp import _compiled_rhs, validate_tolerances, validate_y0
from .ivp_implicit import _FD_STRUCT, _real_pairs_structure, compile_jac, jacobian_structure
from .kernels import radau as kr
from .kernels import status as st
from .kernels import switching as ks
from .kernels.jacobian import JAC_CONSTANT, JAC_USER
from .results import MESSAGES, DenseOutput
from .rhs import failed, forget_stale_failures, raise_failures
from .solvers import TOO_SMALL_STEP, ComplexAsRealPairs, OdeSolver, _NO_ARGS_P
from .tableaus import explicit as explicit_tableaus

__all__ = ["Radau", "LSODA"]

_NO_MASS = np.zeros((1, 1))  # Radau without a mass matrix never reads it


def _warn_extraneous(extraneous):
    if extraneous:
        warnings.warn("The following arguments have no effect for a chosen solver: "
                      f"{', '.join(f'`{x}`' for x in extraneous)}.", UserWarning, stacklevel=3)


class _CompiledSolver(ComplexAsRealPairs, OdeSolver):
    """Shared set-up: scipy's base-class checks, tolerances, the compiled RHS and Jacobian.

    Complex states are stored as real pairs (``self._y``); ``y`` and ``y_old`` are views of
    them as complex numbers.
    """

    def _setup(self, fun, t0, y0, t_bound, vectorized, max_step, rtol, atol, first_step, jac):
        if not callable(fun):
            raise TypeError("`fun` must be callable.")
        self._complex = bool(np.iscomplexobj(np.asarray(y0)))
        super().__init__(fun, t0, y0, t_bound, vectorized, support_complex=True)
        self.t = float(t0)
        self.t_bound = float(t_bound)
        self.direction = float(self.direction)
        self._y_old = None
        self.naccept = 0
        self.nreject = 0
        if not max_step > 0:
            raise ValueError("`max_step` must be positive.")
        self.max_step = max_step
        if first_step is not None:
            if not first_step > 0:
                raise ValueError("`first_step` must be positive.")
            if first_step > abs(self.t_bound - self.t):
                raise ValueError("`first_step` exceeds bounds.")
        if self.n == 0:
            self.rtol, self.atol = rtol, atol
            return False
        y0_real, n, is_complex = validate_y0(self.y)
        rtol_full, atol_full = validate_tolerances(rtol, atol, n, is_complex)
        step = 2 if is_complex else 1
        self.rtol = float(rtol_full[0]) if np.ndim(rtol) == 0 else rtol_full[::step].copy()
        self.atol = float(atol_full[0]) if np.ndim(atol) == 0 else atol_full[::step].copy()
        self._rtol, self._atol = rtol_full, atol_full
        self._y = y0_real
        self._m = y0_real.shape[0]
        self._rhs = _compiled_rhs(fun, self.t, y0_real, n, is_complex, (), (), vectorized)
        self._p = _NO_ARGS_P
        self._jac_mode, self._jac = compile_jac(jac, n, (), is_complex, self.t, y0_real)
        self._callbacks = [self._rhs] + ([self._jac] if self._jac is not None else [])
        forget_stale_failures(self._callbacks)
        return True

    # ---- state seen as scipy's: ``y`` from ComplexAsRealPairs ------------------------------
    @property
    def y_old(self):
        """State at ``t_old`` (None before the first step)."""
        if self._y_old is None:
            return None
        return self._y_old.view(np.complex128) if self._complex else self._y_old

    def _as_state(self, v):
        return v.view(np.complex128) if self._complex else v

    def _raise_callback_errors(self):
        if failed(self._callbacks):  # fun or jac raised (or returned a wrong shape): re-raise
            raise_failures(self._callbacks, (), self.direction)  # it, as scipy would

    @staticmethod
    def _failure(status, t):
        if status == st.STEP_TOO_SMALL:
            return TOO_SMALL_STEP
        return MESSAGES.get(status, f"Integration failed (status {status}) near t={{t}}.") \
            .format(t=t, max_steps=None)


class Radau(_CompiledSolver):
    """Implicit Runge-Kutta method of the Radau IIA family, order 5 (RADAU5), as
    ``scipy.integrate.Radau``, stepping in compiled code.

    Hairer & Wanner's scheme exactly as scipy implements it (fastode.kernels.radau: simplified
    Newton on the transformed stage system, Jacobian and LU reuse, the error estimate of
    Hairer & Wanner IV.8 refined after a rejection, Gustafsson's predictive controller): the
    same accepted steps, ``nfev``, ``njev`` and ``nlu`` as scipy's class, with ``t`` and ``y``
    equal up to the rounding of the LU solves (pivoting and summation order). Each ``step()``
    is one call of the kernel ``radau_advance``; ``dense_output()`` is the step's collocation
    polynomial (cubic), as scipy's.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y) -> array_like, shape (n,)``, compiled with numba when it
        can be (otherwise called through Python with one ``fastode.FallbackWarning``); a numba
        ``@cfunc`` with the C signature ``void(double t, double *y, double *p, double *dydt)``
        is used as it is.
    t0 : float
        Initial time.
    y0 : array_like, shape (n,)
        Initial state. Complex states are integrated as real and imaginary pairs (a
        finite-difference Jacobian of the pairs, no ``jac``), so their steps differ from
        scipy's complex Radau; the solution agrees to the tolerance.
    t_bound : float
        Boundary time; ``t_bound < t0`` integrates backwards.
    max_step : float, optional
        Largest allowed step size (default ``np.inf``).
    rtol, atol : float or array_like, shape (n,), optional
        Relative and absolute tolerances (default 1e-3 and 1e-6).
    jac : callable, array_like or None, optional
        ``jac(t, y) -> (n, n)`` (compiled with numba when it can be), a constant matrix, or a
        numba ``@cfunc`` writing the matrix row-major; None: forward differences with scipy's
        adaptive increments (counted in ``njev``, not ``nfev``, as scipy).
    jac_sparsity : array_like or sparse matrix, optional
        Accepted and checked for shape; the Jacobian and its LU stay dense here (the steps are
        scipy's; scipy groups the finite-difference columns, which changes only rounding).
    vectorized : bool, optional
        Whether ``fun`` accepts ``y`` of shape (n, k).
    first_step : float, optional
        Initial step size; by default Hairer's estimate, as scipy (one RHS call).
    **extraneous
        Other keyword arguments are ignored with a warning, as scipy does.

    Attributes
    ----------
    n, status, t_bound, direction, t, y, t_old, step_size, nfev, njev, nlu
        As scipy's ``OdeSolver``.
    y_old : ndarray or None
        State at ``t_old``.
    f : ndarray
        ``fun(t, y)``.
    J : ndarray, shape (n, n)
        The Jacobian in use (a copy).
    h_abs, h_abs_old, error_norm_old, newton_tol, current_jac
        scipy's controller state: the next step size, the last accepted step size and error
        norm (None before the first step), the Newton tolerance, whether J is current.
    naccept, nreject : int
        Accepted steps and rejected attempts (error test and Newton failures).
    max_step, rtol, atol
        The validated options.

    References
    ----------
    E. Hairer, G. Wanner, "Solving Ordinary Differential Equations II: Stiff and
    Differential-Algebraic Problems", Sec. IV.8, Springer, 1996.
    """

    order = 5
    error_estimator_order = 3

    # fastode.solve_ivp(method=Radau) runs the compiled driver of this method
    _method = "radau_iia_5"

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6, jac=None,
                 jac_sparsity=None, vectorized=False, first_step=None, **extraneous):
        _warn_extraneous(extraneous)
        if not self._setup(fun, t0, y0, t_bound, vectorized, max_step, rtol, atol, first_step,
                           jac):
            self._f_empty = self.fun(self.t, self.y)
            self._sv = None
            return
        m = self._m
        if jac_sparsity is not None:
            jacobian_structure(jac_sparsity, None, None, self.n)  # shape check (dense here)
        (self._sv, self._vec, self._aux, self._stage, self._J, self._LUr, self._LUc, self._bc,
         self._piv, self._Q, self._Q_sol) = kr.radau_workspace(m)
        self._aux[0] = self._rtol
        self._aux[1] = self._atol
        self._vec[kr.V_Y] = self._y
        self._use_jac = self._jac_mode in (JAC_USER, JAC_CONSTANT)
        self._jac_address = self._jac.address if self._jac is not None else 0
        status = kr.radau_init(self._rhs.address, self._jac_address, self._use_jac, self._p,
                               self.t, self.t_bound, float(first_step or 0.0),
                               float(max_step), False, self._sv, self._vec, self._aux, self._J)
        self._sync_counters()
        self._raise_callback_errors()
        self._f0_finite = status == st.SUCCESS

    def _sync_counters(self):
        sv = self._sv
        self.nfev = int(sv[kr.SV_NFEV])
        self.njev = int(sv[kr.SV_NJEV])
        self.nlu = int(sv[kr.SV_NLU])
        self.naccept = int(sv[kr.SV_NACCEPT])
        self.nreject = int(sv[kr.SV_NREJECT])

    # ---- scipy's attributes ----------------------------------------------------------------
    @property
    def f(self):
        """``fun(t, y)`` at the current state (as evaluated by the compiled RHS)."""
        if self._sv is None:
            return self._f_empty
        return self._as_state(self._vec[kr.V_F].copy())

    @property
    def J(self):
        """The Jacobian in use (a copy; of the real pairs for a complex state)."""
        return None if self._sv is None else self._J.copy()

    @property
    def h_abs(self):
        """Absolute size of the next step to try."""
        return np.inf if self._sv is None else float(self._sv[kr.SV_H_ABS])

    @property
    def h_abs_old(self):
        """Size of the last accepted step (None before the first)."""
        v = None if self._sv is None else float(self._sv[kr.SV_H_ABS_OLD])
        return None if v is None or v < 0 else v

    @property
    def error_norm_old(self):
        """Error norm of the last accepted step (None before the first)."""
        v = None if self._sv is None else float(self._sv[kr.SV_ERR_OLD])
        return None if v is None or v < 0 else v

    @property
    def newton_tol(self):
        """Tolerance of the Newton iterations (scipy's formula)."""
        return None if self._sv is None else float(self._sv[kr.SV_NEWTON_TOL])

    @property
    def current_jac(self):
        """Whether J was evaluated at the current (t, y)."""
        return self._sv is not None and bool(self._sv[kr.SV_CURRENT_JAC])

    # ---- scipy's solver contract -------------------------------------------------------------
    def _step_impl(self):
        if not self._f0_finite:
            return False, MESSAGES[st.NON_FINITE].format(t=self.t)
        t = self.t
        sv = self._sv
        status = int(kr.radau_advance(
            self._rhs.address, self._jac_address, self._use_jac, self._p, _NO_MASS, False, sv,
            self._vec, self._aux, self._stage, self._J, self._LUr, self._LUc, self._bc,
            self._piv, self._Q, self._Q_sol))
        self._sync_counters()
        self._raise_callback_errors()
        if not sv[kr.SV_ACCEPTED]:
            return False, self._failure(status, t)
        self.t = float(sv[kr.SV_T])
        self._y = self._vec[kr.V_Y].copy()
        self._y_old = self._Q_sol[:, 3].copy()
        if status != st.SUCCESS:
            # accepted, but f(t_new, y_new) is not finite: keep the state reached and fail
            self.t_old = t
            return False, self._failure(status, self.t)
        return True, None

    def _dense_output_impl(self):
        return DenseOutput(self.t_old, self.t, self._Q_sol[:, 3].copy(),
                           self._Q_sol[:, :3].copy(), self._complex)


class LSODA(_CompiledSolver):
    """Automatic stiffness switching with scipy's ``LSODA`` interface, stepping fastode's own
    switching scheme: Dormand-Prince 5(4) (scipy's RK45) <-> Rodas4.

    **Not ODEPACK's algorithm.** scipy's ``LSODA`` wraps ODEPACK (Adams <-> BDF, switching on
    a comparison of the two methods' step sizes). This class runs the scheme of
    ``fastode.solve_ivp(method="LSODA")`` (fastode.ivp_auto, kernels/switching.py): it starts
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
    """

    # fastode.solve_ivp(method=LSODA) runs the compiled driver of this method
    _method = "LSODA"

    def __init__(self, fun, t0, y0, t_bound, first_step=None, min_step=0.0, max_step=np.inf,
                 rtol=1e-3, atol=1e-12, jac=None, lband=None, uband=None, vectorized=False,
                 **extraneous):
        _warn_extraneous(extraneous)
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
            _, lband, uband = _real_pairs_structure(None, lband, uband, self.n)
        mode_struct, structure = jacobian_structure(None, lband, uband, m)
        if self._jac is None:
            self._mode = int(mode_struct)
            self._structure = structure
        else:
            self._mode = int(self._jac_mode)
            self._structure = _FD_STRUCT
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
