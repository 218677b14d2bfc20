-- Sitemap files list public articles in id order, 50,000 a file. Without
-- this index that walk reads whole rows in primary-key order; with it, an
-- index-only scan of (status, id) carrying the columns a sitemap prints.
CREATE INDEX articles_sitemap ON articles (status, id) INCLUDE (published_at, updated_at, slug);
