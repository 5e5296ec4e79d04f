//! A thin, read-only view of a botocore `service-2` JSON model.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a shape becomes in generated code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain structure (also exceptions).
    Structure,
    /// Structure with `"union": true`.
    Union,
    /// Structure with `"document": true`: any JSON value.
    Document,
    /// String with an `enum` list.
    Enum,
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
    List,
    Map,
}

/// One operation of the model.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub method: String,
    pub uri: String,
    pub response_code: u16,
    pub input: Option<String>,
    pub output: Option<String>,
    pub errors: Vec<String>,
    /// `true` when the operation is callable without signing (`smithy.api#noAuth`).
    pub no_auth: bool,
}

/// A loaded model.
#[derive(Debug)]
pub struct Model {
    /// Module / file name of the service (`cleanrooms`).
    pub service: String,
    pub metadata: Map<String, Value>,
    /// Operations sorted by name.
    pub operations: Vec<Operation>,
    pub shapes: BTreeMap<String, Map<String, Value>>,
}

impl Model {
    /// Reads `model/<service>.json` under `root`.
    pub fn load(root: &Path, service: &str) -> Result<Model, String> {
        let path = root.join("model").join(format!("{service}.json"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(service, &json).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Builds the view from the parsed JSON.
    pub fn from_json(service: &str, json: &Value) -> Result<Model, String> {
        let metadata = json
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .ok_or("no metadata")?;
        let mut shapes = BTreeMap::new();
        for (name, shape) in json
            .get("shapes")
            .and_then(Value::as_object)
            .ok_or("no shapes")?
        {
            let shape = shape
                .as_object()
                .ok_or_else(|| format!("shape {name} is not an object"))?;
            shapes.insert(name.clone(), shape.clone());
        }
        let mut operations = Vec::new();
        for (name, op) in json
            .get("operations")
            .and_then(Value::as_object)
            .ok_or("no operations")?
        {
            let http = op.get("http").and_then(Value::as_object);
            let str_of = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
            let shape_of = |k: &str| str_of(op.get(k).and_then(|v| v.get("shape")));
            let errors = op
                .get("errors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|e| str_of(e.get("shape"))).collect())
                .unwrap_or_default();
            let no_auth = op.get("authtype").and_then(Value::as_str) == Some("none")
                || op
                    .get("auth")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("smithy.api#noAuth")));
            operations.push(Operation {
                name: name.clone(),
                method: str_of(http.and_then(|h| h.get("method"))).unwrap_or_else(|| "POST".into()),
                uri: str_of(http.and_then(|h| h.get("requestUri"))).unwrap_or_else(|| "/".into()),
                response_code: http
                    .and_then(|h| h.get("responseCode"))
                    .and_then(Value::as_u64)
                    .map_or(200, |c| c as u16),
                input: shape_of("input"),
                output: shape_of("output"),
                errors,
                no_auth,
            });
        }
        operations.sort_by(|a, b| a.name.cmp(&b.name));
        let model = Model {
            service: service.to_string(),
            metadata,
            operations,
            shapes,
        };
        // Every reference must resolve.
        for name in model.shapes.keys() {
            for target in model.targets(name) {
                model
                    .shape(&target)
                    .map_err(|e| format!("{e} (referenced by {name})"))?;
            }
        }
        for op in &model.operations {
            for s in op.input.iter().chain(&op.output).chain(&op.errors) {
                model
                    .shape(s)
                    .map_err(|e| format!("{e} (referenced by operation {})", op.name))?;
            }
        }
        Ok(model)
    }

    /// A metadata string.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }

    /// `metadata.protocol`.
    pub fn protocol(&self) -> &str {
        self.meta("protocol").unwrap_or("rest-json")
    }

    /// The signing name (`signingName`, else `endpointPrefix`, else the module name).
    pub fn signing_name(&self) -> &str {
        self.meta("signingName")
            .or_else(|| self.meta("endpointPrefix"))
            .unwrap_or(&self.service)
    }

    /// A shape by name.
    pub fn shape(&self, name: &str) -> Result<&Map<String, Value>, String> {
        self.shapes
            .get(name)
            .ok_or_else(|| format!("unknown shape {name}"))
    }

    /// The generated-code kind of a shape.
    pub fn kind(&self, name: &str) -> Result<Kind, String> {
        let s = self.shape(name)?;
        let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
        let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
        Ok(match ty {
            "structure" if flag("document") => Kind::Document,
            "structure" if flag("union") => Kind::Union,
            "structure" => Kind::Structure,
            "string" if s.contains_key("enum") => Kind::Enum,
            "string" => Kind::String,
            "integer" | "short" | "byte" => Kind::Integer,
            "long" => Kind::Long,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "boolean" => Kind::Boolean,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            "list" => Kind::List,
            "map" => Kind::Map,
            other => return Err(format!("shape {name}: unsupported type {other:?}")),
        })
    }

    /// Whether the shape is an exception (`"exception": true`).
    pub fn is_exception(&self, name: &str) -> bool {
        self.shapes
            .get(name)
            .and_then(|s| s.get("exception"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Members of a structure/union in model order: (member name, member definition).
    pub fn members(&self, name: &str) -> Vec<(&str, &Map<String, Value>)> {
        let Some(m) = self
            .shapes
            .get(name)
            .and_then(|s| s.get("members"))
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        m.iter()
            .filter_map(|(k, v)| v.as_object().map(|v| (k.as_str(), v)))
            .collect()
    }

    /// Target shape of a member definition.
    pub fn member_target(member: &Map<String, Value>) -> &str {
        member.get("shape").and_then(Value::as_str).unwrap_or("")
    }

    /// The `required` list of a structure.
    pub fn required(&self, name: &str) -> BTreeSet<String> {
        self.shapes
            .get(name)
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `member`/`key`/`value` target of a list or map.
    pub fn sub_target(&self, name: &str, field: &str) -> Option<&str> {
        self.shapes.get(name)?.get(field)?.get("shape")?.as_str()
    }

    /// All shapes a shape refers to directly (members, list member, map key/value).
    pub fn targets(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .members(name)
            .into_iter()
            .map(|(_, m)| Self::member_target(m).to_string())
            .collect();
        for f in ["member", "key", "value"] {
            if let Some(t) = self.sub_target(name, f) {
                out.push(t.to_string());
            }
        }
        out
    }

    /// Shapes reachable from any operation input, output or error, sorted by name.
    pub fn reachable(&self) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = Vec::new();
        for op in &self.operations {
            stack.extend(op.input.iter().cloned());
            stack.extend(op.output.iter().cloned());
            stack.extend(op.errors.iter().cloned());
        }
        while let Some(n) = stack.pop() {
            if seen.insert(n.clone()) {
                stack.extend(self.targets(&n));
            }
        }
        seen
    }

    /// HTTP status of an exception: `error.httpStatusCode`, else 500 for `fault`, else 400.
    pub fn error_status(&self, name: &str) -> u16 {
        let s = &self.shapes[name];
        if let Some(code) = s
            .get("error")
            .and_then(|e| e.get("httpStatusCode"))
            .and_then(Value::as_u64)
        {
            return code as u16;
        }
        if s.get("fault").and_then(Value::as_bool).unwrap_or(false) {
            500
        } else {
            400
        }
    }

    /// Whether the caller is at fault: `error.senderFault`, else status < 500.
    pub fn error_sender_fault(&self, name: &str) -> bool {
        self.shapes[name]
            .get("error")
            .and_then(|e| e.get("senderFault"))
            .and_then(Value::as_bool)
            .unwrap_or(self.error_status(name) < 500)
    }

    /// The error code clients expect: `error.code` when modelled (awsQuery), else the shape name.
    pub fn error_code<'a>(&'a self, name: &'a str) -> &'a str {
        self.shapes[name]
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or(name)
    }
}
