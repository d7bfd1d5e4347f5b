"""fastode.langevin: Gaussian moments per method, MALA acceptance, ESS, reproducibility."""
import math

import numba
import numpy as np
import pytest

from fastode.langevin import effective_sample_size, sample

MU = np.array([1.0, -2.0])
SIGMA = np.array([[1.0, 0.5], [0.5, 2.0]])
PREC = np.linalg.inv(SIGMA)


def grad(x, mu, prec):
    d = x - mu
    return np.array([-(prec[0, 0] * d[0] + prec[0, 1] * d[1]),
                     -(prec[1, 0] * d[0] + prec[1, 1] * d[1])])


def logp(x, mu, prec):
    d = x - mu
    return -0.5 * (d[0] * (prec[0, 0] * d[0] + prec[0, 1] * d[1])
                   + d[1] * (prec[1, 0] * d[0] + prec[1, 1] * d[1]))


def run(method, step, n_samples=4000, chains=16, **kw):
    return sample(grad, MU, method=method, step=step, n_samples=n_samples, n_chains=chains,
                  burn_in=500, thin=2, log_density=logp, args=(MU, PREC), seed=7, **kw)


def ula_covariance(h):
    """The exact stationary covariance of ULA on this Gaussian: solves
    C = (I - hP) C (I - hP)^T + 2h I (P the precision)."""
    A = np.eye(2) - h * PREC
    M = np.eye(4) - np.kron(A, A)
    return np.linalg.solve(M, (2 * h * np.eye(2)).ravel()).reshape(2, 2)


@pytest.mark.parametrize("method, step", [("MALA", 0.5), ("BAOAB", 0.3), ("OBABO", 0.3),
                                          ("ULA", 0.3)])
def test_gaussian_moments(method, step):
    res = run(method, step)
    assert res.success
    x = res.samples.reshape(-1, 2)
    ess = res.ess
    assert np.all(ess > 2000), ess
    target = ula_covariance(step) if method == "ULA" else SIGMA
    se_mean = np.sqrt(np.diag(target) / ess)
    assert np.all(np.abs(x.mean(axis=0) - MU) < 5 * se_mean)
    cov = np.cov(x.T)
    se_var = np.diag(target) * np.sqrt(2 / ess)
    assert np.all(np.abs(np.diag(cov) - np.diag(target)) < 5 * se_var), (cov, target)
    assert abs(cov[0, 1] - target[0, 1]) < 5 * math.sqrt(target[0, 0] * target[1, 1] / ess.min())
    if method == "ULA":
        # ULA's bias is visible (so the check above tells ULA from an exact sampler)
        assert abs(cov[1, 1] - SIGMA[1, 1]) > 5 * se_var[1]


def test_mala_acceptance():
    small = run("MALA", 0.1, n_samples=1000, chains=4).acceptance_rate
    large = run("MALA", 1.2, n_samples=1000, chains=4).acceptance_rate
    assert np.all((small > 0.9) & (small < 1.0))
    assert np.all(large < 0.7) and large.mean() < small.mean()
    assert np.all(run("ULA", 0.1, n_samples=100, chains=2).acceptance_rate == 1.0)


def test_ess_estimator():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4, 5000, 1))
    assert 0.85 * 20000 < effective_sample_size(iid)[0] < 1.15 * 20000
    phi = 0.9  # AR(1): tau = (1 + phi) / (1 - phi) = 19
    x = np.zeros((4, 20000, 1))
    e = rng.standard_normal((4, 20000))
    for t in range(1, 20000):
        x[:, t, 0] = phi * x[:, t - 1, 0] + e[:, t]
    ess = effective_sample_size(x)[0]
    assert 0.75 * 80000 / 19 < ess < 1.25 * 80000 / 19


def test_chains_reproducible_across_threads_and_chunks():
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run("BAOAB", 0.3, n_samples=200, chains=6)
    finally:
        numba.set_num_threads(previous)
    two = run("BAOAB", 0.3, n_samples=200, chains=6)
    part = run("BAOAB", 0.3, n_samples=200, chains=2, first_chain=4)
    assert np.array_equal(one.samples, two.samples)
    assert np.array_equal(part.samples, one.samples[4:])
    mala = [run("MALA", 0.5, n_samples=200, chains=3), run("MALA", 0.5, n_samples=200, chains=3)]
    assert np.array_equal(mala[0].samples, mala[1].samples)


def test_nonfinite_gradient_stops_only_that_chain():
    def g(x):
        return np.array([np.nan if x[0] > 50.0 else -x[0]])
    x0 = np.array([[0.0], [100.0], [0.0]])
    res = sample(g, x0, method="ULA", step=0.1, n_samples=50, n_chains=3, seed=1)
    assert not res.success
    assert np.isnan(res.samples[1]).all()
    assert np.isfinite(res.samples[[0, 2]]).all()
    assert res.failed_chains.tolist() == [1]
    assert "1 of 3 chains" in res.message and "[1]" in res.message
    ok = sample(g, x0[[0, 2]], method="ULA", step=0.1, n_samples=50, n_chains=2, seed=1)
    assert ok.success and ok.failed_chains.size == 0 and "All chains" in ok.message


@pytest.mark.parametrize("kwargs, error, word", [
    (dict(method="HMC"), ValueError, "method"),
    (dict(method="MALA", log_density=None), ValueError, "log_density"),
    (dict(step=-1.0), ValueError, "step"),
    (dict(n_chains=0), ValueError, "n_chains"),
    (dict(thin=0), ValueError, "thin"),
    (dict(friction=0.0), ValueError, "friction"),
])
def test_bad_input(kwargs, error, word):
    base = dict(method="BAOAB", step=0.1, n_samples=10, args=(MU, PREC), log_density=logp)
    base.update(kwargs)
    with pytest.raises(error, match=word):
        sample(grad, MU, **base)
    with pytest.raises(ValueError, match="x0"):
        sample(grad, [np.nan, 0.0], args=(MU, PREC))
    with pytest.raises(ValueError, match=r"grad_log_density` returned shape \(1,\)"):
        sample(lambda x: np.array([1.0]), MU)


def test_baoab_matches_the_scheme_on_its_normals():
    """BAOAB (v += h/2 F; x += h/2 v; v = c v + s xi; x += h/2 v; v += h/2 F) written in
    numpy on the chain's own normals (Philox stream of chain 0) gives the kernel's states
    (the kernel folds A O A into one update of x: equal up to rounding)."""
    from fastode.langevin import sample
    from fastode.sde.random import normals

    def grad(x):
        return np.array([-x[0] ** 3 + x[0]])

    h, gamma, n = 0.05, 0.7, 300
    res = sample(grad, [0.3], method="BAOAB", step=h, n_samples=n, friction=gamma, seed=11)
    xi = normals(11, 0, n)
    c = np.exp(-gamma * h)
    s = np.sqrt(1 - c * c)
    x, v = 0.3, 0.0
    ref = []
    for k in range(n):
        v += 0.5 * h * (-x ** 3 + x)
        x += 0.5 * h * v
        v = c * v + s * xi[k]
        x += 0.5 * h * v
        v += 0.5 * h * (-x ** 3 + x)
        ref.append(x)
    np.testing.assert_allclose(res.samples[0, :, 0], ref, rtol=1e-9, atol=1e-12)
