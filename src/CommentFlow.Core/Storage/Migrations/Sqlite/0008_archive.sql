-- The archive: settled samples packed together in blocks (see SqliteTrainingStore.Archive.cs and ArchiveBlock.cs). A
-- block holds whole samples, their short columns and payloads, compressed as one zstd frame at level 19: with their keys
-- ~270 B a sample on the shared tickets against ~680 B as rows (bench/README.md). A sample is in samples or in the
-- archive, never both; archived_samples keeps what finds one (its hash, its ticket for erasure) and its block.
CREATE TABLE archive_blocks (
    id        INTEGER PRIMARY KEY,
    samples   INTEGER NOT NULL,
    first_id  INTEGER NOT NULL,  -- the lowest and highest row id its samples had (a resumed migrate goes by row ids)
    last_id   INTEGER NOT NULL,
    oldest    TEXT    NOT NULL,  -- created_at of its oldest and newest sample: retention drops a block whole when it can
    newest    TEXT    NOT NULL,
    days      TEXT    NOT NULL,  -- samples per UTC day, "yyyy-MM-dd=n;…", for the per-day counts
    encoding  INTEGER NOT NULL,  -- 1: a zstd frame of ArchiveBlock's layout
    content   BLOB    NOT NULL
);
-- The hash as its 16 bytes when it is an MD5 in lower-case hex (every hash the service makes), else as text.
CREATE TABLE archived_samples (
    context_hash BLOB    PRIMARY KEY,
    block        INTEGER NOT NULL,
    ticket_key   TEXT
) WITHOUT ROWID;
CREATE INDEX ix_archived_samples_ticket_key ON archived_samples (ticket_key) WHERE ticket_key IS NOT NULL;
