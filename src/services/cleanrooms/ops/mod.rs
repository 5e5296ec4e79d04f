//! One module per Clean Rooms resource family; each function implements one operation.

pub mod associations;
pub mod collaborations;
pub mod configured_table_rules;
pub mod configured_tables;
pub mod memberships;
pub mod privacy_budget_templates;
pub mod tags;
