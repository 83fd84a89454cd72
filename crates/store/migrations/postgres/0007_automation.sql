-- Automation: rules and the log of every rule run, what assignment knows
-- about people (languages, capacity) and where each team's rotation stands,
-- who may publish from each channel, conversations whose replies a rule put
-- under approval, and agents' corrections of what Hark read in a message.

CREATE TABLE rules (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    position      BIGINT NOT NULL,
    -- The trigger, conditions, actions and options, as JSON.
    definition    TEXT NOT NULL,
    created_by    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX rules_by_workspace ON rules (workspace_id, position, id);

-- One row per rule that matched one event (or one quiet stretch, for idle
-- triggers). The row is written before the actions run, so a repeated event
-- never runs them twice.
CREATE TABLE rule_runs (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    rule_id          TEXT NOT NULL,
    rule_name        TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    event_key        TEXT NOT NULL,
    trigger          TEXT NOT NULL,
    status           TEXT NOT NULL,
    actions          TEXT NOT NULL,
    at               BIGINT NOT NULL,
    CONSTRAINT rule_runs_once UNIQUE (rule_id, event_key)
);
CREATE INDEX rule_runs_by_conversation ON rule_runs (conversation_id, at);

-- The rules follower's memory of each conversation's status and assignee,
-- to tell a status change or an assignment from other updates.
CREATE TABLE rule_watch (
    conversation_id  TEXT PRIMARY KEY,
    status           TEXT NOT NULL,
    assignee_id      TEXT,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE agent_profiles (
    user_id       TEXT PRIMARY KEY REFERENCES users(id),
    workspace_id  TEXT NOT NULL,
    languages     TEXT NOT NULL,
    capacity      BIGINT,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE assignment_cursors (
    team_id       TEXT PRIMARY KEY,
    last_user_id  TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE publish_policies (
    channel_id     TEXT PRIMARY KEY REFERENCES channels(id),
    workspace_id   TEXT NOT NULL,
    publish_roles  TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE approval_holds (
    conversation_id  TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    at               BIGINT NOT NULL
);

-- The latest correction of each field of a message; the audit log keeps
-- every one. The text is copied so training data survives redaction rules.
CREATE TABLE corrections (
    message_id    TEXT NOT NULL,
    field         TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    text          TEXT NOT NULL,
    old_value     TEXT,
    new_value     TEXT NOT NULL,
    corrected_by  TEXT NOT NULL,
    corrected_at  BIGINT NOT NULL,
    PRIMARY KEY (message_id, field)
);
CREATE INDEX corrections_by_workspace ON corrections (workspace_id, field, corrected_at);

CREATE INDEX messages_awaiting ON messages (workspace_id, delivery_status);
