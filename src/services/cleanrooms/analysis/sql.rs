//! The SQL an analysis runs, and its parameters bound as typed values.
//!
//! A template's `:name` placeholders become DataFusion placeholders (`$name`); the values —
//! supplied by the caller, else the template's defaults — are converted to the parameter's
//! declared type and bound to the plan with `LogicalPlan::with_param_values`. Values are never
//! spliced into the SQL text, so a value cannot change the query's structure.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{ObjectName, ObjectNamePart, Query, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::errors::invalid_field;
use crate::services::cleanrooms::records;
use crate::state::AppState;
use std::collections::{BTreeMap, HashMap};

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;

use crate::error::{AwsError, AwsResult};

/// SQL ready for planning plus the values of its placeholders.
#[derive(Debug, Clone)]
pub struct BoundSql {
    /// The text with `:name` rewritten to `$name`.
    pub sql: String,
    /// Values by parameter name, typed.
    pub values: ParamValues,
    /// The effective parameters (supplied over defaults), as recorded on the analysis.
    pub effective: BTreeMap<String, String>,
}

/// Binds `supplied` to `template`'s parameters: unknown names and parameters with neither a
/// value nor a default are `ValidationException`s, as are values that do not parse as the
/// declared type.
pub fn bind_template(
    template: &AnalysisTemplate,
    supplied: Option<&BTreeMap<String, String>>,
) -> AwsResult<BoundSql> {
    let dto::AnalysisSource::Text(text) = &template.source else {
        return Err(invalid_field(
            "sqlParameters.analysisTemplateArn",
            format!(
                "Analysis template {} is not a SQL template",
                template.header.arn
            ),
        ));
    };
    let declared = template.analysis_parameters.as_deref().unwrap_or_default();
    if let Some(supplied) = supplied {
        for name in supplied.keys() {
            if !declared.iter().any(|p| &p.name == name) {
                return Err(invalid_field(
                    "parameters",
                    format!(
                        "Parameter '{name}' is not a parameter of analysis template {}",
                        template.name
                    ),
                ));
            }
        }
    }
    let mut effective = BTreeMap::new();
    let mut values = HashMap::new();
    for p in declared {
        let value = supplied
            .and_then(|s| s.get(&p.name))
            .or(p.default_value.as_ref())
            .ok_or_else(|| {
                invalid_field(
                    "parameters",
                    format!(
                        "Parameter '{}' of analysis template {} has no value and no default value",
                        p.name, template.name
                    ),
                )
            })?;
        values.insert(
            p.name.clone(),
            typed_value(&p.name, p.r#type, value)?.into(),
        );
        effective.insert(p.name.clone(), value.clone());
    }
    Ok(BoundSql {
        sql: rewrite_placeholders(text),
        values: ParamValues::Map(values),
        effective,
    })
}

/// An ad-hoc query: no parameters may be supplied.
pub fn bind_query_string(
    sql: &str,
    supplied: Option<&BTreeMap<String, String>>,
) -> AwsResult<BoundSql> {
    if supplied.is_some_and(|s| !s.is_empty()) {
        return Err(invalid_field(
            "parameters",
            "Parameters can only be supplied when running an analysis template",
        ));
    }
    if !placeholders(sql).is_empty() {
        return Err(invalid_field("parameters", 
            "The query contains :name parameter placeholders; parameters are only available in analysis templates",
        ));
    }
    Ok(BoundSql {
        sql: sql.to_string(),
        values: ParamValues::Map(HashMap::new()),
        effective: BTreeMap::new(),
    })
}

/// `sql` with each `:name` placeholder replaced by `$name`.
fn rewrite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for p in placeholders(sql) {
        out.push_str(&sql[last..p.start]);
        out.push('$');
        out.push_str(&p.name);
        last = p.end;
    }
    out.push_str(&sql[last..]);
    out
}

/// `value` as a typed scalar of parameter type `ty`.
fn typed_value(name: &str, ty: dto::ParameterType, value: &str) -> AwsResult<ScalarValue> {
    use dto::ParameterType as P;
    let target = match ty {
        P::Smallint | P::Short => DataType::Int16,
        P::Tinyint | P::Byte => DataType::Int8,
        P::Integer | P::Int => DataType::Int32,
        P::Bigint | P::Long => DataType::Int64,
        P::Decimal | P::Numeric => {
            return decimal(name, value);
        }
        P::Real | P::Float => DataType::Float32,
        P::DoublePrecision | P::Double => DataType::Float64,
        P::Boolean => DataType::Boolean,
        P::Char | P::Varchar | P::Character | P::String => {
            return Ok(ScalarValue::Utf8(Some(value.to_string())));
        }
        P::Date => DataType::Date32,
        P::Timestamp | P::TimestampNtz => DataType::Timestamp(TimeUnit::Microsecond, None),
        P::Timestamptz | P::TimestampLtz => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        P::Time | P::Timetz => DataType::Time64(TimeUnit::Microsecond),
        P::Varbyte | P::Binary => {
            return Ok(ScalarValue::Binary(Some(value.as_bytes().to_vec())));
        }
    };
    let parsed = ScalarValue::Utf8(Some(value.trim().to_string()))
        .cast_to(&target)
        .ok()
        .filter(|v| !v.is_null());
    parsed.ok_or_else(|| bad_value(name, ty, value))
}

fn decimal(name: &str, value: &str) -> AwsResult<ScalarValue> {
    let v = value.trim();
    let digits = v.trim_start_matches(['-', '+']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty() || !frac.is_empty();
    if !ok
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() + frac.len() > 38
    {
        return Err(bad_value(name, dto::ParameterType::Decimal, value));
    }
    let scale = frac.len() as i8;
    let precision = (int.len() + frac.len()).max(1) as u8;
    ScalarValue::Utf8(Some(v.to_string()))
        .cast_to(&DataType::Decimal128(precision.max(scale as u8), scale))
        .map_err(|_| bad_value(name, dto::ParameterType::Decimal, value))
}

fn bad_value(name: &str, ty: dto::ParameterType, value: &str) -> AwsError {
    invalid_field(
        "parameters",
        format!(
            "Value '{value}' of parameter '{name}' is not a valid {}",
            ty.as_str()
        ),
    )
}

/// A `:name` placeholder in SQL text: byte range and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Byte offset of the colon.
    pub start: usize,
    /// Byte offset after the name.
    pub end: usize,
    /// The parameter name.
    pub name: String,
}

/// The `:name` placeholders of SQL text, skipping string literals, quoted identifiers, comments
/// and `::` casts.
pub fn placeholders(sql: &str) -> Vec<Placeholder> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b':' => {
                let start = i;
                let mut j = i + 1;
                if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                        j += 1;
                    }
                    out.push(Placeholder {
                        start,
                        end: j,
                        name: sql[start + 1..j].to_string(),
                    });
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Collects relation names and CTE names of parsed SQL.
#[derive(Default)]
struct Relations {
    tables: Vec<String>,
    ctes: HashSet<String>,
}

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let parts: Vec<String> = relation
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
                ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
            })
            .collect();
        self.tables.push(parts.join("."));
        ControlFlow::Continue(())
    }
}

/// SQL text with every `:name` placeholder replaced by the literal `0`, so it parses.
pub fn with_literal_placeholders(sql: &str) -> String {
    let mut text = String::with_capacity(sql.len());
    let mut last = 0;
    for p in placeholders(sql) {
        text.push_str(&sql[last..p.start]);
        text.push('0');
        last = p.end;
    }
    text.push_str(&sql[last..]);
    text
}

/// The tables a SQL query reads (FROM/JOIN, including CTE bodies and sub-queries, without the
/// CTE names themselves), in order of first appearance. Placeholders are parsed as literals.
///
/// # Errors
/// `ValidationException` when the text is not one parseable query.
pub fn referenced_tables(sql: &str) -> AwsResult<Vec<String>> {
    let text = with_literal_placeholders(sql);
    let statements = Parser::parse_sql(&GenericDialect {}, &text)
        .map_err(|e| invalid_field("source.text", format!("source.text is not valid SQL: {e}")))?;
    if statements.len() != 1 {
        return Err(invalid_field(
            "source.text",
            format!(
                "source.text must hold exactly one query; found {} statements",
                statements.len()
            ),
        ));
    }
    if !matches!(
        statements[0],
        datafusion::sql::sqlparser::ast::Statement::Query(_)
    ) {
        return Err(invalid_field(
            "source.text",
            "source.text must be a query (SELECT or WITH … SELECT)",
        ));
    }
    let mut rel = Relations::default();
    let _ = statements.visit(&mut rel);
    let mut seen = HashSet::new();
    Ok(rel
        .tables
        .into_iter()
        .filter(|t| !rel.ctes.contains(t))
        .filter(|t| !crate::engine::is_table_function(t))
        .filter(|t| seen.insert(t.clone()))
        .collect())
}

/// The analysis template `arn` of collaboration `collaboration_id`.
pub async fn template_by_arn(
    state: &AppState,
    collaboration_id: &str,
    arn: &str,
    field: &str,
) -> AwsResult<AnalysisTemplate> {
    let id = arn.rsplit('/').next().unwrap_or_default();
    let t: Option<AnalysisTemplate> = records::load::<AnalysisTemplate>(state, id).await?;
    match t {
        Some(t) if t.header.arn == arn && t.header.collaboration_id == collaboration_id => {
            if t.format != dto::AnalysisFormat::Sql {
                return Err(invalid_field(
                    field,
                    format!("Analysis template {arn} is a {} template; only SQL templates can be run as protected queries", t.format.as_str()),
                ));
            }
            Ok(t)
        }
        _ => Err(invalid_field(
            field,
            format!("Analysis template {arn} does not exist in collaboration {collaboration_id}"),
        )),
    }
}

/// The SQL `requested` (the request's field `field`) names, bound: exactly one of queryString /
/// analysisTemplateArn, with its parameters.
pub async fn bound_sql(
    state: &AppState,
    collaboration_id: &str,
    requested: &dto::ProtectedQuerySQLParameters,
    field: &str,
) -> AwsResult<(BoundSql, Option<AnalysisTemplate>)> {
    let parameters = requested.parameters.as_ref();
    match (
        requested.query_string.as_deref(),
        requested.analysis_template_arn.as_deref(),
    ) {
        (Some(sql), None) => Ok((bind_query_string(sql, parameters)?, None)),
        (None, Some(arn)) => {
            let t = template_by_arn(
                state,
                collaboration_id,
                arn,
                &format!("{field}.analysisTemplateArn"),
            )
            .await?;
            Ok((bind_template(&t, parameters)?, Some(t)))
        }
        _ => Err(invalid_field(
            field,
            "Exactly one of queryString and analysisTemplateArn must be given",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_placeholders() {
        assert_eq!(
            rewrite_placeholders("SELECT ':x', a::int FROM t WHERE b = :min AND c < :max_v"),
            "SELECT ':x', a::int FROM t WHERE b = $min AND c < $max_v"
        );
    }

    #[test]
    fn converts_values_to_their_declared_types() {
        use dto::ParameterType as P;
        assert_eq!(
            typed_value("n", P::Integer, "42").unwrap(),
            ScalarValue::Int32(Some(42))
        );
        assert_eq!(
            typed_value("s", P::Varchar, "x' OR '1'='1").unwrap(),
            ScalarValue::Utf8(Some("x' OR '1'='1".into()))
        );
        assert!(typed_value("n", P::Integer, "4x").is_err());
        assert!(typed_value("d", P::Date, "2024-13-01").is_err());
        assert_eq!(
            typed_value("d", P::Date, "2024-01-02").unwrap(),
            ScalarValue::Date32(Some(19724))
        );
        assert_eq!(
            decimal("p", "12.50").unwrap(),
            ScalarValue::Decimal128(Some(1250), 4, 2)
        );
        assert!(decimal("p", "1e5").is_err());
    }
}
