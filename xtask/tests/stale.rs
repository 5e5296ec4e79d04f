//! The committed generated files must be exactly what the generator produces now.

#[test]
fn generated_files_are_up_to_date() {
    let root_buf = xtask::workspace_root();
    let root = root_buf.as_path();
    let generated = xtask::generate(root).expect("codegen failed");
    let stale: Vec<String> = xtask::stale(&generated)
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files (run `cargo xtask codegen`): {}",
        stale.join(", ")
    );
}

#[test]
fn generation_is_deterministic() {
    let root_buf = xtask::workspace_root();
    let root = root_buf.as_path();
    assert_eq!(
        xtask::generate(root).unwrap(),
        xtask::generate(root).unwrap()
    );
}

#[test]
fn openapi_covers_every_operation() {
    let root_buf = xtask::workspace_root();
    let root = root_buf.as_path();
    for svc in xtask::SERVICES {
        let model = xtask::model::Model::load(root, svc.module).unwrap();
        let all: Vec<String> = model.operations.iter().map(|o| o.name.clone()).collect();
        let doc: serde_json::Value =
            serde_json::from_str(&xtask::openapi::generate(&model, &all).unwrap()).unwrap();
        let operations: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(operations, all.len(), "{}", svc.module);
    }
}
