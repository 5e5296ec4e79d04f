"""Admin API under /_emulator: health, reset, clock (DESIGN.md, fixed contract).

Clock tests run on their own server (fresh_emulator) so the shared server's clock is never moved.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from helpers import A, B, assert_error, call, create_collaboration, list_collaboration_ids


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def test_health_reports_ready_with_version_and_services(emulator):
    status, body, headers = emulator.admin("GET", "/_emulator/health")
    assert status == 200
    assert (headers.get("Content-Type") or "").startswith("application/json")
    assert body["status"] == "ready"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["services"], dict)


def test_reset_wipes_collaborations_and_tags(emulator, reset, client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a, tags={"k": "v"})
    assert list_collaboration_ids(b) == [coll["id"]]

    status, _, _ = emulator.admin("POST", "/_emulator/reset")
    assert status in (200, 204)

    assert list_collaboration_ids(a) == []
    assert list_collaboration_ids(b) == []
    with pytest.raises(ClientError) as excinfo:
        a.get_collaboration(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=coll["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # and the emulator keeps working
    assert create_collaboration(a)["id"] != coll["id"]


def test_unknown_admin_path_is_404_json(emulator):
    status, body, _ = emulator.admin("GET", "/_emulator/no-such-thing")
    assert status == 404
    assert isinstance(body, dict) and body.get("message")


def test_clock_get_returns_now_and_zero_offset(fresh_emulator):
    status, body, headers = fresh_emulator.admin("GET", "/_emulator/clock")
    assert status == 200
    assert (headers.get("Content-Type") or "").startswith("application/json")
    assert is_number(body["now"]) and is_number(body["offsetSeconds"])
    assert body["offsetSeconds"] == 0
    assert abs(body["now"] - time.time()) < 5


def test_clock_advance_moves_now_and_timestamps(fresh_emulator):
    status, body, _ = fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 3600})
    assert status == 200, body
    assert body["offsetSeconds"] == 3600
    assert abs(body["now"] - (time.time() + 3600)) < 5

    status, body, _ = fresh_emulator.admin("GET", "/_emulator/clock")
    assert status == 200
    assert body["offsetSeconds"] == 3600
    assert abs(body["now"] - (time.time() + 3600)) < 5

    coll = create_collaboration(fresh_emulator.client("cleanrooms", account=A))
    assert abs(coll["createTime"].timestamp() - (time.time() + 3600)) < 10

    # advancing is cumulative
    status, body, _ = fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 60})
    assert status == 200 and body["offsetSeconds"] == 3660
    a = fresh_emulator.client("cleanrooms", account=A)
    updated = call(a, "UpdateCollaboration", collaborationIdentifier=coll["id"], description="later")["collaboration"]
    assert (updated["updateTime"] - coll["createTime"]).total_seconds() >= 60
    assert updated["createTime"] == coll["createTime"]


BAD_CLOCK_BODIES = {
    "string": b'{"advanceSeconds": "x"}',
    "negative": b'{"advanceSeconds": -5}',
    "null": b'{"advanceSeconds": null}',
    "missing": b"{}",
    "malformed": b"{not json",
    "array": b"[]",
}


def test_clock_bad_body_is_400_json(fresh_emulator):
    # one server for every case: starting one per case would cost more than the checks
    for case, raw in BAD_CLOCK_BODIES.items():
        status, body, _ = fresh_emulator.admin("POST", "/_emulator/clock", raw=raw)
        assert status == 400, (case, status, body)
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (case, body)
        status, body, _ = fresh_emulator.admin("GET", "/_emulator/clock")
        assert body["offsetSeconds"] == 0, f"clock moved after bad body {case}: {body}"
