//! The Glue implementation of the generated `GlueApi` trait: each method delegates to its
//! operation in `ops/`. Operations not listed here keep the trait's 501 default.

use cleanrooms_emulator_api::glue::api::GlueApi;
use cleanrooms_emulator_api::glue::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::{databases, partitions, tables};
use crate::error::AwsResult;
use crate::state::AppState;

/// Glue bound to the emulator state.
#[derive(Debug, Clone)]
pub struct Glue {
    state: AppState,
}

impl Glue {
    /// The service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl GlueApi for Glue {
    async fn create_database(
        &self,
        ctx: &RequestContext,
        input: dto::CreateDatabaseRequest,
    ) -> AwsResult<dto::CreateDatabaseResponse> {
        databases::create_database(&self.state, ctx, input).await
    }

    async fn get_database(
        &self,
        ctx: &RequestContext,
        input: dto::GetDatabaseRequest,
    ) -> AwsResult<dto::GetDatabaseResponse> {
        databases::get_database(&self.state, ctx, input).await
    }

    async fn get_databases(
        &self,
        ctx: &RequestContext,
        input: dto::GetDatabasesRequest,
    ) -> AwsResult<dto::GetDatabasesResponse> {
        databases::get_databases(&self.state, ctx, input).await
    }

    async fn update_database(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateDatabaseRequest,
    ) -> AwsResult<dto::UpdateDatabaseResponse> {
        databases::update_database(&self.state, ctx, input).await
    }

    async fn delete_database(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteDatabaseRequest,
    ) -> AwsResult<dto::DeleteDatabaseResponse> {
        databases::delete_database(&self.state, ctx, input).await
    }

    async fn create_table(
        &self,
        ctx: &RequestContext,
        input: dto::CreateTableRequest,
    ) -> AwsResult<dto::CreateTableResponse> {
        tables::create_table(&self.state, ctx, input).await
    }

    async fn get_table(
        &self,
        ctx: &RequestContext,
        input: dto::GetTableRequest,
    ) -> AwsResult<dto::GetTableResponse> {
        tables::get_table(&self.state, ctx, input).await
    }

    async fn get_tables(
        &self,
        ctx: &RequestContext,
        input: dto::GetTablesRequest,
    ) -> AwsResult<dto::GetTablesResponse> {
        tables::get_tables(&self.state, ctx, input).await
    }

    async fn update_table(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateTableRequest,
    ) -> AwsResult<dto::UpdateTableResponse> {
        tables::update_table(&self.state, ctx, input).await
    }

    async fn delete_table(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteTableRequest,
    ) -> AwsResult<dto::DeleteTableResponse> {
        tables::delete_table(&self.state, ctx, input).await
    }

    async fn batch_delete_table(
        &self,
        ctx: &RequestContext,
        input: dto::BatchDeleteTableRequest,
    ) -> AwsResult<dto::BatchDeleteTableResponse> {
        tables::batch_delete_table(&self.state, ctx, input).await
    }

    async fn create_partition(
        &self,
        ctx: &RequestContext,
        input: dto::CreatePartitionRequest,
    ) -> AwsResult<dto::CreatePartitionResponse> {
        partitions::create_partition(&self.state, ctx, input).await
    }

    async fn batch_create_partition(
        &self,
        ctx: &RequestContext,
        input: dto::BatchCreatePartitionRequest,
    ) -> AwsResult<dto::BatchCreatePartitionResponse> {
        partitions::batch_create_partition(&self.state, ctx, input).await
    }

    async fn get_partition(
        &self,
        ctx: &RequestContext,
        input: dto::GetPartitionRequest,
    ) -> AwsResult<dto::GetPartitionResponse> {
        partitions::get_partition(&self.state, ctx, input).await
    }

    async fn get_partitions(
        &self,
        ctx: &RequestContext,
        input: dto::GetPartitionsRequest,
    ) -> AwsResult<dto::GetPartitionsResponse> {
        partitions::get_partitions(&self.state, ctx, input).await
    }

    async fn batch_get_partition(
        &self,
        ctx: &RequestContext,
        input: dto::BatchGetPartitionRequest,
    ) -> AwsResult<dto::BatchGetPartitionResponse> {
        partitions::batch_get_partition(&self.state, ctx, input).await
    }

    async fn update_partition(
        &self,
        ctx: &RequestContext,
        input: dto::UpdatePartitionRequest,
    ) -> AwsResult<dto::UpdatePartitionResponse> {
        partitions::update_partition(&self.state, ctx, input).await
    }

    async fn delete_partition(
        &self,
        ctx: &RequestContext,
        input: dto::DeletePartitionRequest,
    ) -> AwsResult<dto::DeletePartitionResponse> {
        partitions::delete_partition(&self.state, ctx, input).await
    }

    async fn batch_delete_partition(
        &self,
        ctx: &RequestContext,
        input: dto::BatchDeletePartitionRequest,
    ) -> AwsResult<dto::BatchDeletePartitionResponse> {
        partitions::batch_delete_partition(&self.state, ctx, input).await
    }
}
