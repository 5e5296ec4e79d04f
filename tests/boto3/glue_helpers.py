"""Builders shared by the Glue, partition and LakeFormation acceptance tests.

Each test works in an account of its own (``new_account``: a random 12-digit access key *is* the
account), so tests need no reset and cannot see each other's catalogs.
"""

from __future__ import annotations

import random

from helpers import call


def new_account() -> str:
    """A fresh 12-digit account id (starts with 9, unlike the suite's fixed accounts)."""
    return "9" + "".join(random.choice("0123456789") for _ in range(11))


def create_database(glue, name: str = "sales", **extra) -> str:
    call(glue, "CreateDatabase", DatabaseInput={"Name": name, **extra})
    return name.lower()


def table_input(name: str = "orders", keys=(("year", "int"), ("region", "string")), **extra) -> dict:
    """A CSV table over s3://emulator-data/<name>/ partitioned by ``keys`` (name, type) pairs."""
    spec = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": k, "Type": t} for k, t in keys],
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "amount", "Type": "double", "Comment": "EUR"}],
            "Location": f"s3://emulator-data/{name}/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                "Parameters": {"field.delim": ","},
            },
        },
    }
    spec.update(extra)
    if not keys:
        spec.pop("PartitionKeys")
    return spec


def create_table(glue, database: str = "sales", name: str = "orders", **kwargs) -> str:
    call(glue, "CreateTable", DatabaseName=database, TableInput=table_input(name, **kwargs))
    return name.lower()


def partition_input(*values: str, location: str | None = None, columns: bool = True) -> dict:
    spec: dict = {"Values": list(values)}
    sd: dict = {"Location": location or "s3://emulator-data/orders/" + "/".join(values) + "/"}
    if columns:
        sd["Columns"] = [{"Name": "id", "Type": "bigint"}]
    spec["StorageDescriptor"] = sd
    spec["Parameters"] = {"source": "test"}
    return spec


def values_of(partitions: list) -> list:
    """The partitions' value lists, in the order given."""
    return [p["Values"] for p in partitions]
