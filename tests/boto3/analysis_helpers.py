"""A two-party collaboration with real data, for tests that run analyses.

A (creator, CAN_QUERY + CAN_RECEIVE_RESULTS) owns ``customers`` (CSV in A's S3: user_id, email,
segment); B (data provider) owns ``purchases`` (Parquet in B's S3: user_id, amount, item). Both
configured tables carry CUSTOM rules allowing A's ad-hoc queries; ``email`` is a disallowed output
column (``customers_rule`` / ``purchases_rule`` replace them with any rule type). Results go to A's bucket ``a-results``. The expected answers of the tests are computed in
Python from the same rows.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from helpers import A, B, call, create_collaboration, create_membership, member, role_arn

CUSTOMERS = [
    ("u1", "ann@example.com", "gold"),
    ("u2", "bob@example.com", "silver"),
    ("u3", "cy@example.com", "gold"),
    ("u4", "dee@example.com", "bronze"),
    ("u5", "eve@example.com", "silver"),
    ("u6", "fay@example.com", "gold"),
]
PURCHASES = [
    ("u1", 10.0, "book"),
    ("u1", 5.5, "pen"),
    ("u2", 20.0, "lamp"),
    ("u3", 7.25, "book"),
    ("u5", 3.0, "pen"),
    ("u6", 12.0, "mug"),
    ("u9", 99.0, "desk"),  # no matching customer
]
RESULTS_BUCKET = "a-results"


def custom_rule(**overrides) -> dict:
    rule = {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}
    rule.update(overrides)
    return {"v1": {"custom": {k: v for k, v in rule.items() if v is not None}}}


@dataclass
class World:
    a: object
    b: object
    s3a: object
    s3b: object
    collaboration: dict
    ma: dict
    mb: dict
    tables: dict = field(default_factory=dict)  # owner name -> configured table
    associations: dict = field(default_factory=dict)  # collaboration name -> association


def _put_csv(s3, bucket, key, header, rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue().encode())


B_RESULTS_BUCKET = "b-results"


def build_world(client, customers_rule=None, purchases_rule=None, b_abilities=(), b_results_format=None,
                **collaboration) -> World:
    """Build the world; ``b_results_format`` (CSV/PARQUET) gives B a default result location in its
    bucket ``b-results`` (B must then be able to receive results); ``collaboration`` overrides
    CreateCollaboration arguments (e.g. ``analyticsEngine``)."""
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    s3a, s3b = client("s3", account=A), client("s3", account=B)
    glue_a, glue_b = client("glue", account=A), client("glue", account=B)

    s3a.create_bucket(Bucket="a-data")
    s3a.create_bucket(Bucket=RESULTS_BUCKET)
    _put_csv(s3a, "a-data", "customers/part-0.csv", ["user_id", "email", "segment"], CUSTOMERS)
    glue_a.create_database(DatabaseInput={"Name": "crm"})
    glue_a.create_table(
        DatabaseName="crm",
        TableInput={
            "Name": "customers",
            "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
            "StorageDescriptor": {
                "Location": "s3://a-data/customers/",
                "Columns": [{"Name": "user_id", "Type": "string"}, {"Name": "email", "Type": "string"},
                            {"Name": "segment", "Type": "string"}],
            },
        },
    )

    s3b.create_bucket(Bucket="b-data")
    buf = io.BytesIO()
    pq.write_table(
        pa.table({
            "user_id": [r[0] for r in PURCHASES],
            "amount": pa.array([r[1] for r in PURCHASES], pa.float64()),
            "item": [r[2] for r in PURCHASES],
        }),
        buf,
    )
    s3b.put_object(Bucket="b-data", Key="purchases/part-0.parquet", Body=buf.getvalue())
    glue_b.create_database(DatabaseInput={"Name": "shop"})
    glue_b.create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "purchases",
            "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {
                "Location": "s3://b-data/purchases/",
                "Columns": [{"Name": "user_id", "Type": "string"}, {"Name": "amount", "Type": "double"},
                            {"Name": "item", "Type": "string"}],
            },
        },
    )

    coll = create_collaboration(a, members=[member(B, b_abilities)], **collaboration)
    if b_results_format:
        s3b.create_bucket(Bucket=B_RESULTS_BUCKET)
        mb = create_membership(b, coll["id"], defaultResultConfiguration={"outputConfiguration": {
            "s3": {"resultFormat": b_results_format, "bucket": B_RESULTS_BUCKET, "keyPrefix": "inbox"}}})
    else:
        mb = create_membership(b, coll["id"])
    ma = create_membership(
        a, coll["id"],
        defaultResultConfiguration={"outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": RESULTS_BUCKET, "keyPrefix": "default"}}},
    )
    world = World(a=a, b=b, s3a=s3a, s3b=s3b, collaboration=coll, ma=ma, mb=mb)

    specs = [
        (a, ma, "customers", "crm", ["user_id", "email", "segment"],
         customers_rule if customers_rule is not None else custom_rule(disallowedOutputColumns=["email"])),
        (b, mb, "purchases", "shop", ["user_id", "amount", "item"],
         purchases_rule if purchases_rule is not None else custom_rule()),
    ]
    for cr, membership, name, database, columns, rule in specs:
        table = call(
            cr, "CreateConfiguredTable", name=f"{name}-table",
            tableReference={"glue": {"databaseName": database, "tableName": name}},
            allowedColumns=columns, analysisMethod="DIRECT_QUERY",
        )["configuredTable"]
        if rule:
            call(cr, "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"],
                 analysisRuleType=next(iter(rule["v1"])).upper(), analysisRulePolicy=rule)
        world.tables[name] = table
        world.associations[name] = call(
            cr, "CreateConfiguredTableAssociation", membershipIdentifier=membership["id"], name=name,
            configuredTableIdentifier=table["id"], roleArn=role_arn(A if cr is a else B),
        )["configuredTableAssociation"]
    return world


def start(world: World, sql: str | None = None, client=None, membership=None, **kwargs) -> dict:
    params = kwargs.pop("sqlParameters", None) or {"queryString": sql}
    return call(
        client or world.a, "StartProtectedQuery", type="SQL",
        membershipIdentifier=(membership or world.ma)["id"], sqlParameters=params, **kwargs,
    )["protectedQuery"]


def wait(world: World, query: dict, client=None, membership=None, timeout: float = 60) -> dict:
    """Poll GetProtectedQuery until the query is final."""
    deadline = time.time() + timeout
    while True:
        got = call(client or world.a, "GetProtectedQuery", membershipIdentifier=(membership or world.ma)["id"],
                   protectedQueryIdentifier=query["id"])["protectedQuery"]
        if got["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            return got
        assert time.time() < deadline, f"query {query['id']} still {got['status']}"
        time.sleep(0.05)


def run(world: World, sql: str, **kwargs) -> dict:
    """Start, wait, and assert SUCCESS."""
    done = wait(world, start(world, sql, **kwargs))
    assert done["status"] == "SUCCESS", done.get("error")
    return done


def s3_objects(s3, location: str) -> list[str]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def read_csv_rows(s3, location: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of every CSV object at ``location`` (a file or a folder)."""
    bucket = location.removeprefix("s3://").partition("/")[0]
    header, rows = None, []
    for key in s3_objects(s3, location):
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        reader = list(csv.reader(io.StringIO(text)))
        assert reader, f"{key} is empty"
        header = header or reader[0]
        assert reader[0] == header
        rows.extend(reader[1:])
    return header, rows
