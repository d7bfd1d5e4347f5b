//! Dormand-Prince 5(4) with step-size control and dense output.
//!
//! Method: J. R. Dormand, P. J. Prince, "A family of embedded Runge-Kutta formulae",
//! J. Comput. Appl. Math. 6 (1980) 19-26; Hairer, Norsett & Wanner I, Sec. II.5, Table 5.2
//! (coefficients) and Sec. II.6, "Dense output for DOPRI5" (Shampine's continuous extension of
//! order 4, written in Hairer's form y0 + th (r2 + (1-th)(r3 + th (r4 + (1-th) r5)))).
//! The 7th stage is f(t + h, y1) and is the next step's first stage (FSAL).
//!
//! Step control is the elementary controller of HNW I, Sec. II.4 ("Automatic step size control"), with the
//! constants scipy's `RK45` uses, so the accepted steps are those of `scipy.integrate.RK45` and
//! fastode's RK45: error norm = weighted RMS with atol + rtol max(|y|, |y1|); accepted
//! (err < 1): h *= min(10, 0.9 err^(-1/5)) (10 if err = 0), at most 1 right after a rejection;
//! rejected: h *= max(0.2, 0.9 err^(-1/5)); the step is clipped to end at t1 and to max_step;
//! the initial step is HNW's starting step algorithm with the error order 4.

use crate::common::{all_finite, error_norm, initial_step, status, Adaptive, Output, Rhs, Stats};

// Nodes and coefficients (HNW I, Table 5.2; Dormand & Prince 1980).
const C2: f64 = 1.0 / 5.0;
const C3: f64 = 3.0 / 10.0;
const C4: f64 = 4.0 / 5.0;
const C5: f64 = 8.0 / 9.0;
const A21: f64 = 1.0 / 5.0;
const A31: f64 = 3.0 / 40.0;
const A32: f64 = 9.0 / 40.0;
const A41: f64 = 44.0 / 45.0;
const A42: f64 = -56.0 / 15.0;
const A43: f64 = 32.0 / 9.0;
const A51: f64 = 19372.0 / 6561.0;
const A52: f64 = -25360.0 / 2187.0;
const A53: f64 = 64448.0 / 6561.0;
const A54: f64 = -212.0 / 729.0;
const A61: f64 = 9017.0 / 3168.0;
const A62: f64 = -355.0 / 33.0;
const A63: f64 = 46732.0 / 5247.0;
const A64: f64 = 49.0 / 176.0;
const A65: f64 = -5103.0 / 18656.0;
// 5th-order weights b (= the 7th row of A, which makes the method FSAL)
const B1: f64 = 35.0 / 384.0;
const B3: f64 = 500.0 / 1113.0;
const B4: f64 = 125.0 / 192.0;
const B5: f64 = -2187.0 / 6784.0;
const B6: f64 = 11.0 / 84.0;
// b - bhat, with the 4th-order embedded weights
// bhat = (5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40)
const E1: f64 = 71.0 / 57600.0;
const E3: f64 = -71.0 / 16695.0;
const E4: f64 = 71.0 / 1920.0;
const E5: f64 = -17253.0 / 339200.0;
const E6: f64 = 22.0 / 525.0;
const E7: f64 = -1.0 / 40.0;
// Dense output (Shampine 1986, as in HNW I, Sec. II.6)
const D1: f64 = -12715105075.0 / 11282082432.0;
const D3: f64 = 87487479700.0 / 32700410799.0;
const D4: f64 = -10690763975.0 / 1880347072.0;
const D5: f64 = 701980252875.0 / 199316789632.0;
const D6: f64 = -1453857185.0 / 822651844.0;
const D7: f64 = 69997945.0 / 29380423.0;

const SAFETY: f64 = 0.9;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 10.0;
const ERROR_EXPONENT: f64 = -1.0 / 5.0;

/// Work arrays of one solve.
struct Work {
    k: [Vec<f64>; 7],
    y1: Vec<f64>,
    ytmp: Vec<f64>,
    err: Vec<f64>,
    // dense output: y(t + th h) = y + th (r2 + (1-th) (r3 + th (r4 + (1-th) r5)))
    r: [Vec<f64>; 4],
}

/// Integrate y' = f(t, y) from t0 to t1. Returns the status; `stats` gets the counters.
pub fn solve(rhs: &mut Rhs, t0: f64, t1: f64, y0: &[f64], opt: &Adaptive, out: &mut Output,
             stats: &mut Stats) -> i32 {
    let n = y0.len();
    let z = || vec![0.0; n];
    let mut w = Work {
        k: [z(), z(), z(), z(), z(), z(), z()],
        y1: z(),
        ytmp: z(),
        err: z(),
        r: [z(), z(), z(), z()],
    };
    let mut y = y0.to_vec();
    let dir = if t1 >= t0 { 1.0 } else { -1.0 };
    let (rtol, atol) = (opt.rtol, opt.atol);
    out.start(t0, y0);
    stats.t_final = t0;
    if t1 == t0 {
        return status::SUCCESS;
    }
    rhs.call(t0, &y, &mut w.k[0]);
    if !all_finite(&w.k[0]) {
        stats.nfev = rhs.nfev;
        return status::NON_FINITE;
    }
    let mut h_abs = if opt.first_step > 0.0 {
        opt.first_step
    } else {
        let (k0, rest) = w.k.split_at_mut(1);
        initial_step(rhs, t0, &y, &k0[0], t1, opt.max_step, 4.0, rtol, atol, &mut w.ytmp,
                     &mut rest[0])
    };
    let dense = out.dense_mode();
    let mut t = t0;
    let mut attempts: u64 = 0;
    let mut code = status::SUCCESS;

    'steps: while dir * (t - t1) < 0.0 {
        // smallest step that still changes t (scipy's 10 * spacing(t))
        let min_step = 10.0 * (next_toward(t, dir) - t).abs();
        if h_abs > opt.max_step {
            h_abs = opt.max_step;
        } else if h_abs < min_step {
            h_abs = min_step;
        }
        let mut rejected = false;
        let mut last_err_finite = true;
        loop {
            if opt.max_steps > 0 && attempts >= opt.max_steps {
                code = status::MAX_STEPS;
                break 'steps;
            }
            if h_abs < min_step {
                code = if last_err_finite { status::STEP_TOO_SMALL } else { status::NON_FINITE };
                break 'steps;
            }
            attempts += 1;
            let mut t_new = t + dir * h_abs;
            if dir * (t_new - t1) > 0.0 {
                t_new = t1;
            }
            let h = t_new - t;
            stages(rhs, t, h, &y, &mut w);
            let err = h.abs() * error_norm(&w.err, &y, &w.y1, rtol, atol);
            if err < 1.0 {
                // accepted
                let mut factor = if err == 0.0 {
                    MAX_FACTOR
                } else {
                    MAX_FACTOR.min(SAFETY * err.powf(ERROR_EXPONENT))
                };
                if rejected {
                    factor = factor.min(1.0);
                }
                h_abs = h.abs() * factor;
                stats.naccept += 1;
                if dense {
                    dense_coefficients(h, &y, &mut w);
                    let (r, yy) = (&w.r, &y);
                    out.step(t_new, &w.y1, |te, row| {
                        let th = (te - t) / h;
                        let th1 = 1.0 - th;
                        for i in 0..row.len() {
                            row[i] = yy[i]
                                + th * (r[0][i] + th1 * (r[1][i] + th * (r[2][i] + th1 * r[3][i])));
                        }
                    });
                } else {
                    out.step(t_new, &w.y1, |_, _| {});
                }
                t = t_new;
                std::mem::swap(&mut y, &mut w.y1);
                // FSAL: f(t_new, y_new) is the next step's first stage
                w.k.swap(0, 6);
                if !all_finite(&w.k[0]) {
                    code = status::NON_FINITE;
                    break 'steps;
                }
                break;
            }
            // rejected (a NaN error norm lands here too)
            last_err_finite = err.is_finite();
            let factor = if err.is_finite() {
                MIN_FACTOR.max(SAFETY * err.powf(ERROR_EXPONENT))
            } else {
                MIN_FACTOR
            };
            h_abs = h.abs() * factor;
            rejected = true;
            stats.nreject += 1;
        }
    }
    stats.t_final = t;
    stats.nfev = rhs.nfev;
    code
}

/// The next representable number after t in the direction `dir`.
fn next_toward(t: f64, dir: f64) -> f64 {
    if t.is_nan() || t.is_infinite() {
        return t;
    }
    if t == 0.0 {
        return dir * f64::from_bits(1);
    }
    let bits = t.to_bits();
    let up = (t > 0.0) == (dir > 0.0);
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}

/// One Dormand-Prince step of size h from (t, y): k[0] = f(t, y) on entry; fills k[1..7],
/// y1 (5th order) and err = sum (b - bhat)_j k_j (the error estimate is h * err).
#[inline(always)]
fn stages(rhs: &mut Rhs, t: f64, h: f64, y: &[f64], w: &mut Work) {
    let n = y.len();
    let [k1, k2, k3, k4, k5, k6, k7] = &mut w.k;
    let ytmp = &mut w.ytmp;
    for i in 0..n {
        ytmp[i] = y[i] + h * (A21 * k1[i]);
    }
    rhs.call(t + C2 * h, ytmp, k2);
    for i in 0..n {
        ytmp[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
    }
    rhs.call(t + C3 * h, ytmp, k3);
    for i in 0..n {
        ytmp[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
    }
    rhs.call(t + C4 * h, ytmp, k4);
    for i in 0..n {
        ytmp[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
    }
    rhs.call(t + C5 * h, ytmp, k5);
    for i in 0..n {
        ytmp[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
    }
    rhs.call(t + h, ytmp, k6);
    let y1 = &mut w.y1;
    for i in 0..n {
        y1[i] = y[i] + h * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] + B6 * k6[i]);
    }
    rhs.call(t + h, y1, k7);
    let err = &mut w.err;
    for i in 0..n {
        err[i] = E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i];
    }
}

/// Hairer's dense-output coefficients of the accepted step (y, y1, k1..k7 of that step).
#[inline]
fn dense_coefficients(h: f64, y: &[f64], w: &mut Work) {
    let [k1, _, k3, k4, k5, k6, k7] = &w.k;
    let [r2, r3, r4, r5] = &mut w.r;
    for i in 0..y.len() {
        let ydiff = w.y1[i] - y[i];
        let bspl = h * k1[i] - ydiff;
        r2[i] = ydiff;
        r3[i] = bspl;
        r4[i] = ydiff - h * k7[i] - bspl;
        r5[i] = h * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i] + D7 * k7[i]);
    }
}
