"""fastode.pinn: the heat-equation PINN (issue #15). Skipped without torch."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastode import pinn  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_short_training_reaches_stated_error():
    problem = pinn.lecture_problem()
    res = pinn.train(problem, n_points=400, adam_steps=100, lbfgs_steps=100, seed=0)
    assert res.stop_reason in ("gradient tolerance", "no progress", "iteration limit")
    assert res.adam_steps == 100 and 0 < res.lbfgs_iterations <= 100
    assert res.loss.size > 100 and res.loss[-1] < res.loss[0] * 1e-3
    assert next(res.model.parameters()).dtype == torch.float64
    ev = pinn.evaluate(res.model, n_mol=63, nt=41, verbose=False)
    assert ev["pinn_vs_exact"] < 2e-4            # measured 2.9e-5 .. 3.7e-5, seeds 0-2
    assert ev["mol_vs_exact"] < 1e-4             # the reference itself, O(dx^2): 4.2e-5
    assert abs(ev["pinn_vs_mol"] - ev["pinn_vs_exact"]) < 2 * ev["mol_vs_exact"]
    # the initial state and the zero ends hold by construction
    np.testing.assert_allclose(ev["pinn"][0], np.sin(np.pi * ev["x"]), atol=1e-12)
    np.testing.assert_allclose(ev["pinn"][:, [0, -1]], 0.0, atol=1e-12)


def test_soft_neumann_with_source_trains():
    # u_t = a u_xx + s with u_x = 0 at both ends; exact u = exp(-t) cos(pi x) + t
    a = 0.1

    def u0(x):
        return torch.cos(math.pi * x) if isinstance(x, torch.Tensor) else np.cos(np.pi * x)

    def source(x, t):
        lib = torch if isinstance(x, torch.Tensor) else np
        return (a * math.pi ** 2 - 1.0) * lib.exp(-t) * lib.cos(math.pi * x) + 1.0

    problem = pinn.HeatPINNProblem(a, u0, bc="neumann", source=source,
                                   exact=lambda x, t: np.exp(-t) * np.cos(np.pi * x) + t)
    res = pinn.train(problem, n_points=400, adam_steps=150, lbfgs_steps=150, sampling="adaptive",
                     resample_every=50, constraints="soft", seed=1)
    ev = pinn.evaluate(res.model, n_mol=63, nt=41, verbose=False)
    assert ev["mol_vs_exact"] < 1e-3
    assert ev["pinn_vs_exact"] < 1e-2  # measured 7.0e-4 (seed 1), 2.0e-3 (seed 2)


def test_residual_matches_finite_differences():
    torch.manual_seed(3)

    def source(x, t):
        return x * t

    problem = pinn.HeatPINNProblem(0.7, lambda x: torch.sin(math.pi * x), source=source)
    model = pinn.HeatPINN(problem, width=8, depth=2).double()
    x = torch.tensor([0.13, 0.5, 0.91], dtype=torch.float64)
    t = torch.tensor([0.2, 0.77, 0.45], dtype=torch.float64)
    r, ux = pinn.residual(model)(x, t)
    h = 1e-3
    with torch.no_grad():
        u = model(x, t)
        ut_fd = (model(x, t + h) - model(x, t - h)) / (2 * h)
        ux_fd = (model(x + h, t) - model(x - h, t)) / (2 * h)
        uxx_fd = (model(x + h, t) - 2 * u + model(x - h, t)) / h ** 2
    r_fd = ut_fd - 0.7 * uxx_fd - x * t
    np.testing.assert_allclose(r.detach().numpy(), r_fd.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ux.detach().numpy(), ux_fd.numpy(), rtol=1e-5, atol=1e-6)


def test_points():
    problem = pinn.HeatPINNProblem(1.0, torch.sin, domain=(-1.0, 2.0), t_end=3.0)
    for method in ("uniform", "sobol"):
        x, t = pinn.sample_points(problem, 256, method, seed=0)
        assert x.shape == t.shape == (256,)
        assert float(x.min()) >= -1 and float(x.max()) <= 2 and float(t.max()) <= 3
        assert float(x.max()) - float(x.min()) > 2.5  # they fill the domain


@pytest.mark.parametrize("call, name", [
    (lambda: pinn.HeatPINNProblem(0.0, torch.sin), "alpha"),
    (lambda: pinn.HeatPINNProblem(-1.0, torch.sin), "alpha"),
    (lambda: pinn.HeatPINNProblem(1.0, torch.sin, bc="robin"), "bc"),
    (lambda: pinn.HeatPINNProblem(1.0, torch.sin, domain=(1, 0)), "domain"),
    (lambda: pinn.HeatPINNProblem(1.0, torch.sin, t_end=0), "t_end"),
    (lambda: pinn.HeatPINNProblem(1.0, 3.0), "u0"),
    (lambda: pinn.HeatPINN(pinn.HeatPINNProblem(1.0, torch.cos)), "constraints"),
    (lambda: pinn.HeatPINN(pinn.lecture_problem(), constraints="medium"), "constraints"),
    (lambda: pinn.train(pinn.lecture_problem(), sampling="grid"), "sampling"),
    (lambda: pinn.train(pinn.lecture_problem(), n_points=0), "n_points"),
    (lambda: pinn.train(pinn.lecture_problem(), adam_steps=-1), "adam_steps"),
    (lambda: pinn.sample_points(pinn.lecture_problem(), 10, "halton"), "method"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_mol_reference_with_torch_only_data():
    # u0 and source written for torch only: the method-of-lines reference wraps them
    a = 0.1
    problem = pinn.HeatPINNProblem(
        a, lambda x: torch.cos(math.pi * x), bc="neumann",
        source=lambda x, t: (a * math.pi ** 2 - 1.0) * torch.exp(-t) * torch.cos(math.pi * x) + 1.0)
    x, t, u, _ = pinn.mol_reference(problem, n=41, nt=11)
    X, T = np.meshgrid(x, t)
    exact = np.exp(-T) * np.cos(np.pi * X) + T
    assert np.max(np.abs(u - exact)) < 1e-3  # O(dx^2), dx = 1/40
