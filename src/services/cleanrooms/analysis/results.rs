//! Writing a protected query's results into the emulator's S3: CSV with a header row or
//! Parquet, under `<keyPrefix>/<queryId>/`, one file per output partition (or exactly one with
//! `singleFileOutput`). Rows stream from the engine into a staging file batch by batch, and
//! each finished file is published as an S3 object owned by the receiving account.

use std::fs::File;
use std::path::Path;

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::StreamExt;

use super::run::RunError;
use crate::services::cleanrooms::protected_query::error_codes;
use crate::services::s3::objects::put_local_file;
use crate::state::AppState;

/// Where results go.
#[derive(Debug, Clone)]
pub struct S3Target {
    /// Account that owns the bucket and receives the results.
    pub account: String,
    /// Bucket.
    pub bucket: String,
    /// Key prefix without trailing slash (may be empty).
    pub key_prefix: String,
    /// CSV or PARQUET.
    pub format: dto::ResultFormat,
    /// One file instead of one per partition.
    pub single_file: bool,
}

impl S3Target {
    /// From the model's S3 output configuration, for `account`.
    pub fn new(account: &str, c: &dto::ProtectedQueryS3OutputConfiguration) -> Self {
        Self {
            account: account.to_string(),
            bucket: c.bucket.clone(),
            key_prefix: c
                .key_prefix
                .as_deref()
                .unwrap_or("")
                .trim_matches('/')
                .to_string(),
            format: c.result_format,
            single_file: c.single_file_output.unwrap_or(false),
        }
    }

    fn folder(&self, query_id: &str) -> String {
        if self.key_prefix.is_empty() {
            format!("{query_id}/")
        } else {
            format!("{}/{query_id}/", self.key_prefix)
        }
    }

    fn extension(&self) -> &'static str {
        match self.format {
            dto::ResultFormat::Csv => "csv",
            dto::ResultFormat::Parquet => "parquet",
        }
    }
}

/// Result of writing.
#[derive(Debug, Clone)]
pub struct Written {
    /// `result.output.s3.location`: the file with `singleFileOutput`, else the folder.
    pub location: String,
    /// Rows written.
    pub rows: u64,
}

/// Runs `plan` in `ctx` and writes its rows to `target`.
///
/// # Errors
/// Engine failures while running, and S3 failures publishing the files (missing bucket, bucket
/// of another account).
pub async fn write_s3(
    state: &AppState,
    query_id: &str,
    ctx: &SessionContext,
    plan: LogicalPlan,
    target: &S3Target,
) -> Result<Written, RunError> {
    let df = DataFrame::new(ctx.state(), plan);
    let schema: SchemaRef = df.schema().inner().clone();
    let folder = target.folder(query_id);
    let staging_dir = state.data_dir().join("s3-tmp");
    std::fs::create_dir_all(&staging_dir).map_err(|e| RunError::internal(e.to_string()))?;
    if target.single_file {
        let stream = df.execute_stream().await.map_err(RunError::engine)?;
        let key = format!("{folder}result.{}", target.extension());
        let rows = write_file(state, target, &staging_dir, &key, schema, stream).await?;
        return Ok(Written {
            location: format!("s3://{}/{key}", target.bucket),
            rows,
        });
    }
    let streams = df
        .execute_stream_partitioned()
        .await
        .map_err(RunError::engine)?;
    let mut rows = 0;
    let total = streams.len();
    for (i, stream) in streams.into_iter().enumerate() {
        let key = format!("{folder}part-{i:05}.{}", target.extension());
        // Every partition gets a file only if it has rows; an empty result still gets one file
        // with the header (CSV) or the schema (Parquet).
        let keep_empty = i + 1 == total && rows == 0;
        rows += write_partition(
            state,
            target,
            &staging_dir,
            &key,
            &schema,
            stream,
            keep_empty,
        )
        .await?;
    }
    Ok(Written {
        location: format!("s3://{}/{folder}", target.bucket),
        rows,
    })
}

async fn write_partition(
    state: &AppState,
    target: &S3Target,
    staging_dir: &Path,
    key: &str,
    schema: &SchemaRef,
    mut stream: SendableRecordBatchStream,
    keep_empty: bool,
) -> Result<u64, RunError> {
    // Peek at the first non-empty batch so empty partitions leave no file behind.
    let first = loop {
        match stream.next().await {
            Some(Ok(b)) if b.num_rows() == 0 => continue,
            Some(Ok(b)) => break Some(b),
            Some(Err(e)) => return Err(RunError::engine(e)),
            None => break None,
        }
    };
    if first.is_none() && !keep_empty {
        return Ok(0);
    }
    let rest = futures::stream::iter(first.map(Ok)).chain(stream);
    let adapter =
        datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema.clone(), rest);
    write_file(
        state,
        target,
        staging_dir,
        key,
        schema.clone(),
        Box::pin(adapter),
    )
    .await
}

enum Writer {
    Csv(Box<csv::Writer<File>>),
    Parquet(Box<ArrowWriter<File>>),
}

impl Writer {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match self {
            Self::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Self::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self {
            Self::Csv(w) => w.into_inner().sync_all().map_err(|e| e.to_string()),
            Self::Parquet(w) => w.close().map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

async fn write_file(
    state: &AppState,
    target: &S3Target,
    staging_dir: &Path,
    key: &str,
    schema: SchemaRef,
    mut stream: SendableRecordBatchStream,
) -> Result<u64, RunError> {
    let staged = tempfile::NamedTempFile::new_in(staging_dir)
        .map_err(|e| RunError::internal(format!("cannot stage results: {e}")))?;
    let file = staged
        .reopen()
        .map_err(|e| RunError::internal(format!("cannot stage results: {e}")))?;
    let mut writer = match target.format {
        dto::ResultFormat::Csv => Writer::Csv(Box::new(
            csv::WriterBuilder::new().with_header(true).build(file),
        )),
        dto::ResultFormat::Parquet => Writer::Parquet(Box::new(
            ArrowWriter::try_new(file, schema, None)
                .map_err(|e| RunError::internal(format!("cannot write Parquet: {e}")))?,
        )),
    };
    let mut rows = 0u64;
    let mut wrote_header = false;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(RunError::engine)?;
        rows += batch.num_rows() as u64;
        writer
            .write(&batch)
            .map_err(|e| RunError::internal(format!("cannot write results: {e}")))?;
        wrote_header = true;
    }
    if !wrote_header {
        // An empty CSV still carries its header row.
        if let Writer::Csv(w) = &mut writer {
            let empty = RecordBatch::new_empty(stream.schema());
            w.write(&empty)
                .map_err(|e| RunError::internal(format!("cannot write results: {e}")))?;
        }
    }
    writer
        .finish()
        .map_err(|e| RunError::internal(format!("cannot write results: {e}")))?;
    let content_type = match target.format {
        dto::ResultFormat::Csv => "text/csv",
        dto::ResultFormat::Parquet => "application/octet-stream",
    };
    put_local_file(
        state,
        &target.account,
        &target.bucket,
        key,
        staged.path(),
        Some(content_type),
    )
    .await
    .map_err(|e| {
        let code = match e.code.as_str() {
            "NoSuchBucket" => error_codes::RESOURCE_NOT_FOUND,
            "AccessDenied" => error_codes::RESOURCE_ACCESS_DENIED,
            _ => error_codes::INTERNAL_ERROR,
        };
        RunError::new(
            code,
            format!(
                "Results could not be written to s3://{}/{key}: {}",
                target.bucket, e.message
            ),
        )
    })?;
    Ok(rows)
}
