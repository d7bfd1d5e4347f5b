"""Method-of-lines problems: a reaction–diffusion(–advection) system on a 1-D or 2-D grid as an
ODE system ``y' = fun(t, y)`` for :func:`fastode.solve_ivp`, with its Jacobian sparsity.

``fun`` is a plain Python function that fastode compiles with numba (scipy can call it as it is:
its stencil is an already compiled numba function, the reaction runs vectorised over the grid).
"""
import numpy as np
import scipy.sparse
from numba import njit

from .grid import NONE, PERIODIC, axis_nodes, check_domain, check_nonnegative, check_size, \
    parse_bc
from .stencil import add_transport, transport_pattern


class MOLProblem:
    """A semi-discrete PDE: ``y' = fun(t, y)`` on a grid, ready for :func:`fastode.solve_ivp`.

    Attributes
    ----------
    fun : callable
        ``fun(t, y) -> dydt`` (numba-compilable; fastode compiles it, scipy runs it as it is).
    y0 : ndarray
        Initial state, natural layout: species by species, each a grid in row-major order
        (``y[s * N + j * nx + i]`` is species s at ``(x[i], y[j])``).
    jac_sparsity : scipy.sparse.csc_matrix
        The structural nonzeros of ``d fun / d y``.
    lband, uband : int
        Lower and upper bandwidth of ``jac_sparsity`` (narrow only for a 1-D single species with
        non-periodic ends; pass them to LSODA, or leave it to ``jac_sparsity``).
    grid : tuple of ndarray
        Node coordinates per axis: ``(x,)`` in 1-D, ``(x, y)`` in 2-D.
    shape : tuple
        ``(m, n)`` in 1-D, ``(m, ny, nx)`` in 2-D (m species).

    Examples
    --------
    >>> import numpy as np, fastode
    >>> from fastode import pde
    >>> prob = pde.heat_1d(31, alpha=0.5)
    >>> prob.jac_sparsity.shape, prob.lband, prob.uband        # tridiagonal
    ((31, 31), 1, 1)
    >>> sol = fastode.solve_ivp(prob.fun, (0.0, 0.1), np.sin(np.pi * prob.grid[0]),
    ...                         method="BDF", lband=prob.lband, uband=prob.uband)
    >>> sol.success
    True
    """

    def __init__(self, fun, y0, jac_sparsity, grid, shape, description):
        self.fun = fun
        self.y0 = y0
        self.jac_sparsity = jac_sparsity
        coo = jac_sparsity.tocoo()
        self.lband = int(max(0, (coo.row - coo.col).max(initial=0)))
        self.uband = int(max(0, (coo.col - coo.row).max(initial=0)))
        self.grid = grid
        self.shape = shape
        self.description = description

    @property
    def n(self):
        """Number of unknowns."""
        return self.y0.size

    def fields(self, y):
        """``y`` (one state, or states in columns as ``sol.y``) as arrays of ``shape`` (and a
        trailing time axis)."""
        y = np.asarray(y)
        return y.reshape(self.shape + y.shape[1:])

    def solve(self, t_span, method="BDF", **options):
        """:func:`fastode.solve_ivp` of this problem from ``y0`` with its ``jac_sparsity``
        (``options`` go to solve_ivp and may override it)."""
        from ..ivp import solve_ivp
        if "jac" not in options:
            options.setdefault("jac_sparsity", self.jac_sparsity)
        return solve_ivp(self.fun, t_span, self.y0, method=method, **options)

    def __repr__(self):
        return f"MOLProblem({self.description}, n={self.n}, nnz={self.jac_sparsity.nnz})"


def _species_values(value, m, name, check=None):
    """A scalar or a length-m sequence -> float64 array of length m."""
    arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if arr.size == 1:
        arr = np.full(m, arr[0])
    if arr.size != m:
        raise ValueError(f"{name} must be a scalar or have one value per species ({m}), "
                         f"got {value!r}")
    if check is not None:
        arr = np.array([check(v, name) for v in arr])
    elif not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def _make_fun(reaction, source, m, nx, ny, diff, hx, hy, cx, cy, g, vx, vy, x):
    """The RHS closure. Its numeric cells (sizes, codes, coefficient arrays) are run-time values
    for fastode's compiler; ``reaction``/``source`` are compiled with it."""
    bxl, bxh = cx
    byl, byh = cy
    gxl, gxh, gyl, gyh = g
    npts = nx * ny
    size = m * npts
    if reaction is None and source is None:
        def fun(t, y):
            out = np.zeros(size)
            add_transport(out, y, m, nx, ny, diff, hx, hy, bxl, bxh, byl, byh,
                          gxl, gxh, gyl, gyh, vx, vy)
            return out
    elif reaction is None:
        def fun(t, y):
            out = np.empty(size)
            out[:] = source(t, x)
            add_transport(out, y, m, nx, ny, diff, hx, hy, bxl, bxh, byl, byh,
                          gxl, gxh, gyl, gyh, vx, vy)
            return out
    else:
        def fun(t, y):
            out = np.empty(size)
            out.reshape((m, npts))[:, :] = reaction(t, y.reshape((m, npts)))
            add_transport(out, y, m, nx, ny, diff, hx, hy, bxl, bxh, byl, byh,
                          gxl, gxh, gyl, gyh, vx, vy)
            return out
    return fun


def _pattern(m, nx, ny, cx, cy, diff, vx, vy, coupling):
    """jac_sparsity: each species' transport stencil plus the reaction's coupling between species
    at the same node."""
    npts = nx * ny
    rows, cols = [], []
    for s in range(m):
        r, c = transport_pattern(nx, ny, cx, cy, diff[s], vx[s], vy[s])
        rows.append(r + s * npts)
        cols.append(c + s * npts)
    node = np.arange(npts)
    for a in range(m):
        for b in range(m):
            if a != b and coupling[a, b]:
                rows.append(node + a * npts)
                cols.append(node + b * npts)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    pat = scipy.sparse.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(m * npts,) * 2)
    pat = pat.tocsc()
    pat.data[:] = 1.0  # duplicates were summed
    return pat


def _coupling(coupling, reaction, m):
    if coupling is None:
        return np.ones((m, m), bool) if reaction is not None else np.eye(m, dtype=bool)
    c = np.asarray(coupling, dtype=bool)
    if c.shape != (m, m):
        raise ValueError(f"coupling must be a ({m}, {m}) boolean matrix, got shape {c.shape}")
    return c


def _initial(u0, m, coords, grid_shape, name="u0"):
    """u0: a callable of the coordinates, an array, or None (zeros) -> flat float64 state."""
    if u0 is None:
        return np.zeros(m * int(np.prod(grid_shape)))
    values = np.asarray(u0(*coords) if callable(u0) else u0, dtype=float)
    try:
        arr = np.broadcast_to(values, (m,) + grid_shape)
    except ValueError:
        raise ValueError(f"{name} must give an array of shape {(m,) + grid_shape} (or one "
                         f"species' grid), got {values.shape}") from None
    return np.ascontiguousarray(arr, dtype=float).ravel().copy()


def reaction_diffusion_1d(n, reaction=None, diffusion=1.0, bc="dirichlet", domain=(0.0, 1.0),
                          u0=None, bc_values=None, velocity=0.0, coupling=None, source=None):
    """A 1-D reaction–diffusion–advection system by the method of lines.

    ``c_s' = reaction(t, c)_s + D_s c_s,xx - v_s c_s,x`` for m species on ``domain``, second-order
    central differences for ``c_xx``, first-order upwind differences for ``c_x``.

    Parameters
    ----------
    n : int
        Unknowns per species (>= 3). Node placement: a Dirichlet end is not an unknown, a Neumann
        end is, a periodic domain keeps its left end (fastode.pde.grid).
    reaction : callable, optional
        ``reaction(t, c) -> array (m, n)`` with ``c`` of shape (m, n), vectorised over the nodes,
        numba-compilable (numpy operations). None: no reaction.
    diffusion : float or sequence of float
        Diffusivities D_s >= 0; its length sets m (a scalar: one species).
    bc : str or (str, str)
        ``"dirichlet"``, ``"neumann"``, ``"periodic"``, or a pair (left, right).
    domain : (float, float)
        The interval.
    u0 : callable, array or None
        Initial state: ``u0(x)`` giving (n,) or (m, n), an array, or None (zeros).
    bc_values : (left, right), optional
        Dirichlet values, or Neumann slopes du/dx, at the ends (scalars or one per species);
        default zero.
    velocity : float or sequence of float
        Advection velocities v_s (upwind differences).
    coupling : (m, m) bool array, optional
        Which species each reaction rate depends on (default: all, with a reaction).
    source : callable, optional
        ``source(t, x) -> array (n,)`` added to a single species (instead of ``reaction``).

    Returns
    -------
    MOLProblem

    Examples
    --------
    Fisher-KPP ``u_t = u (1 - u) + D u_xx`` with zero-flux ends: the population fills the domain.

    >>> import numpy as np
    >>> from fastode import pde
    >>> def growth(t, c):
    ...     return c * (1.0 - c)
    >>> prob = pde.reaction_diffusion_1d(50, growth, diffusion=1e-3, bc="neumann",
    ...                                  u0=lambda x: np.where(x < 0.1, 1.0, 0.0))
    >>> sol = prob.solve((0.0, 40.0), rtol=1e-6, atol=1e-9)
    >>> bool(sol.success and sol.y[:, -1].min() > 0.9)
    True
    """
    n = check_size(n, "n")
    diff = np.atleast_1d(np.asarray(diffusion, dtype=float)).ravel()
    m = diff.size
    diff = _species_values(diffusion, m, "diffusion", check_nonnegative)
    codes = parse_bc(bc, "bc")
    lo, hi = check_domain(domain)
    if reaction is not None and not callable(reaction):
        raise ValueError(f"reaction must be callable or None, got {reaction!r}")
    if source is not None and (not callable(source) or reaction is not None or m != 1):
        raise ValueError("source must be a callable source(t, x), for one species and no "
                         "reaction")
    vx = _species_values(velocity, m, "velocity")
    left, right = (0.0, 0.0) if bc_values is None else bc_values
    gl = _species_values(left, m, "bc_values")
    gr = _species_values(right, m, "bc_values")
    if codes[0] == PERIODIC and bc_values is not None:
        raise ValueError("bc_values apply to Dirichlet or Neumann ends, not with bc='periodic'")
    x, h = axis_nodes(n, lo, hi, codes)
    zeros = np.zeros(m)
    fun = _make_fun(reaction, source, m, n, 1, diff, h, 1.0, codes, (NONE, NONE),
                    (gl, gr, zeros, zeros), vx, zeros.copy(), x)
    pat = _pattern(m, n, 1, codes, (NONE, NONE), diff, vx, zeros,
                   _coupling(coupling, reaction, m))
    y0 = _initial(u0, m, (x,), (n,))
    return MOLProblem(fun, y0, pat, (x,), (m, n), f"1-D, {m} species, n={n}")


def heat_1d(n, alpha, bc="dirichlet", u0=None, domain=(0.0, 1.0), bc_values=None, source=None,
            velocity=0.0):
    """The heat equation ``u_t = alpha u_xx (+ source(t, x)) (- v u_x)`` by the method of lines.

    Parameters
    ----------
    n : int
        Unknowns (>= 3).
    alpha : float
        Diffusivity (>= 0).
    bc : str or (str, str)
        ``"dirichlet"``, ``"neumann"``, ``"periodic"``, or a pair (left, right).
    u0 : callable or array, optional
        ``u0(x)``; default ``sin(pi (x - a) / (b - a))`` (the lecture's initial state).
    domain, bc_values, source, velocity
        As in :func:`reaction_diffusion_1d`.

    Returns
    -------
    MOLProblem

    Examples
    --------
    ``u_t = u_xx`` with ``u(x, 0) = sin(pi x)`` and zero ends: ``u = exp(-pi^2 t) sin(pi x)``.

    >>> import numpy as np
    >>> from fastode import pde
    >>> prob = pde.heat_1d(63, alpha=1.0, u0=lambda x: np.sin(np.pi * x))
    >>> sol = prob.solve((0.0, 0.1), rtol=1e-8, atol=1e-10)
    >>> x = prob.grid[0]
    >>> bool(np.abs(sol.y[:, -1] - np.exp(-np.pi ** 2 * 0.1) * np.sin(np.pi * x)).max() < 1e-4)
    True
    """
    alpha = check_nonnegative(alpha, "alpha")
    lo, hi = check_domain(domain)
    if u0 is None:
        def u0(x):
            return np.sin(np.pi * (x - lo) / (hi - lo))
    return reaction_diffusion_1d(n, None, alpha, bc, (lo, hi), u0, bc_values, velocity,
                                 source=source)


def reaction_diffusion_2d(nx, ny, reaction=None, diffusion=1.0, bc="periodic",
                          domain=((0.0, 1.0), (0.0, 1.0)), u0=None, velocity=(0.0, 0.0),
                          coupling=None):
    """A 2-D reaction–diffusion–advection system by the method of lines (five-point Laplacian).

    ``c_s' = reaction(t, c)_s + D_s lap c_s - (vx_s, vy_s) . grad c_s`` on a rectangle, with
    zero Dirichlet values or zero Neumann slopes at non-periodic sides.

    Parameters
    ----------
    nx, ny : int
        Unknowns per species along x and y (>= 3 each).
    reaction : callable, optional
        ``reaction(t, c) -> array (m, nx * ny)``, ``c`` of shape (m, nx * ny) (natural layout,
        x fastest), numba-compilable.
    diffusion : float or sequence of float
        Diffusivities (its length sets the number of species m).
    bc : str or (bc_x, bc_y)
        One condition for all sides, or one per axis (each a string or a (low, high) pair).
    domain : ((x0, x1), (y0, y1))
    u0 : callable, array or None
        ``u0(X, Y)`` on the (ny, nx) meshgrid giving (ny, nx) or (m, ny, nx); an array; or zeros.
    velocity : (vx, vy)
        Advection velocities (scalars or one per species), upwind differences.
    coupling : (m, m) bool array, optional
        As in :func:`reaction_diffusion_1d`.

    Returns
    -------
    MOLProblem

    Examples
    --------
    Pure diffusion of a periodic bump conserves its total:

    >>> import numpy as np
    >>> from fastode import pde
    >>> prob = pde.reaction_diffusion_2d(8, 8, diffusion=0.01, bc="periodic",
    ...                                  u0=lambda x, y: 1.0 + np.cos(2 * np.pi * x))
    >>> sol = prob.solve((0.0, 1.0), rtol=1e-8, atol=1e-10)
    >>> prob.fields(sol.y[:, -1]).shape, bool(abs(sol.y[:, -1].sum() - prob.y0.sum()) < 1e-8)
    ((1, 8, 8), True)
    """
    nx, ny = check_size(nx, "nx"), check_size(ny, "ny")
    diff = np.atleast_1d(np.asarray(diffusion, dtype=float)).ravel()
    m = diff.size
    diff = _species_values(diffusion, m, "diffusion", check_nonnegative)
    if isinstance(bc, str):
        cx = cy = parse_bc(bc, "bc")
    else:
        try:
            bcx, bcy = bc
        except (TypeError, ValueError):
            raise ValueError(f"bc must be a string or a pair (bc_x, bc_y), got {bc!r}") from None
        cx, cy = parse_bc(bcx, "bc"), parse_bc(bcy, "bc")
    try:
        dx_, dy_ = domain
    except (TypeError, ValueError):
        raise ValueError(f"domain must be ((x0, x1), (y0, y1)), got {domain!r}") from None
    (x0, x1), (y0, y1) = check_domain(dx_, "domain"), check_domain(dy_, "domain")
    if reaction is not None and not callable(reaction):
        raise ValueError(f"reaction must be callable or None, got {reaction!r}")
    try:
        vel_x, vel_y = velocity
    except (TypeError, ValueError):
        raise ValueError(f"velocity must be a pair (vx, vy), got {velocity!r}") from None
    vx, vy = _species_values(vel_x, m, "velocity"), _species_values(vel_y, m, "velocity")
    x, hx = axis_nodes(nx, x0, x1, cx)
    y, hy = axis_nodes(ny, y0, y1, cy)
    zeros = np.zeros(m)
    fun = _make_fun(reaction, None, m, nx, ny, diff, hx, hy, cx, cy,
                    (zeros, zeros.copy(), zeros.copy(), zeros.copy()), vx, vy, x)
    pat = _pattern(m, nx, ny, cx, cy, diff, vx, vy, _coupling(coupling, reaction, m))
    X, Y = np.meshgrid(x, y)
    y0_ = _initial(u0, m, (X, Y), (ny, nx))
    return MOLProblem(fun, y0_, pat, (x, y), (m, ny, nx), f"2-D, {m} species, {nx}x{ny}")


@njit(cache=True, nogil=True, error_model="numpy")
def _brusselator(t, c):
    # compiled here: fastode compiles user helpers, not functions of its own modules
    u = c[0]
    v = c[1]
    uuv = u * u * v
    out = np.empty_like(c)
    out[0] = 1.0 + uuv - 4.4 * u
    out[1] = 3.4 * u - uuv
    return out


def brusselator_2d(n, alpha=0.02):
    """The 2-D Brusselator on the periodic unit square (Hairer & Wanner II, IV.10, without the
    t >= 1.1 source pulse): ``u' = 1 + u^2 v - 4.4 u + alpha lap u``,
    ``v' = 3.4 u - u^2 v + alpha lap v``, ``u(x, y, 0) = 22 y (1 - y)^1.5``,
    ``v(x, y, 0) = 27 x (1 - x)^1.5``, on an n x n grid (nodes i / n), natural [u, v] layout.

    Returns
    -------
    MOLProblem
        2 n^2 unknowns; integrate over t in [0, 1.5] as in the benchmarks.

    Examples
    --------
    >>> from fastode import pde
    >>> bruss = pde.brusselator_2d(8)
    >>> bruss.y0.shape, bruss.shape
    ((128,), (2, 8, 8))
    >>> sol = bruss.solve((0.0, 0.5), rtol=1e-5, atol=1e-8)
    >>> u, v = bruss.fields(sol.y[:, -1])
    >>> sol.success, u.shape
    (True, (8, 8))
    """
    n = check_size(n, "n")
    alpha = check_nonnegative(alpha, "alpha")

    def u0(X, Y):
        return np.stack([22.0 * Y * (1.0 - Y) ** 1.5, 27.0 * X * (1.0 - X) ** 1.5])
    prob = reaction_diffusion_2d(n, n, _brusselator, (alpha, alpha), "periodic", u0=u0)
    prob.description = f"2-D Brusselator, {n}x{n}, alpha={alpha}"
    return prob
