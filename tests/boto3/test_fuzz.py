"""Fuzzing the wire: no request, however malformed, gets a 5xx or hangs, and none escapes the data
dir.

- schemathesis generates requests for every served operation of the OpenAPI documents in
  ``openapi/`` (Clean Rooms' rest-json and Glue's awsJson), signed for an account; every answer
  must be below 500. ``FUZZ_EXAMPLES`` (default 4) bounds the cases per operation; the long form
  (``bench/reliability.py fuzz``) runs more and records the count in docs/reliability.md.
- Hand-written cases: garbage and absent Authorization headers, unicode edge cases in names,
  path traversal in every user-supplied name and key, wrong JSON types.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from botocore.exceptions import ClientError

from helpers import A, raw_request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
COUNTS = {"cases": 0, "by_status": {}}


@schemathesis.serializer("application/x-amz-json-1.1")
def amz_json(ctx, value):
    """awsJson bodies (Glue, Athena) are plain JSON under their own media type."""
    return {"data": value if isinstance(value, bytes) else json.dumps(value, default=str).encode()}


def without_unicode_classes(node):
    """The document with every ``pattern`` that uses Unicode classes (``\\p{L}``, which Python's
    regular expressions lack) left out: the fuzzer then generates any string there, and the server
    checks the pattern."""
    if isinstance(node, dict):
        return {k: without_unicode_classes(v) for k, v in node.items()
                if not (k == "pattern" and isinstance(v, str) and "\\p{" in v)}
    if isinstance(node, list):
        return [without_unicode_classes(v) for v in node]
    return node


def served_schema(service: str):
    """The OpenAPI document codegen renders for the served operations of ``service``."""
    document = json.loads((ROOT / f"openapi/{service}.json").read_text())
    return schemathesis.openapi.from_dict(without_unicode_classes(document))


def authorization(service: str, account: str = A) -> str:
    return (f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0000")


cleanrooms = served_schema("cleanrooms")
glue = served_schema("glue")


def check_case(case, url: str, service: str) -> None:
    headers = {"Authorization": authorization(service)}
    response = case.call(base_url=url, headers=headers, timeout=30)
    COUNTS["cases"] += 1
    COUNTS["by_status"][response.status_code] = COUNTS["by_status"].get(response.status_code, 0) + 1
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:500]}\n"
        f"headers sent: {response.request.headers}\nbody sent: {str(case.body)[:500]}"
    )


FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


@cleanrooms.parametrize()
@FUZZ_SETTINGS
def test_cleanrooms_operations_never_answer_5xx(case, emulator):
    check_case(case, emulator.url, "cleanrooms")


@glue.parametrize()
@FUZZ_SETTINGS
def test_glue_operations_never_answer_5xx(case, emulator):
    check_case(case, emulator.url, "glue")


@pytest.mark.parametrize("header", [
    None,
    "",
    "garbage",
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 Credential=",
    "AWS4-HMAC-SHA256 Credential=//////",
    "AWS4-HMAC-SHA256 Credential=\u00e9\u00e9/20260101/us-east-1/cleanrooms/aws4_request",
    "AWS4-HMAC-SHA256 Credential=" + "1" * 5000 + "/20260101/us-east-1/cleanrooms/aws4_request",
    "AWS AKID:signature",
])
@pytest.mark.parametrize("path", ["/collaborations", "/", "/bucket/key", "/v1/resource/"])
def test_absent_and_garbage_authorization_never_answer_5xx(emulator, header, path):
    headers = {} if header is None else {"Authorization": header.encode("utf-8").decode("latin-1")}
    response = raw_request(emulator.url, "GET", path, sign=False, headers=headers)
    assert response.status < 500, (header, path, response.status, response.body[:300])


UNICODE_NAMES = ["\u0000", "\u202e\u202dname", "\U0001f600" * 30, "\ud7ff\ue000", "a\u0301" * 50, "\ufeff", " ", "\n"]


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_unicode_edge_cases_in_names_never_answer_5xx(emulator, name):
    body = {"name": name, "description": name, "creatorDisplayName": name, "members": [],
            "creatorMemberAbilities": ["CAN_QUERY", "CAN_RECEIVE_RESULTS"], "queryLogStatus": "DISABLED"}
    response = raw_request(emulator.url, "POST", "/collaborations", body)
    assert response.status < 500, (name, response.status, response.body[:300])
    glue = raw_request(emulator.url, "POST", "/", {"DatabaseInput": {"Name": name}}, service="glue",
                       headers={"X-Amz-Target": "AWSGlue.CreateDatabase", "Content-Type": "application/x-amz-json-1.1"})
    assert glue.status < 500, (name, glue.status, glue.body[:300])


TRAVERSALS = ["..", "../../../../tmp/escaped-by-fuzz", "a/../../../escaped-by-fuzz", "..%2f..%2fescaped-by-fuzz",
              "/etc/passwd", "%00", "..\\..\\escaped-by-fuzz", "./.", "~root"]


def files_outside(data_dir: Path) -> list[Path]:
    """Files named like a traversal target anywhere near the data dir but not inside it."""
    root = data_dir.parent.parent
    found = [p for p in root.rglob("escaped-by-fuzz*") if data_dir not in p.parents]
    return found + [p for p in Path("/tmp").glob("escaped-by-fuzz*")]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_in_names_and_keys_stays_in_the_data_dir(emulator, client, name):
    s3 = client("s3", account=A, validate=False, check_responses=False)
    try:
        s3.create_bucket(Bucket="fuzz-traversal")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    # Real S3 stores such keys; this emulator keeps keys as file paths and refuses '.' and '..'
    # segments with InvalidArgument. Either way nothing may land outside the data dir.
    try:
        s3.put_object(Bucket="fuzz-traversal", Key=name, Body=b"inside")
        assert s3.get_object(Bucket="fuzz-traversal", Key=name)["Body"].read() == b"inside"
    except ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidArgument", error
    for bucket in (name, f"{name}-b"):
        response = raw_request(emulator.url, "PUT", "/" + bucket.replace("/", "%2F"), service="s3")
        assert response.status < 500, (bucket, response.status, response.body[:300])
    glue = raw_request(emulator.url, "POST", "/", {"DatabaseInput": {"Name": name, "LocationUri": f"file:///{name}"}},
                       service="glue", headers={"X-Amz-Target": "AWSGlue.CreateDatabase",
                                                "Content-Type": "application/x-amz-json-1.1"})
    assert glue.status < 500
    for path in (f"/collaborations/{name}", f"/memberships/{name}/intermediatetables/{name}"):
        response = raw_request(emulator.url, "GET", path.replace("..", "%2E%2E"))
        assert response.status < 500, (path, response.status)
    assert files_outside(emulator.data_dir) == []


@pytest.mark.parametrize("value", [1, 1.5, True, None, [], {}, "x" * 10000, [[[[[]]]]], {"a": {"b": {"c": {}}}}])
def test_wrong_json_types_in_every_member_never_answer_5xx(emulator, value):
    for member in ("name", "description", "members", "creatorMemberAbilities", "queryLogStatus", "tags",
                   "dataEncryptionMetadata", "creatorPaymentConfiguration"):
        body = {"name": "n", "description": "d", "creatorDisplayName": "c", "members": [],
                "creatorMemberAbilities": [], "queryLogStatus": "DISABLED", member: value}
        response = raw_request(emulator.url, "POST", "/collaborations", body)
        assert response.status < 500, (member, value, response.status, response.body[:300])


def test_zz_report_fuzz_counts(emulator):
    """Writes the number of generated cases (for docs/reliability.md) when FUZZ_REPORT is set."""
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).write_text(json.dumps(COUNTS))
    assert all(status < 500 for status in COUNTS["by_status"])
