//! A list statement's page on PostgreSQL: its `LIMIT` written into the
//! statement's text, not bound.
//!
//! PostgreSQL plans a prepared statement again at each run for as long as
//! a plan for the bound values looks cheaper than its generic plan, and a
//! generic plan must guess a bound `LIMIT` at a tenth of the rows: so each
//! list statement (a page of 20) was planned at every run, 27% of all CPU
//! under the cursor list at 1k articles (docs/BENCHMARKS.md, "Fourth
//! pass"). Forcing generic plans for every statement was worse: at 1M their
//! guessed `LIMIT` of 111,111 rows started parallel workers for a page. With
//! the limit in the text, the generic plan knows the page's size and costs
//! what a custom plan costs, so PostgreSQL keeps it and stops planning.
//!
//! - **The limit is rounded up to a power of two** ([`Page::in_text`]): each
//!   distinct text is one more statement prepared on every connection, so
//!   the `per_page` values clients send must not multiply them (at most 8
//!   per statement shape up to a limit of 128); the caller drops the rows
//!   past the page.
//! - **An offset other than 0 stays bound** (one text per page number would
//!   be a statement per page number): a page-mode page past the first is
//!   planned at each run, as before.
//! - **SQLite keeps its bound `LIMIT`**: it plans a statement once when it
//!   prepares it (the profile shows no parser under the lists), and its
//!   list statement embeds each row's author and tags, which rows past the
//!   page would pay for.

use diesel::QueryResult;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::sql_types::BigInt;

use crate::db::MultiBackend;

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
    /// a power of two.
    pub fn in_text(self) -> i64 {
        (self.limit.max(1) as u64).next_power_of_two() as i64
    }
}

/// `query LIMIT n [OFFSET $1]` with `n` in the text ([`Page::in_text`]).
#[derive(Debug, Clone)]
pub struct LimitInText<Q> {
    query: Q,
    page: Page,
}

/// `query` read a page at a time, its limit in the text. `query` must have
/// no `LIMIT` or `OFFSET` of its own.
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

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for LimitInText<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {}", self.page.in_text()));
        if self.page.offset != 0 {
            out.push_sql(" OFFSET ");
            out.push_bind_param::<BigInt, _>(&self.page.offset)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_text_are_few_whatever_the_page_size() {
        let texts: std::collections::BTreeSet<i64> = (0..=101).map(|l| Page::new(0, l).in_text()).collect();
        assert_eq!(
            texts.into_iter().collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 32, 64, 128]
        );
        assert_eq!(Page::new(0, 21).in_text(), 32);
        assert_eq!(Page::new(0, 32).in_text(), 32);
        assert_eq!(Page::new(-5, -1), Page::new(0, 0));
    }
}
