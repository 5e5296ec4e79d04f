//! The Entity Resolution operation handlers, one module per resource family.

pub mod id_mapping_workflows;
pub mod id_namespaces;
pub mod schema_mappings;
