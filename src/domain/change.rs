//! What a write changed, in the words every consumer of the change log
//! shares: the entity, the action, and the **surrogate keys** of the public
//! representations it touches.
//!
//! A cached public response carries the keys it was built from; a write
//! names the keys it touches; a cache (ours, or a CDN given the
//! `Surrogate-Key` header) evicts exactly the entries that share one.
//!
//! | key | carried by | touched by |
//! |---|---|---|
//! | `article:<id>` | the article, its comments and share counts | any change to the article |
//! | `articles` | every article list (home, tag page, search) | a change to an article that is or was published (scheduled included), a tag rename, an author's name or avatar |
//! | `tag:<id>` | the tag, and articles showing it | a tag's rename, description or delete |
//! | `tags` | the tag list | a tag change, or an article change that moves a tag's count |
//! | `author:<id>` | articles by that author, and the author's page | the editor's public profile (name, bio, avatar, links) |
//! | `authors` | the author list and every author page (article counts) | a profile change, or an article change that moves an author's count |
//! | `comments:<article id>` | the article's comment thread and its comments | a comment appearing, changing or going |
//! | `shares:<article id>` | the article's share counts route | a share press |
//! | `counts:<article id>` | the article and lists showing it (never sent to CDNs) | a share press or comment: **lagged**, see below |
//! | `rankings` | lists sorted by a counter (never sent to CDNs) | a share press or comment: **lagged** |
//! | `all` | nothing; evicts everything | a change row this code cannot read (a newer version's key), or one written by hand |
//!
//! `counts:` keys are the counters (`share_count`, `comment_count`) shown in
//! article bodies and lists. A share press must not evict the article body
//! or a list: a cache applies `counts:` keys at most `COUNTS_MAX_LAG_SECONDS`
//! late, batched, while the per-article counts routes (`shares:`,
//! `comments:`) are exact.

use std::fmt;

/// A surrogate key: one public thing that responses depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Article(i64),
    Articles,
    Tag(i64),
    Tags,
    Author(i64),
    Authors,
    Comments(i64),
    Shares(i64),
    Counts(i64),
    /// The order of lists sorted by a counter (`-share_count`,
    /// `-comment_count`): lagged like the counters.
    Rankings,
    All,
}

impl Key {
    /// Applied late and batched (see the module documentation).
    pub fn lagged(self) -> bool {
        matches!(self, Key::Counts(_) | Key::Rankings)
    }

    /// Sent to CDNs in the `Surrogate-Key` header. Counters are not: a CDN
    /// purge per share press would empty the CDN as surely as our old cache.
    pub fn public(self) -> bool {
        !matches!(self, Key::Counts(_) | Key::Rankings | Key::All)
    }

    pub fn parse(text: &str) -> Option<Key> {
        let id = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        Some(match text.split_once(':') {
            None => match text {
                "articles" => Key::Articles,
                "tags" => Key::Tags,
                "authors" => Key::Authors,
                "rankings" => Key::Rankings,
                "all" => Key::All,
                _ => return None,
            },
            Some(("article", n)) => Key::Article(id(n)?),
            Some(("tag", n)) => Key::Tag(id(n)?),
            Some(("author", n)) => Key::Author(id(n)?),
            Some(("comments", n)) => Key::Comments(id(n)?),
            Some(("shares", n)) => Key::Shares(id(n)?),
            Some(("counts", n)) => Key::Counts(id(n)?),
            Some(_) => return None,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Article(id) => write!(f, "article:{id}"),
            Key::Articles => f.write_str("articles"),
            Key::Tag(id) => write!(f, "tag:{id}"),
            Key::Tags => f.write_str("tags"),
            Key::Author(id) => write!(f, "author:{id}"),
            Key::Authors => f.write_str("authors"),
            Key::Comments(id) => write!(f, "comments:{id}"),
            Key::Shares(id) => write!(f, "shares:{id}"),
            Key::Counts(id) => write!(f, "counts:{id}"),
            Key::Rankings => f.write_str("rankings"),
            Key::All => f.write_str("all"),
        }
    }
}

/// Keys as stored in the change log: space separated, like the header.
pub fn join(keys: &[Key]) -> String {
    let mut out = String::new();
    for key in keys {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&key.to_string());
    }
    out
}

/// The stored form back; a key this code does not know reads as `All`, so
/// a newer writer's key can only make an older reader evict more.
pub fn split(text: &str) -> Vec<Key> {
    text.split_whitespace()
        .map(|k| Key::parse(k).unwrap_or(Key::All))
        .collect()
}

/// The longest `Surrogate-Key` header value a response sends: Fastly allows
/// 16 KB, but proxies and CDNs (Cloudflare's `Cache-Tag`) are stricter.
pub const MAX_HEADER_BYTES: usize = 1024;

/// The keys a response was built from: what goes into the header, and what
/// only our own cache needs (the lagged counters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet(Vec<Key>);

impl KeySet {
    pub fn new(keys: impl IntoIterator<Item = Key>) -> KeySet {
        let mut keys: Vec<Key> = keys.into_iter().collect();
        keys.sort_unstable();
        keys.dedup();
        KeySet(keys)
    }

    pub fn keys(&self) -> &[Key] {
        &self.0
    }

    /// The header value: public keys only, under [`MAX_HEADER_BYTES`]. An
    /// article with very many tags sends `tags` in place of its `tag:<id>`
    /// keys (every tag change touches `tags` too, so nothing goes stale).
    pub fn header_value(&self) -> String {
        let public: Vec<Key> = self.0.iter().copied().filter(|k| k.public()).collect();
        let value = join(&public);
        if value.len() <= MAX_HEADER_BYTES {
            return value;
        }
        let mut folded: Vec<Key> = public.into_iter().filter(|k| !matches!(k, Key::Tag(_))).collect();
        folded.push(Key::Tags);
        folded.sort_unstable();
        folded.dedup();
        join(&folded)
    }

    /// The keys our own cache indexes the response under: every key, with
    /// the header's folding applied (so a folded `tags` key is indexed too).
    pub fn cache_keys(&self) -> Vec<Key> {
        let mut keys = self.0.clone();
        if self.header_value().split(' ').any(|k| k == "tags") {
            keys.push(Key::Tags);
            keys.sort_unstable();
            keys.dedup();
        }
        keys
    }
}

/// Which header carries the keys to a CDN (`SURROGATE_KEY_HEADER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Surrogate-Key`, space separated: Fastly, and Varnish with xkey
    /// configured to read it.
    SurrogateKey,
    /// `Cache-Tag`, comma separated: Cloudflare (Enterprise), Akamai.
    CacheTag,
    /// `xkey`, space separated: Varnish's xkey module by default.
    Xkey,
    /// No header (no CDN in front, or one that should not see the keys).
    Off,
}

impl KeyHeader {
    pub fn parse(text: &str) -> Option<KeyHeader> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "surrogate-key" => KeyHeader::SurrogateKey,
            "cache-tag" => KeyHeader::CacheTag,
            "xkey" => KeyHeader::Xkey,
            "off" | "" => KeyHeader::Off,
            _ => return None,
        })
    }

    /// The header's name, or `None` when off.
    pub fn name(self) -> Option<&'static str> {
        match self {
            KeyHeader::SurrogateKey => Some("surrogate-key"),
            KeyHeader::CacheTag => Some("cache-tag"),
            KeyHeader::Xkey => Some("xkey"),
            KeyHeader::Off => None,
        }
    }

    /// The header's value for `keys`.
    pub fn value(self, keys: &KeySet) -> String {
        let value = keys.header_value();
        match self {
            KeyHeader::CacheTag => value.replace(' ', ","),
            _ => value,
        }
    }
}

/// The kind of thing that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Article,
    Tag,
    Comment,
    Share,
    Editor,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Article => "article",
            Entity::Tag => "tag",
            Entity::Comment => "comment",
            Entity::Share => "share",
            Entity::Editor => "editor",
        }
    }

    pub fn parse(text: &str) -> Option<Entity> {
        [
            Entity::Article,
            Entity::Tag,
            Entity::Comment,
            Entity::Share,
            Entity::Editor,
        ]
        .into_iter()
        .find(|e| e.as_str() == text)
    }
}

/// What happened to it. `Published`/`Unpublished` are an article becoming
/// or ceasing to be public (by status, or a `published_at` moved to the
/// future); `Updated` is any other change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Published,
    Unpublished,
    Deleted,
    /// A held comment approved: it entered the public thread.
    Approved,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Published => "published",
            Action::Unpublished => "unpublished",
            Action::Deleted => "deleted",
            Action::Approved => "approved",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        [
            Action::Created,
            Action::Updated,
            Action::Published,
            Action::Unpublished,
            Action::Deleted,
            Action::Approved,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }

    /// The action of an article write, from whether it was public before
    /// and is public after.
    pub fn of_article(was_public: bool, is_public: bool) -> Action {
        match (was_public, is_public) {
            (false, true) => Action::Published,
            (true, false) => Action::Unpublished,
            _ => Action::Updated,
        }
    }
}

/// One change, as a write records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub entity: Entity,
    pub entity_id: i64,
    pub action: Action,
    pub keys: Vec<Key>,
    /// The outside world could see it: an article that was or is public
    /// (a draft edited is not), a comment entering or leaving the public
    /// thread, a tag, an author's profile, a share. The sync feed and
    /// webhooks announce only these.
    pub public: bool,
    /// The entity's slug after the change (before it, for a delete): a
    /// deleted article's slug is nowhere else once it is gone.
    pub slug: Option<String>,
}

impl Change {
    pub fn new(
        entity: Entity,
        entity_id: i64,
        action: Action,
        keys: impl IntoIterator<Item = Key>,
    ) -> Change {
        let mut keys: Vec<Key> = keys.into_iter().collect();
        keys.sort_unstable();
        keys.dedup();
        Change {
            entity,
            entity_id,
            action,
            keys,
            public: false,
            slug: None,
        }
    }

    /// Marks the change as seen by the outside world (see [`Change::public`]).
    pub fn public(mut self, public: bool) -> Change {
        self.public = public;
        self
    }

    pub fn slug(mut self, slug: impl Into<String>) -> Change {
        self.slug = Some(slug.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_unknown_keys_widen() {
        let keys = [
            Key::Article(7),
            Key::Articles,
            Key::Tag(3),
            Key::Tags,
            Key::Author(2),
            Key::Authors,
            Key::Comments(7),
            Key::Shares(7),
            Key::Counts(7),
            Key::Rankings,
            Key::All,
        ];
        assert_eq!(split(&join(&keys)), keys);
        assert_eq!(split("article:0 widget:3 bogus"), [Key::All, Key::All, Key::All]);
    }

    #[test]
    fn header_leaves_counters_out_and_stays_short() {
        let set = KeySet::new([Key::Article(1), Key::Counts(1), Key::Tag(4), Key::Author(2)]);
        assert_eq!(set.header_value(), "article:1 tag:4 author:2");
        let many = KeySet::new((1..400).map(Key::Tag).chain([Key::Article(9)]));
        let value = many.header_value();
        assert!(value.len() <= MAX_HEADER_BYTES, "{}", value.len());
        assert_eq!(value, "article:9 tags");
        assert!(many.cache_keys().contains(&Key::Tags));
    }
}
