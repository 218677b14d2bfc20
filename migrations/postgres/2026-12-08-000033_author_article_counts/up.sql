-- How many dated published articles (scheduled ones included) each author
-- has, kept by triggers in the transaction of every article write, so
-- that an author's public `article_count` is this lookup minus their few
-- scheduled articles (a short range of `articles_author_status`), not a
-- count of up to every article they wrote. Like `article_status_counts`.
CREATE TABLE author_article_counts (
    author_id BIGINT PRIMARY KEY NOT NULL REFERENCES editors (id) ON DELETE CASCADE,
    count     BIGINT NOT NULL
);
INSERT INTO author_article_counts (author_id, count)
    SELECT author_id, COUNT(*) FROM articles
    WHERE status = 'published' AND published_at IS NOT NULL
    GROUP BY author_id;

CREATE FUNCTION author_article_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An article moving between authors touches both rows in one
    -- statement, lowest id first: two such moves in opposite directions
    -- lock in the same order, never in a deadlock.
    INSERT INTO author_article_counts AS c (author_id, count)
        SELECT d.author_id, SUM(d.delta) FROM (
            SELECT OLD.author_id AS author_id, -1 AS delta
                WHERE TG_OP <> 'INSERT' AND OLD.status = 'published' AND OLD.published_at IS NOT NULL
            UNION ALL
            SELECT NEW.author_id, 1
                WHERE TG_OP <> 'DELETE' AND NEW.status = 'published' AND NEW.published_at IS NOT NULL
        ) AS d
        GROUP BY d.author_id
        HAVING SUM(d.delta) <> 0
        ORDER BY d.author_id
    ON CONFLICT (author_id) DO UPDATE SET count = c.count + EXCLUDED.count;
    RETURN NULL;
END;
$$;
CREATE TRIGGER author_article_counts_insert_delete AFTER INSERT OR DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION author_article_counts_keep();
CREATE TRIGGER author_article_counts_update AFTER UPDATE OF status, published_at, author_id ON articles
    FOR EACH ROW WHEN (
        OLD.author_id IS DISTINCT FROM NEW.author_id
        OR (OLD.status = 'published' AND OLD.published_at IS NOT NULL)
            IS DISTINCT FROM (NEW.status = 'published' AND NEW.published_at IS NOT NULL)
    )
    EXECUTE FUNCTION author_article_counts_keep();
