-- Service levels and reports (docs/metrics.md).

-- Status changes as they happened: with the messages and the survey answers
-- they are a conversation's history, the facts every metric reads. Written by
-- the service-levels follower of the events table.
CREATE TABLE status_changes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    at               BIGINT NOT NULL,
    from_status      TEXT NOT NULL,
    to_status        TEXT NOT NULL,
    user_id          TEXT,
    event_id         BIGINT NOT NULL
);
CREATE INDEX status_changes_by_conversation ON status_changes (conversation_id, at, id);

-- What the follower last saw of each conversation, to tell a status change
-- from the one before it.
CREATE TABLE conversation_watch (
    conversation_id  TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    status           TEXT NOT NULL,
    last_inbound_at  BIGINT,
    updated_at       BIGINT NOT NULL
);

-- Survey answers, per conversation and agent.
CREATE TABLE csat_ratings (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    message_id       TEXT NOT NULL UNIQUE,
    channel_id       TEXT NOT NULL,
    agent_id         TEXT,
    rating           BIGINT NOT NULL,
    comment          TEXT NOT NULL,
    at               BIGINT NOT NULL
);
CREATE INDEX csat_ratings_by_workspace ON csat_ratings (workspace_id, at);
CREATE INDEX csat_ratings_by_conversation ON csat_ratings (conversation_id, at);

-- A workspace's SLA policies and its follow-up, survey and alert settings (JSON).
CREATE TABLE service_level_settings (
    workspace_id  TEXT PRIMARY KEY,
    policies      TEXT NOT NULL,
    settings      TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- One durable timer per running SLA target. `next_at` is the warning until it
-- fired, then the breach; workers claim due rows with a lease.
CREATE TABLE sla_timers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    target_key       TEXT NOT NULL,
    metric           TEXT NOT NULL,
    policy_id        TEXT NOT NULL,
    due_at           BIGINT NOT NULL,
    warn_at          BIGINT,
    next_at          BIGINT NOT NULL,
    locked_until     BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    UNIQUE (conversation_id, target_key)
);
CREATE INDEX sla_timers_by_next ON sla_timers (next_at);

-- Warnings and breaches already announced: each at most once per target.
CREATE TABLE sla_fired (
    conversation_id  TEXT NOT NULL,
    target_key       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    at               BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, target_key, kind)
);

-- Where each conversation stands against its policy, for the inbox.
CREATE TABLE sla_states (
    conversation_id  TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    policy_id        TEXT NOT NULL,
    next_due_at      BIGINT,
    at_risk_from     BIGINT,
    breached         BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- Follow-ups and surveys waiting to be sent after a resolution.
CREATE TABLE scheduled_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    kind             TEXT NOT NULL,
    resolved_at      BIGINT NOT NULL,
    due_at           BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    state            TEXT NOT NULL,
    detail           TEXT NOT NULL,
    message_id       TEXT,
    locked_until     BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    UNIQUE (conversation_id, kind, resolved_at)
);
CREATE INDEX scheduled_messages_due ON scheduled_messages (state, due_at);
CREATE INDEX scheduled_messages_by_conversation ON scheduled_messages (conversation_id, state);

-- Report summaries: one row per workspace, bucket (a local day in the
-- workspace's zone, or a UTC hour), dimension and value. `figures` is a
-- compact encoding of the mergeable summary.
CREATE TABLE report_rows (
    workspace_id  TEXT NOT NULL,
    grain         TEXT NOT NULL,
    bucket        BIGINT NOT NULL,
    dimension     TEXT NOT NULL,
    value         TEXT NOT NULL,
    figures       BLOB NOT NULL,
    PRIMARY KEY (workspace_id, grain, dimension, value, bucket)
);
CREATE INDEX report_rows_by_bucket ON report_rows (workspace_id, grain, bucket);

-- What each conversation added to the report rows, so that a later change
-- replaces it exactly. `revisit_at`: when a figure decides by time alone (FCR).
CREATE TABLE report_contributions (
    conversation_id  TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    contribution     TEXT NOT NULL,
    revisit_at       BIGINT
);
CREATE INDEX report_contributions_revisit ON report_contributions (revisit_at);

-- Surge detectors, per channel and per workspace (serde state of the domain's detector).
CREATE TABLE surge_detectors (
    detector_key  TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    state         TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Known issues: announcements with keywords, a window and a prepared reply.
CREATE TABLE known_issues (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    issue         TEXT NOT NULL,
    created_by    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX known_issues_by_workspace ON known_issues (workspace_id);

CREATE TABLE known_issue_links (
    known_issue_id   TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    workspace_id     TEXT NOT NULL,
    at               BIGINT NOT NULL,
    answered_at      BIGINT,
    PRIMARY KEY (known_issue_id, conversation_id)
);
CREATE INDEX known_issue_links_by_conversation ON known_issue_links (conversation_id);

-- Who changed a conversation's status, as the audit log says.
CREATE INDEX audit_log_by_subject ON audit_log (subject_id, at);

-- Customer messages of a time range (the terms of a surge alert).
CREATE INDEX messages_by_workspace_time ON messages (workspace_id, created_at);
