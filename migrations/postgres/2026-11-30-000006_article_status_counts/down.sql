DROP TRIGGER article_status_counts_update ON articles;
DROP TRIGGER article_status_counts_insert_delete ON articles;
DROP FUNCTION article_status_counts_keep();
DROP TABLE article_status_counts;
