-- Idempotency-Key (IETF httpapi draft): the first answer to a POST or
-- PATCH sent with a key, per client, so a retry gets it back instead of
-- doing the work twice. In the database so a retry that reaches another
-- instance, or arrives after a restart, is still recognised.
--
-- status NULL: the first request is still running (locked_at says since
-- when; a lock older than a minute was abandoned by a crashed instance and
-- may be taken over). claim: a random id of the run that holds the row, so
-- only that run stores its answer or lets the key go.
CREATE TABLE idempotency_keys (
    id           INTEGER   PRIMARY KEY AUTOINCREMENT,
    client       TEXT      NOT NULL,
    key          TEXT      NOT NULL,
    request_hash TEXT      NOT NULL,
    claim        TEXT      NOT NULL,
    status       INTEGER,
    headers      TEXT      NOT NULL DEFAULT '[]',
    body         TEXT      NOT NULL DEFAULT '',
    locked_at    TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    UNIQUE (client, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
