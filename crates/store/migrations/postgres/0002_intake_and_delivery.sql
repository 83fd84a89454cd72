-- Inbound events as received (verified, normalised), before ingestion. The
-- unique key makes every redelivery of a fact a no-op; a row is acknowledged
-- to the network only after it is committed here.
CREATE TABLE raw_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id    TEXT NOT NULL REFERENCES channels(id),
    dedup_key     TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    locked_until  BIGINT,
    processed_at  BIGINT,
    last_error    TEXT,
    CONSTRAINT raw_events_dedup_unique UNIQUE (channel_id, dedup_key)
);
CREATE INDEX raw_events_pending ON raw_events (state, id);

-- Every attempt to deliver an outbox item (publish a reply, call a webhook).
CREATE TABLE delivery_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id    BIGINT NOT NULL,
    subject_id   TEXT NOT NULL,
    at           BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX delivery_attempts_by_subject ON delivery_attempts (subject_id, id);

-- Where each poller stopped (X mentions and search, Telegram getUpdates).
CREATE TABLE poll_cursors (
    channel_id  TEXT NOT NULL REFERENCES channels(id),
    source      TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, source)
);

ALTER TABLE channels ADD COLUMN failure_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN health_changed_at BIGINT;

-- Customers edit and delete what they wrote; Hark keeps the latest text and
-- redacts deleted messages (X requires it).
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
