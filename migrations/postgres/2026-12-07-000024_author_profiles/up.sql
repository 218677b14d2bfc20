-- Author profiles: what the public author routes show beside the name and
-- bio. All optional; URLs are absolute http(s), handles without `@` (the
-- Mastodon one as `@user@host`), checked by the API before they are stored.
ALTER TABLE editors ADD COLUMN avatar_url TEXT;
ALTER TABLE editors ADD COLUMN website TEXT;
ALTER TABLE editors ADD COLUMN twitter TEXT;
ALTER TABLE editors ADD COLUMN bluesky TEXT;
ALTER TABLE editors ADD COLUMN mastodon TEXT;
