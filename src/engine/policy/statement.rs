//! Statement-kind check: Clean Rooms runs only a single read-only `SELECT`. Everything else a
//! DataFusion plan can express (DDL, DML, `COPY`, `EXPLAIN`, `SET`, `PREPARE`, transactions,
//! `DESCRIBE`) is refused before anything runs. Several statements in one string never reach
//! here: DataFusion's planner refuses them itself ("only supports a single SQL statement").

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement, WriteOp};

use super::PolicyError;

/// Accepts `plan` only if it is a single read-only query: no node anywhere in it (subqueries
/// included) writes, defines, explains or configures anything.
///
/// # Errors
/// [`PolicyError::NotAQuery`] naming the first offending statement kind.
pub fn check_statement(plan: &LogicalPlan) -> Result<(), PolicyError> {
    let mut found: Option<String> = None;
    // The visitor never fails; a DataFusion error here would only mean an unreachable state,
    // which is treated as "not a query" below.
    let walked = plan.apply_with_subqueries(|node| {
        if let Some(kind) = statement_kind(node) {
            found = Some(kind);
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if let Some(statement) = found {
        return Err(PolicyError::NotAQuery { statement });
    }
    walked.map_err(|e| PolicyError::Lineage(e.to_string()))?;
    Ok(())
}

/// The statement kind of a node that is not part of a read-only query, `None` for query nodes.
pub(super) fn statement_kind(node: &LogicalPlan) -> Option<String> {
    let kind = match node {
        LogicalPlan::Ddl(ddl) => ddl_kind(ddl).to_string(),
        LogicalPlan::Dml(dml) => match &dml.op {
            WriteOp::Insert(_) => "INSERT".to_string(),
            WriteOp::Delete => "DELETE".to_string(),
            WriteOp::Update => "UPDATE".to_string(),
            WriteOp::Ctas => "CREATE TABLE AS".to_string(),
            WriteOp::Truncate => "TRUNCATE".to_string(),
            WriteOp::MergeInto(_) => "MERGE".to_string(),
            other => other.name().to_uppercase(),
        },
        LogicalPlan::Copy(_) => "COPY".to_string(),
        LogicalPlan::Explain(_) => "EXPLAIN".to_string(),
        LogicalPlan::Analyze(_) => "EXPLAIN ANALYZE".to_string(),
        LogicalPlan::DescribeTable(_) => "DESCRIBE".to_string(),
        LogicalPlan::Statement(statement) => statement_name(statement).to_string(),
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Window(_)
        | LogicalPlan::Aggregate(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Join(_)
        | LogicalPlan::Repartition(_)
        | LogicalPlan::Union(_)
        | LogicalPlan::TableScan(_)
        | LogicalPlan::EmptyRelation(_)
        | LogicalPlan::Subquery(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Values(_)
        | LogicalPlan::Extension(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::Unnest(_)
        | LogicalPlan::RecursiveQuery(_) => return None,
    };
    Some(kind)
}

/// SQL wording of a DDL statement.
fn ddl_kind(ddl: &DdlStatement) -> &'static str {
    match ddl {
        DdlStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE",
        DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
        DdlStatement::CreateView(_) => "CREATE VIEW",
        DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
        DdlStatement::CreateCatalog(_) => "CREATE DATABASE",
        DdlStatement::CreateIndex(_) => "CREATE INDEX",
        DdlStatement::DropTable(_) => "DROP TABLE",
        DdlStatement::DropView(_) => "DROP VIEW",
        DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
        DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
        DdlStatement::DropFunction(_) => "DROP FUNCTION",
    }
}

/// SQL wording of a session statement.
fn statement_name(statement: &Statement) -> &'static str {
    match statement {
        Statement::TransactionStart(_) => "START TRANSACTION",
        Statement::TransactionEnd(_) => "COMMIT/ROLLBACK",
        Statement::SetVariable(_) => "SET",
        Statement::ResetVariable(_) => "RESET",
        Statement::Prepare(_) => "PREPARE",
        Statement::Execute(_) => "EXECUTE",
        Statement::Deallocate(_) => "DEALLOCATE",
    }
}
