-- How many articles have each status, kept by a trigger in the transaction
-- of every article write, so that `meta.total` of a page-mode list is a
-- lookup, not a count of up to a million rows.
CREATE TABLE article_status_counts (
    status TEXT   PRIMARY KEY NOT NULL,
    count  BIGINT NOT NULL
);
INSERT INTO article_status_counts (status, count)
    SELECT s.status, (SELECT COUNT(*) FROM articles WHERE articles.status = s.status)
    FROM (VALUES ('draft'), ('published'), ('archived')) AS s (status);

CREATE FUNCTION article_status_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One statement for a status change: two writers moving articles in
    -- opposite directions lock the two rows in the same order, never in a
    -- deadlock.
    IF TG_OP = 'INSERT' THEN
        UPDATE article_status_counts SET count = count + 1 WHERE status = NEW.status;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE article_status_counts SET count = count - 1 WHERE status = OLD.status;
    ELSE
        UPDATE article_status_counts
        SET count = count + CASE WHEN status = NEW.status THEN 1 ELSE -1 END
        WHERE status IN (OLD.status, NEW.status);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER article_status_counts_insert_delete AFTER INSERT OR DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION article_status_counts_keep();
CREATE TRIGGER article_status_counts_update AFTER UPDATE OF status ON articles
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION article_status_counts_keep();
