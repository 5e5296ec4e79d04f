"""Unit tests of shapes.py against hand-built dicts (no server needed)."""

from __future__ import annotations

import copy
import datetime

import pytest

import shapes
from shapes import assert_valid, compile_pattern, validate_error, validate_error_wire, validate_output, validate_wire

NOW = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
CID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
MID = "11111111-2222-4333-8444-555555555555"


def collaboration(**overrides):
    value = {
        "id": CID,
        "arn": f"arn:aws:cleanrooms:us-east-1:111111111111:collaboration/{CID}",
        "name": "My collaboration",
        "description": "demo",
        "creatorAccountId": "111111111111",
        "creatorDisplayName": "Creator",
        "createTime": NOW,
        "updateTime": NOW,
        "memberStatus": "INVITED",
        "queryLogStatus": "DISABLED",
        "jobLogStatus": "DISABLED",
        "analyticsEngine": "SPARK",
    }
    value.update(overrides)
    return value


def response(**collaboration_overrides):
    return {
        "ResponseMetadata": {"RequestId": "abc", "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        "collaboration": collaboration(**collaboration_overrides),
    }


def without(d, key):
    d = copy.deepcopy(d)
    del d[key]
    return d


def rules(problems):
    return sorted((p.rule, p.path) for p in problems)


def test_validate_output_accepts_valid_collaboration():
    assert validate_output("cleanrooms", "CreateCollaboration", response()) == []
    assert_valid("cleanrooms", "GetCollaboration", response())
    assert_valid("cleanrooms", "get_collaboration", response())  # Python name works too


def test_validate_output_ignores_response_metadata_only():
    r = response()
    r["Extra"] = 1
    assert rules(validate_output("cleanrooms", "GetCollaboration", r)) == [("unknown", "Extra")]


def test_validate_output_reports_missing_required_member():
    r = response()
    del r["collaboration"]["memberStatus"]
    assert rules(validate_output("cleanrooms", "GetCollaboration", r)) == [("required", "collaboration.memberStatus")]
    assert rules(validate_output("cleanrooms", "GetCollaboration", {"ResponseMetadata": {}})) == [("required", "collaboration")]


def test_validate_output_reports_undefined_member():
    problems = validate_output("cleanrooms", "GetCollaboration", response(creatorId="x"))
    assert rules(problems) == [("unknown", "collaboration.creatorId")]
    assert "does not define" in str(problems[0])


@pytest.mark.parametrize(
    "member, value",
    [
        ("createTime", "2025-01-01T00:00:00Z"),
        ("createTime", 1735689600),
        ("name", 5),
        ("isMetricsEnabled", "true"),
        ("isMetricsEnabled", 1),
        ("allowedResultRegions", "us-east-1"),
        ("dataEncryptionMetadata", []),
    ],
)
def test_validate_output_reports_wrong_types(member, value):
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(**{member: value}))) == [
        ("type", f"collaboration.{member}")
    ]


def test_validate_output_integer_rejects_bool_and_float_accepts_int():
    shape = shapes.service_model_for("cleanrooms").shape_for("ServiceQuotaExceededException")
    ok = {"message": "m", "quotaName": "q", "quotaValue": 10}
    assert shapes.validate_shape(shape, ok) == []
    assert rules(shapes.validate_shape(shape, dict(ok, quotaValue=True))) == [("type", "quotaValue")]
    budget = shapes.service_model_for("cleanrooms").shape_for("AccessBudgetDetails")
    detail = {"startTime": NOW, "remainingBudget": 3, "budget": 5, "budgetType": "LIFETIME"}
    assert shapes.validate_shape(budget, detail) == []
    assert rules(shapes.validate_shape(budget, dict(detail, budget=True))) == [("type", "budget")]
    assert rules(shapes.validate_shape(budget, dict(detail, budget=5.0))) == [("type", "budget")]


def test_validate_output_reports_enum_violation():
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(memberStatus="JOINED"))) == [
        ("enum", "collaboration.memberStatus")
    ]
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(allowedResultRegions=["mars-1"]))) == [
        ("enum", "collaboration.allowedResultRegions[0]")
    ]


def test_validate_output_reports_string_length():
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(name="x" * 101))) == [
        ("max", "collaboration.name")
    ]
    assert ("min", "collaboration.id") in rules(validate_output("cleanrooms", "GetCollaboration", response(id=CID[:-1])))
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(name=""))) == [
        ("min", "collaboration.name"),
        ("pattern", "collaboration.name"),
    ]


def test_validate_output_applies_patterns_to_the_whole_value():
    # unanchored search would accept all of these
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(id=CID.upper()))) == [
        ("pattern", "collaboration.id")
    ]
    bad_arn = f"arn:aws:cleanrooms:us-east-1:111111111111:collaboration/{CID} x"
    assert ("pattern", "collaboration.arn") in rules(validate_output("cleanrooms", "GetCollaboration", response(arn=bad_arn)))
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(creatorAccountId="11111111111a"))) == [
        ("pattern", "collaboration.creatorAccountId")
    ]


def test_validate_output_look_ahead_patterns_reject_whitespace_only():
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(name="   "))) == [("pattern", "collaboration.name")]
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(description="  \n"))) == [
        ("pattern", "collaboration.description")
    ]
    assert validate_output("cleanrooms", "GetCollaboration", response(description="")) == []
    assert validate_output("cleanrooms", "GetCollaboration", response(name=" padded name ")) == []


def test_validate_output_character_class_patterns():
    assert validate_output("cleanrooms", "GetCollaboration", response(name="Café 数据 \U0001F680")) == []
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(name="bad\x01char"))) == [
        ("pattern", "collaboration.name")
    ]
    # the name pattern has \t but no \n
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(name="two\nlines"))) == [
        ("pattern", "collaboration.name")
    ]


def test_compile_pattern_uses_java_ascii_classes_and_skips_unsupported():
    assert compile_pattern(r"\d+").fullmatch("١٢٣") is None  # Arabic-Indic digits are not Java \d
    assert compile_pattern(r"[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}]+") is None
    snowflake = shapes.service_model_for("cleanrooms").shape_for("SnowflakeTableName")
    assert "\\p" in snowflake.metadata["pattern"]
    assert shapes.validate_shape(snowflake, "any thing ☃") == []  # skipped, not reported


def test_validate_output_list_items_and_nested_paths():
    summary = {k: v for k, v in collaboration().items() if k not in ("description", "queryLogStatus", "jobLogStatus")}
    good = {"collaborationList": [summary, dict(summary, id=MID)], "nextToken": "t"}
    assert validate_output("cleanrooms", "ListCollaborations", good) == []
    bad = {"collaborationList": [summary, dict(summary, memberStatus="NOPE", queryLogStatus="ENABLED")]}
    assert rules(validate_output("cleanrooms", "ListCollaborations", bad)) == [
        ("enum", "collaborationList[1].memberStatus"),
        ("unknown", "collaborationList[1].queryLogStatus"),
    ]
    assert rules(validate_output("cleanrooms", "ListCollaborations", {})) == [("required", "collaborationList")]


def member_summary(**overrides):
    value = {
        "accountId": "222222222222",
        "status": "INVITED",
        "displayName": "B",
        "abilities": [],
        "createTime": NOW,
        "updateTime": NOW,
        "paymentConfiguration": {"queryCompute": {"isResponsible": False}},
    }
    value.update(overrides)
    return value


def test_validate_output_nested_structures_required_members():
    assert validate_output("cleanrooms", "ListMembers", {"memberSummaries": [member_summary()]}) == []
    bad = member_summary(paymentConfiguration={"queryCompute": {}})
    assert rules(validate_output("cleanrooms", "ListMembers", {"memberSummaries": [bad]})) == [
        ("required", "memberSummaries[0].paymentConfiguration.queryCompute.isResponsible")
    ]
    missing = {k: v for k, v in member_summary().items() if k != "paymentConfiguration"}
    assert rules(validate_output("cleanrooms", "ListMembers", {"memberSummaries": [missing]})) == [
        ("required", "memberSummaries[0].paymentConfiguration")
    ]


def test_validate_output_map_size_and_keys():
    assert validate_output("cleanrooms", "ListTagsForResource", {"tags": {}}) == []
    assert validate_output("cleanrooms", "ListTagsForResource", {"tags": {"a": "b", "c": ""}}) == []
    too_many = {"tags": {f"k{i}": "v" for i in range(201)}}
    assert rules(validate_output("cleanrooms", "ListTagsForResource", too_many)) == [("max", "tags")]
    problems = validate_output("cleanrooms", "ListTagsForResource", {"tags": {"": "v", "k": "x" * 257}})
    assert sorted(p.rule for p in problems) == ["max", "min"]
    assert rules(validate_output("cleanrooms", "ListTagsForResource", {"tags": {"k": 1}})) == [("type", "tags{'k'}")]


def change_request(**overrides):
    value = {
        "id": CID,
        "collaborationId": CID,
        "createTime": NOW,
        "updateTime": NOW,
        "status": "PENDING",
        "isAutoApproved": False,
        "changes": [
            {
                "specificationType": "MEMBER",
                "specification": {"member": {"accountId": "222222222222", "memberAbilities": [], "displayName": "B"}},
                "types": ["ADD_MEMBER"],
            }
        ],
    }
    value.update(overrides)
    return {"collaborationChangeRequest": value}


def test_validate_output_list_size_limits():
    assert validate_output("cleanrooms", "GetCollaborationChangeRequest", change_request()) == []
    assert rules(validate_output("cleanrooms", "GetCollaborationChangeRequest", change_request(changes=[]))) == [
        ("min", "collaborationChangeRequest.changes")
    ]
    eleven = change_request()["collaborationChangeRequest"]["changes"] * 11
    assert rules(validate_output("cleanrooms", "GetCollaborationChangeRequest", change_request(changes=eleven))) == [
        ("max", "collaborationChangeRequest.changes")
    ]


def privacy_budget_template(parameters):
    return {
        "privacyBudgetTemplate": {
            "id": CID,
            "arn": f"arn:aws:cleanrooms:us-east-1:111111111111:privacybudgettemplate/{CID}",
            "membershipId": MID,
            "membershipArn": f"arn:aws:cleanrooms:us-east-1:111111111111:membership/{MID}",
            "collaborationId": CID,
            "collaborationArn": f"arn:aws:cleanrooms:us-east-1:111111111111:collaboration/{CID}",
            "createTime": NOW,
            "updateTime": NOW,
            "privacyBudgetType": "DIFFERENTIAL_PRIVACY",
            "autoRefresh": "CALENDAR_MONTH",
            "parameters": parameters,
        }
    }


def test_validate_output_union_exactly_one_member():
    dp = {"epsilon": 3, "usersNoisePerQuery": 20}
    assert validate_output("cleanrooms", "GetPrivacyBudgetTemplate", privacy_budget_template({"differentialPrivacy": dp})) == []
    assert rules(validate_output("cleanrooms", "GetPrivacyBudgetTemplate", privacy_budget_template({}))) == [
        ("union", "privacyBudgetTemplate.parameters")
    ]
    both = {"differentialPrivacy": dp, "accessBudget": {"resourceArn": "arn", "budgetParameters": []}}
    assert ("union", "privacyBudgetTemplate.parameters") in rules(
        validate_output("cleanrooms", "GetPrivacyBudgetTemplate", privacy_budget_template(both))
    )
    unknown = {"SDK_UNKNOWN_MEMBER": {"name": "future"}}
    assert ("unknown", "privacyBudgetTemplate.parameters.SDK_UNKNOWN_MEMBER") in rules(
        validate_output("cleanrooms", "GetPrivacyBudgetTemplate", privacy_budget_template(unknown))
    )


def test_validate_output_numeric_range():
    for epsilon, expected in ((0, [("min", "privacyBudgetTemplate.parameters.differentialPrivacy.epsilon")]),
                              (21, [("max", "privacyBudgetTemplate.parameters.differentialPrivacy.epsilon")]),
                              (20, [])):
        params = {"differentialPrivacy": {"epsilon": epsilon, "usersNoisePerQuery": 20}}
        assert rules(validate_output("cleanrooms", "GetPrivacyBudgetTemplate", privacy_budget_template(params))) == expected


def test_validate_output_empty_output_shape():
    assert validate_output("cleanrooms", "DeleteCollaboration", {"ResponseMetadata": {"HTTPStatusCode": 204}}) == []
    assert validate_output("cleanrooms", "TagResource", {"ResponseMetadata": {}}) == []
    assert rules(validate_output("cleanrooms", "TagResource", {"tags": {}})) == [("unknown", "tags")]


def test_validate_output_null_is_reported():
    assert rules(validate_output("cleanrooms", "GetCollaboration", response(description=None))) == [
        ("null", "collaboration.description")
    ]


def test_ignore_exempts_by_rule_and_member_name_or_path():
    long_arn = "arn:aws:cleanrooms:us-east-1:111111111111:collaboration/" + "a" * 60
    r = response(arn=long_arn)
    assert rules(validate_output("cleanrooms", "GetCollaboration", r)) == [("max", "collaboration.arn")]
    assert validate_output("cleanrooms", "GetCollaboration", r, ignore=("max:arn",)) == []
    assert validate_output("cleanrooms", "GetCollaboration", r, ignore=("max:collaboration.arn",)) == []
    assert validate_output("cleanrooms", "GetCollaboration", r, ignore=("*:*arn",)) == []
    assert validate_output("cleanrooms", "GetCollaboration", r, ignore=("min:arn",)) != []
    assert validate_output("cleanrooms", "GetCollaboration", r, ignore=("max:name",)) != []
    assert_valid("cleanrooms", "GetCollaboration", r, ignore=("max:arn",))
    with pytest.raises(ValueError):
        validate_output("cleanrooms", "GetCollaboration", r, ignore=("max",))


def test_association_arn_in_iam_form_is_a_known_deviation_only_for_that_shape():
    long_arn = f"arn:aws:cleanrooms:us-east-1:111111111111:membership/{MID}/configuredtableassociation/{CID}"
    association = {
        "arn": long_arn,
        "id": CID,
        "configuredTableId": CID,
        "configuredTableArn": f"arn:aws:cleanrooms:us-east-1:111111111111:configuredtable/{CID}",
        "membershipId": MID,
        "membershipArn": f"arn:aws:cleanrooms:us-east-1:111111111111:membership/{MID}",
        "roleArn": "arn:aws:iam::111111111111:role/cleanrooms-role",
        "name": "t",
        "createTime": NOW,
        "updateTime": NOW,
    }
    assert validate_output("cleanrooms", "GetConfiguredTableAssociation", {"configuredTableAssociation": association}) == []
    # other ARN shapes keep their limits
    association["membershipArn"] = long_arn
    problems = validate_output("cleanrooms", "GetConfiguredTableAssociation", {"configuredTableAssociation": association})
    assert rules(problems) == [("max", "configuredTableAssociation.membershipArn"), ("pattern", "configuredTableAssociation.membershipArn")]


def test_assert_valid_raises_with_every_problem_listed():
    r = response(memberStatus="X", name="")
    with pytest.raises(AssertionError) as excinfo:
        assert_valid("cleanrooms", "GetCollaboration", r)
    text = str(excinfo.value)
    assert "collaboration.memberStatus" in text and "collaboration.name" in text


def test_assert_valid_accepts_a_client():
    import boto3

    client = boto3.client(
        "cleanrooms", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="111111111111", aws_secret_access_key="x",
    )
    assert_valid(client, "GetCollaboration", response())
    with pytest.raises(KeyError):
        validate_output(client, "NoSuchOperation", {})


# -- errors ------------------------------------------------------------------------------------


def error(code, status, **members):
    return {"Error": {"Code": code, "Message": members.get("message", "")}, "ResponseMetadata": {"HTTPStatusCode": status}, **members}


def test_validate_error_checks_modeled_members_and_status():
    ok = error("ResourceNotFoundException", 404, message="gone", resourceId=CID, resourceType="COLLABORATION")
    assert validate_error("cleanrooms", ok) == []
    assert rules(validate_error("cleanrooms", dict(ok, resourceType="SCHEMA"))) == [("enum", "resourceType")]
    missing = {k: v for k, v in ok.items() if k != "resourceId"}
    assert rules(validate_error("cleanrooms", missing)) == [("required", "resourceId")]
    wrong_status = error("ResourceNotFoundException", 400, message="m", resourceId=CID, resourceType="COLLABORATION")
    assert rules(validate_error("cleanrooms", wrong_status)) == [("status", "")]
    assert validate_error("cleanrooms", error("ServiceQuotaExceededException", 402, message="m", quotaName="q", quotaValue=10.0)) == []


def test_validate_error_validation_exception_field_list():
    ok = error("ValidationException", 400, message="m", reason="FIELD_VALIDATION_FAILED",
               fieldList=[{"name": "name", "message": "too long"}])
    assert validate_error("cleanrooms", ok) == []
    bad = dict(ok, fieldList=[{"name": "name"}], reason="BAD")
    assert rules(validate_error("cleanrooms", bad)) == [("enum", "reason"), ("required", "fieldList[0].message")]


def test_validate_error_unknown_code_is_not_checked():
    assert validate_error("cleanrooms", error("NotImplemented", 501, message="x")) == []
    assert rules(validate_error("cleanrooms", {"Error": {}, "ResponseMetadata": {}})) == [("required", "Error.Code")]


# -- wire ----------------------------------------------------------------------------------------


def wire_collaboration(**overrides):
    value = {
        "id": CID,
        "arn": f"arn:aws:cleanrooms:us-east-1:111111111111:collaboration/{CID}",
        "name": "n",
        "creatorAccountId": "111111111111",
        "creatorDisplayName": "c",
        "createTime": 1735787045.123,
        "updateTime": 1735787045,
        "memberStatus": "INVITED",
        "queryLogStatus": "DISABLED",
    }
    value.update(overrides)
    return {"collaboration": value}


def output(op):
    return shapes.output_shape("cleanrooms", op)


def test_validate_wire_accepts_epoch_numbers_and_bytes():
    import json

    assert validate_wire(output("GetCollaboration"), wire_collaboration()) == []
    assert validate_wire(output("GetCollaboration"), json.dumps(wire_collaboration()).encode()) == []


def test_validate_wire_rejects_iso_timestamps_nulls_unknown_members():
    body = wire_collaboration(createTime="2025-01-01T00:00:00Z", membershipId=None, extra=1)
    assert rules(validate_wire(output("GetCollaboration"), body)) == [
        ("null", "collaboration.membershipId"),
        ("type", "collaboration.createTime"),
        ("unknown", "collaboration.extra"),
    ]
    assert rules(validate_wire(output("GetCollaboration"), wire_collaboration(createTime=True))) == [
        ("type", "collaboration.createTime")
    ]


def test_validate_wire_rejects_non_json_and_accepts_empty_output():
    assert rules(validate_wire(output("GetCollaboration"), b"<xml/>")) == [("body", "")]
    assert validate_wire(output("TagResource"), b"{}") == []
    assert validate_wire(output("TagResource"), b"") == []
    assert rules(validate_wire(output("TagResource"), b'{"x": 1}')) == [("unknown", "x")]


def test_validate_error_wire():
    ok = {"message": "m", "resourceId": CID, "resourceType": "COLLABORATION"}
    assert validate_error_wire("cleanrooms", "ResourceNotFoundException", ok) == []
    assert validate_error_wire("cleanrooms", "ResourceNotFoundException", dict(ok, __type="ResourceNotFoundException")) == []
    assert rules(validate_error_wire("cleanrooms", "ResourceNotFoundException", dict(ok, code="X", extra=None))) == [
        ("unknown", "code"),
        ("unknown", "extra"),
    ]
    assert rules(validate_error_wire("cleanrooms", "ResourceNotFoundException", dict(ok, resourceId=None))) == [
        ("null", "resourceId")
    ]
    assert rules(validate_error_wire("cleanrooms", "ResourceNotFoundException", dict(ok, other="y"))) == [
        ("unknown", "other")
    ]
    assert rules(validate_error_wire("cleanrooms", "ValidationException", {"message": ""})) == [("required", "message")]
    assert rules(validate_error_wire("cleanrooms", "NotImplemented", b"[]")) == [("body", "")]
    assert validate_error_wire("cleanrooms", "NotImplemented", b'{"message": "GetProtectedJob is not implemented"}') == []


def test_check_http_exchange_status_and_headers():
    model = shapes.operation_model("cleanrooms", "DeleteCollaboration")
    headers = {"x-amzn-RequestId": "r"}
    assert shapes.check_http_exchange(model, 204, headers, b"", {"ResponseMetadata": {}}) == []
    assert rules(shapes.check_http_exchange(model, 200, headers, b"{}", {"ResponseMetadata": {}})) == [("status", "")]
    assert rules(shapes.check_http_exchange(model, 204, {}, b"", {})) == [("header", "")]
    err = error("AccessDeniedException", 403, message="no", reason="INSUFFICIENT_PERMISSIONS")
    body = b'{"message": "no", "reason": "INSUFFICIENT_PERMISSIONS"}'
    assert rules(shapes.check_http_exchange(model, 403, headers, body, err)) == [("header", "")]
    full = {"x-amzn-RequestId": "r", "x-amzn-ErrorType": "AccessDeniedException"}
    assert shapes.check_http_exchange(model, 403, full, body, err) == []
