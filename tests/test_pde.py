"""fastode.pde: method-of-lines problems against exact solutions, their Jacobian sparsity, and
input checks (issue #15)."""
import numpy as np
import pytest

import fastode
from fastode import pde

TIGHT = dict(rtol=1e-10, atol=1e-12)


def fourier_heat(x, t, alpha, terms=400):
    """u_t = alpha u_xx on (0, 1), u = 0 at both ends, u(x, 0) = x (1 - x): its Fourier series
    sum over odd k of 8 / (pi k)^3 sin(k pi x) exp(-alpha (k pi)^2 t)."""
    k = np.arange(1, 2 * terms, 2)[:, None]
    terms = 8.0 / (np.pi * k) ** 3 * np.sin(k * np.pi * x) * np.exp(-alpha * (k * np.pi) ** 2 * t)
    return np.sum(terms, axis=0)


def test_heat_dirichlet_second_order_against_fourier_series():
    alpha, T = 0.5, 0.2
    errors, steps = [], []
    for n in (9, 19, 39):  # dx = 1/10, 1/20, 1/40
        prob = pde.heat_1d(n, alpha, bc="dirichlet", u0=lambda x: x * (1.0 - x))
        sol = prob.solve((0.0, T), **TIGHT)
        assert sol.success
        x = prob.grid[0]
        errors.append(np.max(np.abs(sol.y[:, -1] - fourier_heat(x, T, alpha))))
        steps.append(x[1] - x[0])
    orders = np.log(np.array(errors[:-1]) / errors[1:]) / np.log(np.array(steps[:-1]) / steps[1:])
    assert np.all((orders > 1.9) & (orders < 2.1)), (errors, orders)
    assert errors[-1] < 1e-4


def test_heat_dirichlet_values_reach_linear_steady_state():
    prob = pde.heat_1d(20, 1.0, bc_values=(1.0, 3.0), u0=lambda x: 0.0 * x)
    sol = prob.solve((0.0, 5.0), **TIGHT)
    x = prob.grid[0]
    assert x[0] > 0 and x[-1] < 1  # Dirichlet ends are not unknowns
    np.testing.assert_allclose(sol.y[:, -1], 1.0 + 2.0 * x, rtol=0, atol=1e-8)


def test_neumann_conserves_integral():
    prob = pde.heat_1d(41, 0.3, bc="neumann", u0=lambda x: 1.0 + np.cos(np.pi * x) + x ** 3)
    x = prob.grid[0]
    assert x[0] == 0.0 and x[-1] == 1.0  # Neumann ends are unknowns
    w = np.full(x.size, x[1] - x[0])
    w[[0, -1]] /= 2  # trapezoid rule: the discrete Laplacian with mirrored ghosts conserves it
    sol = prob.solve((0.0, 2.0), **TIGHT)
    start, end = w @ prob.y0, w @ sol.y[:, -1]
    assert np.ptp(sol.y[:, -1]) < 0.05 * np.ptp(prob.y0)  # it did diffuse
    assert abs(end - start) < 1e-8 * abs(start)


def test_neumann_slope_values():
    # u_t = u_xx, u_x = 1 at both ends: u = x + const is steady; from u0 = x it stays there
    prob = pde.heat_1d(10, 1.0, bc="neumann", bc_values=(1.0, 1.0), u0=lambda x: x)
    sol = prob.solve((0.0, 1.0), **TIGHT)
    np.testing.assert_allclose(sol.y[:, -1], prob.grid[0], atol=1e-9)


def test_periodic_2d_fourier_mode():
    alpha, T = 0.05, 0.5
    kx, ky = 2.0 * np.pi, 2.0 * np.pi  # one period along x on [0, 1], two along y on [0, 2]
    prob = pde.reaction_diffusion_2d(24, 20, None, alpha, "periodic", domain=((0, 1), (0, 2)),
                                     u0=lambda X, Y: np.sin(kx * X) * np.cos(ky * Y))
    sol = prob.solve((0.0, T), **TIGHT)
    assert sol.success
    (x, y), u = prob.grid, prob.fields(sol.y[:, -1])[0]
    hx, hy = x[1] - x[0], y[1] - y[0]
    mode = np.sin(kx * x)[None, :] * np.cos(ky * y)[:, None]
    assert u.shape == (20, 24)
    # the semi-discrete decay rate: the integrator alone
    lam = alpha * (4 / hx ** 2 * np.sin(kx * hx / 2) ** 2
                   + 4 / hy ** 2 * np.sin(ky * hy / 2) ** 2)
    np.testing.assert_allclose(u, np.exp(-lam * T) * mode, rtol=0, atol=1e-8)
    # the PDE: exp(-alpha k^2 t), up to the O(h^2) error of the five-point Laplacian
    exact = np.exp(-alpha * (kx ** 2 + ky ** 2) * T) * mode
    # lam = alpha (k^2 - (kx^4 hx^2 + ky^4 hy^2) / 12 + O(h^4)): the leading error term
    lead = (np.exp(-alpha * (kx ** 2 + ky ** 2) * T) * alpha * T
            * (kx ** 4 * hx ** 2 + ky ** 4 * hy ** 2) / 12)
    err = np.max(np.abs(u - exact))
    assert 0.9 * lead < err < 1.1 * lead


def fd_jacobian(fun, y, eps=1e-6):
    f0 = fun(0.3, y)
    J = np.empty((f0.size, y.size))
    for j in range(y.size):
        yp = y.copy()
        yp[j] += eps
        J[:, j] = fun(0.3, yp) - f0
    return J


def _rx(t, c):
    out = np.empty_like(c)
    out[0] = c[0] * c[1] - c[0]
    out[1] = c[0] ** 2 + 0.5 * c[1]
    return out


def _rx_diag(t, c):
    return -c ** 3


CASES = {
    "1d dirichlet": lambda: pde.heat_1d(7, 1.0),
    "1d neumann": lambda: pde.heat_1d(7, 1.0, bc="neumann"),
    "1d periodic": lambda: pde.heat_1d(7, 1.0, bc="periodic"),
    "1d mixed + advection": lambda: pde.heat_1d(7, 0.5, bc=("neumann", "dirichlet"), velocity=2.0),
    "1d pure upwind": lambda: pde.reaction_diffusion_1d(7, None, 0.0, "periodic", velocity=-1.0),
    # the low Neumann end reads node 1 through its ghost, though no node reads its right side
    "1d upwind neumann": lambda: pde.reaction_diffusion_1d(7, None, 0.0, "neumann", velocity=1.0),
    "1d two species": lambda: pde.reaction_diffusion_1d(6, _rx, (1.0, 0.2), "neumann"),
    "2d brusselator": lambda: pde.brusselator_2d(5),
    "2d mixed": lambda: pde.reaction_diffusion_2d(4, 5, _rx_diag, 0.3, ("periodic", "neumann"),
                                                  velocity=(1.0, -0.5)),
    "2d dirichlet decoupled": lambda: pde.reaction_diffusion_2d(
        5, 3, _rx, (1.0, 0.0), ("dirichlet", ("neumann", "dirichlet")),
        coupling=[[True, True], [True, True]]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sparsity_equals_finite_difference_nonzeros(case):
    prob = CASES[case]()
    y = np.random.default_rng(1).uniform(0.5, 1.5, prob.n)
    J = fd_jacobian(prob.fun, y)
    pattern = prob.jac_sparsity.toarray() != 0
    np.testing.assert_array_equal(J != 0, pattern)
    rows, cols = np.nonzero(pattern)
    assert prob.lband == max(0, (rows - cols).max()) and prob.uband == max(0, (cols - rows).max())


def test_band_of_1d_heat():
    prob = pde.heat_1d(30, 1.0, bc="neumann")
    assert (prob.lband, prob.uband) == (1, 1)


def test_brusselator_fastode_matches_scipy():
    import scipy.integrate
    prob = pde.brusselator_2d(8)
    assert prob.n == 128
    u, v = prob.fields(prob.y0)
    x, y = prob.grid
    np.testing.assert_allclose(u, np.broadcast_to((22 * y * (1 - y) ** 1.5)[:, None], (8, 8)))
    np.testing.assert_allclose(v, np.broadcast_to(27 * x * (1 - x) ** 1.5, (8, 8)))
    opts = dict(rtol=1e-8, atol=1e-10, jac_sparsity=prob.jac_sparsity)
    ours = fastode.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, method="BDF", **opts)
    ref = scipy.integrate.solve_ivp(prob.fun, (0.0, 1.5), prob.y0, method="BDF", **opts)
    assert ours.success and ref.success
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("call, name", [
    (lambda: pde.heat_1d(2, 1.0), "n"),
    (lambda: pde.heat_1d(2.5, 1.0), "n"),
    (lambda: pde.heat_1d(10, -1.0), "alpha"),
    (lambda: pde.heat_1d(10, float("nan")), "alpha"),
    (lambda: pde.heat_1d(10, 1.0, bc="robin"), "bc"),
    (lambda: pde.heat_1d(10, 1.0, bc=("periodic", "dirichlet")), "bc"),
    (lambda: pde.heat_1d(10, 1.0, domain=(1.0, 0.0)), "domain"),
    (lambda: pde.heat_1d(10, 1.0, bc="periodic", bc_values=(1, 1)), "bc_values"),
    (lambda: pde.heat_1d(10, 1.0, u0=np.ones(11)), "u0"),
    (lambda: pde.reaction_diffusion_2d(3, 2), "ny"),
    (lambda: pde.reaction_diffusion_2d(1, 5), "nx"),
    (lambda: pde.reaction_diffusion_2d(4, 4, diffusion=(1.0, -0.1)), "diffusion"),
    (lambda: pde.reaction_diffusion_2d(4, 4, bc="absorbing"), "bc"),
    (lambda: pde.reaction_diffusion_2d(4, 4, reaction=3.0), "reaction"),
    (lambda: pde.reaction_diffusion_1d(4, _rx, (1.0, 1.0), coupling=np.ones((3, 3))), "coupling"),
    (lambda: pde.brusselator_2d(2), "n"),
    (lambda: pde.brusselator_2d(8, alpha=-0.02), "alpha"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


@pytest.mark.parametrize("bc", [("neumann", "dirichlet"), ("dirichlet", "neumann")])
def test_2d_neumann_dirichlet_mode(bc):
    # cos(pi s) on a Neumann axis (ends are nodes, mirrored ghosts) and sin(pi s) on a Dirichlet
    # axis (interior nodes) are eigenvectors of the discrete Laplacian: the integrator alone
    alpha, T = 0.1, 0.4
    prob = pde.reaction_diffusion_2d(9, 11, None, alpha, bc)
    (x, y) = prob.grid

    def shape(s, kind):
        return np.cos(np.pi * s) if kind == "neumann" else np.sin(np.pi * s)
    mode = shape(x, bc[0])[None, :] * shape(y, bc[1])[:, None]
    sol = fastode.solve_ivp(prob.fun, (0.0, T), mode.ravel(), method="BDF",
                            jac_sparsity=prob.jac_sparsity, **TIGHT)
    hx, hy = x[1] - x[0], y[1] - y[0]
    lam = alpha * (4 / hx ** 2 * np.sin(np.pi * hx / 2) ** 2
                   + 4 / hy ** 2 * np.sin(np.pi * hy / 2) ** 2)
    np.testing.assert_allclose(prob.fields(sol.y[:, -1])[0], np.exp(-lam * T) * mode, atol=1e-9)


@pytest.mark.parametrize("v", [1.5, -0.7])
def test_upwind_advection_mode(v):
    # u_t + v u_x = 0, periodic: sin(k x) is the imaginary part of an eigenvector of the upwind
    # operator with eigenvalue -v (1 - exp(-i k h)) / h (v > 0; mirrored for v < 0)
    n, k, T = 40, 2 * np.pi, 0.3
    prob = pde.reaction_diffusion_1d(n, None, 0.0, "periodic", velocity=v,
                                     u0=lambda x: np.sin(k * x))
    x = prob.grid[0]
    h = x[1] - x[0]
    lam = -v * (1 - np.exp(-1j * k * h)) / h if v > 0 else -v * (np.exp(1j * k * h) - 1) / h
    sol = prob.solve((0.0, T), **TIGHT)
    np.testing.assert_allclose(sol.y[:, -1], np.imag(np.exp(lam * T) * np.exp(1j * k * x)),
                               atol=1e-9)
    assert abs(sol.y[:, -1].sum()) < 1e-9  # mass (zero here) is conserved


def _logistic(t, c):
    # a user reaction: plain Python, compiled by fastode with the problem's RHS
    return c * (1.0 - c)


def test_user_reaction_is_compiled_and_matches_scipy():
    import warnings
    import scipy.integrate
    prob = pde.reaction_diffusion_1d(30, _logistic, 0.01, "neumann",
                                     u0=lambda x: 0.1 + 0.8 * np.exp(-50 * (x - 0.3) ** 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)  # no Python fallback
        ours = prob.solve((0.0, 2.0), rtol=1e-8, atol=1e-10)
    ref = scipy.integrate.solve_ivp(prob.fun, (0.0, 2.0), prob.y0, method="BDF", rtol=1e-8,
                                    atol=1e-10, jac_sparsity=prob.jac_sparsity)
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], rtol=1e-5)
