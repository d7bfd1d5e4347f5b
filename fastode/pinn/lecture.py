"""The lecture's heat equation solved by a PINN and by the method of lines, side by side."""
import time

import numpy as np

from .model import lecture_problem
from .report import evaluate, plot
from .train import train


def run_lecture_example(seeds=(0, 1, 2), png=None, verbose=True, **train_options):
    """Train the PINN on the lecture's heat equation (:func:`lecture_problem`: ``u_t = alpha
    u_xx``, ``alpha = 0.4/pi^2``, ``u(x, 0) = sin(pi x)``, zero ends, x, t in [0, 1]) once per
    seed, on one torch thread, and compare it with the exact solution and with fastode's
    method-of-lines solution (255 points, BDF).

    Parameters
    ----------
    seeds : sequence of int
    png : str, optional
        Where to write the figure of the first seed's run (loss curve, error heat maps).
    verbose : bool
        Print each seed's errors, time and L-BFGS stop reason.
    **train_options
        Passed to :func:`fastode.pinn.train`.

    Returns
    -------
    list of dict
        Per seed: ``seed``, ``seconds`` (training), ``stop_reason``, ``pinn_vs_exact``,
        ``pinn_vs_mol``, ``mol_vs_exact``, ``mol_seconds``.

    Examples
    --------
    Three seeds of about 8 s each by default; one short run here:

    >>> from fastode import pinn
    >>> rows = pinn.run_lecture_example(seeds=(0,), verbose=False, adam_steps=10, lbfgs_steps=2,
    ...                                 n_points=100, width=8, depth=2)
    >>> len(rows)
    1
    """
    problem = lecture_problem()
    rows = []
    for i, seed in enumerate(seeds):
        start = time.perf_counter()
        res = train(problem, seed=seed, **train_options)
        seconds = time.perf_counter() - start
        if verbose:
            print(f"seed {seed}: trained in {seconds:.1f} s (Adam {res.adam_steps} steps "
                  f"{res.seconds['adam']:.1f} s, L-BFGS {res.lbfgs_iterations} iterations "
                  f"{res.seconds['lbfgs']:.1f} s, stopped: {res.stop_reason})")
        ev = evaluate(res.model, verbose=verbose)
        if png is not None and i == 0:
            plot(res, ev, png)
        rows.append(dict(seed=seed, seconds=seconds, stop_reason=res.stop_reason,
                         pinn_vs_exact=ev["pinn_vs_exact"], pinn_vs_mol=ev["pinn_vs_mol"],
                         mol_vs_exact=ev["mol_vs_exact"], mol_seconds=ev["mol_seconds"]))
    if verbose and len(rows) > 1:
        print(f"median over {len(rows)} seeds: relative L2 error "
              f"{np.median([r['pinn_vs_exact'] for r in rows]):.2e} in "
              f"{np.median([r['seconds'] for r in rows]):.1f} s")
    return rows
