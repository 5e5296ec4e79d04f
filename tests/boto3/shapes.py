"""Check responses against the botocore model (pinned botocore 1.44.5).

Two views of a response are checked:

* the *parsed* dict boto3 returns (``validate_output`` / ``assert_valid``, ``validate_error``):
  required members present, no members the shape does not define (``ResponseMetadata`` is
  ignored), Python types (str, int, float, bool, ``datetime`` for timestamps, list, dict,
  bytes), enum membership, string length, list/map size, numeric range, patterns and tagged
  unions carrying exactly one member;
* the *raw* JSON body on the wire (``validate_wire`` / ``validate_error_wire``), because
  botocore's parser silently drops members it does not know and parses ISO-8601 strings into
  ``datetime`` as happily as epoch numbers: no undefined keys, no ``null`` values, JSON types,
  timestamps as epoch-second numbers (the json / rest-json default), no ``code`` field in error
  bodies.

Patterns in the model are Java regular expressions written without anchors; AWS applies them to
the whole value, so they are applied here with ``re.fullmatch`` and ``re.ASCII`` (Java's ``\\w``,
``\\d`` and ``\\s`` are ASCII-only). The model's "any XML character" classes spell the
supplementary planes as surrogate escapes (``\\uD800\\uDBFF-\\uDC00\\uDFFF``); Python strings hold
code points, so that part is read as ``\\U00010000-\\U0010FFFF``. Patterns Python cannot compile
(``\\p{L}`` and friends) are skipped.

Every check yields a ``Problem`` with a ``rule`` (``required``, ``unknown``, ``null``, ``type``,
``enum``, ``min``, ``max``, ``pattern``, ``union``, ``status``, ``header``, ``body``) and a
``path``. Callers may exempt problems with ``ignore=("max:arn", "pattern:collaboration.name")``:
``RULE:TARGET`` where RULE is a rule name or ``*`` and TARGET is a member name or a dotted
member path without indices (``collaborationList.arn``), both ``fnmatch`` globs.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

__all__ = [
    "Problem",
    "assert_valid",
    "compile_pattern",
    "install_response_checks",
    "output_shape",
    "service_model_for",
    "validate_error",
    "validate_error_wire",
    "validate_output",
    "validate_shape",
    "validate_wire",
]

# Protocols whose bodies are JSON (wire checks apply).
JSON_PROTOCOLS = ("rest-json", "json")

_SURROGATE_CLASS = r"\uD800\uDBFF-\uDC00\uDFFF"
_SUPPLEMENTARY_CLASS = r"\U00010000-\U0010FFFF"
_PATTERN_CACHE: dict[str, re.Pattern | None] = {}
_BOTOCORE_SESSION: botocore.session.Session | None = None


# Deliberate deviations from the model, as (shape name, rule): the checks skip these. The
# emulator gives configured table associations the IAM-form ARN
# ``arn:aws:cleanrooms:<region>:<account>:membership/<membershipId>/configuredtableassociation/<id>``
# (spec §1.2: the same ARN must be accepted back where ``BudgetedResourceArn`` /
# ``SchemaResourceArn`` expect that form), which is longer than ``ConfiguredTableAssociationArn``'s
# max 100 and does not match its ``…:configuredtableassociation/<x>/<y>`` pattern. Privacy budget
# templates get the IAM form ``…:membership/<membershipId>/privacybudgettemplate/<id>`` for the
# same reason (spec §1.2), against ``PrivacyBudgetTemplateArn``'s max 100 and its
# ``…:privacybudgettemplate/<id>`` pattern.
MODEL_DEVIATIONS = frozenset({
    ("ConfiguredTableAssociationArn", "max"),
    ("ConfiguredTableAssociationArn", "pattern"),
    ("PrivacyBudgetTemplateArn", "max"),
    ("PrivacyBudgetTemplateArn", "pattern"),
})


@dataclass(frozen=True)
class Problem:
    """One way a value differs from its shape."""

    path: str
    rule: str
    message: str
    members: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: [{self.rule}] {self.message}"


# --------------------------------------------------------------------------------------------
# Model lookup
# --------------------------------------------------------------------------------------------


def service_model_for(obj: Any) -> ServiceModel:
    """A ServiceModel from a boto3/botocore client, a ServiceModel, or a service name."""
    global _BOTOCORE_SESSION
    if isinstance(obj, ServiceModel):
        return obj
    meta = getattr(obj, "meta", None)
    if meta is not None and getattr(meta, "service_model", None) is not None:
        return meta.service_model
    if isinstance(obj, str):
        if _BOTOCORE_SESSION is None:
            _BOTOCORE_SESSION = botocore.session.get_session()
        return _BOTOCORE_SESSION.get_service_model(obj)
    raise TypeError(f"cannot get a service model from {obj!r}")


def operation_model(obj: Any, operation: str) -> OperationModel:
    """Operation model by API name (``CreateCollaboration``) or Python name (``create_collaboration``)."""
    model = service_model_for(obj)
    if operation in model.operation_names:
        return model.operation_model(operation)
    from botocore import xform_name

    by_python_name = {xform_name(name): name for name in model.operation_names}
    if operation in by_python_name:
        return model.operation_model(by_python_name[operation])
    raise KeyError(f"{model.service_name} has no operation {operation!r}")


def output_shape(obj: Any, operation: str) -> Shape | None:
    return operation_model(obj, operation).output_shape


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------


def compile_pattern(pattern: str) -> re.Pattern | None:
    """Compile a model (Java) pattern for full-string matching; None if Python cannot."""
    if pattern in _PATTERN_CACHE:
        return _PATTERN_CACHE[pattern]
    translated = pattern.replace(_SURROGATE_CLASS, _SUPPLEMENTARY_CLASS)
    try:
        compiled: re.Pattern | None = re.compile(translated, re.ASCII)
    except re.error:
        compiled = None
    _PATTERN_CACHE[pattern] = compiled
    return compiled


# --------------------------------------------------------------------------------------------
# Parsed-response validation
# --------------------------------------------------------------------------------------------


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, members: tuple[str, ...], rule: str, message: str) -> None:
        self.problems.append(Problem(path, rule, message, members))

    def check(self, shape: Shape, value: Any, path: str, members: tuple[str, ...]) -> None:
        if value is None:
            self.add(path, members, "null", f"value of {shape.name} is None")
            return
        kind = shape.type_name
        handler = getattr(self, f"_check_{kind}", None)
        if handler is None:
            return
        handler(shape, value, path, members)

    # -- containers --------------------------------------------------------------------------

    def _check_structure(self, shape, value, path, members):
        if shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            self.add(path, members, "type", f"expected a dict for {shape.name}, got {type(value).__name__}")
            return
        defined = shape.members
        for key in value:
            if key not in defined:
                if key == "SDK_UNKNOWN_MEMBER":
                    self.add(
                        _join(path, key), members + (key,), "unknown",
                        f"{shape.name} union carries a member botocore does not know: {value[key]!r}",
                    )
                else:
                    self.add(_join(path, key), members + (key,), "unknown", f"{shape.name} does not define member {key!r}")
        for required in shape.required_members:
            if required not in value:
                self.add(_join(path, required), members + (required,), "required", f"required member {required!r} of {shape.name} is missing")
        if shape.metadata.get("union"):
            present = [key for key, item in value.items() if item is not None]
            if len(present) != 1:
                self.add(path, members, "union", f"union {shape.name} must carry exactly one member, got {len(present)}: {present}")
        for key, item in value.items():
            if key in defined:
                self.check(defined[key], item, _join(path, key), members + (key,))

    def _check_list(self, shape, value, path, members):
        if not isinstance(value, list):
            self.add(path, members, "type", f"expected a list for {shape.name}, got {type(value).__name__}")
            return
        self._check_size(shape, len(value), "items", path, members)
        for index, item in enumerate(value):
            self.check(shape.member, item, f"{path}[{index}]", members)

    def _check_map(self, shape, value, path, members):
        if not isinstance(value, dict):
            self.add(path, members, "type", f"expected a dict for map {shape.name}, got {type(value).__name__}")
            return
        self._check_size(shape, len(value), "entries", path, members)
        for key, item in value.items():
            self.check(shape.key, key, f"{path}{{{key!r}}}(key)", members)
            self.check(shape.value, item, f"{path}{{{key!r}}}", members)

    # -- scalars -----------------------------------------------------------------------------

    def _check_string(self, shape, value, path, members):
        if not isinstance(value, str):
            self.add(path, members, "type", f"expected a str for {shape.name}, got {type(value).__name__}: {value!r}")
            return
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            self.add(path, members, "enum", f"{value!r} is not one of {shape.name} {enum}")
        self._check_size(shape, len(value), "characters", path, members)
        pattern = shape.metadata.get("pattern")
        if pattern is not None and (shape.name, "pattern") not in MODEL_DEVIATIONS:
            compiled = compile_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                self.add(path, members, "pattern", f"{value!r} does not match {shape.name} pattern {pattern}")

    def _check_integer(self, shape, value, path, members):
        if not _is_int(value):
            self.add(path, members, "type", f"expected an int for {shape.name}, got {type(value).__name__}: {value!r}")
            return
        self._check_range(shape, value, path, members)

    _check_long = _check_integer

    def _check_double(self, shape, value, path, members):
        if not _is_number(value):
            self.add(path, members, "type", f"expected a float for {shape.name}, got {type(value).__name__}: {value!r}")
            return
        self._check_range(shape, value, path, members)

    _check_float = _check_double

    def _check_boolean(self, shape, value, path, members):
        if not isinstance(value, bool):
            self.add(path, members, "type", f"expected a bool for {shape.name}, got {type(value).__name__}: {value!r}")

    def _check_timestamp(self, shape, value, path, members):
        if not isinstance(value, datetime.datetime):
            self.add(path, members, "type", f"expected a datetime for {shape.name}, got {type(value).__name__}: {value!r}")

    def _check_blob(self, shape, value, path, members):
        if isinstance(value, (bytes, bytearray)):
            self._check_size(shape, len(value), "bytes", path, members)
        elif not hasattr(value, "read"):
            self.add(path, members, "type", f"expected bytes for {shape.name}, got {type(value).__name__}")

    # -- constraints -------------------------------------------------------------------------

    def _check_size(self, shape, size, unit, path, members):
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and size < low:
            self.add(path, members, "min", f"{shape.name} has {size} {unit}, minimum is {low}")
        if high is not None and size > high and (shape.name, "max") not in MODEL_DEVIATIONS:
            self.add(path, members, "max", f"{shape.name} has {size} {unit}, maximum is {high}")

    def _check_range(self, shape, value, path, members):
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and value < low:
            self.add(path, members, "min", f"{value} is below {shape.name} minimum {low}")
        if high is not None and value > high:
            self.add(path, members, "max", f"{value} is above {shape.name} maximum {high}")


def _filter(problems: Iterable[Problem], ignore: Iterable[str]) -> list[Problem]:
    rules = []
    for entry in ignore:
        rule, sep, target = entry.partition(":")
        if not sep:
            raise ValueError(f"ignore entries look like 'RULE:TARGET', got {entry!r}")
        rules.append((rule, target))
    kept = []
    for problem in problems:
        dotted = ".".join(problem.members)
        last = problem.members[-1] if problem.members else ""
        if any(
            fnmatch.fnmatchcase(problem.rule, rule)
            and (fnmatch.fnmatchcase(dotted, target) or fnmatch.fnmatchcase(last, target))
            for rule, target in rules
        ):
            continue
        kept.append(problem)
    return kept


def validate_shape(shape: Shape, value: Any, path: str = "", ignore: Iterable[str] = ()) -> list[Problem]:
    """Problems of a parsed value against a botocore shape."""
    checker = _Checker()
    checker.check(shape, value, path, ())
    return _filter(checker.problems, ignore)


def validate_output(obj: Any, operation: str, response: dict, ignore: Iterable[str] = ()) -> list[Problem]:
    """Problems of a boto3 parsed response against the operation's output shape.

    ``obj`` is a client, a ServiceModel or a service name; ``operation`` the API or Python name.
    """
    shape = output_shape(obj, operation)
    if not isinstance(response, dict):
        return [Problem("", "type", f"response is a {type(response).__name__}, not a dict")]
    body = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    if shape is None:
        return _filter(
            [Problem(key, "unknown", f"{operation} has no output shape but returned {key!r}", (key,)) for key in body],
            ignore,
        )
    return validate_shape(shape, body, "", ignore)


def validate_error(obj: Any, response: dict, ignore: Iterable[str] = ()) -> list[Problem]:
    """Problems of a ClientError's ``response`` against the modeled error shape.

    botocore puts the error code and message in ``response["Error"]`` and every modeled member
    of the error shape (``message``, ``reason``, ``fieldList``, ``resourceId``...) at the top level
    of ``response``. Errors whose code the model does not know are not checked here.
    """
    model = service_model_for(obj)
    code = (response.get("Error") or {}).get("Code")
    problems: list[Problem] = []
    if not code:
        return [Problem("Error.Code", "required", "error response has no code")]
    shape = model.shape_for_error_code(code)
    if shape is None:
        return []
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    expected = shape.metadata.get("error", {}).get("httpStatusCode")
    if expected is not None and status is not None and status != expected:
        problems.append(Problem("", "status", f"{code} must use HTTP {expected}, got {status}"))
    body = {key: value for key, value in response.items() if key not in ("Error", "ResponseMetadata")}
    problems.extend(validate_shape(shape, body, "", ()))
    return _filter(problems, ignore)


def assert_valid(client: Any, operation: str, response: dict, ignore: Iterable[str] = ()) -> None:
    """Assert a parsed response matches the operation's output shape."""
    problems = validate_output(client, operation, response, ignore)
    assert not problems, f"{operation} response does not match the model:\n  " + "\n  ".join(map(str, problems))


# --------------------------------------------------------------------------------------------
# Raw (wire) validation for json / rest-json bodies
# --------------------------------------------------------------------------------------------


def _json_name(name: str, member: Shape) -> str:
    return member.serialization.get("name", name)


def _body_members(shape: Shape) -> dict[str, tuple[str, Shape]]:
    """JSON key -> (member name, shape) for members carried in a JSON body."""
    result = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        result[_json_name(name, member)] = (name, member)
    return result


class _WireChecker(_Checker):
    def check(self, shape, value, path, members):
        if value is None:
            self.add(path, members, "null", "JSON null is not allowed (omit the member instead)")
            return
        handler = getattr(self, f"_wire_{shape.type_name}", None)
        if handler is not None:
            handler(shape, value, path, members)

    def _wire_structure(self, shape, value, path, members):
        if shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            self.add(path, members, "type", f"expected a JSON object for {shape.name}, got {type(value).__name__}")
            return
        known = _body_members(shape)
        for key, item in value.items():
            if key not in known:
                self.add(_join(path, key), members + (key,), "unknown", f"{shape.name} does not define JSON member {key!r}")
                continue
            name, member = known[key]
            self.check(member, item, _join(path, name), members + (name,))

    def _wire_list(self, shape, value, path, members):
        if not isinstance(value, list):
            self.add(path, members, "type", f"expected a JSON array for {shape.name}, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            self.check(shape.member, item, f"{path}[{index}]", members)

    def _wire_map(self, shape, value, path, members):
        if not isinstance(value, dict):
            self.add(path, members, "type", f"expected a JSON object for map {shape.name}, got {type(value).__name__}")
            return
        for key, item in value.items():
            self.check(shape.value, item, f"{path}{{{key!r}}}", members)

    def _wire_string(self, shape, value, path, members):
        if not isinstance(value, str):
            self.add(path, members, "type", f"expected a JSON string for {shape.name}, got {value!r}")

    _wire_blob = _wire_string

    def _wire_integer(self, shape, value, path, members):
        if not _is_int(value):
            self.add(path, members, "type", f"expected a JSON integer for {shape.name}, got {value!r}")

    _wire_long = _wire_integer

    def _wire_double(self, shape, value, path, members):
        if not (_is_number(value) or value in ("NaN", "Infinity", "-Infinity")):
            self.add(path, members, "type", f"expected a JSON number for {shape.name}, got {value!r}")

    _wire_float = _wire_double

    def _wire_boolean(self, shape, value, path, members):
        if not isinstance(value, bool):
            self.add(path, members, "type", f"expected a JSON boolean for {shape.name}, got {value!r}")

    def _wire_timestamp(self, shape, value, path, members):
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "unixTimestamp":
            if not _is_number(value):
                self.add(path, members, "type", f"timestamp {shape.name} must be epoch seconds as a JSON number, got {value!r}")
        elif not isinstance(value, str):
            self.add(path, members, "type", f"timestamp {shape.name} ({fmt}) must be a JSON string, got {value!r}")


def _load_json(body: Any) -> tuple[Any, Problem | None]:
    if isinstance(body, (bytes, bytearray)):
        if not body.strip():
            return {}, None
        try:
            return json.loads(body.decode("utf-8")), None
        except (UnicodeDecodeError, ValueError) as exc:
            return None, Problem("", "body", f"body is not JSON ({exc}): {bytes(body)[:200]!r}")
    return body, None


def validate_wire(shape: Shape | None, body: Any, ignore: Iterable[str] = ()) -> list[Problem]:
    """Problems of a raw json / rest-json success body (bytes or decoded JSON) against a shape."""
    data, problem = _load_json(body)
    if problem:
        return [problem]
    if shape is None:
        if data not in ({}, None):
            return [Problem("", "unknown", f"operation has no output shape but the body is {data!r}")]
        return []
    payload = shape.serialization.get("payload")
    checker = _WireChecker()
    if payload:
        member = shape.members[payload]
        if member.type_name == "structure":
            checker.check(member, data, payload, (payload,))
    else:
        checker.check(shape, data, "", ())
    return _filter(checker.problems, ignore)


def validate_error_wire(obj: Any, code: str, body: Any) -> list[Problem]:
    """Problems of a raw json / rest-json error body.

    Always: a JSON object with a string ``message``, no ``code``/``Code`` member (it would
    override ``x-amzn-ErrorType`` in botocore's rest-json parser), no nulls. For modeled errors
    also: no members other than the shape's (plus ``__type``), JSON types as modeled.
    """
    data, problem = _load_json(body)
    if problem:
        return [problem]
    if not isinstance(data, dict):
        return [Problem("", "body", f"error body must be a JSON object, got {data!r}")]
    problems = []
    message = data.get("message", data.get("Message"))
    if not isinstance(message, str) or not message:
        problems.append(Problem("message", "required", f"error body needs a non-empty string message, got {data!r}", ("message",)))
    for key in ("code", "Code"):
        if key in data:
            problems.append(Problem(key, "unknown", f"error body must not carry {key!r} (botocore would take it as the error code)", (key,)))
    shape = service_model_for(obj).shape_for_error_code(code) if code else None
    if shape is None:
        for key, value in data.items():
            if value is None:
                problems.append(Problem(key, "null", "JSON null is not allowed", (key,)))
        return problems
    extra = {key: value for key, value in data.items() if key not in ("__type", "Message", "code", "Code")}
    checker = _WireChecker()
    checker.check(shape, extra, "", ())
    return problems + checker.problems


# --------------------------------------------------------------------------------------------
# Automatic checks on every call a client makes
# --------------------------------------------------------------------------------------------


def check_http_exchange(model: OperationModel, status: int, headers: Any, body: bytes, parsed: dict) -> list[Problem]:
    """Every check that applies to one finished call, success or error."""
    service = model.service_model
    protocol = getattr(service, "resolved_protocol", None) or service.protocol
    problems: list[Problem] = []
    header_names = {name.lower() for name in headers.keys()}
    if protocol in JSON_PROTOCOLS:
        if "x-amzn-requestid" not in header_names or not headers.get("x-amzn-RequestId"):
            problems.append(Problem("", "header", f"HTTP {status} response has no x-amzn-RequestId header"))
    if status < 300:
        expected = model.http.get("responseCode", 200)
        partial = status == 206 and "content-range" in header_names  # a Range read (S3 GetObject)
        if status != expected and not partial:
            problems.append(Problem("", "status", f"{model.name} must answer HTTP {expected}, got {status}"))
        if status == 204 and body:
            problems.append(Problem("", "body", f"HTTP 204 must have an empty body, got {body[:200]!r}"))
        problems.extend(validate_output(service, model.name, parsed))
        if protocol in JSON_PROTOCOLS and status != 204:
            problems.extend(validate_wire(model.output_shape, body))
        return problems
    if protocol == "rest-json" and "x-amzn-errortype" not in header_names:
        problems.append(Problem("", "header", f"HTTP {status} error response has no x-amzn-ErrorType header"))
    problems.extend(validate_error(service, parsed))
    if protocol in JSON_PROTOCOLS:
        code = (parsed.get("Error") or {}).get("Code", "")
        problems.extend(validate_error_wire(service, code, body))
    return problems


def install_response_checks(client: Any) -> Any:
    """Make every call of ``client`` fail with AssertionError when its response breaks the model.

    Checks (see ``check_http_exchange``): declared success status (204 for deletes, empty body),
    output shape (parsed and, for JSON protocols, raw), modeled error shape and status,
    ``x-amzn-RequestId`` on every JSON-protocol response, ``x-amzn-ErrorType`` on rest-json errors.
    """

    def after_call(http_response, parsed, model, **_kwargs):
        # A streaming body (S3 GetObject) is the caller's to read: reading .content would drain it.
        streaming = model.has_streaming_output and http_response.status_code < 300
        body = b"" if streaming else (http_response.content or b"")
        problems = check_http_exchange(model, http_response.status_code, http_response.headers, body, parsed)
        if problems:
            raise AssertionError(
                f"{model.service_model.service_name}.{model.name} HTTP {http_response.status_code} response "
                f"does not match the model:\n  " + "\n  ".join(map(str, problems))
                + f"\n  raw body: {body[:2000]!r}"
            )

    client.meta.events.register("after-call", after_call, unique_id="cre-response-checks")
    return client
