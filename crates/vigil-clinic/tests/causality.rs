//! Causality: Naranjo against published worked examples, and all three methods on the example cases.
mod common;

use vigil_clinic::causality::naranjo::score;
use vigil_clinic::causality::{assess_case, Answer, Basis};

use Answer::{No, Unknown as DK, Yes};

#[test]
fn naranjo_published_example_tcrm_2018_probable() {
    // PMC6136411 Table 1 (Ther Clin Risk Manag 2018;14:1657), the patient's column:
    //   item 2 yes +2, item 3 yes +1, item 5 no +2, item 10 yes +1, all others 0 → 6, "probable"
    //   (the table's note rates the reaction "probable").
    let (total, cat) = score([DK, Yes, Yes, DK, No, DK, DK, DK, DK, Yes]);
    assert_eq!((total, cat), (6, "probable"));
}

#[test]
fn naranjo_published_example_kjcp_2019_possible() {
    // Korean J Clin Pharm 2019;29:56-60, Table 1: items 1–3 yes (+1 +2 +1), item 9 no (0), the rest
    // "do not know" (0). Published total +4, "Possible".
    let (total, cat) = score([Yes, Yes, Yes, DK, DK, DK, DK, DK, No, DK]);
    assert_eq!((total, cat), (4, "possible"));
}

#[test]
fn naranjo_published_example_wjge_2013_probable() {
    // World J Gastrointest Endosc 2013;5(4):180, Table 2 "our patient" column: item 2 +2, item 3 +1,
    // item 5 (no alternative cause) +2, item 6 (no reaction to placebo) +1, item 10 +1 → 7 (5–8: probable).
    let (total, cat) = score([DK, Yes, Yes, DK, No, No, DK, DK, DK, Yes]);
    assert_eq!((total, cat), (7, "probable"));
}

#[test]
fn naranjo_range_and_category_edges() {
    // Arithmetic range −4 … +13 (clinical.md §1.1): all answers chosen to minimise / maximise.
    assert_eq!(score([No, No, No, No, Yes, Yes, No, No, No, No]).0, -4);
    assert_eq!(score([Yes, Yes, Yes, Yes, No, No, Yes, Yes, Yes, Yes]).0, 13);
    use vigil_clinic::causality::naranjo::category;
    assert_eq!([category(0), category(1), category(4), category(5), category(8), category(9)],
        ["doubtful", "possible", "possible", "probable", "probable", "definite"]);
}

#[test]
fn facial_redness_case_derives_probable() {
    let case = common::example("facial-redness-interval-extension.json");
    let a = assess_case(&case);
    assert_eq!(a.len(), 1, "one suspect drug × one reaction");
    let n = &a[0].naranjo;
    // Derived: 1 yes (+1, catalogued dupilumab head/neck dermatitis), 2 yes (+2, 91 days after the first
    // dose), 5 no (+2, alternatives looked for and none found), 8 yes (+1, better after the interval was
    // extended) → 6, probable.
    let pts: Vec<i32> = n.items.iter().map(|i| i.points).collect();
    assert_eq!(pts, vec![1, 2, 0, 0, 2, 0, 0, 1, 0, 0]);
    assert_eq!((n.total, n.category), (6, "probable"));
    assert!(matches!(&n.items[1].basis, Basis::Derived(t) if t.contains("91 days")), "{:?}", n.items[1].basis);
    assert_eq!(a[0].who_umc.category, "probable");
    assert_eq!(a[0].liverpool.category, "probable");
}

#[test]
fn psoriasiform_case_is_possible_with_alternatives() {
    let case = common::example("psoriasiform-prior-psoriasis.json");
    let a = &assess_case(&case)[0];
    // 1 yes +1, 2 yes +2, 3 yes +1 (improved when interrupted), 5 yes −1 (relapse of own psoriasis), 10 yes +1 (biopsy) → 4.
    assert_eq!((a.naranjo.total, a.naranjo.category), (4, "possible"));
    assert_eq!(a.who_umc.category, "possible");
    // Liverpool: after yes → improved yes → disease high/unsure → no mechanism evidence → possible.
    assert_eq!(a.liverpool.category, "possible");
    assert_eq!(a.liverpool.path.len(), 4);
}

#[test]
fn flare_case_uses_explicit_answers() {
    let case = common::example("ad-flare-missed-dose.json");
    let a = &assess_case(&case)[0];
    // Naranjo (all derived): 2 yes +2, 5 yes −1 → 1, possible: the scale alone cannot tell a flare apart.
    assert_eq!((a.naranjo.total, a.naranjo.category), (1, "possible"));
    // WHO-UMC with the explicit improbable timing and plausible disease explanation: unlikely.
    assert_eq!(a.who_umc.category, "unlikely");
    assert!(matches!(a.who_umc.criteria[0].basis, Basis::Explicit));
    assert_eq!(a.liverpool.category, "unlikely");
}

#[test]
fn explicit_answer_overrides_derivation() {
    let mut case = common::example("facial-redness-interval-extension.json");
    case.reactions[0].causality_answers = Some(serde_json::from_str(r#"{"naranjo": {"alternative_causes": "yes"}}"#).unwrap());
    let a = &assess_case(&case)[0];
    // Item 5 yes = −1 instead of +2: 6 − 3 = 3, possible.
    assert_eq!((a.naranjo.total, a.naranjo.category), (3, "possible"));
    assert_eq!(a.naranjo.items[4].basis, Basis::Explicit);
}
