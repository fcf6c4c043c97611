//! A brand → ingredient map learned from the ingested FAERS rows themselves.
//!
//! Many drug rows have no `prod_ai` (all rows before 2014Q3, and many later ones), and their
//! `drugname` is a brand or local name (ZOFRAN, LANTUS, NORCO) that the built-in dictionary may
//! not know. FAERS itself often carries the answer on other rows: the same name with FDA's
//! `prod_ai` filled in. [`NameLearner`] counts, for each cleaned drug name, the ingredient sets
//! FDA gave it; [`NameLearner::finish`] keeps a name when enough rows name one ingredient set
//! ([`LearningRule`]), and lists the names whose rows disagree as ambiguous (they stay unmapped).
//!
//! The map is a method applied to the data being ingested, not a copied dictionary: it knows no
//! name that the input does not pair with a `prod_ai`. Its evidence (rows with a `prod_ai`, rows
//! agreeing) is kept with every entry so that the ingest report can show why a name was mapped.
use std::collections::HashMap;

use crate::drugname::{canonical_ingredients, clean_name};

/// When a learned name is trusted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningRule {
    /// At least this many rows give the name a `prod_ai`.
    pub min_rows: u64,
    /// At least this share of them give the same ingredient set.
    pub min_agreement: f64,
}

impl Default for LearningRule {
    /// One row, 90 % agreement. A row's `prod_ai` is FDA's own coding of that verbatim name, so
    /// one row is evidence; the agreement share lets a rare mis-coded row (1 in 10) not block a
    /// name, while a name coded two ways in comparable numbers (a brand sold as two different
    /// combinations) is left unmapped and listed. Chosen by measurement on the DiAna pairs
    /// (docs/terminologies.md, "Drug names"): one row resolved 100 unmapped pairs and two rows
    /// 55, and the 45 more that one row resolved added no wrong mapping that is not one of
    /// DiAna's groupings.
    fn default() -> Self {
        Self {
            min_rows: 1,
            min_agreement: 0.9,
        }
    }
}

/// One learned name with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedName {
    /// The cleaned drug name (see [`clean_name`]).
    pub name: String,
    /// The ingredient set most rows give it (`;`-joined, sorted, as stored).
    pub ingredients: String,
    /// Rows with this drug name and a `prod_ai`.
    pub rows_with_prod_ai: u64,
    /// Of those, rows whose `prod_ai` is `ingredients`.
    pub rows_agreeing: u64,
}

/// The result of learning: the names kept, and the names left unmapped because their rows disagree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnedNames {
    /// Names whose rows meet the rule, sorted by name.
    pub mapped: Vec<LearnedName>,
    /// Names with enough rows whose rows disagree (below the agreement share), sorted by name;
    /// `ingredients` is the most frequent set.
    pub ambiguous: Vec<LearnedName>,
    /// Names seen with a `prod_ai` on fewer rows than the rule asks.
    pub too_rare: u64,
}

/// Stands for the ingredient sets of an earlier ingest's disagreeing rows (not kept). It contains
/// no letter, so no cleaned `prod_ai` can equal it, and it is never mapped.
const OTHER_SETS: &str = "\u{1f}";

/// Counts (cleaned drug name, ingredient set) over drug rows that have both.
#[derive(Debug, Clone, Default)]
pub struct NameLearner {
    sets: HashMap<String, HashMap<String, u64>>,
}

impl NameLearner {
    /// Counts `rows` drug rows with this `drugname` and `prod_ai` (FDA's `\`-separated
    /// ingredients). A row without either says nothing and is ignored.
    pub fn observe(&mut self, drugname: &str, prod_ai: &str, rows: u64) {
        let pa = prod_ai.trim();
        if pa.is_empty() || pa.eq_ignore_ascii_case("NA") {
            return;
        }
        let ingredients = canonical_ingredients(pa.split('\\'));
        let name = clean_name(drugname);
        if ingredients.is_empty() || name.is_empty() {
            return;
        }
        *self
            .sets
            .entry(name)
            .or_default()
            .entry(ingredients)
            .or_default() += rows;
    }

    /// Counts the evidence of a name learned (or found ambiguous) by an earlier ingest: its rows
    /// agreeing on `ingredients`, and its other rows under a set that never maps (the earlier
    /// ingest kept only the most frequent set), so that the agreement share carries over.
    pub fn observe_learned(&mut self, learned: &LearnedName) {
        let sets = self.sets.entry(learned.name.clone()).or_default();
        *sets.entry(learned.ingredients.clone()).or_default() += learned.rows_agreeing;
        let others = learned
            .rows_with_prod_ai
            .saturating_sub(learned.rows_agreeing);
        if others > 0 {
            *sets.entry(OTHER_SETS.to_owned()).or_default() += others;
        }
    }

    /// Counts `rows` rows of an earlier ingest's evidence: a cleaned name and a canonical
    /// ingredient set as [`NameLearner::evidence`] gave them. Adding every set of every name, not
    /// only the most frequent one, makes the names learned over several ingests the same as those
    /// learned from the same rows in one ingest, whatever the order (the counts only add up).
    pub fn observe_evidence(&mut self, name: &str, ingredients: &str, rows: u64) {
        if name.is_empty() || ingredients.is_empty() || rows == 0 {
            return;
        }
        *self
            .sets
            .entry(name.to_owned())
            .or_default()
            .entry(ingredients.to_owned())
            .or_default() += rows;
    }

    /// Every (cleaned name, ingredient set, rows) counted so far, sorted by name then set: the
    /// evidence a later ingest adds to its own ([`NameLearner::observe_evidence`]). The rows of an
    /// older store's disagreeing sets, which it did not keep, come under a set that never maps.
    pub fn evidence(&self) -> Vec<(String, String, u64)> {
        let mut out: Vec<(String, String, u64)> = self
            .sets
            .iter()
            .flat_map(|(name, sets)| {
                sets.iter()
                    .map(move |(set, n)| (name.clone(), set.clone(), *n))
            })
            .collect();
        out.sort();
        out
    }

    /// Adds the counts of another learner (one per file or quarter, merged).
    pub fn merge(&mut self, other: NameLearner) {
        for (name, sets) in other.sets {
            let mine = self.sets.entry(name).or_default();
            for (set, n) in sets {
                *mine.entry(set).or_default() += n;
            }
        }
    }

    /// The names that meet `rule`, and the ambiguous ones.
    pub fn finish(self, rule: LearningRule) -> LearnedNames {
        let mut out = LearnedNames::default();
        for (name, sets) in self.sets {
            let total: u64 = sets.values().sum();
            if total < rule.min_rows {
                out.too_rare += 1;
                continue;
            }
            // Most rows first; a tie goes to the alphabetically first set, so the result does
            // not depend on hash order. The earlier ingests' other sets are never chosen.
            let Some((ingredients, agreeing)) = sets
                .into_iter()
                .filter(|(set, _)| set != OTHER_SETS)
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            else {
                continue;
            };
            let learned = LearnedName {
                name,
                ingredients,
                rows_with_prod_ai: total,
                rows_agreeing: agreeing,
            };
            if agreeing as f64 >= rule.min_agreement * total as f64 {
                out.mapped.push(learned);
            } else {
                out.ambiguous.push(learned);
            }
        }
        out.mapped.sort_by(|a, b| a.name.cmp(&b.name));
        out.ambiguous.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreeing_rows_map_a_name_and_disagreeing_rows_do_not() {
        let mut l = NameLearner::default();
        // ZOFRAN: 9 rows ONDANSETRON HYDROCHLORIDE (salt dropped → ONDANSETRON), 1 row a slip:
        // 9/10 = 90 % ≥ 90 %, mapped.
        l.observe("ZOFRAN 4MG", "ONDANSETRON HYDROCHLORIDE", 9);
        l.observe("Zofran", "METOCLOPRAMIDE", 1);
        // NORCO: a combination, stored as its sorted ingredient set.
        l.observe("NORCO", "HYDROCODONE BITARTRATE\\ACETAMINOPHEN", 2);
        // MIXA: 3 rows one way, 2 the other: 3/5 = 60 % < 90 %, ambiguous.
        l.observe("MIXA", "AAA", 3);
        l.observe("MIXA", "BBB", 2);
        // RARITY: one row only, below the two rows asked here.
        l.observe("RARITY", "CCC", 1);
        // No prod_ai: ignored.
        l.observe("LANTUS", "", 5);
        let got = l.finish(LearningRule {
            min_rows: 2,
            min_agreement: 0.9,
        });
        assert_eq!(
            got.mapped,
            vec![
                LearnedName {
                    name: "NORCO".into(),
                    ingredients: "ACETAMINOPHEN;HYDROCODONE".into(),
                    rows_with_prod_ai: 2,
                    rows_agreeing: 2,
                },
                LearnedName {
                    name: "ZOFRAN".into(),
                    ingredients: "ONDANSETRON".into(),
                    rows_with_prod_ai: 10,
                    rows_agreeing: 9,
                },
            ]
        );
        assert_eq!(
            got.ambiguous,
            vec![LearnedName {
                name: "MIXA".into(),
                ingredients: "AAA".into(),
                rows_with_prod_ai: 5,
                rows_agreeing: 3,
            }]
        );
        assert_eq!(got.too_rare, 1);
    }

    #[test]
    fn evidence_of_an_earlier_ingest_keeps_its_agreement_share() {
        // An earlier ingest saw ZOFRAN on 10 rows, 9 agreeing (90 %: mapped) and TWOWAY on 4
        // rows, 2 agreeing (50 %: ambiguous).
        let mut l = NameLearner::default();
        for (name, ing, total, agreeing) in
            [("ZOFRAN", "ONDANSETRON", 10, 9), ("TWOWAY", "AAA", 4, 2)]
        {
            l.observe_learned(&LearnedName {
                name: name.into(),
                ingredients: ing.into(),
                rows_with_prod_ai: total,
                rows_agreeing: agreeing,
            });
        }
        // This ingest: one more ZOFRAN row agreeing (10/11 = 90.9 %), two TWOWAY rows with the
        // other set BBB, whose earlier count was not kept: AAA 2, BBB 2, earlier others 2 → 2/6.
        l.observe("ZOFRAN", "ONDANSETRON", 1);
        l.observe("TWOWAY", "BBB", 2);
        let got = l.finish(LearningRule::default());
        assert_eq!(got.mapped.len(), 1);
        assert_eq!(
            (got.mapped[0].rows_with_prod_ai, got.mapped[0].rows_agreeing),
            (11, 10)
        );
        assert_eq!(got.ambiguous.len(), 1);
        let amb = &got.ambiguous[0];
        assert_eq!(
            (
                amb.ingredients.as_str(),
                amb.rows_with_prod_ai,
                amb.rows_agreeing
            ),
            ("AAA", 6, 2)
        );
    }

    #[test]
    fn evidence_carried_over_learns_as_one_ingest_does() {
        // Quarter A: X on 9 rows as P and 1 row as Q (9/10 = 90 %: mapped to P). Quarter B: X on
        // 89 rows as Q. Together: Q on 90 of 99 rows = 90.9 % ≥ 90 %, mapped to Q. Carrying only
        // A's most frequent set (P 9, others 1) would give Q 89 of 99 = 89.9 %: ambiguous.
        let mut a = NameLearner::default();
        a.observe("X", "P", 9);
        a.observe("X", "Q", 1);
        let mut b = NameLearner::default();
        b.observe("X", "Q", 89);
        let mut carried = NameLearner::default();
        for (name, set, n) in a.evidence() {
            carried.observe_evidence(&name, &set, n);
        }
        carried.merge(b.clone());
        let mut one = a;
        one.merge(b);
        let (carried, one) = (
            carried.finish(LearningRule::default()),
            one.finish(LearningRule::default()),
        );
        assert_eq!(carried, one);
        assert_eq!(one.mapped.len(), 1);
        assert_eq!(
            (
                one.mapped[0].ingredients.as_str(),
                one.mapped[0].rows_agreeing
            ),
            ("Q", 90)
        );
    }

    #[test]
    fn merged_learners_count_as_one() {
        let (mut a, mut b) = (NameLearner::default(), NameLearner::default());
        a.observe("LASIX", "FUROSEMIDE", 1);
        b.observe("lasix 40 mg", "FUROSEMIDE", 1);
        a.merge(b);
        let got = a.finish(LearningRule::default());
        assert_eq!(got.mapped.len(), 1);
        assert_eq!(got.mapped[0].rows_with_prod_ai, 2);
    }
}
