//! The vendored botocore models, loaded at run time: operations with their HTTP bindings and
//! shapes with every constraint, so binding and validation are interpreted from the model rather
//! than written per operation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

/// Wire protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `rest-json` (Clean Rooms).
    RestJson,
    /// `json` / awsJson1.1 (Glue, Athena).
    AwsJson,
    /// `query` (STS).
    Query,
    /// `rest-xml` (S3).
    RestXml,
}

/// Where a member is bound in the HTTP request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// JSON body (the default).
    Body,
    /// URI label.
    Uri,
    /// Query string parameter.
    Querystring,
    /// HTTP header.
    Header,
    /// Prefixed headers map.
    Headers,
    /// HTTP status code (output only).
    StatusCode,
}

/// One member of a structure shape.
#[derive(Debug, Clone)]
pub struct Member {
    /// Member name as in the model (the JSON key).
    pub name: String,
    /// Target shape name.
    pub target: String,
    /// Binding location.
    pub location: Location,
    /// Wire name for non-body locations (label, query key or header name).
    pub location_name: String,
    /// Whether the member is `required`.
    pub required: bool,
}

/// A model shape with the constraints validation needs.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A structure (or a union when `union` is set; an exception when `error` is set).
    Structure {
        /// Members in model order.
        members: Vec<Member>,
        /// Tagged union: exactly one member must be set.
        union: bool,
        /// HTTP status for exception shapes.
        error_status: Option<u16>,
    },
    /// A list of `member`.
    List {
        /// Element shape name.
        member: String,
        /// Minimum item count.
        min: Option<f64>,
        /// Maximum item count.
        max: Option<f64>,
    },
    /// A map from `key` to `value`.
    Map {
        /// Key shape name.
        key: String,
        /// Value shape name.
        value: String,
        /// Minimum entry count.
        min: Option<f64>,
        /// Maximum entry count.
        max: Option<f64>,
    },
    /// A string, possibly an enum or patterned.
    String {
        /// Minimum length in characters.
        min: Option<f64>,
        /// Maximum length in characters.
        max: Option<f64>,
        /// Java-style regular expression the whole value must match.
        pattern: Option<String>,
        /// Allowed values.
        enumeration: Option<Vec<String>>,
    },
    /// An integer or long.
    Integer {
        /// Minimum value.
        min: Option<f64>,
        /// Maximum value.
        max: Option<f64>,
        /// `true` for 32-bit `integer`, `false` for `long`.
        int32: bool,
    },
    /// A float or double.
    Double {
        /// Minimum value.
        min: Option<f64>,
        /// Maximum value.
        max: Option<f64>,
    },
    /// A boolean.
    Boolean,
    /// A timestamp (epoch seconds in model form).
    Timestamp,
    /// A blob (base64 text in JSON).
    Blob {
        /// Minimum length in bytes.
        min: Option<f64>,
        /// Maximum length in bytes.
        max: Option<f64>,
    },
    /// A free-form JSON document.
    Document,
}

/// One operation of a service.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Operation name (`CreateCollaboration`).
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Request URI template.
    pub uri: String,
    /// Success status code.
    pub response_code: u16,
    /// Input shape.
    pub input: Option<String>,
    /// Output shape.
    pub output: Option<String>,
    /// Error shapes the operation declares.
    pub errors: Vec<String>,
}

/// A service model: operations and shapes, with a cache of compiled patterns.
#[derive(Debug)]
pub struct ServiceModel {
    /// Signing name (`cleanrooms`, `glue`, `athena`, `sts`).
    pub signing_name: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// `X-Amz-Target` prefix for awsJson services.
    pub target_prefix: Option<String>,
    /// Operations by name.
    pub operations: HashMap<String, Operation>,
    /// Shapes by name.
    pub shapes: HashMap<String, Shape>,
    patterns: RwLock<HashMap<String, Option<Arc<fancy_regex::Regex>>>>,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

impl ServiceModel {
    /// Parses a botocore `service-2.json` document.
    ///
    /// # Errors
    /// When the document is not a service model.
    pub fn parse(json: &str) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let meta = doc.get("metadata").ok_or("model has no metadata")?;
        let protocol = match meta.get("protocol").and_then(Value::as_str) {
            Some("rest-json") => Protocol::RestJson,
            Some("json") => Protocol::AwsJson,
            Some("query") => Protocol::Query,
            Some("rest-xml") => Protocol::RestXml,
            other => return Err(format!("unsupported protocol {other:?}")),
        };
        let signing_name = text(meta, "signingName")
            .or_else(|| text(meta, "endpointPrefix"))
            .ok_or("model has no signing name")?;
        let mut operations = HashMap::new();
        for (name, op) in doc["operations"].as_object().ok_or("no operations")? {
            let http = &op["http"];
            operations.insert(
                name.clone(),
                Operation {
                    name: name.clone(),
                    method: text(http, "method").unwrap_or_else(|| "POST".into()),
                    uri: text(http, "requestUri").unwrap_or_else(|| "/".into()),
                    response_code: num(http, "responseCode").map_or(200, |c| c as u16),
                    input: op.get("input").and_then(|i| text(i, "shape")),
                    output: op.get("output").and_then(|o| text(o, "shape")),
                    errors: op
                        .get("errors")
                        .and_then(Value::as_array)
                        .map(|es| es.iter().filter_map(|e| text(e, "shape")).collect())
                        .unwrap_or_default(),
                },
            );
        }
        let mut shapes = HashMap::new();
        for (name, s) in doc["shapes"].as_object().ok_or("no shapes")? {
            shapes.insert(name.clone(), parse_shape(s)?);
        }
        Ok(Self {
            signing_name,
            protocol,
            target_prefix: text(meta, "targetPrefix"),
            operations,
            shapes,
            patterns: RwLock::new(HashMap::new()),
        })
    }

    /// The shape named `name`.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The members of structure `name` (empty for non-structures).
    pub fn members(&self, name: &str) -> &[Member] {
        match self.shapes.get(name) {
            Some(Shape::Structure { members, .. }) => members,
            _ => &[],
        }
    }

    /// Compiled full-match regex for a model pattern; `None` when the pattern cannot be compiled
    /// (then it is not enforced). Compiled once and cached.
    pub fn pattern(&self, pattern: &str) -> Option<Arc<fancy_regex::Regex>> {
        if let Some(hit) = self
            .patterns
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(pattern)
        {
            return hit.clone();
        }
        let compiled = fancy_regex::Regex::new(&format!("^(?:{})$", java_to_rust_regex(pattern)))
            .ok()
            .map(Arc::new);
        self.patterns
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(pattern.to_string(), compiled.clone());
        compiled
    }
}

/// Rewrites Java regex syntax the models use into what `fancy-regex` understands: `\uXXXX`
/// escapes become `\x{XXXX}`, surrogate code points (which cannot occur in Rust strings) are
/// dropped from character classes, and `\w`, `\d`, `\s` keep Java's ASCII-only meaning.
fn java_to_rust_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let hex_at = |i: usize| -> Option<u32> {
        if chars.get(i) == Some(&'\\') && chars.get(i + 1) == Some(&'u') && i + 6 <= chars.len() {
            u32::from_str_radix(&chars[i + 2..i + 6].iter().collect::<String>(), 16).ok()
        } else {
            None
        }
    };
    let is_surrogate = |cp: u32| (0xD800..=0xDFFF).contains(&cp);
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        if let Some(cp) = hex_at(i) {
            let range_end = if chars.get(i + 6) == Some(&'-') {
                hex_at(i + 7)
            } else {
                None
            };
            match range_end {
                Some(end) => {
                    i += 13;
                    // Keep the part of the range outside the surrogate block.
                    let (lo, hi) = (cp, end);
                    if !is_surrogate(lo) || !is_surrogate(hi) {
                        let lo = if is_surrogate(lo) { 0xE000 } else { lo };
                        let hi = if is_surrogate(hi) { 0xD7FF } else { hi };
                        if lo <= hi {
                            out.push_str(&format!("\\x{{{lo:X}}}-\\x{{{hi:X}}}"));
                        }
                    }
                }
                None => {
                    i += 6;
                    if !is_surrogate(cp) {
                        out.push_str(&format!("\\x{{{cp:X}}}"));
                    }
                }
            }
            continue;
        }
        let c = chars[i];
        if c == '\\' {
            let next = chars.get(i + 1).copied();
            let ascii = match next {
                Some('w') => Some("A-Za-z0-9_"),
                Some('d') => Some("0-9"),
                Some('s') => Some(" \\t\\n\\x0B\\x0C\\r"),
                _ => None,
            };
            if let Some(set) = ascii {
                if in_class {
                    out.push_str(set);
                } else {
                    out.push('[');
                    out.push_str(set);
                    out.push(']');
                }
            } else {
                out.push(c);
                if let Some(n) = next {
                    out.push(n);
                }
            }
            i += 2;
            continue;
        }
        if c == '[' {
            in_class = true;
        } else if c == ']' {
            in_class = false;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn parse_shape(s: &Value) -> Result<Shape, String> {
    let kind = s
        .get("type")
        .and_then(Value::as_str)
        .ok_or("shape without type")?;
    Ok(match kind {
        "structure" => {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let members = s
                .get("members")
                .and_then(Value::as_object)
                .map(|ms| {
                    ms.iter()
                        .map(|(name, m)| {
                            let location = match m.get("location").and_then(Value::as_str) {
                                Some("uri") => Location::Uri,
                                Some("querystring") => Location::Querystring,
                                Some("header") => Location::Header,
                                Some("headers") => Location::Headers,
                                Some("statusCode") => Location::StatusCode,
                                _ => Location::Body,
                            };
                            Member {
                                name: name.clone(),
                                target: text(m, "shape").unwrap_or_default(),
                                location,
                                location_name: text(m, "locationName")
                                    .unwrap_or_else(|| name.clone()),
                                required: required.contains(&name.as_str()),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            Shape::Structure {
                members,
                union: s.get("union").and_then(Value::as_bool).unwrap_or(false),
                error_status: s
                    .get("error")
                    .and_then(|e| num(e, "httpStatusCode"))
                    .map(|c| c as u16),
            }
        }
        "list" => Shape::List {
            member: s
                .get("member")
                .and_then(|m| text(m, "shape"))
                .unwrap_or_default(),
            min: num(s, "min"),
            max: num(s, "max"),
        },
        "map" => Shape::Map {
            key: s
                .get("key")
                .and_then(|m| text(m, "shape"))
                .unwrap_or_default(),
            value: s
                .get("value")
                .and_then(|m| text(m, "shape"))
                .unwrap_or_default(),
            min: num(s, "min"),
            max: num(s, "max"),
        },
        "string" => Shape::String {
            min: num(s, "min"),
            max: num(s, "max"),
            pattern: text(s, "pattern"),
            enumeration: s.get("enum").and_then(Value::as_array).map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            }),
        },
        "integer" | "long" => Shape::Integer {
            min: num(s, "min"),
            max: num(s, "max"),
            int32: kind == "integer",
        },
        "double" | "float" => Shape::Double {
            min: num(s, "min"),
            max: num(s, "max"),
        },
        "boolean" => Shape::Boolean,
        "timestamp" => Shape::Timestamp,
        "blob" => Shape::Blob {
            min: num(s, "min"),
            max: num(s, "max"),
        },
        "structure_document" | "document" => Shape::Document,
        other => return Err(format!("unknown shape type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_unicode_classes_compile_and_match() {
        let p = r"(?!\s*$)[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDBFF-\uDC00\uDFFF\t]*";
        let m = ServiceModel {
            signing_name: "x".into(),
            protocol: Protocol::RestJson,
            target_prefix: None,
            operations: HashMap::new(),
            shapes: HashMap::new(),
            patterns: RwLock::new(HashMap::new()),
        };
        let re = m.pattern(p).expect("compiles");
        assert!(re.is_match("my collaboration").unwrap());
        assert!(re.is_match("émigré 東京").unwrap());
        assert!(!re.is_match("   ").unwrap());
        assert!(!re.is_match("").unwrap());
        assert!(!re.is_match("a\nb").unwrap());
    }

    #[test]
    fn cleanrooms_model_loads() {
        let m = ServiceModel::parse(include_str!("../../model/cleanrooms.json")).unwrap();
        assert_eq!(m.protocol, Protocol::RestJson);
        assert_eq!(m.operations.len(), 103);
        assert_eq!(m.signing_name, "cleanrooms");
    }
}
