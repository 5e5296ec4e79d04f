//! Layer 1 of the Clean Rooms service: what is true. The stored resource types, their
//! invariants and status transitions, and the pure rules about them (ARNs, names, lineage,
//! budget arithmetic). Nothing here is async or touches the store, the engine or the state: every
//! function takes values and returns values, so each rule is decided in one place and can be
//! tested on its own.

pub mod analysis_log;
pub mod analysis_template;
pub mod arn;
pub mod association;
pub mod audience_model_association;
pub mod budget;
pub mod change_request;
pub mod child;
pub mod collaboration;
pub mod configured_table;
pub mod id_mapping;
pub mod intermediate_table;
pub mod lineage;
pub mod membership;
pub mod naming;
pub mod privacy_budget_template;
pub mod protected_job;
pub mod protected_query;
pub mod run_status;
pub mod summary;
