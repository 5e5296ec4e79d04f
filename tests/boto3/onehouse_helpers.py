"""Helpers for the table-services suites: the real Onehouse SDK pointed at an emulator, Delta
tables written with the `deltalake` package, and waiting for a run to end."""

from __future__ import annotations

import itertools
import os
import random
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from onehouse_python_sdk.resources import OnehouseResources

_accounts = itertools.count(random.randrange(10_000, 90_000) * 10_000_000)

TERMINAL_RUN = {
    "TABLE_SERVICE_RUN_STATUS_COMPLETED",
    "TABLE_SERVICE_RUN_STATUS_FAILED",
    "TABLE_SERVICE_RUN_STATUS_CANCELED",
}


def new_account() -> str:
    """A 12-digit account uid no other test uses (Onehouse resources are scoped by it)."""
    return f"{next(_accounts):012d}"


def sdk_env(url: str, account: str, project: str = "proj") -> dict[str, str]:
    """The environment variables that point the SDK and `oh` at the emulator (docs)."""
    return {
        "ONEHOUSE_BASE_URL": url,
        "ONEHOUSE_ACCOUNT_UID": account,
        "ONEHOUSE_PROJECT_UID": project,
        "ONEHOUSE_LINK_UID": "local",
        "ONEHOUSE_REGION": "us-east-1",
        "ONEHOUSE_USER_UID": "tester",
        "ONEHOUSE_API_KEY": "test",
        "ONEHOUSE_API_SECRET": "test",
        "ONEHOUSE_SESSION_STORE": "file",
        "ONEHOUSE_CREDENTIALS_FILE": "/nonexistent",
    }


def sdk(url: str, account: str, project: str = "proj") -> OnehouseResources:
    """An SDK client for `account`/`project` on the emulator at `url`."""
    return OnehouseResources(
        account_uid=account,
        project_uid=project,
        api_key="test",
        api_secret="test",
        link_uid="local",
        region="us-east-1",
        user_uid="tester",
        base_url=url,
        credentials_file="/nonexistent",
        default_execute_timeout=120,
    )


class Lake:
    """A file:// lake with one database, created through the SDK."""

    def __init__(self, client: OnehouseResources, root: Path, name: str = "lk", database: str = "db"):
        self.client = client
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.database = database
        client.create_lake(name, lake_type="OBSERVED", bucket_path=f"file://{self.root}", default_services_cluster="svc")
        client.create_database(database, lake=name)

    def path(self, table: str) -> Path:
        return self.root / self.database / table

    def key(self, table: str) -> dict[str, str]:
        return {"lake": self.name, "database": self.database, "table": table}


def rows(start: int, n: int, part: str = "a") -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "name": pa.array([f"n{i}" for i in range(start, start + n)]),
            "part": pa.array([part] * n),
        }
    )


def write(path: Path, table: pa.Table, mode: str = "append", partition_by: list[str] | None = None) -> None:
    write_deltalake(str(path), table, mode=mode, partition_by=partition_by)


def small_files_table(path: Path, files: int, per_file: int = 10, partition_by: list[str] | None = None) -> None:
    """A Delta table of `files` appends (one small data file each)."""
    for i in range(files):
        write(path, rows(i * per_file, per_file), partition_by=partition_by)


def data_files_on_disk(path: Path) -> set[str]:
    return {
        str(p.relative_to(path))
        for p in path.rglob("*.parquet")
        if "_delta_log" not in p.parts
    }


BASE_SERVICES = ("CLUSTER", "COMPACT", "CLEAN", "METASYNC")


def show_runs(client: OnehouseResources, key: dict[str, str], service: str) -> list[dict[str, Any]]:
    """SHOW RUNS IN TABLE_SERVICE (the SDK validates only the 4 base services: AUTOSAVEPOINT and
    RESTORE go through `unsafe_raw`)."""
    raw = service.upper() not in BASE_SERVICES
    response = client.show_runs_in_table_service(service=service, unsafe_raw=raw, **key)
    return response.api_response["showRunsInTableServiceApiResponse"]["tableServiceRuns"]


def wait_run(client: OnehouseResources, key: dict[str, str], service: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    """The run `run_id` once it has ended (polls SHOW RUNS)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = show_runs(client, key, service)
        run = next((r for r in runs if r["tableServiceRunId"] == run_id), None)
        assert run is not None, f"run {run_id} not listed: {runs}"
        if run["status"] in TERMINAL_RUN:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout}s"
        time.sleep(0.1)


def wait_status(client: OnehouseResources, key: dict[str, str], service: str, run_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The run `run_id` once it has reached `status`."""
    deadline = time.monotonic() + timeout
    while True:
        runs = show_runs(client, key, service)
        run = next((r for r in runs if r["tableServiceRunId"] == run_id), None)
        if run is not None and run["status"] == status:
            return run
        assert time.monotonic() < deadline, f"run {run_id} did not reach {status}: {run}"
        time.sleep(0.05)


def run(client: OnehouseResources, key: dict[str, str], service: str) -> str:
    """RUN SERVICE IN TABLE through the typed helper; returns the run id."""
    response = client.run_service_in_table(key["table"], lake=key["lake"], database=key["database"], service=service)
    return response.api_response["runServiceInTableApiResponse"]["tableServiceRunId"]


def run_and_wait(client: OnehouseResources, key: dict[str, str], service: str) -> dict[str, Any]:
    return wait_run(client, key, service, run(client, key, service))


def history(path: Path) -> list[dict[str, Any]]:
    """Commit infos, newest first."""
    return DeltaTable(str(path)).history()


def count_rows(path: Path, version: int | None = None) -> int:
    dt = DeltaTable(str(path), version=version)
    return dt.to_pyarrow_table().num_rows


def env_with(overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEHOUSE_")}
    env.update(overrides)
    return env


def wait_for_new_file(path: Path, before: set[str], timeout: float = 60) -> set[str]:
    """The data files written under `path` since `before` once there is one (a run holding its
    commit has written its output)."""
    deadline = time.monotonic() + timeout
    while True:
        new = data_files_on_disk(path) - before
        if new:
            return new
        assert time.monotonic() < deadline, f"no new data file under {path}"
        time.sleep(0.05)


def start_held_compaction(client: OnehouseResources, lake: Lake, table: str) -> tuple[str, set[str]]:
    """Creates COMPACT on `table` and runs it with its commit held (the emulator-only
    `emulator.run.delay.seconds`); returns the run id once the compacted file is written and the
    commit is being held, with the data files written by the run."""
    path = lake.path(table)
    before = data_files_on_disk(path)
    client.create_table_service(service="COMPACT", trigger_mode="ON_DEMAND", **lake.key(table))
    response = client.execute(
        f"RUN SERVICE IN TABLE `{table}` LAKE = '{lake.name}' DATABASE = '{lake.database}' "
        "SERVICE = 'COMPACT' WITH 'emulator.run.delay.seconds' = '600'"
    )
    run_id = response.api_response["runServiceInTableApiResponse"]["tableServiceRunId"]
    wait_status(client, lake.key(table), "COMPACT", run_id, "TABLE_SERVICE_RUN_STATUS_RUNNING")
    return run_id, wait_for_new_file(path, before)
