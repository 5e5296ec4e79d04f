"""The LakeFormation (Huawei Cloud style) batch-create partitions REST API on the Glue catalog:
201 with a bare array, if_not_exist semantics, whole-request validation (nothing created on any
400), 401/403/404 bodies, and visibility both ways with Glue.

Spec: shared/spec/side-surfaces.md §C (C.1–C.6), §E item 12; seed 003. Mapping (README
"LakeFormation partition API"): project_id = the 12-digit account id (else the default account),
catalog_name = "hive" or the account id, region = the emulator's default region.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from glue_helpers import create_database, create_table, new_account, partition_input, values_of
from helpers import DEFAULT_ACCOUNT, call

HEX32 = re.compile(r"[0-9a-f]{32}")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00")
PARTITION_KEYS = {
    "catalog_name", "catalog_id", "database_name", "database_id", "table_name", "table_id",
    "partition_id", "partition_values", "create_time", "last_access_time", "parameters", "storage_descriptor",
}


def lf_path(project: str, database: str = "sales", table: str = "orders", catalog: str = "hive",
            instance: str = "2180518f-42b8-4947-b20b-adfc53981a25") -> str:
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    return (f"/v1/{quote(project)}/instances/{quote(instance)}/catalogs/{quote(catalog)}/databases/"
            f"{quote(database)}/tables/{quote(table)}/partitions/batch-create")


def send(base_url: str, path: str, body=None, token: str | None = "tenant-token", method: str = "POST",
         raw: bytes | None = None):
    """One unsigned request; returns (status, parsed JSON or None, headers)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, payload, headers = error.code, error.read(), error.headers
    return status, (json.loads(payload) if payload else None), headers


def lf_partition(*values: str, **overrides) -> dict:
    """A PartitionInput in the API's snake_case form, with every mandatory field."""
    spec = {
        "partition_values": list(values),
        "create_time": "2023-05-26T08:03:42.267Z",
        "last_access_time": "2023-05-26T08:03:42.267Z",
        "parameters": {"key1": "value1"},
        "storage_descriptor": {
            "columns": [
                {"column_type": "bigint", "column_name": "id", "comment": "row id"},
                {"column_type": "decimal(10,2)", "column_name": "amount"},
            ],
            "location": "s3://emulator-data/orders/" + "/".join(values) + "/",
            "compressed": False,
            "input_format": "org.apache.hadoop.mapred.TextInputFormat",
            "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "serde_info": {
                "name": "csv",
                "serialization_library": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                "parameters": {"field.delim": ","},
            },
            "parameters": {"classification": "csv"},
        },
    }
    spec.update(overrides)
    return spec


class Catalog:
    """A fresh account with database `sales` and table `orders` (year:int, region:string)."""

    def __init__(self, emulator, client):
        self.emulator = emulator
        self.account = new_account()
        self.glue = client("glue", account=self.account)
        create_database(self.glue, "sales")
        create_table(self.glue, "sales", "orders")

    def post(self, body, **kwargs):
        path_args = {k: kwargs.pop(k) for k in ("database", "table", "catalog", "instance") if k in kwargs}
        project = kwargs.pop("project", self.account)
        return send(self.emulator.url, lf_path(project, **path_args), body, **kwargs)

    def values(self, table: str = "orders") -> list:
        return values_of(call(self.glue, "GetPartitions", DatabaseName="sales", TableName=table)["Partitions"])


@pytest.fixture
def lf(emulator, client):
    return Catalog(emulator, client)


def assert_lf_error(status, body, expected_status: int, code: str, *parts: str) -> None:
    assert status == expected_status, (status, body)
    assert body["error_code"] == code, body
    assert isinstance(body["error_msg"], str) and body["error_msg"]
    assert set(body) <= {"error_code", "error_msg", "solution_msg"}, body
    for part in parts:
        assert part in body["error_msg"], (part, body)


# --------------------------------------------------------------------------------------------
# Success
# --------------------------------------------------------------------------------------------


def test_batch_create_returns_201_with_the_created_partitions(lf):
    status, body, headers = lf.post({"if_not_exist": False, "partitions": [
        lf_partition("2024", "eu"), lf_partition("2025", "us")]})
    assert status == 201, body
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(body, list) and len(body) == 2
    first, second = body
    for item in body:
        assert set(item) == PARTITION_KEYS
        assert item["catalog_name"] == "hive"
        assert item["catalog_id"] == lf.account
        assert item["database_name"] == "sales"
        assert item["table_name"] == "orders"
        for key in ("database_id", "table_id", "partition_id"):
            assert HEX32.fullmatch(item[key]), item[key]
        assert ISO.fullmatch(item["create_time"]), item["create_time"]
        created = datetime.datetime.fromisoformat(item["create_time"]).timestamp()
        assert abs(created - time.time()) < 120  # set by the server, not taken from the input
        assert item["last_access_time"] == "2023-05-26T08:03:42.000+00:00"  # whole seconds
        assert item["parameters"]["key1"] == "value1"
        assert re.fullmatch(r"\d+", item["parameters"]["transient_lastDdlTime"])
        sd = item["storage_descriptor"]
        assert sd["columns"] == [
            {"column_type": "bigint", "column_name": "id", "comment": "row id"},
            {"column_type": "decimal(10,2)", "column_name": "amount"},
        ]
        assert sd["compressed"] is False
        assert sd["number_of_buckets"] == 0
        assert sd["bucket_columns"] == [] and sd["sort_columns"] == []
        assert sd["serde_info"] == {"name": "csv",
                                    "serialization_library": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                                    "parameters": {"field.delim": ","}}
        assert sd["parameters"] == {"classification": "csv"}
        assert sd["skewed_info"] == {"skewed_column_names": [], "skewed_column_value_location_maps": {},
                                     "skewed_column_values": []}
        assert sd["stored_as_sub_directories"] is False
        assert sd["input_format"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert first["partition_values"] == ["2024", "eu"] and second["partition_values"] == ["2025", "us"]
    assert first["storage_descriptor"]["location"] == "s3://emulator-data/orders/2024/eu/"
    assert first["database_id"] == second["database_id"] and first["table_id"] == second["table_id"]
    assert first["partition_id"] != second["partition_id"]
    assert lf.values() == [["2024", "eu"], ["2025", "us"]]


def test_created_partitions_are_glue_partitions(lf):
    spec = lf_partition("2024", "eu")
    spec["storage_descriptor"].update({
        "number_of_buckets": 4,
        "bucket_columns": ["id"],
        "sort_columns": [{"column": "id", "sort_order": 0}],
        "skewed_info": {"skewed_column_names": ["id", "amount"],
                        "skewed_column_value_location_maps": {"1": "s3://skew/1/"},
                        "skewed_column_values": [["1", "9.5"], ["22", "x"]]},
        "stored_as_sub_directories": True,
    })
    status, body, _ = lf.post({"if_not_exist": "false", "partitions": [spec]})
    assert status == 201, body
    glue_partition = call(lf.glue, "GetPartition", DatabaseName="sales", TableName="orders",
                          PartitionValues=["2024", "eu"])["Partition"]
    assert glue_partition["Values"] == ["2024", "eu"]
    assert glue_partition["CatalogId"] == lf.account
    assert glue_partition["LastAccessTime"].timestamp() == datetime.datetime.fromisoformat(
        "2023-05-26T08:03:42+00:00").timestamp()
    assert glue_partition["CreationTime"].timestamp() == pytest.approx(
        datetime.datetime.fromisoformat(body[0]["create_time"]).timestamp(), abs=0.001)
    assert glue_partition["Parameters"] == body[0]["parameters"]
    assert glue_partition["StorageDescriptor"] == {
        "Columns": [{"Name": "id", "Type": "bigint", "Comment": "row id"}, {"Name": "amount", "Type": "decimal(10,2)"}],
        "Location": "s3://emulator-data/orders/2024/eu/",
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "Compressed": False,
        "NumberOfBuckets": 4,
        "SerdeInfo": {"Name": "csv", "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                      "Parameters": {"field.delim": ","}},
        "BucketColumns": ["id"],
        "SortColumns": [{"Column": "id", "SortOrder": 0}],
        "Parameters": {"classification": "csv"},
        "SkewedInfo": {"SkewedColumnNames": ["id", "amount"],
                       "SkewedColumnValues": ["1$13$9.5", "2$221$x"],
                       "SkewedColumnValueLocationMaps": {"1": "s3://skew/1/"}},
        "StoredAsSubDirectories": True,
    }
    # ... and the GetPartitions expression language applies to them.
    typed = call(lf.glue, "GetPartitions", DatabaseName="sales", TableName="orders", Expression="year > 999")
    assert values_of(typed["Partitions"]) == [["2024", "eu"]]


def test_the_documented_example_request_is_accepted(lf):
    create_table(lf.glue, "sales", "example", keys=(("p", "string"),))
    example = {
        "if_not_exist": "false",
        "partitions": [{
            "partition_values": ["string"],
            "create_time": "2023-05-26T08:03:42.267Z",
            "last_access_time": "2023-05-26T08:03:42.267Z",
            "parameters": {"additionalProp1": "string", "additionalProp2": "string", "additionalProp3": "string"},
            "storage_descriptor": {
                "columns": [{"column_type": "string", "column_name": "c1", "comment": "string"}],
                "location": "string",
                "compressed": False,
                "input_format": "string",
                "output_format": "string",
                "number_of_buckets": 0,
                "bucket_columns": ["string"],
                "sort_columns": [{"column": "string", "sort_order": 1}],
                "serde_info": {"name": "string", "serialization_library": "string",
                               "parameters": {"additionalProp1": "string"}},
                "parameters": {"additionalProp1": "string"},
                "skewed_info": {"skewed_column_names": ["string"],
                                "skewed_column_value_location_maps": {"additionalProp1": "string"},
                                "skewed_column_values": [[]]},
                "stored_as_sub_directories": False,
            },
        }],
    }
    status, body, _ = lf.post(example, table="example")
    assert status == 201, body
    assert body[0]["storage_descriptor"]["sort_columns"] == [{"column": "string", "sort_order": 1}]
    assert body[0]["storage_descriptor"]["skewed_info"]["skewed_column_values"] == [[]]
    assert lf.values("example") == [["string"]]


def test_glue_partitions_are_visible_to_the_api(lf):
    call(lf.glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]})
    assert (status, body) == (201, [])
    status, body, _ = lf.post({"if_not_exist": False, "partitions": [lf_partition("2024", "eu")]})
    assert_lf_error(status, body, 400, "common.01000001", "2024", "already exists")
    assert "if_not_exist" in body["solution_msg"]


def test_if_not_exist_true_skips_existing_and_repeated_partitions(lf):
    assert lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]})[0] == 201
    status, body, _ = lf.post({"if_not_exist": "true", "partitions": [
        lf_partition("2024", "eu"), lf_partition("2025", "us"), lf_partition("2025", "us", parameters={"dup": "2"})]})
    assert status == 201, body
    assert [p["partition_values"] for p in body] == [["2025", "us"]]
    assert body[0]["parameters"]["key1"] == "value1"  # the first of the repeats is kept
    assert lf.values() == [["2024", "eu"], ["2025", "us"]]


def test_if_not_exist_false_fails_whole_request_on_an_existing_partition(lf):
    assert lf.post({"if_not_exist": False, "partitions": [lf_partition("2024", "eu")]})[0] == 201
    status, body, _ = lf.post({"if_not_exist": False, "partitions": [lf_partition("2030", "new"), lf_partition("2024", "eu")]})
    assert_lf_error(status, body, 400, "common.01000001", "partitions[1]", "already exists")
    assert lf.values() == [["2024", "eu"]]  # 2030 was not created either


def test_if_not_exist_false_rejects_repeats_within_the_request(lf):
    status, body, _ = lf.post({"if_not_exist": False, "partitions": [lf_partition("2024", "eu"), lf_partition("2024", "eu")]})
    assert_lf_error(status, body, 400, "common.01000001", "more than once")
    assert lf.values() == []


def test_empty_partition_list_creates_nothing(lf):
    assert lf.post({"if_not_exist": False, "partitions": []})[:2] == (201, [])


# --------------------------------------------------------------------------------------------
# 400: bad input, nothing created
# --------------------------------------------------------------------------------------------


def mutate(path: str, value):
    """A request of two partitions whose second has ``value`` at ``path`` (``DELETE`` removes it)."""
    body = {"if_not_exist": False, "partitions": [lf_partition("2024", "eu"), lf_partition("2025", "us")]}
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value == "DELETE":
        del target[last]
    else:
        target[last] = copy.deepcopy(value)
    return body


BAD_INPUTS = [
    ("if_not_exist", "DELETE", "if_not_exist"),
    ("if_not_exist", "maybe", "if_not_exist"),
    ("if_not_exist", 1, "TypeMismatchException"),
    ("partitions", "DELETE", "partitions"),
    ("partitions", {"not": "a list"}, "TypeMismatchException"),
    ("partitions.1", "text", "TypeMismatchException"),
    ("partitions.1.partition_values", "DELETE", "MissingFieldException"),
    ("partitions.1.partition_values", ["2025", ""], "partition_values[1]"),
    ("partitions.1.partition_values", ["2025", "x" * 1025], "1024"),
    ("partitions.1.partition_values", ["2025", 7], "TypeMismatchException"),
    ("partitions.1.create_time", "DELETE", "create_time"),
    ("partitions.1.create_time", "yesterday", "create_time"),
    ("partitions.1.last_access_time", 1685088222, "last_access_time"),
    ("partitions.1.parameters", "DELETE", "parameters"),
    ("partitions.1.parameters", {"k": "v" * 4001}, "4000"),
    ("partitions.1.parameters", {"k" * 256: "v"}, "255"),
    ("partitions.1.storage_descriptor", "DELETE", "storage_descriptor"),
    ("partitions.1.storage_descriptor.columns", "DELETE", "columns"),
    ("partitions.1.storage_descriptor.columns.0.column_name", "DELETE", "column_name"),
    ("partitions.1.storage_descriptor.columns.0.column_name", "c" * 768, "767"),
    ("partitions.1.storage_descriptor.columns.0.column_name", "bad name", "column_name"),
    ("partitions.1.storage_descriptor.columns.0.column_name", "a.b", "column_name"),
    ("partitions.1.storage_descriptor.columns.0.column_type", "DELETE", "column_type"),
    ("partitions.1.storage_descriptor.columns.0.column_type", "text", "column_type"),
    ("partitions.1.storage_descriptor.columns.0.comment", "c" * 4001, "4000"),
    ("partitions.1.storage_descriptor.compressed", "DELETE", "compressed"),
    ("partitions.1.storage_descriptor.compressed", "nope", "compressed"),
    ("partitions.1.storage_descriptor.serde_info", "DELETE", "serde_info"),
    ("partitions.1.storage_descriptor.serde_info.parameters", {"k" * 256: "v"}, "255"),
    ("partitions.1.storage_descriptor.serde_info.parameters", {"k": "v" * 4001}, "4000"),
    ("partitions.1.storage_descriptor.parameters", "DELETE", "parameters"),
    ("partitions.1.storage_descriptor.parameters", {"k": "v" * 4001}, "4000"),
    ("partitions.1.storage_descriptor.parameters", {"k" * 256: "v"}, "255"),
    ("partitions.1.storage_descriptor.parameters", {"k": 5}, "TypeMismatchException"),
    ("partitions.1.storage_descriptor.number_of_buckets", "4", "number_of_buckets"),
    ("partitions.1.storage_descriptor.sort_columns", [{"column": "id", "sort_order": 2}], "sort_order"),
    ("partitions.1.storage_descriptor.sort_columns", [{"column": "not ok"}], "column"),
    ("partitions.1.storage_descriptor.skewed_info", {"skewed_column_names": []}, "skewed_column_value"),
    ("partitions.1.storage_descriptor.skewed_info",
     {"skewed_column_names": [], "skewed_column_value_location_maps": {}, "skewed_column_values": ["flat"]},
     "skewed_column_values[0]"),
    ("partitions.1.storage_descriptor.stored_as_sub_directories", 0, "stored_as_sub_directories"),
]


@pytest.mark.parametrize("path, value, needle", BAD_INPUTS, ids=[f"{p}={str(v)[:20]}" for p, v, _ in BAD_INPUTS])
def test_bad_input_is_400_and_creates_nothing(lf, path, value, needle):
    status, body, _ = lf.post(mutate(path, value))
    assert_lf_error(status, body, 400, "common.01000001",
                    "failed to read http request, please check your input, code: 400", needle)
    assert lf.values() == []


def test_body_that_is_not_json_is_400(lf):
    status, body, _ = lf.post(None, raw=b"{not json")
    assert_lf_error(status, body, 400, "common.01000001", "JsonParseException")
    status, body, _ = lf.post(None, raw=b"")
    assert_lf_error(status, body, 400, "common.01000001")


def test_wrong_number_of_values_is_400(lf):
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu"), lf_partition("2025")]})
    assert_lf_error(status, body, 400, "common.01000001", "partitions[1]",
                    "The number of partition keys do not match the number of partition values")
    assert lf.values() == []


def test_unpartitioned_table_is_400(lf):
    create_table(lf.glue, "sales", "flat", keys=())
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("x")]}, table="flat")
    assert_lf_error(status, body, 400, "common.01000001", "flat")


@pytest.mark.parametrize("where, value", [
    ("catalog", "bad-catalog"),
    ("catalog", "c" * 257),
    ("database", "bad.name"),
    ("database", "d" * 129),
    ("table", "bad table"),
    ("table", "t" * 257),
])
def test_bad_path_parameters_are_400(lf, where, value):
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]}, **{where: value})
    assert_lf_error(status, body, 400, "common.01000001", f"{where}_name")


# --------------------------------------------------------------------------------------------
# 401 / 403 / 404 / 501
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "   "])
def test_missing_token_is_401(lf, token):
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]}, token=token)
    assert_lf_error(status, body, 401, "APIG.1002", "Incorrect token or token resolution failed")
    assert lf.values() == []


def test_token_of_another_project_is_403(lf):
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]}, token=new_account())
    assert status == 403
    assert body["error_code"] == "403"
    assert body["error_msg"] == "X-Auth-Token is invalid in the request"
    assert body["error"]["title"] == "Forbidden"
    assert lf.values() == []
    assert lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]}, token=lf.account)[0] == 201


@pytest.mark.parametrize("where, value, named", [
    ("database", "nodb", "database 'nodb'"),
    ("table", "notable", "table 'notable'"),
    ("catalog", "other_catalog", "catalog 'other_catalog'"),
])
def test_unknown_catalog_database_or_table_is_404(lf, where, value, named):
    status, body, _ = lf.post({"if_not_exist": True, "partitions": [lf_partition("2024", "eu")]}, **{where: value})
    assert_lf_error(status, body, 404, "common.01000001", "response status exception, code: 404", named)


def test_other_lakeformation_requests_are_501(lf):
    path = lf_path(lf.account).replace("/batch-create", "")
    status, body, _ = send(lf.emulator.url, path, None, method="GET")
    assert_lf_error(status, body, 501, "common.00000501", "GET")


# --------------------------------------------------------------------------------------------
# Mapping: project, catalog, names
# --------------------------------------------------------------------------------------------


def test_catalog_may_be_named_by_the_account_and_names_fold(lf):
    status, body, _ = lf.post({"if_not_exist": False, "partitions": [lf_partition("2024", "eu")]},
                              catalog=lf.account, database="SALES", table="Orders")
    assert status == 201, body
    assert body[0]["catalog_name"] == lf.account
    assert (body[0]["database_name"], body[0]["table_name"]) == ("sales", "orders")
    status, _, _ = lf.post({"if_not_exist": False, "partitions": [lf_partition("2025", "eu")]}, catalog="HIVE")
    assert status == 201
    assert lf.values() == [["2024", "eu"], ["2025", "eu"]]


def test_non_numeric_project_is_the_default_account(emulator, client):
    glue = client("glue", access_key="AKIAEMULATORLF")  # non-numeric key: the default account
    database = "lf_default_" + new_account()
    create_database(glue, database)
    create_table(glue, database, "orders")
    try:
        status, body, _ = send(emulator.url, lf_path("0a1b2c3d4e5f60718293a4b5c6d7e8f9", database),
                               {"if_not_exist": False, "partitions": [lf_partition("2024", "eu")]})
        assert status == 201, body
        assert body[0]["catalog_id"] == DEFAULT_ACCOUNT
        listed = call(glue, "GetPartitions", DatabaseName=database, TableName="orders")["Partitions"]
        assert values_of(listed) == [["2024", "eu"]]
    finally:
        call(glue, "DeleteDatabase", Name=database)


def test_partitions_survive_restart(fresh_emulator):
    account = new_account()
    glue = fresh_emulator.client("glue", account=account)
    create_database(glue, "sales")
    create_table(glue, "sales", "orders")
    status, body, _ = send(fresh_emulator.url, lf_path(account), {"if_not_exist": False, "partitions": [lf_partition("2024", "eu")]})
    assert status == 201, body
    fresh_emulator.kill9()
    fresh_emulator.start()
    glue = fresh_emulator.client("glue", account=account)
    listed = call(glue, "GetPartitions", DatabaseName="sales", TableName="orders")["Partitions"]
    assert values_of(listed) == [["2024", "eu"]]
    assert listed[0]["Parameters"] == body[0]["parameters"]
