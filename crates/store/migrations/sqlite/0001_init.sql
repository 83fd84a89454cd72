-- Hark's schema on SQLite. Instants are integer milliseconds since the Unix
-- epoch (UTC) on both backends; ids are text; JSON is text. The PostgreSQL
-- schema in ../postgres has the same tables and columns (a test checks).

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    locale         TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    active         BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT users_email_unique UNIQUE (email)
);

CREATE TABLE teams (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    CONSTRAINT teams_name_unique UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE labels (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    color         TEXT NOT NULL,
    description   TEXT NOT NULL,
    CONSTRAINT labels_name_unique UNIQUE (workspace_id, name)
);

CREATE TABLE channels (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    network        TEXT NOT NULL,
    name           TEXT NOT NULL,
    handle         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    credentials    BLOB,
    health         TEXT NOT NULL,
    health_detail  TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL,
    settings       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT channels_account_unique UNIQUE (workspace_id, network, external_id)
);

CREATE TABLE contacts (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL REFERENCES workspaces(id),
    display_name       TEXT NOT NULL,
    email              TEXT,
    phone              TEXT,
    notes              TEXT NOT NULL,
    custom_attributes  TEXT NOT NULL,
    merged_into_id     TEXT REFERENCES contacts(id),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX contacts_by_workspace ON contacts (workspace_id, display_name);

CREATE TABLE identities (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id),
    contact_id        TEXT NOT NULL REFERENCES contacts(id),
    network           TEXT NOT NULL,
    platform_user_id  TEXT NOT NULL,
    handle            TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    CONSTRAINT identities_platform_unique UNIQUE (workspace_id, network, platform_user_id)
);
CREATE INDEX identities_by_contact ON identities (contact_id);

CREATE TABLE conversations (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id),
    channel_id            TEXT NOT NULL REFERENCES channels(id),
    contact_id            TEXT NOT NULL REFERENCES contacts(id),
    kind                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    priority              TEXT NOT NULL,
    assignee_id           TEXT REFERENCES users(id),
    team_id               TEXT REFERENCES teams(id) ON DELETE SET NULL,
    custom_attributes     TEXT NOT NULL,
    platform_thread_id    TEXT,
    subject               TEXT NOT NULL,
    last_message_preview  TEXT NOT NULL,
    language              TEXT,
    sentiment             TEXT,
    intent                TEXT,
    snoozed_until         BIGINT,
    first_inbound_at      BIGINT,
    last_inbound_at       BIGINT,
    last_outbound_at      BIGINT,
    first_reply_at        BIGINT,
    awaiting_reply_since  BIGINT,
    resolved_at           BIGINT,
    reopened_at           BIGINT,
    paused_since          BIGINT,
    paused_ms             BIGINT NOT NULL,
    human_replies         BIGINT NOT NULL,
    last_activity_at      BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    version               BIGINT NOT NULL
);
CREATE INDEX conversations_by_activity ON conversations (workspace_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_by_status ON conversations (workspace_id, status, last_activity_at DESC);
CREATE INDEX conversations_by_assignee ON conversations (assignee_id, status);
CREATE INDEX conversations_by_contact ON conversations (contact_id);
CREATE INDEX conversations_by_thread ON conversations (channel_id, platform_thread_id);

CREATE TABLE conversation_labels (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    label_id         TEXT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, label_id)
);
CREATE INDEX conversation_labels_by_label ON conversation_labels (label_id);

CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id      TEXT NOT NULL REFERENCES conversations(id),
    channel_id           TEXT NOT NULL REFERENCES channels(id),
    direction            TEXT NOT NULL,
    visibility           TEXT NOT NULL,
    author_kind          TEXT NOT NULL,
    author_user_id       TEXT REFERENCES users(id),
    author_contact_id    TEXT REFERENCES contacts(id),
    text                 TEXT NOT NULL,
    attachments          TEXT NOT NULL,
    platform_message_id  TEXT,
    platform_parent_id   TEXT,
    delivery_status      TEXT NOT NULL,
    delivery_error       TEXT,
    language             TEXT,
    sentiment            TEXT,
    intent               TEXT,
    created_at           BIGINT NOT NULL,
    recorded_at          BIGINT NOT NULL,
    CONSTRAINT messages_platform_unique UNIQUE (channel_id, platform_message_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at, id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash)
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  TEXT NOT NULL,
    at            BIGINT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    action        TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, id);
-- The audit log is append-only: the database itself refuses edits.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  TEXT NOT NULL,
    at            BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    payload       TEXT NOT NULL
);
CREATE INDEX events_by_workspace ON events (workspace_id, id);

-- Side effects (publishing, outbound webhooks, notifications) written in the
-- same transaction as the change that causes them, delivered by workers.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    attempts      BIGINT NOT NULL,
    locked_until  BIGINT,
    done_at       BIGINT,
    last_error    TEXT
);
CREATE INDEX outbox_due ON outbox (done_at, due_at);
