-- What the sync feed and webhooks need from each change beyond its keys:
-- whether the outside world could see it (an article that was or is
-- public, a comment in or leaving the public thread; a draft edited is
-- not), and the entity's slug at the time, which a deleted article no
-- longer has anywhere else. Old rows read as not public: they predate
-- both consumers.
ALTER TABLE changes ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE changes ADD COLUMN slug TEXT;
