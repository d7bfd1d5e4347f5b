"""The base of fastode's step-by-step solver classes (scipy's ``OdeSolver`` interface).

``OdeSolver`` (scipy's contract), ``ComplexAsRealPairs`` (a complex state stepped as real pairs)
and ``CompiledSolver`` (the set-up the stiff and switching classes share: tolerances, the
compiled RHS and Jacobian). The method classes are in fastode.solvers_explicit (RK23 ... Vern7),
.solvers_radau, .solvers_bdf and .solvers_lsoda; users import them from fastode.solvers.
"""
import ctypes
import warnings

import numpy as np
from scipy.integrate import OdeSolver as _ScipyOdeSolver

from .ivp_common import compiled_rhs, validate_tolerances, validate_y0
from .ivp_jacobian import compile_jac
from .kernels import status as st
from .results import MESSAGES, DenseOutput
from .rhs import failed, forget_stale_failures, raise_failures

TOO_SMALL_STEP = "Required step size is less than spacing between numbers."
NO_ARGS_P = np.zeros(1)  # the parameter array of a RHS without args (the kernels read none)
DOUBLE_P = ctypes.POINTER(ctypes.c_double)


class OdeSolver(_ScipyOdeSolver):
    """Base class of fastode's step-by-step ODE solvers (scipy's ``OdeSolver`` contract).

    A subclass of ``scipy.integrate.OdeSolver`` with the same constructor, attributes and
    contract for writing a solver (implement ``_step_impl() -> (success, message)`` and
    ``_dense_output_impl() -> DenseOutput``); ``step()`` and ``dense_output()`` behave as
    scipy's, except that ``dense_output()`` returns a ``fastode.results.DenseOutput``.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y) -> array_like, shape (n,)``.
    t0 : float
        Initial time.
    y0 : array_like, shape (n,)
        Initial state.
    t_bound : float
        Boundary time: the integration does not go past it; it sets the direction.
    vectorized : bool
        Whether ``fun`` accepts ``y`` of shape (n, k).
    support_complex : bool, optional
        Whether complex states are supported (default False).

    Attributes
    ----------
    n : int
        Number of equations.
    status : str
        ``'running'``, ``'finished'`` or ``'failed'``.
    t_bound : float
        Boundary time.
    direction : float
        Integration direction, +1 or -1.
    t : float
        Current time.
    y : ndarray, shape (n,)
        Current state.
    t_old : float or None
        Previous time; None before the first step.
    step_size : float or None
        Size of the last successful step; None before the first step.
    nfev, njev, nlu : int
        Numbers of RHS evaluations, Jacobian evaluations and LU decompositions.

    Examples
    --------
    Every solver class is driven the same way, step by step:

    >>> import numpy as np
    >>> from fastode.solvers import OdeSolver, RK45
    >>> solver = RK45(lambda t, y: np.array([y[1], -y[0]]), 0.0, [1.0, 0.0], 1.0)
    >>> isinstance(solver, OdeSolver)
    True
    >>> while solver.status == "running":
    ...     solver.step()
    >>> solver.status, solver.t
    ('finished', 1.0)
    """

    TOO_SMALL_STEP = TOO_SMALL_STEP

    def step(self):
        """Take one integration step.

        Returns
        -------
        message : str or None
            None after a successful step; otherwise why the solver failed (``status`` is then
            ``'failed'``).

        Raises
        ------
        RuntimeError
            If the solver has already finished or failed.
        """
        if self.status != "running":
            raise RuntimeError("Attempt to step on a failed or finished solver.")
        if self.n == 0 or self.t == self.t_bound:
            # corner cases of an empty system or an empty interval (as scipy)
            self.t_old = self.t
            self.t = self.t_bound
            message = None
            self.status = "finished"
        else:
            t = self.t
            success, message = self._step_impl()
            if not success:
                self.status = "failed"
            else:
                self.t_old = t
                if self.direction * (self.t - self.t_bound) >= 0:
                    self.status = "finished"
        return message

    @property
    def step_size(self):
        """Size of the last successful step (None before the first step)."""
        if self.t_old is None:
            return None
        return abs(self.t - self.t_old)

    def dense_output(self):
        """Interpolant of the last successful step.

        Returns
        -------
        DenseOutput
            ``fastode.results.DenseOutput`` on ``[t_old, t]``: ``sol(t)`` has shape (n,) for a
            scalar ``t`` and (n, len(t)) for an array, as scipy's.

        Raises
        ------
        RuntimeError
            Before the first successful step.
        """
        if self.t_old is None:
            raise RuntimeError("Dense output is available after a successful step was made.")
        if self.n == 0 or self.t == self.t_old:
            return _constant_dense_output(self.t_old, self.t, self.y)
        return self._dense_output_impl()


def _constant_dense_output(t_old, t, y):
    y = np.asarray(y)
    is_complex = np.iscomplexobj(y)
    y_real = np.ascontiguousarray(y, dtype=np.complex128).view(np.float64) if is_complex \
        else np.asarray(y, dtype=np.float64)
    return DenseOutput(t_old, t, y_real, np.zeros((y_real.shape[0], 1)), is_complex)


class ComplexAsRealPairs:
    """``y`` of a solver whose kernel steps a complex state as pairs of reals.

    The state lives in ``_y`` (float64, 2n values for a complex ``y0``); ``y`` shows it as
    scipy does (complex for a complex ``y0``). The subclass sets ``_complex`` before
    ``scipy.integrate.OdeSolver.__init__`` assigns ``y``.
    """

    @property
    def y(self):
        """Current state, shape (n,) (complex for a complex ``y0``)."""
        return self._y.view(np.complex128) if self._complex else self._y

    @y.setter
    def y(self, value):
        if self._complex:
            self._y = np.ascontiguousarray(value, dtype=np.complex128).copy().view(np.float64)
        else:
            self._y = np.array(value, dtype=np.float64)



def warn_extraneous(extraneous):
    """Warn, as scipy does, about keyword arguments a solver class ignores."""
    if extraneous:
        warnings.warn("The following arguments have no effect for a chosen solver: "
                      f"{', '.join(f'`{x}`' for x in extraneous)}.", UserWarning, stacklevel=3)



class CompiledSolver(ComplexAsRealPairs, OdeSolver):
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
        self._rhs = compiled_rhs(fun, self.t, y0_real, n, is_complex, (), (), vectorized)
        self._p = NO_ARGS_P
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

