"""Shared helpers for the Clean Rooms acceptance tests: accounts, builders, error asserts, raw HTTP."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shapes import assert_valid

# Accounts: the access key id of each client *is* its account id.
A = "111111111111"  # creator
B = "222222222222"  # invited member
C = "333333333333"  # outsider
D = "444444444444"
E = "555555555555"
F = "666666666666"
DEFAULT_ACCOUNT = "123456789012"  # what the emulator uses for non-numeric access keys
REGION = "us-east-1"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()  # pass as an override to leave a member out of the request


def unique_name(prefix: str = "collab") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def random_id() -> str:
    return str(uuid.uuid4())


def member(account: str, abilities=(), display_name: str | None = None, **extra) -> dict:
    spec = {"accountId": account, "memberAbilities": list(abilities), "displayName": display_name or f"Member {account}"}
    spec.update(extra)
    return spec


def collaboration_args(**overrides) -> dict:
    """CreateCollaboration input: A creates, can query and receive results, B is invited with no abilities."""
    args = {
        "name": unique_name(),
        "description": "acceptance test collaboration",
        "members": [member(B)],
        "creatorMemberAbilities": ["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        "creatorDisplayName": "Creator A",
        "queryLogStatus": "DISABLED",
    }
    args.update(overrides)
    return {key: value for key, value in args.items() if value is not OMIT}


def call(client, operation: str, **kwargs) -> dict:
    """Call ``operation`` (API name) and assert the response matches its output shape."""
    method = getattr(client, _python_name(client, operation))
    response = method(**kwargs)
    assert_valid(client, operation, response)
    return response


def _python_name(client, operation: str) -> str:
    for python_name, api_name in client.meta.method_to_api_mapping.items():
        if api_name == operation:
            return python_name
    raise KeyError(operation)


def create_collaboration(client, **overrides) -> dict:
    """Create a collaboration (see ``collaboration_args``); returns the ``collaboration`` member."""
    response = call(client, "CreateCollaboration", **collaboration_args(**overrides))
    return response["collaboration"]


def role_arn(account: str = A, name: str = "cleanrooms-role") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def s3_result_configuration(bucket: str = "results-bucket", **s3) -> dict:
    """A MembershipProtectedQueryResultConfiguration writing CSV to ``bucket``."""
    return {"outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": bucket, **s3}}}


def create_membership(client, collaboration_id: str, **overrides) -> dict:
    """CreateMembership (query logging off unless overridden); returns the ``membership`` member."""
    args = {"collaborationIdentifier": collaboration_id, "queryLogStatus": "DISABLED"}
    args.update(overrides)
    args = {key: value for key, value in args.items() if value is not OMIT}
    return call(client, "CreateMembership", **args)["membership"]


def joined_collaboration(a, b, **overrides) -> tuple[dict, dict, dict]:
    """Appendix F steps 1-3: A creates (CAN_QUERY, CAN_RECEIVE_RESULTS) with B invited (no
    abilities), B joins, A joins with an S3 result default. Returns (collaboration, A's
    membership, B's membership)."""
    coll = create_collaboration(a, **overrides)
    mb = create_membership(b, coll["id"])
    ma = create_membership(a, coll["id"], defaultResultConfiguration=s3_result_configuration())
    return coll, ma, mb


# The Glue table most configured-table tests point at: (name, type) columns and partition keys.
GLUE_COLUMNS = [("user_id", "string"), ("segment", "string"), ("spend", "double"), ("email", "string"), ("age", "int")]
GLUE_PARTITION_KEYS = [("dt", "string")]


def create_glue_table(glue, database: str = "sales", table: str = "customers", columns=None, partition_keys=None) -> dict:
    """Create ``database`` (if needed) and ``table`` in the caller's Glue Data Catalog."""
    try:
        glue.create_database(DatabaseInput={"Name": database})
    except glue.exceptions.AlreadyExistsException:
        pass
    columns = GLUE_COLUMNS if columns is None else columns
    partition_keys = GLUE_PARTITION_KEYS if partition_keys is None else partition_keys
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": table,
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in columns],
                "Location": f"s3://data-bucket/{database}/{table}/",
            },
            "PartitionKeys": [{"Name": n, "Type": t} for n, t in partition_keys],
            "Parameters": {"classification": "csv"},
        },
    )
    return {"databaseName": database, "tableName": table}


def configured_table_args(database: str = "sales", table: str = "customers", **overrides) -> dict:
    """CreateConfiguredTable input over a Glue table (see ``create_glue_table``)."""
    args = {
        "name": unique_name("table"),
        "description": "acceptance test table",
        "tableReference": {"glue": {"databaseName": database, "tableName": table}},
        "allowedColumns": ["user_id", "segment", "spend"],
        "analysisMethod": "DIRECT_QUERY",
    }
    args.update(overrides)
    return {key: value for key, value in args.items() if value is not OMIT}


def create_configured_table(client, **overrides) -> dict:
    """CreateConfiguredTable (see ``configured_table_args``); returns the ``configuredTable``."""
    return call(client, "CreateConfiguredTable", **configured_table_args(**overrides))["configuredTable"]


def aggregation_policy(**overrides) -> dict:
    """Appendix F step 4's aggregation rule over user_id, segment, spend."""
    rule = {
        "aggregateColumns": [{"columnNames": ["spend"], "function": "SUM"}],
        "joinColumns": ["user_id"],
        "dimensionColumns": ["segment"],
        "scalarFunctions": [],
        "outputConstraints": [{"columnName": "user_id", "minimum": 100, "type": "COUNT_DISTINCT"}],
    }
    rule.update(overrides)
    return {"v1": {"aggregation": {k: v for k, v in rule.items() if v is not OMIT}}}


def list_policy(**overrides) -> dict:
    rule = {"joinColumns": ["user_id"], "listColumns": ["segment"]}
    rule.update(overrides)
    return {"v1": {"list": {k: v for k, v in rule.items() if v is not OMIT}}}


def custom_policy(**overrides) -> dict:
    rule = {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}
    rule.update(overrides)
    return {"v1": {"custom": {k: v for k, v in rule.items() if v is not OMIT}}}


def add_table_rule(client, table_id: str, policy: dict) -> dict:
    """CreateConfiguredTableAnalysisRule with the type the policy carries."""
    rule_type = next(iter(policy["v1"])).upper()
    return call(
        client,
        "CreateConfiguredTableAnalysisRule",
        configuredTableIdentifier=table_id,
        analysisRuleType=rule_type,
        analysisRulePolicy=policy,
    )["analysisRule"]


def list_all(client, operation: str, result_key: str, page_size: int | None = None, **kwargs) -> list:
    """Every item of a paginated list operation, through the boto3 paginator; each page validated."""
    paginator = client.get_paginator(_python_name(client, operation))
    config = {"PageSize": page_size} if page_size else {}
    items = []
    for page in paginator.paginate(PaginationConfig=config, **kwargs):
        assert_valid(client, operation, page)
        items.extend(page[result_key])
    return items


def list_collaboration_ids(client, **kwargs) -> list[str]:
    return [summary["id"] for summary in list_all(client, "ListCollaborations", "collaborationList", **kwargs)]


def members_by_account(client, collaboration_id: str) -> dict[str, dict]:
    summaries = list_all(client, "ListMembers", "memberSummaries", collaborationIdentifier=collaboration_id)
    by_account = {summary["accountId"]: summary for summary in summaries}
    assert len(by_account) == len(summaries), f"duplicate accounts in ListMembers: {summaries}"
    return by_account


# --------------------------------------------------------------------------------------------
# Error assertions
# --------------------------------------------------------------------------------------------


def error_response(excinfo) -> dict:
    """``e.response`` from a pytest ExceptionInfo or a ClientError."""
    exc = getattr(excinfo, "value", excinfo)
    return exc.response


def assert_error(excinfo, code: str, status: int, *message_parts: str) -> dict:
    """Assert a ClientError's code, HTTP status and that its message contains each part."""
    response = error_response(excinfo)
    error = response["Error"]
    assert error["Code"] == code, f"expected {code}, got {error}"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response["ResponseMetadata"]
    message = error.get("Message", "")
    assert message, f"{code} without a message"
    for part in message_parts:
        assert part in message, f"{part!r} not in message {message!r}"
    assert response["ResponseMetadata"].get("RequestId"), "error without x-amzn-RequestId"
    return response


# AWS's standard constraint wording, by rule (lower-case substrings of the message).
RULE_WORDS = {
    "length": "length",
    "pattern": "pattern",
    "enum": "enum",
    "min_value": "greater than or equal to",
    "max_value": "less than or equal to",
    "required": "null",
}


def assert_field_error(excinfo, field: str, rule: str | None = None) -> dict:
    """ValidationException 400, reason FIELD_VALIDATION_FAILED, ``field`` in fieldList and message.

    ``field`` is the member name; a fieldList entry matches when it is one of the entry name's
    path components (``name``, ``members.0.accountId``, ``members[0].accountId``). ``rule`` (a RULE_WORDS key) must show in the message.
    """
    response = assert_error(excinfo, "ValidationException", 400)
    message = response["Error"]["Message"]
    assert response.get("reason") == "FIELD_VALIDATION_FAILED", f"reason: {response.get('reason')!r}"
    fields = response.get("fieldList") or []
    names = [entry.get("name", "") for entry in fields]
    assert any(field in re.split(r"[.\[\]/]", name) for name in names), f"{field!r} not in fieldList {fields}"
    assert field in message, f"message does not name {field!r}: {message!r}"
    if rule is not None:
        assert RULE_WORDS[rule] in message.lower(), f"message does not name the {rule} rule: {message!r}"
    return response


# --------------------------------------------------------------------------------------------
# Raw HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def raw_request(
    base_url: str,
    method: str,
    path: str,
    body: bytes | str | dict | None = None,
    *,
    account: str = A,
    region: str = REGION,
    service: str = "cleanrooms",
    sign: bool = True,
    headers: dict | None = None,
    timeout: float = 30,
) -> RawResponse:
    """Send one HTTP request, SigV4-signed for ``service`` unless ``sign=False``."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    url = base_url.rstrip("/") + path
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    if sign:
        request = AWSRequest(method=method, url=url, data=body or b"", headers=all_headers)
        SigV4Auth(Credentials(account, "emulator-dummy-secret-key"), service, region).add_auth(request)
        all_headers = dict(request.headers.items())
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=all_headers)
        response = connection.getresponse()
        return RawResponse(response.status, response.headers, response.read())
    finally:
        connection.close()


def quote_label(value: str) -> str:
    """Percent-encode a URI label the way botocore does (only -_.~ left as is)."""
    return urllib.parse.quote(value, safe="-_.~")
