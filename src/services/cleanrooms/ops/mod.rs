//! One module per Clean Rooms resource family; each function implements one operation.

pub mod collaborations;
pub mod tags;
