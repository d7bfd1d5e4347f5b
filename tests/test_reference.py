"""The Rust reference (rust_ref/, fastode.reference) against fastode's numba kernels and scipy.

The crate is built with cargo on first use (a no-op when it is up to date); without cargo these
tests are skipped. ``cargo test`` runs the crate's own unit tests.
"""
import functools
import math
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import scipy.integrate

import fastode
import fastode.reference as ref
from conftest import STANDARD

pytest.importorskip("cffi", reason="fastode.reference needs cffi (pip install cffi)")
CARGO = shutil.which("cargo")
CC = shutil.which("cc") or shutil.which("gcc")


@pytest.fixture(scope="module", autouse=True)
def library():
    """Build (or bring up to date) the library once for this module."""
    if CARGO is None:
        if ref.available():
            return ref.load()
        pytest.skip("cargo is not installed: cannot build rust_ref "
                    f"(`{ref.build_command_text()}`)")
    ref.build()
    return ref.load()


def max_ulps(a, b):
    """max |a - b| in units of the spacing of each component's largest magnitude."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    spacing = np.spacing(np.maximum(np.max(np.abs(a), axis=1, keepdims=True), 1e-300))
    return float(np.max(np.abs(a - b) / spacing))


def rel_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(a)))


# ---- the crate's own tests and the C header ----------------------------------------------------

@pytest.mark.skipif(CARGO is None, reason="cargo is not installed")
def test_cargo_test_passes():
    proc = subprocess.run([CARGO, "test", "--offline", "--quiet"], cwd=ref.CRATE_DIR,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "test result: ok" in proc.stdout


def test_header_status_codes_match_the_binding():
    with open(os.path.join(ref.CRATE_DIR, "include", "fastode_ref.h")) as fh:
        header = fh.read()
    defines = dict(re.findall(r"#define FASTODE_REF_(\w+)\s+(-?\d+)", header))
    assert int(defines.pop("ABI_VERSION")) == ref.ABI_VERSION
    assert len(defines) == 16
    for name, value in defines.items():
        assert getattr(ref, name) == int(value), name
        assert ref.status_message(int(value)) != "unknown status code"


C_SMOKE = r"""
#include <math.h>
#include <stdio.h>
#include "fastode_ref.h"
static void decay(double t, const double *y, const double *p, double *dydt) {
    (void)t; dydt[0] = -p[0] * y[0];
}
int main(void) {
    double p[1] = {2.0}, y0[1] = {1.0}, rtol[1] = {1e-10}, atol[1] = {1e-12};
    double t_eval[2] = {1.0, 3.0}, t_out[2], y_out[2];
    size_t n_out = 0;
    fastode_ref_stats st;
    int code = fastode_ref_dopri5(decay, p, 1, 0.0, 3.0, y0, rtol, atol, 0.0, INFINITY, 0,
                                  t_eval, 2, t_out, y_out, 2, &n_out, &st);
    size_t n_first = n_out;
    int bad = fastode_ref_rodas4(decay, p, 0, 0.0, 3.0, y0, rtol, atol, 0.0, INFINITY, 0,
                                 t_eval, 2, t_out, y_out, 2, &n_out, &st);
    printf("%d %d %zu %.3e %.3e %d\n", code, bad, n_first, fabs(y_out[0] - exp(-2.0)),
           fabs(y_out[1] - exp(-6.0)), fastode_ref_abi_version() == FASTODE_REF_ABI_VERSION);
    return 0;
}
"""


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_c_header_links_and_runs(tmp_path):
    src = tmp_path / "smoke.c"
    src.write_text(C_SMOKE)
    lib_dir = os.path.dirname(ref.library_path())
    exe = tmp_path / "smoke"
    subprocess.run([CC, "-std=c99", "-Wall", "-Werror", "-I",
                    os.path.join(ref.CRATE_DIR, "include"), str(src), "-L", lib_dir,
                    "-lfastode_ref", "-lm", "-o", str(exe)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, LD_LIBRARY_PATH=lib_dir)).stdout.split()
    assert out[:3] == ["0", str(ref.ERR_BAD_SIZE), "2"] and out[5] == "1"
    assert float(out[3]) < 1e-10 and float(out[4]) < 1e-10


# ---- the lecture's examples: Rust, numba and closed form give the same numbers -------------------

def decay(t, y):
    return -y


def oscillator(t, y):
    return np.array([y[1], -y[0]])


def test_lecture_euler_decay():
    rust_lecture, _ = ref.lecture_examples()
    closed = (1.0 - 0.005) ** 1000
    numba = fastode.solve_ivp(decay, (0.0, 5.0), [1.0], method="euler", step=0.005)
    rust = ref.solve_ivp(decay, (0.0, 5.0), [1.0], method="euler", step=0.005)
    assert len(numba.t) == len(rust.t) == 1001
    assert numba.y[0, -1] == rust.y[0, -1]          # same grid, same arithmetic
    # the lecture's loop steps with a constant h and t += h; the solvers on the grid t0 + k h:
    # the step sizes telescope, so the results differ only in the last bits
    for value in (rust_lecture, numba.y[0, -1]):
        assert value == pytest.approx(closed, rel=1e-13, abs=0)
    assert abs(closed - math.exp(-5.0)) < 1e-4        # Euler's global error at h = 0.005
    print(f"lecture Euler y(5): Rust {rust_lecture!r}, numba {numba.y[0, -1]!r}, "
          f"(1 - 0.005)^1000 = {closed!r}, e^-5 = {math.exp(-5.0)!r}")


def test_lecture_harmonic_oscillator():
    _, rust_lecture = ref.lecture_examples()
    h = (math.pi / 2) / 100
    M = np.array([[1.0, h], [-h, 1.0]])
    closed = np.linalg.matrix_power(M, 100) @ np.array([1.0, 0.0])
    polar = (1 + h * h) ** 50 * np.array([math.cos(100 * math.atan(h)),
                                          -math.sin(100 * math.atan(h))])
    numba = fastode.solve_ivp(oscillator, (0.0, math.pi / 2), [1.0, 0.0], method="euler", step=h)
    rust = ref.solve_ivp(oscillator, (0.0, math.pi / 2), [1.0, 0.0], method="euler", step=h)
    assert len(numba.t) == len(rust.t) == 101
    np.testing.assert_array_equal(numba.y[:, -1], rust.y[:, -1])
    for value in (rust_lecture, numba.y[:, -1], polar):
        np.testing.assert_allclose(value, closed, rtol=0, atol=1e-14)
    # the exact flow ends at (0, -1); Euler spirals out by (1 + h^2)^50 = 1.0124
    assert abs(closed[0]) < 1e-3 and closed[1] == pytest.approx(-1.0124, abs=1e-4)


# ---- fixed step: Euler and RK4 agree with the numba kernels to a few ulps ------------------------

@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("name", sorted(STANDARD))
def test_fixed_step_agrees_with_numba(method, name):
    fun, (t0, t1), y0 = STANDARD[name]
    h = (t1 - t0) / 2000
    a = fastode.solve_ivp(fun, (t0, t1), y0, method=method, step=h)
    b = ref.solve_ivp(fun, (t0, t1), y0, method=method, step=h)
    assert a.success and b.success
    np.testing.assert_array_equal(a.t, b.t)  # same grid t0 + k h, last step ending at t1
    assert (a.nfev, a.naccept) == (b.nfev, b.naccept)
    if name == "arenstorf":
        # the close approaches to the moon amplify last-bit differences over a period: check
        # the first 100 steps in ulps and the whole period relatively
        assert max_ulps(a.y[:, :101], b.y[:, :101]) <= 4
        assert rel_diff(a.y, b.y) < 1e-12
    else:
        assert max_ulps(a.y, b.y) <= 16


def test_fixed_step_dense_output_and_backward():
    fun, _, y0 = STANDARD["lotka_volterra"]
    t_eval = np.linspace(3.0, 0.0, 7)
    a = fastode.solve_ivp(fun, (3.0, 0.0), y0, method="rk4", step=0.01, t_eval=t_eval)
    b = ref.solve_ivp(fun, (3.0, 0.0), y0, method="rk4", step=0.01, t_eval=t_eval)
    np.testing.assert_array_equal(b.t, t_eval)
    assert rel_diff(a.y, b.y) < 1e-13   # both cubic Hermite between grid points


# ---- Dormand-Prince 5(4): the same accepted steps as fastode RK45 --------------------------------

@pytest.mark.parametrize("rtol", [1e-3, 1e-6, 1e-9])
@pytest.mark.parametrize("name", sorted(STANDARD))
def test_dopri5_takes_the_same_steps_as_fastode_rk45(name, rtol):
    fun, t_span, y0 = STANDARD[name]
    atol = rtol * 1e-3
    a = fastode.solve_ivp(fun, t_span, y0, method="RK45", rtol=rtol, atol=atol)
    b = ref.solve_ivp(fun, t_span, y0, method="RK45", rtol=rtol, atol=atol)
    assert a.success and b.success
    assert len(a.t) == len(b.t)
    assert (a.nfev, a.naccept, a.nreject) == (b.nfev, b.naccept, b.nreject)
    np.testing.assert_allclose(b.t, a.t, rtol=1e-12, atol=1e-12 * abs(t_span[1]))
    assert rel_diff(a.y, b.y) < 1e-12


@pytest.mark.scipy_compare
@pytest.mark.parametrize("name", sorted(STANDARD))
def test_dopri5_matches_scipy_steps_and_dense_output(name):
    """The same accepted steps as scipy's RK45, up to the rounding of scipy's error norm.

    scipy's norm and stage sums go through BLAS, whose summation order differs per CPU: the
    error estimate cancels to ~rtol |y|, so a one-ulp change in the stages moves the error norm
    by ~eps/rtol = 2e-10 relative and the next step by a fifth of that; the controller is
    contractive, so the times stay within ~1e-9 of the span (measured: 3e-10 on SkylakeX
    kernels) and 1e-6 of it is allowed, as in test_ivp_accuracy._check_same_run. The last-bit
    comparison is test_scipy_exact."""
    fun, t_span, y0 = STANDARD[name]
    s = scipy.integrate.solve_ivp(fun, t_span, y0, method="RK45", rtol=1e-6, atol=1e-9)
    b = ref.solve_ivp(fun, t_span, y0, method="RK45", rtol=1e-6, atol=1e-9)
    assert len(b.t) == len(s.t) and b.nfev == s.nfev
    assert np.abs(b.t - s.t).max() <= 1e-6 * abs(t_span[1] - t_span[0])
    # dense output (Hairer's form of Shampine's interpolant vs fastode's monomial form)
    t_eval = np.linspace(*t_span, 41)
    a = fastode.solve_ivp(fun, t_span, y0, method="RK45", rtol=1e-6, atol=1e-9, t_eval=t_eval)
    d = ref.solve_ivp(fun, t_span, y0, method="RK45", rtol=1e-6, atol=1e-9, t_eval=t_eval)
    np.testing.assert_array_equal(d.t, t_eval)
    assert rel_diff(a.y, d.y) < 1e-12
    assert (a.nfev, a.naccept) == (d.nfev, d.naccept)


def test_dopri5_args_complex_and_backward():
    def lv(t, y, a, b, c, d):
        return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])
    args = (1.5, 1.0, 3.0, 1.0)
    a = fastode.solve_ivp(lv, (0.0, 15.0), [10.0, 5.0], rtol=1e-8, atol=1e-10, args=args)
    b = ref.solve_ivp(lv, (0.0, 15.0), [10.0, 5.0], rtol=1e-8, atol=1e-10, args=args)
    assert len(a.t) == len(b.t) and rel_diff(a.y, b.y) < 1e-12

    def rotate(t, z):
        return 1j * z
    c = ref.solve_ivp(rotate, (0.0, -2.0), [1.0 + 0j], rtol=1e-10, atol=1e-12)
    assert c.success and c.y.dtype == np.complex128 and c.t[-1] == -2.0
    assert abs(c.y[0, -1] - np.exp(-2j)) < 1e-8


# ---- the stiff method: Rodas4 against scipy's Radau at rtol 1e-10 --------------------------------

def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def van_der_pol(t, y, mu):
    return np.array([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


STIFF = {
    # name: (fun, t_span, y0, args, atol factor (atol = rtol * factor), reference atol)
    "robertson": (robertson, (0.0, 1e5), [1.0, 0.0, 0.0], (), 1e-4, [1e-10, 1e-14, 1e-10]),
    "van_der_pol_1e3": (van_der_pol, (0.0, 3000.0), [2.0, 0.0], (1e3,), 1.0, 1e-10),
}


@functools.lru_cache(maxsize=None)
def stiff_reference(name):
    fun, t_span, y0, args, _, atol = STIFF[name]
    sol = scipy.integrate.solve_ivp(fun, t_span, y0, method="Radau", rtol=1e-10, atol=atol,
                                    args=args, dense_output=True)
    assert sol.success
    return sol


@pytest.mark.parametrize("rtol", [1e-4, 1e-6])
@pytest.mark.parametrize("name", sorted(STIFF))
def test_rodas4_agrees_with_scipy_radau(name, rtol):
    fun, t_span, y0, args, atol_factor, _ = STIFF[name]
    atol = rtol * atol_factor
    reference = stiff_reference(name)
    t_eval = np.linspace(*t_span, 31)
    r = ref.solve_ivp(fun, t_span, y0, method="Rodas4", rtol=rtol, atol=atol, args=args,
                      t_eval=t_eval)
    assert r.success, r.message
    assert r.njev == r.naccept and r.nlu == r.naccept + r.nreject
    expected = reference.sol(t_eval)
    # error in units of the tolerance: |y - y_ref| / (rtol max(|y_ref|, atol / rtol))
    scaled = np.abs(r.y - expected) / (rtol * np.maximum(np.abs(expected), atol_factor))
    # Robertson: well inside the tolerance. Van der Pol, mu = 1e3: the global error over two
    # relaxation periods is ~10-20x the local tolerance (scipy Radau ~2x, scipy BDF ~300x)
    limit = 10.0 if name == "robertson" else 50.0
    assert np.max(scaled) < limit, np.max(scaled, axis=1)
    # the stiff solver needs few steps where an explicit one needs ~1e5 or more
    assert r.naccept < (400 if name == "robertson" else 1500)
    if name == "robertson":
        np.testing.assert_allclose(r.y.sum(axis=0), 1.0, rtol=0, atol=1e-9)


# ---- error paths: status codes from the library, ValueError in Python ----------------------------

def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [], method="RK45")            # n = 0
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0], rtol=-1e-6)            # negative rtol
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0], t_eval=[0.5, 0.2])     # unsorted t_eval
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0], method="euler")        # no step
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0], method="euler", step=-0.1)
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0], method="LSODA")
    with pytest.raises(ValueError):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0], max_step=0.0)


def test_library_checks_its_arguments():
    """The library's own checks (fastode's validation bypassed) return codes -> ValueError."""
    rhs = fastode.rhs.compile_rhs(decay, 1, (), False, False)
    p = np.zeros(1)
    good = dict(rtol=[1e-6], atol=[1e-9])

    def code_of(method="dopri5", y0=(1.0,), t1=1.0, **kw):
        kwargs = dict(good, **kw)
        with pytest.raises(ref.ReferenceArgumentError) as info:
            ref.call(method, rhs.address, p, 0.0, t1, np.array(y0, dtype=float), **kwargs)
        assert isinstance(info.value, ValueError)
        return info.value.code

    assert code_of(y0=()) == ref.ERR_BAD_SIZE
    assert code_of(rtol=[-1e-6]) == ref.ERR_BAD_TOLERANCE
    assert code_of(atol=[np.nan]) == ref.ERR_BAD_TOLERANCE
    assert code_of(method="rodas4", rtol=[0.0]) == ref.ERR_BAD_TOLERANCE
    assert code_of(t_eval=[0.5, 0.2]) == ref.ERR_BAD_T_EVAL
    assert code_of(t_eval=[0.5, 2.0]) == ref.ERR_BAD_T_EVAL
    assert code_of(t1=np.inf) == ref.ERR_BAD_SPAN
    assert code_of(y0=(np.nan,)) == ref.ERR_BAD_Y0
    assert code_of(max_step=-1.0) == ref.ERR_BAD_STEP
    assert code_of(rtol=None) == ref.ERR_NULL_POINTER
    assert code_of(method="euler", h=0.0) == ref.ERR_BAD_STEP
    assert code_of(method="rk4", h=np.nan) == ref.ERR_BAD_STEP


def test_null_pointers_return_error_codes():
    ffi, lib = ref.load()
    rhs = fastode.rhs.compile_rhs(decay, 1, (), False, False)
    f = ffi.cast("fastode_rhs_fn", rhs.address)
    buf = {k: ffi.new("double[4]") for k in ("p", "y0", "rtol", "atol", "t_out", "y_out")}
    for k in ("y0", "rtol"):
        buf[k][0] = 1e-6 if k == "rtol" else 1.0
    n_out, stats = ffi.new("size_t *"), ffi.new("fastode_ref_stats *")

    def dopri(**override):
        a = dict(f=f, p=buf["p"], n=1, y0=buf["y0"], rtol=buf["rtol"], atol=buf["atol"],
                 t_eval=ffi.NULL, n_eval=0, t_out=buf["t_out"], y_out=buf["y_out"],
                 n_out=n_out, stats=stats)
        a.update(override)
        return lib.fastode_ref_dopri5(a["f"], a["p"], a["n"], 0.0, 1.0, a["y0"], a["rtol"],
                                      a["atol"], 0.0, np.inf, 0, a["t_eval"], a["n_eval"],
                                      a["t_out"], a["y_out"], 4, a["n_out"], a["stats"])

    # step mode: more steps than max_out = 4 -> the number needed comes back
    assert dopri() == ref.OUTPUT_TRUNCATED and n_out[0] > 4
    for name in ("f", "p", "y0", "rtol", "atol", "t_out", "y_out", "n_out", "stats"):
        assert dopri(**{name: ffi.NULL}) == ref.ERR_NULL_POINTER, name
    assert dopri(n_eval=2) == ref.ERR_NULL_POINTER          # t_eval NULL with n_eval > 0
    assert dopri(n=0) == ref.ERR_BAD_SIZE
    assert lib.fastode_ref_euler(f, buf["p"], 1, 0.0, 1.0, ffi.NULL, 0.1, ffi.NULL, 0,
                                 buf["t_out"], buf["y_out"], 4, n_out, stats) \
        == ref.ERR_NULL_POINTER
    assert lib.fastode_ref_rodas4(ffi.NULL, buf["p"], 1, 0.0, 1.0, buf["y0"], buf["rtol"],
                                  buf["atol"], 0.0, np.inf, 0, ffi.NULL, 0, buf["t_out"],
                                  buf["y_out"], 4, n_out, stats) == ref.ERR_NULL_POINTER
    assert lib.fastode_ref_lecture_harmonic(ffi.NULL) == ref.ERR_NULL_POINTER


def test_failed_integration_is_reported_not_raised():
    def blow_up(t, y):
        return np.array([y[0] ** 2])           # y = 1 / (1 - t): infinite at t = 1
    for method in ("RK45", "Rodas4"):
        r = ref.solve_ivp(blow_up, (0.0, 2.0), [1.0], method=method, rtol=1e-6, atol=1e-9)
        assert not r.success and r.status == -1
        assert 0.99 < r.t[-1] < 1.01 and r.message  # the numerical blow-up time
    r = ref.solve_ivp(blow_up, (0.0, 2.0), [1.0], method="RK45", max_steps=10)
    assert not r.success and "Maximum number of steps" in r.message


def test_missing_library_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(ref, "_loaded", None)
    monkeypatch.setenv("FASTODE_REF_LIB", str(tmp_path / "libfastode_ref.so"))
    with pytest.raises(ref.ReferenceLibraryMissing, match="cargo build --release --offline"):
        ref.solve_ivp(decay, (0.0, 1.0), [1.0])
    assert not ref.available()
