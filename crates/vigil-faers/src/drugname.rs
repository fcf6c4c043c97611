//! Drug names → active ingredient(s).
//!
//! Order (after faers-format.md §6, the "practical rule"):
//! 1. `prod_ai` (FDA's ingredient field, 2014Q3 on) when present, split on `\`;
//! 2. else the cleaned `drugname` looked up as a known name: in the brand → ingredient
//!    dictionary (built-in `data/brand_ingredients.csv`, extendable with a user CSV
//!    `brand,ingredient[,source]`), then among the ingredient names that dictionary holds, then
//!    among the names learned from the ingested rows that carry a `prod_ai`
//!    ([`crate::learned_names`], when the caller added them);
//! 3. else, with the same look-ups: a name in parentheses (a country or a source tag such as
//!    "(TA)" is skipped), ingredients listed with `;` or `+` one by one, and the longest leading
//!    run of words that is a known name ("TYLENOL PM EXTRA STRENGTH" → "TYLENOL PM");
//! 4. else the cleaned name itself (reported as unmapped in the ingest report, kept verbatim).
//!
//! Cleaning: upper case; a WHO-DD style `/00098801/` code and `/BRA/`-style tags dropped;
//! punctuation other than `-` turned into spaces; strengths (`10 MG`, `250MG`, `0.5%`, `40MG/0.4ML`)
//! and bare numbers dropped; dose-form words (TABLET, CAPSULE, INJECTION, PEN, …) and filler words
//! (GENERIC, NOS, UNKNOWN, BLINDED, FORMULATION; AEOLUS clean-up, faers-format.md §6) dropped; salt
//! words (HYDROCHLORIDE, SODIUM, MESYLATE, …) dropped when another word remains. Several
//! ingredients are sorted and joined with `;` (as DiAna does).
use std::collections::HashMap;
use std::path::Path;

use crate::FaersError;

/// The INN of a substance known under another name (acetaminophen → paracetamol), from the
/// synonym table with its sources (`crate::synonyms`); `None` when the name has no synonym.
pub fn inn_name(substance: &str) -> Option<String> {
    crate::synonyms::synonym_of(substance).map(|(canonical, _)| canonical.to_owned())
}

const BUILTIN_DICTIONARY: &str = include_str!("../data/brand_ingredients.csv");

const FORM_WORDS: &[&str] = &[
    "TABLET",
    "TABLETS",
    "TAB",
    "TABS",
    "CAPSULE",
    "CAPSULES",
    "CAP",
    "CAPS",
    "INJECTION",
    "INJECTIONS",
    "INJ",
    "INJECTABLE",
    "SOLUTION",
    "SOLN",
    "SOL",
    "ORAL",
    "CREAM",
    "OINTMENT",
    "GEL",
    "SYRUP",
    "SUSPENSION",
    "SUSP",
    "PATCH",
    "SPRAY",
    "DROPS",
    "EXTENDED",
    "RELEASE",
    "ER",
    "XR",
    "SR",
    "CR",
    "XL",
    "DR",
    "FILM",
    "COATED",
    "FILM-COATED",
    "PREFILLED",
    "PRE-FILLED",
    "PEN",
    "PENS",
    "SYRINGE",
    "AUTOINJECTOR",
    "AUTO-INJECTOR",
    "VIAL",
    "POWDER",
    "INHALER",
    "INHALATION",
    "AEROSOL",
    "NASAL",
    "TOPICAL",
    "LOTION",
    "COMPRESSE",
    "COMPRIMIDOS",
    "COMPRIMES",
    "CHEWABLE",
    "DELAYED",
    "IV",
    "SC",
    "IM",
    "INFUSION",
    "CONCENTRATE",
    "FOR",
    "AND",
    "WITH",
    "FORMULATION",
    "GENERIC",
    "NOS",
    "UNKNOWN",
    "BLINDED",
    "UNK",
    "PLACEBO",
    "KIT",
    "DEPOT",
    "LAR",
    "FORTE",
    "PO",
    "DAILY",
    "ONCE",
    "TWICE",
];

const UNIT_WORDS: &[&str] = &[
    "MG",
    "MCG",
    "UG",
    "G",
    "GM",
    "ML",
    "L",
    "IU",
    "UNIT",
    "UNITS",
    "U",
    "MMOL",
    "MEQ",
    "%",
    "MG/ML",
    "MCG/ML",
    "MG/KG",
    "MILLIGRAM",
    "MILLIGRAMS",
    "MICROGRAMS",
];

const SALT_WORDS: &[&str] = &[
    "HYDROCHLORIDE",
    "HCL",
    "HYDROBROMIDE",
    "HBR",
    "SODIUM",
    "DISODIUM",
    "POTASSIUM",
    "CALCIUM",
    "MAGNESIUM",
    "SULFATE",
    "SULPHATE",
    "BISULFATE",
    "MESYLATE",
    "MESILATE",
    "MALEATE",
    "BESYLATE",
    "BESILATE",
    "TARTRATE",
    "BITARTRATE",
    "CITRATE",
    "ACETATE",
    "FUMARATE",
    "SUCCINATE",
    "PHOSPHATE",
    "BROMIDE",
    "CHLORIDE",
    "NITRATE",
    "HYDRATE",
    "DIHYDRATE",
    "MONOHYDRATE",
    "TRIHYDRATE",
    "SESQUIHYDRATE",
    "PROPIONATE",
    "DIPROPIONATE",
    "VALERATE",
    "ETEXILATE",
    "MEDOXOMIL",
    "AXETIL",
    "DECANOATE",
    "PAMOATE",
    "LACTATE",
    "GLUCONATE",
    "STEARATE",
    "TROMETHAMINE",
    "MALATE",
    "XINAFOATE",
    "FUROATE",
    "OXALATE",
    "HYCLATE",
    "ANHYDROUS",
    "DIHYDROCHLORIDE",
    "CILEXETIL",
    "PIVOXIL",
    "TRIFENATATE",
    "PROPANEDIOL",
    "S-MALATE",
    "ESTOLATE",
    "ETHYLSUCCINATE",
    "SALICYLATE",
    "TOSYLATE",
    "ARGININE",
    "LYSINE",
    // Found on the DiAna pairs (lisdexamfetamine dimesylate, hydroxychloroquine diphosphate):
    // salts named in WHO's *International Nonproprietary Names Modified* (INNM).
    "DIMESYLATE",
    "DIPHOSPHATE",
];

/// Where an ingredient name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameSource {
    /// FDA's `prod_ai` field.
    ProdAi,
    /// The brand → ingredient dictionary.
    Dictionary,
    /// The names learned from the ingested rows that give the same name a `prod_ai`.
    Learned,
    /// The cleaned drug name only (unmapped).
    Cleaned,
    /// Nothing usable (empty drug name).
    Empty,
}

impl NameSource {
    /// Name used in the ingest report.
    pub fn key(self) -> &'static str {
        match self {
            NameSource::ProdAi => "prod_ai",
            NameSource::Dictionary => "dictionary",
            NameSource::Learned => "learned_from_prod_ai",
            NameSource::Cleaned => "cleaned_name_unmapped",
            NameSource::Empty => "empty",
        }
    }
}

fn number_unit(w: &str) -> bool {
    // 10, 0.5, 250MG, 0.5%, 2.5MG, or a bare unit.
    let rest = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',');
    if rest.len() == w.len() {
        return UNIT_WORDS.contains(&w);
    }
    rest.is_empty() || UNIT_WORDS.contains(&rest)
}

fn strength_token(w: &str) -> bool {
    // A strength or a number: 10, 250MG, 0.5%, 40MG/0.4ML, 16028/0144, MG/ML.
    !w.is_empty()
        && w.split('/').all(|p| p.is_empty() || number_unit(p))
        && w.bytes().any(|b| b != b'/')
}

/// Cleans a drug name (see the module docs). Returns an upper-case name, possibly empty.
pub fn clean_name(raw: &str) -> String {
    let mut s = raw.to_uppercase();
    // Drop WHO-DD style codes such as "/00098801/" and tags such as "/BRA/".
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(p) = rest.find('/') {
        let (head, tail) = rest.split_at(p);
        out.push_str(head);
        let tail = &tail[1..];
        let end = tail.find(['/', ' ', ')']).unwrap_or(tail.len());
        let token = &tail[..end];
        let is_code = !token.is_empty()
            && (token.bytes().all(|b| b.is_ascii_digit()) && token.len() >= 5
                || token.len() == 3
                    && token.bytes().all(|b| b.is_ascii_alphabetic())
                    && tail[end..].starts_with('/'));
        if is_code {
            rest = tail[end..].strip_prefix('/').unwrap_or(&tail[end..]);
            out.push(' ');
        } else {
            out.push('/');
            rest = tail;
        }
    }
    out.push_str(rest);
    s = out;
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '.' || c == '%' || c == '/' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = s
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
        .filter(|w| !strength_token(w) && !FORM_WORDS.contains(w))
        .collect();
    strip_salts(&words).join(" ")
}

/// Words that are what is left of a salt or ester once its cation or acid word is dropped, not a
/// parent substance: "CALCIUM CARBONATE" without CALCIUM is not the substance CARBONATE (found on
/// the DiAna pairs: calcium carbonate → "CARBONATE", magnesium oxide → "OXIDE", ferrous fumarate →
/// "FERROUS", dimethyl fumarate → "DIMETHYL", sodium bicarbonate → "BICARBONATE", chloral
/// hydrate → "CHLORAL", ammonium lactate → "AMMONIUM", sodium zirconium cyclosilicate →
/// "ZIRCONIUM CYCLOSILICATE", diroximel fumarate → "DIROXIMEL"; monomethyl fumarate is the
/// same kind of ester). A name whose remainder starts with one keeps every word.
const NOT_A_PARENT: &[&str] = &[
    "CARBONATE",
    "BICARBONATE",
    "OXIDE",
    "HYDROXIDE",
    "FERROUS",
    "FERRIC",
    "DIMETHYL",
    "AMMONIUM",
    "CHLORAL",
    "ZIRCONIUM",
    "DIROXIMEL",
    "MONOMETHYL",
];

fn strip_salts<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !SALT_WORDS.contains(w))
        .collect();
    if kept.is_empty() || NOT_A_PARENT.contains(&kept[0]) {
        words.to_vec()
    } else {
        kept
    }
}

/// Canonical form of an ingredient list: each ingredient cleaned (salt words dropped), sorted,
/// duplicates removed, joined with `;`.
pub fn canonical_ingredients<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<String> = parts
        .into_iter()
        .map(|p| {
            let up = p.trim().to_uppercase();
            let words: Vec<&str> = up.split_whitespace().collect();
            strip_salts(&words).join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v.join(";")
}

/// What a parenthesis holds besides ingredient names, seen on the DiAna pairs: a country
/// ("BENADRYL (UNITED STATES)", "SOLUPRED (FRANCE)"), a two-letter source tag of Japanese reports
/// ("(KA)", "(TA)"), a flavour ("NICORETTE (MINT)"), "(UNSPECIFIED)", or an application number
/// ("OXYCONTIN (NDA 22-272)"). Such a part is not taken for an ingredient.
const PARENTHESIS_TAGS: &[&str] = &["UNITED STATES", "FRANCE", "KA", "TA", "MINT", "UNSPECIFIED"];

fn is_parenthesis_tag(cleaned: &str) -> bool {
    PARENTHESIS_TAGS.contains(&cleaned)
        || cleaned.starts_with("NDA ")
        || cleaned.starts_with("ANDA ")
}

/// The text of each parenthesised group of `s` (which starts at the first `(`); an unclosed
/// group runs to the end ("PROZAC( FLUOXETINE HYDROCHLORIDE").
fn parenthesised(s: &str) -> impl Iterator<Item = &str> {
    s.split('(')
        .skip(1)
        .map(|g| g.split(')').next().unwrap_or(""))
        .filter(|g| !g.trim().is_empty())
}

/// The header of the EMA list of products by active substance ([`DrugNormaliser::add_ema_text`]).
pub const EMA_HEADER: &str =
    "Active substance,Brand name,EU Number,Human or veterinary,Procedure type";

/// What an import of the EMA list kept and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmaImport {
    /// Data rows read.
    pub rows: u64,
    /// Brands added to the dictionary.
    pub added: usize,
    /// Veterinary rows, left out.
    pub veterinary: u64,
    /// Human rows without a brand, or not an authorised product's own substances (orphan
    /// designations, refusals, referral scopes), left out.
    pub not_a_product: u64,
    /// Brands whose kept rows give different ingredient sets, left out.
    pub conflicting_brands: u64,
}

/// The drug-name normaliser: the dictionary and the rules above.
#[derive(Debug, Clone)]
pub struct DrugNormaliser {
    dictionary: HashMap<String, String>,
    /// Every ingredient the dictionary maps to: a drug name that already is one is mapped.
    ingredients: std::collections::HashSet<String>,
    /// Cleaned name → ingredients learned from the ingested rows (empty unless added).
    learned: HashMap<String, String>,
}

impl DrugNormaliser {
    /// The normaliser with the built-in dictionary only.
    pub fn builtin() -> Self {
        let mut n = Self {
            dictionary: HashMap::new(),
            ingredients: Default::default(),
            learned: HashMap::new(),
        };
        n.add_csv_text(BUILTIN_DICTIONARY, "built-in dictionary")
            .expect("the built-in dictionary parses");
        n
    }

    /// Number of dictionary entries.
    pub fn dictionary_len(&self) -> usize {
        self.dictionary.len()
    }

    /// Adds entries from a CSV text with columns `brand,ingredient[,…]` (a header row whose
    /// first field is `brand` is skipped, as are lines starting with `#`). Several ingredients
    /// are separated by `;`. Later entries replace earlier ones.
    pub fn add_csv_text(&mut self, text: &str, origin: &str) -> Result<usize, FaersError> {
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes());
        let mut added = 0;
        for (i, rec) in rdr.records().enumerate() {
            let rec =
                rec.map_err(|e| FaersError::Input(format!("{origin}: record {}: {e}", i + 1)))?;
            let (Some(brand), Some(ing)) = (rec.get(0), rec.get(1)) else {
                return Err(FaersError::Input(format!(
                    "{origin}: record {}: expected brand,ingredient",
                    i + 1
                )));
            };
            if brand.trim().eq_ignore_ascii_case("brand") {
                continue;
            }
            let key = clean_name(brand);
            let value = canonical_ingredients(ing.split(';'));
            if key.is_empty() || value.is_empty() {
                continue;
            }
            for part in value.split(';') {
                self.ingredients.insert(part.to_owned());
            }
            self.dictionary.insert(key, value);
            added += 1;
        }
        Ok(added)
    }

    /// Adds the names learned from the ingested rows; they are tried after the dictionary and
    /// before the cleaned name is kept as it is. Returns how many were added.
    pub fn add_learned(&mut self, learned: &crate::learned_names::LearnedNames) -> usize {
        for l in &learned.mapped {
            self.learned.insert(l.name.clone(), l.ingredients.clone());
        }
        learned.mapped.len()
    }

    /// Number of learned names added.
    pub fn learned_len(&self) -> usize {
        self.learned.len()
    }

    /// True when `other` holds the same learned names, each with the same ingredients.
    pub fn same_learned(&self, other: &DrugNormaliser) -> bool {
        self.learned == other.learned
    }

    /// This normaliser without its learned names (the dictionary and the rules only).
    pub fn without_learned(&self) -> DrugNormaliser {
        DrugNormaliser {
            dictionary: self.dictionary.clone(),
            ingredients: self.ingredients.clone(),
            learned: HashMap::new(),
        }
    }

    /// Adds entries from a dictionary file: vigil's `brand,ingredient[,…]` CSV (see
    /// [`DrugNormaliser::add_csv_text`]), or the EMA list of products by active substance, told
    /// by its header (see [`DrugNormaliser::add_ema_text`]).
    pub fn add_csv_file(&mut self, path: &Path) -> Result<usize, FaersError> {
        let text = std::fs::read(path).map_err(|e| FaersError::io(path, e))?;
        let text = String::from_utf8_lossy(&text);
        let text = text.trim_start_matches('\u{feff}');
        let origin = path.display().to_string();
        if text.starts_with(EMA_HEADER) {
            return Ok(self.add_ema_text(text, &origin)?.added);
        }
        self.add_csv_text(text, &origin)
    }

    /// Adds the brands of the EMA list of medicinal products by active substance (columns
    /// `Active substance,Brand name,EU Number,Human or veterinary,Procedure type`; the file
    /// `EU_registered_drugs_by_active_ingredient_utf8.txt` of the AEOLUS/faersdbstats project,
    /// Apache-2.0, whose data come from the European Medicines Agency's published lists). Kept:
    /// human products with a brand name whose procedure is `Centralised` (an authorised product,
    /// its active substances written out, combinations with `/`) or `Referral`, naming one
    /// substance or a `/` combination (a referral: one substance only). Left out, and counted: veterinary products (a veterinary brand can share a name
    /// with a human one); orphan designations and refusals (no authorised product); referral rows
    /// whose "active substance" is the referral's scope — several substances with `,`, ` or `,
    /// ` and ` or "in combination", or "not applicable" — which names a class, not this brand's
    /// ingredients (Yasmin's row names ten progestogens); and brands whose kept rows disagree.
    pub fn add_ema_text(&mut self, text: &str, origin: &str) -> Result<EmaImport, FaersError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut out = EmaImport::default();
        let mut sets: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
            Default::default();
        for (i, rec) in rdr.records().enumerate() {
            // Line i + 2: the header is line 1 (no field of the list spans lines).
            let rec =
                rec.map_err(|e| FaersError::Input(format!("{origin}: line {}: {e}", i + 2)))?;
            let field = |k: usize| rec.get(k).unwrap_or("").trim();
            let (substance, brand, kind, procedure) = (field(0), field(1), field(3), field(4));
            out.rows += 1;
            if !kind.eq_ignore_ascii_case("Human") {
                out.veterinary += 1;
                continue;
            }
            let key = clean_name(brand);
            let lower = substance.to_lowercase();
            let one_substance = !lower.contains(',')
                && !lower.contains(" or ")
                && !lower.contains(" and ")
                && !lower.contains("combination")
                && !lower.contains("not applicable");
            let usable = match procedure {
                "Centralised" => one_substance,
                "Referral" => one_substance && !lower.contains('/'),
                _ => false,
            };
            if key.is_empty() || substance.is_empty() || !usable {
                out.not_a_product += 1;
                continue;
            }
            // The list writes some names with a spaced hyphen ("interferon beta - 1a"); the INN
            // (and FDA's prod_ai) has none.
            let substance = substance.replace(" - ", "-");
            let value = canonical_ingredients(substance.split('/'));
            if value.is_empty() {
                out.not_a_product += 1;
                continue;
            }
            sets.entry(key).or_default().insert(value);
        }
        for (key, values) in sets {
            if values.len() > 1 {
                out.conflicting_brands += 1;
                continue;
            }
            let value = values.into_iter().next().unwrap_or_default();
            for part in value.split(';') {
                self.ingredients.insert(part.to_owned());
            }
            self.dictionary.insert(key, value);
            out.added += 1;
        }
        Ok(out)
    }

    /// A cleaned name the dictionary, the ingredient list or the learned names know.
    fn known(&self, cleaned: &str) -> Option<(String, NameSource)> {
        if let Some(v) = self.dictionary.get(cleaned) {
            return Some((v.clone(), NameSource::Dictionary));
        }
        if self.ingredients.contains(cleaned) {
            return Some((cleaned.to_owned(), NameSource::Dictionary));
        }
        self.learned
            .get(cleaned)
            .map(|v| (v.clone(), NameSource::Learned))
    }

    /// The longest leading run of whole words of `cleaned`, shorter than the whole name and at
    /// least four characters long, that is a known name: "TYLENOL PM EXTRA STRENGTH" finds
    /// "TYLENOL PM" before "TYLENOL", so a combination product is not cut to its first
    /// ingredient.
    fn known_prefix(&self, cleaned: &str) -> Option<(String, NameSource)> {
        cleaned
            .match_indices(' ')
            .map(|(i, _)| &cleaned[..i])
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .filter(|prefix| prefix.len() >= 4)
            .find_map(|prefix| self.known(prefix))
    }

    /// The ingredient(s) of one drug row and where they came from.
    pub fn normalise(&self, drugname: &str, prod_ai: &str) -> (String, NameSource) {
        let pa = prod_ai.trim();
        if !pa.is_empty() && !pa.eq_ignore_ascii_case("NA") {
            let c = canonical_ingredients(pa.split('\\'));
            if !c.is_empty() {
                return (c, NameSource::ProdAi);
            }
        }
        let cleaned = clean_name(drugname);
        if cleaned.is_empty() {
            return (String::new(), NameSource::Empty);
        }
        if let Some(found) = self.known(&cleaned) {
            return found;
        }
        // A name in parentheses, e.g. "PROZAC( FLUOXETINE HYDROCHLORIDE" or "X (CAFFEINE, PARACETAMOL)".
        if let Some(p) = drugname.find('(') {
            let before = clean_name(&drugname[..p]);
            if let Some(found) = self.known(&before) {
                return found;
            }
            let parts: Vec<String> = parenthesised(&drugname[p..])
                .flat_map(|group| group.split([',', ';', '+']))
                .map(clean_name)
                .filter(|x| !x.is_empty() && !is_parenthesis_tag(x))
                .collect();
            if !parts.is_empty() && !before.is_empty() {
                let mapped: Vec<String> = parts
                    .iter()
                    .map(|x| self.known(x).map_or_else(|| x.clone(), |(v, _)| v))
                    .collect();
                return (
                    canonical_ingredients(mapped.iter().map(|s| s.as_str())),
                    NameSource::Cleaned,
                );
            }
            if !before.is_empty() {
                return self
                    .known_prefix(&before)
                    .unwrap_or((before, NameSource::Cleaned));
            }
        }
        // Ingredients listed with ';' or '+' ("AMLODIPINE BESYLATE;BENAZEPRIL"): each part on its
        // own, so that a prefix does not keep the first one only.
        let listed: Vec<String> = drugname
            .split([';', '+'])
            .map(clean_name)
            .filter(|x| !x.is_empty())
            .collect();
        if listed.len() > 1 {
            let known: Vec<Option<(String, NameSource)>> =
                listed.iter().map(|x| self.known(x)).collect();
            let source = if known.iter().any(Option::is_none) {
                NameSource::Cleaned
            } else if known.iter().flatten().any(|k| k.1 == NameSource::Learned) {
                NameSource::Learned
            } else {
                NameSource::Dictionary
            };
            let names: Vec<String> = known
                .into_iter()
                .zip(&listed)
                .map(|(k, x)| k.map_or_else(|| x.clone(), |k| k.0))
                .collect();
            return (
                canonical_ingredients(names.iter().flat_map(|n| n.split(';'))),
                source,
            );
        }
        if let Some(found) = self.known_prefix(&cleaned) {
            return found;
        }
        let parts: Vec<&str> = cleaned.split(" / ").collect();
        (
            canonical_ingredients(parts.iter().flat_map(|p| p.split('/'))),
            NameSource::Cleaned,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_examples_from_the_format_notes() {
        // Examples quoted in faers-format.md §6.
        assert_eq!(clean_name("HUMIRA PEN, 40 MG, ABBVIE"), "HUMIRA ABBVIE");
        assert_eq!(clean_name("ATORVASTATIN CALCIUM."), "ATORVASTATIN");
        assert_eq!(clean_name("5-fluorouracil /00098801/"), "5-FLUOROURACIL");
        assert_eq!(clean_name("naproxen 250mg 16028/0144"), "NAPROXEN");
        assert_eq!(clean_name("SODIUM CHLORIDE"), "SODIUM CHLORIDE");
        // A salt whose remainder is no substance keeps its name (DiAna pairs: tecfidera's
        // DIMETHYL FUMARATE became "DIMETHYL", calcium carbonate "CARBONATE").
        assert_eq!(clean_name("DIMETHYL FUMARATE"), "DIMETHYL FUMARATE");
        assert_eq!(
            canonical_ingredients(["CALCIUM CARBONATE", "SODIUM BICARBONATE"]),
            "CALCIUM CARBONATE;SODIUM BICARBONATE"
        );
        assert_eq!(
            canonical_ingredients(["OXYCODONE HYDROCHLORIDE"]),
            "OXYCODONE"
        );
    }

    #[test]
    fn prod_ai_first_then_dictionary() {
        let n = DrugNormaliser::builtin();
        assert_eq!(
            n.normalise("Dupixent", "DUPILUMAB"),
            ("DUPILUMAB".into(), NameSource::ProdAi)
        );
        assert_eq!(
            n.normalise("DUPIXENT 300 MG PREFILLED PEN", ""),
            ("DUPILUMAB".into(), NameSource::Dictionary)
        );
        assert_eq!(
            n.normalise("x", "ACETAMINOPHEN\\BUTALBITAL\\CAFFEINE"),
            (
                "ACETAMINOPHEN;BUTALBITAL;CAFFEINE".into(),
                NameSource::ProdAi
            )
        );
        assert_eq!(
            n.normalise("Prozac( Fluoxetine Hydrochloride", "").0,
            "FLUOXETINE"
        );
        assert_eq!(n.normalise("lipitor", "").0, "ATORVASTATIN");
    }

    #[test]
    fn parentheses_prefixes_and_listed_ingredients() {
        // Each case was a miss on the DiAna pairs (docs/terminologies.md, "Drug names").
        let n = DrugNormaliser::builtin();
        // A country or a source tag in parentheses is not an ingredient.
        assert_eq!(
            n.normalise("benadryl (united states)", ""),
            ("BENADRYL".into(), NameSource::Cleaned)
        );
        assert_eq!(n.normalise("pursennid (ta)", "").0, "PURSENNID");
        // An ingredient in parentheses still is.
        assert_eq!(n.normalise("proscar(finasteride)", "").0, "FINASTERIDE");
        // The longest known prefix: a combination is not cut to its first ingredient.
        assert_eq!(
            n.normalise("tylenol pm extra strength", ""),
            (
                "ACETAMINOPHEN;DIPHENHYDRAMINE".into(),
                NameSource::Dictionary
            )
        );
        assert_eq!(
            n.normalise("advil pm /05810501", "").0,
            "DIPHENHYDRAMINE;IBUPROFEN"
        );
        // Ingredients listed with ';' each count.
        assert_eq!(
            n.normalise("amlodipine besylate;benazepril", "").0,
            "AMLODIPINE;BENAZEPRIL"
        );
        // Salt words found on the pairs, and an ester kept whole.
        assert_eq!(
            n.normalise("vyvanse", "LISDEXAMFETAMINE DIMESYLATE").0,
            "LISDEXAMFETAMINE"
        );
        assert_eq!(
            n.normalise("vumerity", "DIROXIMEL FUMARATE").0,
            "DIROXIMEL FUMARATE"
        );
    }

    #[test]
    fn the_ema_list_is_read_by_its_header_keeping_authorised_human_products() {
        // Rows in the EMA list's layout (the trailing comma is the file's). Expected, row by row:
        // Kuvan kept (salt dropped: SAPROPTERIN); Vioxx kept (a referral naming one substance);
        // Yasmin left out (the referral's scope lists a class); Metacam left out (veterinary); the
        // orphan designation left out (no brand, not a product); Avonex kept with the spaced hyphen
        // closed; Exforge kept as a two-ingredient set; TWOBRAND's rows disagree: left out.
        let text = "\u{feff}Active substance,Brand name,EU Number,Human or veterinary,Procedure type,\n\
            sapropterin dihydrochloride,Kuvan,EU/1/08/481,Human,Centralised,\n\
            Rofecoxib,Vioxx,,Human,Referral,\n\
            \"chlormadinone, desogestrel or drospirenone in combination with an oestrogen\",Yasmin,,Human,Referral,\n\
            Meloxicam,Metacam,EU/2/97/004,Veterinary,Centralised,\n\
            some orphan substance,,EU/3/10/768,Human,Orphan designation,\n\
            interferon beta - 1a,Avonex,EU/1/97/033,Human,Centralised,\n\
            amlodipine / valsartan,Exforge,EU/1/06/370,Human,Centralised,\n\
            aaa,Twobrand,,Human,Centralised,\n\
            bbb,Twobrand,,Human,Centralised,\n";
        let path = std::env::temp_dir().join(format!("vigil-ema-{}.txt", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let mut n = DrugNormaliser::builtin();
        let before = n.dictionary_len();
        // Told apart from a brand,ingredient CSV by its header.
        let added = n.add_csv_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(added, 4);
        assert_eq!(n.dictionary_len() - before, 4);
        let got = DrugNormaliser::builtin()
            .add_ema_text(text.trim_start_matches('\u{feff}'), "test")
            .unwrap();
        assert_eq!(
            got,
            EmaImport {
                rows: 9,
                added: 4,
                veterinary: 1,
                not_a_product: 2,
                conflicting_brands: 1,
            }
        );
        let map = |name: &str| n.normalise(name, "");
        assert_eq!(map("KUVAN"), ("SAPROPTERIN".into(), NameSource::Dictionary));
        assert_eq!(map("Vioxx"), ("ROFECOXIB".into(), NameSource::Dictionary));
        assert_eq!(
            map("AVONEX"),
            ("INTERFERON BETA-1A".into(), NameSource::Dictionary)
        );
        assert_eq!(
            map("EXFORGE"),
            ("AMLODIPINE;VALSARTAN".into(), NameSource::Dictionary)
        );
        assert_eq!(map("YASMIN").1, NameSource::Cleaned);
        assert_eq!(map("METACAM").1, NameSource::Cleaned);
        assert_eq!(map("TWOBRAND").1, NameSource::Cleaned);
    }

    #[test]
    fn learned_names_come_after_the_dictionary() {
        use crate::learned_names::{LearningRule, NameLearner};
        let mut l = NameLearner::default();
        l.observe("ZOFRAN", "ONDANSETRON HYDROCHLORIDE", 3);
        // A learned name never overrides the curated dictionary (LIPITOR is in it).
        l.observe("LIPITOR", "SIMVASTATIN", 5);
        let mut n = DrugNormaliser::builtin();
        assert_eq!(
            n.normalise("zofran 4 mg", ""),
            ("ZOFRAN".into(), NameSource::Cleaned)
        );
        n.add_learned(&l.finish(LearningRule::default()));
        assert_eq!(
            n.normalise("zofran 4 mg", ""),
            ("ONDANSETRON".into(), NameSource::Learned)
        );
        assert_eq!(n.normalise("lipitor", "").0, "ATORVASTATIN");
        // prod_ai still comes first.
        assert_eq!(
            n.normalise("zofran", "GRANISETRON"),
            ("GRANISETRON".into(), NameSource::ProdAi)
        );
    }
}
