//! Dupilumab (Dupixent), the flagship drug: what vigil knows about it as data, each fact with its
//! source in the clinical knowledge base (`clinical.md §n`, tags as given there). The monitoring
//! server (label regimens, missed-dose rule), `vigil demo` and `vigil report` (reactions of
//! interest) and the reaction-vs-flare support ([`crate::flare`]: which entity a term names) all
//! read it from here.

use serde::Serialize;

use crate::flare::Entity;

/// The active ingredient, as FAERS names it (upper case).
pub const INGREDIENT: &str = "DUPILUMAB";

/// Brand names. Source: clinical.md §4.1 (prescribing information for Dupixent, MIMS HK)
/// [VERIFIED].
pub const BRAND_NAMES: &[&str] = &["DUPIXENT"];

/// Whether a drug name (product, substance or free text, any case) names dupilumab: it contains
/// the ingredient or a brand name, so "Dupixent 300 mg pen" counts.
pub fn is_dupilumab(name: &str) -> bool {
    let name = name.to_lowercase();
    std::iter::once(&INGREDIENT)
        .chain(BRAND_NAMES)
        .any(|n| name.contains(&n.to_lowercase()))
}

/// One labelled maintenance regimen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelRegimen {
    /// Dose per injection, mg.
    pub dose_mg: f64,
    /// Days between injections.
    pub interval_days: i64,
    /// Who gets it.
    pub population: &'static str,
}

/// Dupilumab maintenance regimens for atopic dermatitis on the US label, with their population.
///
/// Source: FDA label, revision 04/2024, section 2.3, as tabulated in the project's clinical knowledge base
/// (`clinical.md` §4.2, tagged **[VERIFIED]**). The interval is per patient because children 6 months–5
/// years and 6–17 years of 15 to <30 kg receive every 4 weeks (28 days), adults every 2 weeks (14 days).
pub const LABEL_REGIMENS: &[LabelRegimen] = &[
    LabelRegimen {
        dose_mg: 300.0,
        interval_days: 14,
        population: "adults; 6–17 years ≥60 kg",
    },
    LabelRegimen {
        dose_mg: 200.0,
        interval_days: 14,
        population: "6–17 years, 30 to <60 kg",
    },
    LabelRegimen {
        dose_mg: 300.0,
        interval_days: 28,
        population: "6 months–5 years, 15 to <30 kg; 6–17 years, 15 to <30 kg",
    },
    LabelRegimen {
        dose_mg: 200.0,
        interval_days: 28,
        population: "6 months–5 years, 5 to <15 kg",
    },
];

/// Where [`LABEL_REGIMENS`] come from, and whether it was verified.
pub const LABEL_SOURCE: &str = "US label (FDA, rev. 04/2024) §2.3, via clinical.md §4.2 [VERIFIED]";

/// The missed-dose rule shown beside an every-2-weeks schedule (and followed by the server's
/// schedule).
pub const MISSED_DOSE_RULE: &str = "Every-2-weeks dupilumab: give within 7 days of the missed dose, then resume the \
     original schedule; later than 7 days, wait for the next scheduled dose (EU SmPC, clinical.md §4.2 [VERIFIED]).";

/// The same rule in plain words for the patient's page (its source stays on the clinician's view).
pub const MISSED_DOSE_RULE_PLAIN: &str = "If you miss an injection, take it within 7 days of the day it was due \
     and then keep to your usual injection days. If more than 7 days have passed, skip it and take the next one on its usual day.";

/// Shown instead when the interval is not every 2 weeks: no verified rule for other intervals is in the
/// knowledge base (clinical.md §4.2 marks the US label's every-4-weeks rule [UNVERIFIED]; open item 7).
pub const NO_VERIFIED_RULE: &str = "No verified missed-dose rule for this interval (clinical.md §4.2, open item 7): \
     vigil keeps the original schedule with a 7-day window and asks the patient to contact the clinic.";

/// Days after a scheduled date within which a late dose still counts for it ([`MISSED_DOSE_RULE`]:
/// EU SmPC, clinical.md §4.2 [VERIFIED]).
pub const LATE_WINDOW_DAYS: i64 = 7;

/// The reactions of interest, as MedDRA PTs: those the dupilumab articles discuss (eczema
/// worsening, facial erythema, rosacea, psoriasiform eruptions, conjunctivitis, herpes
/// infections) and skin infection, which the trials found less often on dupilumab. Source:
/// clinical.md §4.4–4.6 (the two source articles and Fleming & Drucker 2018).
pub const REACTIONS_OF_INTEREST: [&str; 9] = [
    "ECZEMA",
    "DERMATITIS ATOPIC",
    "ERYTHEMA",
    "ROSACEA",
    "PSORIASIS",
    "CONJUNCTIVITIS",
    "ECZEMA HERPETICUM",
    "HERPES SIMPLEX",
    "SKIN INFECTION",
];

/// The lower-case words of a term.
pub(crate) fn words(term: &str) -> Vec<String> {
    term.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The entity a reaction term names (FAERS PT or free text; case-insensitive), if any.
///
/// Head-and-neck dermatitis needs a face/head/neck word *and* a redness/dermatitis word: erythema,
/// rash or eczema without that site is not mapped to it (eyelid terms are left out: eyelid redness may
/// be blepharitis, an ocular-surface reaction). Herpes zoster and varicella are not herpes simplex.
pub fn entity_for_term(term: &str) -> Option<Entity> {
    let t = term.to_lowercase();
    let w = words(term);
    let has = |subs: &[&str]| subs.iter().any(|x| t.contains(x));
    let word = |ws: &[&str]| ws.iter().any(|x| w.iter().any(|y| y == x));
    Some(if has(&["herpeticum", "kaposi varicelliform"]) {
        Entity::EczemaHerpeticum
    } else if has(&["zoster", "varicella", "shingles"]) {
        return None;
    } else if has(&["herpe", "cold sore"]) || word(&["hsv"]) {
        Entity::HerpesSimplex
    } else if has(&[
        "skin infection",
        "impetigo",
        "cellulitis",
        "infected eczema",
        "infected dermatitis",
    ]) {
        Entity::SkinInfection
    } else if has(&["psoria"]) {
        Entity::Psoriasiform
    } else if has(&["rosacea"]) {
        Entity::Rosacea
    } else if has(&[
        "conjunctiv",
        "keratitis",
        "blephar",
        "dry eye",
        "ocular surface",
    ]) {
        Entity::OcularSurfaceDisease
    } else if has(&["injection site", "injection-site"]) {
        Entity::InjectionSiteReaction
    } else if has(&["alopecia"]) {
        Entity::AlopeciaAreata
    } else if has(&["arthralg", "enthes", "arthritis"]) {
        Entity::Arthralgia
    } else if has(&["seborr"]) {
        Entity::SeborrhoeicDermatitisLike
    } else if has(&["contact dermatitis", "dermatitis contact"]) {
        Entity::ContactDermatitis
    } else if has(&["steroid withdrawal"]) {
        Entity::TopicalSteroidWithdrawal
    } else if has(&["face", "facial", "head", "neck"])
        && has(&["erythema", "redness", "dermatitis", "rash"])
    {
        Entity::HeadNeckDermatitis
    } else if has(&["atopic", "eczema"]) {
        Entity::AdFlare
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_dupilumab() {
        for name in ["DUPILUMAB", "dupilumab", "Dupixent 300 mg pen", "DUPIXENT"] {
            assert!(is_dupilumab(name), "{name}");
        }
        for name in ["", "TRALOKINUMAB", "DUPI", "ADALIMUMAB"] {
            assert!(!is_dupilumab(name), "{name}");
        }
    }

    #[test]
    fn every_reaction_of_interest_names_an_entity() {
        // Each PT maps to the entity the flare support and the report show for it; ERYTHEMA is
        // deliberately none (not site-specific, see `flare::knowledge_for_term`).
        let got: Vec<Option<Entity>> = REACTIONS_OF_INTEREST
            .iter()
            .map(|t| entity_for_term(t))
            .collect();
        assert_eq!(
            got,
            [
                Some(Entity::AdFlare),
                Some(Entity::AdFlare),
                None,
                Some(Entity::Rosacea),
                Some(Entity::Psoriasiform),
                Some(Entity::OcularSurfaceDisease),
                Some(Entity::EczemaHerpeticum),
                Some(Entity::HerpesSimplex),
                Some(Entity::SkinInfection),
            ]
        );
    }
}
