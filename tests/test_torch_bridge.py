"""fastode.torch_bridge, torch path: results, gradients, adjoint, input errors."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastode import solve_ivp  # noqa: E402
from fastode.torch_bridge import SolverError, last_stats, odeint, odeint_adjoint  # noqa: E402

A_NP = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def spiral_np(t, y):
    return (y ** 3) @ A_NP


class Spiral(torch.nn.Module):
    def __init__(self, dtype=torch.float64):
        super().__init__()
        self.A = torch.nn.Parameter(torch.tensor(A_NP, dtype=dtype))

    def forward(self, t, y):
        return (y ** 3) @ self.A


class NonAutonomous(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.7, -0.3], dtype=torch.float64))

    def forward(self, t, y):
        return -self.w * y + torch.sin(t) * torch.stack([y[..., 1], y[..., 0]], -1)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("method,scipy_method", [
    ("dopri5", "RK45"), ("tsit5", "tsit5"), ("bosh3", "RK23"), ("dopri8", "dop853"),
])
def test_matches_fastode_solve_ivp(method, scipy_method):
    t = torch.linspace(0.0, 5.0, 11, dtype=torch.float64)
    y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
    ys = odeint(Spiral(), y0, t, method=method, rtol=1e-6, atol=1e-9, path="torch")
    sol = solve_ivp(spiral_np, (0.0, 5.0), y0.numpy(), method=scipy_method, t_eval=t.numpy(),
                    rtol=1e-6, atol=1e-9)
    assert ys.shape == (11, 2)
    np.testing.assert_allclose(ys.detach().numpy(), sol.y.T, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", ["rk4", "euler", "midpoint"])
def test_fixed_step_matches_fastode(method):
    t = torch.linspace(0.0, 2.0, 5, dtype=torch.float64)
    y0 = torch.tensor([1.0, 0.5], dtype=torch.float64)
    ys = odeint(Spiral(), y0, t, method=method, options={"step_size": 0.05}, path="torch")
    sol = solve_ivp(spiral_np, (0.0, 2.0), y0.numpy(), method=method, t_eval=t.numpy(),
                    step=0.05)
    np.testing.assert_allclose(ys.detach().numpy(), sol.y.T, rtol=1e-10, atol=1e-12)


def test_fixed_step_without_step_size_steps_on_t():
    t = torch.linspace(0.0, 1.0, 4, dtype=torch.float64)
    y0 = torch.tensor([1.0], dtype=torch.float64)
    ys = odeint(lambda t, y: -y, y0, t, method="euler")
    h = 1.0 / 3.0
    np.testing.assert_allclose(ys[:, 0].numpy(), (1 - h) ** np.arange(4), rtol=1e-14)


def test_matches_torchdiffeq_tight():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    t = torch.linspace(0.0, 3.0, 7, dtype=torch.float64)
    y0 = torch.tensor([[2.0, 0.0], [1.0, 0.5]], dtype=torch.float64)
    f = Spiral()
    for m in ["dopri5", "bosh3", "dopri8"]:
        ours = odeint(f, y0, t, method=m, rtol=1e-10, atol=1e-12, path="torch")
        ref = torchdiffeq.odeint(f, y0, t, method=m, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=2e-6)
    # torchdiffeq's "rk4" steps with Kutta's 3/8 rule (fastode's rk38)
    ours = odeint(f, y0, t, method="rk38", options={"step_size": 0.125}, path="torch")
    ref = torchdiffeq.odeint(f, y0, t, method="rk4", options={"step_size": 0.125})
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=1e-12)


def test_shapes_tuple_and_float32():
    t = torch.linspace(0.0, 1.0, 3)
    y0 = torch.randn(4, 3, 2)
    ys = odeint(lambda t, y: -y, y0, t, rtol=1e-5, atol=1e-7)
    assert ys.shape == (3, 4, 3, 2) and ys.dtype == torch.float32
    np.testing.assert_allclose(ys[-1].numpy(), (y0 * np.exp(-1.0)).numpy(), rtol=1e-4)
    a0, b0 = torch.tensor([1.0]), torch.tensor([[0.0, 1.0]])
    ya, yb = odeint(lambda t, s: (s[1][0, :1], -s[0][None].expand(1, 2)), (a0, b0), t)
    assert ya.shape == (3, 1) and yb.shape == (3, 1, 2)
    # decreasing t (torchdiffeq allows it)
    ys = odeint(lambda t, y: -y, torch.tensor([1.0], dtype=torch.float64),
                torch.tensor([1.0, 0.0], dtype=torch.float64))
    np.testing.assert_allclose(ys[-1].item(), np.e, rtol=1e-6)


def test_bad_input():
    f = lambda t, y: -y  # noqa: E731
    y0 = torch.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        odeint(f, y0, torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="strictly increasing"):
        odeint(f, y0, torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="non-finite"):
        odeint(f, torch.tensor([1.0, float("nan")]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        odeint(lambda t, y: torch.ones(3), y0, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        odeint(f, y0, torch.zeros(2, 2))
    with pytest.raises(TypeError, match="floating"):
        odeint(f, torch.tensor([1, 2]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="method"):
        odeint(f, y0, torch.tensor([0.0, 1.0]), method="nope")
    with pytest.raises(SolverError, match="max_num_steps"):
        odeint(f, y0, torch.tensor([0.0, 100.0]), options={"max_num_steps": 3})
    with pytest.raises(ValueError, match="path"):
        odeint(f, y0, torch.tensor([0.0, 1.0]), path="gpu")


def _loss(ys):
    return (ys ** 2).sum() + ys[-1].reshape(-1)[0]


@pytest.mark.parametrize("method", ["dopri5", "tsit5", "rk4"])
def test_gradcheck_backprop(method):
    f = NonAutonomous()
    t = torch.tensor([0.0, 0.5, 1.3], dtype=torch.float64, requires_grad=True)
    y0 = torch.tensor([[1.0, 0.2], [0.3, -0.4]], dtype=torch.float64, requires_grad=True)
    opts = {"step_size": 0.1} if method == "rk4" else None

    def fn(y0, t, w):
        f.w = torch.nn.Parameter(w) if not isinstance(w, torch.nn.Parameter) else w
        return odeint(lambda tt, y: -w * y + torch.sin(tt) * y.flip(-1), y0, t, method=method,
                      rtol=1e-9, atol=1e-11, options=opts, path="torch")

    w = torch.tensor([0.7, -0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (y0, t, w), atol=1e-6, rtol=1e-5)


def test_adjoint_matches_backprop_and_fd():
    f = NonAutonomous()
    t = torch.tensor([0.0, 0.4, 1.0, 1.5], dtype=torch.float64, requires_grad=True)
    y0 = torch.tensor([1.0, 0.5], dtype=torch.float64, requires_grad=True)
    kw = dict(rtol=1e-10, atol=1e-12, path="torch")
    _loss(odeint(f, y0, t, **kw)).backward()
    g_bp = [y0.grad.clone(), t.grad.clone(), f.w.grad.clone()]
    for x in (y0, t, f.w):
        x.grad = None
    _loss(odeint_adjoint(f, y0, t, **kw)).backward()
    g_adj = [y0.grad.clone(), t.grad.clone(), f.w.grad.clone()]
    for a, b in zip(g_adj, g_bp):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-8)
    # finite differences on w
    eps = 1e-6
    fd = []
    for k in range(2):
        vals = []
        for sgn in (1, -1):
            with torch.no_grad():
                f.w[k] += sgn * eps
                vals.append(float(_loss(odeint(f, y0, t, **kw))))
                f.w[k] -= sgn * eps
        fd.append((vals[0] - vals[1]) / (2 * eps))
    np.testing.assert_allclose(g_adj[2].numpy(), fd, rtol=1e-5)


def test_adjoint_seminorm_and_options():
    f = Spiral()
    y0 = torch.tensor([[2.0, 0.0], [1.5, 0.1]], dtype=torch.float64, requires_grad=True)
    t = torch.linspace(0.0, 2.0, 5, dtype=torch.float64)
    _loss(odeint(f, y0, t, rtol=1e-9, atol=1e-11, path="torch")).backward()
    ref = f.A.grad.clone()
    f.A.grad = None
    _loss(odeint_adjoint(f, y0, t, rtol=1e-9, atol=1e-11, path="torch",
                         adjoint_options={"norm": "seminorm"}, adjoint_method="dopri8",
                         adjoint_rtol=1e-10, adjoint_atol=1e-12)).backward()
    np.testing.assert_allclose(f.A.grad.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
    # adjoint_params restricts the parameters that get gradients
    f.A.grad = None
    extra = torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
    _loss(odeint_adjoint(lambda tt, y: extra * f(tt, y), y0, t, path="torch",
                         adjoint_params=(extra,))).backward()
    assert extra.grad is not None and f.A.grad is None


def test_adjoint_tuple_state():
    w = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
    a0 = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    b0 = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    t = torch.linspace(0.0, 1.0, 3, dtype=torch.float64)

    def f(tt, s):
        return (-w * s[0], s[0] * s[1])

    ya, yb = odeint(f, (a0, b0), t, rtol=1e-10, atol=1e-12, path="torch")
    (ya.sum() + yb.sum()).backward()
    ref = [w.grad.clone(), a0.grad.clone(), b0.grad.clone()]
    for x in (w, a0, b0):
        x.grad = None
    ya, yb = odeint_adjoint(f, (a0, b0), t, rtol=1e-10, atol=1e-12, path="torch",
                            adjoint_params=(w,))
    (ya.sum() + yb.sum()).backward()
    for x, r in zip((w, a0, b0), ref):
        np.testing.assert_allclose(x.grad.numpy(), r.numpy(), rtol=1e-6)


def test_per_sample_torch_path():
    f = Spiral()
    y0 = torch.tensor([[2.0, 0.0], [0.1, 0.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 2.0, 3, dtype=torch.float64)
    ys = odeint(f, y0, t, per_sample=True, path="torch", rtol=1e-8, atol=1e-10)
    for b in range(2):
        single = odeint(f, y0[b], t, path="torch", rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ys[:, b].detach().numpy(), single.detach().numpy(),
                                   rtol=1e-12, atol=1e-14)
    assert last_stats["path"] == "torch"
