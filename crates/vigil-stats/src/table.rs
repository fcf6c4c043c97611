//! The 2×2 contingency table of one drug–event pair.

/// Report counts of one drug–event pair, in the cell order every formula in this crate uses:
///
/// ```text
///                  event      not event
///   drug             a            b          a + b  = n_drug
///   not drug         c            d          c + d
///                  a + c        b + d        n      = a + b + c + d
///                 = n_event
/// ```
///
/// Cells are `f64` because PhViD-style tables built from sums of pair counts, and weighted
/// (squashed) tables, need not be integers; the counting kernels produce whole numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContingencyTable {
    /// Reports with the drug and the event.
    pub a: f64,
    /// Reports with the drug, without the event.
    pub b: f64,
    /// Reports with the event, without the drug.
    pub c: f64,
    /// Reports with neither.
    pub d: f64,
}

impl ContingencyTable {
    /// A table from its four cells, in the order drawn on [`ContingencyTable`].
    pub fn new(a: f64, b: f64, c: f64, d: f64) -> Self {
        Self { a, b, c, d }
    }

    /// A table from the pair count and the margins: `b = n_drug − a`, `c = n_event − a`,
    /// `d = n − n_drug − n_event + a`.
    pub fn from_margins(a: f64, n_drug: f64, n_event: f64, n: f64) -> Self {
        Self {
            a,
            b: n_drug - a,
            c: n_event - a,
            d: n - n_drug - n_event + a,
        }
    }

    /// Reports with the drug, `a + b`.
    pub fn n_drug(&self) -> f64 {
        self.a + self.b
    }

    /// Reports with the event, `a + c`.
    pub fn n_event(&self) -> f64 {
        self.a + self.c
    }

    /// All reports, `a + b + c + d`.
    pub fn n(&self) -> f64 {
        self.a + self.b + self.c + self.d
    }

    /// The count expected under independence, `n_drug · n_event / n` (unstratified).
    pub fn expected(&self) -> f64 {
        self.n_drug() * self.n_event() / self.n()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_round_trip() {
        // a=3, n_drug=10, n_event=7, n=100 → b=7, c=4, d=100−10−7+3=86.
        let t = ContingencyTable::from_margins(3.0, 10.0, 7.0, 100.0);
        assert_eq!(t, ContingencyTable::new(3.0, 7.0, 4.0, 86.0));
        assert_eq!(t.n(), 100.0);
        assert!((t.expected() - 0.7).abs() < 1e-15); // 10·7/100
    }
}
