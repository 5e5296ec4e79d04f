"""Table services through the real Onehouse SDK (`onehouse-python-sdk[resources]` 0.3.0) on
Delta tables written with the `deltalake` package, in file:// lakes: lakes, databases and
tables; every table-service statement with its response shape; each service's effect checked on
the Delta table itself; AUTOMATIC runs; pause, resume and cancel; the error paths."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from deltalake import DeltaTable
from onehouse_python_sdk.resources.exceptions import (
    AuthError,
    OperationFailedError,
    ResourcesError,
    SqlParseError,
)

from onehouse_helpers import (
    Lake,
    count_rows,
    data_files_on_disk,
    history,
    new_account,
    rows,
    run,
    run_and_wait,
    sdk,
    small_files_table,
    start_held_compaction,
    wait_run,
    write,
)

RUN_ID_KEY = "onehouse.tableServiceRunId"


@pytest.fixture
def oh(emulator):
    """An SDK client of a fresh account on the shared emulator."""
    return sdk(emulator.url, new_account())


@pytest.fixture
def lake(oh, tmp_path):
    return Lake(oh, tmp_path / "lake")


def invalid(call, *args, **kwargs) -> str:
    """Calls `call`, which must end INVALID; returns the error message."""
    with pytest.raises(OperationFailedError) as info:
        call(*args, **kwargs)
    assert getattr(info.value.api_status, "value", info.value.api_status) == "API_OPERATION_STATUS_INVALID", info.value
    message = info.value.api_response["errorMessage"]
    assert message
    return message


# -- lakes, databases, tables -------------------------------------------------------------------


def test_lakes_databases_and_tables(oh, tmp_path):
    root = tmp_path / "lake"
    root.mkdir()
    oh.create_lake("analytics", lake_type="managed", bucket_path=f"file://{root}", default_services_cluster="svc")
    lakes = oh.show_lakes().api_response["showLakesApiResponse"]["lakes"]
    assert [(l["name"], l["lakeType"], l["bucketPath"], l["defaultServicesCluster"]) for l in lakes] == [
        ("analytics", "MANAGED", f"file://{root}", "svc")
    ]
    assert lakes[0]["createdAt"].endswith("Z")
    oh.alter_lake("analytics", default_services_cluster="svc2")
    assert oh.show_lakes().api_response["showLakesApiResponse"]["lakes"][0]["defaultServicesCluster"] == "svc2"

    oh.create_database("events", lake="analytics")
    assert (root / "events").is_dir()
    dbs = oh.show_databases(lake="analytics").api_response["showDatabasesApiResponse"]["databases"]
    assert [(d["name"], d["lake"]) for d in dbs] == [("events", "analytics")]
    assert oh.show_tables(lake="analytics", database="events").api_response == {
        "showTablesApiResponse": {"tables": []}
    }

    write(root / "events" / "page_views", rows(0, 5), partition_by=["part"])
    write(root / "events" / "page_views", rows(5, 5), partition_by=["part"])
    (root / "events" / "not_delta").mkdir()
    tables = oh.show_tables(lake="analytics", database="events").api_response["showTablesApiResponse"]["tables"]
    assert tables == [
        {
            "name": "page_views",
            "lake": "analytics",
            "database": "events",
            "tableFormat": "DELTA",
            "path": f"file://{root}/events/page_views/",
            "tableVersion": "1",
            "servicesCluster": "svc2",
            "partitionColumns": ["part"],
        }
    ]

    # Names are unique across lakes; deleting needs CASCADE while tables exist.
    other = tmp_path / "other"
    other.mkdir()
    oh.create_lake("other", lake_type="OBSERVED", bucket_path=f"file://{other}", default_services_cluster="svc")
    assert "already exists" in invalid(oh.create_database, "events", lake="other")
    assert "dependent table" in invalid(oh.delete_database, "events", lake="analytics")
    assert "CASCADE" in invalid(oh.delete_lake, "analytics")
    oh.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", lake="analytics", database="events", table="page_views")
    oh.delete_database("events", lake="analytics", cascade=True)
    assert oh.show_databases(lake="analytics").api_response["showDatabasesApiResponse"]["databases"] == []
    assert (root / "events" / "page_views" / "_delta_log").is_dir(), "CASCADE removes metadata, never data"
    oh.create_database("events", lake="analytics")
    assert oh.show_table_services(lake="analytics", database="events", table="page_views").api_response == {
        "showTableServicesApiResponse": {"tableServices": []}
    }
    oh.delete_lake("analytics", cascade=True)
    oh.delete_lake("other")
    assert oh.show_lakes().api_response == {"showLakesApiResponse": {"lakes": []}}


def test_lake_errors(oh, tmp_path):
    assert "not an existing directory" in invalid(
        oh.create_lake, "l1", lake_type="OBSERVED", bucket_path=f"file://{tmp_path}/missing", default_services_cluster="s"
    )
    assert "LAKE_TYPE" in invalid(
        oh.create_lake, "l1", lake_type="EXTERNAL", bucket_path=f"file://{tmp_path}", default_services_cluster="s", unsafe_raw=True
    )
    assert "BUCKET_PATH" in invalid(
        oh.create_lake, "l1", lake_type="OBSERVED", bucket_path="hdfs://x/y", default_services_cluster="s"
    )
    assert "does not exist" in invalid(
        oh.create_lake, "l1", lake_type="OBSERVED", bucket_path="s3://no-such-bucket-here/x", default_services_cluster="s"
    )
    oh.create_lake("l1", lake_type="OBSERVED", bucket_path=f"file://{tmp_path}", default_services_cluster="s")
    assert "already exists" in invalid(
        oh.create_lake, "L1", lake_type="OBSERVED", bucket_path=f"file://{tmp_path}", default_services_cluster="s"
    )
    assert "Lake 'nope' does not exist" in invalid(oh.show_databases, lake="nope")
    assert "does not exist" in invalid(oh.show_tables, lake="l1", database="nope")
    assert "Invalid database name" in invalid(oh.create_database, "..", lake="l1", unsafe_raw=True)
    assert not (tmp_path.parent / "x").exists()


def test_resources_are_scoped_by_account_and_project(emulator, tmp_path):
    account = new_account()
    mine = sdk(emulator.url, account, "p1")
    mine.create_lake("scoped", lake_type="OBSERVED", bucket_path=f"file://{tmp_path}", default_services_cluster="s")
    request_id = mine.submit("SHOW LAKES").request_id
    for other in (sdk(emulator.url, account, "p2"), sdk(emulator.url, new_account(), "p1")):
        assert other.show_lakes().api_response == {"showLakesApiResponse": {"lakes": []}}
        with pytest.raises(ResourcesError, match="404"):
            other.get_status(request_id)
    assert mine.get_status(request_id).api_response["showLakesApiResponse"]["lakes"][0]["name"] == "scoped"


# -- table-service statements ------------------------------------------------------------------


def test_service_statements_and_shapes(oh, lake):
    small_files_table(lake.path("t1"), 2)
    key = lake.key("t1")
    created = oh.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", options={"compaction.max.bytes": 1048576}, **key)
    assert created.api_response == {"createTableServiceApiResponse": {}}
    # The SDK sends enum values verbatim: the server compares them case-insensitively.
    oh.create_table_service(service="clean", trigger_mode="on_demand", options={"cleaner.retention.days": 0}, **key)
    oh.create_table_service(service="CLUSTER", options={"cluster.field.names": "id", "cluster.frequency": 4}, **key)

    described = oh.describe_table_service(service="COMPACT", **key).api_response
    service = described["describeTableServiceApiResponse"]["tableService"]
    assert service["lake"] == lake.name and service["database"] == lake.database and service["table"] == "t1"
    assert service["service"] == "COMPACT"
    assert service["triggerMode"] == "ON_DEMAND"
    assert service["status"] == "TABLE_SERVICE_STATUS_ACTIVE"
    assert service["servicesCluster"] == "svc"
    assert service["options"] == {"compaction.max.bytes": "1048576"}
    assert service["effectiveOptions"] == {"compaction.max.bytes": "1048576", "compaction.frequency": "5"}
    assert service["createdBy"] == "tester", "x-onehouse-uuid (the SDK's user uid)"
    assert service["commitsSinceLastRun"] == "0"
    assert "lastRun" not in service

    cluster = oh.describe_table_service(service="CLUSTER", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert cluster["triggerMode"] == "AUTOMATIC", "TRIGGER_MODE defaults to AUTOMATIC"

    listed = oh.show_table_services(**key).api_response["showTableServicesApiResponse"]["tableServices"]
    assert [(s["service"], s["triggerMode"], s["status"]) for s in listed] == [
        ("COMPACT", "ON_DEMAND", "TABLE_SERVICE_STATUS_ACTIVE"),
        ("CLEAN", "ON_DEMAND", "TABLE_SERVICE_STATUS_ACTIVE"),
        ("CLUSTER", "AUTOMATIC", "TABLE_SERVICE_STATUS_ACTIVE"),
    ]

    # ALTER: trigger mode replaced, options merged.
    altered = oh.alter_table_service(service="COMPACT", trigger_mode="AUTOMATIC", options={"compaction.frequency": "3"}, **key)
    assert altered.api_response == {"alterTableServiceApiResponse": {}}
    service = oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["triggerMode"] == "AUTOMATIC"
    assert service["options"] == {"compaction.max.bytes": "1048576", "compaction.frequency": "3"}

    # PAUSE / RESUME, and RUN refused while paused.
    assert oh.pause_table_service(service="COMPACT", **key).api_response == {"pauseTableServiceApiResponse": {}}
    oh.pause_table_service(service="COMPACT", **key)  # already paused: a no-op success
    assert (
        oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]["status"]
        == "TABLE_SERVICE_STATUS_PAUSED"
    )
    assert "paused" in invalid(oh.run_service_in_table, "t1", lake=lake.name, database=lake.database, service="COMPACT")
    assert oh.resume_table_service(service="COMPACT", **key).api_response == {"resumeTableServiceApiResponse": {}}
    assert "not paused" in invalid(oh.resume_table_service, service="COMPACT", **key)

    # ALTER SERVICES_CLUSTER IN TABLE.
    response = oh.alter_services_cluster_in_table("t1", lake=lake.name, database=lake.database, services_cluster="svc2")
    assert response.api_response == {"alterServicesClusterInTableApiResponse": {}}
    listed = oh.show_table_services(**key).api_response["showTableServicesApiResponse"]["tableServices"]
    assert {s["servicesCluster"] for s in listed} == {"svc2"}

    # DELETE TABLE_SERVICE (not wrapped by the SDK: raw statement).
    deleted = oh.execute(
        f"DELETE TABLE_SERVICE LAKE = '{lake.name}' DATABASE = '{lake.database}' TABLE = 't1' SERVICE = 'CLEAN'"
    )
    assert deleted.api_response == {"deleteTableServiceApiResponse": {}}
    assert [s["service"] for s in oh.show_table_services(**key).api_response["showTableServicesApiResponse"]["tableServices"]] == [
        "COMPACT",
        "CLUSTER",
    ]
    assert oh.show_runs_in_table_service(service="COMPACT", **key).api_response == {
        "showRunsInTableServiceApiResponse": {"tableServiceRuns": []}
    }


def test_service_errors(oh, lake):
    small_files_table(lake.path("t1"), 1)
    key = lake.key("t1")
    assert "does not exist" in invalid(oh.create_table_service, service="COMPACT", lake="nope", database=lake.database, table="t1")
    assert "does not exist" in invalid(oh.create_table_service, service="COMPACT", lake=lake.name, database="nope", table="t1")
    assert "Table 'missing' does not exist" in invalid(oh.create_table_service, service="COMPACT", lake=lake.name, database=lake.database, table="missing")
    oh.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", **key)
    assert "already exists" in invalid(oh.create_table_service, service="COMPACT", **key)
    assert "TRIGGER_MODE" in invalid(oh.alter_table_service, service="COMPACT", trigger_mode="SOMETIMES", unsafe_raw=True, **key)
    assert "compaction.max.bytes" in invalid(oh.alter_table_service, service="COMPACT", trigger_mode="ON_DEMAND", options={"compaction.max.bytes": "lots"}, **key)
    assert "belongs to the CLEAN service" in invalid(oh.alter_table_service, service="COMPACT", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": "1"}, **key)
    assert "cluster.field.names" in invalid(oh.create_table_service, service="CLUSTER", **key)
    assert "Unknown catalog" in invalid(oh.create_table_service, service="METASYNC", options={"metasync.catalogs": "hive"}, **key)
    assert "Unknown service 'VACUUM'" in invalid(oh.run_service_in_table, "t1", lake=lake.name, database=lake.database, service="VACUUM", unsafe_raw=True)
    for method in (oh.describe_table_service, oh.pause_table_service, oh.resume_table_service, oh.cancel_table_service, oh.show_runs_in_table_service):
        assert "does not exist" in invalid(method, service="CLEAN", **key)
    assert "does not exist" in invalid(oh.run_service_in_table, "t1", lake=lake.name, database=lake.database, service="CLEAN")
    assert "has no active run" in invalid(oh.cancel_table_service, service="COMPACT", **key)
    assert "no savepoint" in invalid(oh.run_service_in_table, "t1", lake=lake.name, database=lake.database, service="RESTORE")
    # Nothing above changed anything.
    assert [s["service"] for s in oh.show_table_services(**key).api_response["showTableServicesApiResponse"]["tableServices"]] == ["COMPACT"]
    assert DeltaTable(str(lake.path("t1"))).version() == 0

    # The table's files removed: its services can still be seen and deleted, nothing starts.
    import shutil

    shutil.rmtree(lake.path("t1"))
    assert oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]["service"] == "COMPACT"
    assert "Table 't1' does not exist" in invalid(oh.run_service_in_table, "t1", lake=lake.name, database=lake.database, service="COMPACT")
    assert "Table 't1' does not exist" in invalid(oh.describe_table_service, service="CLEAN", **key)
    oh.execute(f"DELETE TABLE_SERVICE LAKE = '{lake.name}' DATABASE = '{lake.database}' TABLE = 't1' SERVICE = 'COMPACT'")
    assert "Table 't1' does not exist" in invalid(oh.show_table_services, **key)


def test_syntax_and_credential_errors(oh, emulator):
    for bad in ("SHOW LAKES;", "DROP LAKE `x`", "SHOW DATABASES", "SHOW DATABASES LAKE = 'a' LAKE = 'b'", "SHOW LAKES 'x"):
        with pytest.raises(SqlParseError) as info:
            oh.execute(bad)
        assert "Invalid sql query" in str(info.value), bad
    with pytest.raises(SqlParseError, match=r"line 2, column"):
        oh.execute("SHOW DATABASES\n  LAKE = 'x' COLOR = 'red'")
    with pytest.raises(ResourcesError, match="404"):
        oh.get_status("no-such-request")

    def post(headers: dict[str, str], body: bytes = b'{"statement": "SHOW LAKES"}', path: str = "/v1/resource"):
        request = urllib.request.Request(emulator.url + path, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    base = {"x-onehouse-account-uid": "acct", "x-onehouse-project-uid": "p", "Content-Type": "application/json"}
    status, headers, body = post(base)
    assert status == 401 and headers["grpc-message"] == "missing%20header%20x%2Donehouse%2Dapi%2Dkey"
    status, _, body = post({**base, "Authorization": "Bearer tok"})
    assert status == 200 and body["requestId"], "bearer mode needs no key"
    status, _, _ = post({**base, "x-onehouse-api-key": "k", "x-onehouse-api-secret": "s"}, body=b"not json")
    assert status == 400
    status, _, body = post({**base, "x-onehouse-api-key": "k", "x-onehouse-api-secret": "s"}, path="/prefix/v1/resource/")
    assert status == 200 and body["requestId"], "a base-URL path prefix survives"


def test_s3_paths_under_v1_stay_s3(emulator):
    """Only requests carrying x-onehouse-account-uid are the Resources API: the same paths
    without it (an S3 path-style request for bucket `v1`) are answered by S3."""

    def get(path: str, headers: dict[str, str]):
        request = urllib.request.Request(emulator.url + path, method="GET", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read()

    status, content_type, body = get("/v1/status/abc", {})
    assert b"<Error>" in body and "xml" in content_type, (status, body)
    headers = {"x-onehouse-account-uid": "a", "x-onehouse-project-uid": "p", "x-onehouse-api-key": "k", "x-onehouse-api-secret": "s"}
    status, content_type, body = get("/v1/status/abc", headers)
    assert status == 404 and json.loads(body)["message"] == "request abc not found"


# -- services on the Delta table ---------------------------------------------------------------


def test_compact_rewrites_small_files(oh, lake):
    path = lake.path("events")
    small_files_table(path, 12)
    key = lake.key("events")
    oh.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", options={"compaction.max.bytes": 268435456}, **key)
    before = DeltaTable(str(path))
    assert len(before.file_uris()) == 12 and before.version() == 11

    response = oh.run_service_in_table("events", lake=lake.name, database=lake.database, service="COMPACT")
    started = response.api_response["runServiceInTableApiResponse"]
    assert started["service"] == "COMPACT"
    assert started["status"] in ("TABLE_SERVICE_RUN_STATUS_QUEUED", "TABLE_SERVICE_RUN_STATUS_RUNNING")
    done = wait_run(oh, key, "COMPACT", started["tableServiceRunId"])
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert done["triggerType"] == "ON_DEMAND"
    assert (done["tableVersionBefore"], done["tableVersionAfter"]) == ("11", "12")
    assert done["metrics"]["numFilesRemoved"] == "12" and done["metrics"]["numFilesAdded"] == "1"
    assert int(done["durationMs"]) >= 0 and done["finishedAt"].endswith("Z")

    after = DeltaTable(str(path))
    assert after.version() == 12 and len(after.file_uris()) == 1
    assert count_rows(path) == 120
    latest = history(path)[0]
    assert latest["operation"] == "OPTIMIZE"
    assert latest[RUN_ID_KEY] == started["tableServiceRunId"]

    service = oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["lastRun"]["tableServiceRunId"] == started["tableServiceRunId"]
    listed = oh.show_table_services(**key).api_response["showTableServicesApiResponse"]["tableServices"][0]
    assert listed["lastRunStatus"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"

    # A second run has nothing to do: no new version.
    again = run_and_wait(oh, key, "COMPACT")
    assert again["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"
    assert DeltaTable(str(path)).version() == 12
    runs = oh.show_runs_in_table_service(service="COMPACT", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"]
    assert [r["tableServiceRunId"] for r in runs] == [again["tableServiceRunId"], started["tableServiceRunId"]], "newest first"


def test_cluster_zorders_and_fails_on_partition_columns(oh, lake):
    import pyarrow.parquet as pq

    path = lake.path("clustered")
    for block in reversed(range(4)):  # ids written in descending blocks, one file each
        write(path, rows(block * 10, 10), partition_by=["part"])
    key = lake.key("clustered")
    oh.create_table_service(service="CLUSTER", trigger_mode="ON_DEMAND", options={"cluster.field.names": "id", "cluster.layout.strategy": "z-order"}, **key)
    done = run_and_wait(oh, key, "CLUSTER")
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert done["metrics"]["numFilesRemoved"] == "4" and done["metrics"]["numFilesAdded"] == "1"
    latest = history(path)[0]
    assert latest["operation"] == "OPTIMIZE" and latest[RUN_ID_KEY] == done["tableServiceRunId"]
    (uri,) = DeltaTable(str(path)).file_uris()
    assert pq.read_table(uri.removeprefix("file://"))["id"].to_pylist() == list(range(40)), "clustered on id"

    oh.alter_table_service(service="CLUSTER", trigger_mode="ON_DEMAND", options={"cluster.field.names": "part"}, **key)
    failed = run_and_wait(oh, key, "CLUSTER")
    assert failed["status"] == "TABLE_SERVICE_RUN_STATUS_FAILED"
    assert "partition" in failed["errorMessage"].lower(), failed
    service = oh.describe_table_service(service="CLUSTER", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["status"] == "TABLE_SERVICE_STATUS_FAILED"
    # PAUSE works from FAILED; a completed run makes the service ACTIVE again.
    oh.pause_table_service(service="CLUSTER", **key)
    oh.resume_table_service(service="CLUSTER", **key)
    oh.alter_table_service(service="CLUSTER", trigger_mode="ON_DEMAND", options={"cluster.field.names": "name"}, **key)
    assert run_and_wait(oh, key, "CLUSTER")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"
    service = oh.describe_table_service(service="CLUSTER", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["status"] == "TABLE_SERVICE_STATUS_ACTIVE"


def test_clean_honours_retention_and_savepoints_and_restore(oh, lake):
    path = lake.path("kept")
    key = lake.key("kept")
    write(path, rows(0, 10))  # v0
    write(path, rows(10, 10))  # v1
    v1_files = data_files_on_disk(path)
    # AUTOSAVEPOINT runs without a service record.
    saved = run_and_wait(oh, key, "AUTOSAVEPOINT")
    assert saved["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", saved
    assert saved["metrics"]["savepointVersion"] == "1"
    assert DeltaTable(str(path)).version() == 1, "a savepoint writes no Delta version"
    write(path, rows(100, 5), mode="overwrite")  # v2: v0/v1 files removed from the table
    all_files = data_files_on_disk(path)

    oh.create_table_service(service="CLEAN", trigger_mode="ON_DEMAND", **key)  # retention 7 days
    done = run_and_wait(oh, key, "CLEAN")
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert done["metrics"]["numFilesDeleted"] == "0"
    assert data_files_on_disk(path) == all_files

    oh.alter_table_service(service="CLEAN", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": "0"}, **key)
    done = run_and_wait(oh, key, "CLEAN")
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert data_files_on_disk(path) == all_files, "savepointed version 1 keeps its files"
    assert count_rows(path, version=1) == 20

    restored = run_and_wait(oh, key, "RESTORE")
    assert restored["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", restored
    assert restored["metrics"]["restoredVersion"] == "1"
    table = DeltaTable(str(path))
    assert table.version() == 3 and history(path)[0]["operation"] == "RESTORE"
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == list(range(20))

    # Without savepoints, CLEAN with retention 0 deletes what no version needs any more.
    other = lake.path("plain")
    other_key = lake.key("plain")
    write(other, rows(0, 10))
    old = data_files_on_disk(other)
    write(other, rows(10, 10), mode="overwrite")
    oh.create_table_service(service="CLEAN", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": 0}, **other_key)
    done = run_and_wait(oh, other_key, "CLEAN")
    assert done["metrics"]["numFilesDeleted"] == str(len(old))
    assert not (old & data_files_on_disk(other))
    assert count_rows(other) == 10
    assert history(other)[0]["operation"] == "VACUUM END"
    assert v1_files <= all_files

    described = oh.execute(
        f"DESCRIBE TABLE_SERVICE LAKE = '{lake.name}' DATABASE = '{lake.database}' TABLE = 'kept' SERVICE = 'CLEAN'"
    ).api_response["describeTableServiceApiResponse"]["tableService"]
    assert "savepoints" not in described


def test_restore_to_a_given_version_or_time(oh, lake):
    from datetime import datetime, timezone

    path = lake.path("tt")
    key = lake.key("tt")
    write(path, rows(0, 3))
    write(path, rows(3, 3))
    time.sleep(0.05)  # ordering only: the instant below falls between versions 1 and 2
    between = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)
    write(path, rows(6, 3))

    def restore(option: str) -> dict:
        response = oh.execute(
            f"RUN SERVICE IN TABLE `tt`\n  LAKE = '{lake.name}'\n  DATABASE = '{lake.database}'\n  SERVICE = 'RESTORE'\n  WITH {option}"
        )
        run_id = response.api_response["runServiceInTableApiResponse"]["tableServiceRunId"]
        return wait_run(oh, key, "RESTORE", run_id)

    done = restore("'restore.version' = '0'")
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert count_rows(path) == 3 and DeltaTable(str(path)).version() == 3
    done = restore(f"'restore.timestamp' = '{between}'")
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert done["metrics"]["restoredVersion"] == "1" and count_rows(path) == 6
    assert "latest version is 4" in invalid(restore, "'restore.version' = '99'")
    assert "restore.timestamp" in invalid(restore, "'restore.timestamp' = 'yesterday'")
    assert "Cannot restore" in invalid(restore, "'restore.timestamp' = '2001-01-01T00:00:00Z'")
    assert DeltaTable(str(path)).version() == 4


def test_metasync_creates_and_updates_the_glue_table(oh, emulator, lake):
    path = lake.path("orders")
    key = lake.key("orders")
    write(path, rows(0, 10), partition_by=["part"])
    oh.create_table_service(service="METASYNC", trigger_mode="ON_DEMAND", **key)
    done = run_and_wait(oh, key, "METASYNC")
    assert done["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", done
    assert done["metrics"]["action"] == "CREATED" and done["metrics"]["glueTable"] == "orders"
    glue = emulator.client("glue", account=oh.credentials.account_uid)
    table = glue.get_table(DatabaseName=lake.database, Name="orders")["Table"]
    assert table["Parameters"]["table_type"] == "DELTA"
    assert table["StorageDescriptor"]["Location"] == f"file://{lake.root}/{lake.database}/orders/"
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [("id", "bigint"), ("name", "string")]
    assert [(c["Name"], c["Type"]) for c in table["PartitionKeys"]] == [("part", "string")]

    assert run_and_wait(oh, key, "METASYNC")["metrics"]["action"] == "UNCHANGED"
    import pyarrow as pa

    extra = rows(10, 2).append_column("score", pa.array([1.5, 2.5]))
    from deltalake import write_deltalake

    write_deltalake(str(path), extra, mode="append", partition_by=["part"], schema_mode="merge")
    assert run_and_wait(oh, key, "METASYNC")["metrics"]["action"] == "UPDATED"
    table = glue.get_table(DatabaseName=lake.database, Name="orders")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["id", "name", "score"]


def test_lake_in_the_emulators_s3(oh, emulator):
    """Tables written by the `deltalake` package through the emulator's S3 API; the services'
    writes and deletes go through S3 too (objects listed and served by the S3 API)."""
    from deltalake import write_deltalake

    from helpers import unique_name

    account = oh.credentials.account_uid
    s3 = emulator.client("s3", account=account)
    bucket = unique_name("lake")
    s3.create_bucket(Bucket=bucket)
    options = {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "us-east-1",
    }
    uri = f"s3://{bucket}/lake/db/t"
    for i in range(4):
        write_deltalake(uri, rows(i * 5, 5), mode="append", storage_options=options)

    other = new_account()
    emulator.client("s3", account=other).create_bucket(Bucket=f"{bucket}-x")
    assert "another account" in invalid(
        oh.create_lake, "foreign", lake_type="OBSERVED", bucket_path=f"s3://{bucket}-x/lake", default_services_cluster="s"
    )
    oh.create_lake("s3lake", lake_type="OBSERVED", bucket_path=f"s3://{bucket}/lake", default_services_cluster="s")
    oh.create_database("db", lake="s3lake")
    (table,) = oh.show_tables(lake="s3lake", database="db").api_response["showTablesApiResponse"]["tables"]
    assert (table["name"], table["path"], table["tableVersion"]) == ("t", f"{uri}/", "3")

    key = {"lake": "s3lake", "database": "db", "table": "t"}
    oh.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", **key)
    oh.create_table_service(service="CLEAN", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": "0"}, **key)
    oh.create_table_service(service="METASYNC", trigger_mode="ON_DEMAND", **key)
    compacted = run_and_wait(oh, key, "COMPACT")
    assert compacted["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", compacted
    assert compacted["metrics"]["numFilesRemoved"] == "4" and int(compacted["metrics"]["filesAddedTotalSize"]) > 0
    cleaned = run_and_wait(oh, key, "CLEAN")
    assert cleaned["metrics"]["numFilesDeleted"] == "4", cleaned

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="lake/db/t/")["Contents"]
    data = [o["Key"] for o in listed if o["Key"].endswith(".parquet") and "_delta_log" not in o["Key"]]
    assert len(data) == 1
    assert s3.get_object(Bucket=bucket, Key=data[0])["Body"].read()[:4] == b"PAR1"
    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 6 and len(table.file_uris()) == 1
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == list(range(20))
    # The Python package keeps writing to the compacted table (here with S3 conditional puts
    # making its commits atomic, instead of the unsafe rename).
    conditional = {k: v for k, v in options.items() if k != "AWS_S3_ALLOW_UNSAFE_RENAME"}
    write_deltalake(uri, rows(20, 5), mode="append", storage_options={**conditional, "AWS_CONDITIONAL_PUT": "etag"})
    assert DeltaTable(uri, storage_options=options).to_pyarrow_table().num_rows == 25

    synced = run_and_wait(oh, key, "METASYNC")
    assert synced["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", synced
    glue = emulator.client("glue", account=account)
    assert glue.get_table(DatabaseName="db", Name="t")["Table"]["StorageDescriptor"]["Location"] == f"{uri}/"


# -- AUTOMATIC, pause, cancel ------------------------------------------------------------------


def test_automatic_compaction_after_n_commits(oh, lake):
    path = lake.path("auto")
    key = lake.key("auto")
    write(path, rows(0, 5))
    oh.create_table_service(service="COMPACT", trigger_mode="AUTOMATIC", options={"compaction.frequency": "3"}, **key)
    oh.create_table_service(service="CLEAN", trigger_mode="AUTOMATIC", **key)
    oh.pause_table_service(service="CLEAN", **key)
    for i in range(1, 4):
        write(path, rows(i * 5, 5))
    deadline = time.monotonic() + 60
    while True:
        runs = oh.show_runs_in_table_service(service="COMPACT", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"]
        if runs and runs[0]["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED":
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)
    assert len(runs) == 1 and runs[0]["triggerType"] == "AUTOMATIC" and runs[0]["createdBy"] == "onehouse-scheduler"
    assert len(DeltaTable(str(path)).file_uris()) == 1 and count_rows(path) == 20
    # The service's own commit is not counted; a paused service never runs.
    service = oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["commitsSinceLastRun"] == "0"
    assert oh.show_runs_in_table_service(service="CLEAN", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"] == []


def test_automatic_metasync_follows_every_commit(oh, emulator, lake):
    import pyarrow as pa
    from deltalake import write_deltalake

    path = lake.path("synced")
    key = lake.key("synced")
    write(path, rows(0, 3))
    oh.create_table_service(service="METASYNC", **key)  # AUTOMATIC by default
    glue = emulator.client("glue", account=oh.credentials.account_uid)
    write_deltalake(str(path), rows(3, 2).append_column("score", pa.array([1.0, 2.0])), mode="append", schema_mode="merge")

    deadline = time.monotonic() + 60
    while True:
        try:
            columns = [c["Name"] for c in glue.get_table(DatabaseName=lake.database, Name="synced")["Table"]["StorageDescriptor"]["Columns"]]
        except glue.exceptions.EntityNotFoundException:
            columns = []
        if "score" in columns:
            break
        assert time.monotonic() < deadline, columns
        time.sleep(0.2)
    runs = oh.show_runs_in_table_service(service="METASYNC", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"]
    assert runs and all(r["triggerType"] == "AUTOMATIC" for r in runs)


def test_cancel_stops_a_run_before_its_commit(oh, lake):
    path = lake.path("slow")
    key = lake.key("slow")
    small_files_table(path, 3)
    files_before = data_files_on_disk(path)
    run_id, orphans = start_held_compaction(oh, lake, "slow")
    assert (
        oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]["status"]
        == "TABLE_SERVICE_STATUS_RUNNING"
    )
    # One active run per table and service: a second RUN returns it.
    assert run(oh, key, "COMPACT") == run_id
    assert "active run" in invalid(
        oh.execute, f"DELETE TABLE_SERVICE LAKE = '{lake.name}' DATABASE = '{lake.database}' TABLE = 'slow' SERVICE = 'COMPACT'"
    )
    canceled = oh.cancel_table_service(service="COMPACT", **key).api_response
    assert canceled == {
        "cancelTableServiceApiResponse": {"tableServiceRunId": run_id, "status": "TABLE_SERVICE_RUN_STATUS_CANCELED"}
    }
    runs = oh.show_runs_in_table_service(service="COMPACT", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"]
    assert runs[0]["status"] == "TABLE_SERVICE_RUN_STATUS_CANCELED"
    assert DeltaTable(str(path)).version() == 2 and len(DeltaTable(str(path)).file_uris()) == 3
    service = oh.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["status"] == "TABLE_SERVICE_STATUS_ACTIVE"
    assert "has no active run" in invalid(oh.cancel_table_service, service="COMPACT", **key)
    assert count_rows(path) == 30
    # The file the canceled run wrote is referenced by no version: CLEAN removes it.
    oh.create_table_service(service="CLEAN", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": "0"}, **key)
    assert orphans <= data_files_on_disk(path)
    assert run_and_wait(oh, key, "CLEAN")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"
    assert data_files_on_disk(path) == files_before
    # The service runs normally afterwards.
    assert run_and_wait(oh, key, "COMPACT")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"


def test_metasynced_table_is_queryable_in_a_collaboration(emulator, tmp_path):
    """A Delta table kept by table services, METASYNCed into Glue, backs a configured table; a
    protected query reads its current snapshot (compaction and vacuum do not change the result)."""
    from analysis_helpers import read_csv_rows, start, wait, World
    from helpers import call, create_collaboration, create_membership, custom_policy, role_arn, unique_name

    account = new_account()
    oh = sdk(emulator.url, account)
    lake = Lake(oh, tmp_path / "lake", database="sales")
    path = lake.path("purchases")
    key = lake.key("purchases")
    import pyarrow as pa

    for i in range(6):
        write(path, pa.table({"user_id": [f"u{i}", f"u{i + 1}"], "amount": pa.array([1.0 * i, 2.0], pa.float64())}))
    write(path, pa.table({"user_id": ["u0"], "amount": pa.array([100.0], pa.float64())}), mode="overwrite")
    write(path, pa.table({"user_id": ["u1", "u2"], "amount": pa.array([5.0, 7.0], pa.float64())}))
    oh.create_table_service(service="METASYNC", trigger_mode="ON_DEMAND", **key)
    assert run_and_wait(oh, key, "METASYNC")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"

    cr = emulator.client("cleanrooms", account=account)
    s3 = emulator.client("s3", account=account)
    bucket = unique_name("ts-results")
    s3.create_bucket(Bucket=bucket)
    collaboration = create_collaboration(cr, members=[], creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"])
    membership = create_membership(
        cr, collaboration["id"], defaultResultConfiguration={"outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": bucket}}}
    )
    table = call(
        cr, "CreateConfiguredTable", name=unique_name("purchases"),
        tableReference={"glue": {"databaseName": "sales", "tableName": "purchases"}},
        allowedColumns=["user_id", "amount"], analysisMethod="DIRECT_QUERY",
    )["configuredTable"]
    call(cr, "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy=custom_policy(allowedAnalysisProviders=[account]))
    call(cr, "CreateConfiguredTableAssociation", membershipIdentifier=membership["id"], name="purchases",
         configuredTableIdentifier=table["id"], roleArn=role_arn(account))
    world = World(a=cr, b=None, s3a=s3, s3b=None, collaboration=collaboration, ma=membership, mb=None)

    def total() -> list[list[str]]:
        done = wait(world, start(world, "SELECT COUNT(*) AS n, SUM(amount) AS total FROM purchases"))
        assert done["status"] == "SUCCESS", done.get("error")
        return read_csv_rows(s3, done["result"]["output"]["s3"]["location"])[1]

    assert [[int(n), float(t)] for n, t in total()] == [[3, 112.0]], "only the current snapshot's files"
    oh.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", **key)
    oh.create_table_service(service="CLEAN", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": 0}, **key)
    assert run_and_wait(oh, key, "COMPACT")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"
    assert run_and_wait(oh, key, "CLEAN")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"
    assert len(DeltaTable(str(path)).file_uris()) == 1
    assert [[int(n), float(t)] for n, t in total()] == [[3, 112.0]]
