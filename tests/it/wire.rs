//! Service detection, error rendering, 501 for unimplemented operations, 404 for unknown routes.

use axum::body::Body;
use axum::http::Request;

use crate::support::{auth, cleanrooms, json, signed_for, TestApp};

const A: &str = "111111111111";
const ID: &str = "0123abcd-0123-4567-89ab-0123456789ab";

const CREATE: &str = r#"{"name":"c","creatorDisplayName":"A","creatorMemberAbilities":["CAN_QUERY"],
    "members":[{"accountId":"222222222222","displayName":"B","memberAbilities":[]}],"queryLogStatus":"DISABLED"}"#;

#[tokio::test]
async fn every_response_has_a_request_id_and_errors_have_an_error_type() {
    let app = TestApp::new().await;
    let resp = app
        .send(cleanrooms("GET", &format!("/collaborations/{ID}"), A, ""))
        .await;
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().contains_key("x-amzn-requestid"));
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "ResourceNotFoundException"
    );
    let body = json(resp).await;
    assert_eq!(body["resourceType"], "COLLABORATION");
    assert_eq!(body["resourceId"], ID);
    assert!(body["message"].as_str().unwrap().contains(ID));
    assert!(
        body.get("code").is_none(),
        "a body code would override the header in botocore"
    );
}

#[tokio::test]
async fn create_then_get_with_epoch_timestamps() {
    let app = TestApp::new().await;
    let resp = app
        .send(cleanrooms("POST", "/collaborations", A, CREATE))
        .await;
    assert_eq!(resp.status(), 200);
    let created = json(resp).await;
    let id = created["collaboration"]["id"].as_str().unwrap().to_string();
    assert!(created["collaboration"]["createTime"].is_number());
    assert_eq!(created["collaboration"]["memberStatus"], "INVITED");
    let got = json(
        app.send(cleanrooms("GET", &format!("/collaborations/{id}"), A, ""))
            .await,
    )
    .await;
    assert_eq!(got["collaboration"]["name"], "c");
    // Account 333… is not a member.
    let resp = app
        .send(cleanrooms(
            "GET",
            &format!("/collaborations/{id}"),
            "333333333333",
            "",
        ))
        .await;
    assert_eq!(resp.status(), 403);
    let resp = app
        .send(cleanrooms(
            "DELETE",
            &format!("/collaborations/{id}"),
            A,
            "",
        ))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(json(resp).await, serde_json::Value::Null);
}

#[tokio::test]
async fn known_but_unimplemented_operations_answer_501_naming_them() {
    let app = TestApp::new().await;
    // Every Clean Rooms operation is served; Entity Resolution serves only its ID mapping
    // subset, so its matching workflows stay unimplemented.
    let resp = app
        .send(signed_for(
            "entityresolution",
            "GET",
            "/matchingworkflows/wf-1",
            A,
            "",
        ))
        .await;
    assert_eq!(resp.status(), 501);
    let body = json(resp).await;
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("entityresolution.GetMatchingWorkflow"));
}

#[tokio::test]
async fn unknown_routes_answer_404() {
    let app = TestApp::new().await;
    let resp = app.send(cleanrooms("GET", "/no/such/route", A, "")).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "UnknownOperationException"
    );
    let unsigned = Request::builder()
        .uri("/nothing")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(unsigned).await.status(), 404);
}

#[tokio::test]
async fn malformed_json_is_400_not_500() {
    let app = TestApp::new().await;
    let resp = app
        .send(cleanrooms("POST", "/collaborations", A, "{not json"))
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-amzn-errortype"], "SerializationException");
}

#[tokio::test]
async fn validation_errors_name_the_member_and_fill_reason_and_field_list() {
    let app = TestApp::new().await;
    let resp = app
        .send(cleanrooms("GET", "/collaborations?maxResults=101", A, ""))
        .await;
    assert_eq!(resp.status(), 400);
    let body = json(resp).await;
    assert_eq!(body["reason"], "FIELD_VALIDATION_FAILED");
    assert_eq!(body["fieldList"][0]["name"], "maxResults");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("less than or equal to 100"));
}

#[tokio::test]
async fn aws_json_services_are_detected_by_target_and_answer_with_type() {
    let app = TestApp::new().await;
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", "AmazonAthena.ListNamedQueries")
        .header("authorization", auth(A, "athena"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from("{}"))
        .unwrap();
    let resp = app.send(req).await;
    assert_eq!(resp.status(), 501);
    let body = json(resp).await;
    assert_eq!(body["__type"], "NotImplementedException");
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", "AmazonAthena.GetWorkGroup")
        .header("authorization", auth(A, "athena"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(r#"{"WorkGroup": "missing"}"#))
        .unwrap();
    let resp = app.send(req).await;
    assert_eq!(resp.status(), 400);
    let body = json(resp).await;
    assert_eq!(body["__type"], "InvalidRequestException");
    assert_eq!(body["AthenaErrorCode"], "INVALID_INPUT");
    assert_eq!(body["Message"], "WorkGroup missing is not found.");
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", "AmazonAthena.NoSuchThing")
        .body(Body::from("{}"))
        .unwrap();
    let resp = app.send(req).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(json(resp).await["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn admin_clock_moves_forward_only() {
    let app = TestApp::new().await;
    let post = |body: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/_emulator/clock")
            .body(Body::from(body))
            .unwrap()
    };
    let resp = app.send(post(r#"{"advanceSeconds": 3600}"#)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["offsetSeconds"], 3600.0);
    assert_eq!(
        app.send(post(r#"{"advanceSeconds": -1}"#)).await.status(),
        400
    );
    assert_eq!(app.send(post("nope")).await.status(), 400);
}
