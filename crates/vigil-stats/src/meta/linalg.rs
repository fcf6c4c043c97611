//! The little dense linear algebra the meta-analysis models need (p × p systems with p ≤ a handful).
//!
//! Hand-written on purpose: the matrices are tiny and symmetric positive definite (XᵀWX), so a plain
//! Cholesky factorisation is all that is needed, and it gives the log-determinant that the restricted
//! likelihood needs for free.

/// A small dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Entries, row by row.
    pub data: Vec<f64>,
}

impl Matrix {
    /// An all-zero `rows × cols` matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Builds a matrix from its rows (all the same length).
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            assert_eq!(r.len(), cols, "ragged matrix rows");
            data.extend_from_slice(r);
        }
        Matrix {
            rows: rows.len(),
            cols,
            data,
        }
    }

    /// The `k × 1` column of ones (the intercept-only design).
    pub fn intercept(k: usize) -> Self {
        Matrix {
            rows: k,
            cols: 1,
            data: vec![1.0; k],
        }
    }

    /// Entry `(i, j)`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// Sets entry `(i, j)`.
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.cols + j] = v;
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows whose indices are given, in that order.
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: idx.len(),
            cols: self.cols,
            data,
        }
    }

    /// `Xᵀ diag(w) X` (p × p).
    // Index loops spell out the sum Σᵢ wᵢ xᵢₐ xᵢᵦ as written.
    #[allow(clippy::needless_range_loop)]
    pub fn xtwx(&self, w: &[f64]) -> Matrix {
        let p = self.cols;
        let mut m = Matrix::zeros(p, p);
        for i in 0..self.rows {
            let r = self.row(i);
            for a in 0..p {
                for b in 0..p {
                    m.data[a * p + b] += w[i] * r[a] * r[b];
                }
            }
        }
        m
    }

    /// `Xᵀ diag(w) y` (length p).
    pub fn xtwy(&self, w: &[f64], y: &[f64]) -> Vec<f64> {
        let p = self.cols;
        let mut v = vec![0.0; p];
        for i in 0..self.rows {
            let r = self.row(i);
            for a in 0..p {
                v[a] += w[i] * r[a] * y[i];
            }
        }
        v
    }

    /// Matrix–vector product.
    pub fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        (0..self.rows).map(|i| dot(self.row(i), v)).collect()
    }

    /// `xᵀ M x` for a square matrix.
    pub fn quad_form(&self, x: &[f64]) -> f64 {
        let mv = self.mul_vec(x);
        dot(x, &mv)
    }
}

/// Dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive definite matrix.
///
/// Returns `None` when a pivot is not positive (the matrix is singular or not positive definite,
/// e.g. a moderator column that is constant or collinear with another).
pub fn cholesky(a: &Matrix) -> Option<Matrix> {
    let n = a.rows;
    let mut l = Matrix::zeros(n, n);
    for j in 0..n {
        let mut d = a.get(j, j);
        for k in 0..j {
            d -= l.get(j, k) * l.get(j, k);
        }
        if !(d > 0.0) || !d.is_finite() {
            return None;
        }
        let djj = d.sqrt();
        l.set(j, j, djj);
        for i in (j + 1)..n {
            let mut s = a.get(i, j);
            for k in 0..j {
                s -= l.get(i, k) * l.get(j, k);
            }
            l.set(i, j, s / djj);
        }
    }
    Some(l)
}

/// Inverse and log-determinant of a symmetric positive definite matrix, via Cholesky.
// Index loops spell out forward and back substitution as written.
#[allow(clippy::needless_range_loop)]
pub fn spd_inverse(a: &Matrix) -> Option<(Matrix, f64)> {
    let n = a.rows;
    let l = cholesky(a)?;
    let logdet = 2.0 * (0..n).map(|i| l.get(i, i).ln()).sum::<f64>();
    // Solve L Lᵀ X = I column by column.
    let mut inv = Matrix::zeros(n, n);
    for c in 0..n {
        let mut z = vec![0.0; n];
        for i in 0..n {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                s -= l.get(i, k) * z[k];
            }
            z[i] = s / l.get(i, i);
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let mut s = z[i];
            for k in (i + 1)..n {
                s -= l.get(k, i) * x[k];
            }
            x[i] = s / l.get(i, i);
        }
        for i in 0..n {
            inv.set(i, c, x[i]);
        }
    }
    Some((inv, logdet))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_2x2() {
        // [[4, 2], [2, 3]]: det = 12 - 4 = 8, inverse = [[3, -2], [-2, 4]] / 8.
        let a = Matrix::from_rows(&[vec![4.0, 2.0], vec![2.0, 3.0]]);
        let (inv, logdet) = spd_inverse(&a).unwrap();
        assert!((logdet - 8f64.ln()).abs() < 1e-14);
        assert!((inv.get(0, 0) - 3.0 / 8.0).abs() < 1e-15);
        assert!((inv.get(0, 1) + 2.0 / 8.0).abs() < 1e-15);
        assert!((inv.get(1, 1) - 4.0 / 8.0).abs() < 1e-15);
    }

    #[test]
    fn singular_is_none() {
        let a = Matrix::from_rows(&[vec![1.0, 1.0], vec![1.0, 1.0]]);
        assert!(spd_inverse(&a).is_none());
    }
}
