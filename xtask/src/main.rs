//! `cargo xtask codegen [--check]`: regenerates (or, with `--check`, verifies without writing) the
//! generated service modules of the api crate and the OpenAPI documents.
//!
//! `cargo xtask layers`: fails when the `use` edges under `src/` form a circle or point in a
//! forbidden direction (see `xtask::layers`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("layers") && args.len() == 1 {
        return layers();
    }
    let (check, ok) = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => (false, true),
        ["codegen", "--check"] => (true, true),
        _ => (false, false),
    };
    if !ok {
        eprintln!("usage: cargo xtask codegen [--check] | cargo xtask layers");
        return ExitCode::from(2);
    }
    let root = xtask::workspace_root();
    let generated = match xtask::generate(&root) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("codegen failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stale = xtask::stale(&generated);
    let rel = |p: &PathBuf| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    if check {
        if stale.is_empty() {
            return ExitCode::SUCCESS;
        }
        eprintln!("stale generated files (run `cargo xtask codegen`):");
        for p in &stale {
            eprintln!("  {}", rel(p));
        }
        return ExitCode::FAILURE;
    }
    for (path, text) in &generated {
        if !stale.contains(path) {
            continue;
        }
        if let Some(dir) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("{}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", rel(path));
    }
    ExitCode::SUCCESS
}

/// `cargo xtask layers`.
fn layers() -> ExitCode {
    let src = xtask::workspace_root().join("src");
    let graph = match xtask::layers::read_crate(&src) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("cannot read {}: {e}", src.display());
            return ExitCode::FAILURE;
        }
    };
    let violations = xtask::layers::check(&graph);
    if violations.is_empty() {
        println!(
            "layers: {} files, no circle, every dependency points the allowed way",
            graph.edges.len()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!("layers: the dependencies under src/ break these rules:");
    for v in &violations {
        eprintln!("  {v}");
    }
    eprintln!("rules:");
    for r in xtask::layers::RULES {
        eprintln!("  - {r}");
    }
    ExitCode::FAILURE
}
