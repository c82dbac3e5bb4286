-- The same tables as the SQLite store (Migrations/Sqlite), in PostgreSQL types: created_at is timestamptz (compared
-- and indexed as time, readable by any tool), payloads are bytea (plain JSON or GZip, see payload_encoding).
CREATE TABLE samples (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    context_hash      text             NOT NULL,
    ticket_key        text,
    created_at        timestamptz      NOT NULL,
    issue_type        text             NOT NULL,
    status            text             NOT NULL,
    priority          text             NOT NULL,
    comments_count    integer          NOT NULL,
    suggestions_count integer          NOT NULL,
    model             text             NOT NULL,
    engine            text             NOT NULL,
    latency_ms        double precision NOT NULL,
    payload_encoding  smallint         NOT NULL,
    payload           bytea            NOT NULL,
    CONSTRAINT ux_samples_context_hash UNIQUE (context_hash)
);
CREATE INDEX ix_samples_ticket_key ON samples (ticket_key);
CREATE INDEX ix_samples_created_at ON samples (created_at);
CREATE INDEX ix_samples_issue_type ON samples (issue_type);
CREATE INDEX ix_samples_status ON samples (status);
CREATE INDEX ix_samples_plain_payload ON samples (payload_encoding) WHERE payload_encoding = 0;

-- Running totals, updated in the same transaction as every write. The single stats_totals row is also the writers'
-- lock: every write transaction takes it first (SELECT ... FOR UPDATE), so writers of several instances queue in one
-- order and never deadlock on each other's unique-index or stats_counts rows.
CREATE TABLE stats_totals (
    id          integer PRIMARY KEY CHECK (id = 1),
    samples     bigint  NOT NULL,
    suggestions bigint  NOT NULL,
    comments    bigint  NOT NULL
);
INSERT INTO stats_totals (id, samples, suggestions, comments) VALUES (1, 0, 0, 0);

CREATE TABLE stats_counts (
    dimension text   NOT NULL,
    value     text   NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (dimension, value)
);

CREATE TABLE store_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
