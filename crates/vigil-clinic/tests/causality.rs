//! Causality: Naranjo against published worked examples, and all three methods on the example cases.
mod common;

use vigil_clinic::causality::liverpool::{DechallengeAnswer, NOT_REACHED};
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
    assert_eq!(
        score([Yes, Yes, Yes, Yes, No, No, Yes, Yes, Yes, Yes]).0,
        13
    );
    use vigil_clinic::causality::naranjo::category;
    assert_eq!(
        [
            category(0),
            category(1),
            category(4),
            category(5),
            category(8),
            category(9)
        ],
        ["doubtful", "possible", "possible", "probable", "probable", "definite"]
    );
}

#[test]
fn facial_redness_case_is_possible_while_its_alternatives_stay_open() {
    let case = common::example("facial-redness-interval-extension.json");
    let a = assess_case(&case);
    assert_eq!(a.len(), 1, "one suspect drug × one reaction");
    let n = &a[0].naranjo;
    // The case keeps an AD flare and topical-steroid withdrawal (prior facial TCS) as possible causes,
    // and the assessor answers item 5 "don't know". Derived and explicit items:
    //   1 yes +1 (catalogued dupilumab head/neck dermatitis), 2 yes +2 (91 days after the first dose),
    //   5 don't know 0 (explicit), 8 yes +1 (better after the interval was extended), others 0
    //   → 1 + 2 + 0 + 1 = 4, "possible" (1–4).
    let pts: Vec<i32> = n.items.iter().map(|i| i.points).collect();
    assert_eq!(pts, vec![1, 2, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!((n.total, n.category), (4, "possible"));
    assert_eq!(n.items[4].basis, Basis::Explicit);
    assert!(
        matches!(&n.items[1].basis, Basis::Derived(t) if t.contains("91 days")),
        "{:?}",
        n.items[1].basis
    );
    // WHO-UMC: reasonable timing and a positive response to spacing the doses, but disease could also
    // explain it → "possible", not "probable".
    assert_eq!(a[0].who_umc.category, "possible");
    // Liverpool: after yes → improved yes (interval extended) → disease probability high or unsure
    // (alternatives recorded) → objective evidence yes (dose dependence in the patient: better on
    // less drug, the flowchart footnote) → same event before no → reported before yes → probable.
    let l = &a[0].liverpool;
    assert_eq!(l.category, "probable");
    let answers: Vec<&str> = l.path.iter().map(|s| s.answer.as_str()).collect();
    assert_eq!(
        answers,
        ["yes", "yes", "high or unsure", "yes", "no", "yes"]
    );
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
    // Liverpool: the flare began a year after the first dose (derived "yes"); the drug was continued,
    // so step 2 has no answer — "unassessable" is only for a drug given once, intermittent therapy or
    // one that cannot be stopped — and the flowchart stops without a category.
    assert_eq!(a.liverpool.category, NOT_REACHED);
    assert_eq!(a.liverpool.path.len(), 2);
    assert!(
        matches!(&a.liverpool.path[0].basis, Basis::Derived(t) if t.contains("after the first dose"))
    );
    assert_eq!(a.liverpool.path[1].answer, "unknown");
    assert!(
        matches!(&a.liverpool.path[1].basis, Basis::NoInformation(t) if t.contains("given once"))
    );
}

#[test]
fn liverpool_without_a_time_relationship_reaches_no_category() {
    // Before the fix an unknown onset was read as "yes, after the drug" and the walk went on to
    // "probable". With no onset the first question has no answer: the path stops there.
    let mut case = common::example("facial-redness-interval-extension.json");
    case.reactions[0].onset = None;
    let a = &assess_case(&case)[0];
    assert_eq!(a.liverpool.category, NOT_REACHED);
    assert_eq!(a.liverpool.path.len(), 1);
    assert_eq!(a.liverpool.path[0].answer, "unknown");
    // An explicit answer lets the assessor go on: the path is then the flagship's.
    case.reactions[0]
        .causality_answers
        .as_mut()
        .unwrap()
        .liverpool
        .after_drug = Some(true);
    assert_eq!(assess_case(&case)[0].liverpool.category, "probable");
}

#[test]
fn liverpool_missing_dechallenge_is_not_read_as_unassessable() {
    // Before the fix no dechallenge meant "unassessable" and the walk went on.
    let mut case = common::example("facial-redness-interval-extension.json");
    case.reactions[0].dechallenge = None;
    let a = &assess_case(&case)[0];
    assert_eq!(a.liverpool.category, NOT_REACHED);
    assert_eq!(a.liverpool.path.len(), 2);
    // A drug given once is the tool's own "unassessable" case (flowchart footnote, clinical.md §1.3):
    // one regimen without a dosing interval. The walk continues: disease high/unsure → no test of
    // the mechanism and no dose change → possible.
    case.drugs[0].regimens.truncate(1);
    let a = &assess_case(&case)[0];
    assert_eq!(a.liverpool.path[1].answer, "unassessable");
    assert!(matches!(&a.liverpool.path[1].basis, Basis::Derived(t) if t.contains("given once")));
    assert_eq!(a.liverpool.category, "possible");
    // The assessor may answer "unassessable" for a drug that cannot be stopped.
    case.drugs[0].regimens = common::example("facial-redness-interval-extension.json").drugs[0]
        .regimens
        .clone();
    case.reactions[0]
        .causality_answers
        .as_mut()
        .unwrap()
        .liverpool
        .improved_on_stop = Some(DechallengeAnswer::Unassessable);
    assert_eq!(
        assess_case(&case)[0].liverpool.path[1].basis,
        Basis::Explicit
    );
}

#[test]
fn herpes_terms_are_labelled_reactions_for_naranjo_item_1() {
    // Oral herpes and other HSV infections are in the label's AD safety table (4% vs 2%; 2% vs 1%,
    // clinical.md §4.3), so item 1 is "yes" (+1); before, an unrecognised term scored 0.
    let mut case = common::example("ad-flare-missed-dose.json");
    for (term, points) in [
        ("oral herpes", 1),
        ("Herpes simplex", 1),
        ("HSV infection of the lip", 1),
        ("eczema herpeticum", 0),
        ("herpes zoster", 0),
        ("skin infection", 0),
    ] {
        case.reactions[0].term = term.into();
        let item1 = &assess_case(&case)[0].naranjo.items[0];
        assert_eq!(item1.points, points, "{term}: {:?}", item1.basis);
    }
    // Eczema herpeticum and skin infection were *less* frequent on dupilumab (Peto OR 0.34; RR 0.54,
    // Fleming & Drucker 2018): not "previous conclusive reports" of a reaction to it.
}

#[test]
fn explicit_answer_overrides_derivation() {
    let mut case = common::example("facial-redness-interval-extension.json");
    case.reactions[0].causality_answers =
        Some(serde_json::from_str(r#"{"naranjo": {"alternative_causes": "yes"}}"#).unwrap());
    let a = &assess_case(&case)[0];
    // Item 5 yes = −1 instead of the file's "don't know" 0: 4 − 1 = 3, possible.
    assert_eq!((a.naranjo.total, a.naranjo.category), (3, "possible"));
    assert_eq!(a.naranjo.items[4].basis, Basis::Explicit);
}

#[test]
fn liverpool_reaches_every_end_of_the_flowchart() {
    // Each end of the flowchart as transcribed in clinical.md §1.3 (a third party's reading of
    // Gallagher et al., PLoS One 2011;6:e28096, Fig. 2), walked with explicit answers so that
    // nothing is derived from the case:
    //   1 after the drug? no, pre-existing symptom made worse? no            → unlikely
    //   2 improved on stop? no, permanent impairment? no                     → possible
    //   3 low disease probability, positive rechallenge? yes                 → definite
    //   3 high/unsure, objective mechanism evidence? no                      → possible
    //   4 same event with this drug before? yes                              → definite
    //   4 no, reported before with this drug? yes / no                       → probable / possible
    use vigil_clinic::causality::liverpool::{DiseaseProbability, LiverpoolAnswers};
    let walk = |answers: LiverpoolAnswers| {
        let mut case = common::example("facial-redness-interval-extension.json");
        case.reactions[0]
            .causality_answers
            .get_or_insert_with(Default::default)
            .liverpool = answers;
        let l = assess_case(&case)[0].liverpool.clone();
        assert!(l.path.iter().all(|s| matches!(s.basis, Basis::Explicit)));
        (l.category, l.path.len())
    };
    let yes_to_step_3 = LiverpoolAnswers {
        after_drug: Some(true),
        improved_on_stop: Some(DechallengeAnswer::Yes),
        ..Default::default()
    };
    let low = LiverpoolAnswers {
        disease_probability: Some(DiseaseProbability::Low),
        ..yes_to_step_3
    };
    let high_with_evidence = LiverpoolAnswers {
        disease_probability: Some(DiseaseProbability::HighOrUnsure),
        objective_mechanism_evidence: Some(true),
        ..yes_to_step_3
    };
    let cases = [
        (
            LiverpoolAnswers {
                after_drug: Some(false),
                pre_existing_made_worse: Some(false),
                ..Default::default()
            },
            ("unlikely", 2),
        ),
        (
            LiverpoolAnswers {
                after_drug: Some(true),
                improved_on_stop: Some(DechallengeAnswer::No),
                permanent_impairment: Some(false),
                ..Default::default()
            },
            ("possible", 3),
        ),
        (
            LiverpoolAnswers {
                positive_rechallenge: Some(true),
                ..low
            },
            ("definite", 4),
        ),
        (
            LiverpoolAnswers {
                objective_mechanism_evidence: Some(false),
                ..high_with_evidence
            },
            ("possible", 4),
        ),
        (
            LiverpoolAnswers {
                same_event_before_with_drug: Some(true),
                ..high_with_evidence
            },
            ("definite", 5),
        ),
        (
            LiverpoolAnswers {
                positive_rechallenge: Some(false),
                same_event_before_with_drug: Some(false),
                reported_before_with_drug: Some(true),
                ..low
            },
            ("probable", 6),
        ),
        (
            LiverpoolAnswers {
                same_event_before_with_drug: Some(false),
                reported_before_with_drug: Some(false),
                ..high_with_evidence
            },
            ("possible", 6),
        ),
    ];
    for (answers, (category, steps)) in cases {
        assert_eq!(walk(answers), (category, steps), "{answers:?}");
    }
}
