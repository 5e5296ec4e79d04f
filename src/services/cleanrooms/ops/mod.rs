//! One module per Clean Rooms resource family; each function implements one operation.

pub mod analysis_templates;
pub mod associations;
pub mod collaborations;
pub mod configured_table_rules;
pub mod configured_tables;
pub mod dp_validation;
pub mod intermediate_schemas;
pub mod intermediate_table_rules;
pub mod intermediate_tables;
pub mod memberships;
pub mod populate;
pub mod privacy_budget_templates;
pub mod protected_queries;
pub mod schemas;
pub mod tags;
