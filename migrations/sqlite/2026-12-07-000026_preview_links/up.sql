-- Preview links: a draft shown to someone without an account. Only a
-- SHA-256 of the token is kept, so a database leak yields no usable link;
-- revoked_at and expires_at end a link. The article's deletion takes its
-- links along; so does the deletion of the editor who made them.
CREATE TABLE preview_links (
    id         INTEGER   PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT    NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    token_hash TEXT      NOT NULL UNIQUE,
    created_by BIGINT    NOT NULL REFERENCES editors (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX preview_links_article ON preview_links (article_id);
CREATE INDEX preview_links_created_by ON preview_links (created_by);
