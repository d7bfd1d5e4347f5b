"""The PINN against the exact solution and against fastode's method-of-lines solution; figures."""
import time
import warnings

import numpy as np
import torch


def mol_reference(problem, n=255, nt=101, rtol=1e-10, atol=1e-12):
    """The problem by the method of lines (:func:`fastode.pde.heat_1d`, ``n`` unknowns, BDF with
    the tridiagonal band), on its nodes plus Dirichlet ends and ``nt`` equally spaced times.

    Returns
    -------
    x, t, u, seconds : ndarray (nx,), ndarray (nt,), ndarray (nt, nx), float

    Examples
    --------
    >>> import numpy as np
    >>> from fastode import pinn
    >>> x, t, u, seconds = pinn.mol_reference(pinn.lecture_problem(), n=63, nt=11)
    >>> u.shape, bool(np.abs(u[-1] - np.exp(-0.4) * np.sin(np.pi * x)).max() < 1e-3)
    ((11, 65), True)
    """
    from .. import pde
    a, b = problem.domain
    x_try = np.linspace(a, b, 5)
    u0 = problem.u0 if _numpy_ok(problem.u0, x_try) else _torch_wrapped(problem.u0)
    source = None
    if problem.source is not None:
        user = problem.source

        def numpy_source(t, x):  # numpy-friendly: compiled with the RHS
            return user(x, t)

        def torch_source(t, x):  # torch only: the RHS runs through Python (slower, same answer)
            return user(torch.from_numpy(x), torch.tensor(t, dtype=torch.float64)).numpy()
        source = numpy_source if _numpy_ok(user, x_try, 0.0) else torch_source
    prob = pde.heat_1d(n, problem.alpha, bc=problem.bc, u0=u0, domain=(a, b),
                       bc_values=problem.bc_values, source=source)
    t = np.linspace(0.0, problem.t_end, nt)
    with warnings.catch_warnings():
        # a source numba cannot compile runs through Python: slower, still right
        warnings.simplefilter("ignore")
        prob.solve((0.0, problem.t_end), t_eval=t, rtol=rtol, atol=atol)  # compiles `fun`
        start = time.perf_counter()
        sol = prob.solve((0.0, problem.t_end), t_eval=t, rtol=rtol, atol=atol)
        seconds = time.perf_counter() - start  # warm: the solve alone
    if not sol.success:
        raise RuntimeError(f"method-of-lines reference failed: {sol.message}")
    x, u = prob.grid[0], sol.y.T
    if problem.bc[0] == "dirichlet":
        x = np.concatenate([[a], x])
        u = np.hstack([np.full((nt, 1), problem.bc_values[0]), u])
    if problem.bc[1] == "dirichlet":
        x = np.concatenate([x, [b]])
        u = np.hstack([u, np.full((nt, 1), problem.bc_values[1])])
    return x, t, u, seconds


def _numpy_ok(fun, *args):
    """Whether ``fun`` takes numpy arrays (u0 and source may be written for torch only)."""
    try:
        return isinstance(np.asarray(fun(*args)), np.ndarray) and \
            not isinstance(fun(*args), torch.Tensor)
    except Exception:
        return False


def _torch_wrapped(fun):
    def wrapped(x):
        return fun(torch.from_numpy(np.asarray(x, dtype=float))).numpy()
    return wrapped


def _rel_l2(u, ref):
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


def evaluate(model, n_mol=255, nt=101, verbose=True):
    """Relative L2 errors of ``model`` (a trained HeatPINN) on the method-of-lines grid.

    Returns
    -------
    dict
        ``x``, ``t``, ``pinn``, ``mol``, ``exact`` (None without ``problem.exact``) on the
        (nt, nx) grid; errors ``pinn_vs_exact``, ``pinn_vs_mol``, ``mol_vs_exact``;
        ``mol_seconds``. With ``verbose`` the errors are printed side by side.

    Examples
    --------
    >>> from fastode import pinn
    >>> result = pinn.train(pinn.lecture_problem(), n_points=100, adam_steps=5, lbfgs_steps=2,
    ...                     width=8, depth=2)
    >>> ev = pinn.evaluate(result.model, n_mol=31, nt=11, verbose=False)
    >>> ev["pinn"].shape == ev["mol"].shape, bool(ev["mol_vs_exact"] < 1e-2)
    (True, True)
    """
    problem = model.problem
    x, t, u_mol, mol_s = mol_reference(problem, n_mol, nt)
    X, T = np.meshgrid(x, t)
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        u = model(torch.tensor(X, dtype=dtype), torch.tensor(T, dtype=dtype)).double().numpy()
    exact = problem.exact(X, T) if problem.exact is not None else None
    out = dict(x=x, t=t, pinn=u, mol=u_mol, exact=exact, mol_seconds=mol_s,
               pinn_vs_mol=_rel_l2(u, u_mol),
               pinn_vs_exact=_rel_l2(u, exact) if exact is not None else None,
               mol_vs_exact=_rel_l2(u_mol, exact) if exact is not None else None)
    if verbose:
        def f(v):
            return "   n/a  " if v is None else f"{v:.2e}"
        print("relative L2 error          vs exact    vs method of lines")
        print(f"PINN                       {f(out['pinn_vs_exact'])}    {f(out['pinn_vs_mol'])}")
        label = f"method of lines (n={n_mol})"
        print(f"{label:<27s}{f(out['mol_vs_exact'])}    -          "
              f"(solve {mol_s * 1e3:.1f} ms)")
    return out


def plot(result, evaluation, path):
    """A PNG: the loss curve and heat maps of the PINN and its errors against the exact and the
    method-of-lines solutions. Returns ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastode import pinn
    >>> result = pinn.train(pinn.lecture_problem(), n_points=100, adam_steps=5, lbfgs_steps=2,
    ...                     width=8, depth=2)
    >>> ev = pinn.evaluate(result.model, n_mol=31, nt=11, verbose=False)
    >>> path = pinn.plot(result, ev, os.path.join(tempfile.mkdtemp(), "pinn.png"))
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ev = evaluation
    panels = [("PINN u(x, t)", ev["pinn"], "viridis")]
    if ev["exact"] is not None:
        panels.append(("|PINN - exact|", np.abs(ev["pinn"] - ev["exact"]), "magma"))
    panels.append(("|PINN - method of lines|", np.abs(ev["pinn"] - ev["mol"]), "magma"))
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.2 * (len(panels) + 1), 3.6))
    ax = axes[0]
    k = np.arange(result.loss.size)
    ax.semilogy(k[:result.adam_steps], result.loss[:result.adam_steps], label="Adam")
    ax.semilogy(k[result.adam_steps:], result.loss[result.adam_steps:],
                label=f"L-BFGS float64 ({result.stop_reason})")
    ax.set_xlabel("step / function evaluation")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.set_title("training loss")
    extent = (ev["x"][0], ev["x"][-1], ev["t"][0], ev["t"][-1])
    for ax, (title, data, cmap) in zip(axes[1:], panels):
        im = ax.imshow(data, origin="lower", aspect="auto", extent=extent, cmap=cmap)
        fig.colorbar(im, ax=ax)
        ax.set_xlabel("x")
        ax.set_ylabel("t")
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
