//! Tests through the exported C functions (as a C caller would use them).

use super::*;
use std::ptr::{null, null_mut};

extern "C" fn decay(_t: f64, y: *const f64, p: *const f64, out: *mut f64) {
    // y' = -k y, k = p[0]
    unsafe { *out = -*p * *y }
}

extern "C" fn harmonic(_t: f64, y: *const f64, _p: *const f64, out: *mut f64) {
    unsafe {
        *out = *y.add(1);
        *out.add(1) = -*y;
    }
}

extern "C" fn ycos(t: f64, y: *const f64, _p: *const f64, out: *mut f64) {
    // y' = y cos t, y(0) = 1: y = exp(sin t) (non-autonomous)
    unsafe { *out = *y * t.cos() }
}

extern "C" fn robertson(_t: f64, y: *const f64, _p: *const f64, out: *mut f64) {
    unsafe {
        let (a, b, c) = (*y, *y.add(1), *y.add(2));
        *out = -0.04 * a + 1e4 * b * c;
        *out.add(1) = 0.04 * a - 1e4 * b * c - 3e7 * b * b;
        *out.add(2) = 3e7 * b * b;
    }
}

extern "C" fn prothero_robinson(t: f64, y: *const f64, p: *const f64, out: *mut f64) {
    // y' = -lam (y - cos t) - sin t, lam = p[0]: y = cos t + (y0 - 1) e^{-lam t}
    unsafe { *out = -*p * (*y - t.cos()) - t.sin() }
}

extern "C" fn nan_rhs(t: f64, y: *const f64, _p: *const f64, out: *mut f64) {
    unsafe { *out = if t > 0.5 { f64::NAN } else { -*y } }
}

struct Run {
    code: i32,
    t: Vec<f64>,
    y: Vec<f64>,
    stats: Stats,
}

#[allow(clippy::too_many_arguments)]
fn adaptive(stiff: bool, f: RhsFn, p: &[f64], t0: f64, t1: f64, y0: &[f64], rtol: f64,
            atol: f64, t_eval: &[f64], max_out: usize) -> Run {
    let n = y0.len();
    let (rt, at) = (vec![rtol; n], vec![atol; n]);
    let mut t_out = vec![0.0; max_out];
    let mut y_out = vec![0.0; max_out * n];
    let mut n_out = 0usize;
    let mut stats = Stats::default();
    let fun = if stiff { fastode_ref_rodas4 } else { fastode_ref_dopri5 };
    let code = unsafe {
        fun(Some(f), p.as_ptr(), n, t0, t1, y0.as_ptr(), rt.as_ptr(), at.as_ptr(), 0.0,
            f64::INFINITY, 0, if t_eval.is_empty() { null() } else { t_eval.as_ptr() },
            t_eval.len(), t_out.as_mut_ptr(), y_out.as_mut_ptr(), max_out, &mut n_out, &mut stats)
    };
    let k = n_out.min(max_out);
    t_out.truncate(k);
    y_out.truncate(k * n);
    Run { code, t: t_out, y: y_out, stats }
}

#[test]
fn dopri5_exponential_decay() {
    let r = adaptive(false, decay, &[2.0], 0.0, 3.0, &[1.0], 1e-10, 1e-12, &[], 10_000);
    assert_eq!(r.code, 0);
    assert_eq!(*r.t.last().unwrap(), 3.0);
    let y_end = *r.y.last().unwrap();
    assert!((y_end - (-6.0f64).exp()).abs() < 1e-11, "{y_end}");
    // FSAL: 6 evaluations per attempt, plus f(t0) and one for the initial step
    assert_eq!(r.stats.nfev, 2 + 6 * (r.stats.naccept + r.stats.nreject));
    assert_eq!(r.t.len() as u64, r.stats.naccept + 1);
}

#[test]
fn dopri5_backward_and_convergence_order() {
    // error at t = -2 scales like rtol^(5/5) roughly: tighter tolerance, smaller error
    let mut errs = vec![];
    for &tol in &[1e-4, 1e-6, 1e-8] {
        let r = adaptive(false, harmonic, &[0.0], 0.0, -2.0, &[1.0, 0.0], tol, tol * 1e-3, &[],
                         10_000);
        assert_eq!(r.code, 0);
        let n = r.t.len();
        assert_eq!(r.t[n - 1], -2.0);
        let (c, s) = ((-2.0f64).cos(), -(-2.0f64).sin());
        errs.push((r.y[2 * n - 2] - c).abs().max((r.y[2 * n - 1] - s).abs()));
    }
    assert!(errs[0] > 10.0 * errs[1] && errs[1] > 10.0 * errs[2], "{errs:?}");
    assert!(errs[2] < 1e-7, "{errs:?}");
}

#[test]
fn dopri5_dense_output_is_fourth_order_accurate() {
    let t_eval: Vec<f64> = (0..=50).map(|k| k as f64 * 0.1).collect();
    let r = adaptive(false, ycos, &[0.0], 0.0, 5.0, &[1.0], 1e-8, 1e-10, &t_eval, 51);
    assert_eq!(r.code, 0);
    assert_eq!(r.t, t_eval);
    for (k, &t) in t_eval.iter().enumerate() {
        assert!((r.y[k] - t.sin().exp()).abs() < 1e-7, "t={t}: {} vs {}", r.y[k], t.sin().exp());
    }
}

#[test]
fn fixed_step_rk4_is_fourth_order() {
    let mut errs = vec![];
    for &steps in &[20u64, 40, 80] {
        let h = 2.0 / steps as f64;
        let mut t_out = vec![0.0; steps as usize + 1];
        let mut y_out = vec![0.0; steps as usize + 1];
        let (mut n_out, mut stats) = (0usize, Stats::default());
        let code = unsafe {
            fastode_ref_rk4(Some(ycos), [0.0].as_ptr(), 1, 0.0, 2.0, [1.0].as_ptr(), h, null(), 0,
                            t_out.as_mut_ptr(), y_out.as_mut_ptr(), steps as usize + 1,
                            &mut n_out, &mut stats)
        };
        assert_eq!(code, 0);
        assert_eq!(n_out, steps as usize + 1);
        assert_eq!(t_out[steps as usize], 2.0);
        assert_eq!(stats.nfev, 1 + 4 * steps);
        errs.push((y_out[steps as usize] - 2.0f64.sin().exp()).abs());
    }
    let order = (errs[1] / errs[2]).log2();
    assert!((order - 4.0).abs() < 0.3, "{errs:?} order {order}");
}

#[test]
fn fixed_step_reports_the_buffer_it_needs() {
    let mut t_out = vec![0.0; 3];
    let mut y_out = vec![0.0; 3];
    let (mut n_out, mut stats) = (0usize, Stats::default());
    let code = unsafe {
        fastode_ref_euler(Some(decay), [1.0].as_ptr(), 1, 0.0, 1.0, [1.0].as_ptr(), 0.1, null(),
                          0, t_out.as_mut_ptr(), y_out.as_mut_ptr(), 3, &mut n_out, &mut stats)
    };
    assert_eq!(code, status::OUTPUT_TRUNCATED);
    assert_eq!(n_out, 11);
}

#[test]
fn adaptive_reports_the_buffer_it_needs() {
    let r = adaptive(false, decay, &[1.0], 0.0, 10.0, &[1.0], 1e-8, 1e-10, &[], 4);
    assert_eq!(r.code, status::OUTPUT_TRUNCATED);
    let full = adaptive(false, decay, &[1.0], 0.0, 10.0, &[1.0], 1e-8, 1e-10, &[], 10_000);
    assert_eq!(full.code, 0);
    assert_eq!(r.t[..], full.t[..4]);
}

#[test]
fn rodas4_very_stiff_prothero_robinson() {
    let lam = 1e6;
    let r = adaptive(true, prothero_robinson, &[lam], 0.0, 2.0, &[2.0], 1e-8, 1e-10, &[], 10_000);
    assert_eq!(r.code, 0);
    for (k, &t) in r.t.iter().enumerate() {
        let exact = t.cos() + (-lam * t).exp();
        assert!((r.y[k] - exact).abs() < 1e-8, "t={t}: {} vs {exact}", r.y[k]);
    }
    // an explicit method would need ~1e6 steps for stability alone
    assert!(r.stats.naccept < 300, "{:?}", r.stats);
    assert_eq!(r.stats.nlu, r.stats.naccept + r.stats.nreject);
    // f(t0) + initial step + (n + 1) per Jacobian and df/dt + 5 per attempt + f(t, y) per new step
    assert_eq!(r.stats.nfev, 2 + 2 * r.stats.njev + 5 * r.stats.nlu + r.stats.naccept - 1);
}

#[test]
fn rodas4_dense_output_mildly_stiff() {
    // Rodas' dense output is order 3 for non-stiff and mildly stiff steps; for |h lam| >> 1 it
    // suffers order reduction (the step values do not): see rodas4.rs
    let lam = 1e3;
    let t_eval = [0.5, 1.0, 1.5, 2.0];
    let r = adaptive(true, prothero_robinson, &[lam], 0.0, 2.0, &[2.0], 1e-8, 1e-10, &t_eval, 4);
    assert_eq!(r.code, 0);
    for (k, &t) in t_eval.iter().enumerate() {
        let exact = t.cos() + (-lam * t).exp();
        assert!((r.y[k] - exact).abs() < 1e-8, "t={t}: {} vs {exact}", r.y[k]);
    }
}

#[test]
fn rodas4_robertson_conserves_mass() {
    let r = adaptive(true, robertson, &[0.0], 0.0, 1e5, &[1.0, 0.0, 0.0], 1e-6, 1e-10,
                     &[40.0, 1e5], 2);
    assert_eq!(r.code, 0, "{:?}", r.stats);
    for k in 0..2 {
        let s: f64 = r.y[3 * k..3 * k + 3].iter().sum();
        assert!((s - 1.0).abs() < 1e-8, "sum {s}");
    }
    // reference values at t = 40 (HW II, Sec. IV.10 / scipy Radau at rtol 1e-10)
    assert!((r.y[0] - 0.7158270687).abs() < 1e-5, "{:?}", &r.y[..3]);
    assert!(r.stats.naccept < 500, "{:?}", r.stats);
}

#[test]
fn rodas4_dense_output_order_three() {
    let t_eval: Vec<f64> = (0..=40).map(|k| k as f64 * 0.1).collect();
    let r = adaptive(true, ycos, &[0.0], 0.0, 4.0, &[1.0], 1e-9, 1e-11, &t_eval, 41);
    assert_eq!(r.code, 0);
    for (k, &t) in t_eval.iter().enumerate() {
        assert!((r.y[k] - t.sin().exp()).abs() < 1e-6, "t={t}");
    }
}

#[test]
fn non_finite_rhs_is_a_status_not_a_crash() {
    let r = adaptive(false, nan_rhs, &[0.0], 0.0, 1.0, &[1.0], 1e-6, 1e-9, &[], 1000);
    assert_eq!(r.code, status::NON_FINITE, "{:?}", r.stats);
    assert!(r.stats.t_final <= 0.5 && r.stats.t_final > 0.3, "{:?}", r.stats);
    let r = adaptive(true, nan_rhs, &[0.0], 0.0, 1.0, &[1.0], 1e-6, 1e-9, &[], 1000);
    assert!(r.code < 0 && r.code > -100, "{}", r.code);
}

#[test]
fn error_codes() {
    let y0 = [1.0];
    let p = [1.0];
    let (rt, at) = ([1e-6], [1e-9]);
    let mut t_out = [0.0; 8];
    let mut y_out = [0.0; 8];
    let (mut n_out, mut stats) = (0usize, Stats::default());
    macro_rules! dopri {
        ($f:expr, $p:expr, $n:expr, $t0:expr, $t1:expr, $y0:expr, $rt:expr, $at:expr,
         $max_step:expr, $te:expr, $ne:expr, $to:expr, $yo:expr, $mo:expr, $no:expr, $st:expr) => {
            unsafe {
                fastode_ref_dopri5($f, $p, $n, $t0, $t1, $y0, $rt, $at, 0.0, $max_step, 0, $te,
                                   $ne, $to, $yo, $mo, $no, $st)
            }
        };
    }
    let (to, yo) = (t_out.as_mut_ptr(), y_out.as_mut_ptr());
    let inf = f64::INFINITY;
    use status::*;
    assert_eq!(dopri!(None, p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(), inf,
                      null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), null(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, null(), rt.as_ptr(), at.as_ptr(),
                      inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, null(), 0, to, yo, 8, null_mut(), &mut stats), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, null(), 0, to, yo, 8, &mut n_out, null_mut()), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), null(), at.as_ptr(),
                      inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, null(), 2, to, yo, 8, &mut n_out, &mut stats), ERR_NULL_POINTER);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 0, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_BAD_SIZE);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), usize::MAX, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(),
                      at.as_ptr(), inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_BAD_SIZE);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, f64::NAN, y0.as_ptr(), rt.as_ptr(),
                      at.as_ptr(), inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_BAD_SPAN);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, [f64::NAN].as_ptr(), rt.as_ptr(),
                      at.as_ptr(), inf, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_BAD_Y0);
    for (r, a) in [(-1e-6, 1e-9), (1e-6, -1e-9), (f64::NAN, 1e-9), (1e-6, f64::INFINITY), (0.0, 1e-9)] {
        assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), [r].as_ptr(),
                          [a].as_ptr(), inf, null(), 0, to, yo, 8, &mut n_out, &mut stats),
                   ERR_BAD_TOLERANCE, "rtol {r} atol {a}");
    }
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      0.0, null(), 0, to, yo, 8, &mut n_out, &mut stats), ERR_BAD_STEP);
    for te in [[0.5, 0.2], [0.2, 0.2], [0.2, 1.5], [f64::NAN, 0.5]] {
        assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(),
                          at.as_ptr(), inf, te.as_ptr(), 2, to, yo, 8, &mut n_out, &mut stats),
                   ERR_BAD_T_EVAL, "{te:?}");
    }
    // backward: t_eval must decrease
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 1.0, 0.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, [0.2, 0.5].as_ptr(), 2, to, yo, 8, &mut n_out, &mut stats), ERR_BAD_T_EVAL);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 1.0, 0.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, [0.5, 0.2].as_ptr(), 2, to, yo, 8, &mut n_out, &mut stats), SUCCESS);
    assert_eq!(dopri!(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), rt.as_ptr(), at.as_ptr(),
                      inf, [0.2, 0.5].as_ptr(), 2, to, yo, 1, &mut n_out, &mut stats),
               ERR_OUTPUT_TOO_SMALL);
    // fixed step: h <= 0, NaN, or absurdly many steps
    for h in [0.0, -0.1, f64::NAN, 1e-300] {
        let code = unsafe {
            fastode_ref_euler(Some(decay), p.as_ptr(), 1, 0.0, 1.0, y0.as_ptr(), h, null(), 0, to,
                              yo, 8, &mut n_out, &mut stats)
        };
        assert_eq!(code, ERR_BAD_STEP, "h = {h}");
    }
    assert_eq!(unsafe { fastode_ref_lecture_harmonic(null_mut()) }, ERR_NULL_POINTER);
    for code in [0, 2, -1, -2, -3, -4, -100, -101, -102, -103, -104, -105, -106, -107, -108, -199, 7] {
        let msg = unsafe { std::ffi::CStr::from_ptr(fastode_ref_status_message(code)) };
        assert!(!msg.to_bytes().is_empty());
    }
}

#[test]
fn zero_length_span() {
    let r = adaptive(false, decay, &[1.0], 1.0, 1.0, &[3.0], 1e-6, 1e-9, &[], 4);
    assert_eq!((r.code, r.t.clone(), r.y.clone()), (0, vec![1.0], vec![3.0]));
    let r = adaptive(true, decay, &[1.0], 1.0, 1.0, &[3.0], 1e-6, 1e-9, &[1.0], 4);
    assert_eq!((r.code, r.t.clone(), r.y.clone()), (0, vec![1.0], vec![3.0]));
}
