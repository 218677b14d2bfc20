-- Personal API tokens: an editor's long-lived credential for scripts, with
-- scopes. Only a SHA-256 of the token is kept (a database leak yields no
-- usable token); `prefix` is a few characters of it, safe to show, so an
-- editor can tell their tokens apart. revoked_at and expires_at end a
-- token; so does the editor's deactivation (checked at each use) or
-- deletion (the rows go with it).
CREATE TABLE api_tokens (
    id           INTEGER   PRIMARY KEY AUTOINCREMENT,
    editor_id    BIGINT    NOT NULL REFERENCES editors (id) ON DELETE CASCADE,
    name         TEXT      NOT NULL,
    token_hash   TEXT      NOT NULL UNIQUE,
    prefix       TEXT      NOT NULL,
    scopes       TEXT      NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_tokens_editor ON api_tokens (editor_id);
