-- The running totals split into shards, summed when read: each instance adds to its own rows, so writers of several
-- instances never wait on one row. The writers' lock that stats_totals was becomes a transaction-scoped advisory lock:
-- batches of samples take it shared (they never wait on each other), everything that must see no batch in flight
-- (erasure, retention, feedback, the compression switch-over) takes it exclusive. Every write marks its shard's
-- last_modified; store_meta's stays what it was (the store's creation, or its last write before this migration), and
-- the stats report the latest of them.
CREATE TABLE stats_shards (
    shard         integer PRIMARY KEY,
    samples       bigint  NOT NULL,
    suggestions   bigint  NOT NULL,
    comments      bigint  NOT NULL,
    last_modified text
);
INSERT INTO stats_shards (shard, samples, suggestions, comments) SELECT 0, samples, suggestions, comments FROM stats_totals;

CREATE TABLE stats_shard_counts (
    shard     integer NOT NULL,
    dimension text    NOT NULL,
    value     text    NOT NULL,
    count     bigint  NOT NULL,
    PRIMARY KEY (shard, dimension, value)
);
INSERT INTO stats_shard_counts (shard, dimension, value, count) SELECT 0, dimension, value, count FROM stats_counts;

DROP TABLE stats_totals;
DROP TABLE stats_counts;
