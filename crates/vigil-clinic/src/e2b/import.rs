//! E2B(R3) ICSR XML → [`Case`], read with `quick-xml`.
//!
//! The document is first read into a small element tree (local names, attributes, text, byte offsets),
//! then the case is picked out of it. Anything malformed — not well-formed XML, a DOCTYPE (refused, as
//! E2B(R3) never needs one and it is the door to entity-expansion attacks), nesting deeper than
//! [`MAX_DEPTH`], a missing required element, a code outside its list — is a [`ClinicError::Xml`] naming
//! the byte offset and the element path, never a panic.
use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{ich_list, FACTS_MARKER, HL7_NS, OID_C11};
use crate::case::{
    ActionTaken, Case, Drug, DrugRole, IntervalUnit, Outcome, Patient, Qualification, Reaction,
    Rechallenge, Regimen, ReportType, Reporter, Seriousness, Sex,
};
use crate::date::PartialDate;
use crate::ClinicError;

/// Deepest element nesting accepted (an ICSR needs about 15 levels).
pub const MAX_DEPTH: usize = 64;

/// One causality result carried in G.k.9.i.2.r.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCausality {
    /// Local reference of the drug.
    pub drug_ref: String,
    /// Local reference of the reaction.
    pub reaction_ref: String,
    /// G.k.9.i.2.r.1 source of assessment.
    pub source: Option<String>,
    /// G.k.9.i.2.r.2 method.
    pub method: Option<String>,
    /// G.k.9.i.2.r.3 result.
    pub result: Option<String>,
}

/// A case read from E2B(R3), with the causality results it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedIcsr {
    /// The case.
    pub case: Case,
    /// G.k.9.i.2.r results.
    pub causality: Vec<ImportedCausality>,
    /// G.k.9.i.3.1 intervals from the first administration to each reaction (first day = day 1):
    /// (drug ref, reaction ref, value, unit).
    pub start_to_onset: Vec<(String, String, String, String)>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
    pos: u64,
}

impl Node {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn path(&self, names: &[&str]) -> Option<&Node> {
        let mut n = self;
        for name in names {
            n = n.child(name)?;
        }
        Some(n)
    }
    /// The `code/@code` when its `codeSystem` is `system`.
    fn has_code(&self, code: &str, system: &str) -> bool {
        self.child("code")
            .is_some_and(|c| c.attr("code") == Some(code) && c.attr("codeSystem") == Some(system))
    }
    fn text_trim(&self) -> String {
        self.text.trim().to_string()
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => name.to_string(),
    }
}

fn xml_err(origin: &str, position: u64, message: impl Into<String>) -> ClinicError {
    ClinicError::Xml {
        origin: origin.to_string(),
        position,
        message: message.into(),
    }
}

fn start_node(e: &BytesStart<'_>, pos: u64, origin: &str) -> Result<Node, ClinicError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| xml_err(origin, pos, format!("bad attribute: {err}")))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| xml_err(origin, pos, format!("bad attribute value: {err}")))?
            .into_owned();
        // Keep prefixed attribute names as written (xsi:type); strip nothing else.
        attrs.push((a.key.as_ref().to_string(), value));
    }
    Ok(Node {
        name: local(e.name().as_ref()),
        attrs,
        text: String::new(),
        children: Vec::new(),
        pos,
    })
}

fn parse_tree(bytes: &[u8], origin: &str) -> Result<Node, ClinicError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut buf = Vec::new();
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            xml_err(
                origin,
                reader.error_position(),
                format!("not well-formed XML: {e}"),
            )
        })?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(xml_err(
                        origin,
                        pos,
                        format!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                if root.is_some() && stack.is_empty() {
                    return Err(xml_err(origin, pos, "content after the root element"));
                }
                stack.push(start_node(&e, pos, origin)?);
            }
            Event::Empty(e) => {
                let node = start_node(&e, pos, origin)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return Err(xml_err(origin, pos, "content after the root element")),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| xml_err(origin, pos, "unexpected closing tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                } else if !text.trim().is_empty() {
                    return Err(xml_err(origin, pos, "text outside the root element"));
                }
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let ch = if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| xml_err(origin, pos, format!("bad character reference: {e}")))?
                {
                    c.to_string()
                } else {
                    match name.as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => {
                            return Err(xml_err(origin, pos, format!("undefined entity &{other};")))
                        }
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&ch);
                }
            }
            Event::CData(c) => {
                let text = c.xml10_content();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::DocType(_) => {
                return Err(xml_err(
                    origin,
                    pos,
                    "a DOCTYPE is not allowed in E2B(R3) XML (refused)",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(xml_err(
            origin,
            bytes.len() as u64,
            format!(
                "document ends inside <{}>",
                stack.last().map(|n| n.name.as_str()).unwrap_or("")
            ),
        ));
    }
    root.ok_or_else(|| xml_err(origin, 0, "no root element"))
}

/// Read a case from E2B(R3) XML bytes; `origin` names the source in errors.
pub fn from_xml_bytes(bytes: &[u8], origin: &str) -> Result<Case, ClinicError> {
    import(bytes, origin).map(|i| i.case)
}

struct Ctx<'a> {
    origin: &'a str,
}

impl Ctx<'_> {
    fn need<'n>(&self, node: &'n Node, path: &[&str], what: &str) -> Result<&'n Node, ClinicError> {
        node.path(path).ok_or_else(|| {
            xml_err(
                self.origin,
                node.pos,
                format!("{what}: missing <{}> under <{}>", path.join("/"), node.name),
            )
        })
    }
    fn date(&self, node: &Node, what: &str) -> Result<Option<PartialDate>, ClinicError> {
        match node.attr("value") {
            Some(v) => PartialDate::parse_hl7(v)
                .map(Some)
                .map_err(|e| xml_err(self.origin, node.pos, format!("{what}: {e}"))),
            None => Ok(None),
        }
    }
    fn code_value<T>(
        &self,
        node: &Node,
        what: &str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ClinicError> {
        let code = node
            .attr("code")
            .ok_or_else(|| xml_err(self.origin, node.pos, format!("{what}: no code attribute")))?;
        f(code).ok_or_else(|| {
            xml_err(
                self.origin,
                node.pos,
                format!("{what}: code {code:?} is not in the ICH code list"),
            )
        })
    }
    fn number(&self, node: &Node, what: &str) -> Result<f64, ClinicError> {
        let v = node
            .attr("value")
            .ok_or_else(|| xml_err(self.origin, node.pos, format!("{what}: no value attribute")))?;
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                xml_err(
                    self.origin,
                    node.pos,
                    format!("{what}: {v:?} is not a number"),
                )
            })
    }
}

/// Read a case and the causality results it carries.
pub fn import(bytes: &[u8], origin: &str) -> Result<ImportedIcsr, ClinicError> {
    let root = parse_tree(bytes, origin)?;
    let cx = Ctx { origin };
    let ie = investigation_event(&cx, &root)?;
    let header = read_header(&cx, ie)?;
    let reporter = read_primary_source(&cx, ie)?;

    let aea = cx.need(ie, &["component", "adverseEventAssessment"], "patient")?;
    let role_node = cx.need(aea, &["subject1", "primaryRole"], "D (patient)")?;
    let mut patient = read_patient_player(&cx, role_node)?;
    // Reactions first: drugs and assessments refer to them.
    let PatientObservations {
        mut reactions,
        reaction_refs,
        drug_nodes,
    } = read_patient_observations(&cx, role_node, &mut patient)?;
    let assessments = read_assessments(&cx, aea)?;

    let mut drugs = Vec::new();
    let mut drug_refs: HashMap<String, String> = HashMap::new();
    let mut start_to_onset = Vec::new();
    for (k, sa) in drug_nodes.iter().enumerate() {
        let local = format!("drug-{}", k + 1);
        let root_id = sa
            .child("id")
            .and_then(|n| n.attr("root"))
            .map(str::to_string);
        let role = match &root_id {
            Some(r) => assessments.roles.get(r).copied(),
            None => None,
        }
        .ok_or_else(|| {
            xml_err(
                origin,
                sa.pos,
                format!("G.k.1: no drug role for drug {}", k + 1),
            )
        })?;
        if let Some(r) = &root_id {
            drug_refs.insert(r.clone(), local.clone());
        }
        let (drug, rechallenges, intervals) = read_drug(&cx, sa, local.clone(), role)?;
        for (reaction_root, rc) in rechallenges {
            let Some(rref) = reaction_refs.get(&reaction_root) else {
                return Err(xml_err(
                    origin,
                    sa.pos,
                    "G.k.9.i.4: rechallenge refers to an unknown reaction",
                ));
            };
            if let Some(r) = reactions
                .iter_mut()
                .find(|r: &&mut Reaction| r.id.as_deref() == Some(rref))
            {
                r.rechallenge = Some(rc);
            }
        }
        for (reaction_root, value, unit) in intervals {
            if let Some(rref) = reaction_refs.get(&reaction_root) {
                start_to_onset.push((local.clone(), rref.clone(), value, unit));
            }
        }
        drugs.push(drug);
    }

    let causality = resolve_causality(
        &cx,
        aea,
        assessments.causality,
        &drug_refs,
        &reaction_refs,
        &mut reactions,
    )?;

    let case = Case {
        id: header.id,
        report_type: header.report_type,
        received: header.received,
        reporter,
        patient,
        drugs,
        reactions,
        tests: Vec::new(),
        scores: None,
        narrative: header.narrative.filter(|s| !s.is_empty()),
    };
    case.validate(origin)?;
    Ok(ImportedIcsr {
        case,
        causality,
        start_to_onset,
    })
}

/// The batch's one investigationEvent (the ICSR), after checking the batch and its namespace.
fn investigation_event<'n>(cx: &Ctx<'_>, root: &'n Node) -> Result<&'n Node, ClinicError> {
    if root.name != "MCCI_IN200100UV01" {
        return Err(xml_err(
            cx.origin,
            root.pos,
            format!(
                "expected an MCCI_IN200100UV01 ICSR batch, found <{}>",
                root.name
            ),
        ));
    }
    if root.attr("xmlns") != Some(HL7_NS) {
        return Err(xml_err(
            cx.origin,
            root.pos,
            format!("the batch is not in the HL7 v3 namespace {HL7_NS}"),
        ));
    }
    cx.need(
        root,
        &[
            "PORR_IN049016UV",
            "controlActProcess",
            "subject",
            "investigationEvent",
        ],
        "ICSR",
    )
}

/// Section C.1: identifier, narrative, date received, report type.
struct Header {
    id: String,
    narrative: Option<String>,
    received: Option<PartialDate>,
    report_type: ReportType,
}

fn read_header(cx: &Ctx<'_>, ie: &Node) -> Result<Header, ClinicError> {
    let id = ie
        .children("id")
        .find(|n| n.attr("root") == Some(OID_C11))
        .and_then(|n| n.attr("extension"))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            xml_err(
                cx.origin,
                ie.pos,
                "C.1.1: no sender's safety report identifier",
            )
        })?
        .to_string();
    // The narrative without the facts block vigil appends on export.
    let narrative = ie.child("text").map(|t| {
        let full = t.text_trim();
        match full.find(FACTS_MARKER) {
            Some(i) => full[..i].trim_end().to_string(),
            None => full,
        }
    });
    let received = match ie.path(&["effectiveTime", "low"]) {
        Some(n) => cx.date(n, "C.1.4")?,
        None => None,
    };
    let mut report_type = ReportType::default();
    for sc in ie.children("subjectOf2") {
        if let Some(ch) = sc.child("investigationCharacteristic") {
            if ch.has_code("1", &ich_list(23)) {
                let v = cx.need(ch, &["value"], "C.1.3")?;
                report_type = cx.code_value(v, "C.1.3", ReportType::from_code)?;
            }
        }
    }
    Ok(Header {
        id,
        narrative,
        received,
        report_type,
    })
}

/// Section C.2: qualification and country of the first primary source.
fn read_primary_source(cx: &Ctx<'_>, ie: &Node) -> Result<Reporter, ClinicError> {
    let mut reporter = Reporter::default();
    for ob in ie
        .children("outboundRelationship")
        .filter(|n| n.attr("typeCode") == Some("SPRT"))
    {
        let Some(ri) = ob
            .child("relatedInvestigation")
            .filter(|r| r.has_code("2", &ich_list(22)))
        else {
            continue;
        };
        let Some(person) = ri.path(&[
            "subjectOf2",
            "controlActEvent",
            "author",
            "assignedEntity",
            "assignedPerson",
        ]) else {
            continue;
        };
        if let Some(q) = person.path(&["asQualifiedEntity", "code"]) {
            if q.attr("nullFlavor").is_none() {
                reporter.qualification =
                    Some(cx.code_value(q, "C.2.r.4", Qualification::from_code)?);
            }
        }
        if let Some(c) = person.path(&["asLocatedEntity", "location", "code"]) {
            reporter.country = c.attr("code").map(str::to_string);
        }
        break; // the first primary source
    }
    Ok(reporter)
}

/// D.1 and D.5: the patient's initials and sex.
fn read_patient_player(cx: &Ctx<'_>, role_node: &Node) -> Result<Patient, ClinicError> {
    let mut patient = Patient::default();
    if let Some(p1) = role_node.child("player1") {
        if let Some(n) = p1.child("name") {
            if n.attr("nullFlavor").is_none() && !n.text_trim().is_empty() {
                patient.initials = Some(n.text_trim());
            }
        }
        if let Some(g) = p1.child("administrativeGenderCode") {
            if g.attr("nullFlavor").is_none() {
                patient.sex = Some(cx.code_value(g, "D.5", |c| match c {
                    "1" => Some(Sex::Male),
                    "2" => Some(Sex::Female),
                    _ => None,
                })?);
            }
        }
    }
    Ok(patient)
}

/// What the patient's subjectOf2 elements hold besides age and weight.
struct PatientObservations<'n> {
    reactions: Vec<Reaction>,
    /// Reaction id/@root in the document → the local reference (`reaction-1`, …).
    reaction_refs: HashMap<String, String>,
    /// The drugs' substanceAdministration elements (G.k), in document order.
    drug_nodes: Vec<&'n Node>,
}

/// D.2.2 age and D.3 weight (into `patient`), the reactions (E.i) and the drug elements (G.k).
fn read_patient_observations<'n>(
    cx: &Ctx<'_>,
    role_node: &'n Node,
    patient: &mut Patient,
) -> Result<PatientObservations<'n>, ClinicError> {
    let mut reactions = Vec::new();
    let mut reaction_refs: HashMap<String, String> = HashMap::new();
    let mut drug_nodes = Vec::new();
    for s2 in role_node.children("subjectOf2") {
        if let Some(obs) = s2.child("observation") {
            if obs.has_code("3", &ich_list(19)) {
                patient.age_years = Some(read_age_years(cx, obs)?);
            } else if obs.has_code("7", &ich_list(19)) {
                let v = cx.need(obs, &["value"], "D.3")?;
                patient.weight_kg = Some(cx.number(v, "D.3")?);
            } else if obs.has_code("29", &ich_list(19)) {
                let i = reactions.len();
                let local = format!("reaction-{}", i + 1);
                if let Some(r) = obs.child("id").and_then(|n| n.attr("root")) {
                    reaction_refs.insert(r.to_string(), local.clone());
                }
                reactions.push(read_reaction(cx, obs, local)?);
            }
        }
        if let Some(org) = s2
            .child("organizer")
            .filter(|o| o.has_code("4", &ich_list(20)))
        {
            for comp in org.children("component") {
                if let Some(sa) = comp.child("substanceAdministration") {
                    drug_nodes.push(sa);
                }
            }
        }
    }
    Ok(PatientObservations {
        reactions,
        reaction_refs,
        drug_nodes,
    })
}

/// D.2.2a/b: age at onset in years (a year is 365.25 days, a month 1/12 year).
fn read_age_years(cx: &Ctx<'_>, obs: &Node) -> Result<f64, ClinicError> {
    let v = cx.need(obs, &["value"], "D.2.2")?;
    let n = cx.number(v, "D.2.2")?;
    match v.attr("unit").unwrap_or("a") {
        "a" => Ok(n),
        "mo" => Ok(n / 12.0),
        "wk" => Ok(n * 7.0 / 365.25),
        "d" => Ok(n / 365.25),
        other => Err(xml_err(
            cx.origin,
            v.pos,
            format!("D.2.2b: age unit {other:?} is not supported"),
        )),
    }
}

/// One G.k.9.i.2.r assessment as written: drug id/@root, reaction id/@root, source, method,
/// result.
type RawCausality = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Drug roles (G.k.1) and causality (G.k.9.i.2.r), which live under adverseEventAssessment.
struct Assessments {
    /// Drug id/@root → its role.
    roles: HashMap<String, DrugRole>,
    causality: Vec<RawCausality>,
}

fn read_assessments(cx: &Ctx<'_>, aea: &Node) -> Result<Assessments, ClinicError> {
    let mut roles: HashMap<String, DrugRole> = HashMap::new();
    let mut causality = Vec::new();
    for comp in aea.children("component") {
        let Some(ca) = comp.child("causalityAssessment") else {
            continue;
        };
        let drug_root = ca
            .path(&["subject2", "productUseReference", "id"])
            .and_then(|n| n.attr("root"))
            .map(str::to_string);
        if ca.has_code("20", &ich_list(19)) {
            let v = cx.need(ca, &["value"], "G.k.1")?;
            let role = cx.code_value(v, "G.k.1", DrugRole::from_code)?;
            if let Some(d) = drug_root {
                roles.insert(d, role);
            }
        } else if ca.has_code("39", &ich_list(19)) {
            let reaction_root = ca
                .path(&["subject1", "adverseEffectReference", "id"])
                .and_then(|n| n.attr("root"))
                .map(str::to_string);
            let text_of = |n: Option<&Node>| n.map(|n| n.text_trim()).filter(|s| !s.is_empty());
            causality.push((
                drug_root,
                reaction_root,
                text_of(ca.path(&["author", "assignedEntity", "code", "originalText"])),
                text_of(ca.path(&["methodCode", "originalText"])),
                text_of(ca.child("value")),
            ));
        }
    }
    Ok(Assessments { roles, causality })
}

/// The causality results with local drug and reaction references; an assessor's own conclusion
/// becomes part of the case again (vigil's derived results are re-derived from the case and stay
/// in the returned list only).
fn resolve_causality(
    cx: &Ctx<'_>,
    aea: &Node,
    raw: Vec<RawCausality>,
    drug_refs: &HashMap<String, String>,
    reaction_refs: &HashMap<String, String>,
    reactions: &mut [Reaction],
) -> Result<Vec<ImportedCausality>, ClinicError> {
    let mut causality = Vec::new();
    for (d, r, source, method, result) in raw {
        let drug_ref = d.as_ref().and_then(|d| drug_refs.get(d)).cloned();
        let reaction_ref = r.as_ref().and_then(|r| reaction_refs.get(r)).cloned();
        let (Some(drug_ref), Some(reaction_ref)) = (drug_ref, reaction_ref) else {
            return Err(xml_err(
                cx.origin,
                aea.pos,
                "G.k.9.i: a causality assessment refers to an unknown drug or reaction",
            ));
        };
        if let (false, Some(m), Some(res)) = (
            super::export::is_derived(source.as_deref(), method.as_deref()),
            &method,
            &result,
        ) {
            if let Some(reaction) = reactions
                .iter_mut()
                .find(|x| x.id.as_deref() == Some(reaction_ref.as_str()))
            {
                let answers = reaction
                    .causality_answers
                    .get_or_insert_with(Default::default);
                answers.stated.push(crate::causality::StatedAssessment {
                    drug: Some(drug_ref.clone()),
                    source: source.clone().unwrap_or_else(|| "not given".into()),
                    method: m.clone(),
                    result: res.clone(),
                });
            }
        }
        causality.push(ImportedCausality {
            drug_ref,
            reaction_ref,
            source,
            method,
            result,
        })
    }
    Ok(causality)
}

fn read_reaction(cx: &Ctx<'_>, obs: &Node, local: String) -> Result<Reaction, ClinicError> {
    let value = cx.need(obs, &["value"], "E.i.2.1")?;
    let term = value
        .child("originalText")
        .map(|n| n.text_trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            xml_err(
                cx.origin,
                value.pos,
                "E.i.1.1a: the reaction as reported is empty",
            )
        })?;
    let meddra_llt = value.attr("code").map(str::to_string);
    let meddra_version = value.attr("codeSystemVersion").map(str::to_string);
    let (mut onset, mut end) = (None, None);
    if let Some(et) = obs.child("effectiveTime") {
        let holder = et.child("comp").unwrap_or(et);
        if let Some(l) = holder.child("low") {
            onset = cx.date(l, "E.i.4")?;
        }
        if let Some(h) = holder.child("high") {
            end = cx.date(h, "E.i.5")?;
        }
    }
    let mut outcome = Outcome::Unknown;
    let mut s = Seriousness::default();
    for rel in obs.children("outboundRelationship2") {
        let Some(o) = rel.child("observation") else {
            continue;
        };
        let code = o
            .child("code")
            .filter(|c| c.attr("codeSystem") == Some(ich_list(19).as_str()))
            .and_then(|c| c.attr("code"));
        let Some(code) = code else { continue };
        let flag = || o.child("value").and_then(|v| v.attr("value")) == Some("true");
        match code {
            "27" => {
                outcome = cx.code_value(
                    cx.need(o, &["value"], "E.i.7")?,
                    "E.i.7",
                    Outcome::from_code,
                )?
            }
            "34" => s.death = flag(),
            "21" => s.life_threatening = flag(),
            "33" => s.hospitalisation = flag(),
            "35" => s.disability = flag(),
            "12" => s.congenital_anomaly = flag(),
            "26" => s.other_medically_important = flag(),
            _ => {}
        }
    }
    Ok(Reaction {
        id: Some(local),
        term,
        meddra_llt,
        meddra_version,
        onset,
        end,
        outcome,
        seriousness: s,
        sites: Vec::new(),
        features: Vec::new(),
        different_from_usual_ad: None,
        rest_of_skin_improving: None,
        dechallenge: None,
        rechallenge: None,
        alternative_causes: None,
        causality_answers: None,
    })
}

type DrugParts = (
    Drug,
    Vec<(String, Rechallenge)>,
    Vec<(String, String, String)>,
);

fn read_drug(
    cx: &Ctx<'_>,
    sa: &Node,
    local: String,
    role: DrugRole,
) -> Result<DrugParts, ClinicError> {
    let (name, substance) = read_product(cx, sa)?;
    let mut regimens = Vec::new();
    // (G.k.4.r.4, G.k.4.r.5) of every administration, also those without a dose.
    let mut administrations: Vec<(Option<PartialDate>, Option<PartialDate>)> = Vec::new();
    let mut rechallenges = Vec::new();
    // One pass in document order, so the first error reported is the first in the file.
    for rel in sa.children("outboundRelationship2") {
        if rel.attr("typeCode") == Some("COMP") {
            let Some(d) = rel.child("substanceAdministration") else {
                continue;
            };
            let times = read_dosage_times(cx, d)?;
            administrations.push((times.start, times.end));
            if let Some(regimen) = read_regimen(cx, d, times)? {
                regimens.push(regimen);
            }
        } else if rel.attr("typeCode") == Some("PERT") {
            if let Some(rechallenge) = read_rechallenge(cx, rel)? {
                rechallenges.push(rechallenge);
            }
        }
    }
    let (start, stop) = drug_dates(&administrations);
    let intervals = read_onset_intervals(sa);
    let (indication, action_taken) = read_indication_and_action(cx, sa)?;
    Ok((
        Drug {
            id: Some(local),
            name,
            substance,
            role,
            indication,
            start,
            stop,
            regimens,
            action_taken,
            missed_doses: Vec::new(),
        },
        rechallenges,
        intervals,
    ))
}

/// G.k.2.2 the product name (required) and G.k.2.3.r.1 its substance.
fn read_product(cx: &Ctx<'_>, sa: &Node) -> Result<(String, Option<String>), ClinicError> {
    let product = cx.need(
        sa,
        &["consumable", "instanceOfKind", "kindOfProduct"],
        "G.k.2",
    )?;
    let name = product
        .child("name")
        .map(|n| n.text_trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| xml_err(cx.origin, product.pos, "G.k.2.2: the product name is empty"))?;
    let substance = product
        .path(&["ingredient", "ingredientSubstance", "name"])
        .map(|n| n.text_trim())
        .filter(|s| !s.is_empty());
    Ok((name, substance))
}

/// The times of one G.k.4.r administration.
struct DosageTimes {
    /// G.k.4.r.2 the interval between doses.
    every: Option<f64>,
    /// G.k.4.r.3 its unit.
    every_unit: Option<IntervalUnit>,
    /// G.k.4.r.4.
    start: Option<PartialDate>,
    /// G.k.4.r.5.
    end: Option<PartialDate>,
}

/// The period and dates of an administration's effective time: directly under it, or under its
/// `comp` parts (a period and an interval of dates).
fn read_dosage_times(cx: &Ctx<'_>, d: &Node) -> Result<DosageTimes, ClinicError> {
    let mut times = DosageTimes {
        every: None,
        every_unit: None,
        start: None,
        end: None,
    };
    let Some(et) = d.child("effectiveTime") else {
        return Ok(times);
    };
    let mut holders: Vec<&Node> = et.children("comp").collect();
    if holders.is_empty() {
        holders.push(et);
    }
    for h in holders {
        if let Some(p) = h.child("period") {
            times.every = Some(cx.number(p, "G.k.4.r.2")?);
            let unit = p.attr("unit").unwrap_or("");
            times.every_unit = Some(IntervalUnit::from_ucum(unit).ok_or_else(|| {
                xml_err(
                    cx.origin,
                    p.pos,
                    format!("G.k.4.r.3: interval unit {unit:?} is not supported (d, wk, mo)"),
                )
            })?);
        }
        if let Some(l) = h.child("low") {
            times.start = cx.date(l, "G.k.4.r.4")?;
        }
        if let Some(hi) = h.child("high") {
            times.end = cx.date(hi, "G.k.4.r.5")?;
        }
    }
    Ok(times)
}

/// The dosage regimen of an administration with a dose (G.k.4.r.1a/b), with its route
/// (G.k.4.r.10.1); `None` without a dose.
fn read_regimen(
    cx: &Ctx<'_>,
    d: &Node,
    times: DosageTimes,
) -> Result<Option<Regimen>, ClinicError> {
    let route = d
        .path(&["routeCode", "originalText"])
        .map(|n| n.text_trim())
        .filter(|s| !s.is_empty());
    let Some(q) = d.child("doseQuantity") else {
        return Ok(None);
    };
    let dose = cx.number(q, "G.k.4.r.1a")?;
    let unit = q.attr("unit").unwrap_or("").to_string();
    Ok(Some(Regimen {
        dose,
        unit,
        every: times.every,
        every_unit: times.every_unit,
        start: times.start,
        end: times.end,
        route,
    }))
}

/// G.k.9.i.4 a rechallenge result and the reaction it refers to; `None` when the relationship
/// holds another observation.
fn read_rechallenge(
    cx: &Ctx<'_>,
    rel: &Node,
) -> Result<Option<(String, Rechallenge)>, ClinicError> {
    let Some(o) = rel
        .child("observation")
        .filter(|o| o.has_code("31", &ich_list(19)))
    else {
        return Ok(None);
    };
    let v = cx.need(o, &["value"], "G.k.9.i.4")?;
    let rc = cx.code_value(v, "G.k.9.i.4", Rechallenge::from_code)?;
    let target = o
        .path(&["outboundRelationship1", "actReference", "id"])
        .and_then(|n| n.attr("root"))
        .ok_or_else(|| xml_err(cx.origin, o.pos, "G.k.9.i.4: no reaction reference"))?;
    Ok(Some((target.to_string(), rc)))
}

/// The drug's first and last administration. E2B carries them only through its administrations
/// (G.k.4.r.4/5): the drug starts at the earliest start and, unless the last administration is
/// ongoing, stops at the latest date. With partial dates a date is replaced only by one surely
/// beyond it, so no regimen lies surely outside the drug's dates.
fn drug_dates(
    administrations: &[(Option<PartialDate>, Option<PartialDate>)],
) -> (Option<PartialDate>, Option<PartialDate>) {
    let first_start = administrations.iter().map(|a| a.0).fold(None, earliest);
    let last_end = match administrations.last() {
        Some((_, Some(_))) => administrations
            .iter()
            .flat_map(|&(start, end)| [start, end])
            .fold(None, latest),
        _ => None,
    };
    (first_start, last_end)
}

/// G.k.9.i.3.1 the time from the first administration to each reaction, as written: (reaction
/// reference, value, unit).
fn read_onset_intervals(sa: &Node) -> Vec<(String, String, String)> {
    let mut intervals = Vec::new();
    for rel in sa
        .children("outboundRelationship1")
        .filter(|r| r.attr("typeCode") == Some("SAS"))
    {
        if let (Some(pq), Some(target)) = (
            rel.child("pauseQuantity"),
            rel.path(&["actReference", "id"])
                .and_then(|n| n.attr("root")),
        ) {
            intervals.push((
                target.to_string(),
                pq.attr("value").unwrap_or("").to_string(),
                pq.attr("unit").unwrap_or("").to_string(),
            ));
        }
    }
    intervals
}

/// G.k.7.r.1 the indication and G.k.8 the action taken (list 15); the last of each wins.
fn read_indication_and_action(
    cx: &Ctx<'_>,
    sa: &Node,
) -> Result<(Option<String>, Option<ActionTaken>), ClinicError> {
    let mut indication = None;
    let mut action_taken = None;
    for rel in sa.children("inboundRelationship") {
        match rel.attr("typeCode") {
            Some("RSON") => {
                indication = rel
                    .path(&["observation", "value", "originalText"])
                    .map(|n| n.text_trim())
                    .filter(|s| !s.is_empty());
            }
            Some("CAUS") => {
                if let Some(c) = rel.path(&["act", "code"]) {
                    action_taken = Some(cx.code_value(c, "G.k.8", ActionTaken::from_code)?);
                }
            }
            _ => {}
        }
    }
    Ok((indication, action_taken))
}

/// The earlier of two optional dates: `b` replaces `a` only when it is surely before it.
fn earliest(a: Option<PartialDate>, b: Option<PartialDate>) -> Option<PartialDate> {
    match (a, b) {
        (Some(a), Some(b)) if b.surely_before(&a) => Some(b),
        (None, b) => b,
        (a, _) => a,
    }
}

/// The later of two optional dates: `b` replaces `a` only when it is surely after it.
fn latest(a: Option<PartialDate>, b: Option<PartialDate>) -> Option<PartialDate> {
    match (a, b) {
        (Some(a), Some(b)) if a.surely_before(&b) => Some(b),
        (None, b) => b,
        (a, _) => a,
    }
}
