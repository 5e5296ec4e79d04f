-- Every emulated resource is one row: its kind, id, the region and account that own it, an
-- optional parent (e.g. the collaboration of a member record), a global sequence number that
-- fixes list order, and the resource itself as JSON.
CREATE TABLE IF NOT EXISTS resources (
    kind    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    region  TEXT    NOT NULL,
    account TEXT    NOT NULL,
    parent  TEXT,
    seq     INTEGER NOT NULL,
    body    TEXT    NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (kind, parent, seq);
CREATE INDEX IF NOT EXISTS resources_by_owner ON resources (kind, region, account, seq);
CREATE INDEX IF NOT EXISTS resources_by_seq ON resources (kind, seq);
