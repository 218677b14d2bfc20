//! What an article embeds, its author and its tags, read in the article's
//! own statement: two correlated subqueries in the select list, each one
//! primary-key lookup in `article_embeds`, where triggers keep both as the
//! JSON the API shows (migration 000034). An article page is then one
//! statement; so is a list page on SQLite (on PostgreSQL a list page loads
//! the page's embeds in one more statement, see [`in_list_statement`]).
//!
//! Each subquery is a node of its own with a static query id: written as
//! a diesel SQL literal it would not be kept prepared; as a node, the
//! statement that selects it is prepared once per connection like any
//! other built with the query builder. Not a join: when PostgreSQL still
//! planned a list statement at every run (before `db::generic_plan`), a
//! third table in the join made the tag page at 1M articles a fifth slower
//! (docs/BENCHMARKS.md); not measured again since.
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

/// Declares a subquery node: one SQL text, rendered for each backend.
macro_rules! stored_subquery {
    ($(#[$doc:meta])* $name:ident, $sql:expr $(,)?) => {
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
                out.push_sql($sql);
                Ok(())
            }
        }
        impl QueryFragment<Pg> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
                out.push_sql($sql);
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

stored_subquery!(
    /// The article's author as a JSON object (`AuthorRef`'s fields), as
    /// stored.
    AuthorJson,
    "(SELECT bs_ae.author FROM article_embeds AS bs_ae WHERE bs_ae.article_id = \"articles\".\"id\")",
);

stored_subquery!(
    /// The article's tags as a JSON array of `TagRef` objects, in the
    /// article's order, as stored.
    TagsJson,
    "(SELECT bs_ae.tags FROM article_embeds AS bs_ae WHERE bs_ae.article_id = \"articles\".\"id\")",
);
/// Whether a list page embeds in its own statement, or loads the page's
/// stored embeds with one more (`views::embed`). Measured with pgbench on
/// the home list's statement (docs/BENCHMARKS.md, "Uncached reads"): on
/// PostgreSQL per-row subqueries cost the executor a start-up each (a
/// subquery that only counted the tags already cut the statement's rate
/// by a third), more than the round trip they save, so a list page there
/// is two statements, the second one index probe per id array. On
/// SQLite, in process, there is no round trip to save but no executor
/// start-up to pay either: the page is one statement. A single article
/// embeds in its statement on both.
pub fn in_list_statement(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Sqlite(_))
}
