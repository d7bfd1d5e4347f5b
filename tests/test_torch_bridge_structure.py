"""fastode.torch_bridge: the compiled path is chosen from the module's structure (never by a
probe), calls from several threads, one table of status codes, the package imported once."""
import sys
import threading
import time
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
import torch as th  # noqa: E402  (an alias: the recogniser resolves globals, not spellings)
from torch import cat  # noqa: E402

from fastode.kernels import status as st  # noqa: E402
from fastode.results import MESSAGES  # noqa: E402
from fastode.torch_bridge import (FallbackWarning, SolverError, last_stats,  # noqa: E402
                                  odeint, odeint_adjoint)

KW = dict(rtol=1e-8, atol=1e-10)


def _net(n_in=2, width=16):
    return nn.Sequential(nn.Linear(n_in, width), nn.Tanh(), nn.Linear(width, 2)).double()


class Plain(nn.Module):
    """The lecture's ODEFunc."""

    def __init__(self):
        super().__init__()
        self.net = _net()

    def forward(self, t, y):
        return self.net(y)


class TimeScaled(Plain):
    def forward(self, t, y):
        return self.net(y) * (1 + 10 * t)


class SwitchesLater(Plain):
    def forward(self, t, y):
        if t < 0.5:        # a probe at t0 = 0 sees net(y)
            return self.net(y)
        return -self.net(y)


class Doubled(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class SubclassLayer(Plain):
    def __init__(self):
        super().__init__()
        self.net[2] = Doubled(16, 2).double()


class Hooked(Plain):
    def __init__(self):
        super().__init__()
        self.net.register_forward_hook(lambda mod, args, out: out + 1.0)


class Counted(nn.Module):
    """torchdiffeq's examples count evaluations in forward."""

    def __init__(self, time_in):
        super().__init__()
        self.time_in = time_in
        self.nfe = 0
        self.layers = _net(2 + time_in)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A docstring."""
        self.nfe += 1
        if not self.time_in:
            return self.layers(y)
        else:
            return self.layers(cat((y, t * th.ones_like(y[..., :1])), dim=-1))


def _y0():
    return torch.tensor([[1.0, 0.5], [-0.3, 0.8]], dtype=torch.float64)


T = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)


@pytest.mark.parametrize("cls", [TimeScaled, SwitchesLater, SubclassLayer, Hooked])
def test_module_that_is_not_its_net_takes_the_torch_path(cls):
    torch.manual_seed(0)
    f = cls()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        y = odeint(f, _y0(), T, **KW)
    assert last_stats["path"] == "torch"
    assert any(issubclass(w.category, FallbackWarning) for w in rec)
    ref = odeint(f, _y0(), T, path="torch", **KW)
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-12,
                               atol=1e-14)
    # the trap is real: a plain MLP with the same weights (what the compiled path would
    # solve) has a solution far from this module's
    plain = Plain()
    plain.net.load_state_dict(f.net.state_dict())
    with torch.no_grad():
        bare = odeint(plain, _y0(), T, path="torch", **KW)
    assert float((bare - ref.detach()).abs().max()) > 1e-2
    with pytest.raises(ValueError, match="compiled path"):
        odeint(f, _y0(), T, path="compiled")


def test_time_dependent_module_matches_torchdiffeq():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    torch.manual_seed(1)
    f = TimeScaled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        y = odeint(f, _y0(), T, **KW)
    ref = torchdiffeq.odeint(f, _y0(), T, **KW)
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("time_in", [False, True])
def test_accepted_forms_stay_compiled_and_count(time_in):
    torch.manual_seed(2)
    f = Counted(time_in)
    y0 = _y0().requires_grad_(True)
    yc = odeint(f, y0, T, **KW)
    assert last_stats["path"] == "compiled"
    assert f.nfe == last_stats["nfev"]            # the counter sees the compiled evaluations
    yc.sum().backward()
    assert f.nfe == last_stats["nfev"] + last_stats["adjoint_nfev"]
    yt = odeint(f, y0, T, path="torch", **KW)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-12,
                               atol=1e-14)
    odeint(Plain(), _y0(), T, **KW)
    assert last_stats["path"] == "compiled"


def test_module_without_source_takes_the_torch_path():
    ns = {"nn": nn}
    exec("class NoSource(nn.Module):\n"
         "    def forward(self, t, y):\n"
         "        return self.net(y) * 2\n", ns)
    f = ns["NoSource"]()
    f.net = _net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        odeint(f, _y0(), T, **KW)
    assert last_stats["path"] == "torch"


def _yield_on_every_bridge_line(frame, event, arg):
    """A trace function: give the other threads the GIL at every line of the bridge's Python
    code, so that every interleaving of two calls' phases happens within a few calls."""
    if "torch_bridge" not in frame.f_code.co_filename:
        return None

    def local(frame, event, arg):
        if event == "line":
            time.sleep(0)
        return local
    return local


def test_calls_from_several_threads():
    """Each call's plan travels with the call (no module-level state between two calls)."""
    torch.manual_seed(3)
    funcs = [Plain() for _ in range(4)]
    y0s = [torch.randn(3, 2, dtype=torch.float64) for _ in funcs]
    tt = torch.linspace(0.0, 0.5, 3, dtype=torch.float64)
    refs = [odeint(f, y, tt, rtol=1e-6, atol=1e-8) for f, y in zip(funcs, y0s)]
    errors, wrong = [], []

    def work(k):
        sys.settrace(_yield_on_every_bridge_line)
        try:
            for i in range(40):
                y = odeint(funcs[k], y0s[k], tt, rtol=1e-6, atol=1e-8)
                if not torch.equal(y, refs[k]):
                    wrong.append((k, i))
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(repr(exc))
        finally:
            sys.settrace(None)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th_ in threads:
        th_.start()
    for th_ in threads:
        th_.join()
    assert errors == [] and wrong == []


def test_package_executes_once():
    y0 = _y0().requires_grad_(True)
    odeint_adjoint(Plain(), y0, T, path="compiled", **KW).sum().backward()
    assert "fastode.torch_bridge.__init__" not in sys.modules


def test_one_table_of_status_codes():
    from fastode.torch_bridge import compiled
    from fastode.torch_bridge import kernels as K
    assert (K.OK, K.MAX_STEPS, K.STEP_TOO_SMALL, K.NON_FINITE) == \
        (st.SUCCESS, st.MAX_STEPS, st.STEP_TOO_SMALL, st.NON_FINITE)
    codes = {v for k, v in vars(st).items() if k.isupper()}
    assert K.HISTORY_FULL not in codes
    # the bridge's message for a code says what fastode's message for that code says
    words = {st.MAX_STEPS: "max", st.STEP_TOO_SMALL: "step size", st.NON_FINITE: "non-finite"}
    for code, word in words.items():
        assert word in MESSAGES[code].lower() and word in compiled._MESSAGES[code].lower()


def test_compiled_failure_reports_the_kernel_status():
    with pytest.raises(SolverError, match="max_num_steps") as info:
        odeint(Plain(), _y0(), T, path="compiled", options={"max_num_steps": 2}, **KW)
    assert info.value.status == st.MAX_STEPS
