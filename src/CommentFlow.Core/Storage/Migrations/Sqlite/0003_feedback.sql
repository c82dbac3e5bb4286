-- What agents did with each suggestion. One row per suggestion and agent: feedback given again replaces the earlier.
-- No foreign key to samples: feedback can arrive before the capture writer has stored its sample.
-- Engine, model and type are copied from the suggestion so acceptance rates need no payload decoding.
CREATE TABLE feedback (
    id              INTEGER PRIMARY KEY,
    context_hash    TEXT    NOT NULL,
    position        INTEGER NOT NULL,  -- index of the suggestion in its sample
    agent           TEXT    NOT NULL,  -- '' when the client did not say
    action          TEXT    NOT NULL,  -- accepted | edited | dismissed
    final_text      TEXT,              -- what the agent posted instead, for edited (masked like samples)
    ticket_key      TEXT,
    engine          TEXT    NOT NULL,
    model           TEXT    NOT NULL,
    suggestion_type TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    CONSTRAINT ux_feedback_suggestion_agent UNIQUE (context_hash, position, agent)
);
CREATE INDEX ix_feedback_ticket_key ON feedback (ticket_key);

-- Suggestions shown, the denominator of the acceptance rate; by suggestion type is backfilled in code (types live in payloads).
INSERT INTO stats_counts (dimension, value, count)
SELECT 'shown_engine', engine, SUM(suggestions_count) FROM samples GROUP BY engine;
INSERT INTO stats_counts (dimension, value, count)
SELECT 'shown_model', model, SUM(suggestions_count) FROM samples GROUP BY model;
