//! Substance synonyms: the names that denote the same active substance, each rule with its source.
//!
//! FAERS `prod_ai` and most US drug names use United States Adopted Names (USAN: acetaminophen,
//! albuterol); DiAna, the WHO ATC index and European data use International Nonproprietary Names
//! (INN: paracetamol, salbutamol). A salt or ester names the same active moiety as its parent
//! (alendronate sodium → alendronic acid, the name under which the WHO ATC index lists it).
//! [`canonical_substance`] maps a name to one canonical spelling (the INN where there is one) so
//! that two sources can be compared, and so that a stored US name finds its ATC code.
//!
//! Ingest does not rewrite stored ingredient names with this table (stored names stay FDA's, and
//! every existing output keeps its names); grouping and comparisons apply it on the way.
//!
//! Sources, as tagged per entry:
//! * `USAN/INN` — the US adopted name and the INN of one substance: WHO, *International
//!   Nonproprietary Names (INN) for pharmaceutical substances*, cumulative list; USP, *USP
//!   Dictionary of USAN and International Drug Names*. The pair is also the one the WHO ATC index
//!   (INN) and FDA's prod_ai (USAN) use for that substance.
//! * `BAN/INN` — a British Approved Name or common name beside the INN (aspirin: BAN;
//!   acetylsalicylic acid: INN).
//! * `ATC acid` — the salt or ester form of an acid listed under the acid in the WHO ATC index
//!   (WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD index: M05BA04
//!   alendronic acid, L04AA06 mycophenolic acid, N03AG01 valproic acid, J01CR02 amoxicillin and
//!   beta-lactamase inhibitor — clavulanic acid).
//! * `ATC vitamin` — a vitamin's INN and its vitamin name, as the WHO ATC index pairs them
//!   (A11CC05 colecalciferol = vitamin D3, A11CC01 ergocalciferol = vitamin D2, B03BA01
//!   cyanocobalamin = vitamin B12, B03BB01 folic acid = vitamin B9).
//! * `element salt` — a mineral salt given as its element, as DiAna's substance dictionary does
//!   (potassium chloride → potassium; WHO ATC A12BA potassium, A12AA calcium, B03A iron).
use std::collections::HashMap;
use std::sync::OnceLock;

/// `(name, canonical name, source)`, upper case. A name maps to its canonical name; the canonical
/// name maps to itself.
pub const SYNONYMS: &[(&str, &str, &str)] = &[
    ("ACETAMINOPHEN", "PARACETAMOL", "USAN/INN"),
    ("ALBUTEROL", "SALBUTAMOL", "USAN/INN"),
    ("LEVALBUTEROL", "LEVOSALBUTAMOL", "USAN/INN"),
    ("URSODIOL", "URSODEOXYCHOLIC ACID", "USAN/INN"),
    ("CEPHALEXIN", "CEFALEXIN", "USAN/INN"),
    ("MESALAMINE", "MESALAZINE", "USAN/INN"),
    ("TORSEMIDE", "TORASEMIDE", "USAN/INN"),
    ("DEXTROSE", "GLUCOSE", "USAN/INN"),
    ("CYCLOSPORINE", "CICLOSPORIN", "USAN/INN"),
    ("GLYBURIDE", "GLIBENCLAMIDE", "USAN/INN"),
    ("MEPERIDINE", "PETHIDINE", "USAN/INN"),
    ("ACYCLOVIR", "ACICLOVIR", "USAN/INN"),
    ("VALACYCLOVIR", "VALACICLOVIR", "USAN/INN"),
    ("AMPHETAMINE", "AMFETAMINE", "USAN/INN"),
    ("DEXTROAMPHETAMINE", "DEXAMFETAMINE", "USAN/INN"),
    ("LISDEXAMPHETAMINE", "LISDEXAMFETAMINE", "USAN/INN"),
    ("BECLOMETHASONE", "BECLOMETASONE", "USAN/INN"),
    ("RIFAMPIN", "RIFAMPICIN", "USAN/INN"),
    ("ISOPROTERENOL", "ISOPRENALINE", "USAN/INN"),
    ("NITROGLYCERIN", "GLYCERYL TRINITRATE", "USAN/INN"),
    ("CHOLECALCIFEROL", "COLECALCIFEROL", "USAN/INN"),
    ("DALFAMPRIDINE", "FAMPRIDINE", "USAN/INN"),
    ("LEUPROLIDE", "LEUPRORELIN", "USAN/INN"),
    ("POLYETHYLENE GLYCOL 3350", "MACROGOL", "USAN/INN"),
    ("POLYETHYLENE GLYCOL", "MACROGOL", "USAN/INN"),
    ("OXYBATE", "SODIUM OXYBATE", "USAN/INN"),
    ("OXYBATE SODIUM", "SODIUM OXYBATE", "USAN/INN"),
    ("CERTOLIZUMAB", "CERTOLIZUMAB PEGOL", "USAN/INN"),
    ("INDOMETHACIN", "INDOMETACIN", "USAN/INN"),
    ("METHYLENE BLUE", "METHYLTHIONINIUM", "USAN/INN"),
    ("LEUCOVORIN", "FOLINIC ACID", "USAN/INN"),
    ("CARBOCYSTEINE", "CARBOCISTEINE", "USAN/INN"),
    ("GLYCERIN", "GLYCEROL", "USAN/INN"),
    ("ALCOHOL", "ETHANOL", "USAN/INN"),
    ("ETHINYL ESTRADIOL", "ETHINYLESTRADIOL", "USAN/INN"),
    ("NORETHINDRONE", "NORETHISTERONE", "USAN/INN"),
    ("ONABOTULINUMTOXINA", "BOTULINUM TOXIN", "USAN/INN"),
    ("DOTHIEPIN", "DOSULEPIN", "BAN/INN"),
    ("ASPIRIN", "ACETYLSALICYLIC ACID", "BAN/INN"),
    ("ALENDRONATE", "ALENDRONIC ACID", "ATC acid"),
    ("RISEDRONATE", "RISEDRONIC ACID", "ATC acid"),
    ("IBANDRONATE", "IBANDRONIC ACID", "ATC acid"),
    ("MYCOPHENOLATE MOFETIL", "MYCOPHENOLIC ACID", "ATC acid"),
    ("MYCOPHENOLATE", "MYCOPHENOLIC ACID", "ATC acid"),
    ("DIVALPROEX", "VALPROIC ACID", "ATC acid"),
    ("VALPROATE", "VALPROIC ACID", "ATC acid"),
    ("CLAVULANATE", "CLAVULANIC ACID", "ATC acid"),
    ("VITAMIN D3", "COLECALCIFEROL", "ATC vitamin"),
    ("VITAMIN D2", "ERGOCALCIFEROL", "ATC vitamin"),
    ("VITAMIN B12", "CYANOCOBALAMIN", "ATC vitamin"),
    ("VITAMIN B9", "FOLIC ACID", "ATC vitamin"),
    ("VITAMIN C", "ASCORBIC ACID", "ATC vitamin"),
    ("VITAMIN B6", "PYRIDOXINE", "ATC vitamin"),
    ("POTASSIUM CHLORIDE", "POTASSIUM", "element salt"),
    ("CALCIUM CARBONATE", "CALCIUM", "element salt"),
    ("LITHIUM CARBONATE", "LITHIUM", "element salt"),
    ("MAGNESIUM OXIDE", "MAGNESIUM", "element salt"),
    ("FERROUS FUMARATE", "IRON", "element salt"),
    ("FERROUS SULFATE", "IRON", "element salt"),
    ("FERROUS GLUCONATE", "IRON", "element salt"),
    ("CALCIUM CITRATE", "CALCIUM", "element salt"),
    ("CALCIUM CHLORIDE", "CALCIUM", "element salt"),
    ("MAGNESIUM CHLORIDE", "MAGNESIUM", "element salt"),
    ("MAGNESIUM HYDROXIDE", "MAGNESIUM", "element salt"),
];

/// Salt and ester words dropped from the end of a name by [`canonical_substance`] (the active
/// moiety is the parent: WHO, *International Nonproprietary Names Modified* (INNM), on salts
/// and esters of INN substances). Words already dropped at ingest (`drugname::SALT_WORDS`) are
/// not repeated here; these are the ones the DiAna pairs showed besides them.
pub const ESTER_AND_SALT_WORDS: &[&str] = &[
    "OLAMINE",
    "PALMITATE",
    "DITOSYLATE",
    "ETABONATE",
    "CAPROATE",
    "ENANTHATE",
    "CYPIONATE",
    "BENZOATE",
    "ACETONIDE",
    "ASPARTATE",
    "SACCHARATE",
    "ETHYL",
    "MOFETIL",
];

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SYNONYMS
            .iter()
            .map(|&(from, to, source)| (from, (to, source)))
            .collect()
    })
}

/// The canonical name of one substance (upper case) and the source of the rule used, or `None`
/// when no rule applies (the name is then its own canonical name).
pub fn synonym_of(name: &str) -> Option<(&'static str, &'static str)> {
    let key = name.trim().to_uppercase();
    table().get(key.as_str()).copied()
}

/// The canonical form of a `;`-separated ingredient list: each ingredient through
/// [`synonym_of`], upper case, sorted, distinct (a combination is its sorted ingredient set).
///
/// Before the table, two naming rules apply to each ingredient: FDA's four-letter suffix of a
/// biological product is dropped (INFLIXIMAB-DYYB → INFLIXIMAB; FDA, *Nonproprietary Naming of
/// Biological Products*, guidance for industry, January 2017), and trailing salt or ester words
/// of [`ESTER_AND_SALT_WORDS`] are dropped when a word remains.
pub fn canonical_substance(names: &str) -> String {
    let mut parts: Vec<String> = names
        .split(';')
        .map(|p| p.trim().to_uppercase())
        .filter(|p| !p.is_empty())
        .map(|p| {
            if let Some((c, _)) = synonym_of(&p) {
                return c.to_owned();
            }
            let p = parent_name(&p);
            synonym_of(&p).map_or(p, |(c, _)| c.to_owned())
        })
        .collect();
    parts.sort();
    parts.dedup();
    parts.join(";")
}

/// The name without an FDA biological suffix and without trailing salt or ester words.
fn parent_name(name: &str) -> String {
    let mut words: Vec<&str> = name.split_whitespace().collect();
    if let [w] = words.as_mut_slice() {
        if let Some((stem, suffix)) = w.rsplit_once('-') {
            if suffix.len() == 4
                && suffix.bytes().all(|b| b.is_ascii_uppercase())
                && stem.len() > 4
                && stem.bytes().all(|b| b.is_ascii_uppercase())
            {
                *w = stem;
            }
        }
    }
    while words.len() > 1 && ESTER_AND_SALT_WORDS.contains(words.last().unwrap()) {
        words.pop();
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_meet() {
        // FAERS prod_ai (USAN) and DiAna (INN) spellings of the same combination.
        assert_eq!(
            canonical_substance("ACETAMINOPHEN;HYDROCODONE"),
            canonical_substance("hydrocodone;paracetamol")
        );
        assert_eq!(canonical_substance("Aspirin"), "ACETYLSALICYLIC ACID");
        assert_eq!(synonym_of("albuterol"), Some(("SALBUTAMOL", "USAN/INN")));
        assert_eq!(synonym_of("DUPILUMAB"), None);
        assert_eq!(canonical_substance("INFLIXIMAB-DYYB"), "INFLIXIMAB");
        assert_eq!(
            canonical_substance("PALIPERIDONE PALMITATE"),
            "PALIPERIDONE"
        );
        assert_eq!(
            canonical_substance("AMPHETAMINE ASPARTATE;DEXTROAMPHETAMINE SACCHARATE;AMPHETAMINE"),
            "AMFETAMINE;DEXAMFETAMINE"
        );
        assert_eq!(canonical_substance("FERROUS FUMARATE"), "IRON");
    }

    #[test]
    fn the_table_is_consistent() {
        for &(from, to, source) in SYNONYMS {
            assert_ne!(from, to);
            assert_eq!(from, from.to_uppercase());
            assert_eq!(to, to.to_uppercase());
            assert!(!source.is_empty());
            // Canonical names are fixed points: no chains.
            assert!(synonym_of(to).is_none(), "{to} is itself mapped");
        }
    }
}
