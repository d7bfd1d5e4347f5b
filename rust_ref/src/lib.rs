//! fastode_ref: independent reference ODE solvers behind a C ABI.
//!
//! Written from the method papers (see each module), not from fastode's numba kernels, so that
//! two independent implementations can be compared; and calling the very same compiled RHS
//! (`void f(double t, const double *y, const double *p, double *dydt)`) through a C function
//! pointer, so that it also measures how close the numba kernels come to compiled speed.
//!
//! Exported functions (declared in `include/fastode_ref.h`):
//! `fastode_ref_euler`, `fastode_ref_rk4` (fixed step), `fastode_ref_dopri5` (Dormand-Prince
//! 5(4), adaptive, dense output), `fastode_ref_rodas4` (stiff: Rosenbrock, finite-difference
//! Jacobian, dense LU), `fastode_ref_dopri5_repeat` (benchmark loop),
//! `fastode_ref_status_message`, `fastode_ref_abi_version` and the lecture's two examples.
//!
//! Every buffer is owned by the caller. Invalid arguments (null pointers, n = 0, bad tolerances,
//! unsorted t_eval, ...) return a negative error code before any work; nothing panics across
//! the boundary (a caught panic would return `ERR_PANIC`).

// `!(x > 0.0)` is deliberate (it is true for NaN); the Rodas coefficients are quoted with all
// the digits they were published with; index loops mirror the formulas.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::excessive_precision,
         clippy::too_many_arguments, clippy::needless_range_loop)]

pub mod common;
pub mod dopri5;
pub mod fixed;
pub mod lecture;
pub mod linalg;
pub mod rodas4;

use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use common::{status, Adaptive, Output, Rhs, RhsFn, Stats};
use fixed::FixedMethod;

/// Version of the C interface; bumped on any change of an exported signature.
pub const ABI_VERSION: u32 = 1;

/// Largest n accepted by the stiff solver (its two n x n work matrices).
const MAX_N_STIFF: usize = 1 << 14;

fn guard<F: FnOnce() -> i32>(body: F) -> i32 {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(status::ERR_PANIC)
}

/// The arguments every solver takes, checked and turned into slices.
struct Problem<'a> {
    rhs: Rhs,
    n: usize,
    t0: f64,
    t1: f64,
    y0: &'a [f64],
    t_eval: &'a [f64],
    t_out: &'a mut [f64],
    y_out: &'a mut [f64],
    n_out: &'a mut usize,
    stats: &'a mut Stats,
}

impl<'a> Problem<'a> {
    fn output(&mut self) -> (Output<'_>, &mut Rhs, &mut Stats) {
        let dir = if self.t1 >= self.t0 { 1.0 } else { -1.0 };
        (Output::new(self.n, self.t_eval, self.t_out, self.y_out, dir), &mut self.rhs,
         self.stats)
    }
}

fn bytes_ok(count: usize) -> bool {
    count.checked_mul(std::mem::size_of::<f64>()).is_some_and(|b| b <= isize::MAX as usize)
}

/// Check the common arguments. On success `*n_out` and `*stats` are zeroed.
///
/// # Safety
/// Non-null pointers must point to arrays of the documented lengths (see the header).
#[allow(clippy::too_many_arguments)]
unsafe fn prepare<'a>(f: Option<RhsFn>, p: *const f64, n: usize, t0: f64, t1: f64,
                      y0: *const f64, t_eval: *const f64, n_eval: usize, t_out: *mut f64,
                      y_out: *mut f64, max_out: usize, n_out: *mut usize, stats: *mut Stats)
                      -> Result<Problem<'a>, i32> {
    // SAFETY (whole function): the caller's contract on pointer validity and lengths.
    unsafe {
        if !n_out.is_null() {
            *n_out = 0;
        }
        if !stats.is_null() {
            *stats = Stats { t_final: t0, ..Stats::default() };
        }
        let f = f.ok_or(status::ERR_NULL_POINTER)?;
        if p.is_null() || y0.is_null() || t_out.is_null() || y_out.is_null() || n_out.is_null()
            || stats.is_null() || (n_eval > 0 && t_eval.is_null()) {
            return Err(status::ERR_NULL_POINTER);
        }
        if n == 0 || !bytes_ok(n) || !bytes_ok(n_eval) || !bytes_ok(max_out)
            || max_out.checked_mul(n).is_none_or(|m| !bytes_ok(m)) {
            return Err(status::ERR_BAD_SIZE);
        }
        if !t0.is_finite() || !t1.is_finite() {
            return Err(status::ERR_BAD_SPAN);
        }
        let y0 = std::slice::from_raw_parts(y0, n);
        if !common::all_finite(y0) {
            return Err(status::ERR_BAD_Y0);
        }
        let t_eval: &[f64] = if n_eval > 0 { std::slice::from_raw_parts(t_eval, n_eval) } else { &[] };
        let (lo, hi) = if t1 >= t0 { (t0, t1) } else { (t1, t0) };
        let dir = if t1 >= t0 { 1.0 } else { -1.0 };
        for (k, &te) in t_eval.iter().enumerate() {
            if !te.is_finite() || te < lo || te > hi || (k > 0 && !(dir * (te - t_eval[k - 1]) > 0.0)) {
                return Err(status::ERR_BAD_T_EVAL);
            }
        }
        if n_eval > 0 && max_out < n_eval {
            return Err(status::ERR_OUTPUT_TOO_SMALL);
        }
        Ok(Problem {
            rhs: Rhs::new(f, p),
            n,
            t0,
            t1,
            y0,
            t_eval,
            t_out: std::slice::from_raw_parts_mut(t_out, max_out),
            y_out: std::slice::from_raw_parts_mut(y_out, max_out * n),
            n_out: &mut *n_out,
            stats: &mut *stats,
        })
    }
}

/// Check the adaptive options; rtol and atol point to n values each.
///
/// # Safety
/// rtol and atol, when non-null, point to n doubles.
unsafe fn adaptive_options<'a>(n: usize, rtol: *const f64, atol: *const f64, first_step: f64,
                               max_step: f64, max_steps: u64) -> Result<Adaptive<'a>, i32> {
    if rtol.is_null() || atol.is_null() {
        return Err(status::ERR_NULL_POINTER);
    }
    // SAFETY: caller's contract.
    let (rtol, atol) = unsafe { (std::slice::from_raw_parts(rtol, n), std::slice::from_raw_parts(atol, n)) };
    // Hairer's codes refuse rtol <= 10 eps; atol = 0 (pure relative control) is allowed
    let rtol_ok = rtol.iter().all(|&r| r.is_finite() && r >= 10.0 * f64::EPSILON);
    let atol_ok = atol.iter().all(|&a| a.is_finite() && a >= 0.0);
    if !rtol_ok || !atol_ok {
        return Err(status::ERR_BAD_TOLERANCE);
    }
    if !(first_step >= 0.0) || !first_step.is_finite() || !(max_step > 0.0) {
        return Err(status::ERR_BAD_STEP);
    }
    Ok(Adaptive { rtol, atol, first_step, max_step, max_steps })
}

fn finish(code: i32, prob: Problem, count: usize) -> i32 {
    *prob.n_out = count;
    if code == status::SUCCESS && count > prob.t_out.len() {
        return status::OUTPUT_TRUNCATED;
    }
    code
}

#[allow(clippy::too_many_arguments)]
unsafe fn fixed_entry(method: FixedMethod, f: Option<RhsFn>, p: *const f64, n: usize, t0: f64,
                      t1: f64, y0: *const f64, h: f64, t_eval: *const f64, n_eval: usize,
                      t_out: *mut f64, y_out: *mut f64, max_out: usize, n_out: *mut usize,
                      stats: *mut Stats) -> i32 {
    guard(|| {
        // SAFETY: the C caller's contract (header).
        let mut prob = match unsafe {
            prepare(f, p, n, t0, t1, y0, t_eval, n_eval, t_out, y_out, max_out, n_out, stats)
        } {
            Ok(prob) => prob,
            Err(code) => return code,
        };
        let n_steps = match fixed::step_count(t0, t1, h) {
            Some(k) => k,
            None => return status::ERR_BAD_STEP,
        };
        if n_eval == 0 && n_steps >= max_out as u64 {
            // every step is stored: say how many points are needed before doing any work
            *prob.n_out = usize::try_from(n_steps + 1).unwrap_or(usize::MAX);
            return status::OUTPUT_TRUNCATED;
        }
        let y0 = prob.y0;
        let (mut out, rhs, st) = prob.output();
        let code = fixed::solve_fixed(method, rhs, t0, t1, y0, h, n_steps, &mut out, st);
        let count = out.count;
        finish(code, prob, count)
    })
}

/// Forward Euler with fixed step h (grid t0 + k h, last step ending at t1). See the header.
///
/// # Safety
/// Pointers as documented in `include/fastode_ref.h`.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_euler(f: Option<RhsFn>, p: *const f64, n: usize, t0: f64,
                                           t1: f64, y0: *const f64, h: f64,
                                           t_eval: *const f64, n_eval: usize, t_out: *mut f64,
                                           y_out: *mut f64, max_out: usize, n_out: *mut usize,
                                           stats: *mut Stats) -> i32 {
    unsafe {
        fixed_entry(FixedMethod::Euler, f, p, n, t0, t1, y0, h, t_eval, n_eval, t_out, y_out,
                    max_out, n_out, stats)
    }
}

/// Classical Runge-Kutta (order 4) with fixed step h. See the header.
///
/// # Safety
/// Pointers as documented in `include/fastode_ref.h`.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_rk4(f: Option<RhsFn>, p: *const f64, n: usize, t0: f64,
                                         t1: f64, y0: *const f64, h: f64, t_eval: *const f64,
                                         n_eval: usize, t_out: *mut f64, y_out: *mut f64,
                                         max_out: usize, n_out: *mut usize, stats: *mut Stats)
                                         -> i32 {
    unsafe {
        fixed_entry(FixedMethod::Rk4, f, p, n, t0, t1, y0, h, t_eval, n_eval, t_out, y_out,
                    max_out, n_out, stats)
    }
}

#[derive(Clone, Copy)]
enum AdaptiveMethod {
    Dopri5,
    Rodas4,
}

#[allow(clippy::too_many_arguments)]
unsafe fn adaptive_entry(method: AdaptiveMethod, f: Option<RhsFn>, p: *const f64, n: usize,
                         t0: f64, t1: f64, y0: *const f64, rtol: *const f64, atol: *const f64,
                         first_step: f64, max_step: f64, max_steps: u64, t_eval: *const f64,
                         n_eval: usize, t_out: *mut f64, y_out: *mut f64, max_out: usize,
                         n_out: *mut usize, stats: *mut Stats, reps: u64) -> i32 {
    guard(|| {
        // SAFETY: the C caller's contract (header).
        let mut prob = match unsafe {
            prepare(f, p, n, t0, t1, y0, t_eval, n_eval, t_out, y_out, max_out, n_out, stats)
        } {
            Ok(prob) => prob,
            Err(code) => return code,
        };
        let opt = match unsafe { adaptive_options(n, rtol, atol, first_step, max_step, max_steps) } {
            Ok(opt) => opt,
            Err(code) => return code,
        };
        if matches!(method, AdaptiveMethod::Rodas4) && n > MAX_N_STIFF {
            return status::ERR_BAD_SIZE;
        }
        let y0 = prob.y0;
        let mut code = status::SUCCESS;
        let mut count = 0;
        for _ in 0..reps.max(1) {
            let (mut out, rhs, st) = prob.output();
            rhs.nfev = 0;
            *st = Stats { t_final: t0, ..Stats::default() };
            code = match method {
                AdaptiveMethod::Dopri5 => dopri5::solve(rhs, t0, t1, y0, &opt, &mut out, st),
                AdaptiveMethod::Rodas4 => rodas4::solve(rhs, t0, t1, y0, &opt, &mut out, st),
            };
            count = out.count;
        }
        finish(code, prob, count)
    })
}

/// Dormand-Prince 5(4), scipy's step control, dense output at t_eval. See the header.
///
/// # Safety
/// Pointers as documented in `include/fastode_ref.h`.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_dopri5(f: Option<RhsFn>, p: *const f64, n: usize, t0: f64,
                                            t1: f64, y0: *const f64, rtol: *const f64,
                                            atol: *const f64, first_step: f64, max_step: f64,
                                            max_steps: u64, t_eval: *const f64, n_eval: usize,
                                            t_out: *mut f64, y_out: *mut f64, max_out: usize,
                                            n_out: *mut usize, stats: *mut Stats) -> i32 {
    unsafe {
        adaptive_entry(AdaptiveMethod::Dopri5, f, p, n, t0, t1, y0, rtol, atol, first_step,
                       max_step, max_steps, t_eval, n_eval, t_out, y_out, max_out, n_out, stats, 1)
    }
}

/// `fastode_ref_dopri5` run `reps` times in a row (for timing: no foreign call per solve).
/// Output and counters are those of the last run.
///
/// # Safety
/// Pointers as documented in `include/fastode_ref.h`.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_dopri5_repeat(f: Option<RhsFn>, p: *const f64, n: usize,
                                                   t0: f64, t1: f64, y0: *const f64,
                                                   rtol: *const f64, atol: *const f64,
                                                   first_step: f64, max_step: f64,
                                                   max_steps: u64, t_eval: *const f64,
                                                   n_eval: usize, t_out: *mut f64,
                                                   y_out: *mut f64, max_out: usize,
                                                   n_out: *mut usize, stats: *mut Stats,
                                                   reps: u64) -> i32 {
    unsafe {
        adaptive_entry(AdaptiveMethod::Dopri5, f, p, n, t0, t1, y0, rtol, atol, first_step,
                       max_step, max_steps, t_eval, n_eval, t_out, y_out, max_out, n_out, stats,
                       reps)
    }
}

/// Rodas4 (stiff; finite-difference Jacobian, dense LU), dense output at t_eval. See the header.
///
/// # Safety
/// Pointers as documented in `include/fastode_ref.h`.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_rodas4(f: Option<RhsFn>, p: *const f64, n: usize, t0: f64,
                                            t1: f64, y0: *const f64, rtol: *const f64,
                                            atol: *const f64, first_step: f64, max_step: f64,
                                            max_steps: u64, t_eval: *const f64, n_eval: usize,
                                            t_out: *mut f64, y_out: *mut f64, max_out: usize,
                                            n_out: *mut usize, stats: *mut Stats) -> i32 {
    unsafe {
        adaptive_entry(AdaptiveMethod::Rodas4, f, p, n, t0, t1, y0, rtol, atol, first_step,
                       max_step, max_steps, t_eval, n_eval, t_out, y_out, max_out, n_out, stats, 1)
    }
}

/// A static, NUL-terminated description of a status code.
#[no_mangle]
pub extern "C" fn fastode_ref_status_message(code: i32) -> *const c_char {
    let text: &'static [u8] = match code {
        status::SUCCESS => b"The solver successfully reached the end of the integration interval.\0",
        status::OUTPUT_TRUNCATED => b"More output points than max_out; *n_out holds the number needed.\0",
        status::STEP_TOO_SMALL => b"Required step size is less than spacing between numbers.\0",
        status::MAX_STEPS => b"Maximum number of steps reached.\0",
        status::NON_FINITE => b"`fun` returned a non-finite value.\0",
        status::SINGULAR => b"The matrix I/(h gamma) - J was repeatedly singular.\0",
        status::ERR_NULL_POINTER => b"a required pointer argument is NULL\0",
        status::ERR_BAD_SIZE => b"n must be positive (and sizes must not overflow)\0",
        status::ERR_BAD_TOLERANCE => b"rtol must be finite and >= 10 eps, atol finite and >= 0\0",
        status::ERR_BAD_T_EVAL => b"t_eval must be finite, inside [t0, t1] and strictly sorted in the direction of integration\0",
        status::ERR_BAD_STEP => b"invalid step option (h > 0 and finite with at most 2^40 steps; max_step > 0; first_step >= 0 and finite)\0",
        status::ERR_BAD_SPAN => b"t0 and t1 must be finite\0",
        status::ERR_OUTPUT_TOO_SMALL => b"max_out is smaller than n_eval\0",
        status::ERR_NO_MEMORY => b"out of memory for the work arrays\0",
        status::ERR_BAD_Y0 => b"y0 must be finite\0",
        status::ERR_PANIC => b"internal error (a Rust panic was caught)\0",
        _ => b"unknown status code\0",
    };
    text.as_ptr() as *const c_char
}

/// The version of this C interface (`ABI_VERSION`).
#[no_mangle]
pub extern "C" fn fastode_ref_abi_version() -> u32 {
    ABI_VERSION
}

/// The lecture's `euler(f, 0.0, 1.0, 5.0, 1000)` for dy/dt = -y, written to `*out`.
///
/// # Safety
/// `out` is null or points to one double.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_lecture_euler_decay(out: *mut f64) -> i32 {
    guard(|| {
        if out.is_null() {
            return status::ERR_NULL_POINTER;
        }
        // SAFETY: non-null, one double (caller's contract).
        unsafe { *out = lecture::euler_decay() };
        status::SUCCESS
    })
}

/// The lecture's `neural_ode_sim(func, [1.0, 0.0], 0.0, PI / 2.0, 100)` (harmonic oscillator),
/// written to `out[0..2]`.
///
/// # Safety
/// `out` is null or points to two doubles.
#[no_mangle]
pub unsafe extern "C" fn fastode_ref_lecture_harmonic(out: *mut f64) -> i32 {
    guard(|| {
        if out.is_null() {
            return status::ERR_NULL_POINTER;
        }
        let y = lecture::harmonic();
        // SAFETY: non-null, two doubles (caller's contract).
        unsafe {
            *out = y[0];
            *out.add(1) = y[1];
        }
        status::SUCCESS
    })
}

#[cfg(test)]
mod tests;
