//! `cargo xtask layers`: reads the `use` edges between the files under `src/` and fails on an
//! import circle anywhere or on a dependency in a forbidden direction.
//!
//! Every file is a module (`src/a/b.rs` and `src/a/b/mod.rs` are `crate::a::b`). Its edges are
//! the `use` declarations and the inline `crate::…`, `super::…` and `self::…` paths of its code
//! outside its test module, each resolved to the longest module prefix that is a file. Test
//! modules are left out: tests may reach anywhere.
//!
//! The rules ([`RULES`]):
//! - no circle: the file graph has no strongly connected component of more than one file;
//! - the Clean Rooms service is layered, each layer a folder that may use only its own layer and
//!   the ones below: `errors` < `domain` < `records` < `analysis` < `workflows` < `ops` <
//!   `service`/`mod.rs`; an operation handler (`ops/*`) never uses another one; only `records/`
//!   names the store's record kinds (`records::kinds`);
//! - the shared parts below the services (`store`, `storage`, `object_files`, `jobs`, `engine`,
//!   `util`) never use a service, not even its facade;
//! - a service uses another service only through that service's facade ([`FACADES`]).
//!
//! [`ALLOWED`] lists the edges that break a rule today, each with the reason it still exists; a
//! new one fails the check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A module path, `crate` first (`["crate", "services", "s3"]`).
pub type ModPath = Vec<String>;

/// The file-level dependency graph of a crate: every file's module path and the modules it
/// uses.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    /// Module path → the module paths (files) it uses.
    pub edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Files that import each other in a circle.
    Circle(Vec<String>),
    /// `from` uses `to` against `rule`.
    Forbidden {
        /// The using file's module.
        from: String,
        /// The used module.
        to: String,
        /// Which rule it breaks.
        rule: &'static str,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Circle(files) => write!(f, "import circle: {}", files.join(" → ")),
            Violation::Forbidden { from, to, rule } => write!(f, "{from} uses {to}: {rule}"),
        }
    }
}

/// The rules the check applies, as stated to the user.
pub const RULES: &[&str] = &[
    "no import circle under src/",
    "services::cleanrooms layers: errors < domain < records < analysis < workflows < ops < service; ops files never use each other; only records names record kinds",
    "store, storage, object_files, jobs, engine and util never use a service",
    "a service uses another service only through its facade",
];

/// The published surface of each service, which other services and the shared parts may use.
pub const FACADES: &[&str] = &[
    "crate::services",
    "crate::services::unimplemented",
    "crate::services::glue::catalog",
    "crate::services::glue::model",
    "crate::services::s3::addressing",
    "crate::services::s3::facade",
    "crate::services::athena::spark_catalog",
    "crate::services::entityresolution::facade",
];

/// Edges that break a rule today, with the reason they remain: `(from, to, why)`.
pub const ALLOWED: &[(&str, &str, &str)] = &[];

/// Reads every `.rs` file under `src` (the crate root) and builds its graph.
///
/// # Errors
/// When a file cannot be read.
pub fn read_crate(src: &Path) -> std::io::Result<Graph> {
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let mut sources = Vec::new();
    for path in files {
        let rel = path.strip_prefix(src).unwrap_or(&path);
        let text = std::fs::read_to_string(&path)?;
        sources.push((module_of(rel), text));
    }
    Ok(graph(&sources))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// The module a file (relative to the crate root) defines.
pub fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        if let Some(stem) = last.strip_suffix(".rs") {
            *last = stem.to_string();
        }
    }
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    std::iter::once("crate".to_string()).chain(parts).collect()
}

/// Builds the graph of `sources`: `(module, text)` per file.
pub fn graph(sources: &[(ModPath, String)]) -> Graph {
    let modules: BTreeSet<&ModPath> = sources.iter().map(|(m, _)| m).collect();
    let mut g = Graph::default();
    for (module, text) in sources {
        let code = code_of(text);
        let mut used = BTreeSet::new();
        for path in paths(&code) {
            let Some(full) = absolute(module, &path) else {
                continue;
            };
            let target = (1..=full.len())
                .rev()
                .map(|k| full[..k].to_vec())
                .find(|prefix| modules.contains(prefix));
            if let Some(t) = target {
                if &t != module {
                    used.insert(t);
                }
            }
        }
        g.edges.insert(module.clone(), used);
    }
    g
}

/// `path` (as written in `module`) as an absolute module path, when it is crate-relative.
fn absolute(module: &ModPath, path: &[String]) -> Option<ModPath> {
    let first = path.first()?;
    let mut base: ModPath = match first.as_str() {
        "crate" => vec!["crate".to_string()],
        "super" | "self" => module.clone(),
        _ => return None,
    };
    let mut rest = if first == "crate" { &path[1..] } else { path };
    while let Some(seg) = rest.first() {
        match seg.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The code of a file without its test module, comments and string literals.
fn code_of(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let next = lines.peek().map_or("", |l| l.trim_start());
            if next.starts_with("mod ") || next.starts_with("pub(crate) mod ") {
                break;
            }
        }
        kept.push(line);
    }
    strip_comments_and_strings(&kept.join("\n"))
}

fn strip_comments_and_strings(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && is_raw_start(&chars, i) {
            let mut hashes = 0;
            i += 1;
            while chars.get(i) == Some(&'#') {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next.is_some() && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether `r` at `i` starts a raw string (not the end of an identifier such as `for`).
fn is_raw_start(chars: &[char], i: usize) -> bool {
    let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if after_ident {
        return false;
    }
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// Every path a file's code names: its `use` trees, expanded, and its inline paths that start
/// with `crate`, `super` or `self`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(pos) = find_use(rest) {
        let after = &rest[pos + 4..];
        let end = after.find(';').unwrap_or(after.len());
        expand(after[..end].trim(), &mut Vec::new(), &mut out);
        rest = &after[end..];
    }
    let tokens = tokenize(code);
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let starts = matches!(t, "crate" | "super" | "self")
            && (i == 0 || tokens[i - 1] != "::")
            && tokens.get(i + 1).is_some_and(|n| n == "::");
        if starts {
            let mut path = vec![t.to_string()];
            let mut j = i + 1;
            while tokens.get(j).is_some_and(|n| n == "::")
                && tokens.get(j + 1).is_some_and(|n| is_ident(n))
            {
                path.push(tokens[j + 1].clone());
                j += 2;
            }
            out.push(path);
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The byte position of the next `use ` keyword at the start of a statement.
fn find_use(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(p) = s[from..].find("use ") {
        let at = from + p;
        let before = if at == 0 { b'\n' } else { bytes[at - 1] };
        if !(before.is_ascii_alphanumeric() || before == b'_') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths, each prefixed with `prefix`.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let inner = tree[open + 1..].trim_end().trim_end_matches('}');
        let depth_before = prefix.len();
        prefix.extend(head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], prefix, out);
        prefix.truncate(depth_before);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap_or(tree);
        let mut full = prefix.clone();
        full.extend(
            path.split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "*")
                .map(String::from),
        );
        if full.last().is_some_and(|s| s == "self") {
            full.pop();
        }
        out.push(full);
    }
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn tokenize(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_alphanumeric() || n == '_' {
                    word.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(word);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push("::".to_string());
        } else if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    out
}

fn join(m: &[String]) -> String {
    m.join("::")
}

fn starts_with(m: &[String], prefix: &str) -> bool {
    let p: Vec<&str> = prefix.split("::").collect();
    m.len() >= p.len() && m.iter().zip(&p).all(|(a, b)| a == b)
}

/// The Clean Rooms record kinds, which only `records/` may name.
const KINDS: &str = "crate::services::cleanrooms::records::kinds";

/// The Clean Rooms layer of `m` (higher may use lower), when `m` is inside the service.
fn cleanrooms_layer(m: &[String]) -> Option<u8> {
    const ROOT: &str = "crate::services::cleanrooms";
    if !starts_with(m, ROOT) {
        return None;
    }
    Some(match m.get(3).map(String::as_str) {
        Some("errors") => 0,
        Some("domain") => 1,
        Some("records") => 2,
        Some("analysis") => 3,
        Some("workflows") => 4,
        Some("ops") => 5,
        _ => 6,
    })
}

/// The service `m` belongs to (`crate::services::<name>`), if any.
fn service_of(m: &[String]) -> Option<&str> {
    if m.len() >= 3 && m[0] == "crate" && m[1] == "services" {
        Some(m[2].as_str())
    } else {
        None
    }
}

fn is_facade(m: &[String]) -> bool {
    FACADES.iter().any(|f| join(m) == *f)
}

/// The rule edge `from → to` breaks, if any.
fn broken_rule(from: &[String], to: &[String]) -> Option<&'static str> {
    if let (Some(a), Some(b)) = (cleanrooms_layer(from), cleanrooms_layer(to)) {
        if join(to) == KINDS && a != 2 {
            return Some("only records/ names the store's record kinds");
        }
        if b > a {
            return Some("a Clean Rooms layer may use only its own layer and the layers below");
        }
        if a == 5 && b == 5 && from.len() > 4 && to.len() > 4 {
            return Some("an operation handler module never uses another one");
        }
        return None;
    }
    let shared = ["store", "storage", "object_files", "jobs", "engine", "util"];
    let from_shared = from.len() >= 2 && shared.contains(&from[1].as_str());
    if from_shared && starts_with(to, "crate::services") {
        return Some("the shared parts never use a service");
    }
    if let (Some(a), Some(b)) = (service_of(from), service_of(to)) {
        if a != b && !is_facade(to) {
            return Some("a service uses another service only through its facade");
        }
    }
    None
}

/// Every broken rule of `g`: circles first, then forbidden edges not in [`ALLOWED`].
pub fn check(g: &Graph) -> Vec<Violation> {
    let mut out: Vec<Violation> = circles(g)
        .into_iter()
        .map(|c| Violation::Circle(c.iter().map(|m| join(m)).collect()))
        .collect();
    for (from, tos) in &g.edges {
        for to in tos {
            let Some(rule) = broken_rule(from, to) else {
                continue;
            };
            let (f, t) = (join(from), join(to));
            if ALLOWED.iter().any(|(a, b, _)| *a == f && *b == t) {
                continue;
            }
            out.push(Violation::Forbidden {
                from: f,
                to: t,
                rule,
            });
        }
    }
    out
}

/// The strongly connected components of more than one module (Tarjan), each sorted.
pub fn circles(g: &Graph) -> Vec<Vec<ModPath>> {
    struct Tarjan<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        on_stack: BTreeSet<&'g ModPath>,
        next: usize,
        out: Vec<Vec<ModPath>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g ModPath) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            let g = self.g;
            for w in g.edges.get(v).into_iter().flatten() {
                let Some((w, _)) = g.edges.get_key_value(w) else {
                    continue;
                };
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out.sort();
    t.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> ModPath {
        s.split("::").map(String::from).collect()
    }

    fn src(module: &str, text: &str) -> (ModPath, String) {
        (m(module), text.to_string())
    }

    #[test]
    fn use_trees_and_inline_paths_become_edges() {
        let g = graph(&[
            src(
                "crate::a",
                "use crate::b::{x, c::{y, z}};\nfn f() { super::d::g(); crate::e::h() }",
            ),
            src("crate::b", ""),
            src("crate::b::c", ""),
            src("crate::d", ""),
            src(
                "crate::e",
                "// use crate::a;\nconst S: &str = \"crate::a::x\";",
            ),
        ]);
        let a: Vec<String> = g.edges[&m("crate::a")].iter().map(|p| join(p)).collect();
        assert_eq!(a, ["crate::b", "crate::b::c", "crate::d", "crate::e"]);
        assert!(
            g.edges[&m("crate::e")].is_empty(),
            "comments and strings are not code"
        );
    }

    #[test]
    fn test_modules_are_left_out() {
        let g = graph(&[
            src(
                "crate::a",
                "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n",
            ),
            src("crate::b", ""),
        ]);
        assert!(g.edges[&m("crate::a")].is_empty());
    }

    #[test]
    fn a_circle_is_reported() {
        let g = graph(&[
            src("crate::a", "use crate::b::x;"),
            src("crate::b", "use crate::c::x;"),
            src("crate::c", "use crate::a::x;"),
            src("crate::d", "use crate::a::x;"),
        ]);
        assert_eq!(
            check(&g),
            vec![Violation::Circle(vec![
                "crate::a".into(),
                "crate::b".into(),
                "crate::c".into()
            ])]
        );
    }

    #[test]
    fn layers_point_down_and_handlers_stay_apart() {
        let g = graph(&[
            src(
                "crate::services::cleanrooms::domain::x",
                "use crate::services::cleanrooms::records::y;",
            ),
            src("crate::services::cleanrooms::records::y", ""),
            src(
                "crate::services::cleanrooms::ops::a",
                "use crate::services::cleanrooms::ops::b::f; use crate::services::cleanrooms::workflows::w;",
            ),
            src("crate::services::cleanrooms::ops::b", ""),
            src(
                "crate::services::cleanrooms::workflows::w",
                "use crate::services::cleanrooms::records::kinds;",
            ),
            src("crate::services::cleanrooms::records::kinds", ""),
        ]);
        let found: Vec<String> = check(&g).iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("domain::x uses crate::services::cleanrooms::records::y"));
        assert!(found[1].contains("another one"));
        assert!(found[2].contains("workflows::w uses crate::services::cleanrooms::records::kinds"));
    }

    #[test]
    fn services_meet_through_facades() {
        let g = graph(&[
            src(
                "crate::services::athena::ops",
                "use crate::services::glue::catalog; use crate::services::glue::repo;",
            ),
            src("crate::services::glue::catalog", ""),
            src("crate::services::glue::repo", ""),
            src("crate::engine::x", "use crate::services::glue::repo;"),
            src(
                "crate::engine::y",
                "fn f() { crate::services::glue::catalog::f(); }",
            ),
        ]);
        let found: Vec<String> = check(&g).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "crate::engine::x uses crate::services::glue::repo: the shared parts never use a service",
                "crate::engine::y uses crate::services::glue::catalog: the shared parts never use a service",
                "crate::services::athena::ops uses crate::services::glue::repo: a service uses another service only through its facade",
            ]
        );
    }
}
