//! openEBGM's data squashing: many (N, E) points with the same N replaced by fewer weighted
//! "super points". An approximation, offered for comparison; vigil's own, smaller summary
//! ([`coarse_summary`]) is used only to find good starting points for the exact fit.

use super::CountData;

/// Why squashing could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SquashError {
    /// Fewer points to squash than one bin (openEBGM: "reduce 'bin_size' or 'keep_pts'").
    #[error("count {count}: {available} points to squash after keeping {keep_pts}, fewer than one bin of {bin_size}; reduce bin_size or keep_pts")]
    TooFewPoints {
        /// The N being squashed.
        count: f64,
        /// Points with that N, less the kept ones.
        available: usize,
        /// Points kept unsquashed.
        keep_pts: usize,
        /// Requested bin size.
        bin_size: usize,
    },
}

/// Squashes the points with N = `count`.
///
/// # Algorithm (openEBGM 0.9.1 `squashData`)
/// The points with N = `count` are sorted by E (stably); the `keep_pts` largest-E points stay as
/// they are; the rest are cut, in E order, into consecutive bins of `bin_size` points (the last bin
/// takes the remainder), and each bin becomes one point with the bin's mean E and weight equal to
/// the number of points in it. Incoming weights are not used (as in openEBGM: squash raw or
/// once-squashed data of other counts only). The output lists points by N (stable), within the
/// squashed count first the bins, then the kept points.
///
/// # Defaults
/// openEBGM: `count = 1, bin_size = 50, keep_pts = 100`.
pub fn squash_data(
    data: &CountData,
    count: f64,
    bin_size: usize,
    keep_pts: usize,
) -> Result<CountData, SquashError> {
    let mut hold = CountData::default();
    let mut target: Vec<(f64, f64)> = Vec::new(); // (E, weight)
    for i in 0..data.len() {
        if data.n[i] == count {
            target.push((data.e[i], data.w[i]));
        } else {
            hold.n.push(data.n[i]);
            hold.e.push(data.e[i]);
            hold.w.push(data.w[i]);
        }
    }
    target.sort_by(|a, b| a.0.total_cmp(&b.0));
    let available = target.len().saturating_sub(keep_pts);
    if available < bin_size || target.len() < keep_pts {
        return Err(SquashError::TooFewPoints {
            count,
            available,
            keep_pts,
            bin_size,
        });
    }
    let mut squashed = CountData::default();
    for bin in target[..available].chunks(bin_size) {
        squashed.n.push(count);
        squashed.e.push(mean(bin.iter().map(|p| p.0)));
        squashed.w.push(bin.len() as f64);
    }
    for &(e, w) in &target[available..] {
        squashed.n.push(count);
        squashed.e.push(e);
        squashed.w.push(w);
    }
    // rbind(hold, squash, keep) then a stable order by N.
    let mut rows: Vec<(f64, f64, f64)> = Vec::with_capacity(data.len());
    rows.extend((0..hold.len()).map(|i| (hold.n[i], hold.e[i], hold.w[i])));
    rows.extend((0..squashed.len()).map(|i| (squashed.n[i], squashed.e[i], squashed.w[i])));
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(CountData {
        n: rows.iter().map(|r| r.0).collect(),
        e: rows.iter().map(|r| r.1).collect(),
        w: rows.iter().map(|r| r.2).collect(),
    })
}

/// Mean with a second, corrective pass (as R's `mean`, which also refines the first-pass mean by the
/// mean of the residuals), so bin means agree with openEBGM's to the last bits.
fn mean(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    let m = values.clone().sum::<f64>() / n;
    m + values.map(|v| v - m).sum::<f64>() / n
}

/// Settings of [`auto_squash`], with openEBGM's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoSquashOptions {
    /// Points left unsquashed for the 1st, 2nd, … squashed count; the last value repeats.
    pub keep_pts: Vec<usize>,
    /// Cut-offs on the number of points to squash that choose the number of super points.
    pub cut_offs: Vec<f64>,
    /// Super points per count for each cut-off interval (one more than `cut_offs`).
    pub num_super_pts: Vec<usize>,
}

impl Default for AutoSquashOptions {
    /// openEBGM 0.9.1 `autoSquash` defaults: keep (100, 75, 50, 25); cut-offs
    /// (500, 1e3, 1e4, 1e5, 5e5, 1e6, 5e6); super points (50, 75, 150, 500, 750, 1e3, 2e3, 5e3).
    fn default() -> Self {
        Self {
            keep_pts: vec![100, 75, 50, 25],
            cut_offs: vec![500.0, 1e3, 1e4, 1e5, 5e5, 1e6, 5e6],
            num_super_pts: vec![50, 75, 150, 500, 750, 1000, 2000, 5000],
        }
    }
}

/// Squashes every count that has enough points, as openEBGM's `autoSquash`.
///
/// # Algorithm (openEBGM 0.9.1 `autoSquash`)
/// Weights are reset to 1. The counts N with more than max(`keep_pts`) + 1 points are taken in
/// increasing order; the i-th of them keeps `keep_pts[i]` (the last value repeats), squashes the
/// remaining m points into bins of max(⌊m / s⌋, 2), where s is the number of super points for the
/// first cut-off above m, with [`squash_data`].
pub fn auto_squash(data: &CountData, options: &AutoSquashOptions) -> CountData {
    use rayon::slice::ParallelSliceMut;
    // Why not call `squash_data` once per count, as openEBGM does: each call re-sorts all points
    // (2.6 s on 12.7 M points). The result is the same when computed per group: after the first
    // call the points are ordered by N (stably), each unsquashed count keeps its points in input
    // order, and each squashed count is replaced by its bins and kept points, computed from its
    // own points in input order (checked against `squash_data` in the tests and against openEBGM
    // by the oracle test).
    let max_keep = options.keep_pts.iter().copied().max().unwrap_or(0);
    // Points grouped by N in increasing order, input order within a group (a stable sort).
    let mut order: Vec<(u64, u32)> = (0..data.len())
        .map(|i| (super::total_order_key(data.n[i]), i as u32))
        .collect();
    order.par_sort_unstable();
    let mut groups: Vec<(f64, std::ops::Range<usize>)> = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || order[i].0 != order[start].0 {
            groups.push((data.n[order[start].1 as usize], start..i));
            start = i;
        }
    }
    let mut out = CountData::default();
    let mut position = 0;
    for (count, range) in groups {
        let num_pts = range.len();
        let points = &order[range];
        let squashed = if num_pts > max_keep + 1 {
            let keep = *options
                .keep_pts
                .get(position)
                .unwrap_or_else(|| options.keep_pts.last().expect("keep_pts is not empty"));
            position += 1;
            let to_squash = (num_pts - keep) as f64;
            let idx = options
                .cut_offs
                .iter()
                .position(|&c| to_squash < c)
                .unwrap_or(options.cut_offs.len());
            let supers = options.num_super_pts[idx] as f64;
            let bin_size = ((to_squash / supers).floor() as usize).max(2);
            let mut target: Vec<f64> = points.iter().map(|&(_, i)| data.e[i as usize]).collect();
            target.par_sort_by(f64::total_cmp);
            let available = target.len().saturating_sub(keep);
            // Counts with too few points for one bin are left as they are (openEBGM would stop
            // here; with its default settings this cannot happen because num_pts > max(keep_pts) + 1).
            if available >= bin_size && target.len() >= keep {
                for bin in target[..available].chunks(bin_size) {
                    out.n.push(count);
                    out.e.push(mean(bin.iter().copied()));
                    out.w.push(bin.len() as f64);
                }
                for &e in &target[available..] {
                    out.n.push(count);
                    out.e.push(e);
                    out.w.push(1.0);
                }
                true
            } else {
                false
            }
        } else {
            false
        };
        if !squashed {
            // Weights are reset to 1, as openEBGM's autoSquash does.
            for &(_, i) in points {
                out.n.push(count);
                out.e.push(data.e[i as usize]);
                out.w.push(1.0);
            }
        }
    }
    out
}

/// A small weighted summary of `data` for choosing where the exact fit starts: at most `bins`
/// points per count N, chosen so that the summary has about `budget` points more than there are
/// distinct N (counts are never merged: the likelihood is far from linear in N).
///
/// # Algorithm
/// The points of each N, in increasing E, are cut into consecutive bins of about equal total weight
/// (as openEBGM's `squashData` cuts them into bins of equal size); each bin becomes one point with
/// the bin's weighted mean E and its total weight, so the summary stands for the same number of
/// pairs. A count with at most `bins` points keeps them as they are. `bins` is the largest number
/// for which Σ_N min(points with N, bins) ≤ `budget` + number of distinct N (at least 1). The input is sorted by (N, E)
/// first unless it already is (the output of [`super::CountData::merge_identical`] is).
///
/// Unlike [`auto_squash`], the size does not grow with the data (77,018 points from the 2.3 M
/// pairs of a 20 M-report store with `auto_squash`): the summary only has to put the starts in the
/// right basin; the optimum is then found on the full data.
pub fn coarse_summary(data: &CountData, budget: usize) -> CountData {
    use super::total_order_key;
    let key = |i: usize| (total_order_key(data.n[i]), total_order_key(data.e[i]));
    let sorted = (1..data.len()).all(|i| key(i - 1) <= key(i));
    let order: Vec<usize> = if sorted {
        (0..data.len()).collect()
    } else {
        let mut order: Vec<usize> = (0..data.len()).collect();
        order.sort_unstable_by_key(|&i| key(i));
        order
    };
    // Runs of equal N in `order`.
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || data.n[order[i]] != data.n[order[start]] {
            groups.push(start..i);
            start = i;
        }
    }
    let size_with = |bins: usize| -> usize { groups.iter().map(|g| g.len().min(bins)).sum() };
    let budget = budget + groups.len();
    // The largest `bins` within the budget: size_with is non-decreasing in `bins`.
    let (mut lo, mut hi) = (1, groups.iter().map(|g| g.len()).max().unwrap_or(1));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if size_with(mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let bins = lo;
    let mut out = CountData::default();
    for g in groups {
        let points = &order[g];
        if points.len() <= bins {
            for &i in points {
                out.n.push(data.n[i]);
                out.e.push(data.e[i]);
                out.w.push(data.w[i]);
            }
            continue;
        }
        let total: f64 = points.iter().map(|&i| data.w[i]).sum();
        let per_bin = total / bins as f64;
        // Bin b takes the points whose cumulative weight (before them) is below (b + 1)·per_bin.
        let (mut w_sum, mut we_sum, mut done) = (0.0, 0.0, 0.0);
        let mut b = 0;
        for (j, &i) in points.iter().enumerate() {
            w_sum += data.w[i];
            we_sum += data.w[i] * data.e[i];
            done += data.w[i];
            let last = j + 1 == points.len();
            if last || (done >= (b + 1) as f64 * per_bin && b + 1 < bins) {
                out.n.push(data.n[i]);
                out.e.push(we_sum / w_sum);
                out.w.push(w_sum);
                w_sum = 0.0;
                we_sum = 0.0;
                b += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// openEBGM's `autoSquash` as a loop of `squash_data` calls, the way it is written in R: the
    /// reference for the grouped implementation.
    fn auto_squash_by_repeated_squash_data(
        data: &CountData,
        options: &AutoSquashOptions,
    ) -> CountData {
        let mut out = CountData {
            n: data.n.clone(),
            e: data.e.clone(),
            w: vec![1.0; data.len()],
        };
        let max_keep = options.keep_pts.iter().copied().max().unwrap_or(0);
        let mut counts: Vec<(f64, usize)> = Vec::new();
        let mut sorted = data.n.clone();
        sorted.sort_by(f64::total_cmp);
        for n in sorted {
            match counts.last_mut() {
                Some((v, c)) if *v == n => *c += 1,
                _ => counts.push((n, 1)),
            }
        }
        counts.retain(|&(_, c)| c > max_keep + 1);
        for (position, &(count, num_pts)) in counts.iter().enumerate() {
            let keep = *options
                .keep_pts
                .get(position)
                .unwrap_or_else(|| options.keep_pts.last().unwrap());
            let to_squash = (num_pts - keep) as f64;
            let idx = options
                .cut_offs
                .iter()
                .position(|&c| to_squash < c)
                .unwrap_or(options.cut_offs.len());
            let bin_size =
                ((to_squash / options.num_super_pts[idx] as f64).floor() as usize).max(2);
            if let Ok(s) = squash_data(&out, count, bin_size, keep) {
                out = s;
            }
        }
        out
    }

    #[test]
    fn grouped_auto_squash_equals_repeated_squash_data() {
        // 30,000 points over counts 1..40 with a long tail, E from a fixed sequence (ties included),
        // in scrambled order; small keep/cut-off settings so that several counts are squashed.
        let mut data = CountData::default();
        for i in 0..30_000u64 {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            data.n
                .push(1.0 + ((h % 97 % 40) as f64 * if h % 3 == 0 { 1.0 } else { 0.1 }).round());
            data.e.push(((h % 1000) as f64 + 1.0) / 37.0);
            data.w.push(if i % 5 == 0 { 2.0 } else { 1.0 });
        }
        for options in [
            AutoSquashOptions::default(),
            AutoSquashOptions {
                keep_pts: vec![10, 5],
                cut_offs: vec![50.0, 500.0],
                num_super_pts: vec![5, 20, 40],
            },
        ] {
            let fast = auto_squash(&data, &options);
            let reference = auto_squash_by_repeated_squash_data(&data, &options);
            assert!(fast.len() < data.len());
            assert_eq!(fast, reference);
        }
    }

    #[test]
    fn squash_worked_example() {
        // Seven points with N = 1, E = 1..7 (and one N = 2 point). keep_pts = 2 keeps E = 6, 7;
        // bins of 2 over E = 1..5: (1, 2) → 1.5 w2, (3, 4) → 3.5 w2, (5) → 5 w1.
        let data = CountData::new(
            vec![1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            vec![4.0, 9.0, 2.0, 7.0, 1.0, 3.0, 6.0, 5.0],
        );
        let s = squash_data(&data, 1.0, 2, 2).unwrap();
        assert_eq!(s.n, vec![1.0, 1.0, 1.0, 1.0, 1.0, 2.0]);
        assert_eq!(s.e, vec![1.5, 3.5, 5.0, 6.0, 7.0, 9.0]);
        assert_eq!(s.w, vec![2.0, 2.0, 1.0, 1.0, 1.0, 1.0]);
        assert!(squash_data(&data, 1.0, 6, 2).is_err());
    }
}
