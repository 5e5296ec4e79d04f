#!/usr/bin/env python3
"""Walkthrough: a two-account AWS Clean Rooms collaboration, set up with boto3 only.

Company A (account 111111111111) creates the collaboration, runs the analyses and receives the
results; company B (account 222222222222) contributes data. Each account:

  1. puts a small CSV table into its S3 bucket and registers it in its Glue Data Catalog;
  2. joins the collaboration (B accepts A's invitation, A joins its own collaboration);
  3. configures its Glue table for Clean Rooms with a CUSTOM analysis rule;
  4. associates the configured table with the collaboration and adds a collaboration analysis
     rule naming A as the result receiver.

Then A writes an analysis template over both tables, B narrows its rule to allow exactly that
template, and both sides print the collaboration's schemas and their status.

Run it against a running emulator (`cargo run -- serve`):

    python examples/two_account_setup.py

The endpoint comes from CLEANROOMS_EMULATOR_ENDPOINT (default http://127.0.0.1:4580). The
emulator takes a 12-digit access key id as the account id, so the two accounts are simply two
clients with different keys. Every run creates a new collaboration; the S3 buckets and Glue
tables are reused.
"""

from __future__ import annotations

import os
import sys
import uuid

import boto3
from botocore.config import Config

ENDPOINT = os.environ.get("CLEANROOMS_EMULATOR_ENDPOINT", "http://127.0.0.1:4580")
REGION = "us-east-1"
COMPANY_A = "111111111111"  # creates the collaboration, queries, receives results
COMPANY_B = "222222222222"  # contributes data only

CUSTOMERS = (
    [("user_id", "string"), ("email_sha256", "string"), ("country", "string")],
    [
        ("u1", "5e8f0c", "FR"),
        ("u2", "a91b44", "FR"),
        ("u3", "77c2d0", "DE"),
        ("u4", "0b3e9a", "DE"),
        ("u5", "c4d821", "ES"),
    ],
)
PURCHASES = (
    [("user_id", "string"), ("product", "string"), ("amount", "double")],
    [
        ("u1", "shoes", "89.90"),
        ("u2", "shirt", "25.00"),
        ("u2", "shoes", "99.00"),
        ("u3", "socks", "9.50"),
        ("u5", "jacket", "149.00"),
        ("u9", "hat", "19.00"),
    ],
)
TEMPLATE_SQL = """SELECT c.country, COUNT(DISTINCT p.user_id) AS buyers, SUM(p.amount) AS revenue
FROM customers c JOIN purchases p ON c.user_id = p.user_id
WHERE p.amount >= :min_amount
GROUP BY c.country"""


def client(service: str, account: str):
    """A boto3 client acting as `account` (the access key id is the account id)."""
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=account,
        aws_secret_access_key="anything",
        config=Config(retries={"total_max_attempts": 1}),
    )


def step(text: str) -> None:
    print(f"\n== {text}")


def put_table(account: str, table: str, spec) -> dict:
    """Upload `spec` as CSV to s3://cleanrooms-demo-<account>/<table>/ and register it in Glue
    as cleanrooms_demo.<table>; returns the Glue table reference."""
    columns, rows = spec
    s3, glue = client("s3", account), client("glue", account)
    bucket = f"cleanrooms-demo-{account}"
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    body = "\n".join([",".join(n for n, _ in columns)] + [",".join(r) for r in rows]) + "\n"
    s3.put_object(Bucket=bucket, Key=f"{table}/part-0.csv", Body=body.encode())
    try:
        glue.create_database(DatabaseInput={"Name": "cleanrooms_demo"})
    except glue.exceptions.AlreadyExistsException:
        pass
    try:
        glue.create_table(
            DatabaseName="cleanrooms_demo",
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": t} for n, t in columns],
                    "Location": f"s3://{bucket}/{table}/",
                    "SerdeInfo": {
                        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                        "Parameters": {"field.delim": ","},
                    },
                },
            },
        )
    except glue.exceptions.AlreadyExistsException:
        pass
    print(f"{account}: s3://{bucket}/{table}/ ({len(rows)} rows) -> Glue cleanrooms_demo.{table}")
    return {"databaseName": "cleanrooms_demo", "tableName": table}


def contribute(account: str, membership_id: str, name: str, glue_ref: dict, columns: list[str], run: str, **rule) -> dict:
    """Configure a Glue table with a CUSTOM rule, associate it as `name`, and let A receive
    results from it. Returns the configured table."""
    cr = client("cleanrooms", account)
    table = cr.create_configured_table(
        name=f"{name}-{run}",
        tableReference={"glue": glue_ref},
        allowedColumns=columns,
        analysisMethod="DIRECT_QUERY",
    )["configuredTable"]
    cr.create_configured_table_analysis_rule(
        configuredTableIdentifier=table["id"],
        analysisRuleType="CUSTOM",
        analysisRulePolicy={"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [COMPANY_A], **rule}}},
    )
    association = cr.create_configured_table_association(
        membershipIdentifier=membership_id,
        name=name,
        configuredTableIdentifier=table["id"],
        roleArn=f"arn:aws:iam::{account}:role/cleanrooms-demo-read",
    )["configuredTableAssociation"]
    cr.create_configured_table_association_analysis_rule(
        membershipIdentifier=membership_id,
        configuredTableAssociationIdentifier=association["id"],
        analysisRuleType="CUSTOM",
        analysisRulePolicy={"v1": {"custom": {"allowedResultReceivers": [COMPANY_A]}}},
    )
    print(f"{account}: configured table {table['id']} (CUSTOM rule) associated as '{name}'")
    return table


def print_schemas(account: str, collaboration_id: str) -> list[dict]:
    cr = client("cleanrooms", account)
    names = [s["name"] for s in cr.list_schemas(collaborationIdentifier=collaboration_id)["schemaSummaries"]]
    schemas = cr.batch_get_schema(collaborationIdentifier=collaboration_id, names=names)["schemas"]
    for s in schemas:
        columns = ", ".join(f"{c['name']} {c['type']}" for c in s["columns"])
        print(f"{account} sees schema '{s['name']}' (owner {s['creatorAccountId']}, rules {s['analysisRuleTypes']}): {columns}")
        for d in s["schemaStatusDetails"]:
            why = "; ".join(f"{r['code']}: {r['message']}" for r in d.get("reasons", []))
            print(f"    {d['analysisType']}: {d['status']}" + (f" ({why})" if why else ""))
    return schemas


def run() -> dict:
    """The whole walkthrough; returns the ids it created."""
    run_id = uuid.uuid4().hex[:8]
    a, b = client("cleanrooms", COMPANY_A), client("cleanrooms", COMPANY_B)

    step("1. Base data in S3 and the Glue Data Catalog")
    customers_ref = put_table(COMPANY_A, "customers", CUSTOMERS)
    purchases_ref = put_table(COMPANY_B, "purchases", PURCHASES)

    step("2. A creates the collaboration and invites B")
    collaboration = a.create_collaboration(
        name=f"retail-insights-{run_id}",
        description="Which countries buy what",
        creatorDisplayName="Company A",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        members=[{"accountId": COMPANY_B, "displayName": "Company B", "memberAbilities": []}],
        queryLogStatus="DISABLED",
    )["collaboration"]
    print(f"collaboration {collaboration['id']} ({collaboration['name']})")

    step("3. Both accounts join")
    invited = [c["id"] for c in b.list_collaborations(memberStatus="INVITED")["collaborationList"]]
    assert collaboration["id"] in invited, "B does not see its invitation"
    mb = b.create_membership(collaborationIdentifier=collaboration["id"], queryLogStatus="DISABLED")["membership"]
    ma = a.create_membership(
        collaborationIdentifier=collaboration["id"],
        queryLogStatus="DISABLED",
        defaultResultConfiguration={
            "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": f"cleanrooms-demo-{COMPANY_A}", "keyPrefix": "results/"}}
        },
    )["membership"]
    members = a.list_members(collaborationIdentifier=collaboration["id"])["memberSummaries"]
    for m in members:
        print(f"member {m['accountId']} {m['displayName']}: {m['status']} {m['abilities']}")

    step("4. Configured tables, analysis rules, associations and collaboration analysis rules")
    contribute(COMPANY_A, ma["id"], "customers", customers_ref, ["user_id", "email_sha256", "country"], run_id)
    b_table = contribute(
        COMPANY_B, mb["id"], "purchases", purchases_ref, ["user_id", "product", "amount"], run_id, disallowedOutputColumns=["user_id"]
    )

    step("5. A writes an analysis template over both tables")
    template = a.create_analysis_template(
        membershipIdentifier=ma["id"],
        name="revenue_by_country",
        description="Buyers and revenue per country",
        format="SQL",
        source={"text": TEMPLATE_SQL},
        analysisParameters=[{"name": "min_amount", "type": "DOUBLE", "defaultValue": "0"}],
    )["analysisTemplate"]
    print(f"template {template['arn']}\n    reads {template['schema']['referencedTables']}")

    step("6. B allows exactly that template instead of any query by A")
    b.update_configured_table_analysis_rule(
        configuredTableIdentifier=b_table["id"],
        analysisRuleType="CUSTOM",
        analysisRulePolicy={"v1": {"custom": {"allowedAnalyses": [template["arn"]], "disallowedOutputColumns": ["user_id"]}}},
    )
    seen = b.get_collaboration_analysis_template(collaborationIdentifier=collaboration["id"], analysisTemplateArn=template["arn"])
    print(f"B reviews '{seen['collaborationAnalysisTemplate']['name']}' by {seen['collaborationAnalysisTemplate']['creatorAccountId']}")

    step("7. The collaboration's schemas")
    schemas = print_schemas(COMPANY_A, collaboration["id"])
    print_schemas(COMPANY_B, collaboration["id"])
    ready = all(d["status"] == "READY" for s in schemas for d in s["schemaStatusDetails"])
    print(f"\nall schemas ready: {ready}")
    return {
        "collaborationId": collaboration["id"],
        "membershipIds": {COMPANY_A: ma["id"], COMPANY_B: mb["id"]},
        "analysisTemplateArn": template["arn"],
        "schemas": sorted(s["name"] for s in schemas),
        "ready": ready,
    }


def main() -> int:
    print(f"Clean Rooms emulator at {ENDPOINT}")
    result = run()
    return 0 if result["ready"] else 1


if __name__ == "__main__":
    sys.exit(main())
