"""Table services through the `oh` CLI (`onehouse-cli` 0.4.0) unchanged, and their durability:
services, runs and savepoints survive a restart; a kill -9 during a run leaves a readable,
unchanged table and the run FAILED after the restart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from onehouse_helpers import (
    Lake,
    count_rows,
    data_files_on_disk,
    rows,
    show_runs,
    write,
    start_held_compaction,
    env_with,
    new_account,
    run_and_wait,
    sdk,
    sdk_env,
    small_files_table,
    wait_status,
)

OH = shutil.which("oh", path=str(Path(sys.executable).parent))


def oh_cli(url: str, account: str, *args: str) -> subprocess.CompletedProcess:
    assert OH, "the onehouse-cli package (command `oh`) is not installed in this venv"
    return subprocess.run(
        [OH, *args], env=env_with(sdk_env(url, account)), capture_output=True, text=True, timeout=120
    )


def json_after(text: str) -> dict:
    """The JSON document printed after any `OK  …` line."""
    return json.loads(text[text.index("{"):])


def test_oh_table_service_commands(emulator, tmp_path):
    account = new_account()
    client = sdk(emulator.url, account)
    lake = Lake(client, tmp_path / "lake")
    small_files_table(lake.path("t"), 4)
    where = ["--lake", lake.name, "--database", lake.database, "--table", "t"]

    shown = oh_cli(emulator.url, account, "table", "service", "create", *where, "--service", "COMPACT", "--trigger-mode", "ON_DEMAND", "--options", "compaction.max.bytes=1048576")
    assert shown.returncode == 0, shown.stderr
    assert json_after(shown.stdout) == {"createTableServiceApiResponse": {}}

    described = oh_cli(emulator.url, account, "table", "service", "describe", *where, "--service", "COMPACT")
    assert described.returncode == 0, described.stderr
    service = json_after(described.stdout)["describeTableServiceApiResponse"]["tableService"]
    assert service["options"] == {"compaction.max.bytes": "1048576"} and service["triggerMode"] == "ON_DEMAND"

    started = oh_cli(emulator.url, account, "table", "service", "run", *where, "--service", "COMPACT")
    assert started.returncode == 0, started.stderr
    run_id = json_after(started.stdout)["runServiceInTableApiResponse"]["tableServiceRunId"]
    wait_status(client, lake.key("t"), "COMPACT", run_id, "TABLE_SERVICE_RUN_STATUS_COMPLETED")
    runs = oh_cli(emulator.url, account, "table", "service", "show-runs", *where, "--service", "COMPACT")
    assert runs.returncode == 0, runs.stderr
    assert json_after(runs.stdout)["showRunsInTableServiceApiResponse"]["tableServiceRuns"][0]["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"
    assert len(DeltaTable(str(lake.path("t"))).file_uris()) == 1

    for verb in ("pause", "resume"):
        done = oh_cli(emulator.url, account, "table", "service", verb, *where, "--service", "COMPACT")
        assert done.returncode == 0, done.stderr
    listed = oh_cli(emulator.url, account, "table", "service", "show", *where)
    assert json_after(listed.stdout)["showTableServicesApiResponse"]["tableServices"][0]["status"] == "TABLE_SERVICE_STATUS_ACTIVE"
    moved = oh_cli(emulator.url, account, "table", "service", "alter-cluster", *where, "--services-cluster", "svc9")
    assert moved.returncode == 0, moved.stderr
    altered = oh_cli(emulator.url, account, "table", "service", "alter", *where, "--service", "COMPACT", "--trigger-mode", "AUTOMATIC")
    assert altered.returncode == 0, altered.stderr

    missing = oh_cli(emulator.url, account, "table", "service", "describe", *where, "--service", "CLEAN")
    assert missing.returncode == 1
    assert "Operation failed" in missing.stdout + missing.stderr and "does not exist" in missing.stdout + missing.stderr
    canceled = oh_cli(emulator.url, account, "table", "service", "cancel", *where, "--service", "COMPACT")
    assert canceled.returncode == 1 and "no active run" in canceled.stdout + canceled.stderr
    tables = oh_cli(emulator.url, account, "table", "show", "--lake", lake.name, "--database", lake.database)
    assert tables.returncode == 0, tables.stderr
    assert "svc9" in tables.stdout


def test_restart_keeps_services_runs_and_savepoints(fresh_emulator, tmp_path):
    account = new_account()
    client = sdk(fresh_emulator.url, account)
    lake = Lake(client, tmp_path / "lake")
    key = lake.key("t")
    small_files_table(lake.path("t"), 3)
    client.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", options={"compaction.max.bytes": 2048}, **key)
    client.create_table_service(service="CLEAN", trigger_mode="AUTOMATIC", **key)
    client.pause_table_service(service="CLEAN", **key)
    compacted = run_and_wait(client, key, "COMPACT")
    saved = run_and_wait(client, key, "AUTOSAVEPOINT")
    request_id = client.submit("SHOW LAKES").request_id
    small_files_table(lake.path("t"), 1)  # after the savepoint

    fresh_emulator.restart()
    client = sdk(fresh_emulator.url, account)
    services = client.show_table_services(**key).api_response["showTableServicesApiResponse"]["tableServices"]
    assert [(s["service"], s["status"]) for s in services] == [
        ("COMPACT", "TABLE_SERVICE_STATUS_ACTIVE"),
        ("CLEAN", "TABLE_SERVICE_STATUS_PAUSED"),
    ]
    runs = client.show_runs_in_table_service(service="COMPACT", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"]
    assert runs == [compacted]
    assert client.get_status(request_id).api_response["showLakesApiResponse"]["lakes"][0]["name"] == lake.name
    restored = run_and_wait(client, key, "RESTORE")
    assert restored["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED", restored.get("errorMessage")
    assert restored["metrics"]["restoredVersion"] == saved["metrics"]["savepointVersion"]
    assert count_rows(lake.path("t")) == 30


def test_kill9_during_compaction(fresh_emulator, tmp_path):
    account = new_account()
    client = sdk(fresh_emulator.url, account)
    lake = Lake(client, tmp_path / "lake")
    key = lake.key("t")
    path = lake.path("t")
    small_files_table(path, 5)
    run_id, _ = start_held_compaction(client, lake, "t")  # compacted file written, commit held
    fresh_emulator.kill9()
    fresh_emulator.start()
    client = sdk(fresh_emulator.url, account)
    run = client.show_runs_in_table_service(service="COMPACT", **key).api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"][0]
    assert run["tableServiceRunId"] == run_id
    assert run["status"] == "TABLE_SERVICE_RUN_STATUS_FAILED" and "stopped" in run["errorMessage"]
    service = client.describe_table_service(service="COMPACT", **key).api_response["describeTableServiceApiResponse"]["tableService"]
    assert service["status"] == "TABLE_SERVICE_STATUS_FAILED"
    table = DeltaTable(str(path))
    assert table.version() == 4 and len(table.file_uris()) == 5 and count_rows(path) == 50
    assert run_and_wait(client, key, "COMPACT")["status"] == "TABLE_SERVICE_RUN_STATUS_COMPLETED"


def test_emulator_clock_drives_retention_and_autosavepoints(fresh_emulator, tmp_path):
    """CLEAN's retention and AUTOSAVEPOINT's interval are measured on the emulator clock."""
    account = new_account()
    client = sdk(fresh_emulator.url, account)
    lake = Lake(client, tmp_path / "lake")
    key = lake.key("t")
    path = lake.path("t")
    write(path, rows(0, 10))
    old_files = data_files_on_disk(path)
    write(path, rows(10, 10), mode="overwrite")
    client.create_table_service(service="CLEAN", trigger_mode="ON_DEMAND", options={"cleaner.retention.days": "7"}, **key)
    assert run_and_wait(client, key, "CLEAN")["metrics"]["numFilesDeleted"] == "0"
    status, _, _ = fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 8 * 86400})
    assert status == 200
    assert run_and_wait(client, key, "CLEAN")["metrics"]["numFilesDeleted"] == str(len(old_files))
    assert not (old_files & data_files_on_disk(path))

    client.execute(
        f"CREATE TABLE_SERVICE LAKE = '{lake.name}' DATABASE = '{lake.database}' TABLE = 't' SERVICE = 'AUTOSAVEPOINT' "
        "TRIGGER_MODE = 'AUTOMATIC' WITH 'autosavepoint.interval.hours' = '1'"
    )
    assert show_runs(client, key, "AUTOSAVEPOINT") == []
    fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 2 * 3600})
    deadline = time.monotonic() + 60
    while not (runs := show_runs(client, key, "AUTOSAVEPOINT")) or runs[0]["status"] != "TABLE_SERVICE_RUN_STATUS_COMPLETED":
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)
    assert len(runs) == 1 and runs[0]["triggerType"] == "AUTOMATIC"
    described = client.execute(
        f"DESCRIBE TABLE_SERVICE LAKE = '{lake.name}' DATABASE = '{lake.database}' TABLE = 't' SERVICE = 'AUTOSAVEPOINT'"
    ).api_response["describeTableServiceApiResponse"]["tableService"]
    assert [p["tableVersion"] for p in described["savepoints"]] == [runs[0]["tableVersionAfter"]]
