"""fastode.pinn: physics-informed neural networks for the heat equation (issue #15; needs torch,
the optional extra ``pip install fastode[torch]``).

``u_t = alpha u_xx + source(x, t)`` on an interval with Dirichlet or Neumann data: a small tanh
network trained on the PDE residual (derivatives by ``torch.func``, vmapped over the points), Adam
then float64 L-BFGS, compared with the exact solution and with fastode's method-of-lines solution.
:func:`run_lecture_example` runs the lecture's example. torch is imported on first use.
"""
_LAZY = {"HeatPINNProblem": "model", "HeatPINN": "model", "residual": "model",
         "lecture_problem": "model",
         "sample_points": "train", "train": "train", "TrainResult": "train",
         "evaluate": "report", "plot": "report", "mol_reference": "report",
         "run_lecture_example": "lecture"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastode.pinn' has no attribute {name!r}")
    import importlib
    try:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            raise ImportError("fastode.pinn needs torch (pip install torch, or "
                              "pip install fastode[torch])") from exc
        raise
    globals()[name] = value
    # importing a submodule binds it on the package: `train` (the function) would become the
    # module `train` once any name from that module (e.g. sample_points) had been loaded
    import types
    g = globals()
    for other, mod in _LAZY.items():
        if mod == other and isinstance(g.get(other), types.ModuleType) \
                and g[other].__name__ == f"{__name__}.{other}":
            g[other] = getattr(g[other], other)
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
