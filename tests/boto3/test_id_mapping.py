"""ID mapping in Clean Rooms: ID namespace associations, ID mapping tables built on an Entity
Resolution rule-based ID mapping workflow, PopulateIdMappingTable running the matching for real,
and protected queries joining two parties' tables through the mapping under the managed
ID_MAPPING_TABLE analysis rule.

World: A (creator, CAN_QUERY + CAN_RECEIVE_RESULTS) owns ``customers`` (user_id, email, segment);
B owns ``buyers`` (buyer_id, email: its ID namespace's source) and ``purchases`` (buyer_id,
amount). The two parties' ids differ; emails link them.

Spec: shared/spec/cleanrooms.md §4.4 (ID mapping table rule), §5.10 (ID mapping tables), §2.3
(DeleteMembership SUBRESOURCES_EXIST), §7 (name uniqueness), Appendix A (operations).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import read_csv_rows
from helpers import (
    A,
    B,
    C,
    assert_error,
    assert_field_error,
    call,
    create_collaboration,
    create_membership,
    list_all,
    member,
    random_id,
    role_arn,
)

pytestmark = pytest.mark.usefixtures("reset")

REGION = "us-east-1"
CUSTOMERS = [
    ("u1", "ann@example.com", "gold"),
    ("u2", "bob@example.com", "silver"),
    ("u3", "cy@example.com", "gold"),
    ("u4", "dee@example.com", "bronze"),
    ("u5", "eve@example.com", "silver"),
    ("u6", "", "gold"),
]
BUYERS = [
    ("b10", "ann@example.com"),
    ("b20", "bob@example.com"),
    ("b30", "zed@example.com"),
    ("b40", "eve@example.com"),
    ("b50", "EVE@example.com"),  # exact matching: case differs, no match
    ("b60", "bob@example.com"),  # a second target record for u2
]
PURCHASES = [("b10", 10.0), ("b10", 5.5), ("b20", 20.0), ("b30", 7.0), ("b40", 3.0), ("b60", 50.0)]
EMAIL_RULE = [{"ruleName": "email", "matchingKeys": ["EMAIL"]}]


def expected_mapping(source, target, record_model="ONE_SOURCE_TO_ONE_TARGET"):
    """The rule-based mapping computed independently: exact email equality (non-empty), each
    source to its smallest matching target id, then (one-to-one) each target to its smallest
    source id."""
    best = {}
    for sid, semail in source:
        matches = sorted(tid for tid, temail in target if semail and semail == temail)
        if matches:
            best[sid] = matches[0]
    if record_model == "MANY_SOURCE_TO_ONE_TARGET":
        return best
    kept = {}
    for sid, tid in sorted(best.items()):
        kept.setdefault(tid, sid)
    return {sid: tid for tid, sid in kept.items()}


def put_csv(s3, bucket, key, header, rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue().encode())


def glue_csv_table(glue, database, table, location, columns):
    try:
        glue.create_database(DatabaseInput={"Name": database})
    except glue.exceptions.AlreadyExistsException:
        pass
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": table,
            "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
            "StorageDescriptor": {"Location": location,
                                  "Columns": [{"Name": n, "Type": t} for n, t in columns]},
        },
    )


def custom_rule():
    return {"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}}}


@dataclass
class World:
    a: object
    b: object
    c: object
    era: object
    erb: object
    s3a: object
    coll: dict
    ma: dict
    mb: dict
    workflow_arn: str
    ns_a: str
    ns_b: str


def aggregation_rule(join_column: str, dimensions: list[str], aggregate: tuple[str, str]) -> dict:
    return {"v1": {"aggregation": {
        "aggregateColumns": [{"columnNames": [aggregate[0]], "function": aggregate[1]}],
        "joinColumns": [join_column],
        "dimensionColumns": dimensions,
        "scalarFunctions": [],
        "outputConstraints": [{"columnName": join_column, "minimum": 2, "type": "COUNT_DISTINCT"}],
    }}}


def build(client, *, record_model="ONE_SOURCE_TO_ONE_TARGET", rules=None) -> World:
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    s3a, s3b = client("s3", account=A), client("s3", account=B)
    glue_a, glue_b = client("glue", account=A), client("glue", account=B)
    era, erb = client("entityresolution", account=A), client("entityresolution", account=B)

    s3a.create_bucket(Bucket="a-data")
    s3a.create_bucket(Bucket="a-results")
    put_csv(s3a, "a-data", "customers/part-0.csv", ["user_id", "email", "segment"], CUSTOMERS)
    glue_csv_table(glue_a, "crm", "customers", "s3://a-data/customers/",
                   [("user_id", "string"), ("email", "string"), ("segment", "string")])
    s3b.create_bucket(Bucket="b-data")
    put_csv(s3b, "b-data", "buyers/part-0.csv", ["buyer_id", "email"], BUYERS)
    put_csv(s3b, "b-data", "purchases/part-0.csv", ["buyer_id", "amount"], PURCHASES)
    glue_csv_table(glue_b, "shop", "buyers", "s3://b-data/buyers/", [("buyer_id", "string"), ("email", "string")])
    glue_csv_table(glue_b, "shop", "purchases", "s3://b-data/purchases/",
                   [("buyer_id", "string"), ("amount", "double")])

    # Entity Resolution: each party's ID namespace over its own Glue table.
    call(era, "CreateSchemaMapping", schemaName="customers", mappedInputFields=[
        {"fieldName": "user_id", "type": "UNIQUE_ID"},
        {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "EMAIL"},
    ])
    ns_a = call(era, "CreateIdNamespace", idNamespaceName="a-customers", type="SOURCE", inputSourceConfig=[
        {"inputSourceARN": f"arn:aws:glue:{REGION}:{A}:table/crm/customers", "schemaName": "customers"}],
        idMappingWorkflowProperties=[{"idMappingType": "RULE_BASED", "ruleBasedProperties": {
            "rules": EMAIL_RULE, "ruleDefinitionTypes": ["SOURCE"], "attributeMatchingModel": "ONE_TO_ONE",
            "recordMatchingModels": [record_model]}}])["idNamespaceArn"]
    call(erb, "CreateSchemaMapping", schemaName="buyers", mappedInputFields=[
        {"fieldName": "buyer_id", "type": "UNIQUE_ID"},
        {"fieldName": "email", "type": "EMAIL_ADDRESS", "matchKey": "EMAIL"},
    ])
    ns_b = call(erb, "CreateIdNamespace", idNamespaceName="b-buyers", type="TARGET", inputSourceConfig=[
        {"inputSourceARN": f"arn:aws:glue:{REGION}:{B}:table/shop/buyers", "schemaName": "buyers"}],
        idMappingWorkflowProperties=[{"idMappingType": "RULE_BASED"}])["idNamespaceArn"]
    workflow_arn = call(era, "CreateIdMappingWorkflow", workflowName="a-to-b", inputSourceConfig=[
        {"inputSourceARN": ns_a}, {"inputSourceARN": ns_b}], idMappingTechniques={
        "idMappingType": "RULE_BASED", "ruleBasedProperties": {
            "ruleDefinitionType": "SOURCE", "attributeMatchingModel": "ONE_TO_ONE",
            "recordMatchingModel": record_model}})["workflowArn"]

    coll = create_collaboration(a, members=[member(B, ())])
    mb = create_membership(b, coll["id"])
    ma = create_membership(a, coll["id"], defaultResultConfiguration={"outputConfiguration": {
        "s3": {"resultFormat": "CSV", "bucket": "a-results", "keyPrefix": "idmap"}}})
    rules = rules or {"customers": custom_rule(), "purchases": custom_rule()}
    for cr, m, name, database, table, columns, account in (
        (a, ma, "customers", "crm", "customers", ["user_id", "email", "segment"], A),
        (b, mb, "purchases", "shop", "purchases", ["buyer_id", "amount"], B),
    ):
        ct = call(cr, "CreateConfiguredTable", name=f"{name}-table",
                  tableReference={"glue": {"databaseName": database, "tableName": table}},
                  allowedColumns=columns, analysisMethod="DIRECT_QUERY")["configuredTable"]
        call(cr, "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=ct["id"],
             analysisRuleType=next(iter(rules[name]["v1"])).upper(), analysisRulePolicy=rules[name])
        call(cr, "CreateConfiguredTableAssociation", membershipIdentifier=m["id"], name=name,
             configuredTableIdentifier=ct["id"], roleArn=role_arn(account))
    return World(a=a, b=b, c=client("cleanrooms", account=C), era=era, erb=erb, s3a=s3a, coll=coll, ma=ma,
                 mb=mb, workflow_arn=workflow_arn, ns_a=ns_a, ns_b=ns_b)


def associate(w: World):
    src = call(w.a, "CreateIdNamespaceAssociation", membershipIdentifier=w.ma["id"], name="a customers",
               inputReferenceConfig={"inputReferenceArn": w.ns_a, "manageResourcePolicies": True},
               description="A's customers")["idNamespaceAssociation"]
    tgt = call(w.b, "CreateIdNamespaceAssociation", membershipIdentifier=w.mb["id"], name="b buyers",
               inputReferenceConfig={"inputReferenceArn": w.ns_b, "manageResourcePolicies": True})["idNamespaceAssociation"]
    return src, tgt


def create_table(w: World, name="idmap"):
    return call(w.a, "CreateIdMappingTable", membershipIdentifier=w.ma["id"], name=name,
                inputReferenceConfig={"inputReferenceArn": w.workflow_arn, "manageResourcePolicies": True},
                description="emails")["idMappingTable"]


def start(w: World, sql: str) -> dict:
    return call(w.a, "StartProtectedQuery", type="SQL", membershipIdentifier=w.ma["id"],
                sqlParameters={"queryString": sql})["protectedQuery"]


def run(w: World, sql: str) -> list[list[str]]:
    import time
    q = start(w, sql)
    deadline = time.time() + 60
    while True:
        got = call(w.a, "GetProtectedQuery", membershipIdentifier=w.ma["id"],
                   protectedQueryIdentifier=q["id"])["protectedQuery"]
        if got["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            break
        assert time.time() < deadline
        time.sleep(0.05)
    assert got["status"] == "SUCCESS", got.get("error")
    _, rows = read_csv_rows(w.s3a, got["result"]["output"]["s3"]["location"])
    return rows


JOIN_SQL = (
    "SELECT c.segment, SUM(p.amount) AS total FROM customers c "
    "JOIN idmap m ON c.user_id = m.sourceId JOIN purchases p ON m.targetId = p.buyer_id GROUP BY c.segment"
)


@pytest.fixture
def world(client):
    return build(client)


def test_namespace_associations(world):
    w = world
    src, tgt = associate(w)
    assert src["arn"] == f"arn:aws:cleanrooms:{REGION}:{A}:membership/{w.ma['id']}/idnamespaceassociation/{src['id']}"
    assert src["inputReferenceProperties"] == {"idNamespaceType": "SOURCE",
                                               "idMappingWorkflowsSupported": [{"idMappingType": "RULE_BASED"}]}
    assert tgt["inputReferenceProperties"]["idNamespaceType"] == "TARGET"
    assert src["collaborationId"] == w.coll["id"] and src["membershipArn"] == w.ma["arn"]
    got = call(w.a, "GetIdNamespaceAssociation", membershipIdentifier=w.ma["id"],
               idNamespaceAssociationIdentifier=src["id"])["idNamespaceAssociation"]
    assert got == src
    listed = list_all(w.a, "ListIdNamespaceAssociations", "idNamespaceAssociationSummaries",
                      membershipIdentifier=w.ma["id"])
    assert [s["id"] for s in listed] == [src["id"]]
    updated = call(w.a, "UpdateIdNamespaceAssociation", membershipIdentifier=w.ma["id"],
                   idNamespaceAssociationIdentifier=src["id"], description="changed",
                   idMappingConfig={"allowUseAsDimensionColumn": True})["idNamespaceAssociation"]
    assert updated["description"] == "changed" and updated["idMappingConfig"] == {"allowUseAsDimensionColumn": True}
    # Every active member sees the collaboration's associations.
    for cr in (w.a, w.b):
        summaries = list_all(cr, "ListCollaborationIdNamespaceAssociations",
                             "collaborationIdNamespaceAssociationSummaries", collaborationIdentifier=w.coll["id"])
        assert [(s["id"], s["creatorAccountId"]) for s in summaries] == [(src["id"], A), (tgt["id"], B)]
        got = call(cr, "GetCollaborationIdNamespaceAssociation", collaborationIdentifier=w.coll["id"],
                   idNamespaceAssociationIdentifier=tgt["id"])["collaborationIdNamespaceAssociation"]
        assert got["inputReferenceConfig"]["inputReferenceArn"] == w.ns_b
    # The same namespace twice.
    with pytest.raises(ClientError) as e:
        call(w.a, "CreateIdNamespaceAssociation", membershipIdentifier=w.ma["id"], name="again",
             inputReferenceConfig={"inputReferenceArn": w.ns_a, "manageResourcePolicies": False})
    assert assert_error(e, "ConflictException", 409, w.ns_a)["reason"] == "ALREADY_EXISTS"
    # Another account's namespace, or one that does not exist.
    for arn, part in ((w.ns_b, B), (f"arn:aws:entityresolution:{REGION}:{A}:idnamespace/nope", "nope")):
        with pytest.raises(ClientError) as e:
            call(w.a, "CreateIdNamespaceAssociation", membershipIdentifier=w.ma["id"], name="x",
                 inputReferenceConfig={"inputReferenceArn": arn, "manageResourcePolicies": False})
        assert_field_error(e, "inputReferenceArn")
        assert part in e.value.response["Error"]["Message"]
    call(w.a, "DeleteIdNamespaceAssociation", membershipIdentifier=w.ma["id"],
         idNamespaceAssociationIdentifier=src["id"])
    with pytest.raises(ClientError) as e:
        call(w.a, "GetIdNamespaceAssociation", membershipIdentifier=w.ma["id"],
             idNamespaceAssociationIdentifier=src["id"])
    assert_error(e, "ResourceNotFoundException", 404, src["id"])


def test_cross_account_access(world):
    w = world
    src, tgt = associate(w)
    table = create_table(w)
    # Another member cannot reach A's membership resources through A's membership.
    for op, extra in (
        ("GetIdNamespaceAssociation", {"idNamespaceAssociationIdentifier": src["id"]}),
        ("GetIdMappingTable", {"idMappingTableIdentifier": table["id"]}),
        ("PopulateIdMappingTable", {"idMappingTableIdentifier": table["id"]}),
        ("ListIdMappingTables", {}),
    ):
        with pytest.raises(ClientError) as e:
            call(w.b, op, membershipIdentifier=w.ma["id"], **extra)
        assert_error(e, "ResourceNotFoundException", 404)
    # Nor through its own membership.
    with pytest.raises(ClientError) as e:
        call(w.b, "GetIdMappingTable", membershipIdentifier=w.mb["id"], idMappingTableIdentifier=table["id"])
    assert_error(e, "ResourceNotFoundException", 404, table["id"])
    # Outsiders are denied the collaboration views.
    for op, extra in (
        ("ListCollaborationIdNamespaceAssociations", {}),
        ("GetCollaborationIdNamespaceAssociation", {"idNamespaceAssociationIdentifier": src["id"]}),
    ):
        with pytest.raises(ClientError) as e:
            call(w.c, op, collaborationIdentifier=w.coll["id"], **extra)
        assert_error(e, "AccessDeniedException", 403, C)


def test_bad_inputs(world, emulator):
    w = world
    raw = emulator.client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as e:
        raw.create_id_mapping_table(membershipIdentifier="bad", name="t", inputReferenceConfig={
            "inputReferenceArn": w.workflow_arn, "manageResourcePolicies": True})
    assert_field_error(e, "membershipIdentifier")
    with pytest.raises(ClientError) as e:
        raw.create_id_mapping_table(membershipIdentifier=w.ma["id"], name="t", inputReferenceConfig={
            "inputReferenceArn": "arn:aws:glue:us-east-1:111111111111:table/a/b", "manageResourcePolicies": True})
    assert_field_error(e, "inputReferenceArn", "pattern")
    with pytest.raises(ClientError) as e:
        raw.create_id_namespace_association(membershipIdentifier=w.ma["id"], name="x", inputReferenceConfig={
            "inputReferenceArn": w.ns_a})
    assert_field_error(e, "manageResourcePolicies", "required")
    with pytest.raises(ClientError) as e:
        raw.populate_id_mapping_table(membershipIdentifier=w.ma["id"], idMappingTableIdentifier=random_id(),
                                      jobType="SOMETIMES")
    assert_field_error(e, "jobType", "enum")
    # The workflow's namespaces must be associated with the collaboration first.
    with pytest.raises(ClientError) as e:
        create_table(w)
    assert_field_error(e, "inputReferenceArn")
    assert "not associated" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        call(w.a, "CreateIdMappingTable", membershipIdentifier=w.ma["id"], name="t", inputReferenceConfig={
            "inputReferenceArn": f"arn:aws:entityresolution:{REGION}:{A}:idmappingworkflow/none",
            "manageResourcePolicies": True})
    assert_field_error(e, "inputReferenceArn")


def test_id_mapping_table_end_to_end(world):
    w = world
    src, tgt = associate(w)
    table = create_table(w)
    assert table["arn"] == f"arn:aws:cleanrooms:{REGION}:{A}:membership/{w.ma['id']}/idmappingtable/{table['id']}"
    assert sorted((s["type"], s["idNamespaceAssociationId"]) for s in
                  table["inputReferenceProperties"]["idMappingTableInputSource"]) == [
        ("SOURCE", src["id"]), ("TARGET", tgt["id"])]
    assert table["inputReferenceConfig"]["inputReferenceArn"] == w.workflow_arn
    assert call(w.a, "GetIdMappingTable", membershipIdentifier=w.ma["id"],
                idMappingTableIdentifier=table["id"])["idMappingTable"] == table
    assert [t["id"] for t in list_all(w.a, "ListIdMappingTables", "idMappingTableSummaries",
                                      membershipIdentifier=w.ma["id"])] == [table["id"]]
    updated = call(w.a, "UpdateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"],
                   description="email match")["idMappingTable"]
    assert updated["description"] == "email match"

    # A schema of type ID_MAPPING_TABLE, not ready until populated; both members see it.
    for cr in (w.a, w.b):
        summaries = list_all(cr, "ListSchemas", "schemaSummaries", collaborationIdentifier=w.coll["id"],
                             schemaType="ID_MAPPING_TABLE")
        assert [(s["name"], s["type"], s["analysisRuleTypes"]) for s in summaries] == [
            ("idmap", "ID_MAPPING_TABLE", ["ID_MAPPING_TABLE"])]
    schema = call(w.b, "GetSchema", collaborationIdentifier=w.coll["id"], name="idmap")["schema"]
    assert [c["name"] for c in schema["columns"]] == ["sourceid", "targetid"]
    assert schema["creatorAccountId"] == A and schema["resourceArn"] == table["arn"]
    assert schema["schemaTypeProperties"]["idMappingTable"]["idMappingTableInputSource"] == \
        table["inputReferenceProperties"]["idMappingTableInputSource"]
    detail = schema["schemaStatusDetails"][0]
    assert detail["status"] == "NOT_READY"
    assert [r["code"] for r in detail["reasons"]] == ["ID_MAPPING_TABLE_NOT_POPULATED"]
    batch = call(w.a, "BatchGetSchema", collaborationIdentifier=w.coll["id"], names=["idmap", "customers"])
    assert sorted(s["type"] for s in batch["schemas"]) == ["ID_MAPPING_TABLE", "TABLE"]
    rule = call(w.a, "GetSchemaAnalysisRule", collaborationIdentifier=w.coll["id"], name="idmap",
                type="ID_MAPPING_TABLE")["analysisRule"]
    assert rule["policy"]["v1"]["idMappingTable"] == {
        "joinColumns": ["sourceid", "targetid"],
        "queryConstraints": [{"requireOverlap": {"columns": ["sourceid", "targetid"]}}],
    }
    with pytest.raises(ClientError) as e:
        start(w, JOIN_SQL)
    assert_error(e, "ValidationException", 400, "ID_MAPPING_TABLE_NOT_POPULATED")

    job = call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"],
               jobType="BATCH")
    assert len(job["idMappingJobId"]) == 36
    schema = call(w.a, "GetSchema", collaborationIdentifier=w.coll["id"], name="idmap")["schema"]
    assert schema["schemaStatusDetails"][0]["status"] == "READY"

    # The query joins both parties' tables through the mapping.
    mapping = expected_mapping([(u, e) for u, e, _ in CUSTOMERS], BUYERS)
    assert mapping == {"u1": "b10", "u2": "b20", "u5": "b40"}
    segment = {u: s for u, _, s in CUSTOMERS}
    expected = {}
    for sid, tid in mapping.items():
        for buyer, amount in PURCHASES:
            if buyer == tid:
                expected[segment[sid]] = expected.get(segment[sid], 0.0) + amount
    rows = run(w, JOIN_SQL)
    assert {r[0]: float(r[1]) for r in rows} == pytest.approx(expected)

    # The managed rule: only joins, on the inner side, on both id columns.
    for sql, part in (
        ("SELECT m.sourceid FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
         "JOIN purchases p ON m.targetid = p.buyer_id", "sourceid"),
        ("SELECT c.segment FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
         "JOIN purchases p ON m.targetid = p.buyer_id WHERE m.targetid = 'b10'", "WHERE"),
        ("SELECT c.segment FROM idmap m LEFT JOIN customers c ON c.user_id = m.sourceid "
         "JOIN purchases p ON m.targetid = p.buyer_id", "inner side"),
        ("SELECT c.segment FROM customers c JOIN idmap m ON c.user_id = m.sourceid", "targetid"),
        ("SELECT COUNT(*) FROM idmap", "join"),
        ("SELECT c.segment FROM customers c JOIN idmap m ON c.user_id = m.sourceid AND m.targetid = 'b10' "
         "JOIN purchases p ON m.targetid = p.buyer_id", "another table's column"),
    ):
        with pytest.raises(ClientError) as e:
            start(w, sql)
        assert_error(e, "ValidationException", 400, "idmap", part)
    # `customers LEFT JOIN idmap` keeps the mapping on the inner side.
    rows = run(w, "SELECT c.segment, SUM(p.amount) AS total FROM customers c LEFT JOIN idmap m "
                  "ON c.user_id = m.sourceid JOIN purchases p ON m.targetid = p.buyer_id GROUP BY c.segment")
    assert {r[0]: float(r[1]) for r in rows} == pytest.approx(expected)

    # A's association allows its id column as a dimension column.
    call(w.a, "UpdateIdNamespaceAssociation", membershipIdentifier=w.ma["id"],
         idNamespaceAssociationIdentifier=src["id"], idMappingConfig={"allowUseAsDimensionColumn": True})
    rule = call(w.a, "GetSchemaAnalysisRule", collaborationIdentifier=w.coll["id"], name="idmap",
                type="ID_MAPPING_TABLE")["analysisRule"]
    assert rule["policy"]["v1"]["idMappingTable"]["dimensionColumns"] == ["sourceid"]
    rows = run(w, "SELECT m.sourceid, SUM(p.amount) AS total FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
                  "JOIN purchases p ON m.targetid = p.buyer_id GROUP BY m.sourceid")
    by_source = {sid: sum(a for b, a in PURCHASES if b == tid) for sid, tid in mapping.items()}
    assert {r[0]: float(r[1]) for r in rows} == pytest.approx(by_source)

    # Names are unique across the collaboration's tables.
    with pytest.raises(ClientError) as e:
        create_table(w, name="customers")
    assert assert_error(e, "ConflictException", 409, "customers")["reason"] == "ALREADY_EXISTS"

    # Sub-resources keep memberships; the association in use cannot go before the table.
    with pytest.raises(ClientError) as e:
        call(w.b, "DeleteMembership", membershipIdentifier=w.mb["id"])
    assert assert_error(e, "ConflictException", 409)["reason"] == "SUBRESOURCES_EXIST"
    with pytest.raises(ClientError) as e:
        call(w.b, "DeleteIdNamespaceAssociation", membershipIdentifier=w.mb["id"],
             idNamespaceAssociationIdentifier=tgt["id"])
    assert_error(e, "ValidationException", 400, "idmap")
    call(w.a, "DeleteIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    assert list_all(w.a, "ListSchemas", "schemaSummaries", collaborationIdentifier=w.coll["id"],
                    schemaType="ID_MAPPING_TABLE") == []
    call(w.b, "DeleteIdNamespaceAssociation", membershipIdentifier=w.mb["id"],
         idNamespaceAssociationIdentifier=tgt["id"])


def test_many_source_to_one_target(client):
    w = build(client, record_model="MANY_SOURCE_TO_ONE_TARGET")
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    mapping = expected_mapping([(u, e) for u, e, _ in CUSTOMERS], BUYERS, "MANY_SOURCE_TO_ONE_TARGET")
    rows = run(w, "SELECT c.user_id, COUNT(*) AS n FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
                  "JOIN purchases p ON m.targetid = p.buyer_id GROUP BY c.user_id")
    expected = {sid: sum(1 for b, _ in PURCHASES if b == tid) for sid, tid in mapping.items()}
    assert {r[0]: int(r[1]) for r in rows} == expected


def test_tags(world):
    w = world
    src, _ = associate(w)
    table = call(w.a, "CreateIdMappingTable", membershipIdentifier=w.ma["id"], name="tagged",
                 inputReferenceConfig={"inputReferenceArn": w.workflow_arn, "manageResourcePolicies": True},
                 tags={"team": "ids"})["idMappingTable"]
    assert call(w.a, "ListTagsForResource", resourceArn=table["arn"])["tags"] == {"team": "ids"}
    call(w.a, "TagResource", resourceArn=src["arn"], tags={"side": "source"})
    assert call(w.a, "ListTagsForResource", resourceArn=src["arn"])["tags"] == {"side": "source"}
    with pytest.raises(ClientError) as e:
        call(w.b, "ListTagsForResource", resourceArn=table["arn"])
    assert_error(e, "ResourceNotFoundException", 404)


def test_join_through_mapping_with_aggregation_rules(client):
    w = build(client, rules={
        "customers": aggregation_rule("user_id", ["segment"], ("user_id", "COUNT_DISTINCT")),
        "purchases": aggregation_rule("buyer_id", [], ("amount", "SUM")),
    })
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    mapping = expected_mapping([(u, e) for u, e, _ in CUSTOMERS], BUYERS)
    segment = {u: s for u, _, s in CUSTOMERS}
    totals, users, buyers = {}, {}, {}
    for sid, tid in mapping.items():
        for buyer, amount in PURCHASES:
            if buyer == tid:
                seg = segment[sid]
                totals[seg] = totals.get(seg, 0.0) + amount
                users.setdefault(seg, set()).add(sid)
                buyers.setdefault(seg, set()).add(tid)
    # Output constraints: at least 2 distinct user_id and 2 distinct buyer_id per row.
    expected = {seg: t for seg, t in totals.items() if len(users[seg]) >= 2 and len(buyers[seg]) >= 2}
    assert expected == {"silver": 23.0}
    rows = run(w, JOIN_SQL)
    assert {r[0]: float(r[1]) for r in rows} == pytest.approx(expected)
    # The mapping's id columns are not dimension columns of the query here.
    with pytest.raises(ClientError) as e:
        start(w, "SELECT m.sourceid, SUM(p.amount) FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
                 "JOIN purchases p ON m.targetid = p.buyer_id GROUP BY m.sourceid")
    assert_error(e, "ValidationException", 400, "sourceid")


def test_join_through_mapping_with_list_rules(client):
    w = build(client, rules={
        "customers": {"v1": {"list": {"joinColumns": ["user_id"], "listColumns": ["segment"]}}},
        "purchases": {"v1": {"list": {"joinColumns": ["buyer_id"], "listColumns": ["amount"]}}},
    })
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    mapping = expected_mapping([(u, e) for u, e, _ in CUSTOMERS], BUYERS)
    segment = {u: s for u, _, s in CUSTOMERS}
    expected = sorted({(segment[sid], amount) for sid, tid in mapping.items() for b, amount in PURCHASES if b == tid})
    rows = run(w, "SELECT DISTINCT c.segment, p.amount FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
                  "JOIN purchases p ON m.targetid = p.buyer_id")
    assert sorted((r[0], float(r[1])) for r in rows) == expected
    with pytest.raises(ClientError) as e:
        start(w, "SELECT DISTINCT m.targetid FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
                 "JOIN purchases p ON m.targetid = p.buyer_id")
    assert_error(e, "ValidationException", 400, "targetid")


def test_removed_member_takes_its_id_mapping_resources(world):
    w = world
    src, tgt = associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    call(w.a, "DeleteMember", collaborationIdentifier=w.coll["id"], accountId=B)
    summaries = list_all(w.a, "ListCollaborationIdNamespaceAssociations",
                         "collaborationIdNamespaceAssociationSummaries", collaborationIdentifier=w.coll["id"])
    assert [s["id"] for s in summaries] == [src["id"]]
    # A's table was built on B's namespace: it can be neither read nor populated any more.
    with pytest.raises(ClientError) as e:
        call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    assert_error(e, "ValidationException", 400, tgt["id"], "left the collaboration")
    with pytest.raises(ClientError) as e:
        start(w, "SELECT c.segment, COUNT(*) FROM customers c JOIN idmap m ON c.user_id = m.sourceid "
                 "JOIN customers d ON m.targetid = d.user_id GROUP BY c.segment")
    assert_error(e, "ValidationException", 400, "left the collaboration")
    # The removed member's own ID mapping table left with it.
    call(w.a, "DeleteIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])


def wait_query(w: World, query_id: str) -> dict:
    import time
    deadline = time.time() + 60
    while True:
        got = call(w.a, "GetProtectedQuery", membershipIdentifier=w.ma["id"],
                   protectedQueryIdentifier=query_id)["protectedQuery"]
        if got["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            return got
        assert time.time() < deadline
        time.sleep(0.05)


def test_intermediate_table_built_through_the_mapping(world):
    w = world
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    spend = call(w.a, "CreateIntermediateTable", membershipIdentifier=w.ma["id"], name="segment_spend",
                 populationAnalysisConfiguration={"sqlParameters": {"queryString": JOIN_SQL}})["intermediateTable"]
    assert [(d["name"], d["type"], d["parentType"], d["creatorAccountId"]) for d in spend["tableDependencies"]] == [
        ("customers", "TABLE", "DIRECT", A), ("idmap", "ID_MAPPING_TABLE", "DIRECT", A),
        ("purchases", "TABLE", "DIRECT", B)]
    populated = call(w.a, "PopulateIntermediateTable", membershipIdentifier=w.ma["id"],
                     intermediateTableIdentifier=spend["id"])
    assert wait_query(w, populated["analysisId"])["status"] == "SUCCESS"
    # Deleting the ID mapping table removes a base table of the intermediate table.
    call(w.a, "DeleteIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    got = call(w.a, "GetIntermediateTable", membershipIdentifier=w.ma["id"],
               intermediateTableIdentifier=spend["id"])["intermediateTable"]
    assert got["status"] == "BASE_TABLE_REMOVED"


def test_populated_mapping_survives_kill9(fresh_emulator):
    w = build(fresh_emulator.client)
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    expected = {r[0]: float(r[1]) for r in run(w, JOIN_SQL)}
    fresh_emulator.kill9()  # right after the 2xx of populate and the query
    fresh_emulator.start()
    # Clients of the restarted server (its port may differ).
    w.a = fresh_emulator.client("cleanrooms", account=A)
    w.s3a = fresh_emulator.client("s3", account=A)
    w.era = fresh_emulator.client("entityresolution", account=A)
    w.erb = fresh_emulator.client("entityresolution", account=B)
    for er, name in ((w.era, "a-customers"), (w.erb, "b-buyers")):
        assert call(er, "GetIdNamespace", idNamespaceName=name)["idNamespaceName"] == name
    schema = call(w.a, "GetSchema", collaborationIdentifier=w.coll["id"], name="idmap")["schema"]
    assert schema["schemaStatusDetails"][0]["status"] == "READY"
    assert {r[0]: float(r[1]) for r in run(w, JOIN_SQL)} == pytest.approx(expected)


def test_analysis_template_through_the_mapping(world):
    w = world
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    template = call(w.a, "CreateAnalysisTemplate", membershipIdentifier=w.ma["id"], name="spend", format="SQL",
                    source={"text": JOIN_SQL})["analysisTemplate"]
    assert sorted(template["schema"]["referencedTables"]) == ["customers", "idmap", "purchases"]


def test_repopulate_reflects_new_source_data(world, client):
    w = world
    associate(w)
    table = create_table(w)
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"])
    before = {r[0]: float(r[1]) for r in run(w, JOIN_SQL)}
    # u4 (bronze) gets a B-side match: dee@example.com appears among B's buyers.
    buyers = BUYERS + [("b70", "dee@example.com")]
    purchases = PURCHASES + [("b70", 4.0)]
    s3b = client("s3", account=B)
    put_csv(s3b, "b-data", "buyers/part-0.csv", ["buyer_id", "email"], buyers)
    put_csv(s3b, "b-data", "purchases/part-0.csv", ["buyer_id", "amount"], purchases)
    assert "bronze" not in before
    call(w.a, "PopulateIdMappingTable", membershipIdentifier=w.ma["id"], idMappingTableIdentifier=table["id"],
         jobType="INCREMENTAL")
    after = {r[0]: float(r[1]) for r in run(w, JOIN_SQL)}
    mapping = expected_mapping([(u, e) for u, e, _ in CUSTOMERS], buyers)
    segment = {u: s for u, _, s in CUSTOMERS}
    expected = {}
    for sid, tid in mapping.items():
        expected[segment[sid]] = expected.get(segment[sid], 0.0) + sum(a for b, a in purchases if b == tid)
    assert after == pytest.approx(expected) and after["bronze"] == 4.0
