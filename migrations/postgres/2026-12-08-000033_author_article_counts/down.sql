DROP TRIGGER author_article_counts_update ON articles;
DROP TRIGGER author_article_counts_insert_delete ON articles;
DROP FUNCTION author_article_counts_keep();
DROP TABLE author_article_counts;
