-- What an article embeds, its author and its tags, stored as the JSON the
-- API shows (`AuthorRef`, `[TagRef]`), so that an article page or a list
-- page reads it with one primary-key lookup per article instead of
-- building it from `editors`, `article_tags` and `tags` on every read (a
-- list page was three statements here: per-row subqueries cost
-- PostgreSQL more than the round trips).
--
-- Kept by triggers in the transaction of every write that changes what it
-- shows: an article's author or tags (insert, delete, order), a tag's name
-- or slug (renamed or deleted), an author's name, slug or picture. One
-- definition of the JSON, the view `article_embeds_live`, serves the
-- triggers, the fill below, and the bench seeder.
--
-- Concurrent writers. Under READ COMMITTED a trigger computes an embed
-- from its statement's snapshot, so without more, an article edit and a
-- tag rename committing at the same moment could each miss the other's
-- change and leave a stale embed. So the writes that refresh embeds take
-- a transaction-scoped advisory lock before touching a row: shared for
-- article writes (they run side by side), exclusive for a tag or author
-- change (it waits for the article writes in flight, and holds new ones
-- back until it commits). Taken by statement-level BEFORE triggers, so
-- always before any row lock of the statement: the two kinds cannot
-- deadlock on it. Comments, shares and counters take no such lock.
-- No write to what the embeds show between the fill below and the
-- triggers: an instance of the previous version, still serving during a
-- rolling deploy, would otherwise commit an article or a rename that the
-- fill's snapshot missed and no trigger saw. Reads go on; writes to these
-- four tables wait until this migration commits.
LOCK TABLE articles, article_tags, tags, editors IN SHARE MODE;

CREATE TABLE article_embeds (
    article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    author     TEXT,
    tags       TEXT   NOT NULL
);

CREATE VIEW article_embeds_live AS
SELECT a.id AS article_id,
    (SELECT json_build_object('id', e.id, 'slug', e.slug, 'name', e.name, 'avatar_url', e.avatar_url)::text
        FROM editors AS e WHERE e.id = a.author_id) AS author,
    (SELECT COALESCE(json_agg(json_build_object('id', t.id, 'slug', t.slug, 'name', t.name)
                              ORDER BY at.position), '[]')::text
        FROM article_tags AS at INNER JOIN tags AS t ON t.id = at.tag_id
        WHERE at.article_id = a.id) AS tags
FROM articles AS a;

INSERT INTO article_embeds (article_id, author, tags) SELECT * FROM article_embeds_live;

-- The embeds of `ids` as the rows now say. A statement of its own inside
-- a plpgsql function, so it reads a snapshot taken after the advisory
-- lock was granted.
CREATE FUNCTION article_embeds_refresh(ids BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO article_embeds AS e (article_id, author, tags)
        SELECT * FROM article_embeds_live WHERE article_id = ANY (ids)
        ORDER BY article_id
    ON CONFLICT (article_id) DO UPDATE SET author = EXCLUDED.author, tags = EXCLUDED.tags;
END;
$$;

-- The lock's key: 'bs_embed' in ASCII (the migrations' own lock is another).
CREATE FUNCTION article_embeds_lock_shared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7094118727270163812);
    RETURN NULL;
END;
$$;
CREATE FUNCTION article_embeds_lock_exclusive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7094118727270163812);
    RETURN NULL;
END;
$$;
CREATE TRIGGER article_embeds_lock_articles BEFORE INSERT OR DELETE OR UPDATE OF author_id ON articles
    FOR EACH STATEMENT EXECUTE FUNCTION article_embeds_lock_shared();
CREATE TRIGGER article_embeds_lock_links BEFORE INSERT OR DELETE OR UPDATE OF article_id, tag_id, position
    ON article_tags FOR EACH STATEMENT EXECUTE FUNCTION article_embeds_lock_shared();
CREATE TRIGGER article_embeds_lock_tags BEFORE UPDATE OF slug, name OR DELETE ON tags
    FOR EACH STATEMENT EXECUTE FUNCTION article_embeds_lock_exclusive();
CREATE TRIGGER article_embeds_lock_editors BEFORE UPDATE OF slug, name, avatar_url ON editors
    FOR EACH STATEMENT EXECUTE FUNCTION article_embeds_lock_exclusive();

CREATE FUNCTION article_embeds_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'articles' THEN
        PERFORM article_embeds_refresh(ARRAY[NEW.id]);
    ELSIF TG_TABLE_NAME = 'article_tags' THEN
        -- On a delete by the cascade of an article's own deletion the view
        -- finds no row: nothing is written, the embed goes by cascade too.
        PERFORM article_embeds_refresh(ARRAY(
            SELECT DISTINCT x FROM unnest(ARRAY[
                CASE WHEN TG_OP <> 'INSERT' THEN OLD.article_id END,
                CASE WHEN TG_OP <> 'DELETE' THEN NEW.article_id END]) AS x
            WHERE x IS NOT NULL));
    ELSIF TG_TABLE_NAME = 'tags' THEN
        PERFORM article_embeds_refresh(ARRAY(SELECT article_id FROM article_tags WHERE tag_id = NEW.id));
    ELSIF TG_TABLE_NAME = 'editors' THEN
        PERFORM article_embeds_refresh(ARRAY(SELECT id FROM articles WHERE author_id = NEW.id));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER article_embeds_article_insert AFTER INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION article_embeds_keep();
CREATE TRIGGER article_embeds_article_author AFTER UPDATE OF author_id ON articles
    FOR EACH ROW WHEN (OLD.author_id IS DISTINCT FROM NEW.author_id)
    EXECUTE FUNCTION article_embeds_keep();
CREATE TRIGGER article_embeds_tag_links AFTER INSERT OR DELETE OR UPDATE OF article_id, tag_id, position
    ON article_tags FOR EACH ROW EXECUTE FUNCTION article_embeds_keep();
CREATE TRIGGER article_embeds_tag AFTER UPDATE OF slug, name ON tags
    FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION article_embeds_keep();
CREATE TRIGGER article_embeds_author AFTER UPDATE OF slug, name, avatar_url ON editors
    FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug OR OLD.name IS DISTINCT FROM NEW.name
                       OR OLD.avatar_url IS DISTINCT FROM NEW.avatar_url)
    EXECUTE FUNCTION article_embeds_keep();
