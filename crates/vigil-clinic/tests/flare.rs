//! Reaction-vs-flare decision support on the three example cases.
mod common;

use vigil_clinic::flare::{assess_case, Entity, DISCLAIMER};

fn findings(c: &vigil_clinic::flare::Candidate) -> (Vec<&str>, Vec<&str>) {
    (
        c.evidence_for.iter().map(|e| e.finding.as_str()).collect(),
        c.evidence_against.iter().map(|e| e.finding.as_str()).collect(),
    )
}

#[test]
fn facial_redness_points_to_head_and_neck_dermatitis() {
    let case = common::example("facial-redness-interval-extension.json");
    let a = &assess_case(&case)[0];
    assert_eq!(a.disclaimer, DISCLAIMER);
    assert!(a.disclaimer.contains("not a diagnosis"));
    assert_eq!(a.days_since_first_dose, Some(91));
    let top = &a.candidates[0];
    assert_eq!(top.entity, Entity::HeadNeckDermatitis);
    let (pro, con) = findings(top);
    // Inside the 5–365-day range of the 42-patient series; rest of the skin improving (de Wijs 6/7).
    assert!(pro.iter().any(|f| f.contains("91 days") && f.contains("5–365")), "{pro:?}");
    assert!(pro.iter().any(|f| f.contains("rest of the skin improving")));
    assert!(pro.iter().any(|f| f.contains("Malassezia")));
    assert!(pro.iter().any(|f| f.contains("dosing interval was extended")), "{pro:?}");
    assert!(con.is_empty(), "{con:?}");
    // The flare candidate has the improvement on spacing against it.
    let flare = a.candidates.iter().find(|c| c.entity == Entity::AdFlare).unwrap();
    assert!(findings(flare).1.iter().any(|f| f.contains("less drug, less reaction")));
    // Published figures travel with the candidate.
    assert!(top.incidence.iter().any(|c| c.text.contains("about 10%") && c.source.contains("Waldman")));
    assert!(top.onset.iter().any(|c| c.text.contains("65.4")));
}

#[test]
fn psoriasiform_eruption_with_prior_psoriasis() {
    let case = common::example("psoriasiform-prior-psoriasis.json");
    let a = &assess_case(&case)[0];
    let top = &a.candidates[0];
    assert_eq!(top.entity, Entity::Psoriasiform);
    let (pro, _) = findings(top);
    assert!(pro.iter().any(|f| f.contains("history of psoriasis") && f.contains("43%")));
    assert!(top.incidence.iter().any(|c| c.text.contains("HR 1.58")));
    assert!(top.management.iter().any(|c| c.text.contains("93% improved")));
    // No head/neck-only pattern: the head-and-neck candidate has scaling against it.
    let hn = a.candidates.iter().find(|c| c.entity == Entity::HeadNeckDermatitis).unwrap();
    assert!(findings(hn).1.iter().any(|f| f.contains("scaling")));
}

#[test]
fn flare_after_missed_dose() {
    let case = common::example("ad-flare-missed-dose.json");
    let a = &assess_case(&case)[0];
    let top = &a.candidates[0];
    assert_eq!(top.entity, Entity::AdFlare);
    let (pro, _) = findings(top);
    // Dose due 2024-02-19, onset 2024-02-26: 7 days, within one 14-day interval.
    assert!(pro.iter().any(|f| f.contains("onset 7 days later") && f.contains("14 days")), "{pro:?}");
    assert!(top.evidence_for.iter().any(|e| e.source.contains("vigil's reasoning")), "derived rule is labelled");
    assert!(top.management.iter().any(|c| c.text.contains("within 7 days")));
    // No ocular or injection-site candidate without ocular or injection-site findings.
    assert!(a.candidates.iter().all(|c| !matches!(c.entity, Entity::OcularSurfaceDisease | Entity::InjectionSiteReaction)));
}

#[test]
fn every_statement_has_a_source() {
    for name in common::EXAMPLES {
        let case = common::example(name);
        for a in assess_case(&case) {
            for c in &a.candidates {
                for e in c.evidence_for.iter().chain(&c.evidence_against) {
                    assert!(!e.source.is_empty(), "{name}: {} has no source", e.finding);
                }
                for s in c.incidence.iter().chain(&c.onset).chain(&c.management) {
                    assert!(!s.source.is_empty(), "{name}: {} has no source", s.text);
                }
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
