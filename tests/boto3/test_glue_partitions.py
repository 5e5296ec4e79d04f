"""Glue partitions: create/get/update/delete, batch operations with per-entry errors, the
GetPartitions Expression language (typed by the partition keys' declared types), pagination,
ExcludeColumnSchema, Segment.

Spec: shared/spec/side-surfaces.md §B.4, §B.5, §E items 9–11.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from glue_helpers import create_database, create_table, new_account, partition_input, values_of
from helpers import assert_error, call, list_all


@pytest.fixture
def account():
    return new_account()


@pytest.fixture
def glue(client, account):
    """A client of a fresh account holding database `sales` and table `orders`
    (partition keys year:int, region:string)."""
    g = client("glue", account=account)
    create_database(g, "sales")
    create_table(g, "sales", "orders")
    return g


@pytest.fixture
def raw_glue(client, account, glue):
    """The same account with botocore's client-side validation off, to reach the server's."""
    return client("glue", account=account, validate=False)


def partitions(glue, table="orders", **kwargs) -> list:
    return call(glue, "GetPartitions", DatabaseName="sales", TableName=table, **kwargs)["Partitions"]


def selected(glue, expression: str, table="orders") -> list:
    return values_of(partitions(glue, table, Expression=expression))


# --------------------------------------------------------------------------------------------
# Single partitions
# --------------------------------------------------------------------------------------------


def test_create_and_get_partition(glue, account):
    spec = partition_input("2024", "eu", location="s3://emulator-data/orders/year=2024/region=eu/")
    spec["LastAccessTime"] = 1_700_000_000
    call(glue, "CreatePartition", DatabaseName="SALES", TableName="Orders", PartitionInput=spec)
    p = call(glue, "GetPartition", DatabaseName="sales", TableName="orders", PartitionValues=["2024", "eu"])["Partition"]
    assert p["Values"] == ["2024", "eu"]
    assert p["DatabaseName"] == "sales"
    assert p["TableName"] == "orders"
    assert p["CatalogId"] == account
    assert abs(p["CreationTime"].timestamp() - time.time()) < 120
    assert p["LastAccessTime"].timestamp() == 1_700_000_000
    assert p["StorageDescriptor"] == spec["StorageDescriptor"]
    assert p["Parameters"] == {"source": "test"}


def test_partition_without_storage_descriptor_inherits_nothing(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput={"Values": ["2024", "eu"]})
    p = call(glue, "GetPartition", DatabaseName="sales", TableName="orders", PartitionValues=["2024", "eu"])["Partition"]
    assert "StorageDescriptor" not in p


def test_create_partition_errors(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    with pytest.raises(glue.exceptions.AlreadyExistsException) as excinfo:
        glue.create_partition(DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    assert_error(excinfo, "AlreadyExistsException", 400, "Partition already exists.")
    with pytest.raises(glue.exceptions.InvalidInputException) as excinfo:
        glue.create_partition(DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024"))
    assert_error(excinfo, "InvalidInputException", 400,
                 "The number of partition keys do not match the number of partition values")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.create_partition(DatabaseName="sales", TableName="nope", PartitionInput=partition_input("2024", "eu"))
    assert_error(excinfo, "EntityNotFoundException", 400, "Table nope not found.")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.create_partition(DatabaseName="nodb", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    assert_error(excinfo, "EntityNotFoundException", 400, "Database nodb not found.")


def test_unpartitioned_table_rejects_partitions(glue):
    create_table(glue, "sales", "flat", keys=())
    with pytest.raises(glue.exceptions.InvalidInputException) as excinfo:
        glue.create_partition(DatabaseName="sales", TableName="flat", PartitionInput=partition_input("x"))
    assert_error(excinfo, "InvalidInputException", 400, "flat")


def test_get_missing_partition(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_partition(DatabaseName="sales", TableName="orders", PartitionValues=["1999", "eu"])
    assert_error(excinfo, "EntityNotFoundException", 400, "Cannot find partition.")


def test_partition_value_too_long_is_rejected_by_the_server(raw_glue, glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.create_partition(DatabaseName="sales", TableName="orders", PartitionInput=partition_input("1" * 1025, "eu"))
    assert_error(excinfo, "InvalidInputException", 400, "1024")
    assert partitions(glue) == []


def test_update_partition_replaces_definition_keeps_values_and_creation_time(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    before = call(glue, "GetPartition", DatabaseName="sales", TableName="orders", PartitionValues=["2024", "eu"])["Partition"]
    call(glue, "UpdatePartition", DatabaseName="sales", TableName="orders", PartitionValueList=["2024", "eu"],
         PartitionInput={"Values": ["2024", "eu"], "StorageDescriptor": {"Location": "s3://new/"},
                         "Parameters": {"v": "2"}})
    after = call(glue, "GetPartition", DatabaseName="sales", TableName="orders", PartitionValues=["2024", "eu"])["Partition"]
    assert after["StorageDescriptor"] == {"Location": "s3://new/"}
    assert after["Parameters"] == {"v": "2"}
    assert after["CreationTime"] == before["CreationTime"]


def test_update_partition_cannot_change_values_or_find_missing(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    with pytest.raises(glue.exceptions.InvalidInputException) as excinfo:
        glue.update_partition(DatabaseName="sales", TableName="orders", PartitionValueList=["2024", "eu"],
                              PartitionInput=partition_input("2025", "eu"))
    assert_error(excinfo, "InvalidInputException", 400, "Values")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.update_partition(DatabaseName="sales", TableName="orders", PartitionValueList=["1", "x"],
                              PartitionInput=partition_input("1", "x"))
    assert_error(excinfo, "EntityNotFoundException", 400, "Cannot find partition.")
    assert values_of(partitions(glue)) == [["2024", "eu"]]


def test_delete_partition(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    call(glue, "DeletePartition", DatabaseName="sales", TableName="orders", PartitionValues=["2024", "eu"])
    assert partitions(glue) == []
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.delete_partition(DatabaseName="sales", TableName="orders", PartitionValues=["2024", "eu"])
    assert_error(excinfo, "EntityNotFoundException", 400, "Cannot find partition.")


# --------------------------------------------------------------------------------------------
# Batch operations
# --------------------------------------------------------------------------------------------


def test_batch_create_partition_full_success_has_empty_errors(glue):
    response = call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
                    PartitionInputList=[partition_input("2024", "eu"), partition_input("2024", "us")])
    assert response["Errors"] == []
    assert values_of(partitions(glue)) == [["2024", "eu"], ["2024", "us"]]


def test_batch_create_partition_is_partial(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2023", "eu"))
    response = call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders", PartitionInputList=[
        partition_input("2023", "eu"),          # exists already
        partition_input("2024", "eu"),          # created
        partition_input("2024"),                # wrong value count
        partition_input("2024", "eu"),          # repeated within the request
        partition_input("2025", "us"),          # created
    ])
    assert response["Errors"] == [
        {"PartitionValues": ["2023", "eu"],
         "ErrorDetail": {"ErrorCode": "AlreadyExistsException", "ErrorMessage": "Partition already exists."}},
        {"PartitionValues": ["2024"],
         "ErrorDetail": {"ErrorCode": "InvalidInputException",
                         "ErrorMessage": "The number of partition keys do not match the number of partition values"}},
        {"PartitionValues": ["2024", "eu"],
         "ErrorDetail": {"ErrorCode": "AlreadyExistsException", "ErrorMessage": "Partition already exists."}},
    ]
    assert values_of(partitions(glue)) == [["2023", "eu"], ["2024", "eu"], ["2025", "us"]]


def test_batch_create_partition_whole_request_failures(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.batch_create_partition(DatabaseName="sales", TableName="nope", PartitionInputList=[partition_input("1", "x")])
    too_many = [partition_input(str(i), "eu") for i in range(101)]
    with pytest.raises(ClientError) as excinfo:
        glue.batch_create_partition(DatabaseName="sales", TableName="orders", PartitionInputList=too_many)
    assert_error(excinfo, "InvalidInputException", 400, "PartitionInputList", "100")
    assert partitions(glue) == []
    assert call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
                PartitionInputList=too_many[:100])["Errors"] == []
    assert len(list_all(glue, "GetPartitions", "Partitions", DatabaseName="sales", TableName="orders")) == 100


def test_batch_get_partition_leaves_missing_ones_out(glue):
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
         PartitionInputList=[partition_input("2024", "eu"), partition_input("2025", "us")])
    response = call(glue, "BatchGetPartition", DatabaseName="sales", TableName="orders", PartitionsToGet=[
        {"Values": ["2025", "us"]}, {"Values": ["1999", "xx"]}, {"Values": ["2024", "eu"]}, {"Values": ["2024"]},
    ])
    assert values_of(response["Partitions"]) == [["2025", "us"], ["2024", "eu"]]
    assert response["UnprocessedKeys"] == []
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.batch_get_partition(DatabaseName="sales", TableName="nope", PartitionsToGet=[{"Values": ["1", "x"]}])


def test_batch_delete_partition_reports_missing_ones(glue):
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
         PartitionInputList=[partition_input("2024", "eu"), partition_input("2025", "us"), partition_input("2026", "ap")])
    response = call(glue, "BatchDeletePartition", DatabaseName="sales", TableName="orders", PartitionsToDelete=[
        {"Values": ["2024", "eu"]}, {"Values": ["1999", "xx"]}, {"Values": ["2024", "eu"]}, {"Values": ["2026", "ap"]},
    ])
    not_found = {"ErrorCode": "EntityNotFoundException", "ErrorMessage": "Cannot find partition."}
    assert response["Errors"] == [
        {"PartitionValues": ["1999", "xx"], "ErrorDetail": not_found},
        {"PartitionValues": ["2024", "eu"], "ErrorDetail": not_found},
    ]
    assert values_of(partitions(glue)) == [["2025", "us"]]
    assert call(glue, "BatchDeletePartition", DatabaseName="sales", TableName="orders",
                PartitionsToDelete=[{"Values": ["2025", "us"]}])["Errors"] == []


def test_batch_delete_partition_limit_is_25(glue):
    with pytest.raises(ClientError) as excinfo:
        glue.batch_delete_partition(DatabaseName="sales", TableName="orders",
                                    PartitionsToDelete=[{"Values": [str(i), "x"]} for i in range(26)])
    assert_error(excinfo, "InvalidInputException", 400, "PartitionsToDelete")


# --------------------------------------------------------------------------------------------
# GetPartitions: Expression
# --------------------------------------------------------------------------------------------


@pytest.fixture
def populated(glue):
    """orders partitions (year:int, region:string) in this order."""
    values = [("9", "eu"), ("10", "us-east"), ("100", "us-west"), ("2024", "eu"), ("2025", "ap_south")]
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
         PartitionInputList=[partition_input(*v) for v in values])
    return glue


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("", ["9", "10", "100", "2024", "2025"]),
        ("   ", ["9", "10", "100", "2024", "2025"]),
        ("year = 2024", ["2024"]),
        ("year = '2024'", ["2024"]),
        ("year <> 10", ["9", "100", "2024", "2025"]),
        ("year != 10", ["9", "100", "2024", "2025"]),
        ("year > '9'", ["10", "100", "2024", "2025"]),  # numeric for an int key
        ("year < 100", ["9", "10"]),
        ("year >= 100", ["100", "2024", "2025"]),
        ("year <= 10", ["9", "10"]),
        ("year BETWEEN 10 AND 2024", ["10", "100", "2024"]),
        ("year NOT BETWEEN 10 AND 2024", ["9", "2025"]),
        ("year IN (9, '100', 2025)", ["9", "100", "2025"]),
        ("year NOT IN (9, 100)", ["10", "2024", "2025"]),
        ("region = 'eu'", ["9", "2024"]),
        ("region > 'eu'", ["10", "100"]),  # textual for a string key
        ("region LIKE 'us%'", ["10", "100"]),
        ("region LIKE '%_south'", ["2025"]),
        ("region LIKE 'e_'", ["9", "2024"]),
        ("region NOT LIKE 'us%'", ["9", "2024", "2025"]),
        ("year > 9 AND region LIKE 'us%'", ["10", "100"]),
        ("year = 9 OR region = 'ap_south'", ["9", "2025"]),
        ("NOT region = 'eu'", ["10", "100", "2025"]),
        ("(year < 100 OR year > 2024) AND NOT (region = 'eu')", ["10", "2025"]),
        ("year = 9 OR year = 10 AND region = 'eu'", ["9"]),  # AND binds tighter than OR
        ("YEAR >= 2024 and Region In ('eu', 'ap_south')", ["2024", "2025"]),
        ("'2024' <= year", ["2024", "2025"]),
        ("region IS NOT NULL AND year IS NOT NULL", ["9", "10", "100", "2024", "2025"]),
        ("region IS NULL", []),
    ],
)
def test_get_partitions_expression(populated, expression, expected):
    assert [v[0] for v in selected(populated, expression)] == expected


def test_string_keys_compare_textually(glue):
    create_table(glue, "sales", "crawled", keys=(("year", "string"),))
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="crawled",
         PartitionInputList=[partition_input(y) for y in ("9", "10", "2024")])
    assert selected(glue, "year > '9'", "crawled") == []
    assert selected(glue, "year > '10'", "crawled") == [["9"], ["2024"]]
    assert selected(glue, "year LIKE '20%'", "crawled") == [["2024"]]


def test_date_and_decimal_keys(glue):
    create_table(glue, "sales", "daily", keys=(("day", "date"), ("price", "decimal(10,2)")))
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="daily", PartitionInputList=[
        partition_input("2024-01-31", "9.50"), partition_input("2024-02-01", "10.00"), partition_input("2024-12-01", "100"),
    ])
    assert selected(glue, "day >= '2024-02-01'", "daily") == [["2024-02-01", "10.00"], ["2024-12-01", "100"]]
    assert selected(glue, "price > 9.5", "daily") == [["2024-02-01", "10.00"], ["2024-12-01", "100"]]
    assert selected(glue, "price = 10", "daily") == [["2024-02-01", "10.00"]]


@pytest.mark.parametrize(
    "expression, message",
    [
        ("year =", "Unsupported expression"),
        ("year = 'unterminated", "Unsupported expression"),
        ("(year = 1", "Unsupported expression"),
        ("year == = 1", "Unsupported expression"),
        ("year IN ()", "Unsupported expression"),
        ("year = 1 AND", "Unsupported expression"),
        ("day = '2024'", "Invalid partition expression!"),  # not a partition key
        ("amount > 1", "Invalid partition expression!"),   # a data column, not a partition key
        ("year LIKE '20%'", "Integral data type doesn't support operation 'LIKE'"),
        ("year = 'abc'", "cannot be converted"),
        ("year BETWEEN 1 AND 'z'", "cannot be converted"),
    ],
)
def test_get_partitions_expression_errors(populated, expression, message):
    with pytest.raises(populated.exceptions.InvalidInputException) as excinfo:
        populated.get_partitions(DatabaseName="sales", TableName="orders", Expression=expression)
    assert_error(excinfo, "InvalidInputException", 400, message)


def test_expression_on_an_unsupported_key_type(glue):
    create_table(glue, "sales", "flags", keys=(("flag", "boolean"),))
    call(glue, "CreatePartition", DatabaseName="sales", TableName="flags", PartitionInput=partition_input("true"))
    with pytest.raises(glue.exceptions.InvalidInputException) as excinfo:
        glue.get_partitions(DatabaseName="sales", TableName="flags", Expression="flag = 'true'")
    assert_error(excinfo, "InvalidInputException", 400, "Unknown type : 'boolean'")
    assert selected(glue, "", "flags") == [["true"]]


def test_expression_on_an_unpartitioned_table(glue):
    create_table(glue, "sales", "flat", keys=())
    with pytest.raises(glue.exceptions.InvalidInputException) as excinfo:
        glue.get_partitions(DatabaseName="sales", TableName="flat", Expression="year = 1")
    assert_error(excinfo, "InvalidInputException", 400, "Invalid partition expression!")


def test_stored_value_not_matching_the_key_type_is_invalid_state(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("not-a-year", "eu"))
    assert selected(glue, "region = 'eu'") == [["not-a-year", "eu"]]
    with pytest.raises(ClientError) as excinfo:
        glue.get_partitions(DatabaseName="sales", TableName="orders", Expression="year > 1")
    assert_error(excinfo, "InvalidStateException", 400, "not-a-year")


# --------------------------------------------------------------------------------------------
# GetPartitions: pagination, ExcludeColumnSchema, Segment
# --------------------------------------------------------------------------------------------


def test_get_partitions_paginates_with_and_without_expression(glue):
    inputs = [partition_input(str(2000 + i), "eu" if i % 2 else "us") for i in range(23)]
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders", PartitionInputList=inputs)
    everything = list_all(glue, "GetPartitions", "Partitions", page_size=5, DatabaseName="sales", TableName="orders")
    assert values_of(everything) == [p["Values"] for p in inputs]
    pages = list(glue.get_paginator("get_partitions").paginate(
        DatabaseName="sales", TableName="orders", PaginationConfig={"PageSize": 5}))
    assert [len(p["Partitions"]) for p in pages] == [5, 5, 5, 5, 3]
    eu = list_all(glue, "GetPartitions", "Partitions", page_size=4, DatabaseName="sales", TableName="orders",
                  Expression="region = 'eu' AND year >= 2005")
    assert values_of(eu) == [p["Values"] for p in inputs if p["Values"][1] == "eu" and int(p["Values"][0]) >= 2005]
    page = call(glue, "GetPartitions", DatabaseName="sales", TableName="orders", MaxResults=7)
    assert len(page["Partitions"]) == 7 and page["NextToken"]
    with pytest.raises(ClientError) as excinfo:  # a token belongs to its expression
        glue.get_partitions(DatabaseName="sales", TableName="orders", Expression="year > 1",
                            NextToken=page["NextToken"])
    assert_error(excinfo, "InvalidInputException", 400)


def test_get_partitions_max_results_bounds(raw_glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.get_partitions(DatabaseName="sales", TableName="orders", MaxResults=1001)
    assert_error(excinfo, "InvalidInputException", 400, "MaxResults")


def test_exclude_column_schema(glue):
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    full = partitions(glue)[0]["StorageDescriptor"]
    slim = partitions(glue, ExcludeColumnSchema=True)[0]["StorageDescriptor"]
    assert "Columns" in full
    assert "Columns" not in slim
    assert slim["Location"] == full["Location"]


def test_segments_split_partitions_disjointly(glue):
    inputs = [partition_input(str(2000 + i), "eu") for i in range(17)]
    call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders", PartitionInputList=inputs)
    seen = []
    for number in range(3):
        seen.extend(tuple(v) for v in values_of(
            partitions(glue, Segment={"SegmentNumber": number, "TotalSegments": 3})))
    assert sorted(seen) == sorted(tuple(p["Values"]) for p in inputs)
    assert len(seen) == len(set(seen))
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.get_partitions(DatabaseName="sales", TableName="orders", Segment={"SegmentNumber": 3, "TotalSegments": 3})


def test_get_partitions_of_missing_table(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_partitions(DatabaseName="sales", TableName="nope")
    assert_error(excinfo, "EntityNotFoundException", 400, "Table nope not found.")


def test_sparse_filter_paginates_over_many_partitions(glue):
    for start in (0, 100, 200):
        call(glue, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
             PartitionInputList=[partition_input(str(i), "eu", columns=False) for i in range(start, start + 100)])
    wanted = [[str(i), "eu"] for i in range(300) if i % 37 == 0]
    found = list_all(glue, "GetPartitions", "Partitions", page_size=2, DatabaseName="sales", TableName="orders",
                     Expression="year IN (" + ", ".join(v[0] for v in wanted) + ")")
    assert values_of(found) == wanted
    assert len(list_all(glue, "GetPartitions", "Partitions", DatabaseName="sales", TableName="orders")) == 300
