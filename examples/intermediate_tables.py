#!/usr/bin/env python3
"""Walkthrough: two accounts build an intermediate table from both parties' data, populate it,
query it with a protected query whose results land in S3, and refresh it.

Run an emulator first (`cleanrooms-emulator serve --ephemeral`), then:
    python examples/intermediate_tables.py
Environment: CLEANROOMS_EMULATOR_ENDPOINT (default http://127.0.0.1:4580). Needs boto3 1.44.5+
and pyarrow. Every resource name gets a random suffix, so it can run again on the same emulator.
"""
import csv
import io
import os
import time
import uuid

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

ENDPOINT = os.environ.get("CLEANROOMS_EMULATOR_ENDPOINT", "http://127.0.0.1:4580")
A, B = "111111111111", "222222222222"  # the access key id is the account id
SUFFIX = uuid.uuid4().hex[:8]


def client(service, account):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id=account, aws_secret_access_key="unused")


def step(text):
    print(f"\n== {text}")


def wait(cleanrooms, membership_id, query_id):
    while True:
        q = cleanrooms.get_protected_query(membershipIdentifier=membership_id,
                                           protectedQueryIdentifier=query_id)["protectedQuery"]
        if q["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            print(f"   query {query_id}: {q['status']} {q.get('error', '')}")
            return q
        time.sleep(0.1)


def main():
    a, b = client("cleanrooms", A), client("cleanrooms", B)
    s3a, s3b = client("s3", A), client("s3", B)
    glue_a, glue_b = client("glue", A), client("glue", B)
    data_a, data_b, results = f"a-data-{SUFFIX}", f"b-data-{SUFFIX}", f"a-results-{SUFFIX}"

    step("A uploads customers (CSV) and B uploads purchases (Parquet), each registering a Glue table")
    s3a.create_bucket(Bucket=data_a)
    s3a.create_bucket(Bucket=results)
    s3a.put_object(Bucket=data_a, Key="customers/c.csv", Body=(
        "user_id,email,segment\nu1,ann@example.com,gold\nu2,bob@example.com,silver\n"
        "u3,cy@example.com,gold\nu4,dee@example.com,bronze\n").encode())
    glue_a.create_database(DatabaseInput={"Name": f"crm_{SUFFIX}"})
    glue_a.create_table(DatabaseName=f"crm_{SUFFIX}", TableInput={
        "Name": "customers", "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {"Location": f"s3://{data_a}/customers/", "Columns": [
            {"Name": "user_id", "Type": "string"}, {"Name": "email", "Type": "string"},
            {"Name": "segment", "Type": "string"}]}})
    s3b.create_bucket(Bucket=data_b)
    buf = io.BytesIO()
    pq.write_table(pa.table({"user_id": ["u1", "u1", "u2", "u3", "u9"],
                             "amount": [10.0, 5.5, 20.0, 7.25, 99.0],
                             "item": ["book", "pen", "lamp", "book", "desk"]}), buf)
    s3b.put_object(Bucket=data_b, Key="purchases/p.parquet", Body=buf.getvalue())
    glue_b.create_database(DatabaseInput={"Name": f"shop_{SUFFIX}"})
    glue_b.create_table(DatabaseName=f"shop_{SUFFIX}", TableInput={
        "Name": "purchases", "Parameters": {"classification": "parquet"},
        "StorageDescriptor": {"Location": f"s3://{data_b}/purchases/", "Columns": [
            {"Name": "user_id", "Type": "string"}, {"Name": "amount", "Type": "double"},
            {"Name": "item", "Type": "string"}]}})

    step("A creates a collaboration with B; both join")
    coll = a.create_collaboration(
        name=f"walkthrough-{SUFFIX}", description="intermediate tables walkthrough", creatorDisplayName="A",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"], queryLogStatus="DISABLED",
        members=[{"accountId": B, "memberAbilities": [], "displayName": "B"}])["collaboration"]
    mb = b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")["membership"]
    ma = a.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")["membership"]
    print(f"   collaboration {coll['id']}")

    step("Each party configures its table with a CUSTOM rule letting A query it, and associates it")
    rule = {"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}}}
    for cr, glue_db, name, columns, membership, extra in (
        (a, f"crm_{SUFFIX}", "customers", ["user_id", "email", "segment"], ma, {"disallowedOutputColumns": ["email"]}),
        (b, f"shop_{SUFFIX}", "purchases", ["user_id", "amount", "item"], mb, {}),
    ):
        table = cr.create_configured_table(
            name=f"{name}-{SUFFIX}", tableReference={"glue": {"databaseName": glue_db, "tableName": name}},
            allowedColumns=columns, analysisMethod="DIRECT_QUERY")["configuredTable"]
        policy = {"v1": {"custom": {**rule["v1"]["custom"], **extra}}}
        cr.create_configured_table_analysis_rule(configuredTableIdentifier=table["id"],
                                                 analysisRuleType="CUSTOM", analysisRulePolicy=policy)
        cr.create_configured_table_association(
            membershipIdentifier=membership["id"], name=name, configuredTableIdentifier=table["id"],
            roleArn=f"arn:aws:iam::{A if cr is a else B}:role/cleanrooms")
        print(f"   {name}: configured table {table['id']}")

    step("A creates an intermediate table from SQL over both parties' tables and populates it")
    it = a.create_intermediate_table(
        membershipIdentifier=ma["id"], name="spend",
        populationAnalysisConfiguration={"sqlParameters": {"queryString":
            "SELECT c.user_id, c.segment, SUM(p.amount) AS total "
            "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.user_id, c.segment"}},
    )["intermediateTable"]
    print(f"   intermediate table {it['id']} status {it['status']}")
    run = a.populate_intermediate_table(membershipIdentifier=ma["id"], intermediateTableIdentifier=it["id"])
    print(f"   population: version {run['versionId']}, analysis {run['analysisId']}")
    wait(a, ma["id"], run["analysisId"])
    got = a.get_intermediate_table(membershipIdentifier=ma["id"], intermediateTableIdentifier=it["id"])["intermediateTable"]
    print(f"   status {got['status']}; columns {[(c['name'], c['type']) for c in got['schema']['columns']]}")

    step("A attaches a CUSTOM rule to the intermediate table and queries it; results land in A's S3")
    a.create_intermediate_table_analysis_rule(
        membershipIdentifier=ma["id"], intermediateTableIdentifier=it["id"], analysisRuleType="CUSTOM",
        analysisRulePolicy=rule)
    q = a.start_protected_query(
        type="SQL", membershipIdentifier=ma["id"],
        sqlParameters={"queryString": "SELECT segment, SUM(total) AS spend FROM spend GROUP BY segment ORDER BY segment"},
        resultConfiguration={"outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": results,
                                                            "keyPrefix": "walkthrough", "singleFileOutput": True}}},
    )["protectedQuery"]
    done = wait(a, ma["id"], q["id"])
    location = done["result"]["output"]["s3"]["location"]
    body = s3a.get_object(Bucket=results, Key=location.split("/", 3)[3])["Body"].read().decode()
    rows = list(csv.reader(io.StringIO(body)))
    print(f"   {location}:")
    for row in rows:
        print(f"     {row}")

    step("A refreshes the intermediate table: a new version")
    again = a.populate_intermediate_table(membershipIdentifier=ma["id"], intermediateTableIdentifier=it["id"])
    wait(a, ma["id"], again["analysisId"])
    versions = a.list_intermediate_table_versions(
        membershipIdentifier=ma["id"], intermediateTableIdentifier=it["id"])["intermediateTableVersionSummaries"]
    for v in versions:
        print(f"   version {v['versionId']}: {v['status']}, expires {v.get('expirationTime')}")
    return rows


if __name__ == "__main__":
    main()
