"""The explicit Runge-Kutta step-by-step classes: ``RK23``, ``RK45``, ``DOP853`` (scipy's), and
``Tsit5``, ``Vern7`` (fastode's), each one tableau of fastode.methods on one compiled kernel.

Users import them from fastode.solvers (its docstring has the use).
"""
import numpy as np

from . import methods as method_registry
from .ivp_common import compiled_rhs, validate_tolerances, validate_y0
from .kernels import status as st
from .kernels.control import select_initial_step
from .kernels import control as _control_kernels, explicit as _explicit_kernels
from .kernels.explicit import explicit_rk_advance, explicit_rk_step_dense
from .kernels.progress import announce_compiles
from .results import MESSAGES, DenseOutput
from .rhs import _RHS_CTYPES, forget_stale_failures, raise_failures
from .solvers_base import (DOUBLE_P, NO_ARGS_P, TOO_SMALL_STEP, ComplexAsRealPairs, OdeSolver,
                           warn_extraneous)

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(_control_kernels, _explicit_kernels)

__all__ = ["RungeKutta", "RK23", "RK45", "DOP853", "Tsit5", "Vern7"]


class RungeKutta(ComplexAsRealPairs, OdeSolver):
    """Adaptive explicit Runge-Kutta solver driven by a tableau of ``fastode.methods``.

    A subclass is only its method name (``_method``): ``RK23``, ``RK45``, ``DOP853``, ``Tsit5``
    and ``Vern7`` below. Each ``step()`` is one call of the compiled kernel
    ``explicit_rk_advance`` (scipy's ``RungeKutta._step_impl``: stages, error norm, elementary
    step-size controller with scipy's constants); ``dense_output()`` calls
    ``explicit_rk_step_dense``.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y) -> array_like, shape (n,)`` (no extra arguments, as scipy's
        classes). A function numba can compile runs compiled; any other is called through
        Python, with one ``fastode.FallbackWarning``. A numba ``@cfunc`` with the C signature
        ``void(double t, double *y, double *p, double *dydt)`` is used as it is.
    t0 : float
        Initial time.
    y0 : array_like, shape (n,)
        Initial state, real or complex.
    t_bound : float
        Boundary time; ``t_bound < t0`` integrates backwards.
    max_step : float, optional
        Largest allowed step size (default ``np.inf``).
    rtol, atol : float or array_like, shape (n,), optional
        Relative and absolute tolerances (default 1e-3 and 1e-6).
    vectorized : bool, optional
        Whether ``fun`` accepts ``y`` of shape (n, k); it is then called with shape (n, 1).
    first_step : float, optional
        Initial step size; by default chosen by Hairer's algorithm, as scipy does (one RHS
        evaluation, counted in ``nfev``).
    **extraneous
        Other keyword arguments are ignored with a warning, as scipy does.

    Attributes
    ----------
    n, status, t_bound, direction, t, y, t_old, step_size, nfev, njev, nlu
        As in ``OdeSolver``.
    y_old : ndarray or None
        State at ``t_old``.
    f : ndarray
        ``fun(t, y)``.
    h_abs : float
        Absolute size of the next step to try.
    h_previous : float or None
        Signed size of the last step.
    naccept, nreject : int
        Accepted and rejected steps (fastode's counters).
    max_step, rtol, atol
        The validated options.
    order, error_estimator_order, n_stages : int
        Order of the method, of its error estimator, and its number of stages.

    Notes
    -----
    Complex states are integrated as pairs of real numbers: the error norm then weighs real
    and imaginary parts separately, so the steps differ slightly from scipy's (which weighs
    complex moduli); the solution agrees to the tolerance.

    Examples
    --------
    >>> from fastode.solvers import RungeKutta, RK45
    >>> issubclass(RK45, RungeKutta)
    True
    >>> solver = RK45(lambda t, y: -y, 0.0, [1.0], 2.0, rtol=1e-6, atol=1e-9)
    >>> solver.step()
    >>> bool(0.0 < solver.t < 2.0 and solver.step_size > 0 and solver.nfev > 0)
    True
    """

    _method = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_method") is not None:
            method = method_registry.lookup(cls._method)
            tab = method.tableau
            cls._registered = method
            cls.order = tab.order
            cls.error_estimator_order = tab.error_order
            cls.n_stages = tab.n_stages
            cls.C, cls.A, cls.B, cls.E, cls.P = tab.C, tab.A, tab.B, tab.E, tab.P

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6,
                 vectorized=False, first_step=None, **extraneous):
        warn_extraneous(extraneous)
        if self._method is None:
            raise TypeError("RungeKutta is abstract: use RK23, RK45, DOP853, Tsit5 or Vern7.")
        if not callable(fun):
            raise TypeError("`fun` must be callable.")
        self._complex = bool(np.iscomplexobj(np.asarray(y0)))
        # scipy's base class: y0 checks, fun / fun_single / fun_vectorized, counters, direction
        super().__init__(fun, t0, y0, t_bound, vectorized, support_complex=True)
        self.t = float(t0)
        self.t_bound = float(t_bound)
        self.direction = float(self.direction)
        self.y_old = None
        self.h_previous = None
        self.naccept = 0
        self.nreject = 0
        if max_step <= 0:
            raise ValueError("`max_step` must be positive.")
        self.max_step = max_step
        method = self._registered
        tab = method.tableau
        self._tab = tab
        self._use_e3 = method.use_e3
        self.error_exponent = -1.0 / (tab.error_order + 1.0)

        if self.n == 0:  # nothing to integrate (scipy: one evaluation of fun, h_abs = inf)
            self.rtol, self.atol = rtol, atol
            self._f_empty = self.fun(self.t, self.y)
            self.h_abs = np.inf
            return

        if first_step is not None:
            if first_step <= 0:
                raise ValueError("`first_step` must be positive.")
            if first_step > abs(self.t_bound - self.t):
                raise ValueError("`first_step` exceeds bounds.")
        y0_real, n, is_complex = validate_y0(self.y)
        rtol_full, atol_full = validate_tolerances(rtol, atol, n, is_complex)
        step = 2 if is_complex else 1
        self.rtol = float(rtol_full[0]) if np.ndim(rtol) == 0 else rtol_full[::step].copy()
        self.atol = float(atol_full[0]) if np.ndim(atol) == 0 else atol_full[::step].copy()
        self._rtol, self._atol = rtol_full, atol_full
        self._y = y0_real

        # compile the RHS (cached per function) and evaluate f(t0, y0) with it
        self._rhs = compiled_rhs(fun, self.t, y0_real, n, is_complex, (), (), vectorized)
        forget_stale_failures((self._rhs,))
        self._p = NO_ARGS_P
        m = y0_real.shape[0]
        s = tab.n_stages
        # zeros, not empty: for tableaus whose error weights skip f_new (E[s] == 0, e.g. Vern7)
        # the error sum still reads row s on the first attempt, and 0 * garbage can be NaN
        self._K = np.zeros((s + 1 + tab.n_extra, m))
        self._ytmp = np.empty(m)
        self._scale = np.empty(m)
        self._fsal_pending = False  # K[s] holds f(t, y) and must move to K[0]
        f0 = np.empty(m)
        _RHS_CTYPES(self._rhs.address)(self.t, y0_real.ctypes.data_as(DOUBLE_P),
                                       self._p.ctypes.data_as(DOUBLE_P),
                                       f0.ctypes.data_as(DOUBLE_P))
        self.nfev += 1
        self._raise_callback_errors()
        self._K[0] = f0
        # a non-finite f(t0, y0) can never give an accepted step (scipy loops forever on it)
        self._f0_finite = bool(np.all(np.isfinite(f0)))

        if first_step is None:
            f1 = np.empty(m)
            self.h_abs = float(select_initial_step(
                self._rhs.address, self._p, self.t, y0_real, f0, self.t_bound,
                float(max_step), self.direction, tab.error_order, rtol_full, atol_full,
                self._ytmp, f1))
            if self.t_bound != self.t:
                self.nfev += 1
            self._raise_callback_errors()
        else:
            self.h_abs = float(first_step)

    # ---- state seen as scipy's: ``y`` from ComplexAsRealPairs -------------------------------
    @property
    def f(self):
        """``fun(t, y)`` at the current state (as evaluated by the compiled RHS)."""
        if self.n == 0:
            return self._f_empty
        row = self._K[self._tab.n_stages] if self._fsal_pending else self._K[0]
        row = row.copy()
        return row.view(np.complex128) if self._complex else row

    @property
    def K(self):
        """Stage derivatives of the last step, shape (n_stages + 1, n); the last row is
        ``f(t, y)`` after a step (scipy's ``RungeKutta.K``, complex for a complex ``y0``)."""
        K = self._K[:self._tab.n_stages + 1]
        return K.view(np.complex128) if self._complex else K

    def _estimate_error(self, K, h):
        """Local error estimate of a step of size ``h`` with stages ``K`` (scipy's formula;
        for DOP853 the blend of its 5th- and 3rd-order estimators). The kernel computes the
        same in compiled code; this is for code that inspects a step, as scipy's tests do."""
        K = np.asarray(K)
        err = K.T @ self.E[:K.shape[0]] * h
        if not self._use_e3:
            return err
        err3 = K.T @ self._tab.E3[:K.shape[0]] * h
        denom = np.hypot(np.abs(err), 0.1 * np.abs(err3))
        correction = np.ones(err.shape)
        mask = denom > 0
        correction[mask] = np.abs(err[mask]) / denom[mask]
        return err * correction

    def _estimate_error_norm(self, K, h, scale):
        """RMS norm of the error estimate divided by ``scale`` (scipy's formula)."""
        K = np.asarray(K)
        scale = np.asarray(scale, dtype=float)
        if not self._use_e3:
            err = self._estimate_error(K, h) / scale
            return float(np.sqrt(np.mean(np.abs(err) ** 2))) if err.size else 0.0
        err5 = (K.T @ self.E[:K.shape[0]]) / scale
        err3 = (K.T @ self._tab.E3[:K.shape[0]]) / scale
        err5_norm_2 = float(np.sum(np.abs(err5) ** 2))
        err3_norm_2 = float(np.sum(np.abs(err3) ** 2))
        if err5_norm_2 == 0 and err3_norm_2 == 0:
            return 0.0
        denom = err5_norm_2 + 0.01 * err3_norm_2
        return float(np.abs(h) * err5_norm_2 / np.sqrt(denom * err5.size))

    def _raise_callback_errors(self):
        rhs = self._rhs
        if rhs.errors or (rhs.failure is not None and rhs.failure.flag[0]):
            # fun raised (or returned another length): re-raise it, as scipy would
            raise_failures((rhs,), (), self.direction)

    # ---- scipy's solver contract -------------------------------------------------------------
    def _step_impl(self):
        tab = self._tab
        K = self._K
        s = tab.n_stages
        if self._fsal_pending:
            K[0] = K[s]  # f(t_new, y_new) of the last step is this step's first stage
            self._fsal_pending = False
        h_abs = float(self.h_abs)
        if h_abs != h_abs or (self.naccept == 0 and not self._f0_finite):
            # f(t0, y0) is not finite, or the initial step came out NaN: no step can succeed
            # (later states are checked by the kernel)
            return False, MESSAGES[st.NON_FINITE].format(t=self.t)
        t = self.t
        y = self._y
        y_new = np.empty_like(y)
        status, accepted, t_new, h, h_abs, nfev, nreject = explicit_rk_advance(
            self._rhs.address, self._p, t, y, self.t_bound, h_abs, float(self.max_step),
            self._rtol, self._atol, tab.C, tab.A, tab.B, tab.E, tab.E3, self._use_e3,
            tab.error_order, K, y_new, self._ytmp, self._scale)
        self.nfev += int(nfev)
        self.nreject += int(nreject)
        self._raise_callback_errors()
        if not accepted:
            if status == st.STEP_TOO_SMALL:
                return False, TOO_SMALL_STEP
            return False, MESSAGES[int(status)].format(t=self.t, max_steps=None)
        self.naccept += 1
        self.h_previous = float(h)
        self._y_old = y
        self.t = float(t_new)
        self._y = y_new
        self.h_abs = float(h_abs)
        self._fsal_pending = True
        if status != st.SUCCESS:
            # the step was accepted but f(t_new, y_new) is not finite: keep the state reached
            # (as fastode.solve_ivp) and fail
            self.t_old = t
            return False, MESSAGES[int(status)].format(t=self.t, max_steps=None)
        return True, None

    @property
    def y_old(self):
        """State at ``t_old`` (None before the first step)."""
        y_old = self.__dict__.get("_y_old")
        if y_old is None:
            return None
        return y_old.view(np.complex128) if self._complex else y_old

    @y_old.setter
    def y_old(self, value):
        if value is None:
            self._y_old = None
        elif self._complex:
            self._y_old = np.ascontiguousarray(value, dtype=np.complex128).copy().view(np.float64)
        else:
            self._y_old = np.array(value, dtype=np.float64)

    def _dense_output_impl(self):
        tab = self._tab
        Q, nfev = explicit_rk_step_dense(
            self._rhs.address, self._p, self.t_old, self._y_old, self.h_previous, self._K,
            tab.n_stages, tab.C_extra, tab.A_extra, tab.P, self._ytmp)
        self.nfev += int(nfev)
        self._raise_callback_errors()
        return DenseOutput(self.t_old, self.t, self._y_old, Q, self._complex)


class RK23(RungeKutta):
    """Explicit Runge-Kutta method of order 3(2): Bogacki-Shampine, as ``scipy.integrate.RK23``.

    The error is controlled with the embedded 2nd-order formula and steps are taken with the
    3rd-order one (local extrapolation); the dense output is the cubic Hermite interpolant.
    Works for complex states. Parameters and attributes as in ``RungeKutta``.

    References
    ----------
    P. Bogacki, L. F. Shampine, "A 3(2) Pair of Runge-Kutta Formulas", Appl. Math. Lett. 2(4),
    321-325, 1989.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import RK23
    >>> solver = RK23(lambda t, y: -y, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-6)
    True
    """

    _method = "RK23"


class RK45(RungeKutta):
    """Explicit Runge-Kutta method of order 5(4): Dormand-Prince, as ``scipy.integrate.RK45``.

    The error is controlled with the embedded 4th-order formula and steps are taken with the
    5th-order one; the dense output is Shampine's quartic interpolant. Works for complex
    states. Parameters and attributes as in ``RungeKutta``.

    References
    ----------
    J. R. Dormand, P. J. Prince, "A family of embedded Runge-Kutta formulae", J. Comput. Appl.
    Math. 6(1), 19-26, 1980. L. F. Shampine, "Some Practical Runge-Kutta Formulas", Math.
    Comp. 46(173), 135-150, 1986.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import RK45
    >>> solver = RK45(lambda t, y: -y, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-6)
    True
    """

    _method = "RK45"


class DOP853(RungeKutta):
    """Explicit Runge-Kutta method of order 8: Hairer's DOP853, as ``scipy.integrate.DOP853``.

    The error estimate blends 5th- and 3rd-order formulas; the dense output is of order 7 and
    costs 3 extra RHS evaluations per ``dense_output()`` call (counted in ``nfev``, as scipy).
    Works for complex states. Parameters and attributes as in ``RungeKutta``.

    References
    ----------
    E. Hairer, S. P. Norsett, G. Wanner, "Solving Ordinary Differential Equations I: Nonstiff
    Problems", Sec. II.10, Springer, 1993.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import DOP853
    >>> solver = DOP853(lambda t, y: -y, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-6)
    True
    """

    _method = "DOP853"


class Tsit5(RungeKutta):
    """Tsitouras' explicit Runge-Kutta method of order 5(4), with a 4th-order dense output.

    Same interface as ``RK45``; not in scipy. Parameters and attributes as in ``RungeKutta``.

    References
    ----------
    Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column
    simplifying assumption", Comput. Math. Appl. 62(2), 770-775, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import Tsit5
    >>> solver = Tsit5(lambda t, y: -y, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-6)
    True
    """

    _method = "Tsit5"


class Vern7(RungeKutta):
    """Verner's "most efficient" explicit Runge-Kutta method of order 7(6).

    Its 7th-order dense output costs extra RHS evaluations per ``dense_output()`` call
    (counted in ``nfev``). Same interface as ``RK45``; not in scipy. Parameters and attributes
    as in ``RungeKutta``.

    References
    ----------
    J. H. Verner, "Numerically optimal Runge-Kutta pairs with interpolants", Numer. Algorithms
    53, 383-396, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import Vern7
    >>> solver = Vern7(lambda t, y: -y, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> bool(abs(solver.y[0] - np.exp(-1.0)) < 1e-6)
    True
    """

    _method = "Vern7"
