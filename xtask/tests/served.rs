//! `openapi/served.json` lists exactly the operations the code implements.

#[test]
fn served_json_matches_the_implemented_operations() {
    let root = xtask::workspace_root();
    let mismatches =
        xtask::served::mismatches(&root).expect("served.json, models and src readable");
    assert!(
        mismatches.is_empty(),
        "update openapi/served.json and run `cargo xtask codegen`:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn the_override_scan_finds_the_methods_of_the_impl_block() {
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("a.rs"),
        "impl FooApi for Foo {\n    async fn get_thing(&self) -> u8 { if true { 1 } else { 2 } }\n    fn list_things(&self) {}\n}\nfn outside() {}\nimpl Other for Foo { fn nope() {} }\n",
    )
    .unwrap();
    let found = xtask::served::implemented(&dir, "FooApi").unwrap();
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["get_thing", "list_things"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-served-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
