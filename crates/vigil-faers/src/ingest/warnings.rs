//! Field-level warnings: a value that cannot be parsed is stored as null, counted under
//! `table.column`, and the first ones are listed with file, line and raw value.
use std::collections::BTreeMap;

use vigil_store::ingest_report::RowIssue;

use super::MAX_WARNING_EXAMPLES;
use crate::discover::InputFile;

/// Field-level warnings (a value that could not be parsed is stored as null, and counted).
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    pub counts: BTreeMap<String, u64>,
    pub examples: Vec<RowIssue>,
}

impl Warnings {
    pub(super) fn add(
        &mut self,
        file: &str,
        line: u64,
        table: &str,
        field: &str,
        reason: String,
        raw: &str,
    ) {
        self.add_at(file, line, table, field, field, reason, raw);
    }
    /// Counts a warning under `table.column` and lists it with `location` as its field (a column
    /// name, or a JSON path for openFDA).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_at(
        &mut self,
        file: &str,
        line: u64,
        table: &str,
        column: &str,
        location: &str,
        reason: String,
        raw: &str,
    ) {
        *self.counts.entry(format!("{table}.{column}")).or_default() += 1;
        if self.examples.len() < MAX_WARNING_EXAMPLES {
            self.examples.push(RowIssue {
                file: file.to_owned(),
                line,
                field: Some(location.to_owned()),
                reason,
                raw: raw.to_owned(),
            });
        }
    }
    pub(crate) fn merge(&mut self, o: Warnings) {
        for (k, v) in o.counts {
            *self.counts.entry(k).or_default() += v;
        }
        let room = MAX_WARNING_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(o.examples.into_iter().take(room));
    }
}

pub(super) fn issue(
    file: &InputFile,
    line: u64,
    field: Option<&str>,
    reason: String,
    raw: &str,
) -> RowIssue {
    RowIssue {
        file: file.display.clone(),
        line,
        field: field.map(str::to_owned),
        reason,
        raw: raw.to_owned(),
    }
}
