//! Rodas4: the L-stable, stiffly accurate Rosenbrock method of order 4 with an embedded order-3
//! estimate and a dense output of order 3.
//!
//! Hairer & Wanner, "Solving Ordinary Differential Equations II", 2nd ed., Sec. IV.7
//! (Rosenbrock methods, in the transformed formulation with W = I/(h gamma) - J, which needs one
//! LU decomposition per step and no matrix-vector products) and Sec. VI.4 (RODAS, built for
//! index-1 DAEs and therefore stiffly accurate); the coefficients are those published with
//! Hairer's code rodas.f (METH = 1). Step-size control: HW II, Sec. IV.8.
//!
//! One step from (t, y), with J = df/dy and f_t = df/dt at (t, y) by forward differences:
//!
//! ```text
//!   W k_i = f(t + c_i h, y + sum_{j<i} a_ij k_j) + (1/h) sum_{j<i} c_ij k_j + h d_i f_t
//!   y_emb = y + a_51 k_1 + ... + a_54 k_4 + k_5   (order 3)
//!   y_new = y_emb + k_6                           (order 4; both stiffly accurate)
//! ```
//! so k_6 is the error estimate. Dense output (order 3):
//! y(t + th h) = (1-th) y + th (y_new + (1-th)(q1 + th q2)), q1 = sum d2_j k_j, q2 = sum d3_j k_j.
//!
//! Step control (HW II, Sec. IV.8, "Step size selection"): err = weighted RMS of k_6 with
//! atol + rtol max(|y|, |y_new|); h_new = h / fac, fac = clamp(err^(1/4) / 0.9, 1/6, 5);
//! after an accepted step Gustafsson's predictive controller may shrink it further; never grow
//! right after a rejection. A singular W halves h (five in a row: status SINGULAR).
//! The Jacobian column j uses the increment sqrt(eps max(1e-5, |y_j|)) (n RHS calls) and f_t the
//! increment sqrt(eps max(1e-5, |t|)) (one call); both are recomputed after every accepted step.
//!
//! Known limits of the method (measured in the tests, not bugs): on Prothero-Robinson-type
//! problems y' = lam (y - g(t)) + g'(t) with |h lam| in 10..1e3 the embedded estimate is
//! pessimistic (order reduction), so Rodas takes several times more steps there than Radau IIA;
//! and the dense output, order 3 for non-stiff steps, loses accuracy inside very stiff steps
//! (|h lam| >> 1) while the step values keep theirs. Compare step values, or use t_eval on
//! problems whose steps are not very stiff.

use crate::common::{all_finite, error_norm, initial_step, status, try_zeros, Adaptive, Output,
                    Rhs, Stats};
use crate::linalg::{lu_factor, lu_solve};

const GAMMA: f64 = 0.25;
const C2: f64 = 0.386;
const C3: f64 = 0.21;
const C4: f64 = 0.63;
// d_i = gamma_i = sum_j gamma_ij (the f_t terms); d_5 = d_6 = 0
const D1: f64 = 0.25;
const D2: f64 = -0.1043;
const D3: f64 = 0.1035;
const D4: f64 = -0.3620000000000023e-01;
const A21: f64 = 0.1544e+01;
const A31: f64 = 0.9466785280815826;
const A32: f64 = 0.2557011698983284;
const A41: f64 = 0.3314825187068521e+01;
const A42: f64 = 0.2896124015972201e+01;
const A43: f64 = 0.9986419139977817;
const A51: f64 = 0.1221224509226641e+01;
const A52: f64 = 0.6019134481288629e+01;
const A53: f64 = 0.1253708332932087e+02;
const A54: f64 = -0.6878860361058950;
const C21: f64 = -0.56688e+01;
const C31: f64 = -0.2430093356833875e+01;
const C32: f64 = -0.2063599157091915;
const C41: f64 = -0.1073529058151375;
const C42: f64 = -0.9594562251023355e+01;
const C43: f64 = -0.2047028614809616e+02;
const C51: f64 = 0.7496443313967647e+01;
const C52: f64 = -0.1024680431464352e+02;
const C53: f64 = -0.3399990352819905e+02;
const C54: f64 = 0.1170890893206160e+02;
const C61: f64 = 0.8083246795921522e+01;
const C62: f64 = -0.7981132988064893e+01;
const C63: f64 = -0.3152159432874371e+02;
const C64: f64 = 0.1631930543123136e+02;
const C65: f64 = -0.6058818238834054e+01;
// dense output
const D21: f64 = 0.1012623508344586e+02;
const D22: f64 = -0.7487995877610167e+01;
const D23: f64 = -0.3480091861555747e+02;
const D24: f64 = -0.7992771707568823e+01;
const D25: f64 = 0.1025137723295662e+01;
const D31: f64 = -0.6762803392801253;
const D32: f64 = 0.6087714651680015e+01;
const D33: f64 = 0.1643084320892478e+02;
const D34: f64 = 0.2476722511418386e+02;
const D35: f64 = -0.6594389125716872e+01;

const SAFE: f64 = 0.9;
const FAC_MIN: f64 = 1.0 / 6.0; // h_new / h <= 6
const FAC_MAX: f64 = 5.0; // h_new / h >= 0.2
const UROUND: f64 = f64::EPSILON;

/// Integrate y' = f(t, y) from t0 to t1. Returns the status; `stats` gets the counters.
pub fn solve(rhs: &mut Rhs, t0: f64, t1: f64, y0: &[f64], opt: &Adaptive, out: &mut Output,
             stats: &mut Stats) -> i32 {
    let n = y0.len();
    let (rtol, atol) = (opt.rtol, opt.atol);
    let dir = if t1 >= t0 { 1.0 } else { -1.0 };
    out.start(t0, y0);
    stats.t_final = t0;
    if t1 == t0 {
        return status::SUCCESS;
    }
    // work arrays (n x n twice: the Jacobian and the LU factors of W)
    let (mut jac, mut lu) = match (try_zeros(n * n), try_zeros(n * n)) {
        (Some(a), Some(b)) => (a, b),
        _ => return status::ERR_NO_MEMORY,
    };
    let z = || vec![0.0; n];
    let mut piv = vec![0usize; n];
    let mut y = y0.to_vec();
    let (mut fy, mut fx, mut ynew, mut dy, mut tmp) = (z(), z(), z(), z(), z());
    let (mut k1, mut k2, mut k3, mut k4, mut k5, mut k6) = (z(), z(), z(), z(), z(), z());
    let (mut q1, mut q2) = (z(), z());

    rhs.call(t0, &y, &mut fy);
    if !all_finite(&fy) {
        stats.nfev = rhs.nfev;
        return status::NON_FINITE;
    }
    let max_step = opt.max_step.min((t1 - t0).abs());
    let mut h_abs = if opt.first_step > 0.0 {
        opt.first_step
    } else {
        initial_step(rhs, t0, &y, &fy, t1, max_step, 3.0, rtol, atol, &mut tmp, &mut dy)
    };
    h_abs = h_abs.min(max_step);
    let mut t = t0;
    let mut attempts: u64 = 0;
    let mut reject = false;
    let mut n_singular = 0;
    let mut h_acc = 0.0;
    let mut err_acc = 0.0;
    let mut code = status::SUCCESS;
    let mut last_err_finite = true;

    'steps: loop {
        // ---- Jacobian and df/dt at (t, y) by forward differences; fy = f(t, y) -------------
        for j in 0..n {
            let y_safe = y[j];
            let delta = (UROUND * y_safe.abs().max(1e-5)).sqrt();
            y[j] = y_safe + delta;
            rhs.call(t, &y, &mut tmp);
            y[j] = y_safe;
            for i in 0..n {
                jac[i * n + j] = (tmp[i] - fy[i]) / delta;
            }
        }
        {
            let delta = (UROUND * t.abs().max(1e-5)).sqrt();
            rhs.call(t + delta, &y, &mut tmp);
            for i in 0..n {
                fx[i] = (tmp[i] - fy[i]) / delta;
            }
        }
        stats.njev += 1;

        // ---- attempt steps from (t, y) until one is accepted ------------------------------
        loop {
            if opt.max_steps > 0 && attempts >= opt.max_steps {
                code = status::MAX_STEPS;
                break 'steps;
            }
            if !(0.1 * h_abs > t.abs() * UROUND) || h_abs == 0.0 {
                code = if last_err_finite { status::STEP_TOO_SMALL } else { status::NON_FINITE };
                break 'steps;
            }
            attempts += 1;
            let last = dir * (t + dir * h_abs * 1.0001 - t1) >= 0.0;
            let h = if last { t1 - t } else { dir * h_abs };
            // W = I / (h gamma) - J
            let fac = 1.0 / (h * GAMMA);
            for i in 0..n * n {
                lu[i] = -jac[i];
            }
            for i in 0..n {
                lu[i * n + i] += fac;
            }
            if !lu_factor(&mut lu, n, &mut piv) {
                n_singular += 1;
                if n_singular >= 5 {
                    code = status::SINGULAR;
                    break 'steps;
                }
                h_abs *= 0.5;
                reject = true;
                stats.nreject += 1;
                continue;
            }
            stats.nlu += 1;
            let hinv = 1.0 / h;

            // stage 1
            for i in 0..n {
                k1[i] = fy[i] + h * D1 * fx[i];
            }
            lu_solve(&lu, n, &piv, &mut k1);
            // stage 2
            for i in 0..n {
                ynew[i] = y[i] + A21 * k1[i];
            }
            rhs.call(t + C2 * h, &ynew, &mut dy);
            for i in 0..n {
                k2[i] = dy[i] + hinv * (C21 * k1[i]) + h * D2 * fx[i];
            }
            lu_solve(&lu, n, &piv, &mut k2);
            // stage 3
            for i in 0..n {
                ynew[i] = y[i] + A31 * k1[i] + A32 * k2[i];
            }
            rhs.call(t + C3 * h, &ynew, &mut dy);
            for i in 0..n {
                k3[i] = dy[i] + hinv * (C31 * k1[i] + C32 * k2[i]) + h * D3 * fx[i];
            }
            lu_solve(&lu, n, &piv, &mut k3);
            // stage 4
            for i in 0..n {
                ynew[i] = y[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i];
            }
            rhs.call(t + C4 * h, &ynew, &mut dy);
            for i in 0..n {
                k4[i] = dy[i] + hinv * (C41 * k1[i] + C42 * k2[i] + C43 * k3[i]) + h * D4 * fx[i];
            }
            lu_solve(&lu, n, &piv, &mut k4);
            // stage 5 (c_5 = 1)
            for i in 0..n {
                ynew[i] = y[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i];
            }
            rhs.call(t + h, &ynew, &mut dy);
            for i in 0..n {
                k5[i] = dy[i] + hinv * (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i]);
            }
            lu_solve(&lu, n, &piv, &mut k5);
            // embedded solution (order 3), then stage 6 (c_6 = 1)
            for i in 0..n {
                ynew[i] += k5[i];
            }
            rhs.call(t + h, &ynew, &mut dy);
            for i in 0..n {
                k6[i] = dy[i]
                    + hinv * (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i] + C65 * k5[i]);
            }
            lu_solve(&lu, n, &piv, &mut k6);
            // new solution (order 4); k6 is the error estimate
            for i in 0..n {
                ynew[i] += k6[i];
            }
            let err = error_norm(&k6, &y, &ynew, rtol, atol);
            let mut fac = if err.is_finite() {
                (err.powf(0.25) / SAFE).clamp(FAC_MIN, FAC_MAX)
            } else {
                FAC_MAX
            };
            if err <= 1.0 {
                // ---- accepted ----
                stats.naccept += 1;
                if stats.naccept > 1 {
                    // predictive controller of Gustafsson (HW II, Sec. IV.8)
                    let fac_gus = ((h_acc / h.abs()) * (err * err / err_acc).powf(0.25) / SAFE)
                        .clamp(FAC_MIN, FAC_MAX);
                    fac = fac.max(fac_gus);
                }
                h_acc = h.abs();
                err_acc = err.max(1e-2);
                let t_new = if last { t1 } else { t + h };
                if out.dense_mode() {
                    for i in 0..n {
                        q1[i] = D21 * k1[i] + D22 * k2[i] + D23 * k3[i] + D24 * k4[i] + D25 * k5[i];
                        q2[i] = D31 * k1[i] + D32 * k2[i] + D33 * k3[i] + D34 * k4[i] + D35 * k5[i];
                    }
                    let (yy, yn, a, b) = (&y, &ynew, &q1, &q2);
                    out.step(t_new, &ynew, |te, row| {
                        let s = (te - t) / h;
                        let s1 = 1.0 - s;
                        for i in 0..row.len() {
                            row[i] = s1 * yy[i] + s * (yn[i] + s1 * (a[i] + s * b[i]));
                        }
                    });
                } else {
                    out.step(t_new, &ynew, |_, _| {});
                }
                let mut h_new = h.abs() / fac;
                if reject {
                    h_new = h_new.min(h.abs());
                }
                h_abs = h_new.min(max_step);
                reject = false;
                n_singular = 0;
                t = t_new;
                std::mem::swap(&mut y, &mut ynew);
                if last {
                    break 'steps;
                }
                rhs.call(t, &y, &mut fy);
                if !all_finite(&fy) {
                    code = status::NON_FINITE;
                    break 'steps;
                }
                break;
            }
            // ---- rejected (a NaN error lands here too) ----
            last_err_finite = err.is_finite();
            reject = true;
            stats.nreject += 1;
            h_abs = h.abs() / fac;
        }
    }
    stats.t_final = t;
    stats.nfev = rhs.nfev;
    code
}
