"""numba.pycc ahead-of-time compile of the explicit driver, against the JIT-compiled one.

    python bench/startup_options/pycc_aot.py

Builds an extension module with ``explicit_rk_solve`` for the signature ``solve_ivp`` uses
(RK45, real y), times the build, checks the AOT kernel gives the same result, and times warm
Lotka-Volterra RK45 solves (rtol 1e-6) through each, interleaved, minimum of 300 calls per round.
"""
import os
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")  # pycc's deprecation warning


def main():
    from numba.pycc import CC

    import fastode
    import fastode.ivp_explicit as explicit_path
    from fastode.kernels.explicit import explicit_rk_solve

    def lv(t, y, a, b, c, d):
        return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])

    kw = dict(args=(1.5, 1.0, 3.0, 1.0), rtol=1e-6, atol=1e-9)
    reference = fastode.solve_ivp(lv, (0.0, 15.0), [10.0, 5.0], **kw)  # the JIT signature
    out_dir = tempfile.mkdtemp(prefix="fastode_pycc_")
    cc = CC("explicit_aot")
    cc.output_dir = out_dir
    cc.export("explicit_rk_solve", explicit_rk_solve.nopython_signatures[0])(
        explicit_rk_solve.py_func)
    start = time.perf_counter()
    cc.compile()
    build = time.perf_counter() - start
    sys.path.insert(0, out_dir)
    import explicit_aot

    def best(n=300):
        b = np.inf
        for _ in range(n):
            t0 = time.perf_counter()
            fastode.solve_ivp(lv, (0.0, 15.0), [10.0, 5.0], **kw)
            b = min(b, time.perf_counter() - t0)
        return b

    jit = explicit_path.explicit_rk_solve
    explicit_path.explicit_rk_solve = explicit_aot.explicit_rk_solve
    aot_result = fastode.solve_ivp(lv, (0.0, 15.0), [10.0, 5.0], **kw)
    same = np.array_equal(aot_result.y, reference.y) and aot_result.nfev == reference.nfev
    times = {"jit": np.inf, "aot": np.inf}
    for _ in range(3):
        explicit_path.explicit_rk_solve = jit
        times["jit"] = min(times["jit"], best())
        explicit_path.explicit_rk_solve = explicit_aot.explicit_rk_solve
        times["aot"] = min(times["aot"], best())
    explicit_path.explicit_rk_solve = jit
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"pycc build {build:.1f} s ({size / 1e6:.1f} MB); same result: {same}; warm solve: "
          f"JIT {times['jit'] * 1e6:.1f} us, AOT {times['aot'] * 1e6:.1f} us "
          f"({times['aot'] / times['jit']:.2f}x)")


if __name__ == "__main__":
    main()
