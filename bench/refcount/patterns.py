"""Small numba reproducers of the drivers' loop shape, one per way of passing arrays.

Every pattern is the same program: the drivers' two nested loops (an outer loop that grows the
output buffers, an inner loop with ``break``s that runs steps until a buffer is full), a forward
Euler step of Lotka-Volterra, and one output row saved per step. Only the marked piece (the
step, or the save) differs; ``PATTERNS`` maps a name to (description, step code, save code,
error_model). ``build(name)`` compiles one with numba (no cache).

    python -m bench.refcount.run      # the table: refops per iteration and time per iteration
"""
import math

import numpy as np
from numba import cfunc, carray, njit, types

from fastode.kernels.buffers import grow_1d, grow_2d
from fastode.kernels.callbacks import call_rhs_row

# ---- helpers the patterns call ---------------------------------------------------------------


@njit(nogil=True, inline="always")
def save_inline(t_new, y_new, t_out, y_out, n_out):
    """One block, no branch: the simplest helper."""
    t_out[n_out] = t_new
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]


@njit(nogil=True)
def save_call(t_new, y_new, t_out, y_out, n_out):
    """The same, left to LLVM to inline (a numba call)."""
    t_out[n_out] = t_new
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]


@njit(nogil=True, inline="always")
def save_branchy(stop, t, h, t_stop, y, y_new, Q, t_out, y_out, n_out):
    """if/else inside: an array's last use is in one branch only."""
    t_out[n_out] = t_stop
    if stop:
        theta = (t_stop - t) / h
        for i in range(y.shape[0]):
            y_out[n_out, i] = y[i] + Q[i, 0] * theta
    else:
        for i in range(y_new.shape[0]):
            y_out[n_out, i] = y_new[i]


@njit(nogil=True, inline="always")
def save_branchy_lastuse(stop, t, h, t_stop, y, y_new, Q, t_out, y_out, n_out):
    """save_branchy with every array argument used once more after the branches (one last use
    in one block: every variable dies in the same block)."""
    t_out[n_out] = t_stop
    if stop:
        theta = (t_stop - t) / h
        for i in range(y.shape[0]):
            y_out[n_out, i] = y[i] + Q[i, 0] * theta
    else:
        for i in range(y_new.shape[0]):
            y_out[n_out, i] = y_new[i]
    return n_out + 1 + 0 * (y.shape[0] + y_new.shape[0] + Q.shape[0] + t_out.shape[0]
                            + y_out.shape[0])


@njit(nogil=True)
def save_branchy_call(stop, t, h, t_stop, y, y_new, Q, t_out, y_out, n_out):
    """save_branchy as a plain @njit function (a numba call; LLVM may inline it)."""
    t_out[n_out] = t_stop
    if stop:
        theta = (t_stop - t) / h
        for i in range(y.shape[0]):
            y_out[n_out, i] = y[i] + Q[i, 0] * theta
    else:
        for i in range(y_new.shape[0]):
            y_out[n_out, i] = y_new[i]


@njit(nogil=True, inline="always")
def save_branchy_noloop(stop, t, h, t_stop, y, y_new, Q, t_out, y_out, n_out):
    """save_branchy for n = 2 without the loops: straight-line branches."""
    t_out[n_out] = t_stop
    if stop:
        theta = (t_stop - t) / h
        y_out[n_out, 0] = y[0] + Q[0, 0] * theta
        y_out[n_out, 1] = y[1] + Q[1, 0] * theta
    else:
        y_out[n_out, 0] = y_new[0]
        y_out[n_out, 1] = y_new[1]


@njit(nogil=True, inline="always")
def save_branchy_same_arrays(stop, t, h, t_stop, y, y_new, Q, t_out, y_out, n_out):
    """Both branches read the same arrays (y, y_new, Q): each still dies in two blocks."""
    t_out[n_out] = t_stop
    if stop:
        theta = (t_stop - t) / h
        for i in range(y.shape[0]):
            y_out[n_out, i] = y[i] + Q[i, 0] * theta + 0.0 * y_new[i]
    else:
        for i in range(y_new.shape[0]):
            y_out[n_out, i] = y_new[i] + 0.0 * (y[i] + Q[i, 0])


@njit(nogil=True, inline="always")
def save_branch_scalar(stop, t, h, t_stop, y, y_new, Q, t_out, y_out, n_out):
    """The branch chooses a scalar only; the arrays are used after it, in one block."""
    theta = 1.0
    if stop:
        theta = (t_stop - t) / h
    t_out[n_out] = t_stop
    for i in range(y.shape[0]):
        y_out[n_out, i] = y[i] + (y_new[i] - y[i] + Q[i, 0]) * theta


@njit(nogil=True, inline="always")
def save_two_returns(t_new, y_new, t_out, y_out, n_out):
    """An early return: two exits."""
    if n_out < 0:
        return n_out
    t_out[n_out] = t_new
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]
    return n_out + 1


@njit(nogil=True, inline="always")
def all_finite(v):
    """A loop with an early return (as kernels/explicit/step.all_finite)."""
    for i in range(v.shape[0]):
        if not math.isfinite(v[i]):
            return False
    return True


@njit(nogil=True, inline="always")
def save_grow(t_new, y_new, t_out, y_out, n_out):
    """Grows the buffers and returns them: a tuple holding arrays, reassigned every step."""
    if n_out == t_out.shape[0]:
        t_out = grow_1d(t_out, n_out + 1)
        y_out = grow_2d(y_out, n_out + 1)
    t_out[n_out] = t_new
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]
    return t_out, y_out, n_out + 1


@njit(nogil=True, inline="always")
def save_tuple(t_new, y_new, out, n_out):
    """The buffers arrive as one tuple."""
    t_out, y_out = out
    t_out[n_out] = t_new
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]


@njit(nogil=True, inline="always")
def save_many(t_new, y_new, t_out, y_out, n_out, a1, a2, a3, a4, a5, a6, a7, a8, a9):
    """Twelve array arguments, three used."""
    t_out[n_out] = t_new
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]


@njit(nogil=True, inline="always")
def save_many_used(t_new, y_new, t_out, y_out, n_out, a1, a2, a3, a4, a5, a6, a7, a8, a9):
    """Twelve array arguments, all read."""
    t_out[n_out] = t_new + 0.0 * (a1[0] + a2[0] + a3[0] + a4[0] + a5[0] + a6[0] + a7[0]
                                  + a8[0] + a9[0])
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]


@njit(nogil=True, inline="always")
def save_divide(t, h, t_new, y_new, t_out, y_out, n_out):
    """A float division: under error_model="python" it has a ZeroDivisionError exit."""
    theta = (t_new - t) / h
    t_out[n_out] = t + theta * h
    for i in range(y_new.shape[0]):
        y_out[n_out, i] = y_new[i]


# ---- the program -------------------------------------------------------------------------------

TEMPLATE = '''
def {name}(n_steps, y0, p, rhs):
    n = y0.shape[0]
    y = y0.copy()
    y_new = np.empty(n)
    K = np.zeros((3, n))
    Q = np.zeros((n, 2))
    a = np.zeros(4)
    t_out = np.empty(16)
    y_out = np.empty((16, n))
    n_out = 0
    t = 0.0
    h = 1e-5
    k = 0
    finished = False
    while not finished:
        if n_out == t_out.shape[0]:
            t_out = grow_1d(t_out, n_out + 1)
            y_out = grow_2d(y_out, n_out + 1)
        out = (t_out, y_out)
        while True:
            if k >= n_steps:
                finished = True
                break
            if n_out == t_out.shape[0]:
                break
{step}
            t_new = t + h
            k += 1
            for i in range(n):
                Q[i, 0] = h * K[0, i]
{save}
            t = t_new
            for i in range(n):
                y[i] = y_new[i]
    return t_out, y_out, n_out + 0 * (a.shape[0] + len(out))
'''

STEP_WRITTEN = '''
            K[0, 0] = 1.5 * y[0] - y[0] * y[1]
            K[0, 1] = -3.0 * y[1] + y[0] * y[1]
            for i in range(n):
                y_new[i] = y[i] + h * K[0, i]
'''

STEP_INTRINSIC = '''
            call_rhs_row(rhs, t, y, p, K, 0)
            for i in range(n):
                y_new[i] = y[i] + h * K[0, i]
'''

SAVE_WRITTEN = '''
            t_out[n_out] = t_new
            for i in range(n):
                y_out[n_out, i] = y_new[i]
            n_out += 1
'''

PATTERNS = {
    "written_out": ("save written out in the loop (the drivers today)",
                    STEP_WRITTEN, SAVE_WRITTEN, "numpy"),
    "inline_1block": ("inline='always' helper, 3 arrays, one block",
                      STEP_WRITTEN, '''
            save_inline(t_new, y_new, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "call_1block": ("plain @njit helper (numba call, LLVM inlines), 3 arrays",
                    STEP_WRITTEN, '''
            save_call(t_new, y_new, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "inline_branchy": ("inline helper with if/else (last use of y, Q in one branch only)",
                       STEP_WRITTEN, '''
            save_branchy(k < 0, t, h, t_new, y, y_new, Q, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "call_branchy": ("save_branchy as a plain @njit function (numba call)",
                     STEP_WRITTEN, '''
            save_branchy_call(k < 0, t, h, t_new, y, y_new, Q, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "inline_branchy_noloop": ("inline helper with if/else, straight-line branches",
                              STEP_WRITTEN, '''
            save_branchy_noloop(k < 0, t, h, t_new, y, y_new, Q, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "inline_branchy_same": ("inline helper with if/else, both branches read y, y_new, Q",
                            STEP_WRITTEN, '''
            save_branchy_same_arrays(k < 0, t, h, t_new, y, y_new, Q, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "inline_branch_scalar": ("inline helper whose branch sets a scalar; arrays used after it",
                             STEP_WRITTEN, '''
            save_branch_scalar(k < 0, t, h, t_new, y, y_new, Q, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "inline_branchy_lastuse": ("same, every array used once more after the branches",
                               STEP_WRITTEN, '''
            n_out = save_branchy_lastuse(k < 0, t, h, t_new, y, y_new, Q, t_out, y_out, n_out)
''', "numpy"),
    "inline_two_returns": ("inline helper with an early return",
                           STEP_WRITTEN, '''
            n_out = save_two_returns(t_new, y_new, t_out, y_out, n_out)
''', "numpy"),
    "inline_loop_early_return": ("all_finite(y_new): inline helper, loop with early return",
                                 STEP_WRITTEN, '''
            if not all_finite(y_new):
                k = n_steps
''' + SAVE_WRITTEN, "numpy"),
    "returns_arrays": ("t_out, y_out, n_out = save_grow(...): helper returns the arrays",
                       STEP_WRITTEN, '''
            t_out, y_out, n_out = save_grow(t_new, y_new, t_out, y_out, n_out)
''', "numpy"),
    "reassigned_in_loop": ("written out, t_out = grow_1d(t_out, ...) inside the inner loop",
                           STEP_WRITTEN, '''
            t_out = grow_1d(t_out, n_out + 1)
            y_out = grow_2d(y_out, n_out + 1)
''' + SAVE_WRITTEN, "numpy"),
    "tuple_of_arrays": ("inline helper taking the buffers as one tuple",
                        STEP_WRITTEN, '''
            save_tuple(t_new, y_new, out, n_out)
            n_out += 1
''', "numpy"),
    "row_view": ("inline helper given a row view K[0] instead of y_new",
                 STEP_WRITTEN, '''
            save_inline(t_new, K[0], t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "inline_12_arrays": ("inline helper, 12 array arguments, 3 used",
                         STEP_WRITTEN, '''
            save_many(t_new, y_new, t_out, y_out, n_out, y, K, Q, a, a, a, a, a, a)
            n_out += 1
''', "numpy"),
    "inline_12_arrays_used": ("inline helper, 12 array arguments, all read",
                              STEP_WRITTEN, '''
            save_many_used(t_new, y_new, t_out, y_out, n_out, y, K[0], y_new, a, a, a, a, a, a)
            n_out += 1
''', "numpy"),
    "divide_numpy": ("inline helper with a float division, error_model='numpy'",
                     STEP_WRITTEN, '''
            save_divide(t, h, t_new, y_new, t_out, y_out, n_out)
            n_out += 1
''', "numpy"),
    "divide_python": ("same, error_model='python' (ZeroDivisionError exit)",
                      STEP_WRITTEN, '''
            save_divide(t, h, t_new, y_new, t_out, y_out, n_out)
            n_out += 1
''', "python"),
    "intrinsic": ("RHS through the @intrinsic call_rhs_row (cfunc), save written out",
                  STEP_INTRINSIC, SAVE_WRITTEN, "numpy"),
}


def build(name):
    """Compile pattern ``name``; returns the dispatcher."""
    _, step, save, error_model = PATTERNS[name]
    src = TEMPLATE.format(name=name, step=step.strip("\n"), save=save.strip("\n"))
    namespace = dict(globals())
    exec(compile(src, f"<pattern {name}>", "exec"), namespace)
    return njit(nogil=True, error_model=error_model)(namespace[name])


@cfunc(types.void(types.float64, types.CPointer(types.float64), types.CPointer(types.float64),
                  types.CPointer(types.float64)))
def _lotka_volterra(t, y_ptr, p_ptr, out_ptr):
    y = carray(y_ptr, 2)
    out = carray(out_ptr, 2)
    out[0] = 1.5 * y[0] - y[0] * y[1]
    out[1] = -3.0 * y[1] + y[0] * y[1]


RHS = _lotka_volterra.address
P = np.zeros(1)
Y0 = np.array([10.0, 5.0])


def make_args(n_steps):
    return (n_steps, Y0, P, RHS)
