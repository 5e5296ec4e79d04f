//! Model-driven input validation: required members, types, lengths and counts, numeric ranges,
//! patterns, enums and unions, checked against the shape a value claims to be. Unknown JSON
//! members are ignored, as AWS ignores them. Messages follow AWS's wording
//! (`Value 'x' at 'name' failed to satisfy constraint: …`).

use serde_json::Value;

use super::model::{ServiceModel, Shape};

/// One broken rule: the member path and the message describing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Member path, e.g. `members.1.member.accountId`.
    pub path: String,
    /// What is wrong, in AWS's wording.
    pub message: String,
}

/// String shapes whose model maximum length is not enforced because values the services mint
/// themselves exceed it: Clean Rooms' `CleanroomsArn` (max 100) must accept the ARNs of
/// membership-scoped resources (`…:membership/<id>/configuredtableassociation/<id>`, ~150
/// characters) in the tagging operations.
const UNBOUNDED_LENGTH: &[&str] = &["CleanroomsArn"];

/// Validates `value` against shape `shape` and returns every broken rule (empty when valid).
pub fn validate(model: &ServiceModel, shape: &str, value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check(model, shape, value, "", &mut errors, 0);
    errors
}

/// Renders a value the way AWS quotes it in validation messages (long values shortened).
fn show(value: &Value) -> String {
    let s = match value {
        Value::String(s) => s.clone(),
        Value::Null => return "null".into(),
        other => other.to_string(),
    };
    if s.chars().count() > 64 {
        format!("'{}…'", s.chars().take(64).collect::<String>())
    } else {
        format!("'{s}'")
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn fail(errors: &mut Vec<FieldError>, path: &str, value: &Value, constraint: String) {
    let at = if path.is_empty() { "input" } else { path };
    errors.push(FieldError {
        path: at.to_string(),
        message: format!(
            "Value {} at '{at}' failed to satisfy constraint: {constraint}",
            show(value)
        ),
    });
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn check_len(
    errors: &mut Vec<FieldError>,
    path: &str,
    value: &Value,
    len: usize,
    min: Option<f64>,
    max: Option<f64>,
) {
    let len = len as f64;
    if let Some(min) = min {
        if len < min {
            fail(
                errors,
                path,
                value,
                format!(
                    "Member must have length greater than or equal to {}",
                    fmt_num(min)
                ),
            );
        }
    }
    if let Some(max) = max {
        if len > max {
            fail(
                errors,
                path,
                value,
                format!(
                    "Member must have length less than or equal to {}",
                    fmt_num(max)
                ),
            );
        }
    }
}

fn check_range(
    errors: &mut Vec<FieldError>,
    path: &str,
    value: &Value,
    n: f64,
    min: Option<f64>,
    max: Option<f64>,
) {
    if let Some(min) = min {
        if n < min {
            fail(
                errors,
                path,
                value,
                format!(
                    "Member must have value greater than or equal to {}",
                    fmt_num(min)
                ),
            );
        }
    }
    if let Some(max) = max {
        if n > max {
            fail(
                errors,
                path,
                value,
                format!(
                    "Member must have value less than or equal to {}",
                    fmt_num(max)
                ),
            );
        }
    }
}

fn check(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
    depth: usize,
) {
    if depth > 64 {
        fail(
            errors,
            path,
            value,
            "Member must not be nested more than 64 levels deep".into(),
        );
        return;
    }
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    match shape {
        Shape::Structure { members, union, .. } => {
            let Value::Object(obj) = value else {
                fail(errors, path, value, "Member must be a structure".into());
                return;
            };
            let mut set = 0;
            for m in members {
                match obj.get(&m.name) {
                    None | Some(Value::Null) => {
                        if m.required {
                            fail(
                                errors,
                                &join(path, &m.name),
                                &Value::Null,
                                "Member must not be null".into(),
                            );
                        }
                    }
                    Some(v) => {
                        set += 1;
                        check(model, &m.target, v, &join(path, &m.name), errors, depth + 1);
                    }
                }
            }
            if *union && set != 1 {
                let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                fail(
                    errors,
                    path,
                    value,
                    format!(
                        "Member must have exactly one of [{}] set, found {set}",
                        names.join(", ")
                    ),
                );
            }
        }
        Shape::List { member, min, max } => {
            let Value::Array(items) = value else {
                fail(errors, path, value, "Member must be a list".into());
                return;
            };
            check_len(errors, path, value, items.len(), *min, *max);
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    fail(
                        errors,
                        &format!("{}.{}.member", path, i + 1),
                        item,
                        "Member must not be null".into(),
                    );
                } else {
                    check(
                        model,
                        member,
                        item,
                        &format!("{}.{}.member", path, i + 1),
                        errors,
                        depth + 1,
                    );
                }
            }
        }
        Shape::Map {
            key,
            value: value_shape,
            min,
            max,
        } => {
            let Value::Object(obj) = value else {
                fail(errors, path, value, "Member must be a map".into());
                return;
            };
            check_len(errors, path, value, obj.len(), *min, *max);
            for (k, v) in obj {
                let key_value = Value::String(k.clone());
                check(
                    model,
                    key,
                    &key_value,
                    &format!("{path}.key"),
                    errors,
                    depth + 1,
                );
                if v.is_null() {
                    fail(
                        errors,
                        &format!("{path}.{k}"),
                        v,
                        "Member must not be null".into(),
                    );
                } else {
                    check(
                        model,
                        value_shape,
                        v,
                        &format!("{path}.{k}"),
                        errors,
                        depth + 1,
                    );
                }
            }
        }
        Shape::String {
            min,
            max,
            pattern,
            enumeration,
        } => {
            let Value::String(s) = value else {
                fail(errors, path, value, "Member must be a string".into());
                return;
            };
            let max = if UNBOUNDED_LENGTH.contains(&shape_name) {
                None
            } else {
                *max
            };
            check_len(errors, path, value, s.chars().count(), *min, max);
            if let Some(values) = enumeration {
                if !values.iter().any(|v| v == s) {
                    fail(
                        errors,
                        path,
                        value,
                        format!(
                            "Member must satisfy enum value set: [{}]",
                            values.join(", ")
                        ),
                    );
                    return;
                }
            }
            if let Some(p) = pattern {
                if let Some(re) = model.pattern(p) {
                    if !re.is_match(s).unwrap_or(true) {
                        fail(
                            errors,
                            path,
                            value,
                            format!("Member must satisfy regular expression pattern: {p}"),
                        );
                    }
                }
            }
        }
        Shape::Integer { min, max, int32 } => {
            let n = value
                .as_i64()
                .filter(|n| !*int32 || i32::try_from(*n).is_ok());
            match n {
                Some(n) => check_range(errors, path, value, n as f64, *min, *max),
                None => fail(
                    errors,
                    path,
                    value,
                    format!(
                        "Member must be {}",
                        if *int32 {
                            "an integer"
                        } else {
                            "a long integer"
                        }
                    ),
                ),
            }
        }
        Shape::Double { min, max } => match value.as_f64() {
            Some(n) => check_range(errors, path, value, n, *min, *max),
            None => fail(errors, path, value, "Member must be a number".into()),
        },
        Shape::Boolean => {
            if !value.is_boolean() {
                fail(errors, path, value, "Member must be a boolean".into());
            }
        }
        Shape::Timestamp => {
            if !value.is_number() {
                fail(
                    errors,
                    path,
                    value,
                    "Member must be a timestamp in epoch seconds".into(),
                );
            }
        }
        Shape::Blob { min, max } => {
            let Value::String(s) = value else {
                fail(
                    errors,
                    path,
                    value,
                    "Member must be base64-encoded binary data".into(),
                );
                return;
            };
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(bytes) => check_len(errors, path, value, bytes.len(), *min, *max),
                Err(_) => fail(
                    errors,
                    path,
                    value,
                    "Member must be base64-encoded binary data".into(),
                ),
            }
        }
        Shape::Document => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::OnceLock;

    fn model() -> &'static ServiceModel {
        static M: OnceLock<ServiceModel> = OnceLock::new();
        M.get_or_init(|| ServiceModel::parse(include_str!("../../model/cleanrooms.json")).unwrap())
    }

    fn valid_create() -> Value {
        json!({
            "members": [{"accountId": "111111111111", "memberAbilities": [], "displayName": "b"}],
            "name": "collab",
            "creatorMemberAbilities": ["CAN_QUERY"],
            "creatorDisplayName": "a",
            "queryLogStatus": "DISABLED",
            "unknownFieldIsIgnored": 1
        })
    }

    #[test]
    fn valid_input_has_no_errors() {
        assert_eq!(
            validate(model(), "CreateCollaborationInput", &valid_create()),
            vec![]
        );
    }

    #[test]
    fn cleanrooms_arn_length_is_not_capped_but_its_pattern_is_checked() {
        let long = format!(
            "arn:aws:cleanrooms:us-east-1:111111111111:membership/{0}/configuredtableassociation/{0}",
            "0123abcd-0000-4000-8000-0123456789ab"
        );
        assert!(long.len() > 100);
        let input = json!({"resourceArn": long, "tags": {"k": "v"}});
        assert_eq!(validate(model(), "TagResourceInput", &input), vec![]);
        let bad = json!({"resourceArn": "arn:aws:s3:::bucket", "tags": {}});
        assert_eq!(validate(model(), "TagResourceInput", &bad).len(), 1);
    }

    #[test]
    fn required_length_pattern_and_enum_are_enforced() {
        let mut v = valid_create();
        v.as_object_mut().unwrap().remove("creatorDisplayName");
        v["name"] = json!("x".repeat(101));
        v["queryLogStatus"] = json!("MAYBE");
        v["members"][0]["accountId"] = json!("12345678901a");
        let errs = validate(model(), "CreateCollaborationInput", &v);
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"creatorDisplayName"), "{errs:?}");
        assert!(paths.contains(&"name"));
        assert!(paths.contains(&"queryLogStatus"));
        assert!(paths.contains(&"members.1.member.accountId"));
        let name = errs.iter().find(|e| e.path == "name").unwrap();
        assert!(
            name.message.contains("length less than or equal to 100"),
            "{}",
            name.message
        );
    }

    #[test]
    fn whitespace_only_name_fails_the_lookahead_pattern() {
        let mut v = valid_create();
        v["name"] = json!("   ");
        let errs = validate(model(), "CreateCollaborationInput", &v);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("regular expression pattern"));
    }

    #[test]
    fn unions_need_exactly_one_member() {
        let v = json!({"name": "t", "tableReference": {}, "allowedColumns": ["a"], "analysisMethod": "DIRECT_QUERY"});
        let errs = validate(model(), "CreateConfiguredTableInput", &v);
        assert!(
            errs.iter()
                .any(|e| e.path == "tableReference" && e.message.contains("exactly one")),
            "{errs:?}"
        );
    }

    #[test]
    fn numbers_are_range_and_type_checked() {
        let errs = validate(
            model(),
            "ListCollaborationsInput",
            &json!({"maxResults": 0}),
        );
        assert!(errs[0].message.contains("greater than or equal to 1"));
        let errs = validate(
            model(),
            "ListCollaborationsInput",
            &json!({"maxResults": "ten"}),
        );
        assert!(errs[0].message.contains("integer"));
    }
}
