"""Entity Resolution subset (the calls a Clean Rooms user makes to prepare an ID mapping table):
schema mappings, ID namespaces over Glue tables and rule-based ID mapping workflows. Provider
services are not available (PROVIDER → ValidationException); every other Entity Resolution
operation answers 501 (see test_wire.py).

Spec: shared/spec/cleanrooms.md §5.10; botocore's ``entityresolution`` model for shapes and errors.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import A, B, assert_error, assert_field_error, call, list_all

pytestmark = pytest.mark.usefixtures("reset")

REGION = "us-east-1"


def glue_arn(account: str, database: str, table: str) -> str:
    return f"arn:aws:glue:{REGION}:{account}:table/{database}/{table}"


def namespace_arn(account: str, name: str) -> str:
    return f"arn:aws:entityresolution:{REGION}:{account}:idnamespace/{name}"


def make_glue_table(glue, database: str, table: str, columns):
    try:
        glue.create_database(DatabaseInput={"Name": database})
    except glue.exceptions.AlreadyExistsException:
        pass
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": table,
            "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
            "StorageDescriptor": {
                "Location": f"s3://er-data/{database}/{table}/",
                "Columns": [{"Name": c, "Type": "string"} for c in columns],
            },
        },
    )


FIELDS = [
    {"fieldName": "user_id", "type": "UNIQUE_ID"},
    {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "EMAIL"},
    {"fieldName": "phone", "type": "PHONE_NUMBER", "matchKey": "PHONE"},
]


@pytest.fixture
def er(client):
    glue = client("glue", account=A)
    make_glue_table(glue, "crm", "customers", ["user_id", "email", "phone"])
    make_glue_table(glue, "crm", "leads", ["user_id", "email", "phone"])
    return client("entityresolution", account=A)


def create_schema(er, name="customers-schema", fields=None, **extra):
    return call(er, "CreateSchemaMapping", schemaName=name, mappedInputFields=fields or FIELDS, **extra)


def create_namespace(er, name, type_, table="customers", schema="customers-schema", rules=None, **extra):
    args = {
        "idNamespaceName": name,
        "type": type_,
        "inputSourceConfig": [{"inputSourceARN": glue_arn(A, "crm", table), "schemaName": schema}],
    }
    if rules is not None:
        args["idMappingWorkflowProperties"] = [
            {"idMappingType": "RULE_BASED", "ruleBasedProperties": {
                "rules": rules, "ruleDefinitionTypes": ["SOURCE"], "attributeMatchingModel": "ONE_TO_ONE",
                "recordMatchingModels": ["ONE_SOURCE_TO_ONE_TARGET"]}}
        ]
    args.update(extra)
    return call(er, "CreateIdNamespace", **args)


def workflow_args(name="wf", rules=None, **extra):
    props = {
        "ruleDefinitionType": "SOURCE",
        "attributeMatchingModel": "ONE_TO_ONE",
        "recordMatchingModel": "ONE_SOURCE_TO_ONE_TARGET",
    }
    if rules is not None:
        props["rules"] = rules
    args = {
        "workflowName": name,
        "inputSourceConfig": [
            {"inputSourceARN": namespace_arn(A, "src")},
            {"inputSourceARN": namespace_arn(A, "tgt")},
        ],
        "idMappingTechniques": {"idMappingType": "RULE_BASED", "ruleBasedProperties": props},
    }
    args.update(extra)
    return args


EMAIL_RULE = [{"ruleName": "email", "matchingKeys": ["EMAIL"]}]


def test_schema_mapping_lifecycle(er):
    created = create_schema(er, description="customers", tags={"team": "crm"})
    assert created["schemaArn"] == f"arn:aws:entityresolution:{REGION}:{A}:schemamapping/customers-schema"
    assert created["mappedInputFields"] == FIELDS
    got = call(er, "GetSchemaMapping", schemaName="customers-schema")
    assert got["hasWorkflows"] is False and got["tags"] == {"team": "crm"}
    assert [s["schemaName"] for s in list_all(er, "ListSchemaMappings", "schemaList")] == ["customers-schema"]
    updated = call(er, "UpdateSchemaMapping", schemaName="customers-schema", mappedInputFields=FIELDS[:2],
                   description="two fields")
    assert updated["mappedInputFields"] == FIELDS[:2] and updated["description"] == "two fields"
    with pytest.raises(ClientError) as excinfo:
        create_schema(er)
    assert_error(excinfo, "ConflictException", 400, "customers-schema")
    assert "deleted" in call(er, "DeleteSchemaMapping", schemaName="customers-schema")["message"]
    with pytest.raises(ClientError) as excinfo:
        call(er, "GetSchemaMapping", schemaName="customers-schema")
    assert_error(excinfo, "ResourceNotFoundException", 404, "customers-schema")


def test_schema_mapping_needs_one_unique_id(er):
    with pytest.raises(ClientError) as excinfo:
        create_schema(er, fields=[{"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "EMAIL"},
                                  {"fieldName": "phone", "type": "PHONE_NUMBER", "matchKey": "PHONE"}])
    assert_error(excinfo, "ValidationException", 400, "UNIQUE_ID")
    with pytest.raises(ClientError) as excinfo:
        create_schema(er, fields=[FIELDS[0], FIELDS[1], {"fieldName": "EMAIL", "type": "STRING"}])
    assert_error(excinfo, "ValidationException", 400, "more than once")


def test_model_constraints_checked_server_side(client):
    raw = client("entityresolution", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.create_schema_mapping(schemaName="bad name!", mappedInputFields=FIELDS)
    assert_error(excinfo, "ValidationException", 400, "schemaName")
    with pytest.raises(ClientError) as excinfo:
        raw.create_schema_mapping(schemaName="ok", mappedInputFields=[FIELDS[0]])
    assert_error(excinfo, "ValidationException", 400, "mappedInputFields")
    with pytest.raises(ClientError) as excinfo:
        raw.create_id_namespace(idNamespaceName="ns", type="BOTH")
    assert_error(excinfo, "ValidationException", 400, "type")


def test_id_namespace_lifecycle_and_glue_checks(er):
    create_schema(er)
    ns = create_namespace(er, "src", "SOURCE", rules=EMAIL_RULE, description="our customers")
    assert ns["idNamespaceArn"] == namespace_arn(A, "src") and ns["type"] == "SOURCE"
    assert call(er, "GetIdNamespace", idNamespaceName="src")["description"] == "our customers"
    assert call(er, "GetSchemaMapping", schemaName="customers-schema")["hasWorkflows"] is True
    summaries = list_all(er, "ListIdNamespaces", "idNamespaceSummaries")
    assert [(s["idNamespaceName"], s["idMappingWorkflowProperties"]) for s in summaries] == [
        ("src", [{"idMappingType": "RULE_BASED"}])
    ]
    updated = call(er, "UpdateIdNamespace", idNamespaceName="src", description="changed")
    assert updated["description"] == "changed" and updated["type"] == "SOURCE"
    # A Glue table that does not exist.
    with pytest.raises(ClientError) as excinfo:
        create_namespace(er, "ghost", "SOURCE", table="nope")
    assert_error(excinfo, "ValidationException", 400, "crm.nope")
    # Another account's Glue table.
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdNamespace", idNamespaceName="theirs", type="SOURCE",
             inputSourceConfig=[{"inputSourceARN": glue_arn(B, "crm", "customers"), "schemaName": "customers-schema"}])
    assert_error(excinfo, "ValidationException", 400, A)
    # A rule on a key the schema mapping does not define.
    with pytest.raises(ClientError) as excinfo:
        create_namespace(er, "badkey", "SOURCE", rules=[{"ruleName": "r", "matchingKeys": ["ADDRESS"]}])
    assert_error(excinfo, "ValidationException", 400, "ADDRESS")
    # Provider-based matching is not available.
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdNamespace", idNamespaceName="prov", type="TARGET", idMappingWorkflowProperties=[
            {"idMappingType": "PROVIDER", "providerProperties": {
                "providerServiceArn": "arn:aws:entityresolution:us-east-1::providerservice/acme/matching"}}])
    assert_error(excinfo, "ValidationException", 400, "PROVIDER")
    with pytest.raises(ClientError) as excinfo:
        create_namespace(er, "src", "SOURCE")
    assert_error(excinfo, "ConflictException", 400, "src")
    # In use by the namespace: the schema mapping cannot go.
    with pytest.raises(ClientError) as excinfo:
        call(er, "DeleteSchemaMapping", schemaName="customers-schema")
    assert_error(excinfo, "ConflictException", 400, "customers-schema")
    call(er, "DeleteIdNamespace", idNamespaceName="src")
    with pytest.raises(ClientError) as excinfo:
        call(er, "GetIdNamespace", idNamespaceName="src")
    assert_error(excinfo, "ResourceNotFoundException", 404, "src")


def test_id_mapping_workflow_lifecycle(er):
    create_schema(er)
    create_namespace(er, "src", "SOURCE", rules=EMAIL_RULE)
    create_namespace(er, "tgt", "TARGET", table="leads")
    created = call(er, "CreateIdMappingWorkflow", **workflow_args(description="map leads"))
    assert created["workflowArn"] == f"arn:aws:entityresolution:{REGION}:{A}:idmappingworkflow/wf"
    got = call(er, "GetIdMappingWorkflow", workflowName="wf")
    assert got["idMappingTechniques"]["ruleBasedProperties"]["recordMatchingModel"] == "ONE_SOURCE_TO_ONE_TARGET"
    assert [w["workflowName"] for w in list_all(er, "ListIdMappingWorkflows", "workflowSummaries")] == ["wf"]
    updated = call(er, "UpdateIdMappingWorkflow", **workflow_args(
        rules=[{"ruleName": "phone", "matchingKeys": ["PHONE"]}], description="by phone"))
    assert updated["idMappingTechniques"]["ruleBasedProperties"]["rules"][0]["ruleName"] == "phone"
    # The namespace a workflow reads cannot be deleted.
    with pytest.raises(ClientError) as excinfo:
        call(er, "DeleteIdNamespace", idNamespaceName="src")
    assert_error(excinfo, "ValidationException", 400, "wf")
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdMappingWorkflow", **workflow_args())
    assert_error(excinfo, "ConflictException", 400, "wf")
    call(er, "DeleteIdMappingWorkflow", workflowName="wf")
    with pytest.raises(ClientError) as excinfo:
        call(er, "GetIdMappingWorkflow", workflowName="wf")
    assert_error(excinfo, "ResourceNotFoundException", 404, "wf")


def test_id_mapping_workflow_checks(er):
    create_schema(er)
    create_namespace(er, "src", "SOURCE")
    create_namespace(er, "tgt", "TARGET", table="leads")
    # No rules anywhere: neither on the workflow nor on the SOURCE namespace.
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdMappingWorkflow", **workflow_args())
    assert_error(excinfo, "ValidationException", 400, "rules")
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdMappingWorkflow", **workflow_args(rules=[{"ruleName": "r", "matchingKeys": ["NAME"]}]))
    assert_error(excinfo, "ValidationException", 400, "NAME")
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdMappingWorkflow", **workflow_args(
            rules=EMAIL_RULE, inputSourceConfig=[{"inputSourceARN": namespace_arn(A, "src")}]))
    assert_error(excinfo, "ValidationException", 400, "TARGET")
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdMappingWorkflow", **workflow_args(
            rules=EMAIL_RULE, inputSourceConfig=[{"inputSourceARN": namespace_arn(A, "missing")},
                                                 {"inputSourceARN": namespace_arn(A, "tgt")}]))
    assert_error(excinfo, "ValidationException", 400, "missing")
    with pytest.raises(ClientError) as excinfo:
        call(er, "CreateIdMappingWorkflow", workflowName="prov", inputSourceConfig=[
            {"inputSourceARN": namespace_arn(A, "src")}], idMappingTechniques={
            "idMappingType": "PROVIDER", "providerProperties": {
                "providerServiceArn": "arn:aws:entityresolution:us-east-1::providerservice/acme/matching"}})
    assert_error(excinfo, "ValidationException", 400, "provider")
    # Glue tables as direct inputs, with their type and schema.
    created = call(er, "CreateIdMappingWorkflow", **workflow_args(name="direct", rules=EMAIL_RULE, inputSourceConfig=[
        {"inputSourceARN": glue_arn(A, "crm", "customers"), "schemaName": "customers-schema", "type": "SOURCE"},
        {"inputSourceARN": glue_arn(A, "crm", "leads"), "schemaName": "customers-schema", "type": "TARGET"},
    ]))
    assert created["workflowName"] == "direct"


def test_resources_are_per_account(er, client):
    create_schema(er)
    other = client("entityresolution", account=B)
    assert list_all(other, "ListSchemaMappings", "schemaList") == []
    with pytest.raises(ClientError) as excinfo:
        call(other, "GetSchemaMapping", schemaName="customers-schema")
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_pagination(er):
    for i in range(3):
        create_schema(er, name=f"s{i}")
    page = call(er, "ListSchemaMappings", maxResults=2)
    assert len(page["schemaList"]) == 2 and page["nextToken"]
    rest = call(er, "ListSchemaMappings", maxResults=2, nextToken=page["nextToken"])
    assert [s["schemaName"] for s in rest["schemaList"]] == ["s2"] and "nextToken" not in rest
