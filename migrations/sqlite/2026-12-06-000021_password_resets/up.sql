-- Single-use password reset tokens issued by an admin. Only a SHA-256 of
-- the token is kept, so a database leak yields no usable token; used_at
-- makes it single use, expires_at bounds how long a leaked one is worth.
CREATE TABLE password_resets (
    id         INTEGER   PRIMARY KEY AUTOINCREMENT,
    editor_id  BIGINT    NOT NULL REFERENCES editors (id) ON DELETE CASCADE,
    token_hash TEXT      NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX password_resets_editor ON password_resets (editor_id);
