-- Every Jira comment CommentFlow has taken in (webhook, poller, or posted through the service), once per comment id:
-- the dedup key of deliveries, and the link from an agent's posted reply to the sample it answers. No text here: the
-- reply itself is a feedback row (accepted, edited, written) or an agent sample, masked like everything else.
CREATE TABLE jira_comments (
    comment_id   text             PRIMARY KEY,
    ticket_key   text             NOT NULL,
    source       text             NOT NULL,  -- webhook | poll | post
    outcome      text             NOT NULL,  -- accepted | edited | written | ignored
    internal     boolean,                    -- internal note or public reply; NULL outside a service project
    context_hash text,                       -- the sample the reply answers; NULL when ignored
    position     integer,                    -- the suggestion it matched, or where the written reply sits in that sample
    similarity   double precision,           -- to the closest suggestion shown, when there was one
    received_at  timestamptz      NOT NULL
);
CREATE INDEX ix_jira_comments_ticket_key ON jira_comments (ticket_key);
CREATE INDEX ix_jira_comments_context_hash ON jira_comments (context_hash);
