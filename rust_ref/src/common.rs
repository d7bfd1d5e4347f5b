//! Pieces shared by every solver: status codes, counters, the RHS call, the output sink and the
//! weighted RMS norm.

/// Status codes returned by every exported function (also in `include/fastode_ref.h`).
///
/// Non-negative: success. -1..-99: the integration failed (the output holds the solution up to
/// the failure, `Stats::t_final` says where). -100 and below: the call was rejected before any
/// work because an argument is invalid.
pub mod status {
    /// Reached the end of the interval.
    pub const SUCCESS: i32 = 0;
    /// Step mode only (no `t_eval`): more points than `max_out`; the first `max_out` were written,
    /// `*n_out` holds the number needed. Call again with a buffer that large.
    pub const OUTPUT_TRUNCATED: i32 = 2;
    /// The step size fell below the spacing of floating-point numbers at t.
    pub const STEP_TOO_SMALL: i32 = -1;
    /// `max_steps` step attempts were made.
    pub const MAX_STEPS: i32 = -2;
    /// The RHS returned a non-finite value (fastode's compiled RHS writes NaN when it raised).
    pub const NON_FINITE: i32 = -3;
    /// The Newton/Rosenbrock matrix was singular five times in a row.
    pub const SINGULAR: i32 = -4;
    /// A required pointer is null.
    pub const ERR_NULL_POINTER: i32 = -100;
    /// `n` is 0, or a size overflows.
    pub const ERR_BAD_SIZE: i32 = -101;
    /// A tolerance is negative, non-finite, or rtol < 10 eps.
    pub const ERR_BAD_TOLERANCE: i32 = -102;
    /// `t_eval` is not finite, not inside the span, or not strictly sorted in the direction of
    /// integration.
    pub const ERR_BAD_T_EVAL: i32 = -103;
    /// A step option is invalid (fixed step h <= 0 or not finite or too many steps, max_step <= 0,
    /// first_step < 0 or not finite).
    pub const ERR_BAD_STEP: i32 = -104;
    /// t0 or t1 is not finite.
    pub const ERR_BAD_SPAN: i32 = -105;
    /// `max_out` is smaller than `n_eval`.
    pub const ERR_OUTPUT_TOO_SMALL: i32 = -106;
    /// The work arrays could not be allocated.
    pub const ERR_NO_MEMORY: i32 = -107;
    /// y0 contains NaN or infinity.
    pub const ERR_BAD_Y0: i32 = -108;
    /// A bug: a Rust panic was caught at the C boundary.
    pub const ERR_PANIC: i32 = -199;
}

/// `void f(double t, const double *y, const double *p, double *dydt)`: reads n values of y,
/// writes n values of dydt; p is the caller's parameter array.
pub type RhsFn = unsafe extern "C" fn(t: f64, y: *const f64, p: *const f64, dydt: *mut f64);

/// Work counters, written by every solver.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Number of RHS evaluations (including those for finite-difference Jacobians).
    pub nfev: u64,
    /// Number of Jacobian evaluations.
    pub njev: u64,
    /// Number of LU decompositions.
    pub nlu: u64,
    /// Number of accepted steps.
    pub naccept: u64,
    /// Number of rejected steps.
    pub nreject: u64,
    /// Time reached (t1 on success, the last accepted time on failure).
    pub t_final: f64,
}

/// The user's RHS with its parameter pointer and an evaluation counter.
pub struct Rhs {
    f: RhsFn,
    p: *const f64,
    pub nfev: u64,
}

impl Rhs {
    /// # Safety
    /// `f` must be callable as documented for [`RhsFn`] with vectors of the length the solver
    /// passes (`n`), and `p` must be whatever `f` expects (it is passed through untouched).
    pub unsafe fn new(f: RhsFn, p: *const f64) -> Self {
        Rhs { f, p, nfev: 0 }
    }

    /// out = f(t, y); `y` and `out` must have the same length (the problem size n).
    #[inline(always)]
    pub fn call(&mut self, t: f64, y: &[f64], out: &mut [f64]) {
        debug_assert_eq!(y.len(), out.len());
        self.nfev += 1;
        // SAFETY: `Rhs::new`'s contract: f reads y.len() doubles and writes out.len() doubles,
        // which is exactly what these slices hold; y and out never alias (distinct borrows).
        unsafe { (self.f)(t, y.as_ptr(), self.p, out.as_mut_ptr()) }
    }
}

/// Where the solution goes: every accepted step (`t_eval` empty) or the requested times
/// (`t_eval`, filled by each method's dense output).
pub struct Output<'a> {
    n: usize,
    t_eval: &'a [f64],
    next: usize,
    t_out: &'a mut [f64],
    y_out: &'a mut [f64],
    dir: f64,
    /// Points produced so far (in step mode it may exceed the capacity: see OUTPUT_TRUNCATED).
    pub count: usize,
}

impl<'a> Output<'a> {
    /// `t_out.len()` is the capacity in points, `y_out.len()` must be capacity * n; in t_eval
    /// mode the capacity must be at least `t_eval.len()`.
    pub fn new(n: usize, t_eval: &'a [f64], t_out: &'a mut [f64], y_out: &'a mut [f64],
               dir: f64) -> Self {
        debug_assert_eq!(t_out.len() * n, y_out.len());
        debug_assert!(t_eval.is_empty() || t_out.len() >= t_eval.len());
        Output { n, t_eval, next: 0, t_out, y_out, dir, count: 0 }
    }

    pub fn dense_mode(&self) -> bool {
        !self.t_eval.is_empty()
    }

    /// True when no more requested times remain (t_eval mode).
    pub fn eval_done(&self) -> bool {
        self.next >= self.t_eval.len()
    }

    fn push(&mut self, t: f64, y: &[f64]) {
        let k = self.count;
        if k < self.t_out.len() {
            self.t_out[k] = t;
            self.y_out[k * self.n..(k + 1) * self.n].copy_from_slice(y);
        }
        self.count += 1;
    }

    /// The initial point: stored in step mode; in t_eval mode every requested time equal to t0.
    pub fn start(&mut self, t0: f64, y0: &[f64]) {
        if self.dense_mode() {
            while self.next < self.t_eval.len() && self.t_eval[self.next] == t0 {
                self.push(t0, y0);
                self.next += 1;
            }
        } else {
            self.push(t0, y0);
        }
    }

    /// After an accepted step ending at (t_new, y_new): store it (step mode), or every pending
    /// requested time up to t_new, evaluated by `interp(t, out)` (t_new itself gets y_new).
    #[inline]
    pub fn step<F: FnMut(f64, &mut [f64])>(&mut self, t_new: f64, y_new: &[f64], mut interp: F) {
        if !self.dense_mode() {
            self.push(t_new, y_new);
            return;
        }
        while self.next < self.t_eval.len() && self.dir * (self.t_eval[self.next] - t_new) <= 0.0 {
            let te = self.t_eval[self.next];
            let k = self.count;
            self.t_out[k] = te;
            let row = &mut self.y_out[k * self.n..(k + 1) * self.n];
            if te == t_new {
                row.copy_from_slice(y_new);
            } else {
                interp(te, row);
            }
            self.count += 1;
            self.next += 1;
        }
    }
}

/// Weighted RMS norm sqrt(mean((v_i / (atol_i + rtol_i max(|y_i|, |y_new_i|)))^2))
/// (Hairer, Norsett & Wanner I, Sec. II.4).
#[inline(always)]
pub fn error_norm(v: &[f64], y: &[f64], y_new: &[f64], rtol: &[f64], atol: &[f64]) -> f64 {
    let n = v.len();
    let mut acc = 0.0;
    for i in 0..n {
        let sk = atol[i] + rtol[i] * y[i].abs().max(y_new[i].abs());
        let r = v[i] / sk;
        acc += r * r;
    }
    (acc / n as f64).sqrt()
}

pub fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// A zeroed vector, or None when it cannot be allocated.
pub fn try_zeros(len: usize) -> Option<Vec<f64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0.0);
    Some(v)
}

/// Starting step size, Hairer, Norsett & Wanner I, Sec. II.4 ("Starting step size"):
/// d0 = ||y0||, d1 = ||f0||, h0 = 0.01 d0/d1 (1e-6 if either is tiny), one explicit Euler step
/// of size h0 gives d2 = ||f1 - f0|| / h0, and h1 = (0.01 / max(d1, d2))^(1/(order+1)).
/// Norms are weighted RMS with atol + rtol |y0|. Returns min(100 h0, h1, |t1 - t0|, max_step);
/// costs one RHS evaluation. `order` is the order of the error estimate.
#[allow(clippy::too_many_arguments)]
pub fn initial_step(rhs: &mut Rhs, t0: f64, y0: &[f64], f0: &[f64], t1: f64, max_step: f64,
                    order: f64, rtol: &[f64], atol: &[f64], y1: &mut [f64], f1: &mut [f64])
                    -> f64 {
    let n = y0.len();
    let span = (t1 - t0).abs();
    if span == 0.0 {
        return 0.0;
    }
    let dir = if t1 >= t0 { 1.0 } else { -1.0 };
    let (mut d0, mut d1) = (0.0, 0.0);
    for i in 0..n {
        let sk = atol[i] + y0[i].abs() * rtol[i];
        d0 += (y0[i] / sk) * (y0[i] / sk);
        d1 += (f0[i] / sk) * (f0[i] / sk);
    }
    d0 = (d0 / n as f64).sqrt();
    d1 = (d1 / n as f64).sqrt();
    let mut h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
    h0 = h0.min(span);
    for i in 0..n {
        y1[i] = y0[i] + h0 * dir * f0[i];
    }
    rhs.call(t0 + h0 * dir, y1, f1);
    let mut d2 = 0.0;
    for i in 0..n {
        let sk = atol[i] + y0[i].abs() * rtol[i];
        let r = (f1[i] - f0[i]) / sk;
        d2 += r * r;
    }
    d2 = (d2 / n as f64).sqrt() / h0;
    let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).powf(1.0 / (order + 1.0))
    };
    (100.0 * h0).min(h1).min(span).min(max_step)
}

/// Adaptive-solver options shared by DOPRI5 and Rodas4.
#[derive(Clone, Copy, Debug)]
pub struct Adaptive<'a> {
    pub rtol: &'a [f64],
    pub atol: &'a [f64],
    /// 0: chosen automatically.
    pub first_step: f64,
    /// may be +inf.
    pub max_step: f64,
    /// 0: unlimited number of step attempts.
    pub max_steps: u64,
}
