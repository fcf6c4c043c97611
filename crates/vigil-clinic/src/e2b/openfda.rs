//! An E2B(R3) case as an openFDA drug-event report, so that `vigil ingest e2b` can store ICSRs through
//! the openFDA ingest path (openFDA's drug-event schema is E2B's, field for field).
//!
//! Identity: openFDA ids are digits, E2B's C.1.1 is free text, so caseid = 9×10¹⁵ + (64-bit FNV-1a
//! hash of C.1.1 mod 10¹⁵) — far above FAERS' 8-digit caseids, and the same C.1.1 always gives the
//! same caseid, so a re-sent report replaces the earlier one. C.1.1 itself is kept as `companynumb`
//! (the store's `mfr_num`).

use serde_json::json;

use crate::case::{Case, DrugRole, Seriousness, Sex};

/// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3; Fowler, Noll
/// and Vo, IETF draft-eastlake-fnv).
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The numeric caseid of an E2B report identifier (C.1.1): 9×10¹⁵ + FNV-1a(C.1.1) mod 10¹⁵.
pub fn caseid_of(report_id: &str) -> u64 {
    9_000_000_000_000_000_u64 + fnv1a_64(report_id.as_bytes()) % 1_000_000_000_000_000
}

/// One case as an openFDA drug-event report (the fields vigil's openFDA reader reads).
pub fn case_as_openfda(case: &Case) -> serde_json::Value {
    let caseid = caseid_of(&case.id);
    let received = case.received.map(|d| d.to_hl7());
    let drugs: Vec<serde_json::Value> = case
        .drugs
        .iter()
        .filter(|d| d.role != DrugRole::NotAdministered)
        .map(|d| {
            let role = match d.role {
                DrugRole::Suspect => "1",
                DrugRole::Concomitant => "2",
                _ => "3",
            };
            let mut v = json!({ "medicinalproduct": d.name, "drugcharacterization": role });
            if let Some(s) = &d.substance {
                v["activesubstance"] = json!({ "activesubstancename": s });
            }
            if let Some(i) = &d.indication {
                v["drugindication"] = json!(i);
            }
            if let Some(start) = &d.start {
                v["drugstartdate"] = json!(start.to_hl7());
            }
            if let Some(stop) = &d.stop {
                v["drugenddate"] = json!(stop.to_hl7());
            }
            v
        })
        .collect();
    let reactions: Vec<serde_json::Value> = case
        .reactions
        .iter()
        .map(|r| {
            let mut v = json!({ "reactionmeddrapt": r.term });
            if let Some(onset) = &r.onset {
                v["reactionstartdate"] = json!(onset.to_hl7());
            }
            v
        })
        .collect();
    let flag = |f: fn(&Seriousness) -> bool| {
        if case.reactions.iter().any(|r| f(&r.seriousness)) {
            Some("1")
        } else {
            None
        }
    };
    let mut report = json!({
        "safetyreportid": caseid.to_string(),
        "safetyreportversion": "1",
        "companynumb": case.id,
        "patient": { "drug": drugs, "reaction": reactions },
    });
    if let Some(d) = &received {
        report["receivedate"] = json!(d);
        report["receiptdate"] = json!(d);
    }
    for (key, f) in [
        (
            "seriousnessdeath",
            (|s: &Seriousness| s.death) as fn(&Seriousness) -> bool,
        ),
        ("seriousnesslifethreatening", |s| s.life_threatening),
        ("seriousnesshospitalization", |s| s.hospitalisation),
        ("seriousnessdisabling", |s| s.disability),
        ("seriousnesscongenitalanomali", |s| s.congenital_anomaly),
        ("seriousnessother", |s| s.other_medically_important),
    ] {
        if let Some(v) = flag(f) {
            report[key] = json!(v);
        }
    }
    let p = &case.patient;
    if let Some(sex) = p.sex {
        report["patient"]["patientsex"] = json!(match sex {
            Sex::Male => "1",
            Sex::Female => "2",
        });
    }
    if let Some(age) = p.age_years {
        report["patient"]["patientonsetage"] = json!(format!("{age}"));
        report["patient"]["patientonsetageunit"] = json!("801");
    }
    if let Some(w) = p.weight_kg {
        report["patient"]["patientweight"] = json!(format!("{w}"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // draft-eastlake-fnv test vectors, FNV-1a 64: "" → the offset basis, "a" → af63dc4c8601ec8c.
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        // 0xaf63dc4c8601ec8c = 12638187200555641996; mod 10^15 = 187200555641996;
        // + 9×10^15 = 9187200555641996.
        assert_eq!(caseid_of("a"), 9_187_200_555_641_996);
    }
}
