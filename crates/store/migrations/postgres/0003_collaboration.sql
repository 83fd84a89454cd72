-- What the team shares while working in the inbox: snippets, saved views,
-- notifications, who is looking at which conversation, custom attribute
-- definitions and business hours; and the links between conversations.

ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'online';

-- A public thread moved to private points at its private half and back; a
-- merged conversation points at the one its messages moved into.
ALTER TABLE conversations ADD COLUMN linked_conversation_id TEXT;
ALTER TABLE conversations ADD COLUMN merged_into_id TEXT;
CREATE INDEX conversations_by_waiting ON conversations (workspace_id, awaiting_reply_since);

CREATE TABLE snippets (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    text          TEXT NOT NULL,
    created_by    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT snippets_name_unique UNIQUE (workspace_id, name)
);

-- user_id NULL: a view shared with the whole workspace.
CREATE TABLE saved_views (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       TEXT REFERENCES users(id),
    name          TEXT NOT NULL,
    filters       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX saved_views_by_workspace ON saved_views (workspace_id, user_id);

CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    kind             TEXT NOT NULL,
    conversation_id  TEXT,
    message_id       TEXT,
    actor_id         TEXT,
    text             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    read_at          BIGINT
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at);

-- Who is viewing or typing in a conversation. Rows expire by time; every
-- node reads them, so collision detection works across nodes.
CREATE TABLE presence (
    conversation_id  TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES users(id),
    state            TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE attribute_definitions (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    label         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    options       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    CONSTRAINT attribute_definitions_key_unique UNIQUE (workspace_id, scope, key)
);

-- team_id NULL: the workspace's own hours. `config` is the schedule as JSON.
CREATE TABLE business_hours (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    team_id       TEXT REFERENCES teams(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    config        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX business_hours_by_workspace ON business_hours (workspace_id);

-- Every workspace has the label "close, no reply needed" puts on conversations.
INSERT INTO labels (id, workspace_id, name, color, description)
SELECT 'lbl_noreply_' || id, id, 'no-reply-needed', '#98a2b3', 'Closed without a reply: spam, thanks, chatter'
FROM workspaces WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.workspace_id = workspaces.id AND l.name = 'no-reply-needed');
