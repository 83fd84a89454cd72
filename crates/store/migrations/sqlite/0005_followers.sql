-- Workers that follow the events table (SLA timers, reports, rules, …) keep
-- their position here. One node holds a follower at a time (a lease), and a
-- follower's effects and its new position commit together, so each event is
-- handled exactly once even across nodes and crashes.
CREATE TABLE followers (
    name          TEXT PRIMARY KEY,
    position      BIGINT NOT NULL,
    holder        TEXT,
    locked_until  BIGINT,
    updated_at    BIGINT NOT NULL
);
