//! restJson1 (Clean Rooms): operations are found by method and URI template (labels, greedy
//! labels, query-constrained routes); input members are bound from URI labels, the query string,
//! headers and the JSON body into one model-form value; output members go back to the status
//! code, headers and body.

use std::collections::HashMap;

use axum::http::HeaderMap;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::model::{Location, ServiceModel, Shape};
use super::validate::validate;
use super::{serialization_error, validation_error};
use crate::error::AwsError;

/// Content type of restJson1 bodies.
pub const CONTENT_TYPE: &str = "application/json";

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Label(String),
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Route {
    operation: String,
    method: String,
    segments: Vec<Segment>,
    /// Query keys (and values, if given) the template requires.
    query: Vec<(String, Option<String>)>,
}

impl Route {
    /// Whether the path's (still-encoded) segments have this route's shape: every literal in
    /// its place, a segment for every label, at least one for a greedy label, nothing left over.
    fn matches(&self, parts: &[&str]) -> bool {
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Segment::Literal(lit) => {
                    if parts.get(i) != Some(&lit.as_str()) {
                        return false;
                    }
                }
                Segment::Label(_) => {
                    if i >= parts.len() {
                        return false;
                    }
                }
                Segment::Greedy(_) => {
                    if i >= parts.len() {
                        return false;
                    }
                    i = parts.len() - 1;
                }
            }
            i += 1;
        }
        i == parts.len()
    }
}

/// The route table of a rest-json service, built once from its operation bindings.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
}

/// The operation a request matched and its decoded URI labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// Operation name.
    pub operation: String,
    /// Decoded label values by label name.
    pub labels: HashMap<String, String>,
}

impl RouteTable {
    /// Builds the table from `(operation, method, uri template)` triples.
    pub fn new<'a>(bindings: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let mut routes: Vec<Route> = bindings
            .into_iter()
            .map(|(operation, method, uri)| {
                let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if let Some(label) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            match label.strip_suffix('+') {
                                Some(greedy) => Segment::Greedy(greedy.to_string()),
                                None => Segment::Label(label.to_string()),
                            }
                        } else {
                            Segment::Literal(s.to_string())
                        }
                    })
                    .collect();
                let query = query
                    .split('&')
                    .filter(|q| !q.is_empty())
                    .map(|q| match q.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (q.to_string(), None),
                    })
                    .collect();
                Route {
                    operation: operation.to_string(),
                    method: method.to_string(),
                    segments,
                    query,
                }
            })
            .collect();
        // More literal segments and more query constraints first: the most specific route wins.
        routes.sort_by_key(|r| {
            let literals = r
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            std::cmp::Reverse((literals, r.query.len(), r.segments.len()))
        });
        Self { routes }
    }

    /// Finds the operation for a request. `raw_path` is the still-encoded path: it is split on
    /// `/` first and each segment decoded after, so encoded slashes inside labels survive.
    pub fn find(
        &self,
        method: &str,
        raw_path: &str,
        query: &[(String, String)],
    ) -> Option<Matched> {
        let parts: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
        let parts: Vec<&str> = if parts.len() == 1 && parts[0].is_empty() {
            Vec::new()
        } else {
            parts
        };
        'routes: for route in &self.routes {
            if route.method != method {
                continue;
            }
            for (k, v) in &route.query {
                let found = query
                    .iter()
                    .any(|(qk, qv)| qk == k && v.as_ref().is_none_or(|v| v == qv));
                if !found {
                    continue 'routes;
                }
            }
            if !route.matches(&parts) {
                continue;
            }
            // Only the matching route decodes its labels: the many routes tried before it cost
            // a comparison of segments, not an allocation.
            let mut labels = HashMap::new();
            for (i, seg) in route.segments.iter().enumerate() {
                match seg {
                    Segment::Literal(_) => {}
                    Segment::Label(name) => {
                        labels.insert(name.clone(), decode(parts[i]));
                    }
                    Segment::Greedy(name) => {
                        let rest: Vec<String> = parts[i..].iter().map(|p| decode(p)).collect();
                        labels.insert(name.clone(), rest.join("/"));
                    }
                }
            }
            return Some(Matched {
                operation: route.operation.clone(),
                labels,
            });
        }
        None
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Parses a raw query string into decoded pairs (`+` means space, as form encoding has it).
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Converts a textual (URI, query or header) value to the model form of its target shape; a
/// value that does not parse is kept as text so validation reports it against the member.
fn typed(model: &ServiceModel, target: &str, text: &str) -> Value {
    match model.shape(target) {
        Some(Shape::Integer { .. }) => text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.into()), Value::from),
        Some(Shape::Double { .. }) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.into()), Value::Number),
        Some(Shape::Boolean) => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.into()),
        },
        Some(Shape::Timestamp) => super::super::util::time::parse_iso8601(text)
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.into()), Value::Number),
        _ => Value::String(text.into()),
    }
}

/// Binds a request into the model-form input of `op` and validates it.
///
/// # Errors
/// `SerializationException` for a malformed body; the service's validation error for input
/// that breaks the model's constraints.
pub fn bind_input(
    model: &ServiceModel,
    op: &str,
    labels: &HashMap<String, String>,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, AwsError> {
    let Some(shape) = model.operations.get(op).and_then(|o| o.input.clone()) else {
        return Ok(Value::Object(Map::new()));
    };
    let members = model.members(&shape);
    let mut input = Map::new();
    let has_body_members = members.iter().any(|m| m.location == Location::Body);
    if has_body_members && !body.iter().all(u8::is_ascii_whitespace) {
        let parsed: Value =
            serde_json::from_slice(body).map_err(|e| serialization_error(&e.to_string()))?;
        let Value::Object(obj) = parsed else {
            return Err(serialization_error("the body must be a JSON object"));
        };
        for m in members.iter().filter(|m| m.location == Location::Body) {
            if let Some(v) = obj.get(&m.name) {
                input.insert(m.name.clone(), v.clone());
            }
        }
    }
    for m in members {
        match m.location {
            Location::Uri => {
                if let Some(v) = labels.get(&m.location_name) {
                    input.insert(m.name.clone(), typed(model, &m.target, v));
                }
            }
            Location::Querystring => match model.shape(&m.target) {
                Some(Shape::List { member, .. }) => {
                    let values: Vec<Value> = query
                        .iter()
                        .filter(|(k, _)| *k == m.location_name)
                        .map(|(_, v)| typed(model, member, v))
                        .collect();
                    if !values.is_empty() {
                        input.insert(m.name.clone(), Value::Array(values));
                    }
                }
                Some(Shape::Map { .. }) => {
                    let bound: Vec<&str> = members
                        .iter()
                        .filter(|o| o.location == Location::Querystring)
                        .map(|o| o.location_name.as_str())
                        .collect();
                    let map: Map<String, Value> = query
                        .iter()
                        .filter(|(k, _)| !bound.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    if !map.is_empty() {
                        input.insert(m.name.clone(), Value::Object(map));
                    }
                }
                _ => {
                    if let Some((_, v)) = query.iter().find(|(k, _)| *k == m.location_name) {
                        input.insert(m.name.clone(), typed(model, &m.target, v));
                    }
                }
            },
            Location::Header => {
                if let Some(v) = headers
                    .get(m.location_name.as_str())
                    .and_then(|v| v.to_str().ok())
                {
                    input.insert(m.name.clone(), typed(model, &m.target, v));
                }
            }
            Location::Headers => {
                let prefix = m.location_name.to_ascii_lowercase();
                let map: Map<String, Value> = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = k.as_str().strip_prefix(prefix.as_str())?;
                        Some((key.to_string(), Value::String(v.to_str().ok()?.to_string())))
                    })
                    .collect();
                if !map.is_empty() {
                    input.insert(m.name.clone(), Value::Object(map));
                }
            }
            Location::Body | Location::StatusCode => {}
        }
    }
    let input = Value::Object(input);
    let errors = validate(model, &shape, &input);
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(validation_error(model, &errors))
    }
}

/// An encoded success response: status, headers and body bytes (empty for 204).
#[derive(Debug)]
pub struct Encoded {
    /// HTTP status.
    pub status: u16,
    /// Headers bound from output members.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Encodes the model-form output of `op`.
pub fn encode_output(model: &ServiceModel, op: &str, output: Value) -> Encoded {
    let operation = model.operations.get(op);
    let mut status = operation.map_or(200, |o| o.response_code);
    let members = operation
        .and_then(|o| o.output.as_deref())
        .map(|s| model.members(s))
        .unwrap_or_default();
    let mut headers = Vec::new();
    let mut body = match output {
        Value::Object(obj) => obj,
        _ => Map::new(),
    };
    for m in members {
        match m.location {
            Location::Header => {
                if let Some(v) = body.remove(&m.name) {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    headers.push((m.location_name.clone(), text));
                }
            }
            Location::StatusCode => {
                if let Some(code) = body.remove(&m.name).and_then(|v| v.as_u64()) {
                    status = u16::try_from(code).unwrap_or(status);
                }
            }
            _ => {}
        }
    }
    let body = if status == 204 {
        Vec::new()
    } else {
        serde_json::to_vec(&Value::Object(body)).unwrap_or_else(|_| b"{}".to_vec())
    };
    Encoded {
        status,
        headers,
        body,
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

    fn table() -> RouteTable {
        RouteTable::new(
            model()
                .operations
                .values()
                .map(|o| (o.name.as_str(), o.method.as_str(), o.uri.as_str())),
        )
    }

    const ID: &str = "0123abcd-0123-4567-89ab-0123456789ab";

    #[test]
    fn routes_every_cleanrooms_operation() {
        let t = table();
        let m = t
            .find("GET", &format!("/collaborations/{ID}"), &[])
            .unwrap();
        assert_eq!(m.operation, "GetCollaboration");
        assert_eq!(m.labels["collaborationIdentifier"], ID);
        let m = t
            .find("GET", &format!("/collaborations/{ID}/members"), &[])
            .unwrap();
        assert_eq!(m.operation, "ListMembers");
        assert_eq!(
            t.find("GET", "/collaborations", &[]).unwrap().operation,
            "ListCollaborations"
        );
        assert_eq!(
            t.find("POST", "/collaborations", &[]).unwrap().operation,
            "CreateCollaboration"
        );
        assert!(t.find("PUT", "/collaborations", &[]).is_none());
        assert!(t.find("GET", "/nothing/here", &[]).is_none());
    }

    #[test]
    fn encoded_arn_labels_are_decoded_after_splitting() {
        let arn = "arn%3Aaws%3Acleanrooms%3Aus-east-1%3A111111111111%3Amembership%2Fm%2Fanalysistemplate%2Ft";
        let m = table().find("GET", &format!("/tags/{arn}"), &[]).unwrap();
        assert_eq!(m.operation, "ListTagsForResource");
        assert_eq!(
            m.labels["resourceArn"],
            "arn:aws:cleanrooms:us-east-1:111111111111:membership/m/analysistemplate/t"
        );
    }

    #[test]
    fn binds_labels_query_and_body() {
        let labels = HashMap::from([("collaborationIdentifier".to_string(), ID.to_string())]);
        let q = parse_query(Some("maxResults=5&nextToken=abc"));
        let v = bind_input(model(), "ListMembers", &labels, &q, &HeaderMap::new(), b"").unwrap();
        assert_eq!(
            v,
            json!({"collaborationIdentifier": ID, "maxResults": 5, "nextToken": "abc"})
        );
        let q = parse_query(Some("tagKeys=a&tagKeys=b%20c"));
        let labels = HashMap::from([(
            "resourceArn".to_string(),
            "arn:aws:cleanrooms:us-east-1:111111111111:collaboration/x".to_string(),
        )]);
        let v = bind_input(
            model(),
            "UntagResource",
            &labels,
            &q,
            &HeaderMap::new(),
            b"",
        )
        .unwrap();
        assert_eq!(v["tagKeys"], json!(["a", "b c"]));
    }

    #[test]
    fn bad_query_number_is_a_validation_error_naming_the_member() {
        let q = parse_query(Some("maxResults=many"));
        let e = bind_input(
            model(),
            "ListCollaborations",
            &HashMap::new(),
            &q,
            &HeaderMap::new(),
            b"",
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.contains("maxResults"), "{}", e.message);
        assert_eq!(e.fields["reason"], "FIELD_VALIDATION_FAILED");
    }

    #[test]
    fn malformed_json_is_a_serialization_error() {
        let e = bind_input(
            model(),
            "CreateCollaboration",
            &HashMap::new(),
            &[],
            &HeaderMap::new(),
            b"{nope",
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "SerializationException");
    }

    #[test]
    fn delete_outputs_are_empty_204() {
        let enc = encode_output(model(), "DeleteCollaboration", json!({}));
        assert_eq!(enc.status, 204);
        assert!(enc.body.is_empty());
    }
}
