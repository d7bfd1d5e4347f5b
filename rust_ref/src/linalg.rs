//! Dense LU decomposition with partial pivoting (Golub & Van Loan, "Matrix Computations",
//! Algorithm 3.4.1, Gaussian elimination with partial pivoting), row-major n x n storage.

/// Factor `a` (row-major, n x n) in place as P A = L U: U on and above the diagonal, the
/// multipliers of L (unit diagonal) below it; `piv[k]` is the row swapped with row k at step k.
/// Returns false when a pivot is zero or not finite (the matrix is singular to working
/// precision); `a` is then unusable.
pub fn lu_factor(a: &mut [f64], n: usize, piv: &mut [usize]) -> bool {
    debug_assert_eq!(a.len(), n * n);
    for k in 0..n {
        // pivot: the largest |a[i][k]| for i >= k
        let mut p = k;
        let mut big = a[k * n + k].abs();
        for i in k + 1..n {
            let v = a[i * n + k].abs();
            if v > big {
                big = v;
                p = i;
            }
        }
        piv[k] = p;
        if !(big > 0.0) || !big.is_finite() {
            return false;
        }
        if p != k {
            for j in 0..n {
                a.swap(k * n + j, p * n + j);
            }
        }
        let inv = 1.0 / a[k * n + k];
        for i in k + 1..n {
            let m = a[i * n + k] * inv;
            a[i * n + k] = m;
            if m != 0.0 {
                for j in k + 1..n {
                    a[i * n + j] -= m * a[k * n + j];
                }
            }
        }
    }
    true
}

/// Solve A x = b in place (b becomes x) with the factors from [`lu_factor`].
pub fn lu_solve(lu: &[f64], n: usize, piv: &[usize], b: &mut [f64]) {
    for k in 0..n {
        let p = piv[k];
        if p != k {
            b.swap(k, p);
        }
    }
    // forward substitution, L unit lower triangular
    for i in 1..n {
        let mut s = b[i];
        for j in 0..i {
            s -= lu[i * n + j] * b[j];
        }
        b[i] = s;
    }
    // back substitution
    for i in (0..n).rev() {
        let mut s = b[i];
        for j in i + 1..n {
            s -= lu[i * n + j] * b[j];
        }
        b[i] = s / lu[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_that_needs_pivoting() {
        // a[0][0] = 0 forces a row swap
        let a0 = [0.0, 2.0, 1.0, 1.0, 1.0, 1.0, 4.0, -1.0, 3.0];
        let x_true = [1.0, -2.0, 0.5];
        let mut b = [0.0; 3];
        for i in 0..3 {
            for j in 0..3 {
                b[i] += a0[i * 3 + j] * x_true[j];
            }
        }
        let mut a = a0;
        let mut piv = [0usize; 3];
        assert!(lu_factor(&mut a, 3, &mut piv));
        lu_solve(&a, 3, &piv, &mut b);
        for i in 0..3 {
            assert!((b[i] - x_true[i]).abs() < 1e-14, "{:?}", b);
        }
    }

    #[test]
    fn reports_singular_matrices() {
        let mut a = [1.0, 2.0, 2.0, 4.0];
        let mut piv = [0usize; 2];
        assert!(!lu_factor(&mut a, 2, &mut piv));
        let mut nan = [f64::NAN, 0.0, 0.0, 1.0];
        assert!(!lu_factor(&mut nan, 2, &mut piv));
    }

    #[test]
    fn hilbert_5_residual_is_small() {
        let n = 5;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = 1.0 / (i + j + 1) as f64;
            }
        }
        let a0 = a.clone();
        let b0: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
        let mut x = b0.clone();
        let mut piv = vec![0; n];
        assert!(lu_factor(&mut a, n, &mut piv));
        lu_solve(&a, n, &piv, &mut x);
        for i in 0..n {
            let r: f64 = (0..n).map(|j| a0[i * n + j] * x[j]).sum::<f64>() - b0[i];
            assert!(r.abs() < 1e-9, "residual {r}");
        }
    }
}
