//! FAERS tables, eras and the unified column names.
use vigil_store::layout::ChildTable;

/// One of the seven FAERS/AERS tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// DEMO: one row per report (case version).
    Demo,
    /// DRUG.
    Drug,
    /// REAC.
    Reac,
    /// OUTC.
    Outc,
    /// RPSR.
    Rpsr,
    /// THER.
    Ther,
    /// INDI.
    Indi,
}

impl Table {
    /// All tables, DEMO first.
    pub const ALL: [Table; 7] = [
        Table::Demo,
        Table::Drug,
        Table::Reac,
        Table::Outc,
        Table::Rpsr,
        Table::Ther,
        Table::Indi,
    ];

    /// The table a file belongs to, from its name's prefix (any letter case), for `.txt` files.
    /// `STAT*` files, PDFs and deleted-case lists are not tables.
    pub fn from_file_name(name: &str) -> Option<Table> {
        let upper = name.to_ascii_uppercase();
        if !upper.ends_with(".TXT") {
            return None;
        }
        Table::ALL
            .into_iter()
            .find(|t| upper.starts_with(t.prefix()))
    }

    /// File-name prefix, upper case.
    pub fn prefix(self) -> &'static str {
        match self {
            Table::Demo => "DEMO",
            Table::Drug => "DRUG",
            Table::Reac => "REAC",
            Table::Outc => "OUTC",
            Table::Rpsr => "RPSR",
            Table::Ther => "THER",
            Table::Indi => "INDI",
        }
    }

    /// Lower-case name used in the ingest report.
    pub fn key(self) -> &'static str {
        match self {
            Table::Demo => "demo",
            Table::Drug => "drug",
            Table::Reac => "reac",
            Table::Outc => "outc",
            Table::Rpsr => "rpsr",
            Table::Ther => "ther",
            Table::Indi => "indi",
        }
    }

    /// The store table of a child table (`None` for DEMO, which becomes `reports`).
    pub fn child(self) -> Option<ChildTable> {
        match self {
            Table::Demo => None,
            Table::Drug => Some(ChildTable::Drugs),
            Table::Reac => Some(ChildTable::Reactions),
            Table::Outc => Some(ChildTable::Outcomes),
            Table::Rpsr => Some(ChildTable::ReportSources),
            Table::Ther => Some(ChildTable::Therapies),
            Table::Indi => Some(ChildTable::Indications),
        }
    }
}

/// The era of a file, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Legacy AERS, 2004Q1–2012Q3: ISR-keyed, upper-case headers, no caseid in child tables.
    Aers,
    /// FAERS 2012Q4–2014Q2 ("version A": gndr_cod, no prod_ai).
    FaersA,
    /// FAERS 2014Q3 on ("version B": sex, prod_ai, age_grp, drug_rec_act).
    FaersB,
}

impl Era {
    /// Name used in the ingest report.
    pub fn name(self) -> &'static str {
        match self {
            Era::Aers => "aers",
            Era::FaersA => "faers-a",
            Era::FaersB => "faers-b",
        }
    }

    /// Detects the era from a trimmed, lower-cased header (before renaming). Tables whose
    /// columns did not change between FAERS versions (OUTC, RPSR, THER, INDI) are told apart by
    /// `quarter_key` (`year*10 + q`; 2014Q3 = 20143 is the first version-B quarter).
    pub fn detect(table: Table, header: &[String], quarter_key: Option<u32>) -> Era {
        let has = |n: &str| header.iter().any(|h| h == n);
        if has("isr") {
            return Era::Aers;
        }
        match table {
            Table::Demo if has("age_grp") || has("sex") => Era::FaersB,
            Table::Drug if has("prod_ai") => Era::FaersB,
            Table::Reac if has("drug_rec_act") => Era::FaersB,
            Table::Demo | Table::Drug | Table::Reac => Era::FaersA,
            _ => match quarter_key {
                Some(k) if k < 20143 => Era::FaersA,
                _ => Era::FaersB,
            },
        }
    }
}

/// Renames one header name to the unified schema (after trimming and lower-casing).
///
/// Sources: faers-format.md §2d (open-altio's renames): isr→primaryid, case→caseid,
/// i_f_cod→i_f_code, gndr_cod→sex, lot_nbr→lot_num, outc_code→outc_cod, legacy THER and INDI
/// drug_seq→dsg_drug_seq / indi_drug_seq. In DEMO the raw sex code is stored as `sex_raw`
/// (the store's `sex` is the normalised M/F/unknown).
pub fn unify_name(table: Table, name: &str) -> String {
    let n = match name {
        "isr" => "primaryid",
        "case" => "caseid",
        "i_f_cod" => "i_f_code",
        "gndr_cod" | "sex" if table == Table::Demo => "sex_raw",
        "lot_nbr" => "lot_num",
        "outc_code" => "outc_cod",
        "drug_seq" if table == Table::Ther => "dsg_drug_seq",
        "drug_seq" if table == Table::Indi => "indi_drug_seq",
        other => other,
    };
    n.to_owned()
}

/// Index of each wanted unified column in a header (after [`unify_name`]).
pub fn column_indexes(table: Table, header: &[String], wanted: &[&str]) -> Vec<Option<usize>> {
    let unified: Vec<String> = header.iter().map(|h| unify_name(table, h)).collect();
    wanted
        .iter()
        .map(|w| unified.iter().position(|u| u == w))
        .collect()
}
