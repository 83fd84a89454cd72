-- Finding the conversation a new inbound item belongs to (customer, channel,
-- kind, latest first) must not scan the workspace's conversations.
CREATE INDEX conversations_by_customer_channel ON conversations (contact_id, channel_id, kind, last_activity_at);
