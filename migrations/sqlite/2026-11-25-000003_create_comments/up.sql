CREATE TABLE comments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id   BIGINT    NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    -- A reply points at a comment of the same article (checked on write).
    parent_id    BIGINT    REFERENCES comments (id) ON DELETE CASCADE,
    depth        INTEGER   NOT NULL DEFAULT 0,
    author_name  TEXT      NOT NULL,
    author_email TEXT      NOT NULL,
    author_url   TEXT,
    body         TEXT      NOT NULL,
    body_html    TEXT      NOT NULL,
    status       TEXT      NOT NULL CHECK (status IN ('pending', 'approved', 'spam', 'trash')),
    -- A deleted comment that still has replies stays as a tombstone so the
    -- thread keeps its shape; its personal data and text are wiped.
    removed      BOOLEAN   NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX comments_article_status ON comments (article_id, status, created_at, id);
CREATE INDEX comments_status_created ON comments (status, created_at, id);
CREATE INDEX comments_parent ON comments (parent_id);
CREATE INDEX comments_email_status ON comments (author_email, status);
