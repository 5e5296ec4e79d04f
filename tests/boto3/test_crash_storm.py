"""Crash storm: the emulator is killed (SIGKILL) again and again on one data dir while several
threads create and delete collaborations, put and delete S3 objects (single and multipart),
start protected queries and populate an intermediate table. After every restart the invariants
that make "a 2xx means committed" true are checked:

- every acknowledged write is there (collaborations, S3 objects) and every acknowledged delete
  stays deleted;
- every S3 object is whole: its bytes are the bytes of one acknowledged or attempted put and its
  ETag matches them;
- no protected query or population stays SUBMITTED or STARTED: what was running is FAILED;
- no intermediate-table version is visible whose data is incomplete: the active version answers a
  query with exactly the expected rows (its Delta table loads);
- the access budget on B's table is never overspent and every spend belongs to a recorded
  analysis: every analysis reads the table (directly, or through the intermediate table), so the
  budget spent equals the number of analyses recorded.

CI runs the short form (``CRASH_STORM_CYCLES``, default 10); ``bench/reliability.py crash-storm`` runs the long
form (100 cycles) and records the figures. ``CRASH_STORM_REPORT=path`` writes the figures as JSON;
``CRASH_STORM_SEED`` replays a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from analysis_helpers import build_world, custom_rule, read_csv_rows, wait
from helpers import A, B, call, collaboration_args, list_all, member

CYCLES = int(os.environ.get("CRASH_STORM_CYCLES", "10"))
SEED = int(os.environ.get("CRASH_STORM_SEED", str(random.randrange(1 << 30))))
MIB = 1024 * 1024
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"}
SPEND_SQL = (
    "SELECT c.user_id, c.segment, SUM(p.amount) AS total "
    "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.user_id, c.segment"
)
QUERY_SQL = (
    "SELECT c.segment, COUNT(DISTINCT c.user_id) AS n FROM customers c JOIN purchases p ON c.user_id = p.user_id "
    "GROUP BY c.segment"
)
BUDGET = 1_000_000
TABLE_SQL = "SELECT segment, user_id FROM spend ORDER BY user_id"
CREATORS = [f"3000000000{i:02d}" for i in range(8)]


@dataclass
class Ledger:
    """What the server acknowledged (2xx) and what was attempted, across all cycles."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    collaborations: set = field(default_factory=set)
    deleted_collaborations: set = field(default_factory=set)
    objects: dict = field(default_factory=dict)  # key -> md5 of the acknowledged bytes
    attempted: dict = field(default_factory=dict)  # key -> md5s of puts that may have landed
    deleted_objects: set = field(default_factory=set)
    queries: set = field(default_factory=set)
    deleting: set = field(default_factory=set)  # deletes sent but not acknowledged yet
    read_back: set = field(default_factory=set)  # objects whose bytes were checked once
    unexpected: list = field(default_factory=list)  # errors a live server should not give
    acknowledged: int = 0
    by_kind: dict = field(default_factory=dict)  # what was acknowledged, by kind

    def deleting_now(self, value) -> None:
        with self.lock:
            self.deleting.add(value)

    def ack(self, what: str, value, extra=None) -> None:
        with self.lock:
            self.acknowledged += 1
            kind = "multipart-object" if what == "object" and extra[1].endswith('-2"') else what
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if what == "collaboration":
                self.collaborations.add(value)
            elif what == "delete-collaboration":
                self.deleting.discard(value)
                self.collaborations.discard(value)
                self.deleted_collaborations.add(value)
            elif what == "object":
                self.objects[value] = extra
            elif what == "delete-object":
                self.deleting.discard(value)
                self.objects.pop(value, None)
                self.deleted_objects.add(value)
            elif what == "query":
                self.queries.add(value)


def multipart_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def worker(kind: str, server, world, table_id: str, ledger: Ledger, stop: threading.Event, seed: int):
    """Hammers the server until it dies (or ``stop``); every failure is an unacknowledged write."""
    rng = random.Random(seed)
    a = server.client("cleanrooms", account=A, check_responses=False)
    s3 = server.client("s3", account=A, check_responses=False)
    n = 0
    # One client per creator, made before the storm (making one takes longer than a request).
    for account in CREATORS if kind == "collaborations" else ():
        server.client("cleanrooms", account=account, check_responses=False)
    while not stop.is_set():
        n += 1
        try:
            if kind == "collaborations":
                # Creators from a pool, each kept under the quota of 10 collaborations per account.
                account = rng.choice(CREATORS)
                cr = server.client("cleanrooms", account=account, check_responses=False)
                own = sorted(c for c in ledger.collaborations if c[0] == account)
                if own and (len(own) >= 8 or rng.random() < 0.3):
                    victim = rng.choice(own)
                    ledger.deleting_now(victim)
                    cr.delete_collaboration(collaborationIdentifier=victim[1])
                    ledger.ack("delete-collaboration", victim)
                else:
                    created = cr.create_collaboration(**collaboration_args(members=[member(B)]))
                    ledger.ack("collaboration", (account, created["collaboration"]["id"]))
            elif kind == "objects":
                key = f"storm/{seed}-{n}"
                if rng.random() < 0.15:
                    parts = [rng.randbytes(5 * MIB), rng.randbytes(rng.randrange(1, 64 * 1024))]
                    whole = hashlib.md5(b"".join(parts)).hexdigest()
                    with ledger.lock:
                        ledger.attempted.setdefault(key, set()).add(whole)
                    upload = s3.create_multipart_upload(Bucket="storm", Key=key)["UploadId"]
                    etags = [
                        s3.upload_part(Bucket="storm", Key=key, UploadId=upload, PartNumber=i + 1, Body=p)["ETag"]
                        for i, p in enumerate(parts)
                    ]
                    s3.complete_multipart_upload(
                        Bucket="storm", Key=key, UploadId=upload,
                        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": i + 1} for i, e in enumerate(etags)]},
                    )
                    ledger.ack("object", key, (whole, multipart_etag(parts)))
                elif ledger.objects and rng.random() < 0.2:
                    victim = rng.choice(sorted(ledger.objects))
                    ledger.deleting_now(victim)
                    s3.delete_object(Bucket="storm", Key=victim)
                    ledger.ack("delete-object", victim)
                else:
                    body = rng.randbytes(rng.randrange(1, 256 * 1024))
                    whole = hashlib.md5(body).hexdigest()
                    with ledger.lock:
                        ledger.attempted.setdefault(key, set()).add(whole)
                    s3.put_object(Bucket="storm", Key=key, Body=body)
                    ledger.ack("object", key, (whole, f'"{whole}"'))
            elif kind == "queries":
                started = a.start_protected_query(
                    type="SQL", membershipIdentifier=world.ma["id"], sqlParameters={"queryString": QUERY_SQL})
                ledger.ack("query", started["protectedQuery"]["id"])
            elif kind == "populations":
                populated = a.populate_intermediate_table(
                    membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table_id)
                ledger.ack("query", populated["analysisId"])
                time.sleep(rng.uniform(0, 0.2))
        except (ClientError, BotoCoreError, OSError) as error:
            if isinstance(error, ClientError) and server.running:
                code = error.response["Error"]["Code"]
                # A population refused because one is running, and a query refused because the
                # membership has 5 ongoing, are the service's rules, not faults.
                if code not in {"ConflictException", "ServiceQuotaExceededException"}:
                    with ledger.lock:
                        ledger.unexpected.append(f"{kind}: {error}")
            elif not server.running:
                return
            time.sleep(0.01)


def check_invariants(server, world, table_id: str, ledger: Ledger, expected_rows) -> list[str]:
    """Every broken invariant, as a sentence."""
    broken = []
    a = server.client("cleanrooms", account=A)
    s3 = server.client("s3", account=A)
    # A delete that was in flight when the server died may or may not have happened: settle it
    # from what the server says, then check everything else.
    for victim in sorted(ledger.deleting, key=str):
        if victim in ledger.collaborations:
            try:
                call(server.client("cleanrooms", account=victim[0]), "GetCollaboration",
                     collaborationIdentifier=victim[1])
            except ClientError:
                ledger.collaborations.discard(victim)
                ledger.deleted_collaborations.add(victim)
        elif victim in ledger.objects:
            try:
                s3.head_object(Bucket="storm", Key=victim)
            except ClientError:
                ledger.objects.pop(victim)
                ledger.deleted_objects.add(victim)
    ledger.deleting.clear()
    for account, cid in sorted(ledger.collaborations):
        try:
            call(server.client("cleanrooms", account=account), "GetCollaboration", collaborationIdentifier=cid)
        except ClientError as error:
            broken.append(f"acknowledged collaboration {cid} lost: {error}")
    for account, cid in sorted(ledger.deleted_collaborations):
        try:
            call(server.client("cleanrooms", account=account), "GetCollaboration", collaborationIdentifier=cid)
            broken.append(f"collaboration {cid} came back after an acknowledged delete")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                broken.append(f"deleted collaboration {cid}: {error}")
    listed = {o["Key"]: o for o in list_all_objects(s3)}
    for key, (md5, etag) in sorted(ledger.objects.items()):
        if key not in listed:
            broken.append(f"acknowledged object {key} lost")
        elif listed[key]["ETag"] != etag:
            broken.append(f"acknowledged object {key} is listed with another ETag")
        elif key not in ledger.read_back:
            # The bytes themselves, once per object (the listing checks the ETag every cycle).
            got = s3.get_object(Bucket="storm", Key=key)
            if hashlib.md5(got["Body"].read()).hexdigest() != md5 or got["ETag"] != etag:
                broken.append(f"acknowledged object {key} is not the bytes that were put")
            ledger.read_back.add(key)
    for key in sorted(ledger.deleted_objects):
        if key in listed:
            broken.append(f"object {key} came back after an acknowledged delete")
    for key, obj in sorted(listed.items()):
        if key in ledger.objects or key in ledger.read_back:
            continue
        body = s3.get_object(Bucket="storm", Key=key)["Body"].read()
        if hashlib.md5(body).hexdigest() not in ledger.attempted.get(key, set()) or len(body) != obj["Size"]:
            broken.append(f"object {key} (written while the server was killed) is not whole")
        ledger.read_back.add(key)
    queries = list_all(a, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.ma["id"])
    statuses = {q["id"]: q["status"] for q in queries}
    for qid in sorted(ledger.queries):
        if qid not in statuses:
            broken.append(f"acknowledged analysis {qid} lost")
    for qid, status in sorted(statuses.items()):
        if status not in TERMINAL:
            broken.append(f"analysis {qid} stuck in {status} after the restart")
    table = call(a, "GetIntermediateTable", membershipIdentifier=world.ma["id"],
                 intermediateTableIdentifier=table_id)["intermediateTable"]
    if table["status"] != "POPULATE_SUCCESS":
        broken.append(f"intermediate table is {table['status']} after the restart")
    versions = list_all(a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                        membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table_id)
    broken += [f"version {v['versionId']} stuck in {v['status']}" for v in versions if v["status"] == "POPULATE_STARTED"]
    done = wait(world, call(a, "StartProtectedQuery", type="SQL", membershipIdentifier=world.ma["id"],
                            sqlParameters={"queryString": TABLE_SQL})["protectedQuery"], client=a)
    if done["status"] != "SUCCESS":
        broken.append(f"the active version does not answer a query: {done.get('error')}")
    # Every analysis reads B's budgeted table once; the check's own query above counts too.
    recorded = len(queries) + 1
    remaining = call(a, "ListPrivacyBudgets", membershipIdentifier=world.ma["id"], privacyBudgetType="ACCESS_BUDGET",
                     accessBudgetResourceArn=world.associations["purchases"]["arn"],
                     )["privacyBudgetSummaries"][0]["budget"]["accessBudget"]["aggregateRemainingBudget"]
    if remaining < 0 or BUDGET - remaining != recorded:
        broken.append(f"budget spent {BUDGET - remaining} (remaining {remaining}) but {recorded} analyses recorded")
    elif read_csv_rows(s3, done["result"]["output"]["s3"]["location"]) != expected_rows:
        broken.append("the active version's rows are not the populated rows")
    return broken


def list_all_objects(s3) -> list[dict]:
    objects, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket="storm", **({"ContinuationToken": token} if token else {}))
        objects += page.get("Contents", [])
        token = page.get("NextContinuationToken")
        if not token:
            return objects


def test_crash_storm(fresh_emulator):
    rng = random.Random(SEED)
    print(f"crash storm: {CYCLES} cycles, seed {SEED}")
    world = build_world(fresh_emulator.client)
    world.s3a.create_bucket(Bucket="storm")
    call(world.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetType="ACCESS_BUDGET",
         parameters={"accessBudget": {"resourceArn": world.associations["purchases"]["arn"],
                                      "budgetParameters": [{"type": "LIFETIME", "budget": BUDGET}]}})
    table = call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name="spend",
                 populationAnalysisConfiguration={"sqlParameters": {"queryString": SPEND_SQL}})["intermediateTable"]
    first = call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"],
                 intermediateTableIdentifier=table["id"])
    assert wait(world, {"id": first["analysisId"]})["status"] == "SUCCESS"
    call(world.a, "CreateIntermediateTableAnalysisRule", membershipIdentifier=world.ma["id"],
         intermediateTableIdentifier=table["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy=custom_rule())
    baseline = wait(world, call(world.a, "StartProtectedQuery", type="SQL", membershipIdentifier=world.ma["id"],
                                sqlParameters={"queryString": TABLE_SQL})["protectedQuery"])
    assert baseline["status"] == "SUCCESS", baseline.get("error")
    expected_rows = read_csv_rows(world.s3a, baseline["result"]["output"]["s3"]["location"])

    ledger = Ledger()
    restarts, violations = [], []
    for cycle in range(CYCLES):
        stop = threading.Event()
        threads = [
            threading.Thread(target=worker, daemon=True, args=(
                kind, fresh_emulator, world, table["id"], ledger, stop, rng.randrange(1 << 30)))
            for kind in ("collaborations", "objects", "objects", "queries", "populations")
        ]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.5))
        fresh_emulator.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a worker hung after the kill"
        began = time.monotonic()
        fresh_emulator.start()
        restarts.append(time.monotonic() - began)
        world.a = fresh_emulator.client("cleanrooms", account=A)
        world.s3a = fresh_emulator.client("s3", account=A)
        broken = check_invariants(fresh_emulator, world, table["id"], ledger, expected_rows)
        violations += [f"cycle {cycle}: {b}" for b in broken + ledger.unexpected]
        ledger.unexpected.clear()

    report = {
        "cycles": CYCLES,
        "seed": SEED,
        "writes_acknowledged": ledger.acknowledged,
        "acknowledged_by_kind": dict(sorted(ledger.by_kind.items())),
        "writes_lost": sum("lost" in v for v in violations),
        "invariant_violations": len(violations),
        "restart_seconds_median": round(statistics.median(restarts), 4),
        "restart_seconds_max": round(max(restarts), 4),
    }
    print(json.dumps(report))
    if os.environ.get("CRASH_STORM_REPORT"):
        with open(os.environ["CRASH_STORM_REPORT"], "w") as out:
            json.dump(report, out)
    assert ledger.acknowledged > CYCLES, "the storm acknowledged almost nothing: it tested nothing"
    assert not violations, "\n".join(violations[:50])
