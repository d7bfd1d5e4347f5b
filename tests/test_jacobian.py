"""Jacobians of the implicit path: finite differences (dense and grouped), user Jacobians
(callable, constant, numba cfunc), and that every form gives the same solution."""
import numpy as np
import pytest
import scipy.sparse
from numba import carray, cfunc

import fastode
from fastode.kernels.jacobian import (FD_NUM_JAC, FD_NUM_JAC_BDF, FD_SCALED, JAC_FD,
                                      JAC_FD_GROUPED, band_columns, band_groups, cpr_groups,
                                      evaluate_jacobian, fd_jacobian_dense, fd_jacobian_grouped,
                                      num_jac_dense, num_jac_grouped, pattern_columns)
from fastode.rhs import RHS_SIGNATURE
from test_rosenbrock import ROSENBROCK, robertson, robertson_jac

N_BRUSS = 40


def brusselator_1d(t, y):
    """1-D Brusselator by the method of lines (u, v interleaved): a band of width 2 each side."""
    n = y.shape[0] // 2
    a, b, alpha = 1.0, 3.0, 0.02 * (n + 1) ** 2
    out = np.empty(2 * n)
    for i in range(n):
        u = y[2 * i]
        v = y[2 * i + 1]
        ul = y[2 * i - 2] if i > 0 else 1.0
        ur = y[2 * i + 2] if i < n - 1 else 1.0
        vl = y[2 * i - 1] if i > 0 else 3.0
        vr = y[2 * i + 3] if i < n - 1 else 3.0
        out[2 * i] = a + u * u * v - (b + 1.0) * u + alpha * (ul - 2.0 * u + ur)
        out[2 * i + 1] = b * u - u * u * v + alpha * (vl - 2.0 * v + vr)
    return out


def bruss_y0():
    x = np.arange(1, N_BRUSS + 1) / (N_BRUSS + 1)
    y0 = np.empty(2 * N_BRUSS)
    y0[0::2] = 1.0 + np.sin(2 * np.pi * x)
    y0[1::2] = 3.0
    return y0


def bruss_pattern():
    m = 2 * N_BRUSS
    i = np.arange(m)[:, None]
    j = np.arange(m)[None, :]
    return np.abs(i - j) <= 2


# ---- the kernels -----------------------------------------------------------------------------

def test_cpr_grouping_band():
    cols = band_columns(10, 1, 2)
    group_ptr, group_cols, col_ptr, rows = cpr_groups(cols, 10)
    assert group_ptr.size - 1 == 4  # lband + uband + 1 groups
    for g in range(4):
        members = group_cols[group_ptr[g]:group_ptr[g + 1]]
        touched = np.concatenate([rows[col_ptr[j]:col_ptr[j + 1]] for j in members])
        assert np.unique(touched).size == touched.size  # no shared row
    assert sorted(group_cols) == list(range(10))


def test_cpr_grouping_sparse_pattern_adds_diagonal():
    pattern = scipy.sparse.csr_matrix(np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0]]))
    cols = pattern_columns(pattern)
    assert [list(c) for c in cols] == [[0, 2], [0, 1], [2]]


def test_fd_kernels_agree_with_numpy_differences():
    from fastode.ivp_common import compiled_rhs, pack
    y0 = bruss_y0()
    m = y0.size
    specs, p = pack(())
    rhs = compiled_rhs(brusselator_1d, 0.0, y0, m, False, (), specs, False)
    f0 = brusselator_1d(0.0, y0)
    J = np.zeros((m, m))
    atol = np.full(m, 1e-6)
    assert fd_jacobian_dense(rhs.address, p, 0.0, y0, f0, atol, J, np.empty(m),
                             np.empty(m)) == m
    Jg = np.zeros((m, m))
    struct = cpr_groups(pattern_columns(bruss_pattern()), m)
    calls = fd_jacobian_grouped(rhs.address, p, 0.0, y0, f0, atol, Jg, False, 0, *struct,
                                np.empty(m), np.empty(m), np.empty(m))
    assert calls == 5
    np.testing.assert_array_equal(J, Jg)
    # a centred difference in numpy as an independent check
    Jc = np.empty((m, m))
    for j in range(m):
        e = np.zeros(m)
        e[j] = 1e-6
        Jc[:, j] = (brusselator_1d(0.0, y0 + e) - brusselator_1d(0.0, y0 - e)) / 2e-6
    np.testing.assert_allclose(J, Jc, atol=2e-5 * np.abs(Jc).max())


def _compiled(fun, y0):
    from fastode.ivp_common import compiled_rhs, pack
    specs, p = pack(())
    return compiled_rhs(fun, 0.0, y0, y0.size, False, (), specs, False), p


@pytest.mark.parametrize("scheme", [FD_NUM_JAC, FD_NUM_JAC_BDF])
def test_num_jac_grouped_and_banded_equal_dense(scheme):
    """scipy's num_jac by column groups, into the dense J and into band storage, gives the
    dense num_jac's entries and increment factors (the pattern is f's), in both schemes."""
    y0 = bruss_y0()
    m = y0.size
    rhs, p = _compiled(brusselator_1d, y0)
    f0 = brusselator_1d(0.0, y0)
    atol = np.full(m, 1e-6)
    factor0 = np.full(m, np.sqrt(np.finfo(float).eps))
    factor0[::3] = 1e-16  # some columns drown in round-off: the 10x retry runs
    J = np.zeros((m, m))
    fd = factor0.copy()
    dense_calls = num_jac_dense(rhs.address, p, 0.0, y0, f0, atol, J, fd, *np.empty((4, m)))
    assert dense_calls > m  # retries happened
    struct = band_groups(m, 2, 2)
    Jg = np.zeros((m, m))
    fg = factor0.copy()
    num_jac_grouped(rhs.address, p, 0.0, y0, f0, atol, Jg, False, 0, *struct, fg,
                    *np.empty((6, m)), scheme == FD_NUM_JAC_BDF)
    np.testing.assert_array_equal(Jg, J)
    np.testing.assert_array_equal(fg, fd)
    Jb = np.zeros((m, 5)).T  # band storage, F-ordered as the drivers keep it
    fb = factor0.copy()
    num_jac_grouped(rhs.address, p, 0.0, y0, f0, atol, Jb, True, 2, *struct, fb,
                    *np.empty((6, m)), scheme == FD_NUM_JAC_BDF)
    for j in range(m):
        for i in range(max(0, j - 2), min(m, j + 3)):
            assert Jb[2 + i - j, j] == J[i, j]
    np.testing.assert_array_equal(fb, fd)
    # the dispatch: every grouped and dense form through evaluate_jacobian
    for mode, kl in ((JAC_FD, -1), (JAC_FD_GROUPED, -1), (JAC_FD_GROUPED, 2)):
        Je = np.zeros((m, m))
        Jbe = np.zeros((m, 5)).T
        fe = factor0.copy()
        evaluate_jacobian(mode, scheme, rhs.address, 0, p, 0.0, y0, f0, atol, Je, Jbe, kl, 2,
                          *struct, fe, *np.empty((6, m)))
        if kl < 0:
            np.testing.assert_array_equal(Je, J)
        else:
            np.testing.assert_array_equal(Jbe, Jb)
        np.testing.assert_array_equal(fe, fd)


def zero_column(t, y):
    return np.array([y[0] - 1.0, y[1] * y[1], 2.0])


def test_num_jac_grouped_zero_column_scale_per_scheme():
    """A column with no change at all (f_2 constant) grouped with column 0, at f0[0] = 0: as
    the dense num_jac, Radau's scheme scales it by |f0[0]| = 0 (factor kept, no retry); BDF's,
    as scipy's sparse num_jac, by |f(y + h)[0]| > 0 (one retry call, factor 10x)."""
    y0 = np.array([1.0, 0.5, 3.0])
    rhs, p = _compiled(zero_column, y0)
    f0 = zero_column(0.0, y0)
    atol = np.full(3, 1e-6)
    factor0 = np.full(3, np.sqrt(np.finfo(float).eps))
    struct = cpr_groups([np.array([j]) for j in range(3)], 3)  # one group of three columns
    assert struct[0].size - 1 == 1
    fd = factor0.copy()
    num_jac_dense(rhs.address, p, 0.0, y0, f0, atol, np.zeros((3, 3)), fd, *np.empty((4, 3)))
    calls = {}
    factors = {}
    for scheme in (FD_NUM_JAC, FD_NUM_JAC_BDF):
        f = factor0.copy()
        J = np.zeros((3, 3))
        calls[scheme] = num_jac_grouped(rhs.address, p, 0.0, y0, f0, atol, J, False, 0, *struct,
                                        f, *np.empty((6, 3)), scheme == FD_NUM_JAC_BDF)
        factors[scheme] = f
        assert J[2, 2] == 0.0 and J[0, 0] == pytest.approx(1.0)
    np.testing.assert_array_equal(factors[FD_NUM_JAC], fd)
    assert calls[FD_NUM_JAC] == 1
    assert calls[FD_NUM_JAC_BDF] == 2
    assert factors[FD_NUM_JAC_BDF][2] == pytest.approx(10.0 * factor0[2])
    np.testing.assert_array_equal(factors[FD_NUM_JAC_BDF][:2], fd[:2])


def test_fd_jacobian_grouped_banded_storage():
    """Hairer-increment differences by column groups into band storage: the dense entries."""
    y0 = bruss_y0()
    m = y0.size
    rhs, p = _compiled(brusselator_1d, y0)
    f0 = brusselator_1d(0.0, y0)
    atol = np.full(m, 1e-6)
    J = np.zeros((m, m))
    fd_jacobian_dense(rhs.address, p, 0.0, y0, f0, atol, J, np.empty(m), np.empty(m))
    Jb = np.zeros((m, 5)).T
    Jbe = np.zeros((m, 5)).T
    struct = band_groups(m, 2, 2)
    assert fd_jacobian_grouped(rhs.address, p, 0.0, y0, f0, atol, Jb, True, 2, *struct,
                               *np.empty((3, m))) == 5
    assert evaluate_jacobian(JAC_FD_GROUPED, FD_SCALED, rhs.address, 0, p, 0.0, y0, f0, atol,
                             np.zeros((1, 1)), Jbe, 2, 2, *struct, *np.empty((7, m))) == 5
    for j in range(m):
        for i in range(max(0, j - 2), min(m, j + 3)):
            assert Jb[2 + i - j, j] == J[i, j]
    np.testing.assert_array_equal(Jbe, Jb)


# ---- through solve_ivp -----------------------------------------------------------------------

@pytest.mark.parametrize("method", ROSENBROCK)
def test_analytic_and_fd_jacobian_agree(method):
    kw = dict(method=method, rtol=1e-7, atol=1e-11, t_eval=[1.0, 100.0, 1e4])
    fd = fastode.solve_ivp(robertson, (0.0, 1e4), [1.0, 0.0, 0.0], **kw)
    an = fastode.solve_ivp(robertson, (0.0, 1e4), [1.0, 0.0, 0.0], jac=robertson_jac, **kw)
    assert an.success and fd.success
    np.testing.assert_allclose(an.y, fd.y, rtol=1e-5, atol=1e-11)
    # the analytic Jacobian costs no RHS calls
    assert an.nfev < fd.nfev
    assert an.njev == an.naccept


def test_jacobian_cfunc():
    @cfunc(RHS_SIGNATURE)
    def jac_c(t, y_ptr, p_ptr, out_ptr):
        y = carray(y_ptr, (3,))
        J = carray(out_ptr, (9,))
        J[0], J[1], J[2] = -0.04, 1e4 * y[2], 1e4 * y[1]
        J[3], J[4], J[5] = 0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]
        J[6], J[7], J[8] = 0.0, 6e7 * y[1], 0.0

    a = fastode.solve_ivp(robertson, (0.0, 100.0), [1.0, 0.0, 0.0], method="Rodas4", jac=jac_c,
                          rtol=1e-8, atol=1e-12)
    b = fastode.solve_ivp(robertson, (0.0, 100.0), [1.0, 0.0, 0.0], method="Rodas4",
                          jac=robertson_jac, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(a.y, b.y)


def linear3(t, y):
    return np.array([-y[0] + 0.5 * y[1], -100.0 * y[1] + y[2], -1000.0 * y[2]])


@pytest.mark.parametrize("form", ["array", "list", "sparse"])
def test_constant_jacobian(form):
    A = np.array([[-1.0, 0.5, 0.0], [0.0, -100.0, 1.0], [0.0, 0.0, -1000.0]])
    jac = {"array": A, "list": A.tolist(), "sparse": scipy.sparse.csr_matrix(A)}[form]
    sol = fastode.solve_ivp(linear3, (0.0, 2.0), [1.0, 1.0, 1.0], method="Rodas4", jac=jac,
                            rtol=1e-8, atol=1e-12)
    assert sol.njev == 0  # a constant matrix is not evaluated (scipy counts it the same)
    fd = fastode.solve_ivp(linear3, (0.0, 2.0), [1.0, 1.0, 1.0], method="Rodas4", rtol=1e-8,
                           atol=1e-12)
    np.testing.assert_allclose(sol.y[:, -1], fd.y[:, -1], rtol=1e-6, atol=1e-12)


def test_jacobian_with_args():
    def f(t, y, k):
        return np.array([-k * y[0] + y[1], -y[1]])

    def jac(t, y, k):
        return np.array([[-k, 1.0], [0.0, -1.0]])

    a = fastode.solve_ivp(f, (0.0, 1.0), [1.0, 1.0], method="Rodas4", jac=jac, args=(50.0,),
                          rtol=1e-9, atol=1e-12)
    b = fastode.solve_ivp(f, (0.0, 1.0), [1.0, 1.0], method="Rodas4", args=(50.0,), rtol=1e-9,
                          atol=1e-12)
    np.testing.assert_allclose(a.y[:, -1], b.y[:, -1], rtol=1e-7)
    # new values of args reach the compiled Jacobian
    c = fastode.solve_ivp(f, (0.0, 1.0), [1.0, 1.0], method="Rodas4", jac=jac, args=(5.0,),
                          rtol=1e-9, atol=1e-12)
    assert abs(c.y[0, -1] - a.y[0, -1]) > 1e-3


@pytest.mark.parametrize("method", ROSENBROCK)
@pytest.mark.parametrize("how", ["dense_pattern", "sparse_pattern", "band"])
def test_sparsity_and_band_give_identical_answers(method, how):
    y0 = bruss_y0()
    kw = dict(method=method, rtol=1e-6, atol=1e-9)
    dense = fastode.solve_ivp(brusselator_1d, (0.0, 2.0), y0, **kw)
    extra = {"dense_pattern": dict(jac_sparsity=bruss_pattern()),
             "sparse_pattern": dict(jac_sparsity=scipy.sparse.csr_matrix(bruss_pattern())),
             "band": dict(lband=2, uband=2)}[how]
    grouped = fastode.solve_ivp(brusselator_1d, (0.0, 2.0), y0, **kw, **extra)
    assert grouped.success
    # the same Jacobian, factored by the banded LU (a band this narrow in n = 80 takes the
    # banded path, fastode.ivp_implicit.band_of), whose arithmetic is the dense LU's: identical
    np.testing.assert_array_equal(grouped.y, dense.y)
    assert grouped.naccept == dense.naccept
    # 5 RHS calls per Jacobian instead of 80
    assert dense.nfev - grouped.nfev == dense.njev * (y0.size - 5)


def test_jac_overrides_sparsity():
    sol = fastode.solve_ivp(robertson, (0.0, 10.0), [1.0, 0.0, 0.0], method="Rodas4",
                            jac=robertson_jac, jac_sparsity=np.ones((3, 3)))
    assert sol.success


def test_jac_literal_rewritten_in_place():
    # a jac returning an (n, n) literal is compiled to write the kernel's matrix in place
    # (fastode.rhs_inplace.rewrite_matrix_returns), every branch, checked against Python
    import ast
    import ctypes
    import inspect
    import textwrap

    from fastode.ivp_jacobian import compile_jac
    from fastode.ivp_common import pack
    from fastode.rhs import Extras
    from fastode.rhs_inplace import rewrite_matrix_returns

    def jac(t, y, a):
        if y[0] > 0:
            return np.array([[a, y[1]], [0, -1.0]])
        return np.array([[-a, 2 * y[1]], [y[0], 1]])

    func = ast.parse(textwrap.dedent(inspect.getsource(jac))).body[0]
    assert rewrite_matrix_returns(func, 2, {"np"})
    assert func.args.args[-1].arg.endswith("out")
    wrong = ast.parse("def f(t, y):\n    return np.array([[1.0, 2.0], [3.0]])").body[0]
    assert not rewrite_matrix_returns(wrong, 2, {"np"})
    assert not rewrite_matrix_returns(ast.parse("def f(t, y):\n    return y").body[0], 2,
                                      {"np"})
    args = (1.5,)
    specs, p = pack(args)
    extras = Extras(specs)
    y0 = np.array([1.0, 2.0])
    _, compiled = compile_jac(jac, 2, args, False, 0.0, y0, extras)
    p = np.ascontiguousarray(extras.pack(args, specs, p), dtype=np.float64)
    ptr = ctypes.POINTER(ctypes.c_double)
    for y in (np.array([1.0, 2.0]), np.array([-3.0, 0.5])):
        out = np.full(4, np.nan)
        compiled.keepalive.ctypes(0.0, y.ctypes.data_as(ptr), p.ctypes.data_as(ptr),
                                  out.ctypes.data_as(ptr))
        np.testing.assert_array_equal(out.reshape(2, 2), jac(0.0, y, *args))
