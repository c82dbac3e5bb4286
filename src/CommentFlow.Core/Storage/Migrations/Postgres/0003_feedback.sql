-- What agents did with each suggestion. One row per suggestion and agent: feedback given again replaces the earlier.
-- No foreign key to samples: feedback can arrive before the capture writer has stored its sample.
-- Engine, model and type are copied from the suggestion so acceptance rates need no payload decoding.
CREATE TABLE feedback (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    context_hash    text        NOT NULL,
    position        integer     NOT NULL,  -- index of the suggestion in its sample
    agent           text        NOT NULL,  -- '' when the client did not say
    action          text        NOT NULL,  -- accepted | edited | dismissed
    final_text      text,                  -- what the agent posted instead, for edited (masked like samples)
    ticket_key      text,
    engine          text        NOT NULL,
    model           text        NOT NULL,
    suggestion_type text        NOT NULL,
    created_at      timestamptz NOT NULL,
    CONSTRAINT ux_feedback_suggestion_agent UNIQUE (context_hash, position, agent)
);
CREATE INDEX ix_feedback_ticket_key ON feedback (ticket_key);
CREATE INDEX ix_feedback_context_hash ON feedback (context_hash);
CREATE INDEX ix_feedback_created_at ON feedback (created_at);

-- Suggestions shown, the denominator of the acceptance rate; by suggestion type is backfilled in code (types live in payloads).
INSERT INTO stats_counts (dimension, value, count)
SELECT 'shown_engine', engine, SUM(suggestions_count) FROM samples GROUP BY engine;
INSERT INTO stats_counts (dimension, value, count)
SELECT 'shown_model', model, SUM(suggestions_count) FROM samples GROUP BY model;
