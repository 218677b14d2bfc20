ALTER TABLE editors DROP COLUMN mastodon;
ALTER TABLE editors DROP COLUMN bluesky;
ALTER TABLE editors DROP COLUMN twitter;
ALTER TABLE editors DROP COLUMN website;
ALTER TABLE editors DROP COLUMN avatar_url;
