CREATE TABLE editors (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT      NOT NULL UNIQUE,
    name          TEXT      NOT NULL,
    slug          TEXT      NOT NULL UNIQUE,
    bio           TEXT,
    role          TEXT      NOT NULL CHECK (role IN ('admin', 'editor', 'author')),
    active        BOOLEAN   NOT NULL DEFAULT 1,
    password_hash TEXT      NOT NULL,
    failed_logins INTEGER   NOT NULL DEFAULT 0,
    locked_until  TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- One row per issued refresh token. Only a SHA-256 of the token is kept; a
-- family groups the chain of rotations that started at one login, so a reused
-- (already rotated) token can revoke every token of its family at once.
CREATE TABLE refresh_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    editor_id  BIGINT    NOT NULL REFERENCES editors (id) ON DELETE CASCADE,
    family     TEXT      NOT NULL,
    token_hash TEXT      NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_editor ON refresh_tokens (editor_id);
