"""``last_stats``: the counters of the last odeint / odeint_adjoint call (one dict, updated in
place, re-exported as ``fastode.torch_bridge.last_stats``).

A module of its own so that the backward passes (``compiled``, ``torch_adjoint``) add their
counters without importing the package that imports them (an import cycle).
"""
last_stats: dict = {}
