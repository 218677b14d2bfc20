//! Statements PostgreSQL plans once per connection, not at every run.
//!
//! PostgreSQL plans a prepared statement again at each run for as long as
//! a plan for the bound values looks cheaper than its generic plan (it
//! compares after five runs, and goes on comparing). A list statement's
//! generic plan always looked dearer, for three reasons, so each list
//! statement was planned at every run: 27% of all CPU under the cursor
//! list at 1k articles (docs/BENCHMARKS.md, issue 17, "Fourth pass").
//!
//! 1. **A bound `LIMIT`**: the generic plan guesses a tenth of the rows.
//!    Forcing generic plans for every statement was worse: at 1M their
//!    guessed `LIMIT` of 111,111 rows started parallel workers for a page.
//!    [`limit_in_text`] writes the page's limit into the text.
//! 2. **A bound status**: `status = $1` is estimated as one status of
//!    several, where the plan for `'published'` knows it is nearly every
//!    row. [`text_is`] writes a status the code names into the text.
//! 3. **The visibility bound `published_at <= now`**: a plan for the value
//!    knows that nearly every row passes, the generic plan guesses a
//!    third, and costs the same index walk three times dearer. [`opaque`]
//!    binds such a value as a scalar subquery, `(SELECT $1)`, which no plan
//!    can look into: both plans then make the same guess and cost the same,
//!    and PostgreSQL keeps the generic one. The walk is the same index
//!    walk, the bound an index condition either way (`EXPLAIN` of both).
//!
//! On SQLite, whose list profile shows no parser or planner (a list
//! statement is prepared once per connection), the limit and the values
//! stay bound, the status too.
//!
//! - **The limit is rounded up to one of a few** ([`LIMITS_IN_TEXT`],
//!   the common page sizes): each distinct text is one more statement
//!   prepared on every connection, so the `per_page` values clients send
//!   must not multiply them (at most 7 per statement shape, 7 more with an
//!   offset); the caller drops the rows past the page.
//! - **An offset other than 0 stays bound** (one text per page number would
//!   be a statement per page number): a page-mode page past the first is
//!   planned at each run, as before.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping, is_aggregate,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, SqlType, Text};
use diesel::sqlite::Sqlite;

use crate::db::MultiBackend;

/// The limits a list statement may carry in its text: a page of 1, 5,
/// 10, 20 (the default), 25, 50 or 100 (the most), each with the one more
/// row that tells whether a next page exists. Other sizes read up to the
/// next of these and drop the rest. Few, because each is one more statement
/// prepared on every connection; these, because a row read past the page
/// is a row fetched, sent and decoded for nothing (powers of two read 32
/// rows for the default page's 21; the tag page measured with them showed
/// no gain for its generic plan: docs/BENCHMARKS.md, issue 17, "Seventh
/// pass").
pub const LIMITS_IN_TEXT: [i64; 7] = [2, 6, 11, 21, 26, 51, 101];

/// Which rows of a list a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

impl Page {
    pub fn new(offset: i64, limit: i64) -> Page {
        Page {
            offset: offset.max(0),
            limit: limit.max(0),
        }
    }

    /// The limit written into a statement's text: the page's, rounded up to
    /// the next of [`LIMITS_IN_TEXT`]; a limit past them (no public page
    /// has one) as it is.
    pub fn in_text(self) -> i64 {
        LIMITS_IN_TEXT
            .into_iter()
            .find(|l| *l >= self.limit)
            .unwrap_or(self.limit)
    }
}

/// `query LIMIT n [OFFSET $1]` with `n` in the text ([`Page::in_text`]) on
/// PostgreSQL; `query LIMIT ? [OFFSET ?]`, both bound, on SQLite (which
/// plans once per prepare, and reads no row past the page).
#[derive(Debug, Clone)]
pub struct LimitInText<Q> {
    query: Q,
    page: Page,
}

/// `query` read a page at a time, its limit in the text on PostgreSQL.
/// `query` must have no `LIMIT` or `OFFSET` of its own; the caller drops
/// the rows past `page.limit`.
pub fn limit_in_text<Q>(query: Q, page: Page) -> LimitInText<Q> {
    LimitInText { query, page }
}

impl<Q: Query> Query for LimitInText<Q> {
    type SqlType = Q::SqlType;
}

// The text depends on the value: no static query id, so diesel keeps the
// statement prepared by its text.
impl<Q> QueryId for LimitInText<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, C> RunQueryDsl<C> for LimitInText<Q> {}

// Written over the shared backend, deciding by the variant: a boxed list
// query is a fragment of `MultiBackend` only.
impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for LimitInText<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        if matches!(out.backend(), MultiBackend::Pg(_)) {
            out.push_sql(&format!(" LIMIT {}", self.page.in_text()));
        } else {
            out.push_sql(" LIMIT ");
            out.push_bind_param::<BigInt, _>(&self.page.limit)?;
        }
        if self.page.offset != 0 {
            out.push_sql(" OFFSET ");
            out.push_bind_param::<BigInt, _>(&self.page.offset)?;
        }
        Ok(())
    }
}

/// A value no PostgreSQL plan looks into: `(SELECT $1)` there, a plain
/// bind on SQLite (see the module documentation). Build with [`opaque`].
#[derive(Debug, Clone, Copy)]
pub struct Opaque<ST, T> {
    value: T,
    sql_type: PhantomData<ST>,
}

/// `value` as an [`Opaque`] expression of SQL type `ST`.
pub fn opaque<ST, T>(value: T) -> Opaque<ST, T> {
    Opaque {
        value,
        sql_type: PhantomData,
    }
}

impl<ST: SqlType + TypedExpressionType, T> Expression for Opaque<ST, T> {
    type SqlType = ST;
}

// The text is fixed for each backend: a statement using it keeps its
// static identity (diesel finds it prepared without rendering it).
impl<ST: QueryId, T> QueryId for Opaque<ST, T> {
    type QueryId = Opaque<ST::QueryId, ()>;
    const HAS_STATIC_QUERY_ID: bool = ST::HAS_STATIC_QUERY_ID;
}

impl<ST, T, QS> AppearsOnTable<QS> for Opaque<ST, T> where Opaque<ST, T>: Expression {}

impl<ST, T, QS> SelectableExpression<QS> for Opaque<ST, T> where Opaque<ST, T>: AppearsOnTable<QS> {}

impl<ST, T, GB> ValidGrouping<GB> for Opaque<ST, T> {
    type IsAggregate = is_aggregate::Never;
}

impl<ST, T: ToSql<ST, Pg>> QueryFragment<Pg> for Opaque<ST, T>
where
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(SELECT ");
        out.push_bind_param::<ST, T>(&self.value)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<ST, T: ToSql<ST, Sqlite>> QueryFragment<Sqlite> for Opaque<ST, T>
where
    Sqlite: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_bind_param::<ST, T>(&self.value)
    }
}

impl<ST, T> QueryFragment<MultiBackend> for Opaque<ST, T>
where
    Opaque<ST, T>: QueryFragment<Pg> + QueryFragment<Sqlite>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

/// A text constant of the code that a statement may carry in its SQL text
/// ([`text_is`]). A type per value, so that statements with different
/// values have different identities in diesel's statement cache.
pub trait TextConstant {
    /// Written into SQL as it is: never input, and without quotes or
    /// backslashes (checked at compile time, [`writable`]).
    const TEXT: &'static str;
}

/// Whether `text` may be written between single quotes into SQL as it is.
const fn writable(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' || bytes[i] == b'\\' {
            return false;
        }
        i += 1;
    }
    true
}

/// `column = 'V::TEXT'` with the value in PostgreSQL's text, a plain bind
/// on SQLite: for values the code names, such as the published status
/// (see the module documentation). Build with [`text_is`].
#[derive(Debug, Clone, Copy)]
pub struct TextIs<C, V> {
    column: C,
    value: PhantomData<V>,
}

/// `column = V::TEXT`, the value in the text on PostgreSQL.
pub fn text_is<V: TextConstant, C>(column: C) -> TextIs<C, V> {
    TextIs {
        column,
        value: PhantomData,
    }
}

impl<C: QueryId, V: 'static> QueryId for TextIs<C, V> {
    type QueryId = TextIs<C::QueryId, V>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: Expression<SqlType = Text>, V> Expression for TextIs<C, V> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, V, QS> AppearsOnTable<QS> for TextIs<C, V> where TextIs<C, V>: Expression {}

impl<C: SelectableExpression<QS>, V, QS> SelectableExpression<QS> for TextIs<C, V> where
    TextIs<C, V>: Expression
{
}

impl<C: ValidGrouping<GB>, V, GB> ValidGrouping<GB> for TextIs<C, V> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryFragment<Pg>, V: TextConstant> QueryFragment<Pg> for TextIs<C, V> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        const { assert!(writable(V::TEXT), "a text constant with a quote or a backslash") };
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = '");
        out.push_sql(V::TEXT);
        out.push_sql("'");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite>, V: TextConstant> QueryFragment<Sqlite> for TextIs<C, V> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ");
        out.push_bind_param::<Text, _>(&V::TEXT)
    }
}

impl<C: QueryFragment<Pg> + QueryFragment<Sqlite>, V: TextConstant> QueryFragment<MultiBackend>
    for TextIs<C, V>
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_text_are_few_whatever_the_page_size() {
        // Every page a client may ask for: 1 to 100 rows and the probe row.
        let texts: std::collections::BTreeSet<i64> = (2..=101).map(|l| Page::new(0, l).in_text()).collect();
        assert_eq!(texts.into_iter().collect::<Vec<_>>(), LIMITS_IN_TEXT);
        // The default page (20 and its probe) reads no row past itself.
        assert_eq!(Page::new(0, 21).in_text(), 21);
        assert_eq!(Page::new(0, 22).in_text(), 26);
        assert_eq!(Page::new(0, 0).in_text(), 2);
        assert_eq!(Page::new(0, 500).in_text(), 500);
        assert_eq!(Page::new(-5, -1), Page::new(0, 0));
    }

    #[test]
    fn constants_with_quotes_are_not_writable() {
        assert!(writable("published"));
        assert!(!writable("it's"));
        assert!(!writable("a\\b"));
    }
}
