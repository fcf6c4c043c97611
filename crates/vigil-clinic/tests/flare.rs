//! Reaction-vs-flare decision support on the three example cases, and the rules that follow the
//! sources: onset ranges as context, non-discriminating findings not counted, pretreatment-only
//! Malassezia IgE, no missed-dose window, infections and differentials with their figures.
mod common;

use vigil_clinic::case::{TestKind, TestResult};
use vigil_clinic::flare::{
    assess_case, entity_for_term, knowledge_for_term, Candidate, Entity, DISCLAIMER, ORDER_NOTE,
};
use vigil_clinic::PartialDate;

fn findings(c: &Candidate) -> (Vec<&str>, Vec<&str>) {
    (
        c.evidence_for.iter().map(|e| e.finding.as_str()).collect(),
        c.evidence_against
            .iter()
            .map(|e| e.finding.as_str())
            .collect(),
    )
}

fn context(c: &Candidate) -> Vec<&str> {
    c.context.iter().map(|e| e.finding.as_str()).collect()
}

fn candidate(a: &vigil_clinic::flare::FlareAssessment, e: Entity) -> &Candidate {
    a.candidates
        .iter()
        .find(|c| c.entity == e)
        .unwrap_or_else(|| panic!("no {e:?} candidate"))
}

#[test]
fn facial_redness_points_to_head_and_neck_dermatitis() {
    let case = common::example("facial-redness-interval-extension.json");
    let a = &assess_case(&case)[0];
    assert_eq!(a.disclaimer, DISCLAIMER);
    assert!(a.disclaimer.contains("not a diagnosis"));
    assert_eq!(a.order_note, ORDER_NOTE);
    assert!(a.order_note.contains("not a probability"));
    assert_eq!(a.days_since_first_dose, Some(91));
    let top = &a.candidates[0];
    assert_eq!(top.entity, Entity::HeadNeckDermatitis);
    let (pro, con) = findings(top);
    assert!(pro.iter().any(|f| f.contains("rest of the skin improving")));
    assert!(
        pro.iter()
            .any(|f| f.contains("dosing interval was extended")),
        "{pro:?}"
    );
    assert!(con.is_empty(), "{con:?}");
    // The onset is context beside the typical onset, not a finding.
    assert!(!pro.iter().any(|f| f.contains("91 days")), "{pro:?}");
    assert!(
        context(top)
            .iter()
            .any(|f| f.contains("91 days") && f.contains("not a limit")),
        "{:?}",
        context(top)
    );
    // Malassezia IgE measured on treatment (2024-04-22, after the first dose 2024-01-08) is not
    // counted: the cohort evidence concerns pretreatment levels.
    assert!(!pro.iter().any(|f| f.contains("Malassezia")), "{pro:?}");
    assert!(context(top)
        .iter()
        .any(|f| f.contains("Malassezia") && f.contains("on treatment")));
    // Baseline head/neck eczema is context (exacerbation pattern), and "differs from the usual eczema"
    // is not counted either way.
    assert!(context(top).iter().any(|f| f.contains("at baseline")));
    assert!(context(top)
        .iter()
        .any(|f| f.contains("usual eczema") && f.contains("not counted")));
    // The flare candidate has the improvement on spacing against it.
    let flare = candidate(a, Entity::AdFlare);
    assert!(findings(flare)
        .1
        .iter()
        .any(|f| f.contains("less drug, less reaction")));
    // Published figures travel with the candidate.
    assert!(top
        .incidence
        .iter()
        .any(|c| c.text.contains("about 10%") && c.source.contains("Waldman")));
    assert!(top.onset.iter().any(|c| c.text.contains("65.4")));
    // The differentials the case informs: prior facial TCS for steroid withdrawal, the negative
    // expanded patch test against contact dermatitis.
    assert!(findings(candidate(a, Entity::TopicalSteroidWithdrawal))
        .0
        .iter()
        .any(|f| f.contains("86%")));
    assert!(findings(candidate(a, Entity::ContactDermatitis))
        .1
        .iter()
        .any(|f| f.contains("patch test") && f.contains("negative")));
    // The order: head/neck 6 for; steroid withdrawal 1 for; then ties keep the listing order; the
    // AD flare (0 for, 2 against) last.
    let order: Vec<Entity> = a.candidates.iter().map(|c| c.entity).collect();
    assert_eq!(
        order[..2],
        [Entity::HeadNeckDermatitis, Entity::TopicalSteroidWithdrawal]
    );
    assert_eq!(top.evidence_for.len(), 6, "{pro:?}");
    assert_eq!(*order.last().unwrap(), Entity::AdFlare);
}

#[test]
fn an_onset_outside_a_published_range_is_never_evidence_against() {
    // Before the fix a day-400 onset counted against head-and-neck dermatitis ("outside 5–365"),
    // although the same entity's 2-year cohort still saw 5% new head/neck redness in weeks 52–104.
    let mut case = common::example("facial-redness-interval-extension.json");
    case.drugs[0].start = Some(PartialDate::ymd(2023, 3, 5).unwrap()); // 2023-03-05 → 2024-04-08: 400 days
    case.reactions[0].dechallenge = None;
    let a = &assess_case(&case)[0];
    assert_eq!(a.days_since_first_dose, Some(400));
    for c in &a.candidates {
        assert!(
            !findings(c)
                .1
                .iter()
                .any(|f| f.contains("days after the first dose")),
            "{:?}: {:?}",
            c.entity,
            findings(c).1
        );
        assert!(
            !findings(c)
                .0
                .iter()
                .any(|f| f.contains("days after the first dose")),
            "{:?}: {:?}",
            c.entity,
            findings(c).0
        );
    }
    assert!(context(candidate(a, Entity::HeadNeckDermatitis))
        .iter()
        .any(|f| f.contains("400 days")));

    // Ocular surface disease at day 14: before, both "inside the first 16 weeks" (for) and "outside
    // 23–520 days" (against). Now one context line and nothing counted on timing.
    let mut case = common::example("ad-flare-missed-dose.json");
    case.reactions[0].term = "conjunctivitis".into();
    case.reactions[0].sites = vec![vigil_clinic::case::BodySite::Eyes];
    case.reactions[0].features = vec![vigil_clinic::case::Feature::ConjunctivalRedness];
    case.reactions[0].onset = Some(PartialDate::ymd(2023, 3, 20).unwrap()); // 14 days after 2023-03-06
    let a = &assess_case(&case)[0];
    let osd = candidate(a, Entity::OcularSurfaceDisease);
    let (pro, con) = findings(osd);
    assert_eq!(pro, ["ocular signs"]);
    assert!(con.is_empty(), "{con:?}");
    assert_eq!(
        context(osd)
            .iter()
            .filter(|f| f.contains("14 days"))
            .count(),
        1
    );
}

#[test]
fn psoriasiform_eruption_with_prior_psoriasis() {
    let case = common::example("psoriasiform-prior-psoriasis.json");
    let a = &assess_case(&case)[0];
    let top = &a.candidates[0];
    assert_eq!(top.entity, Entity::Psoriasiform);
    let (pro, _) = findings(top);
    // Scaling plaques count once (before: "plaques" and "scaling plaques", two findings), then the
    // history (43% relapse) and the improvement on stopping: 3.
    assert_eq!(pro.len(), 3, "{pro:?}");
    assert_eq!(
        pro.iter().filter(|f| f.contains("plaques")).count(),
        1,
        "{pro:?}"
    );
    assert!(pro
        .iter()
        .any(|f| f.contains("history of psoriasis") && f.contains("43%")));
    assert!(top.incidence.iter().any(|c| c.text.contains("HR 1.58")));
    assert!(top
        .management
        .iter()
        .any(|c| c.text.contains("93% improved")));
    // No head/neck-only pattern: the head-and-neck candidate has scaling against it.
    let hn = candidate(a, Entity::HeadNeckDermatitis);
    assert!(findings(hn).1.iter().any(|f| f.contains("scaling")));
}

#[test]
fn flare_after_missed_dose() {
    let case = common::example("ad-flare-missed-dose.json");
    let a = &assess_case(&case)[0];
    let top = &a.candidates[0];
    assert_eq!(top.entity, Entity::AdFlare);
    let (pro, _) = findings(top);
    // One finding: the eczema elsewhere worsening too (de Wijs: 6/7 drug-associated cases improved
    // elsewhere). "Looks like the usual eczema" and the missed dose are context, not counted.
    assert_eq!(pro.len(), 1, "{pro:?}");
    assert!(pro[0].contains("elsewhere is worsening"));
    let ctx = context(top);
    // Dose due 2024-02-19, onset 2024-02-26: 7 days. No source gives a missed-dose window; on placebo
    // response was lost over weeks (SOLO-CONTINUE, median 57 days to the first IGA ≥ 2).
    let missed = top
        .context
        .iter()
        .find(|e| e.finding.contains("2024-02-19"))
        .expect("missed dose as context");
    assert!(
        missed.finding.contains("onset 7 days later") && missed.finding.contains("not counted"),
        "{}",
        missed.finding
    );
    assert!(missed.source.contains("SOLO-CONTINUE") && missed.source.contains("57 days"));
    assert!(ctx
        .iter()
        .any(|f| f.contains("usual eczema") && f.contains("not counted")));
    assert!(top.context.iter().any(|e| e.source.contains("45/101")));
    assert!(top
        .management
        .iter()
        .any(|c| c.text.contains("within 7 days")));
    // No ocular, injection-site, steroid-withdrawal or seborrhoeic candidate without findings for them.
    assert!(a.candidates.iter().all(|c| !matches!(
        c.entity,
        Entity::OcularSurfaceDisease
            | Entity::InjectionSiteReaction
            | Entity::TopicalSteroidWithdrawal
            | Entity::SeborrhoeicDermatitisLike
    )));
}

#[test]
fn malassezia_ige_counts_only_before_the_first_dose() {
    let mut case = common::example("facial-redness-interval-extension.json");
    let t = case
        .tests
        .iter_mut()
        .find(|t| t.kind == TestKind::MalasseziaIge)
        .unwrap();
    t.date = Some(PartialDate::ymd(2023, 12, 1).unwrap()); // before the first dose 2024-01-08
    let a = &assess_case(&case)[0];
    let (pro, _) = findings(candidate(a, Entity::HeadNeckDermatitis));
    assert!(
        pro.iter()
            .any(|f| f.contains("Malassezia") && f.contains("before the first dose")),
        "{pro:?}"
    );
    // Undated: not counted.
    case.tests
        .iter_mut()
        .find(|t| t.kind == TestKind::MalasseziaIge)
        .unwrap()
        .date = None;
    let a = &assess_case(&case)[0];
    assert!(!findings(candidate(a, Entity::HeadNeckDermatitis))
        .0
        .iter()
        .any(|f| f.contains("Malassezia")));
}

#[test]
fn infections_are_candidates_with_their_trial_figures() {
    let case = common::example("facial-redness-interval-extension.json");
    let a = &assess_case(&case)[0];
    // Fleming & Drucker 2018 (clinical.md §4.6): eczema herpeticum Peto OR 0.34 (0.14–0.84); herpesvirus
    // infections RR 1.16 (0.78–1.74); skin infections RR 0.54 (0.42–0.70). Label: oral herpes 4% vs 2%.
    let eh = candidate(a, Entity::EczemaHerpeticum);
    assert!(eh.incidence.iter().any(
        |c| c.text.contains("Peto OR 0.34 (95% CI 0.14–0.84)") && c.source.contains("Fleming")
    ));
    let hsv = candidate(a, Entity::HerpesSimplex);
    assert!(hsv
        .incidence
        .iter()
        .any(|c| c.text.contains("RR 1.16 (95% CI 0.78–1.74)")));
    assert!(hsv
        .incidence
        .iter()
        .any(|c| c.text.contains("oral herpes 4% vs 2%")));
    let inf = candidate(a, Entity::SkinInfection);
    assert!(inf
        .incidence
        .iter()
        .any(|c| c.text.contains("RR 0.54 (95% CI 0.42–0.70)")));
    // Urgent signs are not in the verified sources: said so, not invented.
    for c in [eh, hsv, inf] {
        assert!(
            c.red_flags
                .iter()
                .all(|r| r.text.contains("not in vigil's verified sources")),
            "{:?}",
            c.red_flags
        );
    }

    // A positive HSV test counts for both herpes candidates; a negative one against.
    let mut case = common::example("ad-flare-missed-dose.json");
    case.tests.push(vigil_clinic::case::LabTest {
        name: "HSV PCR swab".into(),
        kind: TestKind::HerpesSimplexTest,
        date: None,
        result: TestResult::Positive,
        shows_mechanism: false,
        confirms_event: false,
    });
    case.reactions[0].term = "eczema herpeticum".into();
    let a = &assess_case(&case)[0];
    let (pro, _) = findings(candidate(a, Entity::EczemaHerpeticum));
    assert_eq!(pro, ["the reported term names it", "HSV PCR swab positive"]);
    assert_eq!(
        findings(candidate(a, Entity::HerpesSimplex)).0,
        ["HSV PCR swab positive"]
    );
    case.tests[0].result = TestResult::Negative;
    let a = &assess_case(&case)[0];
    assert_eq!(
        findings(candidate(a, Entity::HerpesSimplex)).1,
        ["HSV PCR swab negative"]
    );
}

#[test]
fn seborrhoeic_history_and_steroid_history_inform_their_differentials() {
    let mut case = common::example("facial-redness-interval-extension.json");
    case.patient.history.push(vigil_clinic::case::HistoryItem {
        condition: vigil_clinic::case::Condition::SeborrheicDermatitis,
        text: None,
        ongoing: Some(false),
    });
    case.patient.prior_facial_tcs = Some(false);
    let a = &assess_case(&case)[0];
    assert!(findings(candidate(a, Entity::SeborrhoeicDermatitisLike))
        .0
        .iter()
        .any(|f| f.contains("history of seborrhoeic dermatitis")));
    assert!(findings(candidate(a, Entity::TopicalSteroidWithdrawal))
        .1
        .iter()
        .any(|f| f.contains("no facial topical corticosteroid")));
    // Old case files without the baseline field still read and assess (it is optional).
    let mut json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::repo_root().join("examples/cases/facial-redness-interval-extension.json"),
        )
        .unwrap(),
    )
    .unwrap();
    json["patient"]
        .as_object_mut()
        .unwrap()
        .remove("head_neck_at_baseline");
    let old = vigil_clinic::Case::from_json_str(&json.to_string(), "old.json").unwrap();
    assert_eq!(old.patient.head_neck_at_baseline, None);
    assert!(
        !context(candidate(&assess_case(&old)[0], Entity::HeadNeckDermatitis))
            .iter()
            .any(|f| f.contains("at baseline"))
    );
}

#[test]
fn terms_map_to_entities_and_erythema_is_not_site_specific() {
    assert_eq!(entity_for_term("ERYTHEMA"), None);
    assert_eq!(entity_for_term("RASH"), None);
    assert_eq!(entity_for_term("ERYTHEMA OF EYELID"), None);
    assert_eq!(entity_for_term("itchy red eyelids"), None);
    assert_eq!(entity_for_term("SWELLING FACE"), None);
    assert_eq!(
        entity_for_term("rash on the forehead"),
        Some(Entity::HeadNeckDermatitis)
    );
    assert_eq!(
        entity_for_term("red, burning skin on the face and neck"),
        None,
        "no redness word it knows: unchanged"
    );
    assert_eq!(
        entity_for_term("facial and neck erythema"),
        Some(Entity::HeadNeckDermatitis)
    );
    assert_eq!(
        entity_for_term("ocular surface disease"),
        Some(Entity::OcularSurfaceDisease)
    );
    assert_eq!(
        entity_for_term("ECZEMA HERPETICUM"),
        Some(Entity::EczemaHerpeticum)
    );
    assert_eq!(
        entity_for_term("HERPES SIMPLEX"),
        Some(Entity::HerpesSimplex)
    );
    assert_eq!(entity_for_term("ORAL HERPES"), Some(Entity::HerpesSimplex));
    assert_eq!(entity_for_term("HERPES ZOSTER"), None);
    assert_eq!(
        entity_for_term("SKIN INFECTION"),
        Some(Entity::SkinInfection)
    );
    assert_eq!(entity_for_term("DERMATITIS ATOPIC"), Some(Entity::AdFlare));
    assert_eq!(
        entity_for_term("DERMATITIS CONTACT"),
        Some(Entity::ContactDermatitis)
    );
    assert_eq!(
        entity_for_term("SEBORRHOEIC DERMATITIS"),
        Some(Entity::SeborrhoeicDermatitisLike)
    );
    let k = knowledge_for_term("ERYTHEMA").unwrap();
    assert_eq!(k.entity, None);
    assert!(k.topic.contains("erythema"));
    assert!(
        k.incidence.is_empty() && k.onset.is_empty(),
        "no head-and-neck figures for a site-less term"
    );
    assert!(k.note.unwrap().text.contains("not site-specific"));
    assert!(k
        .red_flags
        .iter()
        .any(|r| r.text.contains("erythema multiforme")));
    let k = knowledge_for_term("facial erythema").unwrap();
    assert_eq!(k.entity, Some(Entity::HeadNeckDermatitis));
    assert!(k.incidence.iter().any(|c| c.text.contains("about 10%")));
    assert!(knowledge_for_term("NASOPHARYNGITIS").is_none());
}

#[test]
fn every_statement_has_a_source() {
    for name in common::EXAMPLES {
        let case = common::example(name);
        for a in assess_case(&case) {
            for c in &a.candidates {
                for e in c
                    .evidence_for
                    .iter()
                    .chain(&c.evidence_against)
                    .chain(&c.context)
                {
                    assert!(!e.source.is_empty(), "{name}: {} has no source", e.finding);
                }
                for s in c
                    .incidence
                    .iter()
                    .chain(&c.onset)
                    .chain(&c.management)
                    .chain(&c.red_flags)
                {
                    assert!(!s.source.is_empty(), "{name}: {} has no source", s.text);
                }
                assert!(
                    !c.red_flags.is_empty(),
                    "{name}: {:?} says nothing on urgent signs",
                    c.entity
                );
            }
            assert!(a.work_up.iter().all(|w| !w.source.is_empty()));
        }
    }
}

#[test]
fn no_support_without_dupilumab() {
    let mut case = common::example("facial-redness-interval-extension.json");
    case.drugs[0].name = "ciclosporin".into();
    case.drugs[0].substance = Some("ciclosporin".into());
    assert!(assess_case(&case).is_empty());
}
