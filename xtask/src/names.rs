//! Turning model names (shape, member, operation and enum value names) into Rust identifiers.

/// Words that cannot be plain identifiers in edition 2021 (strict, reserved and weak keywords that
/// matter in item position).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot even be raw identifiers (`r#self` is invalid).
const NON_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Type names a generated type must not take, because generated code (or derive expansions and
/// users' glob imports) refers to them unqualified.
const RESERVED_TYPES: &[&str] = &[
    "String",
    "Option",
    "Result",
    "Box",
    "Vec",
    "Some",
    "None",
    "Ok",
    "Err",
    "Default",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Iterator",
    "IntoIterator",
    "Into",
    "From",
    "ToString",
    "ToOwned",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Debug",
    "AsRef",
    "AsMut",
    "Extend",
    "BTreeMap",
    "Value",
    "Timestamp",
    "serde",
    "std",
    "core",
    "alloc",
    "crate",
    "super",
    "Self",
];

/// Whether `s` is a Rust keyword.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// `snake_case` of a camelCase / PascalCase / SCREAMING / dotted name, keeping acronyms together:
/// `S3Path` → `s3_path`, `GetIAMPolicy` → `get_iam_policy`, `DPUSeconds` → `dpu_seconds`.
pub fn snake_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            out.push('_');
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // A plural acronym (`IDs`, `ARNsUsed`) keeps its `s`.
            let plural = chars.get(i + 1) == Some(&'s')
                && chars.get(i + 2).is_none_or(|n| !n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower && !plural)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    // Collapse separators.
    let mut collapsed = String::new();
    for part in out.split('_').filter(|p| !p.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push('_');
        }
        collapsed.push_str(part);
    }
    if collapsed.is_empty() {
        collapsed.push_str("value");
    }
    if collapsed.starts_with(|c: char| c.is_ascii_digit()) {
        collapsed.insert(0, '_');
    }
    collapsed
}

/// A valid identifier for a field or method named `s` (after snake-casing): keywords become raw
/// identifiers (`r#type`), or get a trailing underscore when they cannot be raw (`self_`).
pub fn escape_ident(s: &str) -> String {
    if NON_RAW.contains(&s) {
        format!("{s}_")
    } else if is_keyword(s) {
        format!("r#{s}")
    } else {
        s.to_string()
    }
}

/// The field identifier of a structure member.
pub fn field_ident(member: &str) -> String {
    escape_ident(&snake_case(member))
}

/// `CamelCase` of an enum value or union member name: parts split at non-alphanumerics; a part that
/// is all one case is capitalised (`CAN_QUERY` → `CanQuery`, `us-east-1` → `UsEast1`,
/// `CR.1X` → `Cr1x`), a mixed-case part keeps its inner capitals (`countDistinct` →
/// `CountDistinct`). A leading digit gets a `V` prefix.
pub fn camel_case(s: &str) -> String {
    let mut out = String::new();
    for part in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let has_upper = part.chars().any(|c| c.is_ascii_uppercase());
        let has_lower = part.chars().any(|c| c.is_ascii_lowercase());
        let mut cs = part.chars();
        let first = cs.next().unwrap();
        out.push(first.to_ascii_uppercase());
        if has_upper && has_lower {
            out.extend(cs);
        } else {
            out.extend(cs.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.is_empty() {
        out.push_str("Empty");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if out == "Self" {
        out.push('_');
    }
    out
}

/// The Rust type name of a shape: invalid characters become `_`; names that clash with prelude or
/// otherwise unqualified names get a `Shape` prefix (`String` → `ShapeString`).
pub fn type_ident(shape: &str) -> String {
    let mut out: String = shape
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || RESERVED_TYPES.contains(&out.as_str())
        || is_keyword(&out)
    {
        out.insert_str(0, "Shape");
    }
    out
}

/// Makes `name` unique among `taken` by appending `2`, `3`, … (or `_2`, … for snake_case names).
pub fn dedupe(name: String, taken: &mut std::collections::BTreeSet<String>, snake: bool) -> String {
    if taken.insert(name.clone()) {
        return name;
    }
    let base = name.strip_prefix("r#").unwrap_or(&name).to_string();
    for n in 2.. {
        let candidate = if snake {
            format!("{base}_{n}")
        } else {
            format!("{base}{n}")
        };
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
    unreachable!()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake() {
        assert_eq!(snake_case("CreateCollaboration"), "create_collaboration");
        assert_eq!(
            snake_case("BatchGetSchemaAnalysisRule"),
            "batch_get_schema_analysis_rule"
        );
        assert_eq!(snake_case("GetIAMPolicy"), "get_iam_policy");
        assert_eq!(snake_case("S3Path"), "s3_path");
        assert_eq!(snake_case("DPUSeconds"), "dpu_seconds");
        assert_eq!(snake_case("KMSKeyArn"), "kms_key_arn");
        assert_eq!(snake_case("accountId"), "account_id");
        assert_eq!(snake_case("ARN"), "arn");
        assert_eq!(snake_case("IDs"), "ids");
        assert_eq!(snake_case("ColumnIDsUsed"), "column_ids_used");
        assert_eq!(snake_case("DynamoDBTargets"), "dynamo_db_targets");
        assert_eq!(snake_case("GetMLTransforms"), "get_ml_transforms");
        assert_eq!(snake_case("PIIDetection"), "pii_detection");
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(field_ident("Self"), "self_");
    }

    #[test]
    fn camel() {
        assert_eq!(camel_case("CAN_QUERY"), "CanQuery");
        assert_eq!(camel_case("us-east-1"), "UsEast1");
        assert_eq!(camel_case("CR.1X"), "Cr1x");
        assert_eq!(camel_case("1.0"), "V10");
        assert_eq!(camel_case("countDistinct"), "CountDistinct");
        assert_eq!(camel_case("glue"), "Glue");
        assert_eq!(type_ident("String"), "ShapeString");
        assert_eq!(type_ident("Hash"), "Hash");
        let mut taken = std::collections::BTreeSet::new();
        assert_eq!(dedupe("Foo".into(), &mut taken, false), "Foo");
        assert_eq!(dedupe("Foo".into(), &mut taken, false), "Foo2");
        assert_eq!(dedupe("r#type".into(), &mut taken, true), "r#type");
        assert_eq!(dedupe("r#type".into(), &mut taken, true), "type_2");
    }
}
