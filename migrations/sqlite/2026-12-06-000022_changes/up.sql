-- The change log (a row inserted by hand, for a write made by hand, needs
-- only entity, entity_id, action and keys):
--
-- The change log: every committed write that changes what the public API
-- shows records a row here in its own transaction (it commits with the
-- write or not at all). Caches evict by its keys; the sync feed and
-- webhooks read it too.
--
-- SQLite runs one write transaction at a time, so ids commit in order and
-- `tx` stays 0: ordering by (tx, id) is ordering by id.
CREATE TABLE changes (
    id         INTEGER   PRIMARY KEY AUTOINCREMENT,
    tx         BIGINT    NOT NULL DEFAULT 0,
    origin     BIGINT    NOT NULL DEFAULT 0,
    entity     TEXT      NOT NULL,
    entity_id  BIGINT    NOT NULL,
    action     TEXT      NOT NULL,
    keys       TEXT      NOT NULL,
    changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX changes_position ON changes (tx, id);
CREATE INDEX changes_changed_at ON changes (changed_at);
