"""PySpark analysis templates and protected jobs: StartProtectedJob, GetProtectedJob,
ListProtectedJobs and UpdateProtectedJob, through boto3, with the template's script really run on
Spark (Sail) over two parties' data.

A (CAN_QUERY, CAN_RUN_JOB, CAN_RECEIVE_RESULTS) owns ``customers`` (``email`` is a disallowed
output column); B owns ``purchases``. Both tables carry CUSTOM rules allowing jobs (``ANY_JOB``
with A as provider). A's default job result location is ``s3://a-results/jobs/``. Expected answers
are computed in plain Python from the same rows.

Spec: shared/spec/cleanrooms.md §2.3 (StartProtectedJob rows), §3 (ProtectedJobStatus, error
codes), §4.3 (ANY_JOB, allowedAnalyses, disallowed output columns), compute limits.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import CUSTOMERS, PURCHASES, RESULTS_BUCKET, build_world, custom_rule, read_csv_rows
from athena_helpers import spark_runtime
from helpers import A, B, assert_error, call, role_arn

pytestmark = pytest.mark.usefixtures("reset")

CODE_BUCKET = "a-code"

BY_SEGMENT = '''
from pyspark.sql import functions as F
from helpers_lib import minimum


def entrypoint(context):
    tables = context["referencedTables"]
    customers, purchases = tables["customers"], tables["purchases"]
    low = minimum(context["analysisParameters"])
    joined = customers.join(purchases, "user_id").where(F.col("amount") >= low)
    out = joined.groupBy("segment").agg(F.sum("amount").alias("total"), F.count("*").alias("purchases"))
    return {"results": {"by_segment": out}}
'''

HELPERS_LIB = '''
def minimum(parameters):
    return float(parameters.get("min_amount", "0"))
'''

LEAKS_EMAIL = '''
def entrypoint(context):
    return {"results": {"leak": context["referencedTables"]["customers"].select("user_id", "email")}}
'''

RAISES = '''
def entrypoint(context):
    raise ValueError("the secret threshold was 42")
'''

SLEEPS = '''
import time


def entrypoint(context):
    time.sleep(120)
    return {"results": {"never": context["referencedTables"]["customers"]}}
'''


@pytest.fixture
def world(client):
    return make_world(client)


def make_world(client):
    """The world of this module on the server ``client`` makes clients for."""
    rule = dict(allowedAnalyses=["ANY_JOB"], allowedAnalysisProviders=[A])
    w = build_world(
        client,
        customers_rule=custom_rule(disallowedOutputColumns=["email"], **rule),
        purchases_rule=custom_rule(**rule),
        creatorMemberAbilities=["CAN_QUERY", "CAN_RUN_JOB", "CAN_RECEIVE_RESULTS"],
    )
    call(
        w.a, "UpdateMembership", membershipIdentifier=w.ma["id"],
        defaultJobResultConfiguration={
            "outputConfiguration": {"s3": {"bucket": RESULTS_BUCKET, "keyPrefix": "jobs", "resultFormat": "CSV"}},
            "roleArn": role_arn(A),
        },
    )
    w.s3a.create_bucket(Bucket=CODE_BUCKET)
    return w


def upload(world, key: str, text: str) -> dict:
    world.s3a.put_object(Bucket=CODE_BUCKET, Key=key, Body=text.encode())
    return {"location": {"bucket": CODE_BUCKET, "key": key}}


def pyspark_template(world, script: str, name: str = "job", tables=("customers", "purchases"), **extra) -> dict:
    entry = upload(world, f"{name}/main.py", script)
    lib = upload(world, f"{name}/helpers_lib.py", HELPERS_LIB)
    return call(
        world.a, "CreateAnalysisTemplate", membershipIdentifier=world.ma["id"], name=name, format="PYSPARK_1_0",
        source={"artifacts": {"entryPoint": entry, "additionalArtifacts": [lib], "roleArn": role_arn(A)}},
        schema={"referencedTables": list(tables)}, **extra,
    )["analysisTemplate"]


def start_job(world, template: dict, client=None, **kwargs) -> dict:
    job_parameters = kwargs.pop("jobParameters", {"analysisTemplateArn": template["arn"]})
    return call(
        client or world.a, "StartProtectedJob", type="PYSPARK", membershipIdentifier=world.ma["id"],
        jobParameters=job_parameters, **kwargs,
    )["protectedJob"]


def wait_job(world, job: dict, timeout: float = 180) -> dict:
    deadline = time.time() + timeout
    while True:
        got = call(world.a, "GetProtectedJob", membershipIdentifier=world.ma["id"], protectedJobIdentifier=job["id"])["protectedJob"]
        if got["status"] in ("SUCCESS", "FAILED", "CANCELLED"):
            return got
        assert time.time() < deadline, f"job {job['id']} still {got['status']}"
        time.sleep(0.2)


def jobs_of(world) -> list[dict]:
    return call(world.a, "ListProtectedJobs", membershipIdentifier=world.ma["id"])["protectedJobs"]


# --------------------------------------------------------------------------------------------
# PySpark templates
# --------------------------------------------------------------------------------------------


def test_pyspark_template_records_the_sha256_of_its_artifacts(world):
    t = pyspark_template(world, BY_SEGMENT)
    meta = t["sourceMetadata"]["artifacts"]
    assert meta["entryPointHash"] == {"sha256": hashlib.sha256(BY_SEGMENT.encode()).hexdigest()}
    assert meta["additionalArtifactHashes"] == [{"sha256": hashlib.sha256(HELPERS_LIB.encode()).hexdigest()}]
    seen = call(world.b, "GetCollaborationAnalysisTemplate", collaborationIdentifier=world.collaboration["id"],
                analysisTemplateArn=t["arn"])["collaborationAnalysisTemplate"]
    assert seen["sourceMetadata"] == t["sourceMetadata"]


def test_pyspark_template_with_a_missing_artifact_is_refused(world):
    with pytest.raises(ClientError) as e:
        call(
            world.a, "CreateAnalysisTemplate", membershipIdentifier=world.ma["id"], name="missing", format="PYSPARK_1_0",
            source={"artifacts": {"entryPoint": {"location": {"bucket": CODE_BUCKET, "key": "nope.py"}}, "roleArn": role_arn(A)}},
            schema={"referencedTables": ["customers"]},
        )
    assert_error(e, "ValidationException", 400, f"s3://{CODE_BUCKET}/nope.py")
    listed = call(world.a, "ListAnalysisTemplates", membershipIdentifier=world.ma["id"])["analysisTemplateSummaries"]
    assert listed == []


# --------------------------------------------------------------------------------------------
# Validation and access (no Spark needed: nothing runs)
# --------------------------------------------------------------------------------------------


def test_bad_inputs_get_the_services_errors_and_change_nothing(world, client):
    t = pyspark_template(world, BY_SEGMENT)
    raw = client("cleanrooms", account=A, validate=False)
    base = {"type": "PYSPARK", "membershipIdentifier": world.ma["id"], "jobParameters": {"analysisTemplateArn": t["arn"]}}
    worker = {"type": "CR.1X", "number": 4}
    cases = [
        ({"computeConfiguration": {"worker": {**worker, "number": 2}}}, "ValidationException", 400),
        ({"computeConfiguration": {"worker": {**worker, "number": 1025}}}, "ValidationException", 400),
        ({"computeConfiguration": {"worker": {**worker, "type": "CR.8X"}}}, "ValidationException", 400),
        ({"computeConfiguration": {"worker": {**worker, "properties": {"spark": {f"spark.k{i}": "v" for i in range(51)}}}}},
         "ValidationException", 400),
        ({"type": "SQL"}, "ValidationException", 400),
        ({"jobParameters": {}}, "ValidationException", 400),
        ({"resultConfiguration": {"outputConfiguration": {"member": {"accountId": B}}}}, "ValidationException", 400),
        ({"jobComputePayerAccountId": B}, "ValidationException", 400),
    ]
    for extra, code, status in cases:
        with pytest.raises(ClientError) as e:
            raw.start_protected_job(**{**base, **extra})
        assert_error(e, code, status)
    unknown = t["arn"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    with pytest.raises(ClientError) as e:
        start_job(world, t, jobParameters={"analysisTemplateArn": unknown})
    assert_error(e, "ResourceNotFoundException", 404)
    sql = call(world.a, "CreateAnalysisTemplate", membershipIdentifier=world.ma["id"], name="sql", format="SQL",
               source={"text": "SELECT COUNT(*) FROM customers"})["analysisTemplate"]
    with pytest.raises(ClientError) as e:
        start_job(world, sql)
    assert_error(e, "ValidationException", 400, "SQL")
    assert jobs_of(world) == []


def test_only_the_member_who_can_run_jobs_may_start_one(world):
    t = pyspark_template(world, BY_SEGMENT)
    with pytest.raises(ClientError) as e:
        call(world.b, "StartProtectedJob", type="PYSPARK", membershipIdentifier=world.mb["id"],
             jobParameters={"analysisTemplateArn": t["arn"]})
    assert_error(e, "AccessDeniedException", 403, "CAN_RUN_JOB")
    with pytest.raises(ClientError) as e:
        call(world.b, "StartProtectedJob", type="PYSPARK", membershipIdentifier=world.ma["id"],
             jobParameters={"analysisTemplateArn": t["arn"]})
    assert_error(e, "ResourceNotFoundException", 404)
    assert jobs_of(world) == []


def test_a_table_whose_rule_does_not_allow_the_template_refuses_the_job(world):
    [s] = [x for x in call(world.b, "ListConfiguredTables")["configuredTableSummaries"]]
    call(world.b, "UpdateConfiguredTableAnalysisRule", configuredTableIdentifier=s["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy=custom_rule(allowedAnalyses=["ANY_QUERY"], allowedAnalysisProviders=[A]))
    t = pyspark_template(world, BY_SEGMENT)
    with pytest.raises(ClientError) as e:
        start_job(world, t)
    assert_error(e, "ValidationException", 400, "purchases", "ANY_JOB")
    assert jobs_of(world) == []


# --------------------------------------------------------------------------------------------
# Jobs that run
# --------------------------------------------------------------------------------------------


def expected_by_segment(min_amount: float) -> dict[str, tuple[float, int]]:
    segment = {u: s for u, _, s in CUSTOMERS}
    out: dict[str, list] = defaultdict(lambda: [0.0, 0])
    for user, amount, _ in PURCHASES:
        if user in segment and amount >= min_amount:
            out[segment[user]][0] += amount
            out[segment[user]][1] += 1
    return {k: (round(v[0], 6), v[1]) for k, v in out.items()}


def test_a_pyspark_job_joins_both_parties_tables_and_delivers_its_result(world):
    spark_runtime()
    t = pyspark_template(world, BY_SEGMENT)
    job = start_job(
        world, t,
        jobParameters={"analysisTemplateArn": t["arn"], "parameters": {"min_amount": "5"}},
        computeConfiguration={"worker": {"type": "CR.1X", "number": 4,
                                         "properties": {"spark": {"spark.sql.shuffle.partitions": "4"}}}},
    )
    assert job["status"] == "SUBMITTED" and job["jobComputePayerAccountId"] == A
    assert job["resultConfiguration"] == {"outputConfiguration": {"s3": {"bucket": RESULTS_BUCKET, "keyPrefix": "jobs"}}}
    done = wait_job(world, job)
    assert done["status"] == "SUCCESS", done.get("error")
    assert done["statistics"]["totalDurationInMillis"] > 0
    location = done["result"]["output"]["s3"]["location"]
    assert location == f"s3://{RESULTS_BUCKET}/jobs/{job['id']}/"
    header, rows = read_csv_rows(world.s3a, location + "by_segment/")
    assert sorted(header) == ["purchases", "segment", "total"]
    got = {r[header.index("segment")]: (round(float(r[header.index("total")]), 6), int(r[header.index("purchases")]))
           for r in rows}
    assert got == expected_by_segment(5.0)
    [summary] = jobs_of(world)
    assert summary["id"] == job["id"] and summary["status"] == "SUCCESS"
    assert summary["receiverConfigurations"][0]["analysisType"] == "DIRECT_ANALYSIS"


def test_a_job_returning_a_disallowed_column_fails_and_writes_nothing(world):
    spark_runtime()
    t = pyspark_template(world, LEAKS_EMAIL, name="leak", tables=("customers",))
    done = wait_job(world, start_job(world, t))
    assert done["status"] == "FAILED"
    assert done["error"]["code"] == "INVALID_RESOURCE" and "email" in done["error"]["message"]
    listed = world.s3a.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix=f"jobs/{done['id']}/")
    assert listed.get("KeyCount", 0) == 0


def test_script_errors_are_detailed_only_when_the_template_says_so(world):
    spark_runtime()
    quiet = pyspark_template(world, RAISES, name="quiet", tables=("customers",))
    loud = pyspark_template(world, RAISES, name="loud", tables=("customers",),
                            errorMessageConfiguration={"type": "DETAILED"})
    q = wait_job(world, start_job(world, quiet))
    d = wait_job(world, start_job(world, loud))
    assert q["status"] == d["status"] == "FAILED"
    assert q["error"]["code"] == d["error"]["code"] == "MALFORMED_SCRIPT"
    assert "42" not in q["error"]["message"]
    assert "ValueError: the secret threshold was 42" in d["error"]["message"]


def test_cancel_stops_a_running_job(world):
    spark_runtime()
    t = pyspark_template(world, SLEEPS, name="sleeps", tables=("customers",))
    job = start_job(world, t)
    deadline = time.time() + 30
    while call(world.a, "GetProtectedJob", membershipIdentifier=world.ma["id"],
               protectedJobIdentifier=job["id"])["protectedJob"]["status"] == "SUBMITTED":
        assert time.time() < deadline
        time.sleep(0.1)
    updated = call(world.a, "UpdateProtectedJob", membershipIdentifier=world.ma["id"], protectedJobIdentifier=job["id"],
                   targetStatus="CANCELLED")["protectedJob"]
    assert updated["status"] in ("CANCELLING", "CANCELLED")
    assert wait_job(world, job, timeout=30)["status"] == "CANCELLED"
    with pytest.raises(ClientError) as e:
        call(world.a, "UpdateProtectedJob", membershipIdentifier=world.ma["id"], protectedJobIdentifier=job["id"],
             targetStatus="CANCELLED")
    assert_error(e, "ConflictException", 409)
    assert [j["status"] for j in call(world.a, "ListProtectedJobs", membershipIdentifier=world.ma["id"],
                                      status="CANCELLED")["protectedJobs"]] == ["CANCELLED"]


def job_processes(job_id: str) -> list[int]:
    """Pids of live processes whose command line names job ``job_id``'s work folder."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if job_id in cmdline and "job.py" in cmdline:
            pids.append(int(entry))
    return pids


def test_a_job_running_when_the_emulator_is_killed_fails_after_restart(fresh_emulator):
    spark_runtime()
    world = make_world(fresh_emulator.client)
    t = pyspark_template(world, SLEEPS, name="sleeps", tables=("customers",))
    job = start_job(world, t)
    deadline = time.time() + 30
    while not job_processes(job["id"]):
        assert time.time() < deadline, "the job's Spark process never started"
        time.sleep(0.1)
    fresh_emulator.kill9()
    deadline = time.time() + 15
    while job_processes(job["id"]):
        assert time.time() < deadline, "the job's Spark process outlived the emulator"
        time.sleep(0.1)
    fresh_emulator.start()
    a = fresh_emulator.client("cleanrooms", account=A)
    got = call(a, "GetProtectedJob", membershipIdentifier=world.ma["id"], protectedJobIdentifier=job["id"])["protectedJob"]
    assert got["status"] == "FAILED"
    assert got["error"]["code"] == "INTERNAL_ERROR" and "stopped" in got["error"]["message"]
    assert not (fresh_emulator.data_dir / "cleanrooms" / "jobs" / job["id"]).exists()


def test_results_can_go_to_another_member(client):
    spark_runtime()
    rule = dict(allowedAnalyses=["ANY_JOB"], allowedAnalysisProviders=[A])
    w = build_world(
        client,
        customers_rule=custom_rule(disallowedOutputColumns=["email"], **rule),
        purchases_rule=custom_rule(**rule),
        creatorMemberAbilities=["CAN_QUERY", "CAN_RUN_JOB", "CAN_RECEIVE_RESULTS"],
        b_abilities=("CAN_RECEIVE_RESULTS",),
    )
    w.s3a.create_bucket(Bucket=CODE_BUCKET)
    t = pyspark_template(w, BY_SEGMENT)
    member_output = {"outputConfiguration": {"member": {"accountId": B}}}
    # B has no default job result location yet: the job has nowhere to deliver.
    with pytest.raises(ClientError) as e:
        start_job(w, t, resultConfiguration=member_output)
    assert_error(e, "ValidationException", 400, B, "defaultJobResultConfiguration")
    w.s3b.create_bucket(Bucket="b-job-results")
    call(w.b, "UpdateMembership", membershipIdentifier=w.mb["id"], defaultJobResultConfiguration={
        "outputConfiguration": {"s3": {"bucket": "b-job-results", "keyPrefix": "in"}}, "roleArn": role_arn(B)})
    job = start_job(w, t, resultConfiguration=member_output)
    done = wait_job(w, job)
    assert done["status"] == "SUCCESS", done.get("error")
    assert done["result"]["output"] == {"memberList": [{"accountId": B}]}
    header, rows = read_csv_rows(w.s3b, f"s3://b-job-results/in/{job['id']}/by_segment/")
    got = {r[header.index("segment")]: (round(float(r[header.index("total")]), 6), int(r[header.index("purchases")]))
           for r in rows}
    assert got == expected_by_segment(0.0)
    # B, receiving the results, reads the job through its own membership but cannot cancel it.
    seen = call(w.b, "GetProtectedJob", membershipIdentifier=w.mb["id"], protectedJobIdentifier=job["id"])["protectedJob"]
    assert seen["id"] == job["id"] and seen["status"] == "SUCCESS"
    assert [j["id"] for j in call(w.b, "ListProtectedJobs", membershipIdentifier=w.mb["id"])["protectedJobs"]] == [job["id"]]
    with pytest.raises(ClientError) as e:
        call(w.b, "UpdateProtectedJob", membershipIdentifier=w.mb["id"], protectedJobIdentifier=job["id"], targetStatus="CANCELLED")
    assert_error(e, "AccessDeniedException", 403)


def test_a_membership_has_one_ongoing_job_at_a_time(world):
    spark_runtime()
    t = pyspark_template(world, SLEEPS, name="sleeps", tables=("customers",))
    first = start_job(world, t)
    before = [j["id"] for j in jobs_of(world)]
    with pytest.raises(ClientError) as e:
        start_job(world, t)
    response = assert_error(e, "ServiceQuotaExceededException", 402, "1")
    assert response["quotaValue"] == 1 and "jobs" in response["quotaName"]
    assert [j["id"] for j in jobs_of(world)] == before  # nothing stored
    call(world.a, "UpdateProtectedJob", membershipIdentifier=world.ma["id"], protectedJobIdentifier=first["id"],
         targetStatus="CANCELLED")
    assert wait_job(world, first, timeout=30)["status"] == "CANCELLED"
    # An ended job frees the place.
    second = start_job(world, t)
    call(world.a, "UpdateProtectedJob", membershipIdentifier=world.ma["id"], protectedJobIdentifier=second["id"],
         targetStatus="CANCELLED")
    assert wait_job(world, second, timeout=30)["status"] == "CANCELLED"


def test_a_job_whose_artifact_is_gone_fails_and_jobs_list_newest_first(world):
    t = pyspark_template(world, BY_SEGMENT)
    world.s3a.delete_object(Bucket=CODE_BUCKET, Key="job/main.py")
    started = []
    for _ in range(3):  # one after the other: a membership has at most one ongoing job
        started.append(start_job(world, t))
        wait_job(world, started[-1])
    for job in started:
        done = wait_job(world, job)
        assert done["status"] == "FAILED"
        assert done["error"]["code"] == "RESOURCE_NOT_FOUND" and f"s3://{CODE_BUCKET}/job/main.py" in done["error"]["message"]
    first = call(world.a, "ListProtectedJobs", membershipIdentifier=world.ma["id"], maxResults=2)
    second = call(world.a, "ListProtectedJobs", membershipIdentifier=world.ma["id"], maxResults=2, nextToken=first["nextToken"])
    assert "nextToken" not in second
    listed = [j["id"] for j in first["protectedJobs"] + second["protectedJobs"]]
    assert listed == [j["id"] for j in reversed(started)]
    assert call(world.a, "ListProtectedJobs", membershipIdentifier=world.ma["id"], status="SUCCESS")["protectedJobs"] == []
    with pytest.raises(ClientError) as e:
        call(world.a, "ListProtectedJobs", membershipIdentifier=world.ma["id"], status="FAILED", nextToken=first["nextToken"])
    assert_error(e, "ValidationException", 400)


COUNTS_EMPTY = '''
def entrypoint(context):
    nobody = context["referencedTables"]["nobody"]
    if nobody.columns != ["user_id", "segment"]:
        raise ValueError(f"columns {nobody.columns}")
    return {"results": {"n": nobody.groupBy().count()}}
'''


def test_a_job_reads_an_empty_table_with_its_columns(world, client):
    spark_runtime()
    world.s3a.put_object(Bucket="a-data", Key="nobody/part-0.csv", Body=b"user_id,segment\n")
    client("glue", account=A).create_table(DatabaseName="crm", TableInput={
        "Name": "nobody", "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {"Location": "s3://a-data/nobody/",
                              "Columns": [{"Name": "user_id", "Type": "string"}, {"Name": "segment", "Type": "string"}]},
    })
    table = call(world.a, "CreateConfiguredTable", name="nobody-table",
                 tableReference={"glue": {"databaseName": "crm", "tableName": "nobody"}},
                 allowedColumns=["user_id", "segment"], analysisMethod="DIRECT_QUERY")["configuredTable"]
    call(world.a, "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy=custom_rule(allowedAnalyses=["ANY_JOB"], allowedAnalysisProviders=[A]))
    call(world.a, "CreateConfiguredTableAssociation", membershipIdentifier=world.ma["id"], name="nobody",
         configuredTableIdentifier=table["id"], roleArn=role_arn(A))
    t = pyspark_template(world, COUNTS_EMPTY, name="counts", tables=("nobody",),
                         errorMessageConfiguration={"type": "DETAILED"})
    done = wait_job(world, start_job(world, t))
    assert done["status"] == "SUCCESS", done.get("error")
    header, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"] + "n/")
    assert header == ["count"] and rows == [["0"]]


def test_a_differential_privacy_table_refuses_jobs(world):
    [s] = [x for x in call(world.b, "ListConfiguredTables")["configuredTableSummaries"]]
    call(world.b, "UpdateConfiguredTableAnalysisRule", configuredTableIdentifier=s["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy=custom_rule(allowedAnalyses=["ANY_JOB"], allowedAnalysisProviders=[A],
                                        differentialPrivacy={"columns": [{"name": "user_id"}]}))
    t = pyspark_template(world, BY_SEGMENT)
    with pytest.raises(ClientError) as e:
        start_job(world, t)
    assert_error(e, "ValidationException", 400, "purchases", "differential privacy")
    assert jobs_of(world) == []


SHOWS_CONF = '''
def entrypoint(context):
    spark = context["sparkSession"]
    row = [(spark.conf.get("spark.sql.session.timeZone"), spark.conf.get("spark.cleanrooms.test.flag"))]
    return {"results": {"conf": spark.createDataFrame(row, ["tz", "flag"])}}
'''


def test_spark_properties_reach_the_jobs_session(world):
    spark_runtime()
    t = pyspark_template(world, SHOWS_CONF, name="conf", tables=("customers",), errorMessageConfiguration={"type": "DETAILED"})
    job = start_job(world, t, computeConfiguration={"worker": {"type": "CR.4X", "number": 8, "properties": {"spark": {
        "spark.cleanrooms.test.flag": "on", "spark.sql.shuffle.partitions": "3"}}}})
    done = wait_job(world, job)
    assert done["status"] == "SUCCESS", done.get("error")
    assert done["computeConfiguration"]["worker"]["properties"]["spark"]["spark.cleanrooms.test.flag"] == "on"
    assert done["statistics"]["billedResourceUtilization"]["units"] >= 0
    header, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"] + "conf/")
    assert dict(zip(header, rows[0])) == {"tz": "UTC", "flag": "on"}


SPEND_SQL = (
    "SELECT c.user_id, c.segment, SUM(p.amount) AS total "
    "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.user_id, c.segment"
)

SEGMENT_TOTALS = '''
from pyspark.sql import functions as F


def entrypoint(context):
    spend = context["referencedTables"]["spend"]
    return {"results": {"totals": spend.groupBy("segment").agg(F.sum("total").alias("total"))}}
'''


def test_a_job_reads_an_intermediate_table(client):
    spark_runtime()
    rule = dict(allowedAnalyses=["ANY_QUERY", "ANY_JOB"], allowedAnalysisProviders=[A])
    w = build_world(client, customers_rule=custom_rule(**rule), purchases_rule=custom_rule(**rule),
                    creatorMemberAbilities=["CAN_QUERY", "CAN_RUN_JOB", "CAN_RECEIVE_RESULTS"])
    call(w.a, "UpdateMembership", membershipIdentifier=w.ma["id"], defaultJobResultConfiguration={
        "outputConfiguration": {"s3": {"bucket": RESULTS_BUCKET, "keyPrefix": "jobs"}}, "roleArn": role_arn(A)})
    w.s3a.create_bucket(Bucket=CODE_BUCKET)
    table = call(w.a, "CreateIntermediateTable", membershipIdentifier=w.ma["id"], name="spend",
                 populationAnalysisConfiguration={"sqlParameters": {"queryString": SPEND_SQL}})["intermediateTable"]
    populated = call(w.a, "PopulateIntermediateTable", membershipIdentifier=w.ma["id"], intermediateTableIdentifier=table["id"])
    deadline = time.time() + 60
    while call(w.a, "GetProtectedQuery", membershipIdentifier=w.ma["id"],
               protectedQueryIdentifier=populated["analysisId"])["protectedQuery"]["status"] != "SUCCESS":
        assert time.time() < deadline
        time.sleep(0.1)
    call(w.a, "CreateIntermediateTableAnalysisRule", membershipIdentifier=w.ma["id"], intermediateTableIdentifier=table["id"],
         analysisRuleType="CUSTOM", analysisRulePolicy=custom_rule(allowedAnalyses=["ANY_JOB"], allowedAnalysisProviders=[A]))
    t = pyspark_template(w, SEGMENT_TOTALS, name="totals", tables=("spend",), errorMessageConfiguration={"type": "DETAILED"})
    done = wait_job(w, start_job(w, t))
    assert done["status"] == "SUCCESS", done.get("error")
    header, rows = read_csv_rows(w.s3a, done["result"]["output"]["s3"]["location"] + "totals/")
    got = {r[header.index("segment")]: round(float(r[header.index("total")]), 6) for r in rows}
    expected = {k: v[0] for k, v in expected_by_segment(0.0).items()}
    assert got == expected
