//! Reading one version of a managed table as a DataFusion table. The provider is read-only:
//! managed tables change only through [`ManagedStorage::write_version`].

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Constraints, Statistics};
use datafusion::datasource::TableType;
use datafusion::error::Result as DataFusionResult;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use deltalake::delta_datafusion::DeltaScanNext;
use deltalake::DeltaTableBuilder;

use super::log::readable_version;
use super::table_id::TableId;
use super::{table_url, ManagedStorage, StorageError};

impl ManagedStorage {
    /// A read-only table reading exactly Delta version `delta_version` of `table_id`. Older
    /// versions stay readable after newer ones are written, until [`ManagedStorage::retain_only`]
    /// removes them.
    ///
    /// # Errors
    /// [`StorageError::InvalidTableId`], [`StorageError::TableNotFound`],
    /// [`StorageError::VersionNotFound`], [`StorageError::VersionRemoved`], or the delta-rs /
    /// DataFusion error that prevented loading the version.
    pub async fn provider(
        &self,
        table_id: &str,
        delta_version: i64,
    ) -> Result<Arc<dyn TableProvider>, StorageError> {
        let id = TableId::parse(table_id)?;
        let dir = self.table_dir(&id);
        let version = readable_version(&id, &dir, delta_version).await?;

        let log_store = DeltaTableBuilder::from_url(table_url(&dir)?)
            .and_then(|builder| builder.build_storage())
            .map_err(|e| StorageError::delta(id.as_str(), e))?;
        let scan = DeltaScanNext::builder()
            .with_log_store(log_store)
            .with_table_version(version)
            .build()
            .await
            .map_err(|e| StorageError::datafusion(id.as_str(), e))?;
        Ok(Arc::new(ManagedTableProvider {
            inner: Arc::new(scan),
        }))
    }
}

/// A Delta scan with every write path (insert, delete, update…) left unimplemented.
#[derive(Debug)]
struct ManagedTableProvider {
    inner: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for ManagedTableProvider {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        None
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DataFusionResult<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }
}
