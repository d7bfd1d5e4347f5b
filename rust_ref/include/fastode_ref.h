/* fastode_ref: independent reference ODE solvers (Rust, standard library only) behind a C ABI.
 *
 * Build:  cargo build --release --offline   (in rust_ref/) -> target/release/libfastode_ref.so
 *
 * Methods, written from the papers (see the module docs in src/):
 *   fastode_ref_euler, fastode_ref_rk4  fixed step h on the grid t0 + k h, the last step ending
 *                                       exactly at t1; output at t_eval by cubic Hermite
 *                                       interpolation
 *   fastode_ref_dopri5                  Dormand-Prince 5(4) with scipy's RK45 step-size control
 *                                       (same accepted steps as scipy / fastode RK45); Shampine's
 *                                       4th-order dense output at t_eval
 *   fastode_ref_rodas4                  Hairer's RODAS (Rosenbrock, order 4(3), L-stable, stiffly
 *                                       accurate); finite-difference Jacobian and df/dt, dense LU
 *                                       with partial pivoting; 3rd-order dense output at t_eval
 *
 * Conventions (all functions):
 *   - f computes dydt = f(t, y) for y of length n; p is passed to f untouched (must not be NULL:
 *     pass a dummy array when f has no parameters).
 *   - All buffers belong to the caller. Output: t_out[max_out], y_out[max_out * n] (row k holds
 *     y at t_out[k]); *n_out receives the number of points.
 *       t_eval == NULL / n_eval == 0: the initial point and every accepted step are stored. When
 *         more than max_out points are produced, the first max_out are stored, *n_out holds the
 *         number needed and the status is FASTODE_REF_OUTPUT_TRUNCATED: call again with a larger
 *         buffer (the solve is deterministic).
 *       otherwise: the solution at the n_eval times of t_eval (finite, inside [t0, t1], strictly
 *         increasing, or strictly decreasing when t1 < t0); max_out >= n_eval.
 *   - rtol, atol: n values each (per component). rtol finite and >= 10 eps, atol finite >= 0.
 *   - first_step: 0 = automatic (Hairer's starting step algorithm); max_step: may be INFINITY;
 *     max_steps: 0 = unlimited step attempts.
 *   - Return value: a status code (below). Invalid arguments return a code <= -100 before any work
 *     (*n_out = 0 and *stats zeroed when those pointers are valid); integration failures return
 *     -1..-99 with the solution up to stats->t_final stored. Nothing ever aborts or unwinds.
 */
#ifndef FASTODE_REF_H
#define FASTODE_REF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FASTODE_REF_ABI_VERSION 1

/* status codes */
#define FASTODE_REF_SUCCESS               0    /* reached t1 */
#define FASTODE_REF_OUTPUT_TRUNCATED      2    /* step mode: *n_out > max_out, call again */
#define FASTODE_REF_STEP_TOO_SMALL       -1    /* step size below the spacing of numbers at t */
#define FASTODE_REF_MAX_STEPS            -2    /* max_steps step attempts made */
#define FASTODE_REF_NON_FINITE           -3    /* f returned NaN or infinity */
#define FASTODE_REF_SINGULAR             -4    /* I/(h gamma) - J singular 5 times in a row */
#define FASTODE_REF_ERR_NULL_POINTER   -100
#define FASTODE_REF_ERR_BAD_SIZE       -101    /* n == 0, or sizes overflow */
#define FASTODE_REF_ERR_BAD_TOLERANCE  -102
#define FASTODE_REF_ERR_BAD_T_EVAL     -103
#define FASTODE_REF_ERR_BAD_STEP       -104    /* h, first_step or max_step invalid */
#define FASTODE_REF_ERR_BAD_SPAN       -105    /* t0 or t1 not finite */
#define FASTODE_REF_ERR_OUTPUT_TOO_SMALL -106  /* max_out < n_eval */
#define FASTODE_REF_ERR_NO_MEMORY      -107
#define FASTODE_REF_ERR_BAD_Y0         -108    /* y0 not finite */
#define FASTODE_REF_ERR_PANIC          -199    /* internal error (a bug) */

typedef void (*fastode_rhs_fn)(double t, const double *y, const double *p, double *dydt);

typedef struct {
    uint64_t nfev;     /* RHS evaluations (finite-difference Jacobians included) */
    uint64_t njev;     /* Jacobian evaluations (rodas4) */
    uint64_t nlu;      /* LU decompositions (rodas4) */
    uint64_t naccept;  /* accepted steps */
    uint64_t nreject;  /* rejected steps */
    double t_final;    /* time reached */
} fastode_ref_stats;

int fastode_ref_euler(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                      const double *y0, double h, const double *t_eval, size_t n_eval,
                      double *t_out, double *y_out, size_t max_out, size_t *n_out,
                      fastode_ref_stats *stats);

int fastode_ref_rk4(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                    const double *y0, double h, const double *t_eval, size_t n_eval,
                    double *t_out, double *y_out, size_t max_out, size_t *n_out,
                    fastode_ref_stats *stats);

int fastode_ref_dopri5(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                       const double *y0, const double *rtol, const double *atol,
                       double first_step, double max_step, uint64_t max_steps,
                       const double *t_eval, size_t n_eval, double *t_out, double *y_out,
                       size_t max_out, size_t *n_out, fastode_ref_stats *stats);

/* fastode_ref_dopri5 run reps times in a row (benchmarks: one foreign call for many solves);
 * output and stats are those of the last run. */
int fastode_ref_dopri5_repeat(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                              const double *y0, const double *rtol, const double *atol,
                              double first_step, double max_step, uint64_t max_steps,
                              const double *t_eval, size_t n_eval, double *t_out, double *y_out,
                              size_t max_out, size_t *n_out, fastode_ref_stats *stats,
                              uint64_t reps);

int fastode_ref_rodas4(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                       const double *y0, const double *rtol, const double *atol,
                       double first_step, double max_step, uint64_t max_steps,
                       const double *t_eval, size_t n_eval, double *t_out, double *y_out,
                       size_t max_out, size_t *n_out, fastode_ref_stats *stats);

/* A static NUL-terminated description of a status code (never NULL). */
const char *fastode_ref_status_message(int status);

/* FASTODE_REF_ABI_VERSION of the library. */
uint32_t fastode_ref_abi_version(void);

/* The lecture's Rust examples (Euler): y(5) of dy/dt = -y, y(0) = 1, 1000 steps -> *out;
 * harmonic oscillator y1' = y2, y2' = -y1 from (1, 0), 100 steps to pi/2 -> out[0..2]. */
int fastode_ref_lecture_euler_decay(double *out);
int fastode_ref_lecture_harmonic(double *out);

#ifdef __cplusplus
}
#endif

#endif /* FASTODE_REF_H */
