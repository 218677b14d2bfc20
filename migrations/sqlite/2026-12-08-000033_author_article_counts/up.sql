-- How many dated published articles (scheduled ones included) each author
-- has, kept by triggers in the transaction of every article write, so
-- that an author's public `article_count` is this lookup minus their few
-- scheduled articles (a short range of `articles_author_status`), not a
-- count of up to every article they wrote. Like `article_status_counts`.
-- (SQLite runs one write at a time: no lock order to keep.)
CREATE TABLE author_article_counts (
    author_id BIGINT PRIMARY KEY NOT NULL REFERENCES editors (id) ON DELETE CASCADE,
    count     BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO author_article_counts (author_id, count)
    SELECT author_id, COUNT(*) FROM articles
    WHERE status = 'published' AND published_at IS NOT NULL
    GROUP BY author_id;

CREATE TRIGGER author_article_counts_insert AFTER INSERT ON articles
WHEN new.status = 'published' AND new.published_at IS NOT NULL BEGIN
    INSERT INTO author_article_counts (author_id, count) VALUES (new.author_id, 1)
        ON CONFLICT (author_id) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER author_article_counts_delete AFTER DELETE ON articles
WHEN old.status = 'published' AND old.published_at IS NOT NULL BEGIN
    UPDATE author_article_counts SET count = count - 1 WHERE author_id = old.author_id;
END;
CREATE TRIGGER author_article_counts_update AFTER UPDATE OF status, published_at, author_id ON articles
WHEN old.author_id IS NOT new.author_id
    OR (old.status = 'published' AND old.published_at IS NOT NULL)
        IS NOT (new.status = 'published' AND new.published_at IS NOT NULL)
BEGIN
    UPDATE author_article_counts SET count = count - 1
        WHERE author_id = old.author_id AND old.status = 'published' AND old.published_at IS NOT NULL;
    INSERT INTO author_article_counts (author_id, count)
        SELECT new.author_id, 1 WHERE new.status = 'published' AND new.published_at IS NOT NULL
        ON CONFLICT (author_id) DO UPDATE SET count = count + 1;
END;
