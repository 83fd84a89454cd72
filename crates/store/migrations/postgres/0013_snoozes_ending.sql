-- Snoozed conversations come back when their snooze ends; the tick finds
-- them by this index instead of reading every conversation.
CREATE INDEX conversations_snoozed_until ON conversations (status, snoozed_until);
