//! The crate's `use` edges have no circle and point only the allowed ways (`cargo xtask layers`).

#[test]
fn src_is_layered() {
    let src = xtask::workspace_root().join("src");
    let graph = xtask::layers::read_crate(&src).expect("src/ is readable");
    assert!(graph.edges.len() > 100, "read {} files", graph.edges.len());
    let violations: Vec<String> = xtask::layers::check(&graph)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
