//! Fixed-step explicit methods: forward Euler and the classical Runge-Kutta method
//! (Hairer, Norsett & Wanner I, Sec. II.1, eq. (1.1) and Table 1.2 left).
//!
//! Steps run on the grid t_k = t0 + k h (k < N) and t_N = t1 with N = ceil(|t1 - t0| / h)
//! (a ratio within 1e-9 of an integer counts as that integer), so the last step is shortened to
//! end exactly at t1 and rounding never accumulates in t. Output at requested times uses the
//! cubic Hermite interpolant of (y_k, f_k, y_{k+1}, f_{k+1}) (HNW I, eq. II.6.7).

use crate::common::{all_finite, status, Output, Rhs, Stats};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixedMethod {
    Euler,
    Rk4,
}

/// Number of steps of size h on [t0, t1], or None when h is unusable (h <= 0, not finite, or
/// more than 2^40 steps).
pub fn step_count(t0: f64, t1: f64, h: f64) -> Option<u64> {
    if !(h > 0.0) || !h.is_finite() {
        return None;
    }
    let span = (t1 - t0).abs();
    if span == 0.0 {
        return Some(0);
    }
    let ratio = span / h;
    if !(ratio < (1u64 << 40) as f64) {
        return None;
    }
    Some(((ratio - 1e-9).ceil() as u64).max(1))
}

/// Cubic Hermite interpolation on [t, t + h] at theta: matches y0, h f0 at theta = 0 and
/// y1, h f1 at theta = 1.
#[inline]
pub fn hermite(theta: f64, h: f64, y0: &[f64], f0: &[f64], y1: &[f64], f1: &[f64], out: &mut [f64]) {
    let tm1 = theta - 1.0;
    for i in 0..out.len() {
        let dy = y1[i] - y0[i];
        out[i] = (1.0 - theta) * y0[i] + theta * y1[i]
            + theta * tm1 * ((1.0 - 2.0 * theta) * dy + tm1 * h * f0[i] + theta * h * f1[i]);
    }
}

/// Integrate with `n_steps` (from [`step_count`]) fixed steps. Returns the status.
pub fn solve_fixed(method: FixedMethod, rhs: &mut Rhs, t0: f64, t1: f64, y0: &[f64], h: f64,
                   n_steps: u64, out: &mut Output, stats: &mut Stats) -> i32 {
    let n = y0.len();
    let dir = if t1 >= t0 { 1.0 } else { -1.0 };
    let mut y = y0.to_vec();
    let mut y_new = vec![0.0; n];
    let mut f = vec![0.0; n];
    let mut f_new = vec![0.0; n];
    let (mut k2, mut k3, mut k4, mut tmp) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    out.start(t0, y0);
    let mut t = t0;
    stats.t_final = t0;
    if n_steps == 0 {
        return status::SUCCESS;
    }
    rhs.call(t, &y, &mut f);
    if !all_finite(&f) {
        stats.nfev = rhs.nfev;
        return status::NON_FINITE;
    }
    let mut code = status::SUCCESS;
    for k in 0..n_steps {
        let t_new = if k + 1 == n_steps { t1 } else { t0 + dir * ((k + 1) as f64) * h };
        let hk = t_new - t;
        match method {
            FixedMethod::Euler => {
                for i in 0..n {
                    y_new[i] = y[i] + hk * f[i];
                }
            }
            FixedMethod::Rk4 => {
                let half = 0.5 * hk;
                for i in 0..n {
                    tmp[i] = y[i] + half * f[i];
                }
                rhs.call(t + half, &tmp, &mut k2);
                for i in 0..n {
                    tmp[i] = y[i] + half * k2[i];
                }
                rhs.call(t + half, &tmp, &mut k3);
                for i in 0..n {
                    tmp[i] = y[i] + hk * k3[i];
                }
                rhs.call(t + hk, &tmp, &mut k4);
                let sixth = hk / 6.0;
                for i in 0..n {
                    y_new[i] = y[i] + sixth * (f[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
            }
        }
        if !all_finite(&y_new) {
            code = status::NON_FINITE;
            break;
        }
        rhs.call(t_new, &y_new, &mut f_new);
        stats.naccept += 1;
        {
            let (yr, fr, fnr) = (&y, &f, &f_new);
            let yn = &y_new;
            out.step(t_new, &y_new, |te, row| hermite((te - t) / hk, hk, yr, fr, yn, fnr, row));
        }
        t = t_new;
        std::mem::swap(&mut y, &mut y_new);
        std::mem::swap(&mut f, &mut f_new);
        if !all_finite(&f) {
            code = status::NON_FINITE;
            break;
        }
    }
    stats.t_final = t;
    stats.nfev = rhs.nfev;
    code
}
