//! The Entity Resolution resources the emulator keeps — schema mappings, ID namespaces and
//! rule-based ID mapping workflows — as stored, their ARNs, and the checks on their contents
//! that need no I/O. A stored body is the resource's `Get…Output` shape, so a Get answers it
//! as stored.

use std::collections::{BTreeMap, BTreeSet};

use cleanrooms_emulator_api::entityresolution::dto;

use super::errors::validation;
use crate::error::AwsResult;

/// Record kinds in the metadata store.
pub mod kinds {
    /// A schema mapping (id `<region>:<account>:<name>`).
    pub const SCHEMA_MAPPING: &str = "entityresolution.schemamapping";
    /// An ID namespace (id `<region>:<account>:<name>`).
    pub const ID_NAMESPACE: &str = "entityresolution.idnamespace";
    /// An ID mapping workflow (id `<region>:<account>:<name>`).
    pub const ID_MAPPING_WORKFLOW: &str = "entityresolution.idmappingworkflow";
}

/// A stored schema mapping (`hasWorkflows` is computed on read).
pub type StoredSchemaMapping = dto::GetSchemaMappingOutput;
/// A stored ID namespace.
pub type StoredIdNamespace = dto::GetIdNamespaceOutput;
/// A stored ID mapping workflow.
pub type StoredIdMappingWorkflow = dto::GetIdMappingWorkflowOutput;

/// The record id of resource `name` of `account` in `region`.
pub fn record_id(region: &str, account: &str, name: &str) -> String {
    format!("{region}:{account}:{name}")
}

/// `arn:aws:entityresolution:{region}:{account}:{resource}/{name}`.
pub fn arn(region: &str, account: &str, resource: &str, name: &str) -> String {
    format!("arn:aws:entityresolution:{region}:{account}:{resource}/{name}")
}

/// The parts of an ARN: (service, region, account, resource type, resource path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArn {
    /// `glue` or `entityresolution`.
    pub service: String,
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// `table`, `idnamespace`, `idmappingworkflow`, `matchingworkflow`, `schemamapping`.
    pub resource_type: String,
    /// What follows `<resource type>/`.
    pub path: String,
}

/// Splits `arn:<partition>:<service>:<region>:<account>:<type>/<path>`.
pub fn parse_arn(arn: &str) -> Option<ParsedArn> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    if prefix != "arn" || !partition.starts_with("aws") {
        return None;
    }
    let (resource_type, path) = resource.split_once('/')?;
    Some(ParsedArn {
        service: service.to_string(),
        region: region.to_string(),
        account: account.to_string(),
        resource_type: resource_type.to_string(),
        path: path.to_string(),
    })
}

/// A Glue table named by an input source ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueTableRef {
    /// Owning account.
    pub account: String,
    /// Region of the catalog.
    pub region: String,
    /// Database.
    pub database: String,
    /// Table.
    pub table: String,
}

/// The Glue table of `arn:aws:glue:{region}:{account}:table/{database}/{table}`, if it is one.
pub fn glue_table_ref(arn: &str) -> Option<GlueTableRef> {
    let p = parse_arn(arn)?;
    if p.service != "glue" || p.resource_type != "table" {
        return None;
    }
    let (database, table) = p.path.split_once('/')?;
    Some(GlueTableRef {
        account: p.account,
        region: p.region,
        database: database.to_string(),
        table: table.to_string(),
    })
}

/// Checks a schema mapping's fields: unique field names, exactly one `UNIQUE_ID` field (the
/// record id an ID mapping returns), and no match key on it.
///
/// # Errors
/// `ValidationException` naming the field at fault.
pub fn check_mapped_fields(fields: &[dto::SchemaInputAttribute]) -> AwsResult<()> {
    let mut seen = BTreeSet::new();
    for f in fields {
        if !seen.insert(f.field_name.to_ascii_lowercase()) {
            return Err(validation(format!(
                "mappedInputFields: field name {} appears more than once",
                f.field_name
            )));
        }
    }
    let ids: Vec<&dto::SchemaInputAttribute> = fields
        .iter()
        .filter(|f| f.r#type == dto::SchemaAttributeType::UniqueId)
        .collect();
    match ids.as_slice() {
        [one] => {
            if one.match_key.as_deref().is_some_and(|k| !k.is_empty()) {
                return Err(validation(format!(
                    "mappedInputFields: the UNIQUE_ID field {} cannot have a matchKey",
                    one.field_name
                )));
            }
            Ok(())
        }
        [] => Err(validation(
            "mappedInputFields must contain exactly one field of type UNIQUE_ID; it has none",
        )),
        _ => Err(validation(format!(
            "mappedInputFields must contain exactly one field of type UNIQUE_ID; it has {}",
            ids.len()
        ))),
    }
}

/// The columns behind each match key of a schema mapping (in field order).
pub fn match_keys(mapping: &StoredSchemaMapping) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &mapping.mapped_input_fields {
        if let Some(k) = f.match_key.as_deref().filter(|k| !k.is_empty()) {
            keys.entry(k.to_string())
                .or_default()
                .push(f.field_name.clone());
        }
    }
    keys
}

/// The `UNIQUE_ID` column of a schema mapping.
pub fn unique_id_column(mapping: &StoredSchemaMapping) -> Option<String> {
    mapping
        .mapped_input_fields
        .iter()
        .find(|f| f.r#type == dto::SchemaAttributeType::UniqueId)
        .map(|f| f.field_name.clone())
}

/// Checks that every rule names match keys and that rule names are unique.
///
/// # Errors
/// `ValidationException` naming the rule.
pub fn check_rules(rules: &[dto::Rule], field: &str) -> AwsResult<()> {
    let mut names = BTreeSet::new();
    for r in rules {
        if !names.insert(r.rule_name.as_str()) {
            return Err(validation(format!(
                "{field}: rule name {} appears more than once",
                r.rule_name
            )));
        }
        if r.matching_keys.is_empty() {
            return Err(validation(format!(
                "{field}: rule {} has no matchingKeys",
                r.rule_name
            )));
        }
    }
    Ok(())
}

/// The error for provider-based ID mapping, which the emulator cannot run.
pub fn provider_unsupported(field: &str) -> crate::error::AwsError {
    validation(format!(
        "{field}: idMappingType PROVIDER is not available in the emulator: provider-based matching needs an AWS Data Exchange provider service; use RULE_BASED"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_table_arns() {
        let t = glue_table_ref("arn:aws:glue:us-east-1:111111111111:table/db/t1").unwrap();
        assert_eq!(
            (t.account.as_str(), t.database.as_str(), t.table.as_str()),
            ("111111111111", "db", "t1")
        );
        assert!(glue_table_ref("arn:aws:entityresolution:us-east-1:1:idnamespace/x").is_none());
        assert!(glue_table_ref("arn:aws:glue:us-east-1:111111111111:database/db").is_none());
    }

    fn field(
        name: &str,
        t: dto::SchemaAttributeType,
        key: Option<&str>,
    ) -> dto::SchemaInputAttribute {
        dto::SchemaInputAttribute {
            field_name: name.into(),
            group_name: None,
            hashed: None,
            match_key: key.map(str::to_string),
            sub_type: None,
            r#type: t,
        }
    }

    #[test]
    fn mapped_fields_need_one_unique_id() {
        use dto::SchemaAttributeType as T;
        let ok = [
            field("id", T::UniqueId, None),
            field("email", T::EmailAddress, Some("EMAIL")),
        ];
        assert!(check_mapped_fields(&ok).is_ok());
        let none = [
            field("a", T::String, None),
            field("email", T::EmailAddress, Some("EMAIL")),
        ];
        assert!(check_mapped_fields(&none).is_err());
        let dup = [field("id", T::UniqueId, None), field("ID", T::String, None)];
        assert!(check_mapped_fields(&dup).is_err());
    }
}
