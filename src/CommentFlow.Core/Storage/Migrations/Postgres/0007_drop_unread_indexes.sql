-- No query filters or sorts samples by issue type, status or language: the stats keep those counts in
-- stats_shard_counts, and training reads every sample. Each index cost every captured sample a B-tree insert and
-- ~20 bytes (bench/README.md, 2026-12-07).
DROP INDEX IF EXISTS ix_samples_issue_type;
DROP INDEX IF EXISTS ix_samples_status;
DROP INDEX IF EXISTS ix_samples_language;
