-- The archive's tables (see the SQLite migration of the same number). PostgreSQL does not archive: its tables stay
-- empty, and exist so that the SQL both stores share (a new sample is not one already archived) runs unchanged.
CREATE TABLE archive_blocks (
    id        bigint  PRIMARY KEY,
    samples   integer NOT NULL,
    first_id  bigint  NOT NULL,
    last_id   bigint  NOT NULL,
    oldest    text    NOT NULL,
    newest    text    NOT NULL,
    days      text    NOT NULL,
    encoding  smallint NOT NULL,
    content   bytea   NOT NULL
);
CREATE TABLE archived_samples (
    context_hash text   PRIMARY KEY,
    block        bigint NOT NULL,
    ticket_key   text
);
CREATE INDEX ix_archived_samples_ticket_key ON archived_samples (ticket_key) WHERE ticket_key IS NOT NULL;
