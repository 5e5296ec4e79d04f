//! Checks of the generated service modules: wire-form round trips, the operation trait's defaults
//! and overrides, `dispatch`, and error conversion.

use cleanrooms_emulator_api::cleanrooms::api::{dispatch, CleanroomsApi};
use cleanrooms_emulator_api::cleanrooms::dto::{
    CreateCollaborationInput, CreateConfiguredTableInput, GetCollaborationInput,
    GetCollaborationOutput, MemberAbility, TableReference,
};
use cleanrooms_emulator_api::cleanrooms::errors::{
    AccessDeniedException, ResourceNotFoundException,
};
use cleanrooms_emulator_api::{AwsError, RequestContext};
use serde_json::json;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls a future that completes without waiting on anything (everything here is immediate).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("future did not complete immediately"),
    }
}

fn assert_send<T: Send>(_: T) {}

fn ctx(operation: &str) -> RequestContext {
    RequestContext {
        request_id: "req-1".into(),
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
        access_key_id: None,
        service: "cleanrooms".into(),
        operation: operation.into(),
    }
}

struct Svc;

impl CleanroomsApi for Svc {
    async fn get_collaboration(
        &self,
        ctx: &RequestContext,
        input: GetCollaborationInput,
    ) -> Result<GetCollaborationOutput, AwsError> {
        if input.collaboration_identifier == "missing" {
            return Err(ResourceNotFoundException {
                message: "no such collaboration".into(),
                resource_id: input.collaboration_identifier,
                resource_type:
                    cleanrooms_emulator_api::cleanrooms::dto::ResourceType::Collaboration,
            }
            .into());
        }
        let value = json!({
            "collaboration": {
                "id": input.collaboration_identifier,
                "arn": "arn:aws:cleanrooms:us-east-1:111111111111:collaboration/x",
                "name": "c",
                "creatorAccountId": ctx.account_id,
                "creatorDisplayName": "a",
                "createTime": 1.5,
                "updateTime": 1.5,
                "memberStatus": "ACTIVE",
                "queryLogStatus": "DISABLED"
            }
        });
        cleanrooms_emulator_api::from_value(value)
    }
}

#[test]
fn create_collaboration_input_deserialises() {
    let input: CreateCollaborationInput = serde_json::from_value(json!({
        "members": [{"accountId": "111111111111", "memberAbilities": [], "displayName": "b"}],
        "name": "c",
        "creatorMemberAbilities": ["CAN_QUERY"],
        "creatorDisplayName": "a",
        "queryLogStatus": "DISABLED",
        "someFutureField": 1
    }))
    .unwrap();
    assert_eq!(input.name, "c");
    assert_eq!(
        input.creator_member_abilities,
        vec![MemberAbility::CanQuery]
    );
    assert_eq!(input.members[0].account_id, "111111111111");
    assert_eq!(input.description, None);
    assert_eq!(MemberAbility::CanQuery.as_str(), "CAN_QUERY");
    assert_eq!(MemberAbility::CanQuery.to_string(), "CAN_QUERY");
    // Absent optional members are not serialised; unknown ones were ignored.
    let back = serde_json::to_value(&input).unwrap();
    assert!(back.get("description").is_none());
    assert!(back.get("someFutureField").is_none());
    assert_eq!(back["creatorMemberAbilities"], json!(["CAN_QUERY"]));
}

#[test]
fn union_round_trips() {
    let value = json!({
        "name": "t",
        "tableReference": {"glue": {"tableName": "t", "databaseName": "d"}},
        "allowedColumns": ["a"],
        "analysisMethod": "DIRECT_QUERY"
    });
    let input: CreateConfiguredTableInput = serde_json::from_value(value.clone()).unwrap();
    match &input.table_reference {
        TableReference::Glue(g) => {
            assert_eq!(g.table_name, "t");
            assert_eq!(g.database_name, "d");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(serde_json::to_value(&input).unwrap(), value);
}

#[test]
fn empty_structures_are_objects() {
    use cleanrooms_emulator_api::cleanrooms::dto::DeleteCollaborationOutput;
    let out: DeleteCollaborationOutput = serde_json::from_value(json!({})).unwrap();
    assert_eq!(serde_json::to_value(&out).unwrap(), json!({}));
}

#[test]
fn overridden_and_default_methods() {
    let svc = Svc;
    let c = ctx("GetCollaboration");
    let out = now(svc.get_collaboration(
        &c,
        GetCollaborationInput {
            collaboration_identifier: "abc".into(),
        },
    ))
    .unwrap();
    assert_eq!(out.collaboration.id, "abc");

    let err =
        now(svc.list_collaborations(&ctx("ListCollaborations"), Default::default())).unwrap_err();
    assert_eq!(err.status, 501);
    assert_eq!(err.code, "NotImplementedException");
}

#[test]
fn dispatch_routes_and_is_send() {
    let svc = Svc;
    let c = ctx("GetCollaboration");
    assert_send(dispatch(
        &svc,
        &c,
        json!({"collaborationIdentifier": "abc"}),
    ));

    let out = now(dispatch(
        &svc,
        &c,
        json!({"collaborationIdentifier": "abc"}),
    ))
    .unwrap();
    assert_eq!(out["collaboration"]["id"], "abc");
    assert_eq!(out["collaboration"]["memberStatus"], "ACTIVE");

    let err = now(dispatch(
        &svc,
        &c,
        json!({"collaborationIdentifier": "missing"}),
    ))
    .unwrap_err();
    assert_eq!(err.code, "ResourceNotFoundException");
    assert_eq!(err.status, 404);
    assert!(err.sender_fault);
    assert_eq!(err.message, "no such collaboration");
    assert_eq!(err.fields["resourceId"], "missing");
    assert_eq!(err.fields["resourceType"], "COLLABORATION");
    assert!(!err.fields.contains_key("message"));

    let err = now(dispatch(
        &svc,
        &ctx("DeleteCollaboration"),
        json!({"collaborationIdentifier": "x"}),
    ))
    .unwrap_err();
    assert_eq!(err.status, 501);

    let err = now(dispatch(&svc, &ctx("Nope"), json!({}))).unwrap_err();
    assert_eq!(err.code, "UnknownOperationException");
    assert_eq!(err.status, 404);

    let err = now(dispatch(&svc, &c, json!({}))).unwrap_err();
    assert_eq!(err.code, "ValidationException");
}

#[test]
fn errors_convert() {
    let err: AwsError = AccessDeniedException::new("denied").into();
    assert_eq!(
        (err.code.as_str(), err.status, err.sender_fault),
        ("AccessDeniedException", 403, true)
    );
    assert_eq!(err.message, "denied");
    assert!(err.fields.is_empty());

    let err: AwsError =
        cleanrooms_emulator_api::cleanrooms::errors::InternalServerException::new("boom").into();
    assert_eq!((err.status, err.sender_fault), (500, false));

    // awsQuery errors use the modelled error code.
    let err: AwsError =
        cleanrooms_emulator_api::sts::errors::MalformedPolicyDocumentException::new("bad").into();
    assert_eq!(
        (err.code.as_str(), err.status),
        ("MalformedPolicyDocument", 400)
    );

    // awsJson errors without an `error` trait: 400, or 500 for faults.
    let err: AwsError =
        cleanrooms_emulator_api::glue::errors::EntityNotFoundException::new("gone").into();
    assert_eq!(
        (err.code.as_str(), err.status, err.sender_fault),
        ("EntityNotFoundException", 400, true)
    );
    let err: AwsError =
        cleanrooms_emulator_api::glue::errors::InternalServiceException::new("x").into();
    assert_eq!((err.status, err.sender_fault), (500, false));
}

#[test]
fn other_services_dispatch() {
    struct Glue;
    impl cleanrooms_emulator_api::glue::api::GlueApi for Glue {}
    let mut c = ctx("GetDatabases");
    c.service = "glue".into();
    let err = now(cleanrooms_emulator_api::glue::api::dispatch(
        &Glue,
        &c,
        json!({}),
    ))
    .unwrap_err();
    assert_eq!(err.status, 501);
    assert_eq!(
        cleanrooms_emulator_api::glue::routes::TARGET_PREFIX,
        Some("AWSGlue")
    );
    assert_eq!(cleanrooms_emulator_api::sts::routes::PROTOCOL, "query");
    assert!(cleanrooms_emulator_api::cleanrooms::routes::OPERATIONS
        .iter()
        .any(|o| o.name == "CreateCollaboration"
            && o.uri == "/collaborations"
            && o.method == "POST"));
}
