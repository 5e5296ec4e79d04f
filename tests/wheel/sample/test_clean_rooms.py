"""A user's tests of a Clean Rooms collaboration, with only the plugin's fixtures: two accounts'
data in S3 and Glue, a collaboration, an intermediate table populated from both parties' tables,
and a protected query over it whose CSV result is checked."""

import csv
import io
import time

import boto3
import pytest

A, B = "111111111111", "222222222222"


def wait(cleanrooms, membership, query_id):
    deadline = time.monotonic() + 120
    while True:
        query = cleanrooms.get_protected_query(membershipIdentifier=membership, protectedQueryIdentifier=query_id)["protectedQuery"]
        if query["status"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            return query
        assert time.monotonic() < deadline, query
        time.sleep(0.1)


def table(aws_client, account, bucket, database, name, body, columns):
    aws_client("s3", account).create_bucket(Bucket=bucket)
    aws_client("s3", account).put_object(Bucket=bucket, Key=f"{name}/part.csv", Body=body.encode())
    glue = aws_client("glue", account)
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": name, "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {"Location": f"s3://{bucket}/{name}/",
                              "Columns": [{"Name": c, "Type": t} for c, t in columns]}})


def test_a_collaboration_populates_an_intermediate_table_and_queries_it(aws_client):
    a, b = aws_client("cleanrooms", A), aws_client("cleanrooms", B)
    table(aws_client, A, "a-crm", "crm", "customers", "user_id,segment\nu1,gold\nu2,silver\nu3,gold\n",
          [("user_id", "string"), ("segment", "string")])
    table(aws_client, B, "b-shop", "shop", "purchases", "user_id,amount\nu1,10\nu1,5\nu2,20\nu3,7\nu9,99\n",
          [("user_id", "string"), ("amount", "double")])
    aws_client("s3", A).create_bucket(Bucket="a-results")

    collaboration = a.create_collaboration(
        name="sample", creatorDisplayName="A", creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        members=[{"accountId": B, "displayName": "B", "memberAbilities": []}], queryLogStatus="DISABLED",
    )["collaboration"]
    ma = a.create_membership(collaborationIdentifier=collaboration["id"], queryLogStatus="DISABLED")["membership"]
    mb = b.create_membership(collaborationIdentifier=collaboration["id"], queryLogStatus="DISABLED")["membership"]
    rule = {"v1": {"custom": {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A]}}}
    for cleanrooms, account, membership, database, name, columns in (
        (a, A, ma, "crm", "customers", ["user_id", "segment"]),
        (b, B, mb, "shop", "purchases", ["user_id", "amount"]),
    ):
        configured = cleanrooms.create_configured_table(
            name=name, tableReference={"glue": {"databaseName": database, "tableName": name}},
            allowedColumns=columns, analysisMethod="DIRECT_QUERY")["configuredTable"]
        cleanrooms.create_configured_table_analysis_rule(
            configuredTableIdentifier=configured["id"], analysisRuleType="CUSTOM", analysisRulePolicy=rule)
        cleanrooms.create_configured_table_association(
            membershipIdentifier=membership["id"], name=name, configuredTableIdentifier=configured["id"],
            roleArn=f"arn:aws:iam::{account}:role/cleanrooms")

    spend = a.create_intermediate_table(
        membershipIdentifier=ma["id"], name="spend",
        populationAnalysisConfiguration={"sqlParameters": {"queryString":
            "SELECT c.segment, SUM(p.amount) AS total FROM customers c JOIN purchases p "
            "ON c.user_id = p.user_id GROUP BY c.segment"}},
    )["intermediateTable"]
    population = a.populate_intermediate_table(membershipIdentifier=ma["id"], intermediateTableIdentifier=spend["id"])
    assert wait(a, ma["id"], population["analysisId"])["status"] == "SUCCESS"

    a.create_intermediate_table_analysis_rule(
        membershipIdentifier=ma["id"], intermediateTableIdentifier=spend["id"],
        analysisRuleType="CUSTOM", analysisRulePolicy=rule)
    query = a.start_protected_query(
        type="SQL", membershipIdentifier=ma["id"],
        sqlParameters={"queryString": "SELECT segment, total FROM spend ORDER BY segment"},
        resultConfiguration={"outputConfiguration": {"s3": {
            "resultFormat": "CSV", "bucket": "a-results", "keyPrefix": "sample", "singleFileOutput": True}}},
    )["protectedQuery"]
    done = wait(a, ma["id"], query["id"])
    assert done["status"] == "SUCCESS", done
    key = done["result"]["output"]["s3"]["location"].split("/", 3)[3]
    body = aws_client("s3", A).get_object(Bucket="a-results", Key=key)["Body"].read().decode()
    rows = [(segment, float(total)) for segment, total in list(csv.reader(io.StringIO(body)))[1:]]
    assert rows == [("gold", 22.0), ("silver", 20.0)]


def test_code_under_test_reaches_the_emulator_through_the_environment(cleanrooms_emulator):
    # A client made the way application code makes it: no endpoint, no credentials.
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="made-by-the-application")
    assert "made-by-the-application" in [b["Name"] for b in cleanrooms_emulator.client("s3").list_buckets()["Buckets"]]


@pytest.mark.cleanrooms_emulator_reset
def test_the_reset_marker_starts_from_nothing(aws_client, cleanrooms_emulator):
    assert aws_client("s3").list_buckets()["Buckets"] == []
    assert aws_client("cleanrooms").list_collaborations()["collaborationList"] == []
    before = cleanrooms_emulator.admin("GET", "/_emulator/clock")["now"]
    assert cleanrooms_emulator.advance_clock(3600)["now"] >= before + 3600
