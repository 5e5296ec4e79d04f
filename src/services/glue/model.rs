//! The Glue Data Catalog as stored: databases, tables (with their archived versions) and
//! partitions, each one record per resource in the metadata store, scoped to one account and
//! region. A record's body keeps the model's own output shape (`Database`, `Table`,
//! `Partition`) plus the few facts the emulator adds (a stable id, what the LakeFormation API
//! sent that Glue's shapes cannot hold).
//!
//! Record ids contain the full path (account, region, database, table, partition values), so a
//! lookup is a point read; a record's parent is the containing database or table, so listings and
//! cascading deletes are parent queries.

use cleanrooms_emulator_api::glue::dto;
use serde::{Deserialize, Serialize};

/// Record kinds in the metadata store.
pub mod kinds {
    /// A database (parent: none; listed by account and region).
    pub const DATABASE: &str = "glue.database";
    /// A table (parent: its database's record id).
    pub const TABLE: &str = "glue.table";
    /// An archived version of a table (parent: the table's record id).
    pub const TABLE_VERSION: &str = "glue.table_version";
    /// A partition (parent: its table's record id).
    pub const PARTITION: &str = "glue.partition";
}

/// Folds a database or table name the way Glue stores it (spec B.1): lower case.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// One account's Data Catalog in one region: the scope of every Glue resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog<'a> {
    /// The owning account (also the Glue `CatalogId`).
    pub account: &'a str,
    /// The region.
    pub region: &'a str,
}

/// An unambiguous id from path components (names may contain any printable character).
fn record_id(parts: &[&str]) -> String {
    serde_json::to_string(parts).unwrap_or_default()
}

impl<'a> Catalog<'a> {
    /// The catalog of `account` in `region`.
    pub fn new(account: &'a str, region: &'a str) -> Self {
        Self { account, region }
    }

    /// Record id of database `db` (already folded).
    pub fn database_id(&self, db: &str) -> String {
        record_id(&[self.account, self.region, db])
    }

    /// Record id of table `db.table` (already folded).
    pub fn table_id(&self, db: &str, table: &str) -> String {
        record_id(&[self.account, self.region, db, table])
    }

    /// Record id of the partition of `db.table` with `values`.
    pub fn partition_id(&self, db: &str, table: &str, values: &[String]) -> String {
        let mut parts = vec![self.account, self.region, db, table, "partition"];
        parts.extend(values.iter().map(String::as_str));
        record_id(&parts)
    }
}

/// Record id of version `version` of the table whose record id is `table_id`.
pub fn table_version_id(table_id: &str, version: &str) -> String {
    format!("{table_id}#{version}")
}

/// A database as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDatabase {
    /// The database as GetDatabase returns it.
    pub database: dto::Database,
    /// Stable id minted at creation (the LakeFormation API's `database_id`).
    pub uid: String,
    /// Tags given at creation.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A table as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTable {
    /// The table as GetTable returns it (current version).
    pub table: dto::Table,
    /// Stable id minted at creation (the LakeFormation API's `table_id`).
    pub uid: String,
}

impl StoredTable {
    /// The folded database name.
    pub fn database_name(&self) -> &str {
        self.table.database_name.as_deref().unwrap_or_default()
    }

    /// The declared partition keys (empty for an unpartitioned table).
    pub fn partition_keys(&self) -> &[dto::Column] {
        self.table.partition_keys.as_deref().unwrap_or_default()
    }
}

/// What a LakeFormation-created partition carried that Glue's `Partition` shape cannot hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartitionExtras {
    /// `skewed_column_values` in its nested form (Glue's `SkewedColumnValues` is flat).
    #[serde(default)]
    pub skewed_column_values: Vec<Vec<String>>,
    /// `sort_columns` as sent (LakeFormation allows an order without a column).
    #[serde(default)]
    pub sort_columns: Vec<ExtraOrder>,
}

/// One `sort_columns` entry of the LakeFormation API.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExtraOrder {
    /// Column name.
    pub column: Option<String>,
    /// 1 ascending, 0 descending.
    pub sort_order: Option<i32>,
}

/// A partition as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPartition {
    /// The partition as GetPartition returns it.
    pub partition: dto::Partition,
    /// Stable id minted at creation (the LakeFormation API's `partition_id`).
    pub uid: String,
    /// Present when the partition was created through the LakeFormation API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lakeformation: Option<PartitionExtras>,
}

impl StoredPartition {
    /// The partition values.
    pub fn values(&self) -> &[String] {
        self.partition.values.as_deref().unwrap_or_default()
    }
}

/// A stable id for a new resource (32 lowercase hex digits, as LakeFormation's ids look).
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The `CreatedBy` ARN of a caller.
pub fn caller_arn(account: &str, access_key_id: Option<&str>) -> String {
    format!(
        "arn:aws:iam::{account}:user/{}",
        access_key_id.unwrap_or(account)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unambiguous() {
        let c = Catalog::new("111111111111", "us-east-1");
        assert_ne!(c.table_id("a:b", "c"), c.table_id("a", "b:c"));
        assert_ne!(
            c.partition_id("d", "t", &["a\",\"b".into()]),
            c.partition_id("d", "t", &["a".into(), "b".into()])
        );
        assert_ne!(
            c.database_id("d"),
            Catalog::new("222222222222", "us-east-1").database_id("d")
        );
    }
}
