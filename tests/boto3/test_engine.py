"""The engine reads exactly the data users put in the emulator's S3 and registered in its Glue
catalog: CSV (header, delimiter), Parquet, JSON lines, and a 3-partition table where a filter on
the partition key reads only the matching partition (checked on the physical plan). Queries run
through POST /_emulator/sql, the engine's own window onto an account's catalog.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from glue_helpers import new_account

BUCKET_PREFIX = "engine-data"


def sql(emulator, account, text):
    status, body, _ = emulator.admin("POST", "/_emulator/sql", {"sql": text, "accountId": account})
    return status, body


def setup(client, account):
    s3 = client("s3", account=account)
    glue = client("glue", account=account)
    bucket = f"{BUCKET_PREFIX}-{account}"
    s3.create_bucket(Bucket=bucket)
    glue.create_database(DatabaseInput={"Name": "sales"})
    return s3, glue, bucket


def table(glue, name, location, columns, params, keys=(), serde=None):
    sd = {"Location": location, "Columns": [{"Name": n, "Type": t} for n, t in columns]}
    if serde:
        sd["SerdeInfo"] = serde
    spec = {"Name": name, "Parameters": params, "StorageDescriptor": sd}
    if keys:
        spec["PartitionKeys"] = [{"Name": n, "Type": t} for n, t in keys]
    glue.create_table(DatabaseName="sales", TableInput=spec)


def test_csv_uploaded_to_s3_is_read_with_header_and_delimiter(emulator, client):
    account = new_account()
    s3, glue, bucket = setup(client, account)
    s3.put_object(Bucket=bucket, Key="orders/a.csv", Body=b"id;amount;city\n1;10.5;Paris\n2;20.25;Lyon\n")
    s3.put_object(Bucket=bucket, Key="orders/more/b.csv", Body=b"id;amount;city\n3;30;Paris\n")
    s3.put_object(Bucket=bucket, Key="orders/_SUCCESS", Body=b"")
    table(glue, "orders", f"s3://{bucket}/orders/", [("id", "bigint"), ("amount", "double"), ("city", "string")],
          {"classification": "csv", "skip.header.line.count": "1"},
          serde={"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                 "Parameters": {"field.delim": ";"}})
    status, body = sql(emulator, account, "SELECT city, count(*) AS n, sum(amount) AS total FROM sales.orders GROUP BY city ORDER BY city")
    assert status == 200, body
    assert body["columns"] == ["city", "n", "total"]
    assert body["rows"] == [{"city": "Lyon", "n": 1, "total": 20.25}, {"city": "Paris", "n": 2, "total": 40.5}]


def test_parquet_and_json_lines_are_read(emulator, client):
    account = new_account()
    s3, glue, bucket = setup(client, account)
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["ann", "bob", "cy"]}), buf)
    s3.put_object(Bucket=bucket, Key="users/part-0.parquet", Body=buf.getvalue())
    table(glue, "users", f"s3://{bucket}/users/", [("id", "bigint"), ("name", "string")], {"classification": "parquet"})
    status, body = sql(emulator, account, "SELECT name FROM sales.users WHERE id >= 2 ORDER BY id")
    assert status == 200, body
    assert [r["name"] for r in body["rows"]] == ["bob", "cy"]

    s3.put_object(Bucket=bucket, Key="events/e.json", Body=b'{"id": 1, "kind": "a"}\n{"id": 5, "kind": "b"}\n')
    table(glue, "events", f"s3://{bucket}/events/", [("id", "int"), ("kind", "string")], {"classification": "json"})
    status, body = sql(emulator, account, "SELECT sum(id) AS s FROM sales.events")
    assert status == 200, body
    assert body["rows"] == [{"s": 6}]


def test_partition_filter_reads_only_the_matching_partition(emulator, client):
    account = new_account()
    s3, glue, bucket = setup(client, account)
    table(glue, "sales_by_year", f"s3://{bucket}/sales/", [("id", "bigint"), ("amount", "double")],
          {"classification": "csv"}, keys=[("year", "int")])
    for year, rows in (("2022", "1,1.0\n"), ("2023", "2,2.0\n3,3.0\n"), ("2024", "4,4.0\n")):
        s3.put_object(Bucket=bucket, Key=f"sales/year={year}/data.csv", Body=rows.encode())
        glue.create_partition(DatabaseName="sales", TableName="sales_by_year", PartitionInput={
            "Values": [year],
            "StorageDescriptor": {"Location": f"s3://{bucket}/sales/year={year}/",
                                  "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "amount", "Type": "double"}]}})
    status, body = sql(emulator, account, "SELECT count(*) AS n, sum(amount) AS total FROM sales.sales_by_year WHERE year = 2023")
    assert status == 200, body
    assert body["rows"] == [{"n": 2, "total": 5.0}]
    assert "year=2023" in body["plan"]
    assert "year=2022" not in body["plan"] and "year=2024" not in body["plan"], body["plan"]
    status, body = sql(emulator, account, "SELECT year, count(*) AS n FROM sales.sales_by_year GROUP BY year ORDER BY year")
    assert body["rows"] == [{"year": 2022, "n": 1}, {"year": 2023, "n": 2}, {"year": 2024, "n": 1}]


def test_partitions_from_the_lakeformation_api_are_read_too(emulator, client):
    account = new_account()
    s3, glue, bucket = setup(client, account)
    table(glue, "visits", f"s3://{bucket}/visits/", [("id", "bigint")], {"classification": "csv"}, keys=[("day", "string")])
    s3.put_object(Bucket=bucket, Key="visits/day=mon/v.csv", Body=b"7\n8\n")
    import json
    import urllib.request
    body = {"if_not_exist": False, "partitions": [{
        "partition_values": ["mon"], "create_time": "2026-01-01T00:00:00.000Z", "last_access_time": "2026-01-01T00:00:00.000Z",
        "parameters": {}, "storage_descriptor": {
            "columns": [{"column_name": "id", "column_type": "bigint"}], "location": f"s3://{bucket}/visits/day=mon/",
            "compressed": False, "serde_info": {}, "parameters": {}}}]}
    req = urllib.request.Request(
        f"{emulator.url}/v1/{account}/instances/i-1/catalogs/hive/databases/sales/tables/visits/partitions/batch-create",
        data=json.dumps(body).encode(), method="POST",
        headers={"X-Auth-Token": "token", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 201
    status, out = sql(emulator, account, "SELECT day, sum(id) AS s FROM sales.visits GROUP BY day")
    assert status == 200, out
    assert out["rows"] == [{"day": "mon", "s": 15}]


def test_files_not_matching_the_schema_fail_naming_table_file_and_column(emulator, client):
    account = new_account()
    s3, glue, bucket = setup(client, account)
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1], pa.int64())}), buf)
    s3.put_object(Bucket=bucket, Key="bad/f.parquet", Body=buf.getvalue())
    table(glue, "bad", f"s3://{bucket}/bad/", [("id", "bigint"), ("email", "string")], {"classification": "parquet"})
    status, body = sql(emulator, account, "SELECT * FROM sales.bad")
    assert status == 400
    assert "sales.bad" in body["message"] and "f.parquet" in body["message"] and "'email'" in body["message"], body


def test_other_accounts_catalogs_are_not_visible(emulator, client):
    owner = new_account()
    s3, glue, bucket = setup(client, owner)
    s3.put_object(Bucket=bucket, Key="t/a.csv", Body=b"1\n")
    table(glue, "t", f"s3://{bucket}/t/", [("id", "bigint")], {"classification": "csv"})
    status, body = sql(emulator, new_account(), "SELECT * FROM sales.t")
    assert status == 404
    assert "not found" in body["message"].lower()


@pytest.mark.parametrize("statement", ["SELECT * FROM t", "SELEKT 1"])
def test_bad_sql_is_a_400_with_a_message(emulator, statement):
    status, body = sql(emulator, new_account(), statement)
    assert status == 400
    assert body["message"]
