//! The little linear algebra the engine needs, in one place: a Cholesky factor (of a
//! correlation matrix that must be positive definite, or of a covariance that may be only
//! semi-definite) and Gram–Schmidt orthonormalisation. Matrices are row-major `n × n` slices.

/// What to do with a pivot that is zero up to rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SmallPivot {
    /// Fail: the matrix must be positive definite (pivots above this absolute value).
    Refuse(f64),
    /// Give a zero column: that combination has no variance (pivots at or below this share of
    /// the largest diagonal entry).
    Zero(f64),
}

/// Lower-triangular `L` with `L Lᵀ = a` for a symmetric row-major `n × n` matrix; `None` when
/// a pivot is too small and `small` says to refuse it.
pub fn cholesky(a: &[f64], n: usize, small: SmallPivot) -> Option<Vec<f64>> {
    let scale = (0..n).map(|i| a[i * n + i]).fold(0.0, f64::max);
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - dot;
                l[i * n + i] = match small {
                    SmallPivot::Refuse(min) if d <= min => return None,
                    SmallPivot::Zero(rel) if d <= rel * scale => 0.0,
                    _ => d.sqrt(),
                };
            } else if l[j * n + j] > 0.0 {
                l[i * n + j] = (a[i * n + j] - dot) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Add `v` to the orthonormal `cols` after removing its parts along them (twice, for
/// accuracy), unless nothing is left of it.
pub fn add_orthonormal(cols: &mut Vec<Vec<f64>>, mut v: Vec<f64>) {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let start = norm(&v);
    if start == 0.0 {
        return;
    }
    for _ in 0..2 {
        for c in cols.iter() {
            let d: f64 = v.iter().zip(c).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(c).for_each(|(a, b)| *a -= d * b);
        }
    }
    let left = norm(&v);
    if left <= 1e-9 * start {
        return;
    }
    v.iter_mut().for_each(|a| *a /= left);
    cols.push(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(l: &[f64], n: usize) -> Vec<f64> {
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = (0..n).map(|k| l[i * n + k] * l[j * n + k]).sum();
            }
        }
        out
    }

    #[test]
    fn factor_reproduces_a_positive_definite_matrix() {
        let a = [4.0, 2.0, 0.6, 2.0, 2.0, 0.5, 0.6, 0.5, 3.0];
        let l = cholesky(&a, 3, SmallPivot::Refuse(1e-10)).unwrap();
        for (x, y) in product(&l, 3).iter().zip(&a) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn a_singular_matrix_is_refused_or_given_a_zero_column() {
        // The third variable is the sum of the first two.
        let a = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0];
        assert!(cholesky(&a, 3, SmallPivot::Refuse(1e-10)).is_none());
        let l = cholesky(&a, 3, SmallPivot::Zero(1e-12)).unwrap();
        assert_eq!(l[8], 0.0);
        for (x, y) in product(&l, 3).iter().zip(&a) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn gram_schmidt_keeps_only_new_directions() {
        let mut cols = Vec::new();
        add_orthonormal(&mut cols, vec![3.0, 0.0, 4.0]);
        add_orthonormal(&mut cols, vec![6.0, 0.0, 8.0]);
        add_orthonormal(&mut cols, vec![1.0, 1.0, 0.0]);
        assert_eq!(cols.len(), 2);
        let dot: f64 = cols[0].iter().zip(&cols[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-12);
    }
}
