-- Files agents attach to replies. Kept in the database (not on one node's
-- disk) so any node can serve them to the network that fetches them, at an
-- address with an unguessable token.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    token         TEXT NOT NULL,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    bytes         BLOB NOT NULL,
    created_by    TEXT,
    created_at    BIGINT NOT NULL
);
