//! Drug knowledge the rest of vigil shares, one module per drug, every fact with its source in the
//! project's clinical knowledge base (`clinical.md §n`).
//!
//! - [`dupilumab`]: the flagship drug: its names, label regimens, missed-dose rule, the reactions
//!   of interest and which clinical entity a reported term names. The server, `vigil demo` and
//!   `vigil report` read these from here.

pub mod dupilumab;
