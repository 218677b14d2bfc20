-- What an article embeds, its author and its tags, stored as the JSON the
-- API shows (`AuthorRef`, `[TagRef]`), so that an article page or a list
-- page reads it with one primary-key lookup per article instead of
-- building it from `editors`, `article_tags` and `tags` on every read.
--
-- Kept by triggers in the transaction of every write that changes what it
-- shows: an article's author or tags (insert, delete, order), a tag's name
-- or slug (renamed or deleted), an author's name, slug or picture. A read
-- never sees an embed older than the rows it comes from. One definition
-- of the JSON, the view `article_embeds_live`, serves the triggers, the
-- fill below, and the bench seeder.
--
-- A separate narrow table, not columns of `articles`: a tag renamed
-- rewrites the embed of every article it is on, and SQLite rewrites a
-- whole row, bodies included, on any update.
CREATE TABLE article_embeds (
    article_id INTEGER PRIMARY KEY NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author     TEXT,
    tags       TEXT    NOT NULL
);

CREATE VIEW article_embeds_live AS
SELECT a.id AS article_id,
    (SELECT json_object('id', e.id, 'slug', e.slug, 'name', e.name, 'avatar_url', e.avatar_url)
        FROM editors AS e WHERE e.id = a.author_id) AS author,
    -- Ordered by a subquery, not `json_group_array(… ORDER BY …)`: the
    -- schema must stay readable by SQLite before 3.44 (Debian 12's sqlite3
    -- shell, for one), which has no ORDER BY in an aggregate. SQLite keeps
    -- a FROM subquery's ORDER BY under an aggregate other than count, min
    -- or max; `json()` marks each element as JSON again, not a string.
    (SELECT json_group_array(json(x.obj))
        FROM (SELECT json_object('id', t.id, 'slug', t.slug, 'name', t.name) AS obj
              FROM article_tags AS at INNER JOIN tags AS t ON t.id = at.tag_id
              WHERE at.article_id = a.id ORDER BY at.position) AS x) AS tags
FROM articles AS a;

INSERT INTO article_embeds (article_id, author, tags) SELECT * FROM article_embeds_live;

CREATE TRIGGER article_embeds_article_insert AFTER INSERT ON articles BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live WHERE article_id = new.id;
END;
CREATE TRIGGER article_embeds_article_author AFTER UPDATE OF author_id ON articles
WHEN old.author_id IS NOT new.author_id BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live WHERE article_id = new.id;
END;
CREATE TRIGGER article_embeds_tag_link_insert AFTER INSERT ON article_tags BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live WHERE article_id = new.article_id;
END;
-- Also when the foreign key's cascade removes the link (a tag deleted);
-- for an article being deleted the view finds no row, and its embed goes
-- with it by the same cascade.
CREATE TRIGGER article_embeds_tag_link_delete AFTER DELETE ON article_tags BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live WHERE article_id = old.article_id;
END;
CREATE TRIGGER article_embeds_tag_link_update AFTER UPDATE OF article_id, tag_id, position ON article_tags BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live
        WHERE article_id IN (old.article_id, new.article_id);
END;
CREATE TRIGGER article_embeds_tag AFTER UPDATE OF slug, name ON tags
WHEN old.slug IS NOT new.slug OR old.name IS NOT new.name BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live
        WHERE article_id IN (SELECT article_id FROM article_tags WHERE tag_id = new.id);
END;
CREATE TRIGGER article_embeds_author AFTER UPDATE OF slug, name, avatar_url ON editors
WHEN old.slug IS NOT new.slug OR old.name IS NOT new.name OR old.avatar_url IS NOT new.avatar_url BEGIN
    INSERT OR REPLACE INTO article_embeds SELECT * FROM article_embeds_live
        WHERE article_id IN (SELECT id FROM articles WHERE author_id = new.id);
END;
