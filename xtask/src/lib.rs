//! `cargo xtask codegen`: generates the per-service modules of the `cleanrooms-emulator-api` crate
//! (`api/src/<service>/{mod,dto,errors,routes,api}.rs`) and the OpenAPI documents
//! (`openapi/<service>.json`) from the vendored botocore models in `model/`.
//!
//! Inputs: `model/<service>.json` and `openapi/served.json` (which operations each service serves,
//! `{"cleanrooms": ["CreateCollaboration", …], "glue": [], …}`). Generated Rust is formatted by
//! piping it through `rustfmt --edition 2021` (the `RUSTFMT` environment variable overrides the
//! binary), so the output is exactly what `cargo fmt` would leave.
//!
//! It also renders `docs/reference/operations.md` (the served operations, see [`served`]) and
//! `docs/reference/sql-functions.md` (the SQL dialects' conformance, see [`sql_functions`]) and
//! `docs/reference/sql-syntax.md` (their syntax forms, see [`sql_syntax`]).
//!
//! Every service gets an OpenAPI document, even when it serves no operation (then it has no paths);
//! see [`openapi`] for the path conventions of awsJson/awsQuery services.

pub mod layers;
pub mod model;
pub mod names;
pub mod openapi;
pub mod rustgen;
pub mod served;
pub mod sql_functions;
pub mod sql_syntax;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A generated service: its module / model file name and the name of its operation trait.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub module: &'static str,
    pub trait_name: &'static str,
}

/// The services generated, in order.
pub const SERVICES: &[Service] = &[
    Service {
        module: "cleanrooms",
        trait_name: "CleanroomsApi",
    },
    Service {
        module: "glue",
        trait_name: "GlueApi",
    },
    Service {
        module: "athena",
        trait_name: "AthenaApi",
    },
    Service {
        module: "sts",
        trait_name: "StsApi",
    },
    Service {
        module: "entityresolution",
        trait_name: "EntityResolutionApi",
    },
];

/// Every generated file under `root` (the workspace root): (absolute path, contents).
pub fn generate(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let served = read_served(root)?;
    let mut out = Vec::new();
    for svc in SERVICES {
        let model = model::Model::load(root, svc.module)?;
        for (file, code) in rustgen::generate(&model, svc.trait_name)? {
            let formatted =
                rustfmt(root, &code).map_err(|e| format!("api/src/{}/{file}: {e}", svc.module))?;
            out.push((
                root.join("api").join("src").join(svc.module).join(file),
                formatted,
            ));
        }
        let ops = served.get(svc.module).cloned().unwrap_or_default();
        out.push((
            root.join("openapi").join(format!("{}.json", svc.module)),
            openapi::generate(&model, &ops)?,
        ));
    }
    out.push((
        root.join("docs").join("reference").join("operations.md"),
        served::operations_md(root)?,
    ));
    out.push((
        root.join("docs").join("reference").join("sql-functions.md"),
        sql_functions::conformance_md(root)?,
    ));
    out.push((
        root.join("docs").join("reference").join("sql-syntax.md"),
        sql_syntax::syntax_md(root)?,
    ));
    Ok(out)
}

/// Generated files whose committed contents differ from `generated` (missing files included).
pub fn stale(generated: &[(PathBuf, String)]) -> Vec<PathBuf> {
    generated
        .iter()
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()))
        .map(|(path, _)| path.clone())
        .collect()
}

/// `openapi/served.json`: service → operations the emulator serves.
fn read_served(root: &Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let path = root.join("openapi").join("served.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let served: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for name in served.keys() {
        if !SERVICES.iter().any(|s| s.module == name) {
            return Err(format!("{}: unknown service {name}", path.display()));
        }
    }
    Ok(served)
}

/// Formats Rust source with `rustfmt --edition 2021`, run in `root` so its `rustfmt.toml` applies.
fn rustfmt(root: &Path, code: &str) -> Result<String, String> {
    let bin = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string());
    let mut child = Command::new(&bin)
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {bin}: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let input = code.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{bin}: {e}"))?;
    writer
        .join()
        .map_err(|_| "rustfmt writer panicked".to_string())?
        .map_err(|e| format!("{bin} stdin: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{bin} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{bin} output: {e}"))
}

/// The workspace root. Read from `CARGO_MANIFEST_DIR` at run time (cargo sets it for `cargo run`
/// and `cargo test`), not at compile time: a binary cargo reuses from a build of another checkout
/// (a shared target dir, CI clones in new places) must still act on the checkout it runs for.
pub fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        std::path::PathBuf::from,
    );
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), std::path::Path::to_path_buf)
}
