"""S3 on the shared endpoint: objects where AWS users keep base data, as boto3 sees them.

Round trips, ranges, multipart uploads and boto3's managed transfers, listings, copies, bulk
deletes, the bucket and cross-account errors, virtual-hosted-style addressing, key safety
(traversal attempts never leave <data-dir>/s3), the on-disk layout the engine relies on, and
durability across restarts and kill -9. Every boto3 call is checked against the S3 model.
"""

from __future__ import annotations

import base64
import hashlib
import os
import urllib.error
import uuid
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import A, B, assert_error, raw_request

MIB = 1024 * 1024


def bucket_name(prefix: str = "bkt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3(client):
    return client("s3", account=A)


@pytest.fixture
def bucket(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    return name


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def s3_error(excinfo) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------


def test_put_get_head_delete_round_trip(s3, bucket):
    body = b"id,name\n1,alice\n2,bob\n"
    put = s3.put_object(
        Bucket=bucket, Key="people.csv", Body=body, ContentType="text/csv", Metadata={"Owner": "Team-A", "x": "1"}
    )
    assert put["ETag"] == f'"{md5_hex(body)}"'
    assert put["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]

    got = s3.get_object(Bucket=bucket, Key="people.csv")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/csv"
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == put["ETag"]
    assert got["Metadata"] == {"owner": "Team-A", "x": "1"}
    assert got["AcceptRanges"] == "bytes"

    head = s3.head_object(Bucket=bucket, Key="people.csv")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == put["ETag"]
    assert head["Metadata"] == {"owner": "Team-A", "x": "1"}
    assert head["LastModified"] == got["LastModified"]

    # Overwrite, then delete; deleting again is still 204.
    s3.put_object(Bucket=bucket, Key="people.csv", Body=b"new")
    assert s3.get_object(Bucket=bucket, Key="people.csv")["Body"].read() == b"new"
    assert s3.get_object(Bucket=bucket, Key="people.csv")["ContentType"] == "binary/octet-stream"
    assert s3.delete_object(Bucket=bucket, Key="people.csv")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="people.csv")["ResponseMetadata"]["HTTPStatusCode"] == 204

    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="people.csv")
    response = assert_error(excinfo, "NoSuchKey", 404, "people.csv")
    assert response["Error"]["Resource"] == f"/{bucket}/people.csv"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]

    with pytest.raises(ClientError) as excinfo:  # HEAD: 404 without a body
        s3.head_object(Bucket=bucket, Key="people.csv")
    assert s3_error(excinfo) == ("404", 404)


def test_empty_object_and_folder_marker(s3, bucket, emulator):
    assert s3.put_object(Bucket=bucket, Key="empty.txt", Body=b"")["ETag"] == f'"{md5_hex(b"")}"'
    assert s3.get_object(Bucket=bucket, Key="empty.txt")["Body"].read() == b""
    s3.put_object(Bucket=bucket, Key="folder/", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="folder/")["Body"].read() == b""
    assert (emulator.data_dir / "s3" / bucket / "folder").is_dir()
    s3.put_object(Bucket=bucket, Key="folder/inside.txt", Body=b"x")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["empty.txt", "folder/", "folder/inside.txt"]
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="other/", Body=b"not empty")
    assert_error(excinfo, "InvalidArgument", 400, "folder")


def test_object_file_is_exactly_where_the_engine_reads_it(s3, bucket, emulator):
    body = b"a,b\n1,2\n3,4\n"
    s3.put_object(Bucket=bucket, Key="data/part-0.csv", Body=body)
    path = emulator.data_dir / "s3" / bucket / "data" / "part-0.csv"
    assert path.is_file()
    assert path.read_bytes() == body
    assert sorted(p.name for p in path.parent.iterdir()) == ["part-0.csv"]
    # Deleting removes the file and the now-empty directory.
    s3.delete_object(Bucket=bucket, Key="data/part-0.csv")
    assert not path.exists()
    assert not path.parent.exists()


def test_range_reads(s3, bucket):
    body = bytes(range(256)) * 4  # 1024 bytes
    s3.put_object(Bucket=bucket, Key="blob", Body=body)

    first = s3.get_object(Bucket=bucket, Key="blob", Range="bytes=0-9")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert first["Body"].read() == body[:10]
    assert first["ContentRange"] == "bytes 0-9/1024"
    assert first["ContentLength"] == 10

    suffix = s3.get_object(Bucket=bucket, Key="blob", Range="bytes=-5")
    assert suffix["Body"].read() == body[-5:]
    assert suffix["ContentRange"] == "bytes 1019-1023/1024"

    open_end = s3.get_object(Bucket=bucket, Key="blob", Range="bytes=1000-")
    assert open_end["Body"].read() == body[1000:]
    assert open_end["ContentRange"] == "bytes 1000-1023/1024"

    clipped = s3.get_object(Bucket=bucket, Key="blob", Range="bytes=1020-5000")
    assert clipped["Body"].read() == body[1020:]

    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="blob", Range="bytes=2000-3000")
    assert_error(excinfo, "InvalidRange", 416)


def test_conditional_reads_and_writes(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert_error(excinfo, "PreconditionFailed", 412)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfNoneMatch="*")
    assert_error(excinfo, "PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"


def test_content_md5_is_checked(s3, bucket):
    body = b"payload"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="ok", Body=body, ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5=wrong)
    assert_error(excinfo, "BadDigest", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5="not-base64-md5")
    assert_error(excinfo, "InvalidDigest", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="bad")
    assert s3_error(excinfo) == ("404", 404)


def test_declared_checksum_is_checked(s3, bucket, emulator):
    # boto3 sends x-amz-checksum-crc32 itself; a wrong one must be refused.
    response = raw_request(
        emulator.url,
        "PUT",
        f"/{bucket}/crc",
        b"hello",
        service="s3",
        headers={"x-amz-checksum-crc32": "AAAAAA==", "Content-Type": "text/plain"},
    )
    assert response.status == 400, response.body
    assert b"<Code>BadDigest</Code>" in response.body
    ok = s3.put_object(Bucket=bucket, Key="crc", Body=b"hello", ChecksumAlgorithm="CRC32")
    assert ok["ChecksumCRC32"] == "NhCmhg=="


def test_copy_object_within_and_across_buckets(s3, bucket):
    other = bucket_name("copy")
    s3.create_bucket(Bucket=other)
    body = b"copy me"
    s3.put_object(Bucket=bucket, Key="src/a b+c.txt", Body=body, ContentType="text/plain", Metadata={"k": "v"})

    copied = s3.copy_object(Bucket=bucket, Key="dst.txt", CopySource={"Bucket": bucket, "Key": "src/a b+c.txt"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{md5_hex(body)}"'
    got = s3.get_object(Bucket=bucket, Key="dst.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"k": "v"}

    s3.copy_object(
        Bucket=other,
        Key="replaced.txt",
        CopySource=f"{bucket}/src/a b+c.txt",
        MetadataDirective="REPLACE",
        ContentType="application/x-test",
        Metadata={"new": "1"},
    )
    got = s3.get_object(Bucket=other, Key="replaced.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"new": "1"}

    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="dst.txt", CopySource={"Bucket": bucket, "Key": "dst.txt"})
    assert_error(excinfo, "InvalidRequest", 400, "copy an object to itself")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
    assert_error(excinfo, "NoSuchKey", 404)


def test_delete_objects_verbose_and_quiet(s3, bucket):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    verbose = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d/0"}, {"Key": "d/1"}, {"Key": "nope"}]})
    assert sorted(d["Key"] for d in verbose["Deleted"]) == ["d/0", "d/1", "nope"]
    assert "Errors" not in verbose
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d/2"}, {"Key": "d/3"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["d/4"]


# --------------------------------------------------------------------------------------------
# Listings
# --------------------------------------------------------------------------------------------


def test_list_objects_v2_prefix_delimiter_and_pagination(s3, bucket):
    keys = [
        "data/2024/a.csv",
        "data/2024/b.csv",
        "data/2025/c.csv",
        "data/top.csv",
        "data-other.csv",
        "logs/x.log",
        "readme.md",
        "weird key+plus/é.txt",
    ]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())

    everything = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in everything["Contents"]] == sorted(keys)
    assert everything["KeyCount"] == len(keys)
    assert everything["IsTruncated"] is False
    assert {o["Size"] for o in everything["Contents"] if o["Key"] == "readme.md"} == {len(b"readme.md")}

    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["data-other.csv", "readme.md"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["data/", "logs/", "weird key+plus/"]
    assert top["KeyCount"] == 5

    data = s3.list_objects_v2(Bucket=bucket, Prefix="data/", Delimiter="/")
    assert [o["Key"] for o in data["Contents"]] == ["data/top.csv"]
    assert [p["Prefix"] for p in data["CommonPrefixes"]] == ["data/2024/", "data/2025/"]

    after = s3.list_objects_v2(Bucket=bucket, StartAfter="data/2025/c.csv")
    assert [o["Key"] for o in after["Contents"]] == sorted(keys)[4:]

    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))
    assert [len(p.get("Contents", [])) for p in pages] == [3, 3, 2]
    assert all(p["IsTruncated"] for p in pages[:-1]) and not pages[-1]["IsTruncated"]
    assert [o["Key"] for p in pages for o in p["Contents"]] == sorted(keys)

    grouped = list(paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}))
    seen = [o["Key"] for p in grouped for o in p.get("Contents", [])] + [
        c["Prefix"] for p in grouped for c in p.get("CommonPrefixes", [])
    ]
    assert sorted(seen) == ["data-other.csv", "data/", "logs/", "readme.md", "weird key+plus/"]

    empty = s3.list_objects_v2(Bucket=bucket, Prefix="nothing/")
    assert empty["KeyCount"] == 0 and "Contents" not in empty

    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="not-a-token")
    assert_error(excinfo, "InvalidArgument", 400)


def test_list_objects_v1(s3, bucket):
    for key in ["a/1", "a/2", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    pages = list(s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [o["Key"] for p in pages for o in p["Contents"]] == ["a/1", "a/2", "b", "c"]
    grouped = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert grouped["CommonPrefixes"] == [{"Prefix": "a/"}]
    assert grouped["NextMarker"] == "a/"
    rest = s3.list_objects(Bucket=bucket, Delimiter="/", Marker="a/")
    assert [o["Key"] for o in rest["Contents"]] == ["b", "c"]


# --------------------------------------------------------------------------------------------
# Multipart
# --------------------------------------------------------------------------------------------


def test_multipart_upload_with_s3_etag(s3, bucket, emulator):
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail bytes"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="big/file.bin", ContentType="application/x-big")[
        "UploadId"
    ]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key="big/file.bin", UploadId=upload_id, PartNumber=number, Body=data)["ETag"])
    assert etags == [f'"{md5_hex(d)}"' for d in parts_data]

    listed = s3.list_parts(Bucket=bucket, Key="big/file.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]] == [
        (i + 1, etags[i], len(d)) for i, d in enumerate(parts_data)
    ]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [upload_id]

    with pytest.raises(ClientError) as excinfo:  # out of order
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="big/file.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]},
        )
    assert_error(excinfo, "InvalidPartOrder", 400)
    with pytest.raises(ClientError) as excinfo:  # wrong ETag
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="big/file.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]},
        )
    assert_error(excinfo, "InvalidPart", 400)

    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big/file.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    digest = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest()
    assert done["ETag"] == f'"{digest}-3"'
    whole = b"".join(parts_data)
    got = s3.get_object(Bucket=bucket, Key="big/file.bin")
    assert got["ETag"] == done["ETag"]
    assert got["ContentType"] == "application/x-big"
    assert got["Body"].read() == whole
    assert (emulator.data_dir / "s3" / bucket / "big" / "file.bin").read_bytes() == whole
    assert not (emulator.data_dir / "s3-multipart" / upload_id).exists()

    with pytest.raises(ClientError) as excinfo:  # completed: gone
        s3.list_parts(Bucket=bucket, Key="big/file.bin", UploadId=upload_id)
    assert_error(excinfo, "NoSuchUpload", 404)


def test_multipart_listings_page_and_roll_up_common_prefixes(s3, bucket):
    keys = ["logs/2024/a", "logs/2024/b", "logs/2025/c", "top", "top"]
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in keys]

    top = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/"]
    # Two uploads of one key come in initiation order (created within the same millisecond,
    # their order is undefined, as in S3).
    assert sorted((u["Key"], u["UploadId"]) for u in top["Uploads"]) == sorted(zip(keys[3:], ids[3:]))
    assert top["Delimiter"] == "/" and top["IsTruncated"] is False
    logs = s3.list_multipart_uploads(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [p["Prefix"] for p in logs["CommonPrefixes"]] == ["logs/2024/", "logs/2025/"]
    assert "Uploads" not in logs

    # One entry a page, from marker to marker: a common prefix counts like an upload.
    seen, markers = [], {}
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", MaxUploads=1, **markers)
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [u["UploadId"] for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if page.get("NextUploadIdMarker"):
            markers["UploadIdMarker"] = page["NextUploadIdMarker"]
    assert seen[0] == "logs/" and sorted(seen[1:]) == sorted(ids[3:])
    assert seen[1:] == [u["UploadId"] for u in top["Uploads"]]

    # ListParts pages by part number.
    for number in range(1, 6):
        s3.upload_part(Bucket=bucket, Key="top", UploadId=ids[3], PartNumber=number, Body=b"x" * number)
    numbers, marker = [], 0
    while True:
        page = s3.list_parts(Bucket=bucket, Key="top", UploadId=ids[3], MaxParts=2, PartNumberMarker=marker)
        numbers += [p["PartNumber"] for p in page.get("Parts", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
    assert numbers == [1, 2, 3, 4, 5]
    assert [p["Size"] for p in s3.list_parts(Bucket=bucket, Key="top", UploadId=ids[3], PartNumberMarker=3)["Parts"]] == [4, 5]
    for key, upload_id in zip(keys, ids):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_multipart_small_parts_and_abort(s3, bucket, emulator):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=1, Body=b"a" * 100)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=2, Body=b"b" * 100)["ETag"]
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="small",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
        )
    assert_error(excinfo, "EntityTooSmall", 400)
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert_error(excinfo, "InvalidArgument", 400)

    # A single small part is fine (it is the last one).
    single = s3.create_multipart_upload(Bucket=bucket, Key="single")["UploadId"]
    e = s3.upload_part(Bucket=bucket, Key="single", UploadId=single, PartNumber=1, Body=b"only")["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="single", UploadId=single, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]}
    )
    assert done["ETag"].endswith('-1"')

    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket)  # an upload in progress keeps the bucket
    assert_error(excinfo, "BucketNotEmpty", 409)

    assert s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not (emulator.data_dir / "s3-multipart" / upload_id).exists()
    for call in (
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id),
        lambda: s3.upload_part(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket=bucket, Key="small", UploadId=upload_id),
        lambda: s3.list_parts(Bucket=bucket, Key="small", UploadId="no-such-upload"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert_error(excinfo, "NoSuchUpload", 404)


def test_managed_transfer_upload_file_and_download_file(s3, bucket, tmp_path):
    source = tmp_path / "source.bin"
    data = os.urandom(12 * MIB + 123)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=3)
    s3.upload_file(str(source), bucket, "transfers/source.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="transfers/source.bin")
    assert head["ContentLength"] == len(data)
    chunks = [data[i : i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    expected = hashlib.md5(b"".join(hashlib.md5(c).digest() for c in chunks)).hexdigest()
    assert head["ETag"] == f'"{expected}-{len(chunks)}"'

    target = tmp_path / "target.bin"
    s3.download_file(bucket, "transfers/source.bin", str(target), Config=config)
    assert target.read_bytes() == data

    s3.copy({"Bucket": bucket, "Key": "transfers/source.bin"}, bucket, "transfers/copy.bin", Config=config)
    assert s3.get_object(Bucket=bucket, Key="transfers/copy.bin")["Body"].read() == data


# --------------------------------------------------------------------------------------------
# Buckets and accounts
# --------------------------------------------------------------------------------------------


def test_bucket_lifecycle_and_errors(client, s3):
    name = bucket_name()
    created = s3.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=name)
    assert_error(excinfo, "BucketAlreadyOwnedByYou", 409)
    other = client("s3", account=B)
    with pytest.raises(ClientError) as excinfo:
        other.create_bucket(Bucket=name)
    assert_error(excinfo, "BucketAlreadyExists", 409)
    assert name not in [b["Name"] for b in other.list_buckets()["Buckets"]]

    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=name)
    assert_error(excinfo, "BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="k")
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204

    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket=name)
    assert s3_error(excinfo) == ("404", 404)
    for call in (
        lambda: s3.list_objects_v2(Bucket=name),
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x"),
        lambda: s3.delete_bucket(Bucket=name),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert_error(excinfo, "NoSuchBucket", 404, name)

    for bad in ["Bad_Name", "ab", "a..b", "192.168.0.1", "-dash"]:
        with pytest.raises(ClientError) as excinfo:
            s3.create_bucket(Bucket=bad)
        assert_error(excinfo, "InvalidBucketName", 400)


def test_location_constraint(client):
    eu = client("s3", account=A, region="eu-west-1")
    name = bucket_name("eu")
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert eu.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
    with pytest.raises(ClientError) as excinfo:
        eu.create_bucket(Bucket=bucket_name("eu"), CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert_error(excinfo, "IllegalLocationConstraintException", 400)


def test_other_accounts_cannot_touch_a_bucket(client, s3, bucket):
    s3.put_object(Bucket=bucket, Key="secret.csv", Body=b"a,b")
    b = client("s3", account=B)
    for call in (
        lambda: b.get_object(Bucket=bucket, Key="secret.csv"),
        lambda: b.put_object(Bucket=bucket, Key="x", Body=b"x"),
        lambda: b.list_objects_v2(Bucket=bucket),
        lambda: b.delete_object(Bucket=bucket, Key="secret.csv"),
        lambda: b.delete_bucket(Bucket=bucket),
        lambda: b.create_multipart_upload(Bucket=bucket, Key="x"),
        lambda: b.copy_object(Bucket=bucket, Key="y", CopySource={"Bucket": bucket, "Key": "secret.csv"}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert_error(excinfo, "AccessDenied", 403)
    with pytest.raises(ClientError) as excinfo:
        b.head_bucket(Bucket=bucket)
    assert s3_error(excinfo) == ("403", 403)
    # Copying out of A's bucket into B's own is denied too.
    own = bucket_name("b")
    b.create_bucket(Bucket=own)
    with pytest.raises(ClientError) as excinfo:
        b.copy_object(Bucket=own, Key="stolen", CopySource={"Bucket": bucket, "Key": "secret.csv"})
    assert_error(excinfo, "AccessDenied", 403)
    assert s3.get_object(Bucket=bucket, Key="secret.csv")["Body"].read() == b"a,b"


def test_unimplemented_operation_is_501_naming_it(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_acl(Bucket=bucket)
    assert_error(excinfo, "NotImplemented", 501, "s3.GetBucketAcl")


def test_unknown_method_is_405(emulator, bucket):
    response = raw_request(emulator.url, "PATCH", f"/{bucket}/k", b"", service="s3")
    assert response.status == 405, response.body
    assert b"<Code>MethodNotAllowed</Code>" in response.body
    assert response.header("x-amz-request-id")


# --------------------------------------------------------------------------------------------
# Addressing
# --------------------------------------------------------------------------------------------


def test_virtual_hosted_style_requests(emulator, s3, bucket):
    port = emulator.url.rsplit(":", 1)[1]
    for host in (f"{bucket}.localhost:{port}", f"{bucket}.s3.localhost:{port}"):
        put = raw_request(
            emulator.url, "PUT", "/vh/key.txt", b"virtual", service="s3", headers={"Host": host, "Content-Type": "text/plain"}
        )
        assert put.status == 200, put.body
        assert put.header("ETag") == f'"{md5_hex(b"virtual")}"'
        assert put.header("x-amz-request-id")
        got = raw_request(emulator.url, "GET", "/vh/key.txt", service="s3", headers={"Host": host})
        assert got.status == 200 and got.body == b"virtual"
        listing = raw_request(emulator.url, "GET", "/?list-type=2", service="s3", headers={"Host": host})
        assert listing.status == 200
        assert b"<Key>vh/key.txt</Key>" in listing.body
        assert f"<Name>{bucket}</Name>".encode() in listing.body
    assert s3.get_object(Bucket=bucket, Key="vh/key.txt")["Body"].read() == b"virtual"
    # Unsigned virtual-hosted requests are S3 too (as the default account: not A's bucket).
    unsigned = raw_request(emulator.url, "GET", "/vh/key.txt", sign=False, headers={"Host": f"{bucket}.localhost:{port}"})
    assert unsigned.status == 403 and b"<Code>AccessDenied</Code>" in unsigned.body
    # localhost itself is path style.
    path_style = raw_request(emulator.url, "GET", f"/{bucket}/vh/key.txt", service="s3", headers={"Host": f"localhost:{port}"})
    assert path_style.status == 200 and path_style.body == b"virtual"


# --------------------------------------------------------------------------------------------
# Key safety
# --------------------------------------------------------------------------------------------


TRAVERSALS = [
    "/../../escape-1",
    "/%2e%2e/%2e%2e/escape-2",
    "/a/../../escape-3",
    "/a/%2E%2E/%2E%2E/escape-4",
    "/..%2F..%2Fescape-5",
    "/%2Fetc%2Fescape-6",
    "//abs-escape-7",
    "/a//b",
    "/./dot",
    "/a/./b",
    "/nul%00byte",
]

SAFE_ODD_KEYS = [
    ("/..%5C..%5Cbackslash", "..\\..\\backslash"),
    ("/%EF%BC%8E%EF%BC%8E/fullwidth", "\uff0e\uff0e/fullwidth"),
    ("/...", "..."),
    ("/a/..b/c..", "a/..b/c.."),
]


def test_traversal_attempts_never_leave_the_bucket(emulator, s3, bucket):
    data_dir = emulator.data_dir
    root = data_dir.parent
    outside_before = files_under(root) - files_under(data_dir / "s3")
    for path in TRAVERSALS:
        response = raw_request(emulator.url, "PUT", f"/{bucket}{path}", b"pwned", service="s3")
        assert 400 <= response.status < 500, (path, response.status, response.body)
        assert b"<Code>" in response.body and response.header("x-amz-request-id")
        fetched = raw_request(emulator.url, "GET", f"/{bucket}{path}", service="s3")
        assert fetched.status >= 400, (path, fetched.status)
    for path, key in SAFE_ODD_KEYS:
        response = raw_request(emulator.url, "PUT", f"/{bucket}{path}", b"odd", service="s3")
        assert response.status == 200, (path, response.body)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"odd"
        assert (data_dir / "s3" / bucket / key).read_bytes() == b"odd"
    # boto3 sends '..' segments as they are.
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="../../escape-boto3", Body=b"pwned")
    assert_error(excinfo, "InvalidArgument", 400, "..")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert excinfo.value.response["Error"]["Code"] == "KeyTooLongError"
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="../copied-out", CopySource={"Bucket": bucket, "Key": "..."})
    assert_error(excinfo, "InvalidArgument", 400)

    outside_after = files_under(root) - files_under(data_dir / "s3")
    new_outside = {p for p in outside_after - outside_before if "metadata.db" not in p.name and p.suffix != ".log"}
    assert new_outside == set(), new_outside
    assert not any("escape" in p.name or "pwned" in p.name for p in files_under(root))
    for p in files_under(data_dir / "s3"):
        assert p.read_bytes() != b"pwned", p
    assert list((data_dir / "s3-tmp").iterdir()) == []


def test_a_path_cannot_be_both_object_and_folder(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"file")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="a/b", Body=b"under")
    assert_error(excinfo, "InvalidArgument", 400, "'a' is an object")
    s3.put_object(Bucket=bucket, Key="c/d", Body=b"under")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="c", Body=b"file")
    assert_error(excinfo, "InvalidArgument", 400, "objects exist under 'c/'")
    # Nothing was corrupted, and once 'c/d' is gone 'c' can be a file.
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"file"
    assert s3.get_object(Bucket=bucket, Key="c/d")["Body"].read() == b"under"
    s3.delete_object(Bucket=bucket, Key="c/d")
    s3.put_object(Bucket=bucket, Key="c", Body=b"file now")
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"file now"


# --------------------------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------------------------


def test_objects_survive_kill9_and_restart(fresh_emulator):
    s3 = fresh_emulator.client("s3", account=A)
    name = bucket_name("durable")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="a/one.csv", Body=b"1,2\n", ContentType="text/csv", Metadata={"m": "v"})
    upload_id = s3.create_multipart_upload(Bucket=name, Key="multi.bin")["UploadId"]
    part = os.urandom(5 * MIB)
    etag = s3.upload_part(Bucket=name, Key="multi.bin", UploadId=upload_id, PartNumber=1, Body=part)["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=name, Key="multi.bin", UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )
    pending = s3.create_multipart_upload(Bucket=name, Key="pending.bin")["UploadId"]
    s3.upload_part(Bucket=name, Key="pending.bin", UploadId=pending, PartNumber=1, Body=b"p" * 10)
    s3.put_object(Bucket=name, Key="last.txt", Body=b"written just before the kill")
    fresh_emulator.kill9()
    fresh_emulator.start()

    s3 = fresh_emulator.client("s3", account=A)
    got = s3.get_object(Bucket=name, Key="a/one.csv")
    assert got["Body"].read() == b"1,2\n"
    assert got["ContentType"] == "text/csv" and got["Metadata"] == {"m": "v"}
    multi = s3.get_object(Bucket=name, Key="multi.bin")
    assert multi["ETag"] == done["ETag"] and multi["Body"].read() == part
    assert s3.get_object(Bucket=name, Key="last.txt")["Body"].read() == b"written just before the kill"
    assert [p["Size"] for p in s3.list_parts(Bucket=name, Key="pending.bin", UploadId=pending)["Parts"]] == [10]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["a/one.csv", "last.txt", "multi.bin"]

    assert fresh_emulator.stop() == 0
    fresh_emulator.start()
    s3 = fresh_emulator.client("s3", account=A)
    assert s3.get_object(Bucket=name, Key="last.txt")["Body"].read() == b"written just before the kill"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_reset_wipes_s3(fresh_emulator):
    s3 = fresh_emulator.client("s3", account=A)
    name = bucket_name("reset")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    fresh_emulator.reset()
    assert not (fresh_emulator.data_dir / "s3" / name).exists()
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket=name)  # the name is free again


# --------------------------------------------------------------------------------------------
# Other clients' wire forms
# --------------------------------------------------------------------------------------------


def test_aws_chunked_bodies_are_decoded(emulator, s3, bucket):
    """Streaming uploads of other AWS SDKs: aws-chunked framing with a trailing checksum."""
    payload = b"hello world, chunked"
    crc = base64.b64encode((__import__("zlib").crc32(payload) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    framed = (
        f"{10:x}\r\n".encode() + payload[:10] + b"\r\n"
        + f"{len(payload) - 10:x}\r\n".encode() + payload[10:] + b"\r\n"
        + b"0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n".encode() + b"\r\n"
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(payload)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "Content-Type": "text/plain",
    }
    response = raw_request(emulator.url, "PUT", f"/{bucket}/chunked.txt", framed, service="s3", headers=headers)
    assert response.status == 200, response.body
    assert response.header("ETag") == f'"{md5_hex(payload)}"'
    got = s3.get_object(Bucket=bucket, Key="chunked.txt")
    assert got["Body"].read() == payload
    assert got["ContentType"] == "text/plain"
    assert "ContentEncoding" not in got

    bad = framed.replace(crc.encode(), b"AAAAAA==")
    response = raw_request(emulator.url, "PUT", f"/{bucket}/bad.txt", bad, service="s3", headers=headers)
    assert response.status == 400 and b"<Code>BadDigest</Code>" in response.body, response.body


def test_presigned_urls_work_and_expire_on_the_emulator_clock(fresh_emulator):
    import urllib.request

    s3 = fresh_emulator.client("s3", account=A)
    name = bucket_name("presign")
    s3.create_bucket(Bucket=name)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "p.txt"}, ExpiresIn=60)
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p.txt"}, ExpiresIn=60)
    v4 = boto3.client(
        "s3",
        endpoint_url=fresh_emulator.url,
        region_name="us-east-1",
        aws_access_key_id=A,
        aws_secret_access_key="anything",
        config=Config(signature_version="s3v4"),
    )
    v4_url = v4.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p.txt"}, ExpiresIn=60)
    assert "X-Amz-Credential" in v4_url
    for url in (get_url, v4_url):
        with urllib.request.urlopen(url) as response:
            assert response.read() == b"presigned body"
    status, _, _ = fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 120})
    assert status == 200
    for url in (get_url, v4_url):
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(url)
        assert excinfo.value.code == 403
        assert b"Request has expired" in excinfo.value.read()
