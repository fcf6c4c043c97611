//! wip
use crate::{Case, ClinicError};
/// wip
pub fn from_xml_bytes(_b: &[u8], o: &str) -> Result<Case, ClinicError> { Err(ClinicError::Xml{origin:o.into(), position:0, message:"wip".into()}) }
