//! ICH E2B(R3) individual case safety report (ICSR) XML: export a [`Case`](crate::Case) and import one.
//!
//! The message is the HL7 v3 batch `MCCI_IN200100UV01` holding one `PORR_IN049016UV` message. Element
//! placement and code-list OIDs follow the ICH E2B(R3) Implementation Guide (clinical.md §5), with the
//! HL7 paths as mapped by the independent `e2br3` reader (PyPI, `mapping.py`, which cites IG v5.03
//! Appendix I) and the ICH code lists: 19 observation codes, 20 organizer codes, 2 report type,
//! 6 qualification, 11 outcome, 13 drug role, 15 action taken, 16 rechallenge, 22/23/27 structure codes.
//!
//! What travels and what does not:
//! - exported and imported: C.1.1, C.1.2, C.1.3, C.1.4, C.2.r.3/.4, D.1, D.2.2, D.3, D.5, E.i.1.1a,
//!   E.i.2.1 (only a MedDRA code the user supplied), E.i.3.2, E.i.4/5, E.i.7, G.k.1, G.k.2.2, G.k.2.3.r.1,
//!   G.k.4.r (dose, interval, dates, route, text), G.k.7.r.1, G.k.8, G.k.9.i.2.r (vigil's Naranjo, WHO-UMC
//!   and Liverpool results), G.k.9.i.3.1 (first day = day 1), G.k.9.i.4, H.1;
//! - vigil-only facts with no E2B slot (body sites, morphology, history, tests, missed doses, scores) are
//!   written as a readable block at the end of H.1 and are not re-imported as structured data.
//!
//! **Not submission-ready:** E.i.2.1b (MedDRA LLT) is required by the IG and vigil never invents MedDRA
//! codes; without a user-supplied code the element carries `nullFlavor="UNK"`. Validation against the
//! ICH XSD runs only when the schema set is available (see `docs/notes/clinic.md`).

/// Writing a case as ICSR XML.
pub mod export;
/// Reading ICSR XML into a case.
pub mod import;
/// A case as an openFDA drug-event report (for `vigil ingest e2b`).
pub mod openfda;

/// HL7 v3 namespace.
pub const HL7_NS: &str = "urn:hl7-org:v3";
/// ICH code-list arc; code list n is `ICH_LIST.n`.
pub const ICH_LIST: &str = "2.16.840.1.113883.3.989.2.1.1";
/// C.1.1 sender's safety report identifier root.
pub const OID_C11: &str = "2.16.840.1.113883.3.989.2.1.3.1";
/// C.1.8.1 worldwide unique case identifier root.
pub const OID_C181: &str = "2.16.840.1.113883.3.989.2.1.3.2";
/// MedDRA.
pub const OID_MEDDRA: &str = "2.16.840.1.113883.6.163";
/// ISO 3166-1 alpha-2 country codes.
pub const OID_COUNTRY: &str = "1.0.3166.1.2.2";
/// ISO/IEC 5218 sex codes (1 male, 2 female).
pub const OID_SEX: &str = "1.0.5218";
/// Marker that starts vigil's structured-facts block inside H.1.
pub const FACTS_MARKER: &str = "[vigil structured case facts]";

/// `ICH_LIST.n`.
pub fn ich_list(n: u8) -> String {
    format!("{ICH_LIST}.{n}")
}
