//! Rank correlations between inputs through a Gaussian copula.

use super::*;
use crate::linalg::{cholesky, SmallPivot};

/// A Gaussian copula: correlated uniforms for several inputs, each then fed to that input's
/// [`Dist::quantile`], so every input keeps its own distribution while their ranks move together.
///
/// Correlations are given as Spearman rank correlations (what survives any monotone marginal) and
/// converted to the Gaussian Pearson `r = 2 sin(π ρs / 6)`, which gives exactly that Spearman ρ.
#[derive(Debug, Clone, PartialEq)]
pub struct Copula {
    n: usize,
    /// Lower-triangular Cholesky factor of the Pearson matrix, row-major `n × n`.
    chol: Vec<f64>,
    /// Inputs with no correlation at all; they get their raw uniform, bit for bit.
    free: Vec<bool>,
}

impl Copula {
    /// `n` uncorrelated inputs.
    pub fn independent(n: usize) -> Copula {
        let mut chol = vec![0.0; n * n];
        for i in 0..n {
            chol[i * n + i] = 1.0;
        }
        Copula {
            n,
            chol,
            free: vec![true; n],
        }
    }

    /// `n` inputs with Spearman rank correlations `(i, j, ρs)` between inputs `i` and `j`
    /// (0-based); unlisted pairs are uncorrelated. Problems are keyed `[k]` by the pair's position
    /// in `pairs`, or empty for the matrix as a whole.
    pub fn new(n: usize, pairs: &[(usize, usize, f64)]) -> Result<Copula, Problems> {
        let mut probs = Problems::default();
        let mut pearson = vec![0.0; n * n];
        let mut seen: Vec<Option<usize>> = vec![None; n * n];
        for (k, &(i, j, rho)) in pairs.iter().enumerate() {
            let key = format!("[{k}]");
            if i >= n || j >= n {
                probs.push(
                    &*key,
                    format!(
                        "input {} is out of range; expected an index below {n}",
                        i.max(j)
                    ),
                );
                continue;
            }
            if i == j {
                probs.push(
                    &*key,
                    format!("correlates input {i} with itself; expected two different inputs"),
                );
                continue;
            }
            if !rho.is_finite() {
                probs.push(
                    &*key,
                    format!("correlation must be a finite number (got {rho})"),
                );
                continue;
            }
            if rho.abs() > 1.0 {
                probs.push(
                    &*key,
                    format!(
                        "correlation ({rho}) is outside [-1, 1]; expected -1 <= correlation <= 1"
                    ),
                );
                continue;
            }
            let (a, b) = (i.min(j), i.max(j));
            if let Some(first) = seen[a * n + b] {
                probs.push(
                    &*key,
                    format!(
                        "duplicate correlation between inputs {a} and {b} (first at [{first}])"
                    ),
                );
                continue;
            }
            seen[a * n + b] = Some(k);
            let r = 2.0 * (PI * rho / 6.0).sin();
            pearson[a * n + b] = r;
            pearson[b * n + a] = r;
        }
        if !probs.is_empty() {
            return Err(probs);
        }
        for i in 0..n {
            pearson[i * n + i] = 1.0;
        }
        // A pivot this small means some input is (almost) a combination of the others.
        let Some(chol) = cholesky(&pearson, n, SmallPivot::Refuse(1e-10)) else {
            probs.push(
                "",
                "correlations do not form a valid correlation matrix (not positive definite: \
                 together they are impossible, like a~b and a~c strongly positive but b~c \
                 strongly negative); expected correlations that can hold together, so weaken \
                 the strongest ones",
            );
            return Err(probs);
        };
        let free = (0..n)
            .map(|i| (0..n).all(|j| i == j || pearson[i * n + j] == 0.0))
            .collect();
        Ok(Copula { n, chol, free })
    }

    /// Number of inputs.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// True when no two inputs are correlated.
    pub fn is_independent(&self) -> bool {
        self.free.iter().all(|&f| f)
    }

    /// Fill `out` (length [`Copula::dim`]) with uniforms in (0, 1), correlated as asked.
    ///
    /// Takes exactly one `u64` per input from `rng`, in input order, whatever the correlations.
    /// An uncorrelated input gets its [`open_unit`] draw unchanged, so adding a correlation between
    /// two inputs never changes the draws of a third. Correlated inputs go through standard normals
    /// (`Φ⁻¹` of the draws, rather than a ziggurat, to keep the stream fixed), the Cholesky factor,
    /// and `Φ` back to uniforms.
    pub fn uniforms<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f64]) {
        assert_eq!(out.len(), self.n, "copula has {} inputs", self.n);
        for (o, &free) in out.iter_mut().zip(&self.free) {
            let u = open_unit(rng);
            *o = if free { u } else { normal_quantile(u) };
        }
        // Row i of the factor only reads normals 0..=i, so going backwards can overwrite in place.
        for i in (0..self.n).rev() {
            if self.free[i] {
                continue;
            }
            let row = &self.chol[i * self.n..i * self.n + i + 1];
            // Free inputs have zero entries here, so their (uniform) slots contribute nothing.
            let z: f64 = row.iter().zip(&out[..=i]).map(|(l, z)| l * z).sum();
            out[i] = normal_cdf(z).clamp(U_LO, U_HI);
        }
    }
}
