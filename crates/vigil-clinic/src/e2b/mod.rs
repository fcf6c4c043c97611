//! ICH E2B(R3) ICSR XML: export a [`Case`](crate::Case) and import one back.
/// Writing.
pub mod export;
/// Reading.
pub mod import;
