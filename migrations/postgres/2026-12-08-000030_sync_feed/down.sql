DROP TABLE changes_floor;
DROP INDEX changes_feed;
DROP INDEX articles_unannounced;
ALTER TABLE articles DROP COLUMN announced_at;
