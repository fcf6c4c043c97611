//! Case → E2B(R3) ICSR XML (HL7 v3), written with `quick-xml`.
use std::io;

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{ich_list, FACTS_MARKER, HL7_NS, OID_C11, OID_COUNTRY, OID_MEDDRA, OID_SEX};
use crate::case::{Case, Drug, Reaction, Rechallenge, Regimen, Sex};
use crate::causality::PairAssessment;
use crate::date::PartialDate;
use crate::ClinicError;

/// Message-level settings that are not part of the case.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// C.1.2 / N.1.5 / N.2.r.4 creation date of this message.
    pub created: PartialDate,
    /// N.1.3 / N.2.r.2 sender identifier.
    pub sender: String,
    /// N.1.4 / N.2.r.3 receiver identifier.
    pub receiver: String,
    /// N.2.r.1 message identifier (also the N.1.2 batch number's stem): a new one for each follow-up
    /// version of the same case, whose C.1.1 stays the same. `None`: the case id, as before.
    pub message_id: Option<String>,
}

impl ExportOptions {
    /// Defaults with the given creation date: sender `VIGIL`, receiver `RECEIVER`, message id = case id.
    pub fn new(created: PartialDate) -> Self {
        ExportOptions {
            created,
            sender: "VIGIL".into(),
            receiver: "RECEIVER".into(),
            message_id: None,
        }
    }
}

/// A deterministic UUID-shaped identifier for an internal reference (drug or reaction) of a case.
///
/// HL7 internal references (`II` with a UUID root) link G.k.9.i to E.i and G.k. This is a 128-bit
/// FNV-1a hash of `case id / local ref`, formatted as a UUID; it is stable across exports of the
/// same case, which keeps the XML diff-able. It is not an RFC 4122 name-based UUID.
pub fn internal_id(case_id: &str, local: &str) -> String {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in case_id
        .bytes()
        .chain(std::iter::once(b'/'))
        .chain(local.bytes())
    {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    let x = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for &(k, v) in attrs {
            start.push_attribute((k, v));
        }
        self.w.write_event(Event::Start(start))
    }
    fn close(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for &(k, v) in attrs {
            start.push_attribute((k, v));
        }
        self.w.write_event(Event::Empty(start))
    }
    fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.open(name, attrs)?;
        self.w.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }
    /// `<code code=".." codeSystem=".."/>`
    fn code(&mut self, name: &str, code: &str, system: &str) -> io::Result<()> {
        self.empty(name, &[("code", code), ("codeSystem", system)])
    }
    /// An observation `code` from code list 19.
    fn obs_code(&mut self, code: &str) -> io::Result<()> {
        self.code("code", code, &ich_list(19))
    }
}

/// G.k.9.i.2.r.1 source written with vigil's derived causality results: not an assessor.
pub const DERIVED_SOURCE: &str = "vigil software from case facts, not a clinician";

/// G.k.9.i.2.r.2 method written with a derived result: "vigil <algorithm>, derived".
pub fn derived_method(algorithm: &str) -> String {
    format!("vigil {algorithm}, derived")
}

/// Whether an imported G.k.9.i.2.r result was derived by vigil (this version's labels, or the
/// "vigil, derived from the case facts" source that earlier versions wrote).
pub fn is_derived(source: Option<&str>, method: Option<&str>) -> bool {
    source.is_some_and(|s| s == DERIVED_SOURCE || s == "vigil, derived from the case facts")
        || method.is_some_and(|m| m.starts_with("vigil "))
}

fn causality_result(
    x: &mut Xml,
    case: &Case,
    drug_ref: &str,
    reaction_ref: &str,
    source: &str,
    method: &str,
    result: &str,
) -> io::Result<()> {
    x.open("component", &[("typeCode", "COMP")])?;
    x.open(
        "causalityAssessment",
        &[("classCode", "OBS"), ("moodCode", "EVN")],
    )?;
    x.obs_code("39")?;
    x.text("value", &[("xsi:type", "ST")], result)?;
    x.open("methodCode", &[])?;
    x.text("originalText", &[], method)?;
    x.close("methodCode")?;
    x.open("author", &[("typeCode", "AUT")])?;
    x.open("assignedEntity", &[("classCode", "ASSIGNED")])?;
    x.open("code", &[])?;
    x.text("originalText", &[], source)?;
    x.close("code")?;
    x.close("assignedEntity")?;
    x.close("author")?;
    x.open("subject1", &[("typeCode", "SUBJ")])?;
    x.open(
        "adverseEffectReference",
        &[("classCode", "OBS"), ("moodCode", "EVN")],
    )?;
    x.empty("id", &[("root", &internal_id(&case.id, reaction_ref))])?;
    x.close("adverseEffectReference")?;
    x.close("subject1")?;
    product_ref(x, &internal_id(&case.id, drug_ref))?;
    x.close("causalityAssessment")?;
    x.close("component")
}

/// Serialise a case, with the causality results to carry in G.k.9.i.2.r, as an ICSR batch.
pub fn to_xml(
    case: &Case,
    assessments: &[PairAssessment],
    options: &ExportOptions,
) -> Result<String, ClinicError> {
    let mut x = Xml {
        w: Writer::new_with_indent(Vec::new(), b' ', 2),
    };
    write_batch(&mut x, case, assessments, options).map_err(|e| ClinicError::Io {
        origin: format!("E2B export of {}", case.id),
        message: e.to_string(),
    })?;
    let body = String::from_utf8(x.w.into_inner()).map_err(|e| ClinicError::Io {
        origin: format!("E2B export of {}", case.id),
        message: e.to_string(),
    })?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n"
    ))
}

fn write_batch(
    x: &mut Xml,
    case: &Case,
    assessments: &[PairAssessment],
    o: &ExportOptions,
) -> io::Result<()> {
    let created = o.created.to_hl7();
    let message_id = o.message_id.as_deref().unwrap_or(&case.id);
    x.open(
        "MCCI_IN200100UV01",
        &[
            ("xmlns", HL7_NS),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("ITSVersion", "XML_1.0"),
        ],
    )?;
    // N.1.2 batch number, N.1.1 batch type (1 = ichicsr), N.1.5 transmission date.
    x.empty(
        "id",
        &[
            ("extension", &format!("{message_id}-batch")),
            ("root", "2.16.840.1.113883.3.989.2.1.3.22"),
        ],
    )?;
    x.empty("creationTime", &[("value", &created)])?;
    x.empty("responseModeCode", &[("code", "D")])?;
    x.empty(
        "interactionId",
        &[
            ("root", "2.16.840.1.113883.1.6"),
            ("extension", "MCCI_IN200100UV01"),
        ],
    )?;
    x.code("name", "1", &ich_list(1))?;
    x.open("PORR_IN049016UV", &[])?;
    x.empty("id", &[("root", OID_C11), ("extension", message_id)])?; // N.2.r.1
    x.empty("creationTime", &[("value", &created)])?;
    x.empty(
        "interactionId",
        &[
            ("root", "2.16.840.1.113883.1.6"),
            ("extension", "PORR_IN049016UV"),
        ],
    )?;
    x.empty("processingCode", &[("code", "P")])?;
    x.empty("processingModeCode", &[("code", "T")])?;
    x.empty("acceptAckCode", &[("code", "AL")])?;
    device(
        x,
        "receiver",
        "RCV",
        "2.16.840.1.113883.3.989.2.1.3.12",
        &o.receiver,
    )?;
    device(
        x,
        "sender",
        "SND",
        "2.16.840.1.113883.3.989.2.1.3.11",
        &o.sender,
    )?;
    x.open(
        "controlActProcess",
        &[("classCode", "CACT"), ("moodCode", "EVN")],
    )?;
    x.code("code", "PORR_TE049016UV", "2.16.840.1.113883.1.18")?;
    x.empty("effectiveTime", &[("value", &created)])?; // C.1.2
    x.open("subject", &[("typeCode", "SUBJ")])?;
    investigation_event(x, case, assessments)?;
    x.close("subject")?;
    x.close("controlActProcess")?;
    x.close("PORR_IN049016UV")?;
    // N.1.3 / N.1.4 sit after the message in the batch wrapper.
    device(
        x,
        "receiver",
        "RCV",
        "2.16.840.1.113883.3.989.2.1.3.14",
        &o.receiver,
    )?;
    device(
        x,
        "sender",
        "SND",
        "2.16.840.1.113883.3.989.2.1.3.13",
        &o.sender,
    )?;
    x.close("MCCI_IN200100UV01")
}

fn device(x: &mut Xml, tag: &str, type_code: &str, root: &str, ext: &str) -> io::Result<()> {
    x.open(tag, &[("typeCode", type_code)])?;
    x.open(
        "device",
        &[("classCode", "DEV"), ("determinerCode", "INSTANCE")],
    )?;
    x.empty("id", &[("root", root), ("extension", ext)])?;
    x.close("device")?;
    x.close(tag)
}

fn investigation_event(x: &mut Xml, case: &Case, assessments: &[PairAssessment]) -> io::Result<()> {
    x.open(
        "investigationEvent",
        &[("classCode", "INVSTG"), ("moodCode", "EVN")],
    )?;
    x.empty("id", &[("root", OID_C11), ("extension", &case.id)])?; // C.1.1
    x.empty("id", &[("root", super::OID_C181), ("extension", &case.id)])?; // C.1.8.1
    x.code("code", "PAT_ADV_EVNT", "2.16.840.1.113883.5.4")?;
    x.text("text", &[], &narrative(case))?; // H.1
    x.empty("statusCode", &[("code", "active")])?;
    if let Some(r) = case.received {
        x.open("effectiveTime", &[])?;
        x.empty("low", &[("value", &r.to_hl7())])?; // C.1.4
        x.close("effectiveTime")?;
        x.empty("availabilityTime", &[("value", &r.to_hl7())])?; // C.1.5
    }
    x.open("component", &[("typeCode", "COMP")])?;
    x.open(
        "adverseEventAssessment",
        &[("classCode", "INVSTG"), ("moodCode", "EVN")],
    )?;
    x.open("subject1", &[("typeCode", "SBJ")])?;
    primary_role(x, case)?;
    x.close("subject1")?;
    drug_roles(x, case)?;
    derived_causality_results(x, case, assessments)?;
    stated_causality_results(x, case)?;
    x.close("adverseEventAssessment")?;
    x.close("component")?;
    if case.reporter.qualification.is_some() || case.reporter.country.is_some() {
        primary_source(x, case)?;
    }
    report_type(x, case)?;
    x.close("investigationEvent")
}

/// G.k.1 the role of each drug (suspect, concomitant, interacting).
fn drug_roles(x: &mut Xml, case: &Case) -> io::Result<()> {
    for (k, d) in case.drugs.iter().enumerate() {
        let drug_id = internal_id(&case.id, &case.drug_ref(k));
        x.open("component", &[("typeCode", "COMP")])?;
        x.open(
            "causalityAssessment",
            &[("classCode", "OBS"), ("moodCode", "EVN")],
        )?;
        x.obs_code("20")?;
        x.empty(
            "value",
            &[
                ("xsi:type", "CE"),
                ("code", &d.role.code().to_string()),
                ("codeSystem", &ich_list(13)),
            ],
        )?;
        product_ref(x, &drug_id)?;
        x.close("causalityAssessment")?;
        x.close("component")?;
    }
    Ok(())
}

/// G.k.9.i.2.r causality results vigil derived: source, method and result as text (60AN each;
/// clinical.md §5.3). They are labelled as its algorithm in the method and the source, so a
/// receiver never reads them as an assessor's; a Liverpool walk that stopped without a category has
/// no result to send.
fn derived_causality_results(
    x: &mut Xml,
    case: &Case,
    assessments: &[PairAssessment],
) -> io::Result<()> {
    for a in assessments {
        let naranjo = format!("Naranjo score {} - {}", a.naranjo.total, a.naranjo.category);
        let mut results = vec![
            (derived_method("Naranjo"), naranjo),
            (derived_method("WHO-UMC"), a.who_umc.category.to_string()),
        ];
        if a.liverpool.category != crate::causality::liverpool::NOT_REACHED {
            results.push((
                derived_method("Liverpool ADR causality assessment tool"),
                a.liverpool.category.to_string(),
            ));
        }
        for (method, result) in results {
            causality_result(
                x,
                case,
                &a.drug_ref,
                &a.reaction_ref,
                DERIVED_SOURCE,
                &method,
                &result,
            )?;
        }
    }
    Ok(())
}

/// G.k.9.i.2.r conclusions the assessor stated themselves, as theirs: for each suspect drug the
/// conclusion names, or every suspect drug when it names none.
fn stated_causality_results(x: &mut Xml, case: &Case) -> io::Result<()> {
    for (i, r) in case.reactions.iter().enumerate() {
        let stated = r
            .causality_answers
            .as_ref()
            .map(|a| a.stated.as_slice())
            .unwrap_or_default();
        for st in stated {
            for k in case.suspect_drugs() {
                let drug_ref = case.drug_ref(k);
                if st.drug.as_ref().is_none_or(|d| *d == drug_ref) {
                    causality_result(
                        x,
                        case,
                        &drug_ref,
                        &case.reaction_ref(i),
                        &st.source,
                        &st.method,
                        &st.result,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// C.2.r primary source: the reporter's qualification and country.
fn primary_source(x: &mut Xml, case: &Case) -> io::Result<()> {
    x.open("outboundRelationship", &[("typeCode", "SPRT")])?;
    x.open(
        "relatedInvestigation",
        &[("classCode", "INVSTG"), ("moodCode", "EVN")],
    )?;
    x.code("code", "2", &ich_list(22))?;
    x.open("subjectOf2", &[("typeCode", "SUBJ")])?;
    x.open(
        "controlActEvent",
        &[("classCode", "CACT"), ("moodCode", "EVN")],
    )?;
    x.open("author", &[("typeCode", "AUT")])?;
    x.open("assignedEntity", &[("classCode", "ASSIGNED")])?;
    x.open(
        "assignedPerson",
        &[("classCode", "PSN"), ("determinerCode", "INSTANCE")],
    )?;
    if let Some(q) = case.reporter.qualification {
        x.open("asQualifiedEntity", &[("classCode", "QUAL")])?;
        x.code("code", &q.code().to_string(), &ich_list(6))?;
        x.close("asQualifiedEntity")?;
    }
    if let Some(c) = &case.reporter.country {
        x.open("asLocatedEntity", &[("classCode", "LOCE")])?;
        x.open(
            "location",
            &[("classCode", "COUNTRY"), ("determinerCode", "INSTANCE")],
        )?;
        x.code("code", c, OID_COUNTRY)?;
        x.close("location")?;
        x.close("asLocatedEntity")?;
    }
    x.close("assignedPerson")?;
    x.close("assignedEntity")?;
    x.close("author")?;
    x.close("controlActEvent")?;
    x.close("subjectOf2")?;
    x.close("relatedInvestigation")?;
    x.close("outboundRelationship")
}

/// C.1.3 type of report.
fn report_type(x: &mut Xml, case: &Case) -> io::Result<()> {
    x.open("subjectOf2", &[("typeCode", "SUBJ")])?;
    x.open(
        "investigationCharacteristic",
        &[("classCode", "OBS"), ("moodCode", "EVN")],
    )?;
    x.code("code", "1", &ich_list(23))?;
    x.empty(
        "value",
        &[
            ("xsi:type", "CE"),
            ("code", &case.report_type.code().to_string()),
            ("codeSystem", &ich_list(2)),
        ],
    )?;
    x.close("investigationCharacteristic")?;
    x.close("subjectOf2")
}

fn product_ref(x: &mut Xml, drug_id: &str) -> io::Result<()> {
    x.open("subject2", &[("typeCode", "SUBJ")])?;
    x.open(
        "productUseReference",
        &[("classCode", "SBADM"), ("moodCode", "EVN")],
    )?;
    x.empty("id", &[("root", drug_id)])?;
    x.close("productUseReference")?;
    x.close("subject2")
}

fn observation_pq(x: &mut Xml, code: &str, value: f64, unit: &str) -> io::Result<()> {
    x.open("subjectOf2", &[("typeCode", "SBJ")])?;
    x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.obs_code(code)?;
    x.empty(
        "value",
        &[
            ("xsi:type", "PQ"),
            ("value", &number(value)),
            ("unit", unit),
        ],
    )?;
    x.close("observation")?;
    x.close("subjectOf2")
}

fn number(v: f64) -> String {
    // Shortest round-trip representation; integers without a trailing ".0".
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn primary_role(x: &mut Xml, case: &Case) -> io::Result<()> {
    let p = &case.patient;
    x.open("primaryRole", &[("classCode", "INVSBJ")])?;
    x.open(
        "player1",
        &[("classCode", "PSN"), ("determinerCode", "INSTANCE")],
    )?;
    match &p.initials {
        Some(i) => x.text("name", &[], i)?,
        None => x.empty("name", &[("nullFlavor", "UNK")])?, // D.1 masked/unknown
    }
    if let Some(s) = p.sex {
        let code = match s {
            Sex::Male => "1",
            Sex::Female => "2",
        };
        x.code("administrativeGenderCode", code, OID_SEX)?; // D.5
    }
    x.close("player1")?;
    if let Some(a) = p.age_years {
        observation_pq(x, "3", a, "a")?; // D.2.2 age at onset, UCUM years
    }
    if let Some(w) = p.weight_kg {
        observation_pq(x, "7", w, "kg")?; // D.3 body weight
    }
    for (i, r) in case.reactions.iter().enumerate() {
        reaction(x, case, i, r)?;
    }
    // G.k drugs: organizer code 4 in list 20.
    x.open("subjectOf2", &[("typeCode", "SBJ")])?;
    x.open(
        "organizer",
        &[("classCode", "CATEGORY"), ("moodCode", "EVN")],
    )?;
    x.code("code", "4", &ich_list(20))?;
    for (k, d) in case.drugs.iter().enumerate() {
        x.open("component", &[("typeCode", "COMP")])?;
        drug(x, case, k, d)?;
        x.close("component")?;
    }
    x.close("organizer")?;
    x.close("subjectOf2")?;
    x.close("primaryRole")
}

fn reaction(x: &mut Xml, case: &Case, i: usize, r: &Reaction) -> io::Result<()> {
    x.open("subjectOf2", &[("typeCode", "SBJ")])?;
    x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.empty(
        "id",
        &[("root", &internal_id(&case.id, &case.reaction_ref(i)))],
    )?;
    x.obs_code("29")?;
    if r.onset.is_some() || r.end.is_some() {
        x.open("effectiveTime", &[("xsi:type", "IVL_TS")])?;
        if let Some(o) = r.onset {
            x.empty("low", &[("value", &o.to_hl7())])?; // E.i.4
        }
        if let Some(e) = r.end {
            x.empty("high", &[("value", &e.to_hl7())])?; // E.i.5
        }
        x.close("effectiveTime")?;
    }
    // E.i.2.1 MedDRA: only a user-supplied code; otherwise nullFlavor UNK (never invented).
    match &r.meddra_llt {
        Some(code) => {
            let version = r.meddra_version.clone().unwrap_or_default();
            let mut attrs = vec![
                ("xsi:type", "CE"),
                ("code", code.as_str()),
                ("codeSystem", OID_MEDDRA),
            ];
            if !version.is_empty() {
                attrs.push(("codeSystemVersion", version.as_str()));
            }
            x.open("value", &attrs)?;
        }
        None => x.open("value", &[("xsi:type", "CE"), ("nullFlavor", "UNK")])?,
    }
    x.text("originalText", &[("language", "en")], &r.term)?; // E.i.1.1a/b
    x.close("value")?;
    if let Some(c) = &case.reporter.country {
        // E.i.9 country where the reaction occurred: the reporter's country.
        x.open("location", &[("typeCode", "LOC")])?;
        x.open("locatedEntity", &[("classCode", "LOCE")])?;
        x.open(
            "locatedPlace",
            &[("classCode", "COUNTRY"), ("determinerCode", "INSTANCE")],
        )?;
        x.code("code", c, OID_COUNTRY)?;
        x.close("locatedPlace")?;
        x.close("locatedEntity")?;
        x.close("location")?;
    }
    // E.i.3.2 seriousness: true, or nullFlavor NI when the criterion is not met.
    let s = r.seriousness;
    for (code, met) in [
        ("34", s.death),
        ("21", s.life_threatening),
        ("33", s.hospitalisation),
        ("35", s.disability),
        ("12", s.congenital_anomaly),
        ("26", s.other_medically_important),
    ] {
        x.open("outboundRelationship2", &[("typeCode", "PERT")])?;
        x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        x.obs_code(code)?;
        if met {
            x.empty("value", &[("xsi:type", "BL"), ("value", "true")])?;
        } else {
            x.empty("value", &[("xsi:type", "BL"), ("nullFlavor", "NI")])?;
        }
        x.close("observation")?;
        x.close("outboundRelationship2")?;
    }
    // E.i.7 outcome (list 11).
    x.open("outboundRelationship2", &[("typeCode", "PERT")])?;
    x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.obs_code("27")?;
    x.empty(
        "value",
        &[
            ("xsi:type", "CE"),
            ("code", &r.outcome.code().to_string()),
            ("codeSystem", &ich_list(11)),
        ],
    )?;
    x.close("observation")?;
    x.close("outboundRelationship2")?;
    x.close("observation")?;
    x.close("subjectOf2")
}

fn drug(x: &mut Xml, case: &Case, k: usize, d: &Drug) -> io::Result<()> {
    x.open(
        "substanceAdministration",
        &[("classCode", "SBADM"), ("moodCode", "EVN")],
    )?;
    x.empty("id", &[("root", &internal_id(&case.id, &case.drug_ref(k)))])?;
    consumable(x, d)?;
    time_to_onset(x, case, d)?;
    // G.k.4.r dosage regimens; a drug with dates but no regimen gets one date-only G.k.4.r.
    if d.regimens.is_empty() && (d.start.is_some() || d.stop.is_some()) {
        date_only_regimen(x, d)?;
    }
    for reg in &d.regimens {
        regimen(x, reg)?;
    }
    // G.k.9.i.4 rechallenge, only when known (the IG: do not transmit when unknown).
    if d.role != crate::case::DrugRole::Concomitant {
        for (i, r) in case.reactions.iter().enumerate() {
            if let Some(rc) = r.rechallenge {
                rechallenge(x, case, i, rc)?;
            }
        }
    }
    // G.k.7.r indication.
    if let Some(ind) = &d.indication {
        x.open("inboundRelationship", &[("typeCode", "RSON")])?;
        x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        x.obs_code("19")?;
        x.open("value", &[("xsi:type", "CE"), ("nullFlavor", "UNK")])?;
        x.text("originalText", &[], ind)?; // G.k.7.r.1
        x.close("value")?;
        x.close("observation")?;
        x.close("inboundRelationship")?;
    }
    // G.k.8 action taken (list 15).
    if let Some(a) = d.action_taken {
        x.open("inboundRelationship", &[("typeCode", "CAUS")])?;
        x.open("act", &[("classCode", "ACT"), ("moodCode", "EVN")])?;
        x.code("code", &a.code().to_string(), &ich_list(15))?;
        x.close("act")?;
        x.close("inboundRelationship")?;
    }
    x.close("substanceAdministration")
}

/// G.k.2 the product: its name, and its active substance when known.
fn consumable(x: &mut Xml, d: &Drug) -> io::Result<()> {
    x.open("consumable", &[("typeCode", "CSM")])?;
    x.open("instanceOfKind", &[("classCode", "INST")])?;
    x.open(
        "kindOfProduct",
        &[("classCode", "MMAT"), ("determinerCode", "KIND")],
    )?;
    x.text("name", &[], &d.name)?; // G.k.2.2
    if let Some(s) = &d.substance {
        x.open("ingredient", &[("classCode", "ACTI")])?;
        x.open(
            "ingredientSubstance",
            &[("classCode", "MMAT"), ("determinerCode", "KIND")],
        )?;
        x.text("name", &[], s)?; // G.k.2.3.r.1
        x.close("ingredientSubstance")?;
        x.close("ingredient")?;
    }
    x.close("kindOfProduct")?;
    x.close("instanceOfKind")?;
    x.close("consumable")
}

/// G.k.9.i.3.1 time from the first administration to each reaction; the first day counts as day 1
/// (IG, clinical.md §5.3), so the interval is the calendar difference + 1. Exact dates only.
fn time_to_onset(x: &mut Xml, case: &Case, d: &Drug) -> io::Result<()> {
    for (i, r) in case.reactions.iter().enumerate() {
        let (Some(s), Some(o)) = (d.start, r.onset) else {
            continue;
        };
        let Some(days) = s.days_until(&o).filter(|&n| n >= 0) else {
            continue;
        };
        x.open("outboundRelationship1", &[("typeCode", "SAS")])?;
        x.empty(
            "pauseQuantity",
            &[("value", &(days + 1).to_string()), ("unit", "d")],
        )?;
        x.open("actReference", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        x.empty(
            "id",
            &[("root", &internal_id(&case.id, &case.reaction_ref(i)))],
        )?;
        x.close("actReference")?;
        x.close("outboundRelationship1")?;
    }
    Ok(())
}

/// A G.k.4.r with the drug's start and stop dates alone.
fn date_only_regimen(x: &mut Xml, d: &Drug) -> io::Result<()> {
    x.open("outboundRelationship2", &[("typeCode", "COMP")])?;
    x.open(
        "substanceAdministration",
        &[("classCode", "SBADM"), ("moodCode", "EVN")],
    )?;
    x.open("effectiveTime", &[("xsi:type", "IVL_TS")])?;
    interval_bounds(x, d.start, d.stop)?;
    x.close("effectiveTime")?;
    x.close("substanceAdministration")?;
    x.close("outboundRelationship2")
}

/// The `low` and `high` of an interval (G.k.4.r.4 start and G.k.4.r.5 end of a regimen), each
/// when known.
fn interval_bounds(
    x: &mut Xml,
    start: Option<PartialDate>,
    end: Option<PartialDate>,
) -> io::Result<()> {
    if let Some(s) = start {
        x.empty("low", &[("value", &s.to_hl7())])?;
    }
    if let Some(e) = end {
        x.empty("high", &[("value", &e.to_hl7())])?;
    }
    Ok(())
}

/// One G.k.4.r dosage regimen: its text, period and dates, route and dose.
fn regimen(x: &mut Xml, reg: &Regimen) -> io::Result<()> {
    x.open("outboundRelationship2", &[("typeCode", "COMP")])?;
    x.open(
        "substanceAdministration",
        &[("classCode", "SBADM"), ("moodCode", "EVN")],
    )?;
    let text = match (reg.every, reg.every_unit) {
        (Some(n), Some(u)) => format!(
            "{} {} every {} {}",
            number(reg.dose),
            reg.unit,
            number(n),
            u.ucum()
        ),
        _ => format!("{} {} single dose", number(reg.dose), reg.unit),
    };
    x.text("text", &[], &text)?; // G.k.4.r.8
    match (reg.every, reg.every_unit) {
        (Some(n), Some(u)) => {
            x.open("effectiveTime", &[("xsi:type", "SXPR_TS")])?;
            x.open("comp", &[("xsi:type", "PIVL_TS")])?;
            x.empty("period", &[("value", &number(n)), ("unit", u.ucum())])?; // G.k.4.r.2/3
            x.close("comp")?;
            if reg.start.is_some() || reg.end.is_some() {
                x.open("comp", &[("xsi:type", "IVL_TS"), ("operator", "A")])?;
                interval_bounds(x, reg.start, reg.end)?;
                x.close("comp")?;
            }
            x.close("effectiveTime")?;
        }
        _ if reg.start.is_some() || reg.end.is_some() => {
            x.open("effectiveTime", &[("xsi:type", "IVL_TS")])?;
            interval_bounds(x, reg.start, reg.end)?;
            x.close("effectiveTime")?;
        }
        _ => {}
    }
    if let Some(route) = &reg.route {
        x.open("routeCode", &[])?;
        x.text("originalText", &[], route)?; // G.k.4.r.10.1
        x.close("routeCode")?;
    }
    x.empty(
        "doseQuantity",
        &[("value", &number(reg.dose)), ("unit", &reg.unit)],
    )?; // G.k.4.r.1a/b
    x.close("substanceAdministration")?;
    x.close("outboundRelationship2")
}

/// G.k.9.i.4 the outcome of rechallenge `rc` for reaction `i` (list 16).
fn rechallenge(x: &mut Xml, case: &Case, i: usize, rc: Rechallenge) -> io::Result<()> {
    x.open("outboundRelationship2", &[("typeCode", "PERT")])?;
    x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.obs_code("31")?;
    x.empty(
        "value",
        &[
            ("xsi:type", "CE"),
            ("code", &rc.code().to_string()),
            ("codeSystem", &ich_list(16)),
        ],
    )?;
    x.open("outboundRelationship1", &[("typeCode", "REFR")])?;
    x.open("actReference", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.empty(
        "id",
        &[("root", &internal_id(&case.id, &case.reaction_ref(i)))],
    )?;
    x.close("actReference")?;
    x.close("outboundRelationship1")?;
    x.close("observation")?;
    x.close("outboundRelationship2")
}

/// H.1: the case narrative, then vigil's structured facts that E2B has no element for.
fn narrative(case: &Case) -> String {
    let mut out = case.narrative.clone().unwrap_or_default();
    let mut facts = Vec::new();
    for h in &case.patient.history {
        facts.push(format!(
            "history: {:?}{}{}",
            h.condition,
            h.text
                .as_ref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            match h.ongoing {
                Some(true) => ", ongoing",
                Some(false) => ", not ongoing",
                None => "",
            }
        ));
    }
    if case.patient.prior_facial_tcs == Some(true) {
        facts.push("history: facial topical corticosteroid use".into());
    }
    for (i, r) in case.reactions.iter().enumerate() {
        let id = case.reaction_ref(i);
        if !r.sites.is_empty() {
            facts.push(format!("{id}: sites {:?}", r.sites));
        }
        if !r.features.is_empty() {
            facts.push(format!("{id}: features {:?}", r.features));
        }
        if let Some(d) = &r.dechallenge {
            facts.push(format!(
                "{id}: dechallenge {:?}{} -> {:?}",
                d.action,
                d.date.map(|d| format!(" on {d}")).unwrap_or_default(),
                d.result
            ));
        }
        if let Some(a) = &r.alternative_causes {
            facts.push(format!(
                "{id}: alternative causes: {}",
                if a.is_empty() {
                    "looked for, none found".into()
                } else {
                    a.join("; ")
                }
            ));
        }
    }
    for d in &case.drugs {
        for m in &d.missed_doses {
            facts.push(format!("{}: missed or late dose due {m}", d.name));
        }
    }
    for t in &case.tests {
        facts.push(format!(
            "test: {}{}: {:?}",
            t.name,
            t.date.map(|d| format!(" ({d})")).unwrap_or_default(),
            t.result
        ));
    }
    if !facts.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(FACTS_MARKER);
        for f in facts {
            out.push_str("\n- ");
            out.push_str(&f);
        }
    }
    out
}
