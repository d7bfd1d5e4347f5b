"""The in-place LU of fastode.kernels.linalg against numpy's solver."""
import numpy as np
import pytest

from fastode.kernels.linalg import lu_factor, lu_solve


@pytest.mark.parametrize("n", [1, 2, 5, 17])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_lu_solves_like_numpy(n, dtype):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n))
    b = rng.standard_normal(n)
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal((n, n))
        b = b + 1j * rng.standard_normal(n)
    lu = a.astype(dtype).copy()
    piv = np.empty(n, dtype=np.int64)
    assert lu_factor(lu, piv) == 0
    x = lu_solve(lu, piv, b.astype(dtype).copy())
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


def test_pivoting_needed():
    a = np.array([[0.0, 1.0], [1.0, 0.0]])
    piv = np.empty(2, dtype=np.int64)
    lu = a.copy()
    assert lu_factor(lu, piv) == 0
    np.testing.assert_allclose(lu_solve(lu, piv, np.array([2.0, 3.0])), [3.0, 2.0])


def test_singular_matrix_reported():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    piv = np.empty(2, dtype=np.int64)
    assert lu_factor(a.copy(), piv) == 2
