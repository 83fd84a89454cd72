-- The inbound events as the networks delivered them, in a file of their own
-- with a writer of their own: a webhook is acknowledged as soon as its event
-- is committed here, without waiting behind the commits that turn events
-- into conversations in the main file. The unique key makes every
-- redelivery of a fact a no-op.
CREATE TABLE raw_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id    TEXT NOT NULL,
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
