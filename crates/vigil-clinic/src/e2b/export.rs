//! wip
/// wip
pub fn placeholder() {}
