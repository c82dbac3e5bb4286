-- The running totals split into shards, summed when read: on PostgreSQL each instance adds to its own rows, so writers
-- of several instances never wait on one row (SQLite has one writer and uses shard 0). Every write marks its shard's
-- last_modified; store_meta's stays what it was (the store's creation, or its last write before this migration), and
-- the stats report the latest of them.
CREATE TABLE stats_shards (
    shard         INTEGER PRIMARY KEY,
    samples       INTEGER NOT NULL,
    suggestions   INTEGER NOT NULL,
    comments      INTEGER NOT NULL,
    last_modified TEXT
);
INSERT INTO stats_shards (shard, samples, suggestions, comments) SELECT 0, samples, suggestions, comments FROM stats_totals;

CREATE TABLE stats_shard_counts (
    shard     INTEGER NOT NULL,
    dimension TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (shard, dimension, value)
) WITHOUT ROWID;
INSERT INTO stats_shard_counts (shard, dimension, value, count) SELECT 0, dimension, value, count FROM stats_counts;

DROP TABLE stats_totals;
DROP TABLE stats_counts;
