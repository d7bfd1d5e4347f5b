"""scipy's step-by-step ``BDF`` solver, stepping in fastode's numba kernel.

Code that drives ``scipy.integrate.BDF`` by hand switches to fastode by changing the import::

    from fastode.solvers import BDF          # was: from scipy.integrate import BDF
    solver = BDF(fun, t0, y0, t_bound, rtol=1e-6, atol=1e-9)
    while solver.status == "running":
        message = solver.step()

The class runs scipy's algorithm (variable-order NDF, Shampine & Reichelt 1997; see
fastode.kernels.bdf): the accepted steps, ``nfev``, ``njev`` and ``nlu`` are scipy's, and ``t``
and ``y`` agree with scipy's to the rounding of its BLAS sums. Each ``step()`` is one call of the
compiled kernel ``fastode.kernels.bdf.bdf_advance`` (Newton iterations, Jacobian and LU updates,
error test, order and step-size control), with the state in arrays this object owns.
"""
import numpy as np

from .ivp_jacobian import band_of, jacobian_structure
from .kernels import status as st
from .kernels.bdf import (ALPHA, ERROR_CONST, GAMMA, MAX_ORDER, S_H_ABS, S_N_EQUAL, S_ORDER,
                          W_JFAC, WORK_ROWS, bdf_advance, bdf_dense, bdf_start)
from .kernels import bdf as _bdf_kernels
from .kernels.jacobian import JAC_FD_GROUPED
from .kernels.progress import announce_compiles
from .results import DenseOutput
from .solvers_base import CompiledSolver, warn_extraneous

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(_bdf_kernels)

__all__ = ["BDF"]

EPS = np.finfo(float).eps


class BDF(CompiledSolver):
    """Implicit variable-order (1 to 5) NDF/BDF method, as ``scipy.integrate.BDF``.

    The numerical differentiation formulas of Klopfenstein and Shampine in backward-difference
    form with quasi-constant step size; the Jacobian is kept across steps and recomputed only
    when Newton's iteration fails with an old one, its LU kept while the step size is unchanged.
    For stiff problems. Each ``step()`` runs in compiled code.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y) -> array_like, shape (n,)``; a function numba can compile
        runs compiled, any other through Python (one ``fastode.FallbackWarning``); a numba
        ``@cfunc`` with the C signature ``void(double t, double *y, double *p, double *dydt)``
        is used as it is.
    t0 : float
        Initial time.
    y0 : array_like, shape (n,)
        Initial state (real; scipy's complex support is not offered).
    t_bound : float
        Boundary time; ``t_bound < t0`` integrates backwards.
    max_step : float, optional
        Largest allowed step size (default ``np.inf``).
    rtol, atol : float or array_like, shape (n,), optional
        Relative and absolute tolerances (default 1e-3 and 1e-6).
    jac : None, array_like or callable, optional
        Jacobian ``df/dy``: None (finite differences, scipy's ``num_jac``), a constant (n, n)
        matrix, or ``jac(t, y) -> (n, n)`` (compiled with numba when possible).
    jac_sparsity : None or array_like (n, n), optional
        Sparsity pattern of the Jacobian for finite differences by column groups (one RHS
        call per group). A pattern within a narrow band (see
        ``fastode.ivp_implicit.band_of``) also switches to banded Jacobian storage and banded
        LU: O(n) memory and work per step.
    vectorized : bool, optional
        Whether ``fun`` accepts ``y`` of shape (n, k); it is then called with shape (n, 1).
    first_step : float, optional
        Initial step size; by default Hairer's algorithm as scipy's (one RHS evaluation).
    **extraneous
        Other keyword arguments are ignored with a warning, as scipy does.

    Attributes
    ----------
    n, status, t_bound, direction, t, y, t_old, step_size, nfev, njev, nlu
        As in ``fastode.solvers.OdeSolver``.
    h_abs : float
        Absolute size of the next step.
    order : int
        Order of the next step (1 to 5).
    n_equal_steps : int
        Steps taken with the current step size and order.
    D : ndarray, shape (MAX_ORDER + 3, n)
        Modified divided differences of the interpolating polynomial (scipy's ``D``).
    nreject : int
        Rejected step attempts (fastode's counter).
    max_step, rtol, atol, newton_tol, jac_factor, gamma, alpha, error_const
        As in scipy's class.

    References
    ----------
    L. F. Shampine, M. W. Reichelt, "The MATLAB ODE Suite", SIAM J. Sci. Comput. 18(1), 1-22,
    1997. G. D. Byrne, A. C. Hindmarsh, "A Polyalgorithm for the Numerical Solution of Ordinary
    Differential Equations", ACM Trans. Math. Softw. 1(1), 71-96, 1975.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.solvers import BDF
    >>> def robertson(t, y):
    ...     return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
    ...                      0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2])
    >>> solver = BDF(robertson, 0.0, [1.0, 0.0, 0.0], 100.0, rtol=1e-6, atol=1e-10)
    >>> while solver.status == "running":
    ...     solver.step()
    >>> bool(abs(solver.y.sum() - 1.0) < 1e-6)      # mass is conserved
    True
    """

    gamma = GAMMA
    alpha = ALPHA
    error_const = ERROR_CONST

    # fastode.solve_ivp(method=BDF) runs the compiled driver of this method
    _method = "bdf"

    def __init__(self, fun, t0, y0, t_bound, max_step=np.inf, rtol=1e-3, atol=1e-6, jac=None,
                 jac_sparsity=None, vectorized=False, first_step=None, **extraneous):
        warn_extraneous(extraneous)
        if np.iscomplexobj(np.asarray(y0)):  # scipy's BDF supports it; the kernel does not
            raise ValueError("`y0` is complex, but fastode's BDF class does not support "
                             "integration in a complex domain (fastode.Radau does).")
        # scipy's base-class checks, tolerances, the compiled RHS and Jacobian
        if not self._setup(fun, t0, y0, t_bound, vectorized, max_step, rtol, atol, first_step,
                           jac):
            self.fun(self.t, self.y)  # nothing to integrate (scipy: one evaluation of fun)
            self._state = np.array([np.inf, 1.0, 0.0, 0.0])
            self._D = np.zeros((MAX_ORDER + 3, 0))
            return
        n = self.n
        y0_real = self._y
        rtol_min = float(np.min(self._rtol))
        self.newton_tol = max(10 * EPS / rtol_min, min(0.03, rtol_min ** 0.5))

        mode = self._jac_mode
        kl = ku = -1
        structure = (np.zeros(1, dtype=np.int64),) * 4
        if self._jac is None:
            mode_struct, structure = jacobian_structure(jac_sparsity, None, None, n)
            if mode_struct == JAC_FD_GROUPED:
                mode = mode_struct
                kl, ku = band_of(jac_sparsity, None, None, n)
        self._mode, self._kl, self._ku, self._structure = int(mode), int(kl), int(ku), structure
        if kl >= 0:
            # band storage, F-ordered as the kernel's (LAPACK's layout)
            self._J, self._LU = np.zeros((1, 1)), np.empty((1, 1))
            self._Jb = np.zeros((n, kl + ku + 1)).T
            self._LUb = np.zeros((n, 2 * kl + ku + 1)).T
        else:
            self._J, self._LU = np.zeros((n, n)), np.empty((n, n))
            self._Jb, self._LUb = np.zeros((1, 1)).T, np.zeros((1, 1)).T
        self._piv = np.empty(n, dtype=np.int64)
        self._D = np.zeros((MAX_ORDER + 3, n))
        self._Dtmp = np.empty((MAX_ORDER + 1, n))
        self._work = np.empty((WORK_ROWS, n))
        self._work[W_JFAC] = np.sqrt(EPS)  # scipy's num_jac starts from sqrt(eps)
        self._y_new = np.empty(n)
        self._counts = np.zeros(5, dtype=np.int64)
        self._opts = np.array([float(max_step), self.newton_tol])
        h_abs, finite = bdf_start(
            self._rhs.address, self._jac_address, self._mode, self._p, self.t, y0_real,
            self.t_bound, self.direction, self._rtol, self._atol,
            float(first_step) if first_step is not None else 0.0, float(max_step), self._D,
            self._J, self._Jb, kl, ku, *structure, self._work, self._counts)
        self._f0_finite = bool(finite)
        self._sync_counters()
        self._raise_callback_errors()
        self._state = np.array([float(h_abs), 1.0, 0.0, 0.0])

    @property
    def _jac_address(self):
        return self._jac.address if self._jac is not None else 0

    def _sync_counters(self):
        c = self._counts
        self.nfev, self.njev, self.nlu, self.nreject = int(c[0]), int(c[1]), int(c[2]), int(c[3])

    # ---- scipy's attributes ---------------------------------------------------------------------
    @property
    def h_abs(self):
        """Absolute size of the next step."""
        return float(self._state[S_H_ABS])

    @property
    def order(self):
        """Order of the next step (1 to 5)."""
        return int(self._state[S_ORDER])

    @property
    def n_equal_steps(self):
        """Steps taken since the last change of step size or order."""
        return int(self._state[S_N_EQUAL])

    @property
    def D(self):
        """Modified divided differences, shape (MAX_ORDER + 3, n) (scipy's ``D``)."""
        return self._D

    @property
    def jac_factor(self):
        """Relative increments of the finite-difference Jacobian (scipy's ``jac_factor``)."""
        return self._work[W_JFAC] if self.n else None

    # ---- scipy's solver contract -----------------------------------------------------------
    def _step_impl(self):
        if not self._f0_finite:
            return False, self._failure(st.NON_FINITE, self.t)
        status, t_new = bdf_advance(
            self._rhs.address, self._jac_address, self._mode, self._p, self.t, self.t_bound,
            self.direction, self._state, self._opts, self._rtol, self._atol, self._D, self._J,
            self._Jb, self._LU, self._LUb, self._piv, self._kl, self._ku, *self._structure,
            self._y_new, self._work, self._Dtmp, self._counts)
        self._sync_counters()
        self._raise_callback_errors()
        status = int(status)
        if status != st.SUCCESS:
            return False, self._failure(status, self.t)
        self.t = float(t_new)
        self._y = self._y_new.copy()
        return True, None

    def _dense_output_impl(self):
        ybase, Q = bdf_dense(self._D, self.order, self.t_old, self.t,
                             self.h_abs * self.direction)
        return DenseOutput(self.t_old, self.t, ybase, Q)
