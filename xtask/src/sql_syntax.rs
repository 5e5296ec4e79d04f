//! `docs/reference/sql-syntax.md`: the syntax forms of the two SQL dialects (clauses, joins,
//! set operators, literals, casts, conversions, operators, names, patterns, keywords, types),
//! rendered from the catalogues `tests/slt/sql-syntax/<dialect>.tsv` (`clean-rooms-sql.tsv`,
//! `spark-sql.tsv`). A form a catalogue calls `tested` must be proven by a query of its
//! dialect's tests (`tests/slt/sql-syntax/<dialect>-*.slt`) under a `# form: <id>` line, and
//! every `# form:` line must name a form of its dialect's catalogue, so the page cannot claim
//! more than is tested.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The families of forms, in the order the page lists them.
pub const FAMILIES: &[(&str, &str)] = &[
    ("query", "Query shape"),
    ("join", "Joins"),
    ("grouping", "Grouping"),
    ("set-operators", "Set operators"),
    ("ordering", "Ordering, LIMIT and OFFSET"),
    ("literals", "Literals"),
    ("casts", "Casts"),
    ("conversions", "Implicit conversions"),
    ("operators", "Operators"),
    ("identifiers", "Identifiers"),
    ("patterns", "Pattern matching"),
    ("keywords", "Keywords"),
    ("types", "Data types"),
];

/// A dialect's catalogue file stem (also the prefix of its test files), analytics engine and
/// title, in the order the page lists them.
const DIALECTS: &[(&str, &str, &str)] = &[
    ("clean-rooms-sql", "CLEAN_ROOMS_SQL", "AWS Clean Rooms SQL"),
    ("spark-sql", "SPARK", "Spark SQL"),
];

/// One form of a catalogue.
#[derive(Debug)]
struct Form {
    id: String,
    family: String,
    form: String,
    status: String,
    note: String,
}

/// Reads a catalogue: `#` comment lines, then rows `id, family, form, status, note` separated by
/// tabs.
fn read_catalogue(name: &str, text: &str) -> Result<Vec<Form>, String> {
    let mut forms: Vec<Form> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let at = format!("{name}:{}", number + 1);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, family, form, status, note] = fields.as_slice() else {
            return Err(format!(
                "{at}: expected 5 tab-separated fields (id, family, form, status, note), found {}",
                fields.len()
            ));
        };
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(format!("{at}: the id '{id}' must be one word"));
        }
        if forms.iter().any(|f| f.id == *id) {
            return Err(format!("{at}: the id '{id}' is catalogued twice"));
        }
        if !FAMILIES.iter().any(|(f, _)| f == family) {
            return Err(format!("{at}: unknown family '{family}'"));
        }
        if form.trim().is_empty() {
            return Err(format!("{at}: '{id}' has no form"));
        }
        match *status {
            "tested" => {}
            "no" if !note.trim().is_empty() => {}
            "no" => {
                return Err(format!(
                    "{at}: '{id}' is not supported but its note gives no reason"
                ))
            }
            other => return Err(format!("{at}: unknown status '{other}' (tested or no)")),
        }
        forms.push(Form {
            id: id.to_string(),
            family: family.to_string(),
            form: form.to_string(),
            status: status.to_string(),
            note: note.to_string(),
        });
    }
    Ok(forms)
}

/// The ids the `# form: <id>` lines of a test file name. Such a line must stand directly above
/// a `query` line or another `# form:` line.
fn proven_forms(name: &str, text: &str) -> Result<Vec<String>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut ids = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let Some(id) = line.strip_prefix("# form:") else {
            continue;
        };
        let id = id.trim();
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(format!(
                "{name}:{}: '# form:' takes one id, not '{id}'",
                number + 1
            ));
        }
        let next = lines.get(number + 1).copied().unwrap_or_default();
        if !(next.starts_with("query ") || next.starts_with("# form:")) {
            return Err(format!(
                "{name}:{}: '# form: {id}' must stand directly above a query",
                number + 1
            ));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// The page from the catalogues and test files, each given as (file name, contents).
///
/// # Errors
/// A catalogue of an unknown dialect or with a malformed row, a `tested` form that no query of
/// its dialect proves, or a `# form:` line naming a form its dialect's catalogue lacks.
pub fn render(
    catalogues: &[(String, String)],
    tests: &[(String, String)],
) -> Result<String, String> {
    let mut by_dialect: BTreeMap<&str, Vec<Form>> = BTreeMap::new();
    for (name, text) in catalogues {
        let stem = name.strip_suffix(".tsv").unwrap_or(name);
        let Some((stem, _, _)) = DIALECTS.iter().find(|(s, _, _)| *s == stem) else {
            return Err(format!(
                "{name}: no dialect is called so (clean-rooms-sql.tsv or spark-sql.tsv)"
            ));
        };
        by_dialect.insert(stem, read_catalogue(name, text)?);
    }
    for (name, text) in tests {
        let Some((stem, _, _)) = DIALECTS
            .iter()
            .find(|(s, _, _)| name.starts_with(&format!("{s}-")))
        else {
            return Err(format!(
                "{name}: a syntax test file starts with its dialect (clean-rooms-sql- or spark-sql-)"
            ));
        };
        let known: BTreeSet<&str> = by_dialect
            .get(stem)
            .map(|forms| forms.iter().map(|f| f.id.as_str()).collect())
            .unwrap_or_default();
        for id in proven_forms(name, text)? {
            if !known.contains(id.as_str()) {
                return Err(format!(
                    "{name}: '# form: {id}' names a form that {stem}.tsv does not catalogue"
                ));
            }
        }
    }
    for (stem, forms) in &by_dialect {
        let mut proven = BTreeSet::new();
        for (name, text) in tests {
            if name.starts_with(&format!("{stem}-")) {
                proven.extend(proven_forms(name, text)?);
            }
        }
        if let Some(form) = forms
            .iter()
            .find(|f| f.status == "tested" && !proven.contains(&f.id))
        {
            return Err(format!(
                "{stem}.tsv: '{}' is marked tested but no query of {stem}-*.slt carries '# form: {}'",
                form.id, form.id
            ));
        }
    }
    Ok(page(&by_dialect))
}

/// The Markdown of the page.
fn page(by_dialect: &BTreeMap<&str, Vec<Form>>) -> String {
    let mut out = String::from(
        "# SQL syntax: the forms of both dialects\n\n\
         <!-- GENERATED by `cargo xtask codegen` from tests/slt/sql-syntax/*.tsv; do not edit. -->\n\n\
         For whoever writes protected queries or analysis templates against the emulator and\n\
         wants to know which clauses, literals, casts, operators and names of the AWS Clean Rooms\n\
         SQL reference it accepts, and with what result. A collaboration's `analyticsEngine`\n\
         chooses the dialect: `CLEAN_ROOMS_SQL` is AWS Clean Rooms SQL, `SPARK` (the default) is\n\
         Spark SQL. The functions are on [SQL functions](sql-functions.md).\n\n\
         - **tested**: supported; a query in `tests/slt/sql-syntax/` runs the form through a\n  \
         protected query and checks the documented result (or, for a form the reference itself\n  \
         refuses, the error);\n\
         - **no**: not supported; the note says why and which error the query gets.\n\n\
         The analysis rules see the columns a query names whatever form it is written in: a form\n\
         the emulator rewrites is checked as the plain form would be.\n",
    );
    let mut counts =
        String::from("\n| Dialect | Forms | Tested | Not supported |\n|---|---|---|---|\n");
    let mut sections = String::new();
    for (stem, engine, title) in DIALECTS {
        let Some(forms) = by_dialect.get(stem) else {
            continue;
        };
        let count = |s: &str| forms.iter().filter(|f| f.status == s).count();
        counts.push_str(&format!(
            "| {title} (`{engine}`) | {} | {} | {} |\n",
            forms.len(),
            count("tested"),
            count("no")
        ));
        sections.push_str(&format!(
            "\n## {title} (`{engine}`)\n\n{} forms: {} tested, {} not supported.\n",
            forms.len(),
            count("tested"),
            count("no")
        ));
        for (family, heading) in FAMILIES {
            let mine: Vec<&Form> = forms.iter().filter(|f| f.family == *family).collect();
            if mine.is_empty() {
                continue;
            }
            sections.push_str(&format!(
                "\n### {heading}\n\n| Id | Form | Status | Note |\n|---|---|---|---|\n"
            ));
            for f in mine {
                sections.push_str(&format!(
                    "| `{}` | `{}` | {} | {} |\n",
                    f.id,
                    cell(&f.form),
                    f.status,
                    cell(&f.note)
                ));
            }
        }
    }
    out.push_str(&counts);
    out.push_str(&sections);
    out
}

/// Text for a table cell: `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The page from `root`'s `tests/slt/sql-syntax/`.
///
/// # Errors
/// An unreadable directory or file, or any error of [`render`].
pub fn syntax_md(root: &Path) -> Result<String, String> {
    let dir = root.join("tests").join("slt").join("sql-syntax");
    let mut catalogues = Vec::new();
    let mut tests = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let list = if name.ends_with(".tsv") {
            &mut catalogues
        } else if name.ends_with(".slt") {
            &mut tests
        } else {
            continue;
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        list.push((name, text));
    }
    render(&catalogues, &tests)
}

#[cfg(test)]
mod tests {
    use super::render;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    const CATALOGUE: &str = "# header\nselect.top\tquery\tSELECT TOP n\ttested\t\n\
        literal.timetz\tliterals\tTIMETZ 'x'\tno\tno such type: ValidationException\n";
    const TESTS: &str =
        "engine CLEAN_ROOMS_SQL\n\n# form: select.top\nquery ok\nSELECT TOP 1 a FROM t\n----\n1\n";

    #[test]
    fn renders_counts_and_a_table_per_family() {
        let page = render(
            &files(&[("clean-rooms-sql.tsv", CATALOGUE)]),
            &files(&[("clean-rooms-sql-query.slt", TESTS)]),
        )
        .unwrap();
        assert!(page.contains("| AWS Clean Rooms SQL (`CLEAN_ROOMS_SQL`) | 2 | 1 | 1 |"));
        assert!(page.contains("### Query shape"));
        assert!(page.contains("| `select.top` | `SELECT TOP n` | tested |  |"));
        assert!(page.contains("### Literals"));
        assert!(!page.contains("Spark SQL (`SPARK`) |"));
    }

    #[test]
    fn both_dialects_are_read() {
        let spark = "set.minus\tset-operators\tMINUS\tno\tnot in Spark: parse error\n";
        let page = render(
            &files(&[("clean-rooms-sql.tsv", CATALOGUE), ("spark-sql.tsv", spark)]),
            &files(&[("clean-rooms-sql-query.slt", TESTS)]),
        )
        .unwrap();
        assert!(page.contains("| Spark SQL (`SPARK`) | 1 | 0 | 1 |"));
        assert!(page.contains("## Spark SQL (`SPARK`)"));
    }

    #[test]
    fn a_tested_form_needs_a_query_of_its_dialect() {
        let error = render(
            &files(&[("clean-rooms-sql.tsv", CATALOGUE)]),
            &files(&[("spark-sql-query.slt", "query ok\nSELECT 1\n----\n1\n")]),
        )
        .unwrap_err();
        assert!(error.contains("'select.top' is marked tested"), "{error}");
    }

    #[test]
    fn a_form_line_must_name_a_catalogued_form() {
        let tests = format!("{TESTS}\n# form: select.nothing\nquery ok\nSELECT 1\n----\n1\n");
        let error = render(
            &files(&[("clean-rooms-sql.tsv", CATALOGUE)]),
            &files(&[("clean-rooms-sql-query.slt", &tests)]),
        )
        .unwrap_err();
        assert!(error.contains("select.nothing"), "{error}");
        // A form of the other dialect's catalogue does not count.
        let error = render(
            &files(&[("clean-rooms-sql.tsv", CATALOGUE)]),
            &files(&[("spark-sql-query.slt", TESTS)]),
        )
        .unwrap_err();
        assert!(
            error.contains("spark-sql.tsv does not catalogue"),
            "{error}"
        );
    }

    #[test]
    fn a_form_line_stands_above_a_query() {
        let tests = "# form: select.top\n\nquery ok\nSELECT TOP 1 a FROM t\n----\n1\n";
        let error = render(
            &files(&[("clean-rooms-sql.tsv", CATALOGUE)]),
            &files(&[("clean-rooms-sql-query.slt", tests)]),
        )
        .unwrap_err();
        assert!(error.contains("directly above a query"), "{error}");
    }

    #[test]
    fn malformed_rows_are_refused() {
        for (row, message) in [
            ("a\tquery\tform\ttested", "expected 5"),
            ("a\tnowhere\tform\ttested\t", "unknown family"),
            ("a\tquery\tform\tmaybe\t", "unknown status"),
            ("a\tquery\tform\tno\t", "gives no reason"),
            ("a b\tquery\tform\ttested\t", "one word"),
            ("select.top\tquery\tform\ttested\t", "twice"),
        ] {
            let catalogue = format!("{CATALOGUE}{row}\n");
            let error = render(
                &files(&[("clean-rooms-sql.tsv", &catalogue)]),
                &files(&[("clean-rooms-sql-query.slt", TESTS)]),
            )
            .unwrap_err();
            assert!(error.contains(message), "{row}: {error}");
        }
        let error = render(&files(&[("sql.tsv", CATALOGUE)]), &[]).unwrap_err();
        assert!(error.contains("no dialect"), "{error}");
    }
}
