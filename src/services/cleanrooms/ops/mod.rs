//! Layer 4 of the Clean Rooms service: the operation handlers, one module per resource family.
//! A handler turns an AWS input into calls of the layers below (records, analysis, workflows)
//! and their results into the AWS output; handlers share nothing with each other, and a module
//! here exports nothing but its operations.

pub mod analysis_logs;
pub mod analysis_templates;
pub mod associations;
pub mod audience_model_associations;
pub mod change_requests;
pub mod children;
pub mod collaborations;
pub mod configured_tables;
pub mod id_mapping_tables;
pub mod id_namespace_associations;
pub mod intermediate_table_rules;
pub mod intermediate_tables;
pub mod memberships;
pub mod privacy_budget_templates;
pub mod protected_jobs;
pub mod protected_queries;
pub mod runs;
pub mod schemas;
pub mod tags;
