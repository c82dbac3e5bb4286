-- Samples: the short columns that stats group and filter on are real, indexed columns;
-- the long texts live in one payload document (plain JSON or GZip, see payload_encoding).
CREATE TABLE samples (
    id                INTEGER PRIMARY KEY,
    context_hash      TEXT    NOT NULL,
    ticket_key        TEXT,
    created_at        TEXT    NOT NULL,  -- UTC, ISO 8601, sortable
    issue_type        TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    priority          TEXT    NOT NULL,
    comments_count    INTEGER NOT NULL,
    suggestions_count INTEGER NOT NULL,
    model             TEXT    NOT NULL,
    engine            TEXT    NOT NULL,
    latency_ms        REAL    NOT NULL,
    payload_encoding  INTEGER NOT NULL,
    payload           BLOB    NOT NULL,
    CONSTRAINT ux_samples_context_hash UNIQUE (context_hash)
);
CREATE INDEX ix_samples_ticket_key ON samples (ticket_key);
CREATE INDEX ix_samples_created_at ON samples (created_at);
CREATE INDEX ix_samples_issue_type ON samples (issue_type);
CREATE INDEX ix_samples_status ON samples (status);
CREATE INDEX ix_samples_plain_payload ON samples (payload_encoding) WHERE payload_encoding = 0;

-- Running totals, updated in the same transaction as every write: stats read a handful of rows
-- and can never drift from the samples they describe.
CREATE TABLE stats_totals (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    samples     INTEGER NOT NULL,
    suggestions INTEGER NOT NULL,
    comments    INTEGER NOT NULL
);
INSERT INTO stats_totals (id, samples, suggestions, comments) VALUES (1, 0, 0, 0);

CREATE TABLE stats_counts (
    dimension TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (dimension, value)
) WITHOUT ROWID;

CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
