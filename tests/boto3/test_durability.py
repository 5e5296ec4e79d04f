"""State survives restarts: graceful (SIGTERM) and kill -9 right after a 2xx (DESIGN: durable by default).

Each test runs its own server (fresh_emulator) on its own data dir; after a restart the port,
hence the endpoint URL, changes, so clients are made again from the restarted server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import A, B, assert_error, call, create_collaboration, list_collaboration_ids, member, members_by_account


def snapshot(server, collaboration_id: str) -> dict:
    """Everything the API shows about one collaboration, for A and B."""
    a = server.client("cleanrooms", account=A)
    b = server.client("cleanrooms", account=B)
    coll = call(a, "GetCollaboration", collaborationIdentifier=collaboration_id)["collaboration"]
    return {
        "creator_view": coll,
        "member_view": call(b, "GetCollaboration", collaborationIdentifier=collaboration_id)["collaboration"],
        "members": members_by_account(a, collaboration_id),
        "tags": call(a, "ListTagsForResource", resourceArn=coll["arn"])["tags"],
        "listed_for_b": list_collaboration_ids(b, memberStatus="INVITED"),
    }


def assert_same_timestamps(created: dict, stored: dict) -> None:
    for key in ("createTime", "updateTime"):
        assert abs((created[key] - stored[key]).total_seconds()) < 0.001, (key, created[key], stored[key])


def test_sigterm_exits_with_code_zero(fresh_emulator):
    create_collaboration(fresh_emulator.client("cleanrooms", account=A))
    assert fresh_emulator.stop() == 0


def test_create_collaboration_survives_graceful_restart(fresh_emulator):
    a = fresh_emulator.client("cleanrooms", account=A)
    created = create_collaboration(a, members=[member(B, display_name="Bee")], tags={"team": "data"})
    before = snapshot(fresh_emulator, created["id"])
    assert_same_timestamps(created, before["creator_view"])

    assert fresh_emulator.stop() == 0
    fresh_emulator.start()

    after = snapshot(fresh_emulator, created["id"])
    assert after == before
    assert after["tags"] == {"team": "data"}
    assert set(after["members"]) == {A, B}
    assert after["creator_view"]["memberStatus"] == "INVITED"


def test_create_collaboration_survives_kill9_right_after_2xx(fresh_emulator):
    a = fresh_emulator.client("cleanrooms", account=A)
    created = create_collaboration(a, members=[member(B)], tags={"durable": "yes"})
    fresh_emulator.kill9()  # immediately after the 2xx: no graceful shutdown, no flush
    fresh_emulator.start()

    a = fresh_emulator.client("cleanrooms", account=A)
    stored = call(a, "GetCollaboration", collaborationIdentifier=created["id"])["collaboration"]
    assert_same_timestamps(created, stored)
    assert {k: v for k, v in stored.items() if k not in ("createTime", "updateTime")} == {
        k: v for k, v in created.items() if k not in ("createTime", "updateTime")
    }
    assert set(members_by_account(a, created["id"])) == {A, B}
    assert call(a, "ListTagsForResource", resourceArn=created["arn"])["tags"] == {"durable": "yes"}
    assert created["id"] in list_collaboration_ids(fresh_emulator.client("cleanrooms", account=B))


def test_update_and_delete_collaboration_survive_kill9(fresh_emulator):
    a = fresh_emulator.client("cleanrooms", account=A)
    kept = create_collaboration(a)
    gone = create_collaboration(a)
    call(a, "UpdateCollaboration", collaborationIdentifier=kept["id"], name="renamed before crash")
    call(a, "DeleteCollaboration", collaborationIdentifier=gone["id"])
    fresh_emulator.kill9()
    fresh_emulator.start()

    a = fresh_emulator.client("cleanrooms", account=A)
    assert call(a, "GetCollaboration", collaborationIdentifier=kept["id"])["collaboration"]["name"] == "renamed before crash"
    with pytest.raises(ClientError) as excinfo:
        a.get_collaboration(collaborationIdentifier=gone["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert list_collaboration_ids(a) == [kept["id"]]


def test_create_collaboration_survives_repeated_restarts(fresh_emulator):
    a = fresh_emulator.client("cleanrooms", account=A)
    first = create_collaboration(a)
    fresh_emulator.restart()
    a = fresh_emulator.client("cleanrooms", account=A)
    second = create_collaboration(a)
    fresh_emulator.kill9()
    fresh_emulator.start()
    a = fresh_emulator.client("cleanrooms", account=A)
    assert sorted(list_collaboration_ids(a)) == sorted([first["id"], second["id"]])
    assert fresh_emulator.stop() == 0


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_first_protected_query_after_a_restart_succeeds(fresh_emulator, stop):
    """Recovery (the S3 write journal, unfinished analyses) runs before the server listens: the
    first query after a restart writes its result while nothing can sweep ``s3-tmp`` under it,
    and leftovers of a killed process are gone before the first request."""
    from dataclasses import replace

    from analysis_helpers import build_world, read_csv_rows, run

    sql = "SELECT c.segment, COUNT(DISTINCT c.user_id) AS n FROM customers c GROUP BY c.segment"
    world = build_world(fresh_emulator.client)
    # The SQL has no ORDER BY: its rows compare as a set.
    header, rows = read_csv_rows(world.s3a, run(world, sql)["result"]["output"]["s3"]["location"])
    expected = (header, sorted(rows))

    if stop == "sigterm":
        assert fresh_emulator.stop() == 0
    else:
        fresh_emulator.kill9()
    leftover = fresh_emulator.data_dir / "s3-tmp" / ".tmp-left-by-a-killed-write"
    leftover.write_bytes(b"half a body")
    fresh_emulator.start()
    assert not leftover.exists(), "the journal was not replayed before the server listened"

    world = replace(
        world,
        a=fresh_emulator.client("cleanrooms", account=A),
        b=fresh_emulator.client("cleanrooms", account=B),
        s3a=fresh_emulator.client("s3", account=A),
        s3b=fresh_emulator.client("s3", account=B),
    )
    first = run(world, sql)
    header, rows = read_csv_rows(world.s3a, first["result"]["output"]["s3"]["location"])
    assert (header, sorted(rows)) == expected
