"""Data-driven analysis rule tests: every ``tests/slt/*.slt`` file declares a small two-party world
and a list of queries with their expected rows or rejection. Each file's world is built once,
through boto3, in its own collaboration; each query is one pytest case.

File format (blank lines separate blocks; ``#`` starts a comment line):

    engine <SPARK|CLEAN_ROOMS_SQL>        (optional: the collaboration's analytics engine;
                                           default SPARK)
    table <name> owner=<A|B> rule=<aggregation|list|custom>
    columns <col>:<glue type> <col>:<glue type> ...
    policy <JSON body of the rule, e.g. {"joinColumns": [...], ...}>
    row <csv values>
    row <csv values>

    query ok [ordered]
    <SQL, one or more lines>
    ----
    <expected row as csv>
    ...

    query error <substring the ValidationException message must contain>
    <SQL, one or more lines>

    query failed <substring the error message of the FAILED query must contain>
    <SQL, one or more lines>                (accepted, then fails while it runs: a value
                                             that does not fit, a division by zero)

Files under ``tests/slt/sql-functions/`` are the conformance tests of the two SQL dialects, one
file per function family and dialect (``<dialect>-<family>.slt``).

A is the collaboration creator (CAN_QUERY, CAN_RECEIVE_RESULTS) and runs every query; B is a data
provider. Table data is CSV in the owner's S3, catalogued in the owner's Glue. ``query ok`` compares
rows order-insensitively unless ``ordered``; values compare as numbers when both parse as numbers,
else as text (an empty field is NULL). ``query ok`` with no rows after ``----`` expects an empty
result (e.g. every group suppressed by a threshold).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import read_csv_rows, wait
from helpers import A, B, call, create_collaboration, create_membership, member, role_arn

SLT_DIR = Path(__file__).resolve().parent.parent / "slt"


@dataclass
class Table:
    name: str
    owner: str
    rule: str
    columns: list = field(default_factory=list)  # (name, type)
    policy: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)


@dataclass
class Case:
    line: int
    sql: str
    expect_error: str | None = None
    expect_failure: str | None = None
    rows: list = field(default_factory=list)
    ordered: bool = False


def engine_of(path: Path) -> str:
    """The analytics engine a file's ``engine`` line names (SPARK when there is none)."""
    for raw in path.read_text().splitlines():
        if raw.startswith("engine "):
            return raw.split()[1]
    return "SPARK"


def parse(path: Path) -> tuple[list[Table], list[Case]]:
    tables: list[Table] = []
    cases: list[Case] = []
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                blocks.append((start, current))
                current = []
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        blocks.append((start, current))
    for number, block in blocks:
        head = block[0].split()
        if head[0] == "engine":
            continue
        if head[0] == "table":
            opts = dict(p.split("=", 1) for p in head[2:])
            table = Table(name=head[1], owner={"A": A, "B": B}[opts["owner"]], rule=opts["rule"])
            for line in block[1:]:
                kind, _, rest = line.partition(" ")
                if kind == "columns":
                    table.columns = [tuple(c.split(":", 1)) for c in rest.split()]
                elif kind == "policy":
                    table.policy = json.loads(rest)
                elif kind == "row":
                    table.rows.append(next(csv.reader([rest])))
                else:
                    raise ValueError(f"{path}:{number}: unknown table line {line!r}")
            tables.append(table)
        elif head[0] == "query":
            if head[1] == "ok":
                body = block[1:]
                split = body.index("----") if "----" in body else len(body)
                rows = [next(csv.reader([r])) for r in body[split + 1:]]
                cases.append(Case(number, "\n".join(body[:split]), rows=rows, ordered="ordered" in head[2:]))
            elif head[1] == "error":
                message = block[0].split(None, 2)[2] if len(head) > 2 else ""
                cases.append(Case(number, "\n".join(block[1:]), expect_error=message))
            elif head[1] == "failed":
                message = block[0].split(None, 2)[2] if len(head) > 2 else ""
                cases.append(Case(number, "\n".join(block[1:]), expect_failure=message))
            else:
                raise ValueError(f"{path}:{number}: unknown query kind {head[1]!r}")
        else:
            raise ValueError(f"{path}:{number}: unknown block {block[0]!r}")
    return tables, cases


@dataclass
class SltWorld:
    a: object
    s3a: object
    membership: dict
    bucket: str


def build(client, tables: list[Table], engine: str = "SPARK") -> SltWorld:
    tag = uuid.uuid4().hex[:8]
    clients = {acct: {svc: client(svc, account=acct) for svc in ("cleanrooms", "s3", "glue")} for acct in (A, B)}
    coll = create_collaboration(clients[A]["cleanrooms"], members=[member(B)], analyticsEngine=engine)
    memberships = {B: create_membership(clients[B]["cleanrooms"], coll["id"])}
    results = f"slt-results-{tag}"
    clients[A]["s3"].create_bucket(Bucket=results)
    memberships[A] = create_membership(
        clients[A]["cleanrooms"], coll["id"],
        defaultResultConfiguration={"outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": results, "keyPrefix": "r"}}},
    )
    for acct in (A, B):
        clients[acct]["s3"].create_bucket(Bucket=f"slt-data-{acct}-{tag}")
        clients[acct]["glue"].create_database(DatabaseInput={"Name": f"slt_{tag}"})
    for t in tables:
        c = clients[t.owner]
        bucket = f"slt-data-{t.owner}-{tag}"
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([n for n, _ in t.columns])
        writer.writerows(t.rows)
        c["s3"].put_object(Bucket=bucket, Key=f"{t.name}/part-0.csv", Body=buf.getvalue().encode())
        c["glue"].create_table(
            DatabaseName=f"slt_{tag}",
            TableInput={
                "Name": t.name,
                "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
                "StorageDescriptor": {
                    "Location": f"s3://{bucket}/{t.name}/",
                    "Columns": [{"Name": n, "Type": ty} for n, ty in t.columns],
                },
            },
        )
        configured = call(
            c["cleanrooms"], "CreateConfiguredTable", name=f"{t.name}-{tag}",
            tableReference={"glue": {"databaseName": f"slt_{tag}", "tableName": t.name}},
            allowedColumns=[n for n, _ in t.columns], analysisMethod="DIRECT_QUERY",
        )["configuredTable"]
        call(
            c["cleanrooms"], "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=configured["id"],
            analysisRuleType=t.rule.upper(), analysisRulePolicy={"v1": {t.rule: t.policy}},
        )
        call(
            c["cleanrooms"], "CreateConfiguredTableAssociation", membershipIdentifier=memberships[t.owner]["id"],
            name=t.name, configuredTableIdentifier=configured["id"], roleArn=role_arn(t.owner),
        )
    return SltWorld(a=clients[A]["cleanrooms"], s3a=clients[A]["s3"], membership=memberships[A], bucket=results)


def _cases():
    for path in sorted(SLT_DIR.rglob("*.slt")):
        _, cases = parse(path)
        for case in cases:
            yield pytest.param(path, case, id=f"{path.stem}:{case.line}")


_WORLDS: dict[Path, SltWorld] = {}


@pytest.fixture(scope="module")
def slt_session(emulator):
    emulator.reset()
    _WORLDS.clear()
    yield
    _WORLDS.clear()


def _normalize(value: str):
    try:
        return ("n", round(float(value), 6))
    except ValueError:
        return ("s", value)


def _rows(rows: list[list[str]]) -> list[tuple]:
    return [tuple(_normalize(v) for v in row) for row in rows]


@pytest.mark.parametrize(("path", "case"), list(_cases()))
def test_slt(slt_session, emulator, client, path: Path, case: Case):
    if path not in _WORLDS:
        # One file's world at a time: an account may hold only 10 collaborations.
        emulator.reset()
        _WORLDS.clear()
        tables, _ = parse(path)
        _WORLDS[path] = build(client, tables, engine_of(path))
    world = _WORLDS[path]
    start = lambda: call(  # noqa: E731
        world.a, "StartProtectedQuery", type="SQL", membershipIdentifier=world.membership["id"],
        sqlParameters={"queryString": case.sql},
    )["protectedQuery"]
    if case.expect_error is not None:
        with pytest.raises(ClientError) as excinfo:
            start()
        error = excinfo.value.response["Error"]
        assert error["Code"] == "ValidationException", error
        assert case.expect_error.lower() in error["Message"].lower(), error["Message"]
        return
    query = start()
    done = wait(None, query, client=world.a, membership=world.membership)
    if case.expect_failure is not None:
        assert done["status"] == "FAILED", done
        assert case.expect_failure.lower() in done["error"]["message"].lower(), done["error"]
        return
    assert done["status"] == "SUCCESS", done.get("error")
    _, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    got, want = _rows(rows), _rows(case.rows)
    if not case.ordered:
        got, want = sorted(got), sorted(want)
    assert got == want, f"{path.name}:{case.line}\n{case.sql}"
