-- The post a public thread hangs from (a tweet, a Page post, an Instagram
-- media, a VK wall post), read from the network once when the first
-- conversation on it opens, so agents see what customers comment on.
CREATE TABLE thread_posts (
    channel_id  TEXT NOT NULL REFERENCES channels(id),
    post_id     TEXT NOT NULL,
    text        TEXT NOT NULL,
    author      TEXT,
    posted_at   BIGINT,
    url         TEXT,
    fetched_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, post_id)
);
