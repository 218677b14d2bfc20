-- Failed sign-ins, counted per email address whether or not an editor has
-- it, so that the backoff answers the same for every address and tells
-- nobody which ones have accounts. The address is kept only as a SHA-256 of
-- its lower-cased form: people type passwords into the email field.
CREATE TABLE login_failures (
    email_hash     TEXT      PRIMARY KEY NOT NULL,
    failures       INTEGER   NOT NULL,
    last_failed_at TIMESTAMP NOT NULL,
    locked_until   TIMESTAMP
);

-- The per-editor counter this replaces answered only for existing accounts.
ALTER TABLE editors DROP COLUMN failed_logins;
ALTER TABLE editors DROP COLUMN locked_until;
