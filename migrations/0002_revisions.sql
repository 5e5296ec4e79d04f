-- Every record carries a revision: 1 when it is first inserted, one more on every put that
-- replaces it. Conditional puts compare it (compare-and-set). Records written before this
-- column existed start at revision 1.
ALTER TABLE resources ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
