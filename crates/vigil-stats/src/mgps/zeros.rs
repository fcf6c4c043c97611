//! The unobserved cells of a drug × event table, for the MGPS likelihood with zeros included
//! (openEBGM `negLLzero`, [`super::Truncation::None`]).

use std::collections::HashMap;

use super::CountData;

/// The unobserved cells (N = 0) of an unstratified drug × event table, with their expected counts,
/// grouped exactly by their (n_drug, n_event) margins so that they need not be listed one by one.
///
/// Row `i` of the observed pairs is drug `drug[i]` with event `event[i]`, its margins
/// `n_drug[i]`, `n_event[i]`; `n_total` is the table's total, `n_drugs` and `n_events` the
/// numbers of drugs and events. An unobserved cell of a drug with margin n_d and an event with
/// margin n_e has E = n_d · n_e / n_total; cells sharing (n_d, n_e) become one point weighted by
/// their number. Stratified tables are not supported: their E is a sum over strata, not a
/// function of the two margins.
///
/// # Formula
/// ```text
/// w(n_d, n_e) = #{drugs with margin n_d} · #{events with margin n_e} − #{observed pairs with (n_d, n_e)}
/// ```
/// Points are returned sorted by (n_d, n_e) (as bit patterns, i.e. by value for positive margins),
/// so the output does not depend on hash order.
pub fn zero_cells(
    drug: &[u32],
    event: &[u32],
    n_drug: &[f64],
    n_event: &[f64],
    n_total: f64,
    n_drugs: usize,
    n_events: usize,
) -> CountData {
    let mut drug_margin = vec![f64::NAN; n_drugs];
    let mut event_margin = vec![f64::NAN; n_events];
    for i in 0..drug.len() {
        drug_margin[drug[i] as usize] = n_drug[i];
        event_margin[event[i] as usize] = n_event[i];
    }
    let tally = |m: &[f64]| {
        let mut t: HashMap<u64, f64> = HashMap::new();
        for v in m.iter().filter(|v| v.is_finite()) {
            *t.entry(v.to_bits()).or_default() += 1.0;
        }
        t
    };
    let (dt, et) = (tally(&drug_margin), tally(&event_margin));
    // All cells per (drug margin, event margin) value pair, less the observed ones.
    let mut cells: HashMap<(u64, u64), f64> = HashMap::new();
    for (&dv, &dc) in &dt {
        for (&ev, &ec) in &et {
            cells.insert((dv, ev), dc * ec);
        }
    }
    for i in 0..drug.len() {
        // Every observed pair's margins were tallied above (unstratified margins are the same on
        // every row of a drug or an event).
        if let Some(w) = cells.get_mut(&(n_drug[i].to_bits(), n_event[i].to_bits())) {
            *w -= 1.0;
        }
    }
    let mut out = CountData::default();
    let mut keys: Vec<_> = cells.into_iter().filter(|(_, w)| *w > 0.0).collect();
    keys.sort_by_key(|k| k.0);
    for ((dv, ev), w) in keys {
        out.n.push(0.0);
        out.e
            .push(f64::from_bits(dv) * f64::from_bits(ev) / n_total);
        out.w.push(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_by_three_table_with_two_empty_cells() {
        // Drugs d0 (margin 5), d1 (margin 3); events e0 (4), e1 (4), e2 (1); n = 8.
        // Observed: (d0,e0), (d0,e1), (d1,e0), (d0,e2). Empty: (d1,e1) and (d1,e2).
        // (d1,e1): E = 3·4/8 = 1.5; (d1,e2): E = 3·1/8 = 0.375. Cells with margins (5,4): 1·2 − 2
        // observed = 0 (dropped); (3,4): 1·2 − 1 = 1; (5,1): 1 − 1 = 0; (3,1): 1 − 0 = 1.
        let drug = [0, 0, 1, 0];
        let event = [0, 1, 0, 2];
        let n_drug = [5.0, 5.0, 3.0, 5.0];
        let n_event = [4.0, 4.0, 4.0, 1.0];
        let z = zero_cells(&drug, &event, &n_drug, &n_event, 8.0, 2, 3);
        // Sorted by (n_d, n_e): (3,1) then (3,4).
        assert_eq!(z.n, vec![0.0, 0.0]);
        assert_eq!(z.e, vec![0.375, 1.5]);
        assert_eq!(z.w, vec![1.0, 1.0]);
    }

    #[test]
    fn cells_sharing_margins_are_one_weighted_point() {
        // A 1 × 1 table whose one cell is observed has no empty cell.
        let z = zero_cells(&[0], &[0], &[2.0], &[3.0], 6.0, 1, 1);
        assert!(z.is_empty());
        // Three drugs of margin 2 and two events of margin 3, n = 6; observed (d0,e0), (d1,e0),
        // (d2,e0), (d0,e1).
        let drug = [0, 1, 2, 0];
        let event = [0, 0, 0, 1];
        let z = zero_cells(&drug, &event, &[2.0; 4], &[3.0; 4], 6.0, 3, 2);
        // 3·2 = 6 cells, 4 observed: 2 empty cells of E = 1.
        assert_eq!((z.n, z.e, z.w), (vec![0.0], vec![1.0], vec![2.0]));
    }
}
