//! The Python side of Spark work, shared by the services that run it without depending on each
//! other: which interpreter has the Spark runtime (pysail, pyspark-client), the scripts of
//! `python/cleanrooms_emulator_spark` embedded in the binary, and writing them to the data dir
//! for a process to run. Athena sessions (a long-lived runner per session) and Clean Rooms
//! protected jobs (a one-shot job harness per job) both start their processes from here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Athena session runner (the job harness reuses its Spark start-up).
pub const RUNNER_SOURCE: &str = include_str!("../../python/cleanrooms_emulator_spark/runner.py");

/// The protected-job harness.
pub const JOB_SOURCE: &str = include_str!("../../python/cleanrooms_emulator_spark/job.py");

/// The interpreter Spark processes start with: `configured` (`--spark-python`), else the
/// Python of the environment the emulator was installed into (the wheel puts the binary beside
/// its environment's `python`), else the repository's own `.venv` when it exists.
pub fn resolve_python(configured: Option<PathBuf>) -> Option<PathBuf> {
    configured
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            installed_beside(&exe)
        })
        .or_else(|| {
            let own = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
            own.exists().then_some(own)
        })
}

/// The interpreter of the environment `exe` is installed in: a `python3` or `python` in the
/// same folder (a virtualenv's or prefix's `bin`).
fn installed_beside(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    ["python3", "python"]
        .iter()
        .map(|name| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Writes `source` to `path` unless it holds it already — atomically, so a process starting
/// meanwhile never reads half a file.
///
/// # Errors
/// When the folder or the file cannot be written.
pub fn materialise(path: &Path, source: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|s| s == source) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, source.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes the job harness and the runner it imports into `dir`; returns the harness's path.
///
/// # Errors
/// When they cannot be written.
pub fn materialise_job_harness(dir: &Path) -> std::io::Result<PathBuf> {
    materialise(&dir.join("runner.py"), RUNNER_SOURCE)?;
    let script = dir.join("job.py");
    materialise(&script, JOB_SOURCE)?;
    Ok(script)
}

/// How Spark properties (an Athena session's `SparkProperties`, a protected job's
/// `computeConfiguration.worker.properties.spark`) reach the engine: settings of the embedded
/// server (read once at start) and configuration of the Spark session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparkSettings {
    /// Environment of the embedded Sail server (`SAIL_*`).
    pub server_env: Vec<(String, String)>,
    /// Properties set on the Spark session, with Athena's defaults filled in.
    pub session_conf: BTreeMap<String, String>,
}

/// Sorts `properties` (restricted ones must have been rejected before): keys not starting with
/// `spark.` are ignored; shuffle partitions and the Parquet codec become server settings; the
/// rest are session configuration. Athena's Spark defaults (ANSI off, UTC, snappy) apply unless
/// overridden.
pub fn spark_settings(properties: &BTreeMap<String, String>) -> SparkSettings {
    let mut settings = SparkSettings::default();
    settings
        .session_conf
        .insert("spark.sql.ansi.enabled".into(), "false".into());
    settings
        .session_conf
        .insert("spark.sql.session.timeZone".into(), "UTC".into());
    let mut codec = "snappy".to_string();
    for (key, value) in properties {
        if !key.starts_with("spark.") {
            continue;
        }
        match key.as_str() {
            "spark.sql.shuffle.partitions" if value.trim().parse::<u32>().is_ok_and(|n| n > 0) => {
                settings.server_env.push((
                    "SAIL_EXECUTION__DEFAULT_PARALLELISM".into(),
                    value.trim().into(),
                ));
            }
            "spark.sql.parquet.compression.codec" => codec = value.trim().to_lowercase(),
            _ => {}
        }
        settings.session_conf.insert(key.clone(), value.clone());
    }
    // Spark's name for "no compression" is `none`/`uncompressed`; Sail's is `uncompressed`.
    if codec == "none" {
        codec = "uncompressed".into();
    }
    settings
        .server_env
        .push(("SAIL_PARQUET__COMPRESSION".into(), codec));
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_binary_uses_the_python_of_its_environment() {
        let env = tempfile::tempdir().unwrap();
        let bin = env.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("cleanrooms-emulator");
        assert_eq!(installed_beside(&exe), None, "no interpreter beside it");
        std::fs::write(bin.join("python"), "").unwrap();
        assert_eq!(installed_beside(&exe), Some(bin.join("python")));
        std::fs::write(bin.join("python3"), "").unwrap();
        assert_eq!(installed_beside(&exe), Some(bin.join("python3")));
        let configured = PathBuf::from("/opt/spark/bin/python");
        assert_eq!(resolve_python(Some(configured.clone())), Some(configured));
    }

    #[test]
    fn the_harness_is_written_beside_the_runner_once() {
        let dir = tempfile::tempdir().unwrap();
        let script = materialise_job_harness(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&script).unwrap(), JOB_SOURCE);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("runner.py")).unwrap(),
            RUNNER_SOURCE
        );
        assert_eq!(materialise_job_harness(dir.path()).unwrap(), script);
    }

    #[test]
    fn a_configured_interpreter_wins() {
        let p = PathBuf::from("/opt/python");
        assert_eq!(resolve_python(Some(p.clone())), Some(p));
    }
}
