//! What an article embeds, its author and its tags, built by the database
//! as JSON inside the article's own statement: two correlated subqueries
//! in the select list. An article page is then one statement, where a
//! second (one more round trip to PostgreSQL) loaded its tags; so is a
//! list page on SQLite (on PostgreSQL it loads its authors and tags in
//! two statements for the whole page, see [`in_list_statement`]).
//! Nothing is stored: every read builds the JSON from the rows as they
//! are, so a renamed tag or author shows at once.
//!
//! The SQL differs by backend (`json_object`/`json_group_array` on SQLite,
//! `json_build_object`/`json_agg` on PostgreSQL), so each subquery is a
//! node of its own with one rendering per backend. Written as a diesel
//! SQL literal it would not be kept prepared; as a node with a static
//! query id, the statement that selects it is prepared once per
//! connection like any other built with the query builder.
//!
//! The subqueries name the outer `"articles"` table: they belong in a
//! statement whose FROM holds `articles` (alone or joined).

use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;

use crate::db::schema::articles;
use crate::db::{DbConnection, MultiBackend};

/// Declares a JSON subquery node: its SQL on each backend.
macro_rules! json_subquery {
    ($(#[$doc:meta])* $name:ident, sqlite: $sqlite:expr, postgres: $pg:expr $(,)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, QueryId)]
        pub struct $name;

        impl Expression for $name {
            type SqlType = Nullable<Text>;
        }
        // Selectable wherever `articles.id` is: the subquery names the
        // outer `articles` row, so a statement without it fails to build.
        impl<QS> AppearsOnTable<QS> for $name where articles::id: AppearsOnTable<QS> {}
        impl<QS> SelectableExpression<QS> for $name where articles::id: SelectableExpression<QS> {}
        impl<GB> ValidGrouping<GB> for $name
        where
            articles::id: ValidGrouping<GB>,
        {
            type IsAggregate = <articles::id as ValidGrouping<GB>>::IsAggregate;
        }
        impl QueryFragment<Sqlite> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
                out.push_sql($sqlite);
                Ok(())
            }
        }
        impl QueryFragment<Pg> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
                out.push_sql($pg);
                Ok(())
            }
        }
        impl QueryFragment<MultiBackend> for $name {
            fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
                MultiBackend::walk_variant_ast(self, pass)
            }
        }
    };
}

json_subquery!(
    /// The article's author as a JSON object (`AuthorRef`'s fields), by
    /// the primary key.
    AuthorJson,
    sqlite: "(SELECT json_object('id', bs_e.id, 'slug', bs_e.slug, 'name', bs_e.name, \
             'avatar_url', bs_e.avatar_url) \
             FROM editors AS bs_e WHERE bs_e.id = \"articles\".\"author_id\")",
    postgres: "(SELECT json_build_object('id', bs_e.id, 'slug', bs_e.slug, 'name', bs_e.name, \
               'avatar_url', bs_e.avatar_url)::text \
               FROM editors AS bs_e WHERE bs_e.id = \"articles\".\"author_id\")",
);

json_subquery!(
    /// The article's tags as a JSON array of `TagRef` objects, in the
    /// article's order, from the `article_tags` primary key range.
    TagsJson,
    sqlite: "(SELECT json_group_array(json_object('id', bs_t.id, 'slug', bs_t.slug, 'name', bs_t.name) \
             ORDER BY bs_at.position) \
             FROM article_tags AS bs_at INNER JOIN tags AS bs_t ON bs_t.id = bs_at.tag_id \
             WHERE bs_at.article_id = \"articles\".\"id\")",
    postgres: "(SELECT COALESCE(json_agg(json_build_object('id', bs_t.id, 'slug', bs_t.slug, 'name', bs_t.name) \
               ORDER BY bs_at.position), '[]')::text \
               FROM article_tags AS bs_at INNER JOIN tags AS bs_t ON bs_t.id = bs_at.tag_id \
               WHERE bs_at.article_id = \"articles\".\"id\")",
);

/// Whether a list page embeds in its own statement, or loads its authors
/// and tags with two more (`views::embed`). Measured with pgbench on the
/// home list's statement (docs/BENCHMARKS.md, "Uncached reads"): on
/// PostgreSQL the two subqueries, run once per row, cut the statement's
/// own rate to a quarter (25,600 → 5,900 a second; a subquery that only
/// counts the tags already costs a third), more than the two round trips
/// they save, so a list page there is three statements, two of them one
/// index probe per id array. On SQLite, in process, there is no round
/// trip to save but no executor start-up to pay either: the page is one
/// statement. A single article embeds in its statement on both.
pub fn in_list_statement(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Sqlite(_))
}
