-- How many articles have each status, kept by triggers in the transaction
-- of every article write, so that `meta.total` of a page-mode list is a
-- lookup, not a count of up to a million rows.
CREATE TABLE article_status_counts (
    status TEXT   PRIMARY KEY NOT NULL,
    count  BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO article_status_counts (status, count)
    SELECT s.status, (SELECT COUNT(*) FROM articles WHERE articles.status = s.status)
    FROM (SELECT 'draft' AS status UNION ALL SELECT 'published' UNION ALL SELECT 'archived') AS s;

CREATE TRIGGER article_status_counts_insert AFTER INSERT ON articles BEGIN
    UPDATE article_status_counts SET count = count + 1 WHERE status = new.status;
END;
CREATE TRIGGER article_status_counts_delete AFTER DELETE ON articles BEGIN
    UPDATE article_status_counts SET count = count - 1 WHERE status = old.status;
END;
CREATE TRIGGER article_status_counts_update AFTER UPDATE OF status ON articles
WHEN old.status <> new.status BEGIN
    UPDATE article_status_counts SET count = count + CASE status WHEN new.status THEN 1 ELSE -1 END
    WHERE status IN (old.status, new.status);
END;
