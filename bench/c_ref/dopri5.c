/* Independent plain-C Dormand-Prince 5(4) for benchmarking fastode's numba kernel.
 *
 * Same method, same step-size control as scipy.integrate.solve_ivp(method="RK45")
 * (scipy/integrate/_ivp/rk.py and common.py): Hairer's initial step, error
 * norm  |h| * rms(K^T E / scale),  scale = atol + max(|y|, |y_new|) * rtol,
 * elementary controller with SAFETY 0.9, MIN_FACTOR 0.2, MAX_FACTOR 10, no
 * growth right after a rejection, and nfev counted as scipy does.
 *
 * The right-hand side is called through a plain C function pointer
 *     void f(double t, const double *y, const double *p, double *dydt)
 * (the signature of the numba cfunc that fastode compiles), so a benchmark can
 * run this code and fastode's kernel on exactly the same compiled RHS.
 *
 * Only the final state is returned (nothing is stored per step).
 * Build: gcc -O2 -shared -fPIC -o build/libdopri5.so dopri5.c -lm  (see build.py)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef void (*rhs_fn)(double t, const double *y, const double *p, double *dydt);

/* status codes (as fastode's kernels) */
#define DP5_SUCCESS 0
#define DP5_STEP_TOO_SMALL -1
#define DP5_MAX_STEPS -2
#define DP5_NON_FINITE -3
#define DP5_NO_MEMORY -4

#define SAFETY 0.9
#define MIN_FACTOR 0.2
#define MAX_FACTOR 10.0
#define ERROR_ORDER 4 /* order of the embedded error estimator */

/* Dormand & Prince (1980), the coefficients scipy's RK45 uses. */
static const double C2 = 1.0 / 5, C3 = 3.0 / 10, C4 = 4.0 / 5, C5 = 8.0 / 9;
static const double A21 = 1.0 / 5;
static const double A31 = 3.0 / 40, A32 = 9.0 / 40;
static const double A41 = 44.0 / 45, A42 = -56.0 / 15, A43 = 32.0 / 9;
static const double A51 = 19372.0 / 6561, A52 = -25360.0 / 2187, A53 = 64448.0 / 6561,
                    A54 = -212.0 / 729;
static const double A61 = 9017.0 / 3168, A62 = -355.0 / 33, A63 = 46732.0 / 5247,
                    A64 = 49.0 / 176, A65 = -5103.0 / 18656;
static const double B1 = 35.0 / 384, B3 = 500.0 / 1113, B4 = 125.0 / 192, B5 = -2187.0 / 6784,
                    B6 = 11.0 / 84;
/* error estimate coefficients (5th order minus embedded 4th order), last one for f(t+h, y_new) */
static const double E1 = -71.0 / 57600, E3 = 71.0 / 16695, E4 = -71.0 / 1920,
                    E5 = 17253.0 / 339200, E6 = -22.0 / 525, E7 = 1.0 / 40;

static double rms_scaled(const double *v, const double *scale, int n)
{
    double acc = 0.0;
    for (int i = 0; i < n; i++) {
        double r = v[i] / scale[i];
        acc += r * r;
    }
    return sqrt(acc / n);
}

/* Hairer, Norsett & Wanner, Solving ODEs I, Sec. II.4 (scipy's select_initial_step).
 * Uses one RHS evaluation; y1 and f1 are work space. */
static double initial_step(rhs_fn f, const double *p, int n, double t0, const double *y0,
                           const double *f0, double t_bound, double max_step, double direction,
                           const double *rtol, const double *atol, double *scale, double *y1,
                           double *f1)
{
    double interval = fabs(t_bound - t0);
    if (interval == 0.0) return 0.0;
    for (int i = 0; i < n; i++) scale[i] = atol[i] + fabs(y0[i]) * rtol[i];
    double d0 = rms_scaled(y0, scale, n);
    double d1 = rms_scaled(f0, scale, n);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    if (h0 > interval) h0 = interval;
    for (int i = 0; i < n; i++) y1[i] = y0[i] + h0 * direction * f0[i];
    f(t0 + h0 * direction, y1, p, f1);
    double acc = 0.0;
    for (int i = 0; i < n; i++) {
        double r = (f1[i] - f0[i]) / scale[i];
        acc += r * r;
    }
    double d2 = sqrt(acc / n) / h0;
    double h1;
    if (d1 <= 1e-15 && d2 <= 1e-15) {
        h1 = fmax(1e-6, h0 * 1e-3);
    } else {
        h1 = pow(0.01 / fmax(d1, d2), 1.0 / (ERROR_ORDER + 1));
    }
    double h = 100 * h0;
    if (h1 < h) h = h1;
    if (interval < h) h = interval;
    if (max_step < h) h = max_step;
    return h;
}

/* Integrate y' = f(t, y, p) from t0 to t1; y (length n) holds y0 on entry and y(t_final) on exit.
 * rtol, atol: arrays of length n. first_step <= 0: automatic. max_step: inf for none.
 * max_steps <= 0: unlimited attempts.
 * counters (length 4): nfev, naccept, nreject, and t_final (as a double, bit-cast not needed:
 * stored in out_t). Returns a status code. */
int dopri5_solve(rhs_fn f, const double *p, int n, double t0, double t1, double *y,
                 const double *rtol, const double *atol, double first_step, double max_step,
                 long max_steps, long *counters, double *out_t)
{
    long nfev = 0, naccept = 0, nreject = 0, attempts = 0;
    int status = DP5_SUCCESS;
    double direction = (t1 >= t0) ? 1.0 : -1.0;
    double *work = (double *)malloc(sizeof(double) * (size_t)n * 11);
    if (!work) return DP5_NO_MEMORY;
    double *k1 = work, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *k5 = k4 + n, *k6 = k5 + n,
           *k7 = k6 + n, *y_new = k7 + n, *ytmp = y_new + n, *scale = ytmp + n,
           *err = scale + n;
    double t = t0;

    f(t, y, p, k1);
    nfev++;
    if (t1 == t0) goto done;

    double h_abs;
    if (first_step > 0.0) {
        h_abs = first_step;
    } else {
        h_abs = initial_step(f, p, n, t0, y, k1, t1, max_step, direction, rtol, atol, scale,
                             ytmp, k2);
        nfev++;
    }

    while (direction * (t - t1) < 0.0) {
        double min_step = 10.0 * fabs(nextafter(t, direction * INFINITY) - t);
        if (h_abs > max_step) h_abs = max_step;
        else if (h_abs < min_step) h_abs = min_step;
        int rejected = 0, accepted = 0;
        double t_new = t, h = 0.0;
        while (!accepted) {
            if (max_steps > 0 && attempts >= max_steps) { status = DP5_MAX_STEPS; goto done; }
            attempts++;
            if (h_abs < min_step) { status = DP5_STEP_TOO_SMALL; goto done; }
            t_new = t + direction * h_abs;
            if (direction * (t_new - t1) > 0.0) t_new = t1;
            h = t_new - t;
            h_abs = fabs(h);

            for (int i = 0; i < n; i++) ytmp[i] = y[i] + h * (A21 * k1[i]);
            f(t + C2 * h, ytmp, p, k2);
            for (int i = 0; i < n; i++) ytmp[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
            f(t + C3 * h, ytmp, p, k3);
            for (int i = 0; i < n; i++)
                ytmp[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
            f(t + C4 * h, ytmp, p, k4);
            for (int i = 0; i < n; i++)
                ytmp[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
            f(t + C5 * h, ytmp, p, k5);
            for (int i = 0; i < n; i++)
                ytmp[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i]
                                      + A65 * k5[i]);
            f(t + h, ytmp, p, k6);
            int finite = 1;
            for (int i = 0; i < n; i++) {
                y_new[i] = y[i] + h * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i]
                                       + B6 * k6[i]);
                if (!isfinite(y_new[i])) finite = 0;
            }
            f(t_new, y_new, p, k7);
            nfev += 6;

            double error_norm = INFINITY;
            if (finite) {
                for (int i = 0; i < n; i++) {
                    scale[i] = atol[i] + fmax(fabs(y[i]), fabs(y_new[i])) * rtol[i];
                    err[i] = E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i]
                             + E7 * k7[i];
                }
                error_norm = fabs(h) * rms_scaled(err, scale, n);
                if (isnan(error_norm)) error_norm = INFINITY;
            }
            double exponent = -1.0 / (ERROR_ORDER + 1);
            if (error_norm < 1.0) {
                double factor = (error_norm == 0.0)
                                    ? MAX_FACTOR
                                    : fmin(MAX_FACTOR, SAFETY * pow(error_norm, exponent));
                if (rejected && factor > 1.0) factor = 1.0;
                h_abs *= factor;
                accepted = 1;
            } else {
                double factor = isfinite(error_norm)
                                    ? fmax(MIN_FACTOR, SAFETY * pow(error_norm, exponent))
                                    : MIN_FACTOR;
                h_abs *= factor;
                rejected = 1;
                nreject++;
            }
        }
        naccept++;
        t = t_new;
        memcpy(y, y_new, sizeof(double) * (size_t)n);
        memcpy(k1, k7, sizeof(double) * (size_t)n); /* FSAL */
        for (int i = 0; i < n; i++) {
            if (!isfinite(k1[i])) { status = DP5_NON_FINITE; goto done; }
        }
    }

done:
    free(work);
    counters[0] = nfev;
    counters[1] = naccept;
    counters[2] = nreject;
    counters[3] = attempts;
    *out_t = t;
    return status;
}

/* Solve the same problem `reps` times (y0 copied into y before each solve), so a benchmark can
 * time the solver without one foreign call per solve. y holds the last solve's result. */
int dopri5_repeat(rhs_fn f, const double *p, int n, double t0, double t1, const double *y0,
                  double *y, const double *rtol, const double *atol, double first_step,
                  double max_step, long max_steps, long *counters, double *out_t, long reps)
{
    int status = DP5_SUCCESS;
    for (long r = 0; r < reps; r++) {
        memcpy(y, y0, sizeof(double) * (size_t)n);
        status = dopri5_solve(f, p, n, t0, t1, y, rtol, atol, first_step, max_step, max_steps,
                              counters, out_t);
    }
    return status;
}
