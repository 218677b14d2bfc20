-- What a frontend needs beside the body (issue: the frontend surface).
-- Each is additive with a default, so instances of the previous version
-- keep working on this schema during a rolling upgrade.
--
-- featured: editors' pick for a "featured" box, filterable and sortable.
ALTER TABLE articles ADD COLUMN featured BOOLEAN NOT NULL DEFAULT FALSE;
-- The feature image's metadata as JSON {alt, caption, credit, width,
-- height}; the URL stays in featured_image_url. NULL when no image is set.
ALTER TABLE articles ADD COLUMN featured_image_meta TEXT;
-- SEO and social-card overrides as JSON {meta_title, meta_description,
-- og_title, og_description, og_image_url, canonical_url}; an absent key
-- falls back (title, excerpt, feature image) when read.
ALTER TABLE articles ADD COLUMN seo TEXT NOT NULL DEFAULT '{}';
-- The body's pull quotes (JSON array of strings), found when it is
-- rendered. Bodies written before this migration had no pull-quote syntax,
-- so '[]' is exactly right for them.
ALTER TABLE articles ADD COLUMN pull_quotes TEXT NOT NULL DEFAULT '[]';
-- The body as plain text, rendered on write; NULL for bodies written
-- before this migration (derived from the Markdown when read).
ALTER TABLE articles ADD COLUMN body_text TEXT;
-- The featured box: newest featured public articles.
CREATE INDEX articles_featured ON articles (status, published_at, id) WHERE featured;
