CREATE TABLE articles (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    slug                 TEXT      NOT NULL UNIQUE,
    title                TEXT      NOT NULL,
    subtitle             TEXT,
    excerpt              TEXT      NOT NULL,
    -- false: excerpt is derived from the body and follows it on every edit.
    excerpt_custom       BOOLEAN   NOT NULL DEFAULT 0,
    body_markdown        TEXT      NOT NULL,
    body_html            TEXT      NOT NULL,
    status               TEXT      NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    author_id            BIGINT    NOT NULL REFERENCES editors (id),
    featured_image_url   TEXT,
    word_count           INTEGER   NOT NULL,
    reading_time_minutes INTEGER   NOT NULL,
    comments_enabled     BOOLEAN   NOT NULL DEFAULT 1,
    -- Maintained counters, written in the same transaction as the rows they count.
    comment_count        BIGINT    NOT NULL DEFAULT 0,
    share_count          BIGINT    NOT NULL DEFAULT 0,
    published_at         TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
-- Keyset pagination of the public list: status first so a bound parameter
-- can use it, then the sort key, then id as the tie-breaker.
CREATE INDEX articles_status_published ON articles (status, published_at, id);
CREATE INDEX articles_status_shares ON articles (status, share_count, id);
CREATE INDEX articles_status_comments ON articles (status, comment_count, id);
CREATE INDEX articles_author_status ON articles (author_id, status, published_at, id);
CREATE INDEX articles_updated ON articles (updated_at, id);

-- Full-text index over title, subtitle and body, kept in step by triggers.
-- The UPDATE trigger names its columns so counter updates never touch it.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, subtitle, body_markdown,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- Relevance: a title match outweighs a subtitle match, which outweighs the body.
INSERT INTO articles_fts (articles_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)');
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, subtitle, body_markdown)
    VALUES (new.id, new.title, coalesce(new.subtitle, ''), new.body_markdown);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, subtitle, body_markdown)
    VALUES ('delete', old.id, old.title, coalesce(old.subtitle, ''), old.body_markdown);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, subtitle, body_markdown ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, subtitle, body_markdown)
    VALUES ('delete', old.id, old.title, coalesce(old.subtitle, ''), old.body_markdown);
    INSERT INTO articles_fts (rowid, title, subtitle, body_markdown)
    VALUES (new.id, new.title, coalesce(new.subtitle, ''), new.body_markdown);
END;

CREATE TABLE tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT      NOT NULL UNIQUE,
    name        TEXT      NOT NULL UNIQUE,
    description TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE article_tags (
    article_id BIGINT  NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id     BIGINT  NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    -- Order in which the editor listed the tags.
    position   INTEGER NOT NULL,
    -- The article's published_at while its status is 'published', else NULL:
    -- a copy kept by the article writes so that a tag page is one range scan
    -- of the index below, however many articles the tag has.
    published_at TIMESTAMP,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_tag_published ON article_tags (tag_id, published_at, article_id);
