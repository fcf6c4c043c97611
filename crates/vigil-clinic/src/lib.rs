//! The individual case for vigil: is this drug causing this reaction in this patient?
//!
//! `vigil-clinic` owns everything about one patient's case:
//! - [`case`]: the case model (patient, suspect and concomitant drugs with their regimens, reactions with
//!   onset, sites and morphology, dechallenge/rechallenge, history, tests, outcome), read from JSON;
//! - [`causality`]: the Naranjo scale, the WHO-UMC categories and the Liverpool ADR causality
//!   assessment tool, each derived from the case facts where it can be and from explicit answers
//!   otherwise, with an item-by-item explanation;
//! - [`flare`]: reaction-vs-flare **decision support** for dupilumab: for each candidate entity, the
//!   evidence for and against it in the case, its published incidence, typical time to onset and the
//!   management options the sources report, every figure with its citation. It is not a diagnosis;
//! - [`knowledge`]: drug facts shared by the server, the demo and the report ([`knowledge::dupilumab`]:
//!   names, label regimens, missed-dose rule, reactions of interest, term → clinical entity);
//! - [`scores`]: EASI, SCORAD and objective SCORAD, POEM, vIGA-AD and the Peak Pruritus NRS, computed
//!   exactly as published;
//! - [`e2b`]: ICH E2B(R3) ICSR XML export and import (HL7 v3, via `quick-xml`);
//! - [`onset`]: time to onset over many cases (days from therapy start to event, with rejected values
//!   counted), median/IQR and the Weibull early-failure / random / wear-out reading.
//!
//! It does not own: the FAERS readers (`vigil-faers`), the report store and counting (`vigil-store`),
//! the statistics themselves (`vigil-stats`: the Weibull fit used by [`onset`] lives there), or any
//! printing (the `vigil assess` subcommand renders what this crate returns). It reads no MedDRA
//! dictionary and never invents a MedDRA code.
//!
//! Every clinical rule and figure cites its source, taken from the verified or partly verified entries
//! of the project's clinical knowledge base (`../shared/knowledge/clinical.md`, section numbers given
//! as "clinical.md §n"). Copyrighted instrument wording (Naranjo, WHO-UMC, POEM, vIGA-AD, PP-NRS) is
//! paraphrased into short item names, never reproduced.
#![deny(missing_docs)]

pub mod case;
pub mod causality;
pub mod date;
pub mod e2b;
pub mod flare;
pub mod knowledge;
pub mod onset;
pub mod scores;

pub use case::Case;
pub use date::PartialDate;

/// Why a case could not be read, checked or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClinicError {
    /// The file could not be read.
    #[error("{origin}: {message}")]
    Io {
        /// Path.
        origin: String,
        /// The operating system's message.
        message: String,
    },
    /// The JSON is malformed or does not match the case model.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Json {
        /// Path.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's message (it names the field).
        message: String,
    },
    /// The case parses but a field has an impossible value.
    #[error("{origin}: field {field}: {message}")]
    Invalid {
        /// Path.
        origin: String,
        /// The offending field, e.g. `reactions[0].term`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The E2B(R3) XML is malformed or lacks a required element.
    #[error("{origin}: byte {position}: {message}")]
    Xml {
        /// Path.
        origin: String,
        /// Byte offset in the document where the problem was found.
        position: u64,
        /// What is wrong (the element path when known).
        message: String,
    },
}

/// Read a case from a `.json` or `.xml` (E2B(R3)) file, choosing by the first non-blank byte.
pub fn read_case_file(path: &std::path::Path) -> Result<Case, ClinicError> {
    let bytes = std::fs::read(path).map_err(|e| ClinicError::Io {
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    let origin = path.display().to_string();
    // A UTF-8 byte-order mark (written by Windows editors) does not decide the format.
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'<') {
        e2b::import::from_xml_bytes(body, &origin)
    } else {
        let text = String::from_utf8(bytes).map_err(|e| ClinicError::Io {
            origin: origin.clone(),
            message: format!("not UTF-8: {e}"),
        })?;
        Case::from_json_str(&text, &origin)
    }
}

/// Everything vigil says about one case: scores, causality per suspect drug × reaction, and the
/// reaction-vs-flare decision support.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CaseAssessment {
    /// C.1.1.
    pub case_id: String,
    /// Severity scores, when the case records any.
    pub scores: Option<scores::ScoreReport>,
    /// Naranjo, WHO-UMC and Liverpool for each suspect drug × reaction.
    pub causality: Vec<causality::PairAssessment>,
    /// Reaction-vs-flare support (empty unless a suspect drug is dupilumab).
    pub flare: Vec<flare::FlareAssessment>,
}

/// Assess a case.
pub fn assess(case: &Case) -> Result<CaseAssessment, ClinicError> {
    let scores = match &case.scores {
        Some(s) => Some(
            s.compute(case.patient.age_years)
                .map_err(|e| ClinicError::Invalid {
                    origin: case.id.clone(),
                    field: "scores".into(),
                    message: e.to_string(),
                })?,
        ),
        None => None,
    };
    Ok(CaseAssessment {
        case_id: case.id.clone(),
        scores,
        causality: causality::assess_case(case),
        flare: flare::assess_case(case),
    })
}
