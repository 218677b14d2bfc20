-- One row per share button press. No personal data: no IP, no user agent.
CREATE TABLE share_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT    NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    channel    TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX share_events_article ON share_events (article_id, created_at, id);
CREATE INDEX share_events_created ON share_events (created_at, id);

-- Counters maintained in the same transaction as every insert and delete of
-- share_events, so reads never count the events themselves. WITHOUT ROWID:
-- the row lives in its primary-key B-tree, so an upsert writes one page
-- instead of a table page plus an index page.
CREATE TABLE share_counts (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    channel    TEXT   NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (article_id, channel)
) WITHOUT ROWID;

-- Daily rollups (UTC days) for the stats endpoint: per article, and site-wide.
CREATE TABLE share_daily (
    day        DATE   NOT NULL,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    channel    TEXT   NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (article_id, day, channel)
) WITHOUT ROWID;
CREATE INDEX share_daily_day ON share_daily (day);

CREATE TABLE share_daily_totals (
    day     DATE   NOT NULL,
    channel TEXT   NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (day, channel)
) WITHOUT ROWID;
