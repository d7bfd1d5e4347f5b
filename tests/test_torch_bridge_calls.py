"""fastode.torch_bridge compiled path across calls: every call reads the module as it is then.

The per-call fast path (numpy checks, shared layout arrays, parameters packed in one
concatenation) must never answer with old weights or an old architecture: each test changes
the module between calls and compares with the torch path (or a fresh copy of the module).
"""
import copy
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from fastode.torch_bridge import FallbackWarning, last_stats, odeint, odeint_adjoint  # noqa


class ODEFunc(nn.Module):
    def __init__(self, width=16, dtype=torch.float64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, 2)).to(dtype)
        self.nfev = 0

    def forward(self, t, y):
        self.nfev += 1
        return self.net(y)


KW = dict(rtol=1e-7, atol=1e-9)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _t(dtype=torch.float64):
    return torch.linspace(0.0, 1.0, 5, dtype=dtype)


def _rel(a, b):
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / max(b.abs().max(), 1e-300))


def _solve_both(func, y0, t, solver=odeint):
    """(compiled result, torch-path result), asserting the compiled path ran."""
    with torch.no_grad():
        yc = solver(func, y0, t, path="compiled", **KW)
        assert last_stats["path"] == "compiled"
        yt = solver(func, y0, t, path="torch", **KW)
    return yc, yt


def _grads(func, y0, t, solver, path="compiled"):
    for p in func.parameters():
        p.grad = None
    (solver(func, y0, t, path=path, **KW) ** 2).sum().backward()
    return [None if p.grad is None else p.grad.clone() for p in func.parameters()]


@pytest.mark.parametrize("how", ["no_grad", "data", "numpy", "copy_"])
@pytest.mark.parametrize("batch", [1, 7])
def test_weights_changed_in_place_are_seen(how, batch):
    # p.data.add_ and writes through a numpy view bump no version counter: a cache keyed on
    # _version would return the old answer
    func = ODEFunc()
    y0 = torch.randn(batch, 2, dtype=torch.float64)
    before, _ = _solve_both(func, y0, _t())
    w = func.net[0].weight
    if how == "no_grad":
        with torch.no_grad():
            w.mul_(1.5)
    elif how == "data":
        w.data.mul_(1.5)
    elif how == "numpy":
        w.detach().numpy()[...] *= 1.5
    else:
        with torch.no_grad():
            w.copy_(w * 1.5)
    yc, yt = _solve_both(func, y0, _t())
    assert _rel(yc, before) > 1e-3
    assert _rel(yc, yt) < 1e-9


def test_parameter_storage_replaced_is_seen():
    func = ODEFunc()
    y0 = torch.randn(3, 2, dtype=torch.float64)
    before, _ = _solve_both(func, y0, _t())
    func.net[2].bias.data = torch.full((2,), 0.5, dtype=torch.float64)   # new storage
    yc, yt = _solve_both(func, y0, _t())
    assert _rel(yc, before) > 1e-3
    assert _rel(yc, yt) < 1e-9


@pytest.mark.parametrize("change", ["linear", "activation", "softplus_beta", "width"])
def test_architecture_changed_between_calls_is_seen(change):
    func = ODEFunc()
    y0 = torch.randn(4, 2, dtype=torch.float64)
    before, _ = _solve_both(func, y0, _t())
    if change == "linear":
        func.net[2] = nn.Linear(16, 2).double()
    elif change == "activation":
        func.net[1] = nn.ReLU()
    elif change == "softplus_beta":
        func.net[1] = nn.Softplus(beta=1.0)
        ref, _ = _solve_both(func, y0, _t())
        func.net[1].beta = 3.0                 # an attribute of the same module object
        yc, yt = _solve_both(func, y0, _t())
        assert _rel(yc, ref) > 1e-4 and _rel(yc, yt) < 1e-9
        return
    else:
        func.net = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2)).double()
    yc, yt = _solve_both(func, y0, _t())
    assert _rel(yc, before) > 1e-3
    assert _rel(yc, yt) < 1e-9


def test_hook_added_between_calls_takes_the_torch_path():
    func = ODEFunc()
    y0 = torch.randn(2, 2, dtype=torch.float64)
    odeint(func, y0, _t(), path="compiled", **KW)
    h = func.net[0].register_forward_hook(lambda mod, inp, out: out * 2.0)
    try:
        with pytest.raises(ValueError, match="hooks"):
            odeint(func, y0, _t(), path="compiled", **KW)
    finally:
        h.remove()
    odeint(func, y0, _t(), path="compiled", **KW)
    assert last_stats["path"] == "compiled"


def test_dtype_changed_between_calls():
    func = ODEFunc()
    y0 = torch.randn(2, 2, dtype=torch.float64)
    odeint(func, y0, _t(), path="compiled", **KW)
    func.float()          # the same Parameter objects, now float32
    with pytest.raises(ValueError, match="float32"):
        odeint(func, y0, _t(), path="compiled", **KW)
    y32 = y0.float()
    yc = odeint(func, y32, _t(torch.float32), path="compiled", **KW)
    assert yc.dtype == torch.float32 and last_stats["path"] == "compiled"
    yt = odeint(func, y32, _t(torch.float32), path="torch", **KW)
    assert _rel(yc, yt) < 1e-5


@pytest.mark.parametrize("solver", [odeint, odeint_adjoint])
def test_requires_grad_changed_between_calls(solver):
    func = ODEFunc()
    y0 = torch.randn(1, 2, dtype=torch.float64)
    g_all = _grads(func, y0, _t(), solver)
    assert all(g is not None for g in g_all)
    func.net[0].weight.requires_grad_(False)
    g = _grads(func, y0, _t(), solver)
    assert g[0] is None
    for a, b in zip(g[1:], g_all[1:]):
        assert _rel(a, b) < 1e-12
    # y0 asks for its gradient now: d loss / d y0 against the torch path
    for p in func.parameters():
        p.requires_grad_(False)
    y0r = y0.clone().requires_grad_(True)
    (solver(func, y0r, _t(), path="compiled", **KW) ** 2).sum().backward()
    gc = y0r.grad.clone()
    y0r.grad = None
    (solver(func, y0r, _t(), path="torch", **KW) ** 2).sum().backward()
    assert _rel(gc, y0r.grad) < 1e-6


@pytest.mark.parametrize("solver", [odeint, odeint_adjoint])
@pytest.mark.parametrize("batch", [1, 64])
def test_gradients_after_optimizer_steps_equal_a_fresh_module(solver, batch):
    # training: an optimizer step between calls; each call's gradients must be those of a
    # module built fresh with the updated weights
    func = ODEFunc()
    opt = torch.optim.Adam(func.parameters(), lr=0.05)
    y0 = torch.randn(batch, 2, dtype=torch.float64)
    previous = None
    for _ in range(3):
        g = _grads(func, y0, _t(), solver)
        fresh = copy.deepcopy(func)
        g_fresh = _grads(fresh, y0, _t(), solver)
        for a, b in zip(g, g_fresh):
            assert torch.equal(a, b)
        if previous is not None:
            assert max(_rel(a, b) for a, b in zip(g, previous)) > 1e-3
        previous = g
        for p, gp in zip(func.parameters(), g):
            p.grad = gp
        opt.step()
    # and the compiled gradients are the torch path's (backprop: the same discrete solver)
    if solver is odeint:
        g_torch = _grads(func, y0, _t(), solver, path="torch")
        g = _grads(func, y0, _t(), solver)
        for a, b in zip(g, g_torch):
            assert _rel(a, b) < 1e-9


def test_linear_weight_of_another_shape_is_not_read_with_the_old_layout():
    # weights assigned after construction with shapes that disagree with in/out_features:
    # torch computes with the weights' shapes; the kernels would read in/out_features
    func = ODEFunc()
    func.net[0].weight = nn.Parameter(torch.randn(24, 2, dtype=torch.float64) * 0.5)
    func.net[0].bias = nn.Parameter(torch.randn(24, dtype=torch.float64) * 0.5)
    func.net[2].weight = nn.Parameter(torch.randn(2, 24, dtype=torch.float64) * 0.5)
    y0 = torch.randn(3, 2, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        ya = odeint(func, y0, _t(), **KW)
    yt = odeint(func, y0, _t(), path="torch", **KW)
    assert _rel(ya, yt) < 1e-9
    with pytest.raises(ValueError, match="in/out_features"):
        odeint(func, y0, _t(), path="compiled", **KW)


@pytest.mark.parametrize("solver", [odeint, odeint_adjoint])
@pytest.mark.parametrize("shape", [(2,), (1, 2), (3, 2)])
def test_returned_tensor_changed_in_place_leaves_the_gradient_alone(solver, shape):
    # the backsolve adjoint re-solves backward from the forward outputs: they must be the
    # solver's, not the returned tensor the caller may change in place
    func = ODEFunc()
    y0 = torch.randn(*shape, dtype=torch.float64)

    def grads(inplace):
        for p in func.parameters():
            p.grad = None
        ys = solver(func, y0, _t(), path="compiled", **KW)
        ys = ys.mul_(2.0) if inplace else ys * 2.0
        (ys ** 2).sum().backward()
        return [p.grad.clone() for p in func.parameters()]

    for a, b in zip(grads(True), grads(False)):
        assert _rel(a, b) < 1e-12


def test_non_contiguous_and_float32_parameters():
    func = ODEFunc()
    w = torch.randn(2, 16, dtype=torch.float64)
    func.net[0].weight = nn.Parameter(w.t())          # (16, 2), not contiguous
    assert not func.net[0].weight.is_contiguous()
    y0 = torch.randn(3, 2, dtype=torch.float64)
    yc, yt = _solve_both(func, y0, _t())
    assert _rel(yc, yt) < 1e-9
    g = _grads(func, y0, _t(), odeint)
    gt = _grads(func, y0, _t(), odeint, path="torch")
    for a, b in zip(g, gt):
        assert a.shape == b.shape and _rel(a, b) < 1e-9
    f32 = ODEFunc(dtype=torch.float32)
    y32 = torch.randn(3, 2)
    g = _grads(f32, y32, _t(torch.float32), odeint)
    assert all(a.dtype == torch.float32 for a in g)


def test_input_checks_on_the_fast_path():
    func = ODEFunc()
    t = _t()
    for bad in (float("nan"), float("inf")):
        y0 = torch.tensor([[0.1, bad]], dtype=torch.float64)
        with pytest.raises(ValueError, match="`y0` contains non-finite"):
            odeint(func, y0, t, **KW)
    y0 = torch.randn(1, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="`t` contains non-finite"):
        odeint(func, y0, torch.tensor([0.0, float("inf")], dtype=torch.float64), **KW)
    with pytest.raises(ValueError, match="strictly increasing"):
        odeint(func, y0, torch.tensor([0.0, 0.5, 0.5, 1.0], dtype=torch.float64), **KW)
    with pytest.raises(ValueError, match="strictly increasing"):
        odeint(func, y0, torch.linspace(0.0, 1.0, 100, dtype=torch.float64).flip(0)[
            torch.tensor([0, 2, 1] + list(range(3, 100)))], **KW)
    big = torch.randn(200, 2, dtype=torch.float64)
    big[150, 1] = float("nan")
    with pytest.raises(ValueError, match="`y0` contains non-finite"):
        odeint(func, big, t, **KW)
    # finite values whose sum overflows are finite: accepted (no solve needed to tell)
    huge = torch.full((1, 2), 1.7e308, dtype=torch.float64)
    with torch.no_grad():
        ys = odeint(func, huge, torch.tensor([0.0], dtype=torch.float64), path="compiled")
    assert torch.equal(ys[0], huge)
