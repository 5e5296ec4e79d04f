//! Small shared helpers: ids, ARNs, time formats and pagination tokens.

pub mod ids;
pub mod pagination;
pub mod time;
