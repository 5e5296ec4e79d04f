"""The runnable examples under examples/ run against the test emulator, so they cannot rot.

examples/two_account_setup.py is the README's walkthrough "a two-account collaboration": it runs
as a separate process (as a user would run it) with CLEANROOMS_EMULATOR_ENDPOINT pointing at the
shared test server, and what it built is then checked through boto3.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from helpers import A, B, call, list_all, members_by_account

pytestmark = pytest.mark.usefixtures("reset")

TWO_ACCOUNTS = REPO_ROOT / "examples" / "two_account_setup.py"


def run_example(path, endpoint: str) -> str:
    env = {**os.environ, "CLEANROOMS_EMULATOR_ENDPOINT": endpoint}
    done = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{path.name} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def test_two_account_walkthrough(emulator, client):
    out = run_example(TWO_ACCOUNTS, emulator.url)
    assert "all schemas ready: True" in out
    match = re.search(r"^collaboration ([0-9a-f-]{36}) ", out, re.MULTILINE)
    assert match, out
    coll_id = match.group(1)

    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    members = members_by_account(a, coll_id)
    assert {acct: m["status"] for acct, m in members.items()} == {A: "ACTIVE", B: "ACTIVE"}
    for caller in (a, b):
        schemas = list_all(caller, "ListSchemas", "schemaSummaries", collaborationIdentifier=coll_id)
        assert sorted((s["name"], s["creatorAccountId"]) for s in schemas) == [("customers", A), ("purchases", B)]
        got = call(caller, "BatchGetSchema", collaborationIdentifier=coll_id, names=["customers", "purchases"])["schemas"]
        assert all(d["status"] == "READY" for s in got for d in s["schemaStatusDetails"])
    [template] = list_all(b, "ListCollaborationAnalysisTemplates", "collaborationAnalysisTemplateSummaries", collaborationIdentifier=coll_id)
    assert template["name"] == "revenue_by_country" and template["creatorAccountId"] == A
    rule = call(a, "GetSchemaAnalysisRule", collaborationIdentifier=coll_id, name="purchases", type="CUSTOM")["analysisRule"]
    custom = rule["consolidatedPolicy"]["v1"]["custom"]
    assert custom["allowedAnalyses"] == [template["arn"]] and custom["allowedResultReceivers"] == [A]
    # The base data is really there: B's CSV in its bucket, registered in its Glue catalog.
    glue = client("glue", account=B).get_table(DatabaseName="cleanrooms_demo", Name="purchases")["Table"]
    location = glue["StorageDescriptor"]["Location"]
    bucket, prefix = location.removeprefix("s3://").split("/", 1)
    keys = [o["Key"] for o in client("s3", account=B).list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert keys == [f"{prefix}part-0.csv"]


def test_two_account_walkthrough_runs_twice(emulator):
    """Buckets and Glue tables are reused; every run makes a collaboration of its own."""
    first = run_example(TWO_ACCOUNTS, emulator.url)
    second = run_example(TWO_ACCOUNTS, emulator.url)
    ids = [re.search(r"^collaboration ([0-9a-f-]{36}) ", o, re.MULTILINE).group(1) for o in (first, second)]
    assert ids[0] != ids[1]
