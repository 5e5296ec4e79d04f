//! The column lineage through the functions of both SQL dialects: a value computed from a
//! column by any dialect function (a hash, a date part, a `DECODE`, a format) still derives
//! from that column, so the rules that protect the column still apply to it.

use datafusion::logical_expr::LogicalPlan;

use super::rules::{aggregation_rules, list_rules, message};
use super::{session, sources};
use crate::engine::policy::{check_aggregation, check_list, output_lineage};
use crate::engine::sql::{self, SqlDialect};

/// The plan of `query` in `dialect`.
async fn dialect_plan(dialect: SqlDialect, query: &str) -> LogicalPlan {
    let ctx = session();
    sql::register(&ctx, dialect);
    let statement = match sql::parse(&ctx, query, dialect, 1_700_000_000.0) {
        Ok(s) => s,
        Err(e) => panic!("parsing {query}: {e}"),
    };
    match ctx.state().statement_to_plan(statement).await {
        Ok(p) => p,
        Err(e) => panic!("planning {query}: {e}"),
    }
}

/// The sources of each output column of `sql` planned in `dialect`.
async fn lineage(dialect: SqlDialect, query: &str) -> Vec<Vec<String>> {
    let plan = dialect_plan(dialect, query).await;
    output_lineage(&plan)
        .unwrap()
        .into_iter()
        .map(|c| c.sources.iter().map(ToString::to_string).collect())
        .collect()
}

async fn derives_from(dialect: SqlDialect, query: &str, columns: &[&str]) {
    let got = lineage(dialect, query).await;
    let want: Vec<String> = sources(columns).iter().map(ToString::to_string).collect();
    assert_eq!(got, vec![want], "{query}");
}

#[tokio::test]
async fn clean_rooms_sql_functions_keep_the_lineage() {
    let d = SqlDialect::CleanRoomsSql;
    derives_from(
        d,
        "SELECT SHA2(email, 256) FROM customers",
        &["customers.email"],
    )
    .await;
    derives_from(d, "SELECT MD5(name) FROM customers", &["customers.name"]).await;
    derives_from(
        d,
        "SELECT LEN(REGEXP_SUBSTR(email, '@.*')) FROM customers",
        &["customers.email"],
    )
    .await;
    derives_from(
        d,
        "SELECT DECODE(id, 1, name, 2, 'two', email) FROM customers",
        &["customers.email", "customers.id", "customers.name"],
    )
    .await;
    derives_from(
        d,
        "SELECT NVL2(name, 'x', 'y') FROM customers",
        &["customers.name"],
    )
    .await;
    derives_from(
        d,
        "SELECT DATEADD(day, id, SYSDATE) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT DATEDIFF(month, GETDATE(), DATEADD(d, id, CURRENT_DATE)) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT DATE_PART(mon, ADD_MONTHS(GETDATE(), id)) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT TO_NUMBER(name, '99D9') FROM customers",
        &["customers.name"],
    )
    .await;
    derives_from(
        d,
        "SELECT TO_CHAR(TO_DATE(name, 'YYYY-MM-DD'), 'MON-DD') FROM customers",
        &["customers.name"],
    )
    .await;
    derives_from(
        d,
        "SELECT CEILING(MOD(id, 3)) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT TRUNC(amount, 1) FROM purchases",
        &["purchases.amount"],
    )
    .await;
    derives_from(
        d,
        "SELECT LISTAGG(product, ',') WITHIN GROUP (ORDER BY product) FROM purchases",
        &["purchases.product"],
    )
    .await;
    derives_from(d, "SELECT SHA1(email) FROM customers", &["customers.email"]).await;
    derives_from(
        d,
        "SELECT CONVERT(VARCHAR, id) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT REGEXP_REPLACE(email, '@.*', '', 2) FROM customers",
        &["customers.email"],
    )
    .await;
    derives_from(
        d,
        "SELECT RATIO_TO_REPORT(amount) OVER (PARTITION BY product) FROM purchases",
        &["purchases.amount", "purchases.product"],
    )
    .await;
}

#[tokio::test]
async fn clean_rooms_sql_syntax_forms_keep_the_lineage() {
    let d = SqlDialect::CleanRoomsSql;
    for (query, columns) in [
        (
            "SELECT TOP 1 email FROM customers ORDER BY id",
            &["customers.email"][..],
        ),
        (
            "SELECT CAST(name AS VARCHAR(3)) FROM customers",
            &["customers.name"],
        ),
        ("SELECT name + '!' FROM customers", &["customers.name"]),
        ("SELECT |/ id FROM customers", &["customers.id"]),
        ("SELECT id ^ 2 FROM customers", &["customers.id"]),
        ("SELECT REPEAT(id, 2) FROM customers", &["customers.id"]),
        (
            "SELECT email FROM customers MINUS SELECT name FROM customers",
            &["customers.email", "customers.name"],
        ),
    ] {
        derives_from(d, query, columns).await;
    }
}

#[tokio::test]
async fn spark_sql_functions_keep_the_lineage() {
    let d = SqlDialect::Spark;
    derives_from(
        d,
        "SELECT sha2(email, 256) FROM customers",
        &["customers.email"],
    )
    .await;
    derives_from(d, "SELECT pmod(id, 7) FROM customers", &["customers.id"]).await;
    derives_from(d, "SELECT size(tags) FROM customers", &["customers.tags"]).await;
    derives_from(
        d,
        "SELECT date_add(current_date(), id) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT datediff(current_date(), date_sub(current_date(), id)) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT months_between(current_date(), add_months(current_date(), id)) FROM customers",
        &["customers.id"],
    )
    .await;
    derives_from(
        d,
        "SELECT last_day(to_date(name, 'yyyy-MM-dd')) FROM customers",
        &["customers.name"],
    )
    .await;
    derives_from(
        d,
        "SELECT trunc(to_date(name, 'yyyy-MM-dd'), 'MM') FROM customers",
        &["customers.name"],
    )
    .await;
    for query in [
        "SELECT sha1(email) FROM customers",
        "SELECT xxhash64(email, 1) FROM customers",
        "SELECT hex(email) FROM customers",
        "SELECT base64(email) FROM customers",
        "SELECT format_string('%s!', email) FROM customers",
        "SELECT get_json_object(email, '$.a') FROM customers",
        "SELECT array_join(split(email, '@'), '.') FROM customers",
        "SELECT first(email, true) FROM customers",
    ] {
        derives_from(d, query, &["customers.email"]).await;
    }
    derives_from(d, "SELECT id DIV 2 FROM customers", &["customers.id"]).await;
    derives_from(
        d,
        "SELECT from_utc_timestamp(CAST(name AS TIMESTAMP), 'Asia/Seoul') FROM customers",
        &["customers.name"],
    )
    .await;
}

#[tokio::test]
async fn unknown_functions_name_the_dialect() {
    // The SUPER functions belong to Clean Rooms SQL only.
    for (dialect, query, name) in [
        (
            SqlDialect::CleanRoomsSql,
            "SELECT LAST_DAY(id) FROM customers",
            "LAST_DAY",
        ),
        (
            SqlDialect::Spark,
            "SELECT json_parse(email) FROM customers",
            "JSON_PARSE",
        ),
        (
            SqlDialect::CleanRoomsSql,
            "SELECT JSON_EXTRACT_PATH(email, 'a') FROM customers",
            "JSON_EXTRACT_PATH",
        ),
    ] {
        let ctx = session();
        sql::register(&ctx, dialect);
        let statement = sql::parse(&ctx, query, dialect, 0.0).unwrap();
        let error = ctx.state().statement_to_plan(statement).await.unwrap_err();
        let message = sql::explain_plan_error(&error.to_string(), dialect).unwrap();
        assert_eq!(
            message,
            format!(
                "Function '{name}' is not supported in {} (the collaboration's analytics engine is {})",
                dialect.title(),
                dialect.analytics_engine()
            )
        );
    }
}
#[tokio::test]
async fn date_parts_are_checked_when_planning() {
    let ctx = session();
    for (query, wanted) in [
        (
            "SELECT DATEADD(fortnight, 1, GETDATE())",
            "DATEADD does not accept the date part 'fortnight'",
        ),
        (
            "SELECT DATEDIFF(dow, GETDATE(), GETDATE())",
            "DATEDIFF does not accept the date part 'dow'",
        ),
        ("SELECT DATEADD(1, 1, GETDATE())", "must be a date part"),
        (
            "SELECT TO_DATE('x', fmt) FROM (SELECT CAST('YYYY' AS VARCHAR) AS fmt)",
            "must be a string literal",
        ),
    ] {
        let error = sql::parse(&ctx, query, SqlDialect::CleanRoomsSql, 0.0).unwrap_err();
        assert!(error.contains(wanted), "{query}: {error}");
    }
}

#[tokio::test]
async fn super_and_varbyte_functions_keep_the_lineage() {
    let d = SqlDialect::CleanRoomsSql;
    for query in [
        "SELECT JSON_EXTRACT_PATH_TEXT(email, 'a', 'b') FROM customers",
        "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT(email, 0, true) FROM customers",
        "SELECT JSON_SERIALIZE(JSON_PARSE(email)) FROM customers",
        "SELECT SUBARRAY(SPLIT_TO_ARRAY(email, '@'), 0, 1) FROM customers",
        "SELECT IS_VARCHAR(email) FROM customers",
        "SELECT TO_HEX(email) FROM customers",
        "SELECT FROM_VARBYTE(TO_VARBYTE(email, 'utf8'), 'hex') FROM customers",
        "SELECT TO_HEX(FROM_HEX(email)) FROM customers",
    ] {
        derives_from(d, query, &["customers.email"]).await;
    }
    derives_from(
        d,
        "SELECT ARRAY_CONCAT(ARRAY(email), ARRAY(name)) FROM customers",
        &["customers.email", "customers.name"],
    )
    .await;
    // The window forms of the ordered-set aggregates read the value, the order and the
    // partition.
    derives_from(
        d,
        "SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY amount) OVER (PARTITION BY product) FROM purchases",
        &["purchases.amount", "purchases.product"],
    )
    .await;
    derives_from(
        d,
        "SELECT PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY amount DESC) OVER () FROM purchases",
        &["purchases.amount"],
    )
    .await;
    derives_from(
        d,
        "SELECT LISTAGG(product, ',') WITHIN GROUP (ORDER BY id) OVER (PARTITION BY customer_id) FROM purchases",
        &["purchases.customer_id", "purchases.id", "purchases.product"],
    )
    .await;
}

#[tokio::test]
async fn the_rules_see_through_super_and_varbyte_functions() {
    let d = SqlDialect::CleanRoomsSql;
    // AGGREGATION: a JSON function is no allowed scalar function, and what it reads of a
    // column that is no dimension is still that column.
    for (query, part) in [
        (
            "SELECT JSON_EXTRACT_PATH_TEXT(c.name, 'k') AS k, COUNT(DISTINCT c.id) FROM customers c GROUP BY 1",
            "Function JSON_EXTRACT_PATH_TEXT cannot be used",
        ),
        (
            "SELECT UPPER(c.email) AS e, COUNT(DISTINCT c.id) FROM customers c GROUP BY JSON_EXTRACT_PATH_TEXT(c.email, 'k'), 1",
            "email",
        ),
        (
            "SELECT TO_HEX(c.name) AS h, COUNT(DISTINCT c.id) FROM customers c GROUP BY 1",
            "Function TO_HEX cannot be used",
        ),
        (
            "SELECT c.name, COUNT(DISTINCT TO_HEX(c.email)) FROM customers c GROUP BY c.name",
            "email",
        ),
    ] {
        let plan = dialect_plan(d, query).await;
        let m = message(check_aggregation(&plan, &aggregation_rules()));
        assert!(m.contains(part), "{query}: {m}");
    }
    // LIST: only list columns, without functions.
    for query in [
        "SELECT DISTINCT JSON_EXTRACT_PATH_TEXT(c.name, 'k') FROM customers c JOIN purchases p ON c.id = p.customer_id",
        "SELECT DISTINCT TO_HEX(c.name) FROM customers c JOIN purchases p ON c.id = p.customer_id",
    ] {
        let plan = dialect_plan(d, query).await;
        let m = message(check_list(&plan, &list_rules()));
        assert!(m.contains("functions"), "{query}: {m}");
    }
}

/// The plan of `query` in a Spark session.
async fn spark_plan(query: &str) -> datafusion::logical_expr::LogicalPlan {
    let ctx = session();
    sql::register(&ctx, SqlDialect::Spark);
    let statement = match sql::parse(&ctx, query, SqlDialect::Spark, 1_700_000_000.0) {
        Ok(s) => s,
        Err(e) => panic!("parsing {query}: {e}"),
    };
    match ctx.state().statement_to_plan(statement).await {
        Ok(p) => p,
        Err(e) => panic!("planning {query}: {e}"),
    }
}

#[tokio::test]
async fn spark_generators_json_encryption_and_sketches_keep_the_lineage() {
    let d = SqlDialect::Spark;
    derives_from(
        d,
        "SELECT explode(tags) FROM customers",
        &["customers.tags"],
    )
    .await;
    derives_from(
        d,
        "SELECT explode(str_to_map(email)) AS e FROM customers",
        &["customers.email"],
    )
    .await;
    for query in [
        "SELECT aes_encrypt(email, '1234567890abcdef') FROM customers",
        "SELECT aes_decrypt(aes_encrypt(email, '1234567890abcdef', 'ECB'), '1234567890abcdef', 'ECB') FROM customers",
        "SELECT to_json(named_struct('e', email)) FROM customers",
        "SELECT to_json(struct(email)) FROM customers",
        "SELECT str_to_map(email, '@', '.') FROM customers",
        "SELECT timestamp(email) FROM customers",
        "SELECT encode(email, 'utf-16') FROM customers",
        "SELECT consent_tcf_v2_decode(email)['cmpId'] FROM customers",
        "SELECT consent_gpp_v1_decode(email)['vendorConsent'] FROM customers",
        "SELECT hll_sketch_agg(email) FROM customers",
        "SELECT hll_sketch_estimate(hll_union(hll_sketch_agg(email), hll_sketch_agg(email, 14))) FROM customers",
    ] {
        derives_from(d, query, &["customers.email"]).await;
    }
    derives_from(
        d,
        "SELECT to_char(id, '999') FROM customers",
        &["customers.id"],
    )
    .await;
}

#[tokio::test]
async fn the_rules_see_through_spark_generators_encryption_and_sketches() {
    use crate::engine::policy::{
        check_aggregation, check_list, AggregationRule, JoinPolicy, ListRule, PolicyError,
    };
    let aggregation = vec![AggregationRule {
        table: "customers".into(),
        aggregate_columns: vec![("id".into(), "COUNT_DISTINCT".into())],
        join: JoinPolicy {
            join_columns: vec!["id".into()],
            allowed_join_operators: vec![],
        },
        dimension_columns: vec!["name".into()],
        scalar_functions: vec!["UPPER".into()],
        join_required: false,
        owned_by_runner: true,
    }];
    let rejected = |r: Result<(), PolicyError>| match r {
        Err(PolicyError::Rejected(m)) => m,
        other => panic!("expected a rejection, got {other:?}"),
    };
    // The aggregate the rule allows passes; a sketch of the same column is not one of the
    // rule's aggregates (COUNT, COUNT DISTINCT, SUM, SUM DISTINCT, AVG), like any other.
    check_aggregation(
        &spark_plan("SELECT name, COUNT(DISTINCT id) FROM customers GROUP BY name").await,
        &aggregation,
    )
    .unwrap();
    let m = rejected(check_aggregation(
        &spark_plan(
            "SELECT name, hll_sketch_estimate(hll_sketch_agg(id)) FROM customers GROUP BY name",
        )
        .await,
        &aggregation,
    ));
    assert!(m.contains("HLL_SKETCH_AGG"), "{m}");
    // An encrypted or exploded column is still the column: not a dimension of the rule.
    for query in [
        "SELECT aes_encrypt(email, '1234567890abcdef', 'ECB'), COUNT(DISTINCT id) FROM customers GROUP BY aes_encrypt(email, '1234567890abcdef', 'ECB')",
        "SELECT e, COUNT(DISTINCT id) FROM (SELECT explode(tags) AS e, id FROM customers) x GROUP BY e",
    ] {
        let m = rejected(check_aggregation(&spark_plan(query).await, &aggregation));
        assert!(!m.is_empty(), "{query}");
    }
    let list = vec![
        ListRule {
            table: "customers".into(),
            join: JoinPolicy {
                join_columns: vec!["id".into()],
                allowed_join_operators: vec![],
            },
            list_columns: vec!["name".into(), "tags".into(), "email".into()],
            owned_by_runner: true,
        },
        ListRule {
            table: "purchases".into(),
            join: JoinPolicy {
                join_columns: vec!["customer_id".into()],
                allowed_join_operators: vec![],
            },
            list_columns: vec!["product".into()],
            owned_by_runner: false,
        },
    ];
    let join = "FROM customers c JOIN purchases p ON c.id = p.customer_id";
    check_list(
        &spark_plan(&format!("SELECT DISTINCT c.name, p.product {join}")).await,
        &list,
    )
    .unwrap();
    // The list rule allows no functions: an encrypted, exploded or serialized list column is
    // refused (a function of that column; an explode as the UNNEST it plans to).
    for select in [
        "aes_encrypt(c.name, '1234567890abcdef', 'ECB')",
        "explode(c.tags)",
        "to_json(struct(c.email))",
    ] {
        let m = rejected(check_list(
            &spark_plan(&format!("SELECT DISTINCT {select}, p.product {join}")).await,
            &list,
        ));
        assert!(!m.contains("requires an INNER JOIN"), "{select}: {m}");
    }
}

#[tokio::test]
async fn differential_privacy_refuses_sketches_like_other_aggregates() {
    use std::collections::BTreeMap;

    use crate::engine::policy::{check_differential_privacy, PolicyError};
    let tables = BTreeMap::from([("customers".to_string(), "id".to_string())]);
    let plan = spark_plan(
        "SELECT name, hll_sketch_estimate(hll_sketch_agg(email)) FROM customers GROUP BY name",
    )
    .await;
    match check_differential_privacy(&plan, &tables) {
        Err(PolicyError::DifferentialPrivacy(m)) => {
            assert!(m.contains("HLL_SKETCH_AGG"), "{m}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}
