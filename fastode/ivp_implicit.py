"""The implicit (stiff) path of fastode.solve_ivp: options, Jacobians, mass matrix -> driver.

Implicit driver contract
------------------------
Every implicit method is a fastode.kernels.family.MethodDriver: a compiled family driver with
the method's coefficients bound (none for Radau and BDF), called as

    driver(rhs, jac, p, t0, t1, y0, (rtol, atol), (mass, has_mass),
           (first_step, max_step, min_step, max_steps), (t_eval, use_t_eval, dense),
           (event_addresses, event_directions, event_terminal, event_samples),
           (use_jac, group_ptr, group_cols, col_ptr, rows, kl, ku, lu_order, lu_capacity))

the option groups of fastode.kernels.options, which :func:`_prepare` builds once per solve.

* ``rhs``, ``jac``: int64 C function addresses (fastode.kernels.callbacks); ``jac`` writes the
  n x n matrix df/dy row-major into its ``out`` argument; it is 0 when there is no user Jacobian.
* ``use_jac``: int, the Jacobian mode (JAC_FD, JAC_USER, JAC_CONSTANT, JAC_FD_GROUPED).
* ``p``: float64 parameter array of the RHS (and of jac and the events).
* ``rtol``, ``atol``: float64 arrays of shape (n,); ``first_step`` <= 0: automatic;
  ``max_steps`` <= 0: unlimited; ``min_step`` >= 0.
* ``mass``: (n, n) float64, the constant mass matrix of M y' = f(t, y) (may be singular: index-1
  DAE); the identity when ``has_mass`` is False (the driver should then skip it).
* ``t_eval``/``use_t_eval``, ``dense``, events: as the explicit driver
  (fastode.kernels.explicit.explicit_rk_solve), whose helpers ``record_events`` and
  ``record_segment`` the implicit drivers reuse.

It returns the explicit driver's 13-tuple ``(status, t_out, y_out, n_out, seg_t, seg_h,
seg_data, n_seg, ev_t, ev_y, ev_index, n_ev, counters)``, dense segments in monomial form
``y(t + theta h) = y + sum_j Q[:, j] theta^(j+1)`` (seg_data rows ``[y, Q.ravel()]``, any
number q of columns, the same for every step), with ``counters = [nfev, naccept, nreject,
t_final, njev, nlu]``. Status codes: fastode.kernels.status plus ``SINGULAR`` (-4) and
``NEWTON_FAILED`` (-5) of fastode.kernels.jacobian.

For a driver registered in :data:`STRUCTURED` the Jacobian group carries the column groups of
a sparsity pattern (``group_ptr, group_cols, col_ptr, rows``: int64 arrays, see
fastode.kernels.jacobian.cpr_groups) and any of the modes; the others get mode JAC_FD or
JAC_USER and placeholders.

For a driver registered in :data:`BANDED` (a subset of STRUCTURED) the group's last two
ints ``kl, ku`` may give a band (otherwise -1). ``kl >= 0`` asks for banded mode: the Jacobian has ``kl``
sub- and ``ku`` super-diagonals, ``use_jac`` is JAC_FD_GROUPED with column groups inside the
band, and the driver stores J in band form (kl + ku + 1, n) and factors its iteration matrix
with fastode.kernels.linalg.band_lu_factor (LAPACK gbtrf layout, (2 kl + ku + 1, n)): O(n)
memory and work per step instead of O(n^2) and O(n^3). ``kl = ku = -1``: the dense path,
unchanged. Banded mode is used when ``lband``/``uband`` are given, or when ``jac_sparsity``
lies in a band narrow enough to pay (:func:`band_of`), and there is no user ``jac``. A BANDED
driver gets a (1, 1) placeholder ``mass`` when ``has_mass`` is False (an n x n identity would
cost O(n^2) memory), and a mass matrix given with a band must lie inside the band.

For a driver registered in :data:`SPARSE` (every stiff family), ``kl == KL_SPARSE`` (-2) asks for the sparse
direct path: J is stored as the CSC values of the pattern ``col_ptr, rows`` (shape (1, nnz)) and
the iteration matrix is factored by fastode.kernels.sparse_lu in the column order ``lu_order``
with room for ``lu_capacity`` entries (fastode.ivp_jacobian.sparse_lu_plan: once per pattern);
otherwise ``lu_order`` is a placeholder and ``lu_capacity`` 0. :func:`_choose_linear_solver`
picks the path (the ``linear_solver`` option); the result's ``linear_solver`` says which ran.

Adding a family: write the driver, register ``Method(..., family="radau", ...)`` in
fastode.methods, and add one line to :data:`DRIVERS` (``"radau": radau_solve``); say in
:data:`MASS_FAMILIES` whether it accepts a mass matrix. Drivers are looked up by method name
first, then by family.
"""
import math
import warnings
from numbers import Integral, Real

import numpy as np

from . import methods as method_registry
from .ivp_common import (DUMMY_T_EVAL, NO_EVENTS_F, NO_EVENTS_I, Y0_NOT_FINITE, compiled_rhs,
                         pack, parse_step_options, shape_result, validate_t_eval,
                         validate_t_span, validate_tolerances, validate_y0)
# band_of and compile_jac are imported from here by tests and bench/stiff.py too
from .ivp_jacobian import (CONSTANT_JAC, FD_STRUCT, NO_LU_ORDER, band_of, compile_jac,
                           dense_matrix, jacobian_structure, real_pairs_structure,
                           sparse_lu_plan)
from .kernels import status as st
from .kernels.bdf import bdf_solve
from .kernels import bdf as _bdf_kernels, radau as _radau_kernels, rosenbrock as _rosenbrock_kernels, esdirk as _esdirk_kernels
from .kernels.progress import announce_compiles
from .kernels.jacobian import (JAC_CONSTANT, JAC_FD, JAC_USER, KL_KRYLOV, KL_SPARSE,
                               NEWTON_FAILED, SINGULAR)
from .kernels.krylov import PREC_ILU0, PREC_NONE
from .kernels.radau import radau_solve
from .kernels.rosenbrock import rodas4_solve, rodas5p_solve, rosenbrock23_solve
from .kernels.esdirk import (implicit_euler_fixed_solve, implicit_euler_solve, kencarp4_solve,
                             kvaerno5_solve)
from .results import MESSAGES, MIN_STEP_MESSAGE, OdeResult
from .rhs import Extras, compile_event, forget_stale_failures, raise_failures

announce_compiles(_bdf_kernels, _radau_kernels, _rosenbrock_kernels, _esdirk_kernels)
# method name or family -> driver (see the module docstring)
DRIVERS = {
    "Rodas4": rodas4_solve,
    "Rodas5P": rodas5p_solve,
    "Rosenbrock23": rosenbrock23_solve,
    "radau": radau_solve,
    "bdf": bdf_solve,
    "Kvaerno5": kvaerno5_solve, "KenCarp4": kencarp4_solve,
    "implicit_euler": implicit_euler_solve,
}
# drivers that take the Jacobian structure arrays and an int use_jac mode
STRUCTURED = {rodas4_solve, rosenbrock23_solve, bdf_solve}
# structured drivers that also take kl, ku and can run with a banded Jacobian and LU
BANDED = {rodas4_solve, rosenbrock23_solve, bdf_solve}
# Rodas5P runs in the Rosenbrock driver of Rodas4: structured and banded alike
STRUCTURED.add(rodas5p_solve)
BANDED.add(rodas5p_solve)
# Radau and the ESDIRK drivers (fastode.kernels.radau, .esdirk): structured and banded
_RADAU_ESDIRK = {radau_solve, kvaerno5_solve, kencarp4_solve, implicit_euler_solve,
                 implicit_euler_fixed_solve}
STRUCTURED.update(_RADAU_ESDIRK)
BANDED.update(_RADAU_ESDIRK)
# drivers with the sparse direct path (kl == KL_SPARSE: fastode.kernels.sparse_lu)
SPARSE = {bdf_solve, radau_solve, rodas4_solve, rodas5p_solve, rosenbrock23_solve,
          kvaerno5_solve, kencarp4_solve, implicit_euler_solve, implicit_euler_fixed_solve}
SPARSE_METHODS = ("BDF, Radau, Rodas4, Rodas5P, Rosenbrock23, Kvaerno5, KenCarp4, "
                  "implicit_euler")  # their names, for messages
# drivers with Newton-Krylov too (kl == KL_KRYLOV: fastode.kernels.krylov)
KRYLOV = {bdf_solve}
KRYLOV_METHODS = "BDF"
# the sparse direct path is chosen ("auto") from this size, for a pattern with at most this
# share of nonzeros (below, or denser, the dense LU is as fast)
SPARSE_MIN_SIZE = 64
SPARSE_MAX_DENSITY = 0.1
# ... and Newton-Krylov (GMRES + ILU(0)) from this size. 2-D Brusselator, BDF, rtol 1e-6, one
# thread (`python bench/pde.py --sizes 8,16 --solvers krylov,sparse,dense`): 8 x 8 (128
# unknowns) Krylov 4.9 ms, sparse LU 7.0 ms, dense LU 7.5 ms; 16 x 16 (512) 15.8, 40.4, 121 ms.
# Below 512 the sparse LU keeps scipy's steps and its exact Newton directions at a small cost;
# an "auto" Krylov solve that fails is solved again with the sparse LU.
KRYLOV_MIN_SIZE = 512
KRYLOV_RETRY = (NEWTON_FAILED, SINGULAR, st.STEP_TOO_SMALL)  # the statuses that retry
LINEAR_SOLVERS = ("auto", "dense", "banded", "sparse", "krylov")
PRECONDITIONERS = {"ilu0": PREC_ILU0, "none": PREC_NONE, None: PREC_NONE}
# GMRES's defaults: Krylov vectors per cycle, restarts (CVODE: 5 and 0; measured on the 2-D
# Brusselator, bench/pde.py)
KRYLOV_DIM = 10
KRYLOV_RESTARTS = 4
# families whose drivers accept a mass matrix
MASS_FAMILIES = {"rosenbrock", "radau", "bdf", "sdirk"}
# methods that also take a fixed `step=` (same contract; steps of exactly first_step)
FIXED_STEP_DRIVERS = {"implicit_euler": implicit_euler_fixed_solve}

IMPLICIT_MESSAGES = MESSAGES  # status codes and messages: kernels/status.py, results.py
FIXED_STEP_FAILED = {NEWTON_FAILED: "Newton iterations did not converge",
                     SINGULAR: "The iteration matrix is singular",
                     st.NON_FINITE: "The right-hand side returned a non-finite value"}

_IDENTITY = {}


def _identity(n):
    eye = _IDENTITY.get(n)
    if eye is None:
        eye = np.eye(n)
        if n <= 200:
            _IDENTITY[n] = eye
    return eye


# ---- solve_ivp's implicit path ------------------------------------------------------------

def driver_for(chosen):
    """The registered driver of a Method (by name, then by family), or None."""
    return DRIVERS.get(chosen.name) or DRIVERS.get(chosen.family)


def _parse_options(chosen, driver, t0, t1, y0_real, n, is_complex, options):
    """Check the options of an implicit solve (scipy's and fastode's own): returns (driver,
    mass_arr, has_mass, mode, structure, kl, ku, jac, first_step, max_step, min_step,
    max_steps, event_samples); ``jac`` is the user's, compiled later (after ``fun``)."""
    step = options.pop("step", None)
    if step is not None:
        if chosen.name not in FIXED_STEP_DRIVERS:
            raise ValueError(f"`step` is for fixed-step methods; {chosen.name!r} is adaptive "
                             "(use `first_step` / `max_step`).")
        if (not isinstance(step, Real) or isinstance(step, bool) or not np.isfinite(step)
                or step <= 0):
            raise ValueError(f"`step` must be a positive finite number; got {step!r}.")
        driver = FIXED_STEP_DRIVERS[chosen.name]
        first_step = float(step)
    max_step, first_step_option, min_step, max_steps, event_samples = parse_step_options(
        options, t0, t1)
    first_step = first_step if step is not None else first_step_option
    jac = options.pop("jac", None)
    jac_sparsity = options.pop("jac_sparsity", None)
    lband = options.pop("lband", None)
    uband = options.pop("uband", None)
    mass = options.pop("mass", None)
    linear_solver = options.pop("linear_solver", "auto")
    if not isinstance(linear_solver, str) or linear_solver not in LINEAR_SOLVERS:
        raise ValueError(f"`linear_solver` must be one of {LINEAR_SOLVERS}; got "
                         f"{linear_solver!r}.")
    krylov = _krylov_options(options.pop("preconditioner", "ilu0"),
                             options.pop("krylov_dim", KRYLOV_DIM),
                             options.pop("krylov_restarts", KRYLOV_RESTARTS))
    if options:
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in options)}.", UserWarning, stacklevel=4)

    m = y0_real.size
    if is_complex and (jac_sparsity is not None or lband is not None or uband is not None):
        jac_sparsity, lband, uband = real_pairs_structure(jac_sparsity, lband, uband, n)
    mode_struct, structure = jacobian_structure(jac_sparsity, lband, uband, m)
    kl, ku = band_of(jac_sparsity, lband, uband, m) if driver in BANDED else (-1, -1)
    if jac is not None:
        kl, ku = -1, -1  # a user Jacobian is an (n, n) matrix: the dense path
    if mass is not None:
        if chosen.family not in MASS_FAMILIES:
            raise ValueError(f"`mass` is not supported by method {chosen.name!r}; use one of the "
                             f"families {sorted(MASS_FAMILIES)}.")
        if is_complex:
            raise ValueError("`mass` is not supported for a complex `y0`.")
        mass_arr = dense_matrix(mass, n, "mass")
        has_mass = True
        if kl >= 0:
            i, j = np.nonzero(mass_arr)
            if i.size and ((i - j).max() > kl or (j - i).max() > ku):
                if lband is not None:
                    raise ValueError(f"`mass` has entries outside the band lband={kl}, "
                                     f"uband={ku}; widen the band or leave it out.")
                kl, ku = -1, -1  # a jac_sparsity band that the mass matrix leaves: dense
    elif driver in BANDED:
        mass_arr = _identity(1)
        has_mass = False
    else:
        mass_arr = _identity(m)
        has_mass = False
    kl, ku, lu_plan = _choose_linear_solver(linear_solver, chosen, driver, kl, ku, structure,
                                            jac_sparsity, lband, jac, mass, m, krylov)
    return (driver, mass_arr, has_mass, mode_struct, structure, kl, ku, lu_plan, jac,
            first_step, max_step, float(min_step), max_steps, int(event_samples))


def _krylov_options(preconditioner, krylov_dim, krylov_restarts):
    """The Jacobian group's ``lu_order`` for the Krylov path: [preconditioner, maxl,
    max_restarts, psolve address (0)]."""
    if not isinstance(preconditioner, (str, type(None))) or preconditioner not in PRECONDITIONERS:
        raise ValueError(f"`preconditioner` must be 'ilu0' or None; got {preconditioner!r}.")
    for name, value, low in (("krylov_dim", krylov_dim, 1), ("krylov_restarts", krylov_restarts,
                                                               0)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}.")
    return np.array([PRECONDITIONERS[preconditioner], int(krylov_dim), int(krylov_restarts), 0],
                    dtype=np.int64)


def _choose_linear_solver(linear_solver, chosen, driver, kl, ku, structure, jac_sparsity, lband,
                          jac, mass, m, krylov):
    """(kl, ku, (lu_order, lu_capacity)) of the linear algebra ``linear_solver`` asks for:
    "auto" takes the band when there is a narrow one (kl >= 0 already), else the sparse LU
    for a ``jac_sparsity`` of at least SPARSE_MIN_SIZE unknowns and at most SPARSE_MAX_DENSITY
    nonzeros, else the dense LU."""
    no_plan = (NO_LU_ORDER, 0)
    if linear_solver == "dense":
        return -1, -1, no_plan
    if linear_solver == "banded":
        if kl < 0:
            raise ValueError("`linear_solver='banded'` needs `lband`/`uband` or a "
                             "`jac_sparsity` inside a narrow band (and no `jac`; a `mass` "
                             "inside the band).")
        return kl, ku, no_plan
    sparse_ok = (driver in SPARSE and structure is not FD_STRUCT and jac is None
                 and mass is None)
    if linear_solver == "krylov":
        if not (sparse_ok and driver in KRYLOV):
            raise ValueError(
                "`linear_solver='krylov'` needs a `jac_sparsity` (or `lband`/`uband`: the "
                "preconditioner's pattern), no `jac` and no `mass`, and a method with the "
                f"Newton-Krylov path ({KRYLOV_METHODS}); got method {chosen.name!r}.")
        return KL_KRYLOV, -1, (krylov, 0)
    if linear_solver == "sparse":
        if not sparse_ok:
            raise ValueError(
                "`linear_solver='sparse'` needs a `jac_sparsity` (or `lband`/`uband`), no "
                f"`jac` and no `mass`, and a method with the sparse LU ({SPARSE_METHODS}); "
                f"got method {chosen.name!r}.")
    elif kl >= 0 or not (sparse_ok and jac_sparsity is not None and m >= SPARSE_MIN_SIZE
                         and structure[3].shape[0] <= SPARSE_MAX_DENSITY * m * m):
        return kl, ku, no_plan
    elif m >= KRYLOV_MIN_SIZE and driver in KRYLOV:
        return KL_KRYLOV, -1, (krylov, 0)
    col_ptr, rows = structure[2], structure[3]
    return KL_SPARSE, -1, sparse_lu_plan(col_ptr, rows, m)


def linear_solver_name(kl):
    """The ``linear_solver`` a solve used, from its driver's kl (the result's attribute)."""
    return ("banded" if kl >= 0 else "sparse" if kl == KL_SPARSE else
            "krylov" if kl == KL_KRYLOV else "dense")


# solve_implicit's setup when no option is given (the common case), per (driver, size): the
# defaults of _parse_options, cached (saves ~3 us of option parsing per call)
_DEFAULT_SETUPS: dict = {}


def _default_setup(driver, m):
    key = (driver, m)
    setup = _DEFAULT_SETUPS.get(key)
    if setup is None:
        mass_arr = _identity(1) if driver in BANDED else _identity(m)
        setup = (driver, mass_arr, False, JAC_FD, FD_STRUCT, -1, -1, (NO_LU_ORDER, 0), None,
                 0.0, np.inf, 0.0, None, 4)
        if m <= 200:  # as _identity: small systems only (an n x n identity each)
            _DEFAULT_SETUPS[key] = setup
    return setup


def _prepare(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
             dense_output, event_list, vectorized, options):
    """Check the options and compile the user functions: (driver, call arguments, the
    compiled functions to keep alive and check for Python errors, min_step, max_steps, kl).

    ``driver`` is the method's MethodDriver; ``driver.driver(*call_args)`` runs it
    (``call_args``: its bound coefficients, then the grouped contract of the module docstring)."""
    driver = driver_for(chosen)
    if driver is None:
        raise ValueError(f"no compiled driver is registered for method {chosen.name!r} "
                         f"(family {chosen.family!r}).")
    if options:
        setup = _parse_options(chosen, driver, t0, t1, y0_real, n, is_complex, options)
    else:
        setup = _default_setup(driver, y0_real.size)
    (driver, mass_arr, has_mass, mode, structure, kl, ku, lu_plan, jac, first_step, max_step,
     min_step, max_steps, event_samples) = setup
    m = y0_real.size
    # plain Python for a small y0: ~0.3 us instead of ~1.2 us
    if not (all(map(math.isfinite, y0_real.tolist())) if m <= 32
            else np.isfinite(y0_real).all()):
        raise ValueError(Y0_NOT_FINITE)

    specs, p = pack(args)
    extras = Extras(specs)
    rhs = compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras)
    if jac is None:
        jac_compiled = None
    else:
        mode_jac, jac_compiled = compile_jac(jac, n, args, is_complex, t0, y0_real, extras)
        if jac_compiled is not None:  # jac_sparsity / lband matter only without a user jac
            mode, structure = mode_jac, FD_STRUCT
    if event_list:
        compiled_events = [compile_event(e, n, args, is_complex, extras)
                           for e, _, _ in event_list]
        addresses = np.array([c.address for c in compiled_events], dtype=np.int64)
        terminal = np.array([c for _, c, _ in event_list], dtype=np.int64)
        directions = np.array([d for _, _, d in event_list])
    else:
        compiled_events = ()
        addresses, terminal, directions = NO_EVENTS_I, NO_EVENTS_I, NO_EVENTS_F
    p = extras.pack(args, specs, p)  # + the current values of numeric globals they read
    jac_address = jac_compiled.address if jac_compiled is not None else 0
    # the compiled driver's option groups (fastode.kernels.options), built here once: packing
    # a flat argument list into them per call cost ~1 us
    if driver in BANDED:
        jacobian = (int(mode), *structure, int(kl), int(ku), *lu_plan)
    elif driver in STRUCTURED:
        jacobian = (int(mode), *structure, -1, -1, NO_LU_ORDER, 0)
    else:
        jacobian = (int(mode in (JAC_USER, JAC_CONSTANT)), *FD_STRUCT, -1, -1, NO_LU_ORDER, 0)
    call_args = driver.coefficients + (
        rhs.address, jac_address, p, t0, t1, y0_real, (rtol, atol), (mass_arr, has_mass),
        (first_step, max_step, min_step, int(max_steps or 0)),
        (t_eval_arr if t_eval_arr is not None else DUMMY_T_EVAL, t_eval_arr is not None,
         bool(dense_output)),
        (addresses, directions, terminal, event_samples), jacobian)
    if rhs.errors or compiled_events or jac_compiled is not None:
        compiled = [rhs, *compiled_events, *([jac_compiled] if jac_compiled is not None else [])]
    else:
        compiled = (rhs,)
    return driver, call_args, compiled, min_step, max_steps, kl


# A RHS numba cannot compile, for a large system on the dense path (no band): scipy's own
# BDF/Radau wins there (sparse LU with jac_sparsity, LAPACK otherwise, against fastode's
# hand-written dense LU), so it runs the solve. Measured (bench/fallback.py, 2-D Brusselator
# with a scipy.sparse Laplacian and jac_sparsity, 2 cores): 128 states fastode 0.020 s vs scipy
# 0.036 s (BDF); 288 states 0.089 vs 0.055; 512 states 0.51 vs 0.093; 2048 states 41.8 vs 0.69.
SCIPY_DELEGATE = {"bdf": "BDF", "radau_iia_5": "Radau"}  # fastode's method name -> scipy's
SCIPY_DELEGATE_MIN_SIZE = 200
_SCIPY_OPTIONS = {"jac", "jac_sparsity", "max_step", "first_step"}


def _scipy_solve(fun, method, t0, t1, y0_real, args, rtol, atol, t_eval_arr, dense_output,
                 event_list, vectorized, options):
    """scipy.integrate.solve_ivp for this call, as an OdeResult (``naccept``/``nreject``: None,
    scipy does not count them)."""
    import scipy.integrate
    events = [e for e, _, _ in event_list] or None
    rtol = float(np.ravel(rtol)[0])  # uniform (checked by the caller); scipy takes a scalar
    res = scipy.integrate.solve_ivp(fun, (t0, t1), y0_real.copy(), method=method,
                                    t_eval=t_eval_arr, dense_output=dense_output, events=events,
                                    vectorized=vectorized, args=args or None, rtol=rtol,
                                    atol=atol, **options)
    out = OdeResult(**res)
    out.naccept = out.nreject = None
    return out


def solve_implicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
                   dense_output, event_list, vectorized, options):
    """solve_ivp for an implicit method (called by fastode.ivp.solve_ivp after the common
    validation of t_span, y0, rtol/atol, t_eval and events)."""
    scipy_options = dict(options)
    driver, call_args, compiled, min_step, max_steps, kl = _prepare(
        fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
        dense_output, event_list, vectorized, options)
    if (compiled[0].python_callback and chosen.name in SCIPY_DELEGATE
            and y0_real.size >= SCIPY_DELEGATE_MIN_SIZE and not is_complex
            and set(scipy_options) <= _SCIPY_OPTIONS and np.ptp(rtol) == 0
            and (driver not in BANDED or kl < 0)):
        res = _scipy_solve(fun, SCIPY_DELEGATE[chosen.name], t0, t1, y0_real, args, rtol,
                           atol, t_eval_arr, dense_output, event_list, vectorized,
                           scipy_options)
        res.linear_solver = "scipy"
        return res
    forget_stale_failures(compiled)
    (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index, n_ev,
     counters) = driver.driver(*call_args)
    status = int(status)
    if (status in KRYLOV_RETRY and kl == KL_KRYLOV and "linear_solver" not in scipy_options
            and not any(c.errors or (c.failure is not None and c.failure.flag[0])
                        for c in compiled)):
        # Newton-Krylov was "auto"'s choice and failed: the sparse LU, which fails only where
        # Newton itself does, solves it again
        res = solve_implicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                             t_eval_arr, dense_output, event_list, vectorized,
                             dict(scipy_options, linear_solver="sparse"))
        res.message += (f" (Newton-Krylov failed with status {status}; solved again with the "
                        "sparse LU)")
        return res
    for c in compiled:
        if c.errors or (c.failure is not None and c.failure.flag[0]):
            # fun, jac or an event raised (or returned a wrong shape): re-raise it, as scipy
            raise_failures(compiled, args, 1.0 if t1 >= t0 else -1.0)
    m = y0_real.size
    message = IMPLICIT_MESSAGES.get(status, f"Integration failed (status {status}) near t={{t}}.")
    if status == st.STEP_TOO_SMALL and min_step > 0:
        message = MIN_STEP_MESSAGE.format(min_step=min_step)
    if driver in FIXED_STEP_DRIVERS.values() and status in (NEWTON_FAILED, SINGULAR,
                                                              st.NON_FINITE):
        # no smaller step is tried with a fixed `step`: say so, and what to do
        message = (FIXED_STEP_FAILED[status] + " near t={t} with the fixed step; use a smaller "
                   "`step` or the adaptive method (no `step`).")
    if "{" in message:
        message = message.format(max_steps=max_steps, t=float(counters[3]))
    q = (seg_data.shape[1] // m - 1) if seg_data.shape[0] else 1
    res = shape_result(status, message, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
                       ev_t, ev_y, ev_index, n_ev, counters, t0, y0_real, n, is_complex, q,
                       dense_output, len(event_list),
                       0 if any(c.reason == CONSTANT_JAC for c in compiled) else int(counters[4]),
                       int(counters[5]))
    res.linear_solver = linear_solver_name(kl)
    if kl == KL_KRYLOV:
        res.nli = int(counters[7])  # GMRES iterations (J v products), as CVODE's nli
    return res


def kernel_call(fun, t_span, y0, method, t_eval=None, args=(), **options):
    """The compiled driver and the exact arguments ``fastode.solve_ivp`` would call it with.

    For benchmarks and numba users who want the kernel alone: ``driver(*call_args)`` returns
    the implicit driver contract's 13-tuple (module docstring) and can be called in a loop,
    from Python or from an ``@njit`` function. ``keep`` holds the compiled user functions whose
    addresses are in ``call_args``: keep it alive while calling. Real ``y0`` only.

    Returns
    -------
    (driver, call_args, keep)
    """
    chosen = method_registry.lookup(method)
    t0, t1 = validate_t_span(t_span)
    y0_real, n, is_complex = validate_y0(y0)
    if is_complex:
        raise ValueError("kernel_call takes a real `y0`.")
    rtol, atol = validate_tolerances(options.pop("rtol", 1e-3), options.pop("atol", 1e-6), n,
                                     False)
    driver, call_args, compiled, _, _, _ = _prepare(
        fun, chosen, t0, t1, y0_real, n, False, tuple(args), rtol, atol,
        validate_t_eval(t_eval, t0, t1), False, [], False, options)
    # the compiled family driver itself, its coefficients leading call_args
    return driver.driver, call_args, tuple(compiled)
