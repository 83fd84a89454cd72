-- Views that filter by status while walking conversations newest first
-- ("mine", "by label", every view with a status) step over many rows that do
-- not match: in the year's history most conversations are resolved. With the
-- status and the merge mark in the index itself, a row that does not match
-- is skipped without reading the conversation, and only the page's rows are
-- read in full.
DROP INDEX conversations_by_activity;
CREATE INDEX conversations_by_activity
    ON conversations (workspace_id, last_activity_at DESC, id DESC, status, merged_into_id);
DROP INDEX conversations_by_assignee_activity;
CREATE INDEX conversations_by_assignee_activity
    ON conversations (workspace_id, assignee_id, last_activity_at DESC, id DESC, status, merged_into_id);
