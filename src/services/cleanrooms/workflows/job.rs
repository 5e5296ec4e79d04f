//! StartProtectedJob and the run of a PySpark protected job, top-down: the runner (ACTIVE,
//! CAN_RUN_JOB) → the PySpark analysis template of the collaboration → where the results go
//! (the runner's own `defaultJobResultConfiguration`, or a member receiving them in its own) →
//! the tables the template reads and their CUSTOM rules (allowed analyses and providers, result
//! receivers) → one commit of the job (SUBMITTED) → the background run:
//!
//! 1. `SUBMITTED → STARTED`;
//! 2. each referenced table is written as Parquet into the job's work folder (only the columns
//!    collaborators may use), the template's artifacts are copied beside them from the
//!    emulator's S3;
//! 3. a one-shot Python process (`python/cleanrooms_emulator_spark/job.py`, next to the Athena
//!    session runner it shares the Sail start-up with) runs `entrypoint(context)` on an embedded
//!    Sail server with the job's Spark properties, refuses results carrying a disallowed output
//!    column and writes each returned DataFrame to a folder;
//! 4. the files are published under `s3://<bucket>/<keyPrefix>/<jobId>/<result name>/` of the
//!    receiver's result location, and the job settles `SUCCESS`, `FAILED` (with the script's
//!    error, or a generic one unless the template's `errorMessageConfiguration` is `DETAILED`)
//!    or `CANCELLED`.
//!
//! The Python process is killed when the job is cancelled or the emulator stops (and dies with
//! the emulator); after a restart, [`recover`] settles the jobs a stopped process left unfinished
//! as FAILED.

use crate::services::cleanrooms::analysis::rules::{
    check_allowed_job, check_direct_results, check_receivers, check_usable, effective_disallowed,
};
use crate::services::cleanrooms::analysis::storage;
use crate::services::cleanrooms::analysis::tables::{collaboration_tables, AnalysisTable};
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::protected_job::{
    error_codes, is_terminal, JobEnd, RunError, StoredJob,
};
use crate::services::cleanrooms::domain::run_status::Run;
use crate::services::cleanrooms::errors::{check_room, invalid_configuration, invalid_field};
use crate::services::cleanrooms::records::access::{member, member_able_to, members};
use crate::services::cleanrooms::records::listing::{
    load_run, possibly_unfinished, put_new_run, put_run_at, run_receipt,
};
use crate::services::cleanrooms::records::{self, Listed};
use crate::services::cleanrooms::workflows::background::spawn_membership_run;
use crate::services::cleanrooms::workflows::results::put_result_file;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::parquet::arrow::ArrowWriter;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, SessionSettings};
use crate::error::AwsResult;
use crate::object_files::object_path;
use crate::state::AppState;
use crate::util::ids;
use crate::util::spark_process::{materialise_job_harness, resolve_python, spark_settings};

/// The message of a job that failed while the emulator was not running.
const INTERRUPTED: &str = "The emulator stopped while the job was running; run it again";

/// The message of a script failure when the template does not share error details.
const GENERIC_FAILURE: &str = "The PySpark job failed. Error details are not shown because the analysis template's errorMessageConfiguration is not DETAILED";

/// Where one job's results go.
#[derive(Debug, Clone)]
struct Target {
    /// The account owning the bucket.
    account: String,
    bucket: String,
    key_prefix: String,
    format: dto::ResultFormat,
    /// `Some(account)` when a member receives the results (`member` output).
    member: Option<String>,
}

/// Starts the protected job `input` describes; returns it as stored (SUBMITTED).
///
/// # Errors
/// `AccessDeniedException` when the caller may not run jobs; `ResourceNotFoundException` for a
/// template that is not in the collaboration; `ValidationException` for a template that is not
/// PySpark, a result location that does not exist, or an analysis rule that refuses the job;
/// `ServiceQuotaExceededException` when the membership already has
/// [`MAX_ONGOING_JOBS_PER_MEMBERSHIP`] jobs ongoing (checked before the template and tables,
/// and again at the commit); nothing is stored then.
pub async fn start(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartProtectedJobInput,
) -> AwsResult<dto::ProtectedJob> {
    let (m, collaboration, _) = member_able_to(
        state,
        ctx,
        &input.membership_identifier,
        dto::MemberAbility::CanRunJob,
    )
    .await?;
    // A cheap early refusal before the costly checks; the check under the lock below decides.
    within_job_quota(state, &m.id)?;
    let template = job_template(
        state,
        &collaboration,
        &input.job_parameters.analysis_template_arn,
    )
    .await?;
    if let Some(dto::ProtectedJobComputeConfiguration::Worker(w)) = &input.compute_configuration {
        check_compute(w)?;
    }
    let target = resolve_target(
        state,
        &collaboration,
        &m,
        input.result_configuration.as_ref(),
    )
    .await?;
    let receivers = vec![target.account.clone()];
    job_tables(state, &collaboration, &template, &receivers).await?;
    let payer = job_payer(
        state,
        &collaboration,
        &ctx.account_id,
        input.job_compute_payer_account_id.as_deref(),
    )
    .await?;
    let id = ids::new_id();
    let output_configuration = match &target.member {
        Some(account) => dto::ProtectedJobOutputConfigurationOutput::Member(
            dto::ProtectedJobMemberOutputConfigurationOutput {
                account_id: account.clone(),
            },
        ),
        None => dto::ProtectedJobOutputConfigurationOutput::S3(
            dto::ProtectedJobS3OutputConfigurationOutput {
                bucket: target.bucket.clone(),
                key_prefix: (!target.key_prefix.is_empty()).then(|| target.key_prefix.clone()),
            },
        ),
    };
    let stored = StoredJob::submitted(
        dto::ProtectedJob {
            compute_configuration: input.compute_configuration.clone(),
            create_time: state.now(),
            error: None,
            id: id.clone(),
            job_compute_payer_account_id: Some(payer),
            job_parameters: Some(input.job_parameters.clone()),
            membership_arn: m.arn.clone(),
            membership_id: m.id.clone(),
            result: None,
            result_configuration: Some(dto::ProtectedJobResultConfigurationOutput {
                output_configuration,
            }),
            statistics: None,
            status: dto::ProtectedJobStatus::Submitted,
        },
        ctx.account_id.clone(),
        collaboration.id.clone(),
        receivers,
    );
    let mut writes = put_new_run(&ctx.region, &stored)?;
    if let Some(account) = target.member.as_deref().filter(|a| *a != ctx.account_id) {
        writes.extend(
            run_receipt::<StoredJob>(state, &ctx.region, &collaboration.id, account, &id).await?,
        );
    }
    {
        // The quota check, the commit and the start of the run under one lock: concurrent
        // starts cannot pass the quota together.
        let _guard = state.write_lock().await;
        within_job_quota(state, &m.id)?;
        records::commit(state, writes).await?;
        let quota = ("protected job", job_group(&m.id));
        spawn_membership_run(state, &id, quota, move |state, id, token| async move {
            run_job(&state, &id, target, token).await
        });
    }
    Ok(stored.job)
}

/// Refuses another job of membership `membership_id` when it already has
/// [`MAX_ONGOING_JOBS_PER_MEMBERSHIP`] ongoing. Authoritative only under the write lock,
/// together with the commit and the start of the run; before it, an early refusal that saves
/// the checks of a job that cannot be admitted.
///
/// # Errors
/// `ServiceQuotaExceededException`.
fn within_job_quota(state: &AppState, membership_id: &str) -> AwsResult<()> {
    check_room(
        "Concurrent ongoing protected jobs per membership",
        state.jobs().ongoing_in(&job_group(membership_id)),
        MAX_ONGOING_JOBS_PER_MEMBERSHIP,
    )
}

/// How many protected jobs one membership may have SUBMITTED or STARTED at once (the Clean
/// Rooms quota "concurrent ongoing jobs per membership").
pub const MAX_ONGOING_JOBS_PER_MEMBERSHIP: usize = 1;

/// The quota group of a membership's protected jobs ([`Job::quota_group`]).
fn job_group(membership_id: &str) -> String {
    format!("protected-jobs/{membership_id}")
}

/// The PySpark template with ARN `arn` in `collaboration`.
async fn job_template(
    state: &AppState,
    collaboration: &Collaboration,
    arn: &str,
) -> AwsResult<AnalysisTemplate> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let template: Option<AnalysisTemplate> = records::load::<AnalysisTemplate>(state, id).await?;
    let Some(t) =
        template.filter(|t| t.header.arn == arn && t.header.collaboration_id == collaboration.id)
    else {
        return Err(crate::services::cleanrooms::errors::not_found_msg(
            crate::services::cleanrooms::errors::ResourceType::Collaboration,
            arn,
            format!(
                "Could not find analysis template {arn} in collaboration {}",
                collaboration.id
            ),
        ));
    };
    if t.format == dto::AnalysisFormat::Sql {
        return Err(invalid_field(
            "jobParameters.analysisTemplateArn",
            format!(
                "Analysis template {arn} has format SQL; protected jobs run PySpark templates (run SQL templates with StartProtectedQuery)"
            ),
        ));
    }
    Ok(t)
}

/// The payer of job compute: `requested` when it is an ACTIVE member responsible for job
/// compute; by default the first member that is (the job runner when nobody was named).
async fn job_payer(
    state: &AppState,
    collaboration: &Collaboration,
    runner: &str,
    requested: Option<&str>,
) -> AwsResult<String> {
    let members = members(state, &collaboration.id, None).await?;
    let payers: Vec<&str> = members
        .iter()
        .map(|(_, m)| m)
        .filter(|m| {
            m.status == dto::MemberStatus::Active
                && m.payment_configuration
                    .job_compute
                    .as_ref()
                    .is_some_and(|j| j.is_responsible)
        })
        .map(|m| m.account_id.as_str())
        .collect();
    match requested {
        Some(account) if payers.contains(&account) => Ok(account.to_string()),
        Some(account) => Err(invalid_field(
            "jobComputePayerAccountId",
            format!(
                "Account {account} is not an active member of collaboration {} that pays for job compute",
                collaboration.id
            ),
        )),
        None => Ok(payers
            .first()
            .map_or_else(|| runner.to_string(), |p| (*p).to_string())),
    }
}

/// Job compute: at most 50 Spark properties, each with a key and a value.
fn check_compute(w: &dto::ProtectedJobWorkerComputeConfiguration) -> AwsResult<()> {
    if let Some(dto::WorkerComputeConfigurationProperties::Spark(props)) = &w.properties {
        if props.len() > 50 {
            return Err(invalid_field(
                "computeConfiguration.worker.properties.spark",
                format!(
                    "At most 50 Spark properties are allowed; {} were given",
                    props.len()
                ),
            ));
        }
        if let Some((k, _)) = props
            .iter()
            .find(|(k, v)| k.trim().is_empty() || v.is_empty())
        {
            return Err(invalid_field(
                "computeConfiguration.worker.properties.spark",
                format!("Spark property '{k}' needs a non-empty name and value"),
            ));
        }
    }
    Ok(())
}

/// Where results go: a member named by `resultConfiguration` (its own default job result
/// location), else the runner's default job result location. The receiver must be an ACTIVE
/// member with CAN_RECEIVE_RESULTS.
async fn resolve_target(
    state: &AppState,
    collaboration: &Collaboration,
    runner: &Membership,
    config: Option<&dto::ProtectedJobResultConfigurationInput>,
) -> AwsResult<Target> {
    let (account, field, is_member) = match config {
        Some(c) => match &c.output_configuration {
            dto::ProtectedJobOutputConfigurationInput::Member(m) => (
                m.account_id.clone(),
                "resultConfiguration.outputConfiguration.member.accountId",
                true,
            ),
        },
        None => (runner.account_id.clone(), "resultConfiguration", false),
    };
    let receiver = member(state, &collaboration.id, &account).await?;
    let receiver = match receiver {
        Some(r) if r.status == dto::MemberStatus::Active => r,
        _ => {
            return Err(invalid_field(
                field,
                format!(
                    "Account {account} is not an active member of collaboration {} and cannot receive its results",
                    collaboration.id
                ),
            ))
        }
    };
    if !receiver
        .abilities
        .contains(&dto::MemberAbility::CanReceiveResults)
    {
        return Err(invalid_field(
            field,
            format!(
                "Account {account} cannot receive results in collaboration {} (it lacks CAN_RECEIVE_RESULTS)",
                collaboration.id
            ),
        ));
    }
    let membership: Option<Membership> = match receiver.membership_id.as_deref() {
        Some(id) => records::load::<Membership>(state, id).await?,
        None => None,
    };
    let Some(config) = membership.and_then(|m| m.default_job_result_configuration) else {
        return Err(invalid_field(
            field,
            format!(
                "Membership of account {account} has no defaultJobResultConfiguration, so the job's results have nowhere to go"
            ),
        ));
    };
    let dto::MembershipProtectedJobOutputConfiguration::S3(s3) = config.output_configuration;
    Ok(Target {
        account: account.clone(),
        bucket: s3.bucket,
        key_prefix: s3
            .key_prefix
            .unwrap_or_default()
            .trim_matches('/')
            .to_string(),
        format: s3.result_format.unwrap_or(dto::ResultFormat::Csv),
        member: is_member.then_some(account),
    })
}

/// The tables `template` reads, checked: each has a CUSTOM rule allowing the template as a
/// job, accepts `receivers` and allows direct results.
async fn job_tables(
    state: &AppState,
    collaboration: &Collaboration,
    template: &AnalysisTemplate,
    receivers: &[String],
) -> AwsResult<Vec<AnalysisTable>> {
    let all = collaboration_tables(state, &collaboration.id).await?;
    let mut used = Vec::new();
    for name in &template.referenced_tables {
        let Some(table) = all.iter().find(|t| &t.name == name) else {
            return Err(invalid_configuration(format!(
                "Analysis template {} reads table '{name}', which is no longer a table of collaboration {}",
                template.header.arn, collaboration.id
            )));
        };
        check_usable(table)?;
        check_allowed_job(table, template)?;
        // Controls a job's free-form code cannot be held to.
        if table.controls.differential_privacy.is_some() {
            return Err(invalid_configuration(format!(
                "Table '{name}' is protected by differential privacy, which PySpark jobs do not support"
            )));
        }
        if table
            .controls
            .aggregation_thresholds
            .as_ref()
            .is_some_and(|t| !t.is_empty())
        {
            return Err(invalid_configuration(format!(
                "Table '{name}' has aggregation thresholds (aggregationThresholds), which PySpark jobs do not support"
            )));
        }
        used.push(table.clone());
    }
    check_receivers(&used, receivers)?;
    check_direct_results(&used)?;
    Ok(used)
}

async fn run_job(
    state: &AppState,
    id: &str,
    target: Target,
    token: CancellationToken,
) -> AwsResult<()> {
    {
        let _guard = state.write_lock().await;
        let (go, _) =
            records::change(state, id, StoredJob::NOUN, put_run_at, StoredJob::start).await?;
        if !go {
            return Ok(());
        }
    }
    let started = Instant::now();
    let work = jobs_dir(state).join(id);
    let ran = tokio::select! {
        () = token.cancelled() => None,
        r = execute(state, id, &target, &work) => Some(r),
    };
    let _ = tokio::fs::remove_dir_all(&work).await;
    let end = match ran {
        Some(Ok(result)) => JobEnd::Succeeded(result),
        Some(Err(e)) => JobEnd::Failed(e),
        None if state.jobs().shutting_down() => JobEnd::Failed(RunError::new(
            error_codes::INTERNAL_ERROR,
            "The emulator shut down before the job finished; run it again",
        )),
        None => JobEnd::Cancelled,
    };
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    settle(state, id, millis, end).await
}

/// Records how job `id` ended.
async fn settle(state: &AppState, id: &str, millis: u64, end: JobEnd) -> AwsResult<()> {
    let _guard = state.write_lock().await;
    records::change(
        state,
        id,
        StoredJob::NOUN,
        put_run_at,
        |job: &mut StoredJob| job.finish(millis, end.clone()),
    )
    .await?;
    // Its end is recorded: it no longer counts against the membership's quota.
    state.jobs().release_quota(id);
    Ok(())
}

/// `<data-dir>/cleanrooms/jobs`: the harness and one work folder per running job.
fn jobs_dir(state: &AppState) -> PathBuf {
    state.data_dir().join("cleanrooms").join("jobs")
}

fn internal(message: impl std::fmt::Display) -> RunError {
    RunError::new(error_codes::INTERNAL_ERROR, message.to_string())
}

/// An empty table leaves no data file, and Spark cannot read a folder without one: then one
/// empty Parquet file carries the schema.
fn ensure_parquet_file(dir: &Path, schema: &SchemaRef) -> std::io::Result<()> {
    let has_file = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".parquet"));
    if has_file {
        return Ok(());
    }
    let file = std::fs::File::create(dir.join("empty.parquet"))?;
    let writer = ArrowWriter::try_new(file, schema.clone(), None).map_err(std::io::Error::other)?;
    writer.close().map_err(std::io::Error::other)?;
    Ok(())
}

/// Everything between STARTED and the end: tables, artifacts, the Python process, the
/// publication of its results.
async fn execute(
    state: &AppState,
    id: &str,
    target: &Target,
    work: &Path,
) -> Result<dto::ProtectedJobResult, RunError> {
    let (region, job) = load_run::<StoredJob>(state, id)
        .await
        .map_err(|e| internal(e.message))?;
    let params = job
        .job
        .job_parameters
        .clone()
        .ok_or_else(|| internal("the job has no parameters"))?;
    let collaboration =
        records::access::collaboration_record(state, &region, &job.collaboration_id)
            .await
            .map_err(|e| internal(e.message))?
            .ok_or_else(|| internal("the job's collaboration no longer exists"))?;
    let template = job_template(state, &collaboration, &params.analysis_template_arn)
        .await
        .map_err(|e| RunError::new(error_codes::RESOURCE_NOT_FOUND, e.message))?;
    let tables = job_tables(state, &collaboration, &template, &job.receivers)
        .await
        .map_err(|e| RunError::new(error_codes::INVALID_RESOURCE, e.message))?;
    std::fs::create_dir_all(work).map_err(internal)?;

    // The tables, as Parquet, with only the columns collaborators may use.
    let engine = Engine::new(state.data_dir());
    let ctx = engine.session(&SessionSettings::default());
    let managed = storage(state);
    let mut table_dirs = BTreeMap::new();
    let mut disallowed = std::collections::BTreeSet::new();
    for table in &tables {
        let provider = table
            .provider(state, &managed)
            .await
            .map_err(|e| RunError::new(error_codes::RESOURCE_NOT_FOUND, e.message))?;
        let dir = work.join("tables").join(&table.name);
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let frame = ctx.read_table(provider).map_err(internal)?;
        let table_schema = frame.schema().inner().clone();
        frame
            .write_parquet(
                &format!("{}/", dir.display()),
                DataFrameWriteOptions::new(),
                None,
            )
            .await
            .map_err(|e| {
                RunError::new(
                    error_codes::RESOURCE_NOT_FOUND,
                    format!("Table '{}' cannot be read: {e}", table.name),
                )
            })?;
        ensure_parquet_file(&dir, &table_schema).map_err(internal)?;
        table_dirs.insert(table.name.clone(), dir.display().to_string());
        disallowed.extend(effective_disallowed(table));
    }

    // The artifacts, copied from the emulator's S3.
    let dto::AnalysisSource::Artifacts(artifacts) = &template.source else {
        return Err(RunError::new(
            error_codes::MALFORMED_SCRIPT,
            "The analysis template has no artifacts",
        ));
    };
    let artifacts_dir = work.join("artifacts");
    let copy = |a: &dto::AnalysisTemplateArtifact, i: usize| -> Result<String, RunError> {
        let from = object_path(state.data_dir(), &a.location.bucket, &a.location.key)
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                RunError::new(
                    error_codes::RESOURCE_NOT_FOUND,
                    format!(
                        "Artifact s3://{}/{} does not exist",
                        a.location.bucket, a.location.key
                    ),
                )
            })?;
        let name = a.location.key.rsplit('/').next().unwrap_or("artifact.py");
        let dir = artifacts_dir.join(i.to_string());
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let to = dir.join(name);
        std::fs::copy(&from, &to).map_err(internal)?;
        Ok(to.display().to_string())
    };
    let entry_point = copy(&artifacts.entry_point, 0)?;
    let mut additional = Vec::new();
    for a in artifacts.additional_artifacts.iter().flatten() {
        // Additional artifacts share one folder so they import one another.
        additional.push(copy(a, 1)?);
    }

    // The harness.
    let python = resolve_python(state.config().spark_python.clone()).ok_or_else(|| {
        internal("No Python with the Spark runtime (pysail, pyspark-client) is configured; start the emulator with --spark-python")
    })?;
    let script = materialise_job_harness(&jobs_dir(state).join("runtime")).map_err(internal)?;
    let properties: BTreeMap<String, String> = match &job.job.compute_configuration {
        Some(dto::ProtectedJobComputeConfiguration::Worker(w)) => match &w.properties {
            Some(dto::WorkerComputeConfigurationProperties::Spark(p)) => {
                p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            None => BTreeMap::new(),
        },
        None => BTreeMap::new(),
    };
    // As for Athena sessions: server settings from some properties, the rest on the session.
    let settings = spark_settings(&properties);
    let output_dir = work.join("output");
    let report_path = work.join("report.json");
    let spec = json!({
        "entryPoint": entry_point,
        "additionalArtifacts": additional,
        "tables": table_dirs,
        "disallowedOutputColumns": disallowed,
        "parameters": params.parameters.clone().unwrap_or_default(),
        "sparkConf": settings.session_conf,
        "resultFormat": target.format.as_str(),
        "outputDir": output_dir.display().to_string(),
        "report": report_path.display().to_string(),
    });
    let spec_path = work.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).map_err(internal)?;
    let log = std::fs::File::create(work.join("job.log")).map_err(internal)?;
    let log_err = log.try_clone().map_err(internal)?;
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(&script)
        .arg(&spec_path)
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .kill_on_drop(true);
    for name in [
        "AWS_PROFILE",
        "AWS_SECURITY_TOKEN",
        "SPARK_REMOTE",
        "AWS_ENDPOINT_URL",
    ] {
        command.env_remove(name);
    }
    command
        .envs(settings.server_env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "warn")
        .env("PYTHONUNBUFFERED", "1")
        .env(
            "CLEANROOMS_EMULATOR_PARENT_PID",
            std::process::id().to_string(),
        );
    let mut child = command.spawn().map_err(|e| {
        internal(format!(
            "The Spark job runner could not start with {}: {e}",
            python.display()
        ))
    })?;
    let status = child.wait().await.map_err(internal)?;
    let report: serde_json::Value = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or_else(|| {
            let tail = std::fs::read_to_string(work.join("job.log")).unwrap_or_default();
            let last = tail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            internal(format!(
                "The Spark job runner ended ({status}) without a report: {last}"
            ))
        })?;
    if report["status"] != "SUCCESS" {
        let code = match report["code"].as_str() {
            Some("MALFORMED_SCRIPT") => error_codes::MALFORMED_SCRIPT,
            Some("INVALID_RESOURCE") => error_codes::INVALID_RESOURCE,
            _ => error_codes::INTERNAL_ERROR,
        };
        let message = report["error"]
            .as_str()
            .unwrap_or("The job failed")
            .to_string();
        let detailed = template
            .error_message_configuration
            .as_ref()
            .is_some_and(|c| c.r#type == dto::ErrorMessageType::Detailed);
        let message = if code == error_codes::MALFORMED_SCRIPT && !detailed {
            GENERIC_FAILURE.to_string()
        } else {
            message
        };
        return Err(RunError::new(code, message));
    }
    publish(state, id, target, &output_dir).await
}

/// Publishes every result folder under `output_dir` to the target's S3 location.
async fn publish(
    state: &AppState,
    id: &str,
    target: &Target,
    output_dir: &Path,
) -> Result<dto::ProtectedJobResult, RunError> {
    let folder = if target.key_prefix.is_empty() {
        format!("{id}/")
    } else {
        format!("{}/{id}/", target.key_prefix)
    };
    let mut results: Vec<_> = std::fs::read_dir(output_dir)
        .map_err(internal)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    results.sort_by_key(std::fs::DirEntry::file_name);
    for result in results {
        let name = result.file_name().to_string_lossy().to_string();
        let mut files: Vec<_> = std::fs::read_dir(result.path())
            .map_err(internal)?
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                e.path().is_file() && !n.starts_with('.') && !n.starts_with('_')
            })
            .collect();
        files.sort_by_key(std::fs::DirEntry::file_name);
        for file in files {
            let key = format!("{folder}{name}/{}", file.file_name().to_string_lossy());
            put_result_file(
                state,
                (&target.account, &target.bucket, &key),
                &file.path(),
                None,
                error_codes::RESOURCE_NOT_FOUND,
            )
            .await?;
        }
    }
    let output = match &target.member {
        Some(account) => {
            dto::ProtectedJobOutput::MemberList(vec![dto::ProtectedJobSingleMemberOutput {
                account_id: account.clone(),
            }])
        }
        None => dto::ProtectedJobOutput::S3(dto::ProtectedJobS3Output {
            location: format!("s3://{}/{folder}", target.bucket),
        }),
    };
    Ok(dto::ProtectedJobResult { output })
}

/// After a restart: jobs a stopped process left SUBMITTED or STARTED become FAILED (and
/// CANCELLING ones CANCELLED); their work folders are removed.
///
/// # Errors
/// Store failures.
pub async fn recover(state: &AppState) -> AwsResult<()> {
    for j in possibly_unfinished::<StoredJob>(state).await? {
        if is_terminal(j.job.status) || state.jobs().is_running(&j.job.id) {
            continue;
        }
        let end = JobEnd::Failed(RunError::internal(INTERRUPTED));
        settle(state, &j.job.id, 0, end).await?;
        let _ = std::fs::remove_dir_all(jobs_dir(state).join(&j.job.id));
    }
    Ok(())
}
