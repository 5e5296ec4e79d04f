//! One module per Clean Rooms resource family; each function implements one operation.

pub mod associations;
pub mod collaborations;
pub mod memberships;
pub mod tags;
