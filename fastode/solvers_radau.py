"""scipy's step-by-step ``Radau`` class, stepping in fastode's numba kernel (fastode.kernels.radau).

Same use as ``scipy.integrate.Radau``::

    from fastode.solvers import Radau          # was: from scipy.integrate import Radau
    solver = Radau(fun, t0, y0, t_bound, rtol=1e-6, atol=1e-9)
    while solver.status == "running":
        message = solver.step()

RADAU5 as scipy's ``Radau`` runs it (the same steps, ``nfev``, ``njev`` and ``nlu`` as scipy, up
to the rounding of the LU solves). Each ``step()`` is one call of ``radau_advance``: Newton
iterations, Jacobian and LU reuse, error estimate and step-size control all run compiled. It
subclasses ``fastode.solvers.OdeSolver`` (hence ``scipy.integrate.OdeSolver``), so
``scipy.integrate.solve_ivp(fun, ..., method=fastode.solvers.Radau)`` runs it.
"""
import numpy as np

from .ivp_jacobian import jacobian_structure
from .kernels import radau as kr
from .kernels import status as st
from .kernels.jacobian import JAC_CONSTANT, JAC_USER
from .kernels.progress import announce_compiles
from .results import MESSAGES, DenseOutput
from .solvers_base import CompiledSolver, warn_extraneous

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(kr)

__all__ = ["Radau"]

_NO_MASS = np.zeros((1, 1))  # Radau without a mass matrix never reads it


class Radau(CompiledSolver):
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

    Examples
    --------
    Van der Pol with mu = 1000, stiff, step by step:

    >>> import numpy as np
    >>> from fastode.solvers import Radau
    >>> def vdp(t, y):
    ...     return np.array([y[1], 1000.0 * (1 - y[0] ** 2) * y[1] - y[0]])
    >>> solver = Radau(vdp, 0.0, [2.0, 0.0], 1000.0, rtol=1e-6, atol=1e-9)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> solver.status, bool(solver.njev > 0 and solver.nlu > 0)
    ('finished', True)
    """

    order = 5
    error_estimator_order = 3

    # fastode.solve_ivp(method=Radau) runs the compiled driver of this method
    _method = "radau_iia_5"

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6, jac=None,
                 jac_sparsity=None, vectorized=False, first_step=None, **extraneous):
        warn_extraneous(extraneous)
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
