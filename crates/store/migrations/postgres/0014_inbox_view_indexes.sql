-- The two views every agent keeps open. "Mine" walks one agent's
-- conversations newest first, so an agent with none (or few open among
-- many resolved) costs a short index range rather than a scan of the whole
-- inbox by activity. "Unassigned" has an index of its own that holds only
-- conversations without an assignee, so it never steps over assigned ones.
CREATE INDEX conversations_by_assignee_activity
    ON conversations (workspace_id, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_unassigned
    ON conversations (workspace_id, status, last_activity_at DESC, id DESC) WHERE assignee_id IS NULL;
