//! Writing a protected query's results into the emulator's S3: CSV with a header row or
//! Parquet, under `<keyPrefix>/<queryId>/`, one file per output partition (or exactly one with
//! `singleFileOutput`). Rows stream from the engine into a staging file batch by batch, and
//! each finished file is published as an S3 object owned by the receiving account.

use crate::services::cleanrooms::analysis::outcome::engine_error;
use crate::services::cleanrooms::domain::protected_query::{error_codes, RunError};
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

use crate::services::s3::facade::put_local_file;
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

/// Runs `plan` in `ctx` once and writes its rows to every target (each in its own format and
/// layout). Any target asking for a single file makes the run produce one stream, so every
/// target then gets one file.
///
/// # Errors
/// Engine failures while running, and S3 failures publishing the files (missing bucket, bucket
/// of another account).
pub async fn write_results(
    state: &AppState,
    query_id: &str,
    ctx: &SessionContext,
    plan: LogicalPlan,
    targets: &[S3Target],
) -> Result<Vec<Written>, RunError> {
    let df = DataFrame::new(ctx.state(), plan);
    let schema: SchemaRef = df.schema().inner().clone();
    let staging_dir = state.data_dir().join("s3-tmp");
    std::fs::create_dir_all(&staging_dir).map_err(|e| RunError::internal(e.to_string()))?;
    let files = |name: &str| -> Vec<(S3Target, String)> {
        targets
            .iter()
            .map(|t| {
                (
                    t.clone(),
                    format!("{}{name}.{}", t.folder(query_id), t.extension()),
                )
            })
            .collect()
    };
    if targets.iter().any(|t| t.single_file) {
        let stream = df.execute_stream().await.map_err(engine_error)?;
        let outputs = files("result");
        let rows = write_file(state, &outputs, &staging_dir, schema, stream).await?;
        return Ok(outputs
            .into_iter()
            .map(|(t, key)| Written {
                location: format!("s3://{}/{key}", t.bucket),
                rows,
            })
            .collect());
    }
    let streams = df
        .execute_stream_partitioned()
        .await
        .map_err(engine_error)?;
    let mut rows = 0;
    let total = streams.len();
    for (i, stream) in streams.into_iter().enumerate() {
        // Every partition gets a file only if it has rows; an empty result still gets one file
        // with the header (CSV) or the schema (Parquet).
        let keep_empty = i + 1 == total && rows == 0;
        rows += write_partition(
            state,
            &files(&format!("part-{i:05}")),
            &staging_dir,
            &schema,
            stream,
            keep_empty,
        )
        .await?;
    }
    Ok(targets
        .iter()
        .map(|t| Written {
            location: format!("s3://{}/{}", t.bucket, t.folder(query_id)),
            rows,
        })
        .collect())
}

async fn write_partition(
    state: &AppState,
    outputs: &[(S3Target, String)],
    staging_dir: &Path,
    schema: &SchemaRef,
    mut stream: SendableRecordBatchStream,
    keep_empty: bool,
) -> Result<u64, RunError> {
    // Peek at the first non-empty batch so empty partitions leave no file behind.
    let first = loop {
        match stream.next().await {
            Some(Ok(b)) if b.num_rows() == 0 => continue,
            Some(Ok(b)) => break Some(b),
            Some(Err(e)) => return Err(engine_error(e)),
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
        outputs,
        staging_dir,
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

/// Streams `stream` into one staged file per output (its target's format), then publishes each
/// under its key.
async fn write_file(
    state: &AppState,
    outputs: &[(S3Target, String)],
    staging_dir: &Path,
    schema: SchemaRef,
    mut stream: SendableRecordBatchStream,
) -> Result<u64, RunError> {
    let mut staged = Vec::with_capacity(outputs.len());
    for (target, _) in outputs {
        let file = tempfile::NamedTempFile::new_in(staging_dir)
            .map_err(|e| RunError::internal(format!("cannot stage results: {e}")))?;
        let handle = file
            .reopen()
            .map_err(|e| RunError::internal(format!("cannot stage results: {e}")))?;
        let writer = match target.format {
            dto::ResultFormat::Csv => Writer::Csv(Box::new(
                csv::WriterBuilder::new().with_header(true).build(handle),
            )),
            dto::ResultFormat::Parquet => Writer::Parquet(Box::new(
                ArrowWriter::try_new(handle, schema.clone(), None)
                    .map_err(|e| RunError::internal(format!("cannot write Parquet: {e}")))?,
            )),
        };
        staged.push((file, writer));
    }
    let mut rows = 0u64;
    let mut wrote_header = false;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(engine_error)?;
        rows += batch.num_rows() as u64;
        for (_, writer) in &mut staged {
            writer
                .write(&batch)
                .map_err(|e| RunError::internal(format!("cannot write results: {e}")))?;
        }
        wrote_header = true;
    }
    for ((file, writer), (target, key)) in staged.into_iter().zip(outputs) {
        let mut writer = writer;
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
        publish(state, target, key, file.path()).await?;
    }
    Ok(rows)
}

/// Puts the staged file at `source` into `target`'s bucket under `key`.
async fn publish(
    state: &AppState,
    target: &S3Target,
    key: &str,
    source: &Path,
) -> Result<(), RunError> {
    let content_type = match target.format {
        dto::ResultFormat::Csv => "text/csv",
        dto::ResultFormat::Parquet => "application/octet-stream",
    };
    put_result_file(
        state,
        (&target.account, &target.bucket, key),
        source,
        Some(content_type),
        error_codes::INTERNAL_ERROR,
    )
    .await
}

/// Puts the result file at `source` as object `key` of `bucket`, owned by `account`. A failure
/// is the run's error naming the location: `RESOURCE_NOT_FOUND` for a bucket that does not
/// exist, `RESOURCE_ACCESS_DENIED` for one the account may not write to, else `otherwise`.
///
/// # Errors
/// That run error.
pub async fn put_result_file(
    state: &AppState,
    (account, bucket, key): (&str, &str, &str),
    source: &Path,
    content_type: Option<&str>,
    otherwise: &'static str,
) -> Result<(), RunError> {
    put_local_file(state, account, bucket, key, source, content_type)
        .await
        .map_err(|e| {
            let code = match e.code.as_str() {
                "NoSuchBucket" => error_codes::RESOURCE_NOT_FOUND,
                "AccessDenied" => error_codes::RESOURCE_ACCESS_DENIED,
                _ => otherwise,
            };
            RunError::new(
                code,
                format!(
                    "Results could not be written to s3://{bucket}/{key}: {}",
                    e.message
                ),
            )
        })?;
    Ok(())
}
