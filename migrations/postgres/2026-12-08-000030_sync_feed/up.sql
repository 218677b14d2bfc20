-- Scheduled publication in the change log, and what the sync feed reads.
--
-- `announced_at`: when the article's current publication was recorded in
-- the change log as `published` (NULL: not yet, or not public). A write
-- that makes an article public sets it in its own transaction; an article
-- whose `published_at` passes later is claimed by one instance with
-- `UPDATE … WHERE status = 'published' AND published_at <= now AND
-- announced_at IS NULL`, in the transaction that records its change. A
-- write that takes the article out of public view (draft, archived, a
-- `published_at` moved to the future) clears it.
ALTER TABLE articles ADD COLUMN announced_at TIMESTAMP;
-- Articles already public were announced (or predate the log): never late.
UPDATE articles SET announced_at = published_at
    WHERE status = 'published' AND published_at <= (now() AT TIME ZONE 'utc');
-- The announcer's lookup: only scheduled articles (and any just due).
-- An article the service left published and unannounced was scheduled
-- after it was created (`published_at > created_at`); rows made by hand
-- (bulk imports, the bench seeder) with a `published_at` at or before
-- their creation are not announced, as hand-made writes record no change.
CREATE INDEX articles_unannounced ON articles (published_at)
    WHERE status = 'published' AND announced_at IS NULL AND published_at > created_at;

-- The sync feed's range: public article changes in log order.
CREATE INDEX changes_feed ON changes (tx, id) WHERE entity = 'article' AND public;

-- The highest log position of a purged public article change: a feed
-- cursor below it may have missed that change (`410 cursor_expired`), one
-- at or above it missed nothing. One row.
CREATE TABLE changes_floor (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    tx        BIGINT  NOT NULL,
    change_id BIGINT  NOT NULL
);
INSERT INTO changes_floor (id, tx, change_id) VALUES (1, 0, 0);
