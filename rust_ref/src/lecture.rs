//! The two Rust examples of the lecture (shared/seeds/000_61455b94890c5db2.txt, Sec. 10), kept
//! as written there: forward Euler with a constant step h = (t1 - t0) / steps and `t += h`.
//! They are checks: the same numbers must come out of `fastode_ref_euler`, fastode's numba
//! Euler and the closed forms (1 - h)^1000 and M^100 y0 with M = [[1, h], [-h, 1]].

use std::f64::consts::PI;

/// dy/dt = -y (the lecture's `f`).
pub fn f(_t: f64, y: f64) -> f64 {
    -y
}

/// The lecture's scalar Euler: `steps` steps of size (t1 - t0) / steps.
pub fn euler(f: fn(f64, f64) -> f64, t0: f64, y0: f64, t1: f64, steps: usize) -> f64 {
    let h = (t1 - t0) / steps as f64;
    let mut y = y0;
    let mut t = t0;
    for _ in 0..steps {
        y += h * f(t, y);
        t += h;
    }
    y
}

/// The harmonic oscillator of the lecture's "Neural ODE" sketch: y1' = y2, y2' = -y1.
pub fn func(_t: f64, y: [f64; 2]) -> [f64; 2] {
    [y[1], -y[0]]
}

/// The lecture's `neural_ode_sim`: Euler for a 2-vector.
pub fn neural_ode_sim(func: fn(f64, [f64; 2]) -> [f64; 2], y0: [f64; 2], t0: f64, t1: f64,
                      steps: usize) -> [f64; 2] {
    let h = (t1 - t0) / steps as f64;
    let mut y = y0;
    let mut t = t0;
    for _ in 0..steps {
        let dy = func(t, y);
        y[0] += h * dy[0];
        y[1] += h * dy[1];
        t += h;
    }
    y
}

/// y(5) of dy/dt = -y, y(0) = 1, by 1000 Euler steps (the lecture prints it as "~e^{-5}";
/// it is (1 - 0.005)^1000 = 0.006653..., e^-5 = 0.006737...).
pub fn euler_decay() -> f64 {
    euler(f, 0.0, 1.0, 5.0, 1000)
}

/// y(pi/2) of the harmonic oscillator from (1, 0) by 100 Euler steps. The exact flow gives
/// (cos, -sin)(pi/2) = (0, -1); Euler's matrix M = [[1, h], [-h, 1]] = sqrt(1 + h^2) R(-atan h)
/// gives (1 + h^2)^50 (cos(100 atan h), -sin(100 atan h)) = (0.0002..., -1.0124...).
/// (The lecture's comment "~[0,1]" has the sign of the second component wrong.)
pub fn harmonic() -> [f64; 2] {
    neural_ode_sim(func, [1.0, 0.0], 0.0, PI / 2.0, 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::{Output, Rhs, Stats};
    use crate::fixed::{solve_fixed, step_count, FixedMethod};

    extern "C" fn decay_c(_t: f64, y: *const f64, _p: *const f64, out: *mut f64) {
        unsafe { *out = -*y }
    }

    extern "C" fn harmonic_c(_t: f64, y: *const f64, _p: *const f64, out: *mut f64) {
        unsafe {
            *out = *y.add(1);
            *out.add(1) = -*y;
        }
    }

    fn run_euler(f: crate::common::RhsFn, y0: &[f64], t1: f64, steps: u64) -> Vec<f64> {
        let n = y0.len();
        let h = t1 / steps as f64;
        let n_steps = step_count(0.0, t1, h).unwrap();
        assert_eq!(n_steps, steps);
        let mut t_out = vec![0.0; steps as usize + 1];
        let mut y_out = vec![0.0; (steps as usize + 1) * n];
        let p = [0.0];
        let mut rhs = unsafe { Rhs::new(f, p.as_ptr()) };
        let mut stats = Stats::default();
        let mut out = Output::new(n, &[], &mut t_out, &mut y_out, 1.0);
        let code = solve_fixed(FixedMethod::Euler, &mut rhs, 0.0, t1, y0, h, n_steps, &mut out,
                               &mut stats);
        assert_eq!(code, 0);
        assert_eq!(out.count, steps as usize + 1);
        y_out[steps as usize * n..].to_vec()
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn euler_decay_matches_closed_form_and_the_solver() {
        let y = euler_decay();
        let closed = 0.995f64.powi(1000);
        assert!(rel(y, closed) < 1e-12, "{y} vs {closed}");
        assert!((y - (-5.0f64).exp()).abs() < 1e-4); // first-order global error ~ h/2 * 5 e^-5
        let y_solver = run_euler(decay_c, &[1.0], 5.0, 1000);
        assert!(rel(y_solver[0], y) < 1e-12, "{} vs {y}", y_solver[0]);
    }

    #[test]
    fn harmonic_matches_matrix_power_and_the_solver() {
        let y = harmonic();
        let h = PI / 2.0 / 100.0;
        // M^100 y0 by repeated multiplication (the matrix power)
        let mut v = [1.0, 0.0];
        for _ in 0..100 {
            v = [v[0] + h * v[1], v[1] - h * v[0]];
        }
        // polar form: (1 + h^2)^50 (cos 100 phi, -sin 100 phi), phi = atan h
        let r = (1.0 + h * h).powi(50);
        let phi = h.atan();
        let polar = [r * (100.0 * phi).cos(), -r * (100.0 * phi).sin()];
        for i in 0..2 {
            assert!((y[i] - v[i]).abs() < 1e-13, "{y:?} vs {v:?}");
            assert!((y[i] - polar[i]).abs() < 1e-13, "{y:?} vs {polar:?}");
        }
        assert!(y[0].abs() < 1e-3 && (y[1] + 1.0124).abs() < 1e-3, "{y:?}");
        let y_solver = run_euler(harmonic_c, &[1.0, 0.0], PI / 2.0, 100);
        for i in 0..2 {
            assert!((y_solver[i] - y[i]).abs() < 1e-13, "{y_solver:?} vs {y:?}");
        }
    }
}
