-- A contact's past conversations, newest first, come straight from one index:
-- with only (contact_id), the planner may walk the whole workspace in
-- activity order instead when the table has no statistics yet.
DROP INDEX conversations_by_contact;
CREATE INDEX conversations_by_contact ON conversations (contact_id, last_activity_at DESC, id DESC);
