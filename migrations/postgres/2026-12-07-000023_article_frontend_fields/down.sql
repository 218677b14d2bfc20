DROP INDEX articles_featured;
ALTER TABLE articles DROP COLUMN body_text;
ALTER TABLE articles DROP COLUMN pull_quotes;
ALTER TABLE articles DROP COLUMN seo;
ALTER TABLE articles DROP COLUMN featured_image_meta;
ALTER TABLE articles DROP COLUMN featured;
