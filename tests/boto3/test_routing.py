"""Every one of the 103 Clean Rooms operations is routed, validated and answered AWS-style.

For each operation of the pinned model a request is built from the model itself (required members
only, values chosen to satisfy each member's pattern/length/enum where possible) and sent with
parameter_validation off. Whatever the operation does, the answer must be one the model allows:
a success with the declared status and output shape, a modeled error, ResourceNotFoundException
(spec §2.2 item 6), or 501 naming the operation when no handler exists yet. Never a routing miss
(404 UnknownOperationException), never another 5xx. The client's response checks
(shapes.install_response_checks) validate every body on the way.
"""

from __future__ import annotations

import datetime
import uuid

import botocore.session
import pytest
from botocore.exceptions import ClientError

from helpers import A, assert_field_error
from shapes import compile_pattern

pytestmark = pytest.mark.usefixtures("reset")

MODEL = botocore.session.get_session().get_service_model("cleanrooms")
OPERATIONS = sorted(MODEL.operation_names)
UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_model_has_103_operations():
    assert len(OPERATIONS) == 103


def string_candidates() -> list[str]:
    u = str(uuid.uuid4())
    prefix = "arn:aws:cleanrooms:us-east-1:111111111111"
    return [
        u,
        "111111111111",
        f"{prefix}:collaboration/{u}",
        f"{prefix}:membership/{u}",
        f"{prefix}:configuredtable/{u}",
        f"{prefix}:membership/{u}/analysistemplate/{u}",
        f"{prefix}:membership/{u}/configuredtableassociation/{u}",
        f"{prefix}:membership/{u}/intermediatetable/{u}",
        f"{prefix}:membership/{u}/idmappingtable/{u}",
        f"{prefix}:membership/{u}/idnamespaceassociation/{u}",
        f"{prefix}:membership/{u}/configuredaudiencemodelassociation/{u}",
        f"{prefix}:configuredtableassociation/{u}/{u}",
        f"{prefix}:privacybudgettemplate/{u}",
        "arn:aws:iam::111111111111:role/emulator-test-role",
        f"arn:aws:kms:us-east-1:111111111111:key/{u}",
        f"arn:aws:cleanrooms-ml:us-east-1:111111111111:configured-audience-model/{u}",
        "arn:aws:entityresolution:us-east-1:111111111111:idnamespace/ns1",
        "arn:aws:entityresolution:us-east-1:111111111111:idmappingworkflow/wf1",
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:emulator",
        "s3://emulator-bucket/prefix/",
        "emulator-bucket",
        "https://abc.cloud.databricks.com",
        "table_name",
        "Name",
        "a",
    ]


def sample(shape, depth: int = 0):
    """A value for ``shape`` built from the model: required members, minimum sizes, enum[0]."""
    kind = shape.type_name
    if kind == "structure":
        if shape.metadata.get("document"):
            return {}
        if shape.metadata.get("union"):
            name, member = next(iter(shape.members.items()))
            return {name: sample(member, depth + 1)}
        return {name: sample(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        count = shape.metadata.get("min", 0)
        return [sample(shape.member, depth + 1) for _ in range(count)]
    if kind == "map":
        return {"k": sample(shape.value, depth + 1)} if shape.metadata.get("min", 0) > 0 else {}
    if kind == "string":
        enum = getattr(shape, "enum", None)
        if enum:
            return enum[0]
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 10**6)
        pattern = shape.metadata.get("pattern")
        compiled = compile_pattern(pattern) if pattern else None
        for candidate in string_candidates():
            if low <= len(candidate) <= high and (compiled is None or compiled.fullmatch(candidate)):
                return candidate
        return "a" * max(low, 1)
    if kind in ("integer", "long"):
        return int(shape.metadata.get("min", 1))
    if kind in ("double", "float"):
        return float(shape.metadata.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return datetime.datetime.now(datetime.timezone.utc)
    if kind == "blob":
        return b"x"
    return None


def python_name(client, operation: str) -> str:
    return next(py for py, api in client.meta.method_to_api_mapping.items() if api == operation)


def uuid_labels(operation: str) -> list[str]:
    shape = MODEL.operation_model(operation).input_shape
    if shape is None:
        return []
    return [
        name
        for name, member in shape.members.items()
        if member.serialization.get("location") == "uri" and member.metadata.get("pattern") == UUID_PATTERN
    ]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_is_routed_and_answered_as_modeled(client, operation):
    c = client("cleanrooms", account=A, validate=False)
    model = MODEL.operation_model(operation)
    kwargs = sample(model.input_shape) if model.input_shape is not None else {}
    allowed = {error.name for error in model.error_shapes} | {"ResourceNotFoundException"}
    try:
        response = getattr(c, python_name(c, operation))(**kwargs)
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        code = error.response["Error"]["Code"]
        message = error.response["Error"]["Message"]
        if status == 501:
            assert operation in message, message
            return
        assert code != "UnknownOperationException", f"{operation} is not routed: {message}"
        assert status < 500, f"{operation} failed with HTTP {status} {code}: {message}"
        assert code in allowed, f"{operation} answered {code}, the model allows {sorted(allowed)}: {message}"
        return
    assert response["ResponseMetadata"]["HTTPStatusCode"] == model.http.get("responseCode", 200)


LABELLED = [op for op in OPERATIONS if uuid_labels(op)]


@pytest.mark.parametrize("operation", LABELLED)
def test_operation_validates_malformed_path_identifier(client, operation):
    """Validation runs before any handler (and before 501 for unimplemented ones)."""
    c = client("cleanrooms", account=A, validate=False)
    model = MODEL.operation_model(operation)
    kwargs = sample(model.input_shape)
    label = uuid_labels(operation)[0]
    kwargs[label] = "Z" * 36  # right length, wrong pattern
    with pytest.raises(ClientError) as excinfo:
        getattr(c, python_name(c, operation))(**kwargs)
    assert_field_error(excinfo, label, "pattern")
